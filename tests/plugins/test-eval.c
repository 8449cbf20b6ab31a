/* Lethe — the evaluators' computations on hand-built model outputs.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <math.h>

#include <lethe/error.h>

#include "eval-ops.h"
#include "lethe-test.h"

/* Collects emitted metrics by name (step -1) and "name@step". */
static void
collect(gpointer user_data, const char *name, gint64 step, double value, const char *json)
{
  GHashTable *h = user_data;
  char *key = step < 0 ? g_strdup(name) : g_strdup_printf("%s@%" G_GINT64_FORMAT, name, step);
  g_hash_table_insert(h, key, json ? g_strdup(json) : g_strdup_printf("%.12g", value));
}

static double
got(GHashTable *h, const char *name)
{
  const char *v = g_hash_table_lookup(h, name);
  if (v == NULL)
    fprintf(stderr, "\n  metric %s was not emitted\n", name);
  return v ? g_ascii_strtod(v, NULL) : NAN;
}

static GPtrArray *
two_tasks(void)
{
  GPtrArray *tasks = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
  for (gint32 t = 0; t < 2; t++) {
    GArray *a = g_array_new(FALSE, FALSE, sizeof(gint32));
    gint32 c0 = 2 * t, c1 = 2 * t + 1;
    g_array_append_val(a, c0);
    g_array_append_val(a, c1);
    g_ptr_array_add(tasks, a);
  }
  return tasks;
}

