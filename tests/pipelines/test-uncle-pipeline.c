/* Lethe — pipelines/uncle-learn-unlearn.lethe, reduced (30,000 training
 * samples, 3 epochs, the sequence L0,L1,U0,L2,U2 with its counterfactuals),
 * run end to end with the card's acceptance checks; then the same with
 * β = 0, which must break retention.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <math.h>

#include <json-glib/json-glib.h>
#include <lethe/lethe.h>
#include <lethe/pipeline.h>
#include <lethe/registry.h>
#include <lethe/run.h>

static GPtrArray *metrics;       /* β = 0.1 */
static GPtrArray *metrics_beta0; /* β = 0 */

static GPtrArray *
run_pipeline(const char *beta)
{
  g_autofree char *path = g_build_filename(g_getenv("LETHE_SOURCE_ROOT"), "pipelines",
                                           "uncle-learn-unlearn.lethe", NULL);
  GError *err = NULL;
  g_autoptr(LethePipeline) p =
      lethe_pipeline_new_from_file(path, lethe_registry_get_default(), &err);
  LETHE_ASSERT_NO_ERROR(err);
  g_autofree char *beta_override = g_strdup_printf("uncle.beta=%s", beta);
  const char *overrides[] = {"train.limit=30000",
                             "test.limit=4000",
                             "seq.sequence=L0,L1,U0,L2,U2",
                             "seq-data.sequence=L0,L1,U0,L2,U2",
                             "uncle.epochs=3",
                             "finetune.epochs=1",
                             beta_override,
                             g_str_equal(beta, "0") ? "seq.counterfactuals=false"
                                                    : "seq.counterfactuals=true"};
  for (gsize i = 0; i < G_N_ELEMENTS(overrides); i++) {
    CU_ASSERT_TRUE(lethe_pipeline_override(p, overrides[i], &err));
    LETHE_ASSERT_NO_ERROR(err);
  }
  g_autofree char *dir = g_dir_make_tmp("uncle-pipeline-XXXXXX", &err);
  g_autoptr(LetheRun) run = lethe_run_new(p);
  lethe_run_set_output_dir(run, dir);
  lethe_run_set_quiet(run, TRUE);
  CU_ASSERT_TRUE(lethe_run_execute(run, &err));
  LETHE_ASSERT_NO_ERROR(err);
  return g_ptr_array_ref(lethe_run_get_metrics(run));
}

static void
ensure_runs(void)
{
  if (metrics == NULL)
    metrics = run_pipeline("0.1");
  if (metrics_beta0 == NULL)
    metrics_beta0 = run_pipeline("0");
}

static LetheMetric *
find(GPtrArray *from, const char *node, const char *name, gint64 step)
{
  LetheMetric *last = NULL;
  for (guint i = 0; i < from->len; i++) {
    LetheMetric *m = from->pdata[i];
    if (g_str_equal(m->node, node) && g_str_equal(m->name, name) && m->step == step)
      last = m;
  }
  return last;
}

static double
value(GPtrArray *from, const char *node, const char *name)
{
  LetheMetric *m = find(from, node, name, -1);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  return m->value;
}

/* acc_matrix as rows of doubles. */
static GArray *
matrix(GPtrArray *from, const char *node, guint *n_tasks)
{
  LetheMetric *m = find(from, node, "acc_matrix", -1);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m->value_json);
  g_autoptr(JsonParser) parser = json_parser_new();
  CU_ASSERT_TRUE_FATAL(json_parser_load_from_data(parser, m->value_json, -1, NULL));
  JsonArray *rows = json_node_get_array(json_parser_get_root(parser));
  GArray *out = g_array_new(FALSE, FALSE, sizeof(double));
  *n_tasks = json_array_get_length(json_array_get_array_element(rows, 0));
  for (guint i = 0; i < json_array_get_length(rows); i++) {
    JsonArray *r = json_array_get_array_element(rows, i);
    for (guint t = 0; t < *n_tasks; t++) {
      double v = json_array_get_double_element(r, t);
      g_array_append_val(out, v);
    }
  }
  return out;
}

