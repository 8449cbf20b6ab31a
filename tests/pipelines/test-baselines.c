/* Tests: the baseline pipelines (pipelines/split-fmnist-*.lethe,
 * fmnist-retrain-oracle.lethe) run by the built `lethe run` on reduced
 * data, with assertions on the numbers they write to metrics.jsonl; and
 * the errors a user gets from bad input to them.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "pipeline-run.h"

#define ASSERT_CONTAINS(haystack, needle)                                                          \
  do {                                                                                             \
    if (!strstr((haystack), (needle)))                                                             \
      fprintf(stderr, "\n  \"%s\" lacks \"%s\"\n", (haystack), (needle));                          \
    CU_ASSERT_PTR_NOT_NULL(strstr((haystack), (needle)));                                          \
  } while (0)

static void
test_finetune_collapses_in_class_il_but_not_in_task_il(void)
{
  if (!have_fmnist())
    return;
  g_autofree char *dir = NULL, *err = NULL;
  const char *args[] = {SMALL, "learn.epochs=5", NULL};
  CU_ASSERT_EQUAL_FATAL(run_pipeline("split-fmnist-finetune.lethe", args, &dir, &err), 0);
  double cil = metric(dir, "eval", "avg_acc", -1);
  double til = metric(dir, "eval", "avg_acc_task_il", -1);
  double last = metric(dir, "eval", "new_acc", -1);
  fprintf(stderr, "\n  finetune: class-IL %.4f, task-IL %.4f, last task %.4f\n", cil, til, last);
  /* only the last task's two classes survive */
  CU_ASSERT_TRUE(cil < 0.35);
  CU_ASSERT_TRUE(cil > 0.1);
  CU_ASSERT_TRUE(last > 0.9);
  CU_ASSERT_TRUE(til > cil + 0.3);
  CU_ASSERT_TRUE(metric(dir, "eval", "forgetting_max", -1) > 0.6);
  CU_ASSERT_EQUAL(duplicate_metrics(dir), 0);
  remove_tree(dir);
}

static void
test_joint_stays_near_full_data_accuracy(void)
{
  if (!have_fmnist())
    return;
  g_autofree char *dir = NULL, *err = NULL;
  const char *args[] = {SMALL, "learn.epochs=5", NULL};
  CU_ASSERT_EQUAL_FATAL(run_pipeline("split-fmnist-joint.lethe", args, &dir, &err), 0);
  double cil = metric(dir, "eval", "avg_acc", -1);
  double til = metric(dir, "eval", "avg_acc_task_il", -1);
  fprintf(stderr, "\n  joint: class-IL %.4f, task-IL %.4f\n", cil, til);
  CU_ASSERT_TRUE(cil > 0.7);
  CU_ASSERT_TRUE(til > 0.9);
  CU_ASSERT_TRUE(metric(dir, "eval", "forgetting_max", -1) < 0.25);
  remove_tree(dir);
}

static void
test_retrained_oracle_forgets_the_class_and_keeps_the_rest(void)
{
  if (!have_fmnist())
    return;
  g_autofree char *dir = NULL, *err = NULL;
  const char *args[] = {SMALL, "learn.epochs=5", NULL};
  CU_ASSERT_EQUAL_FATAL(run_pipeline("fmnist-retrain-oracle.lethe", args, &dir, &err), 0);
  /* version 1: the original model, version 2: retrained without class 3 */
  double f1 = metric(dir, "report", "forget_acc", 1), f2 = metric(dir, "report", "forget_acc", 2);
  double r1 = metric(dir, "report", "retain_acc", 1), r2 = metric(dir, "report", "retain_acc", 2);
  fprintf(stderr, "\n  oracle: forget %.4f -> %.4f, retain %.4f -> %.4f\n", f1, f2, r1, r2);
  CU_ASSERT_TRUE(f1 > 0.5);
  CU_ASSERT_EQUAL(f2, 0.0);
  CU_ASSERT_TRUE(fabs(r2 - r1) < 0.03);
  CU_ASSERT_EQUAL(duplicate_metrics(dir), 0);
  remove_tree(dir);
}