static void
test_task_accuracies_class_il_and_task_il(void)
{
  /* 4 classes, tasks {0,1} and {2,3}.  The model always favours class 3,
   * then the true class: class-IL right only on class 3; task-IL right on
   * task 0 (class 3 masked out) but still wrong on class 2. */
  const gint32 labels[4] = {0, 1, 2, 3};
  float logits[4 * 4];
  for (int i = 0; i < 4; i++)
    for (int c = 0; c < 4; c++)
      logits[i * 4 + c] = (c == 3 ? 5.0f : 0.0f) + (c == labels[i] ? 1.0f : 0.0f);
  g_autoptr(GPtrArray) tasks = two_tasks();
  double cil[2], til[2], counts[2];
  GError *error = NULL;
  CU_ASSERT_TRUE(eval_task_accuracies(logits, 4, 4, labels, NULL, tasks, cil, til, counts, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_DOUBLE_EQUAL(cil[0], 0.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(cil[1], 0.5, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(til[0], 1.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(til[1], 0.5, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(counts[1], 2.0, 1e-12);
}

static void
test_task_accuracies_by_row_task_and_errors(void)
{
  const gint32 labels[2] = {0, 1};
  const float logits[2 * 4] = {1, 0, 0, 0, 1, 0, 0, 0};
  const gint32 row_task[2] = {1, 1}; /* both rows belong to task 1 */
  g_autoptr(GPtrArray) tasks = two_tasks();
  double cil[2], til[2];
  GError *error = NULL;
  CU_ASSERT_FALSE(
      eval_task_accuracies(logits, 2, 4, labels, row_task, tasks, cil, til, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "no sample of task 0");
  CU_ASSERT_FALSE(eval_task_accuracies(logits, 2, 3, labels, NULL, tasks, cil, til, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "has class 3 but the model has only 3");
}

static void
test_cl_metrics_emit_every_name(void)
{
  const double a[4] = {0.9, 0.2, 0.3, 0.8};
  const double before[2] = {0.1, 0.1}, joint[2] = {0.95, 0.9}, counts[2] = {100, 300};
  g_autoptr(GHashTable) h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  eval_emit_cl_metrics(a, 2, before, joint, counts, "", collect, h);
  eval_emit_cl_metrics(a, 2, NULL, NULL, counts, "_task_il", collect, h);
  CU_ASSERT_STRING_EQUAL(g_hash_table_lookup(h, "acc_matrix"), "[[0.9,0.2],[0.3,0.8]]");
  CU_ASSERT_DOUBLE_EQUAL(got(h, "avg_acc"), 0.55, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(got(h, "avg_inc_acc"), (0.9 + 0.55) / 2, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(got(h, "forgetting_max"), 0.6, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(got(h, "forgetting_first_last"), 0.6, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(got(h, "bwt"), -0.6, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(got(h, "fwt"), 0.1, 1e-12);             /* 0.2 − 0.1 */
  CU_ASSERT_DOUBLE_EQUAL(got(h, "intransigence"), 0.075, 1e-12); /* (0.05 + 0.1) / 2 */
  CU_ASSERT_DOUBLE_EQUAL(got(h, "intransigence@1"), 0.1, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(got(h, "old_acc"), 0.3, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(got(h, "new_acc"), 0.8, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(got(h, "avg_acc_at@0"), 0.9, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(got(h, "avg_acc_task_il"), 0.55, 1e-12);
  /* undefined without their references: not emitted */
  CU_ASSERT_PTR_NULL(g_hash_table_lookup(h, "fwt_task_il"));
  CU_ASSERT_PTR_NULL(g_hash_table_lookup(h, "intransigence_task_il"));
}

static void
test_unlearning_metrics_against_oracle(void)
{
  /* 2 classes.  Forget set: 2 samples of class 1; the model still knows
   * them (confident), the oracle does not. */
  const float f_logits[4] = {0, 4, 0, 4};
  const float of_logits[4] = {4, 0, 4, 0};
  const gint32 f_labels[2] = {1, 1};
  const float r_logits[4] = {4, 0, 0, 4};
  const gint32 r_labels[2] = {0, 1};
  const float t_logits[4] = {1, 0, 0, 0.5f};
  const gint32 t_labels[2] = {0, 1};
  EvalOutputs f = {f_logits, f_labels, 2, 2}, of = {of_logits, f_labels, 2, 2};
  EvalOutputs r = {r_logits, r_labels, 2, 2}, t = {t_logits, t_labels, 2, 2};
  g_autoptr(GHashTable) h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  GError *error = NULL;
  CU_ASSERT_TRUE(eval_emit_unlearning_metrics(&f, &r, &t, &of, &r, &t, collect, h, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_DOUBLE_EQUAL(got(h, "forget_acc"), 1.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(got(h, "retain_acc"), 1.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(got(h, "test_acc"), 1.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(got(h, "oracle_forget_acc"), 0.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(got(h, "oracle_gap_forget_acc"), 1.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(got(h, "tow"), 0.0, 1e-12);
  /* forget losses (ln(1+e^−4)) are below every test loss: AUC 1 */
  CU_ASSERT_DOUBLE_EQUAL(got(h, "mia_loss_auc"), 1.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(got(h, "oracle_mia_loss_auc"), 0.0, 1e-12);
  /* forget entropies equal the retain ones (confident): both called member */
  CU_ASSERT_DOUBLE_EQUAL(got(h, "mia_entropy"), 1.0, 1e-12);
  /* p = (σ(−4), σ(4)) vs (σ(4), σ(−4)): L2 distance √2 |σ(4) − σ(−4)| */
  double s4 = 1.0 / (1.0 + exp(-4.0));
  CU_ASSERT_DOUBLE_EQUAL(got(h, "activation_distance"), sqrt(2.0) * (2 * s4 - 1), 1e-6);
  CU_ASSERT_TRUE(got(h, "js_divergence") > 0.3 && got(h, "js_divergence") < log(2.0));
}

LETHE_TEST_MAIN("eval", LETHE_TEST(test_task_accuracies_class_il_and_task_il),
                LETHE_TEST(test_task_accuracies_by_row_task_and_errors),
                LETHE_TEST(test_cl_metrics_emit_every_name),
                LETHE_TEST(test_unlearning_metrics_against_oracle))
