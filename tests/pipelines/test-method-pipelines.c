/* Tests: pipelines/fetril-split-fmnist.lethe and ssd-forget-class.lethe run
 * by the built `lethe run` on reduced data, with assertions on the numbers
 * they write to metrics.jsonl.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "pipeline-run.h"

/* FeTrIL with a small extractor on 4 + 3×2: every baseline reports,
 * FeTrIL beats DeeSIL and fine-tuning, and the translation keeps centroids. */
static void
test_fetril_pipeline_reports_fetril_beside_its_baselines(void)
{
  if (!have_fmnist())
    return;
  g_autofree char *dir = NULL, *err = NULL;
  const char *args[] = {SMALL, "tasks.classes-per-task=4,2,2,2",
                        "learn.arch=flatten linear(784,128) relu linear(128,10)", "learn.epochs=2",
                        NULL};
  int rc = run_pipeline("fetril-split-fmnist.lethe", args, &dir, &err);
  if (rc != 0)
    fprintf(stderr, "\n%s\n", err);
  CU_ASSERT_EQUAL_FATAL(rc, 0);
  const double f = metric(dir, "fetril", "avg_inc_acc", -1);
  const double u = metric(dir, "upper-bound", "avg_inc_acc", -1);
  const double n = metric(dir, "ncm", "avg_inc_acc", -1);
  const double d = metric(dir, "deesil", "avg_inc_acc", -1);
  const double t = metric(dir, "finetune", "avg_inc_acc", -1);
  fprintf(stderr, "\n  avg_inc_acc fetril %.3f upper %.3f ncm %.3f deesil %.3f finetune %.3f\n", f,
          u, n, d, t);
  CU_ASSERT(f >= d + 0.05);
  CU_ASSERT(f >= u - 0.08);
  CU_ASSERT(f > t);
  CU_ASSERT(f > 0.5 && u <= 1.0 && n > 0.3);
  for (gint64 s = 1; s < 4; s++) {
    CU_ASSERT(metric(dir, "learn", "translation_mean_error", s) <= 1e-5);
    CU_ASSERT(metric(dir, "learn", "state_seconds", s) < 60);
  }
  remove_tree(dir);
}

/* SSD against the oracle, the pipeline's MLP trained briefly on a subset: the oracle forgets
 * completely, SSD at α = 1 forgets much of the class at little retained cost.  The evaluators'
 * steps are the model versions: 1 the original, 2 the unlearned one. */
static void
test_ssd_pipeline_reports_ssd_beside_the_oracle(void)
{
  if (!have_fmnist())
    return;
  g_autofree char *dir = NULL, *err = NULL;
  const char *args[] = {
      SMALL, "learn.epochs=2", "oracle.epochs=2", "forget.alpha=1", "forget.lambda=0.5", NULL};
  int rc = run_pipeline("ssd-forget-class.lethe", args, &dir, &err);
  if (rc != 0)
    fprintf(stderr, "\n%s\n", err);
  CU_ASSERT_EQUAL_FATAL(rc, 0);
  const double f0 = metric(dir, "original", "forget_acc", 1);
  const double f = metric(dir, "report", "forget_acc", 2);
  const double r0 = metric(dir, "original", "retain_acc", 1);
  const double r = metric(dir, "report", "retain_acc", 2);
  fprintf(stderr,
          "\n  forget %.3f -> %.3f (oracle %.3f), retain %.3f -> %.3f (oracle %.3f), "
          "unlearn %.2f s, retrain %.2f s\n",
          f0, f, metric(dir, "report", "oracle_forget_acc", 2), r0, r,
          metric(dir, "report", "oracle_retain_acc", 2),
          metric(dir, "report", "unlearn_seconds", 2), metric(dir, "report", "retrain_seconds", 2));
  CU_ASSERT(metric(dir, "report", "oracle_forget_acc", 2) == 0.0);
  CU_ASSERT(f < f0 / 2);
  CU_ASSERT(r >= r0 - 0.03);
  CU_ASSERT(metric(dir, "forget", "ssd_selected_fraction", -1) > 0);
  CU_ASSERT(!isnan(metric(dir, "report", "mia_entropy", 2)));
  remove_tree(dir);
}

LETHE_TEST_MAIN("method-pipelines",
                LETHE_TEST(test_fetril_pipeline_reports_fetril_beside_its_baselines),
                LETHE_TEST(test_ssd_pipeline_reports_ssd_beside_the_oracle))