static void
test_ludb_rhythm_beats_the_majority_answer_on_held_out_subjects(void)
{
  if (lethe_test_shared_data() == NULL) {
    CU_FAIL("the shared data folder (LUDB) is missing");
    return;
  }
  g_autofree char *dir = NULL, *err = NULL;
  /* The data path given as from an installed copy; 4 epochs instead of 6. */
  g_autofree char *path =
      g_strdup_printf("ludb.path=%s/ecg/ludb-1.0.1.zip", lethe_test_shared_data());
  const char *args[] = {path, "learn.epochs=4", NULL};
  CU_ASSERT_EQUAL_FATAL(run_pipeline("ludb-rhythm.lethe", args, &dir, &err), 0);
  double acc = metric(dir, "eval", "accuracy", 1), f1 = metric(dir, "eval", "macro_f1", 1);
  double bal = metric(dir, "eval", "balanced_acc", 1);
  double share = metric(dir, "test-share", "mean", -1);
  fprintf(stderr, "\n  ludb: accuracy %.4f, macro-F1 %.4f, balanced %.4f (sinus share %.2f)\n", acc,
          f1, bal, share);
  /* 50 held-out subjects of 10 s records, 2 windows each: accuracy is a
   * multiple of 1/100; about 7 in 10 are in sinus rhythm. */
  CU_ASSERT_DOUBLE_EQUAL(acc * 100, round(acc * 100), 1e-9);
  CU_ASSERT_TRUE(share > 0.6 && share < 0.8);
  /* A classifier, not the majority answer (macro-F1 0.41, balanced 0.5):
   * 4 epochs measured 0.69, 0.68, 0.67 balanced, 0.67, 0.61, 0.62 macro-F1
   * (seeds: the pipeline's, 1, 2). */
  CU_ASSERT_TRUE(bal > 0.6);
  CU_ASSERT_TRUE(f1 > 0.55);
  remove_tree(dir);
}

/* A pipeline that fails: exit status 1 and a message naming the node. */
static void
expect_failure(const char *pipeline, const char *const *args, const char *node, const char *message)
{
  if (!have_fmnist())
    return;
  g_autofree char *dir = NULL, *err = NULL;
  CU_ASSERT_EQUAL(run_pipeline(pipeline, args, &dir, &err), 1);
  g_autofree char *who = g_strdup_printf("node '%s'", node);
  ASSERT_CONTAINS(err, who);
  ASSERT_CONTAINS(err, message);
  remove_tree(dir);
}

static void
test_labels_beyond_the_model_outputs_are_refused(void)
{
  const char *args[] = {SMALL, "learn.arch=linear(784,32) relu linear(32,8)", NULL};
  expect_failure("split-fmnist-finetune.lethe", args, "learn",
                 "of task 4 is out of range for a model with 8 outputs");
}

static void
test_model_that_does_not_take_the_data_is_refused(void)
{
  const char *args[] = {SMALL, "learn.arch=linear(100,10)", NULL};
  expect_failure("split-fmnist-joint.lethe", args, "learn",
                 "do not fit the model 'linear(100,10)': layer 0");
}

static void
test_forgetting_a_class_that_does_not_exist_is_refused(void)
{
  const char *args[] = {SMALL, "request.classes=12", NULL};
  expect_failure("fmnist-retrain-oracle.lethe", args, "request",
                 "names class 12, which does not exist");
}

static void
test_an_empty_task_is_refused(void)
{
  /* 12 classes in 6 tasks: the last task's classes 10 and 11 have no samples */
  const char *args[] = {SMALL, "tasks.n-classes=12", "tasks.tasks=6", NULL};
  expect_failure("split-fmnist-finetune.lethe", args, "tasks",
                 "task 5 (classes 10, 11) has no samples");
}

LETHE_TEST_MAIN("baselines", LETHE_TEST(test_finetune_collapses_in_class_il_but_not_in_task_il),
                LETHE_TEST(test_joint_stays_near_full_data_accuracy),
                LETHE_TEST(test_retrained_oracle_forgets_the_class_and_keeps_the_rest),
                LETHE_TEST(test_ludb_rhythm_beats_the_majority_answer_on_held_out_subjects),
                LETHE_TEST(test_labels_beyond_the_model_outputs_are_refused),
                LETHE_TEST(test_model_that_does_not_take_the_data_is_refused),
                LETHE_TEST(test_forgetting_a_class_that_does_not_exist_is_refused),
                LETHE_TEST(test_an_empty_task_is_refused))