static void
print_matrix(const char *what, GArray *a, guint T)
{
  printf("\n  %s:", what);
  for (guint i = 0; i < a->len / T; i++) {
    printf("\n   ");
    for (guint t = 0; t < T; t++)
      printf(" %.3f", g_array_index(a, double, i *T + t));
  }
}

static void
test_uncle_forgets_each_unlearned_task_data_free(void)
{
  ensure_runs();
  guint T = 0;
  g_autoptr(GArray) a = matrix(metrics, "report", &T);
  print_matrix("acc_matrix (L0,L1,U0,L2,U2)", a, T);
  CU_ASSERT_EQUAL_FATAL(a->len, 5 * T);
  /* Right after U0 (op 2) and U2 (op 4). */
  double u0 = g_array_index(a, double, 2 * T + 0), u2 = g_array_index(a, double, 4 * T + 2);
  double score = value(metrics, "report", "unlearning_score");
  printf("\n  after U0: %.3f, after U2: %.3f, unlearning score (worst) %.4f", u0, u2, score);
  CU_ASSERT_TRUE(u0 <= 0.60);
  CU_ASSERT_TRUE(u2 <= 0.60);
  CU_ASSERT_TRUE(score >= 0.9);
  /* Each unlearning, of every run, is cheap: print and bound its time. */
  guint n = 0;
  for (guint i = 0; i < metrics->len; i++) {
    LetheMetric *m = metrics->pdata[i];
    if (!g_str_equal(m->node, "uncle") || !g_str_equal(m->name, "unlearn_cpu_seconds"))
      continue;
    printf("\n  U%" G_GINT64_FORMAT ": %.3f s of CPU", m->step, m->value);
    CU_ASSERT_TRUE(m->value <= 5.0);
    n++;
  }
  CU_ASSERT_EQUAL(n, 4); /* U0, U2; U2 without task 0; U0 without task 2 */
}

static void
test_uncle_retains_active_tasks_and_beta_zero_does_not(void)
{
  ensure_runs();
  double drop = value(metrics, "report", "retention_drop_max");
  double drop0 = value(metrics_beta0, "report", "retention_drop_max");
  guint T = 0;
  g_autoptr(GArray) a0 = matrix(metrics_beta0, "report", &T);
  print_matrix("acc_matrix with beta = 0", a0, T);
  printf("\n  largest drop of an active task: beta 0.1: %.4f, beta 0: %.4f", drop, drop0);
  CU_ASSERT_TRUE(drop <= 0.02);
  CU_ASSERT_TRUE(drop0 > 0.02);
}

static void
test_relapse_is_measured_against_the_counterfactual(void)
{
  ensure_runs();
  /* Task 0 is unlearned at op 2 and stays unlearned through L2 and U2. */
  LetheMetric *rel = find(metrics, "report", "relapse", 0);
  LetheMetric *raw = find(metrics, "report", "relapse_raw", 0);
  CU_ASSERT_PTR_NOT_NULL_FATAL(rel);
  CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
  printf("\n  task 0: raw rise %.4f, excess over the run without it %.4f", raw->value, rel->value);
  CU_ASSERT_TRUE(isfinite(rel->value) && isfinite(raw->value));
  CU_ASSERT_PTR_NOT_NULL(find(metrics, "report", "acc_matrix_without-0", -1));
  CU_ASSERT_PTR_NOT_NULL(find(metrics, "report", "acc_matrix_without-2", -1));
  CU_ASSERT_TRUE(value(metrics, "report", "relapse_max") >= rel->value);
  /* The β = 0 run had no counterfactuals: no relapse_max. */
  CU_ASSERT_PTR_NULL(find(metrics_beta0, "report", "relapse_max", -1));
  /* The baseline ran the same sequence. */
  guint T = 0;
  g_autoptr(GArray) b = matrix(metrics, "finetune-report", &T);
  CU_ASSERT_EQUAL(b->len, 5 * T);
}

LETHE_TEST_MAIN("uncle-pipeline", LETHE_TEST(test_uncle_forgets_each_unlearned_task_data_free),
                LETHE_TEST(test_uncle_retains_active_tasks_and_beta_zero_does_not),
                LETHE_TEST(test_relapse_is_measured_against_the_counterfactual))
