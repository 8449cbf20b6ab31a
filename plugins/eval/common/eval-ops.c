/* Lethe — metric computation shared by the evaluator plugins.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "eval-ops.h"

#include <math.h>

#include <lethe/error.h>
#include <lethe/metrics.h>

gboolean
eval_task_accuracies(const float *logits, gint64 n, gint64 k, const gint32 *labels,
                     const gint32 *row_task, GPtrArray *task_classes, double *class_il,
                     double *task_il, double *counts, GError **error)
{
  guint n_tasks = task_classes->len;
  g_autofree gint32 *task_of_class = g_new(gint32, k);
  g_autofree gint64 *hits_c = g_new0(gint64, n_tasks);
  g_autofree gint64 *hits_t = g_new0(gint64, n_tasks);
  g_autofree gint64 *total = g_new0(gint64, n_tasks);
  g_autofree gboolean *mask = g_new(gboolean, (gsize)k * n_tasks);
  for (gint64 c = 0; c < k; c++)
    task_of_class[c] = -1;
  for (guint t = 0; t < n_tasks; t++) {
    GArray *tc = g_ptr_array_index(task_classes, t);
    for (gint64 c = 0; c < k; c++)
      mask[t * k + c] = FALSE;
    for (guint i = 0; i < tc->len; i++) {
      gint32 c = g_array_index(tc, gint32, i);
      if (c < 0 || c >= k) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                    "task %u has class %d but the model has only %" G_GINT64_FORMAT
                    " outputs; the model and the stream disagree on the classes",
                    t, c, k);
        return FALSE;
      }
      mask[t * k + c] = TRUE;
      if (!row_task)
        task_of_class[c] = (gint32)t;
    }
  }
  for (gint64 i = 0; i < n; i++) {
    if (labels[i] < 0 || labels[i] >= k)
      continue; /* a test class outside the model's head counts nowhere */
    gint32 t = row_task ? row_task[i] : task_of_class[labels[i]];
    if (t < 0 || t >= (gint32)n_tasks)
      continue;
    total[t]++;
    hits_c[t] += lethe_metrics_accuracy(logits + i * k, 1, k, labels + i, NULL) == 1.0;
    hits_t[t] += lethe_metrics_accuracy(logits + i * k, 1, k, labels + i, mask + t * k) == 1.0;
  }
  for (guint t = 0; t < n_tasks; t++) {
    if (total[t] == 0) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "the test set has no sample of task %u; connect a test set holding every "
                  "task's classes",
                  t);
      return FALSE;
    }
    class_il[t] = (double)hits_c[t] / total[t];
    task_il[t] = (double)hits_t[t] / total[t];
    if (counts)
      counts[t] = (double)total[t];
  }
  return TRUE;
}

static void
emit(EvalEmit fn, gpointer user_data, const char *base, const char *suffix, gint64 step,
     double value)
{
  if (isnan(value))
    return; /* undefined for this run (e.g. BWT of one task): not emitted */
  g_autofree char *name = g_strconcat(base, suffix, NULL);
  fn(user_data, name, step, value, NULL);
}

void
eval_emit_cl_metrics(const double *a, guint n_tasks, const double *before, const double *joint,
                     const double *counts, const char *suffix, EvalEmit fn, gpointer user_data)
{
  g_autofree char *json = lethe_metrics_matrix_to_json(a, n_tasks, n_tasks);
  g_autofree char *matrix_name = g_strconcat("acc_matrix", suffix, NULL);
  fn(user_data, matrix_name, -1, NAN, json);
  for (guint k = 0; k < n_tasks; k++) {
    double old_acc, new_acc;
    emit(fn, user_data, "avg_acc_at", suffix, k, lethe_metrics_avg_acc_at(a, n_tasks, k));
    lethe_metrics_old_new_acc(a, n_tasks, k, counts, &old_acc, &new_acc);
    emit(fn, user_data, "old_acc", suffix, k, old_acc);
    emit(fn, user_data, "new_acc", suffix, k, new_acc);
    if (joint)
      emit(fn, user_data, "intransigence", suffix, k,
           lethe_metrics_intransigence_at(a, n_tasks, joint, k));
  }
  emit(fn, user_data, "avg_acc", suffix, -1, lethe_metrics_avg_acc(a, n_tasks));
  emit(fn, user_data, "avg_inc_acc", suffix, -1, lethe_metrics_avg_inc_acc(a, n_tasks));
  emit(fn, user_data, "forgetting_max", suffix, -1, lethe_metrics_forgetting_max(a, n_tasks));
  emit(fn, user_data, "forgetting_first_last", suffix, -1,
       lethe_metrics_forgetting_first_last(a, n_tasks));
  emit(fn, user_data, "bwt", suffix, -1, lethe_metrics_bwt(a, n_tasks));
  emit(fn, user_data, "fwt", suffix, -1, lethe_metrics_fwt(a, n_tasks, before));
  emit(fn, user_data, "intransigence", suffix, -1, lethe_metrics_intransigence(a, n_tasks, joint));
  if (n_tasks > 0) {
    double old_acc, new_acc;
    lethe_metrics_old_new_acc(a, n_tasks, n_tasks - 1, counts, &old_acc, &new_acc);
    emit(fn, user_data, "old_acc", suffix, -1, old_acc);
    emit(fn, user_data, "new_acc", suffix, -1, new_acc);
  }
}

static double
outputs_accuracy(const EvalOutputs *o)
{
  return o && o->n > 0 ? lethe_metrics_accuracy(o->logits, o->n, o->k, o->labels, NULL) : NAN;
}

/* Entropy and loss attacks on one model; NAN where a set is missing. */
static gboolean
attacks(const EvalOutputs *forget, const EvalOutputs *retain, const EvalOutputs *test,
        double *mia_entropy, double *loss_auc, double *loss_acc, GError **error)
{
  *mia_entropy = *loss_auc = *loss_acc = NAN;
  if (test == NULL || test->n == 0 || forget->n == 0)
    return TRUE;
  g_autofree double *hf = g_new(double, forget->n);
  g_autofree double *ht = g_new(double, test->n);
  g_autofree double *lf = g_new(double, forget->n);
  g_autofree double *lt = g_new(double, test->n);
  lethe_metrics_entropies(forget->logits, forget->n, forget->k, hf);
  lethe_metrics_entropies(test->logits, test->n, test->k, ht);
  for (gint64 i = 0; i < forget->n; i++)
    if (forget->labels[i] < 0 || forget->labels[i] >= forget->k)
      goto bad_label;
  for (gint64 i = 0; i < test->n; i++)
    if (test->labels[i] < 0 || test->labels[i] >= test->k)
      goto bad_label;
  lethe_metrics_losses(forget->logits, forget->n, forget->k, forget->labels, lf);
  lethe_metrics_losses(test->logits, test->n, test->k, test->labels, lt);
  lethe_metrics_mia_loss(lf, forget->n, lt, test->n, loss_auc, loss_acc);
  if (retain && retain->n > 0) {
    g_autofree double *hr = g_new(double, retain->n);
    lethe_metrics_entropies(retain->logits, retain->n, retain->k, hr);
    *mia_entropy = lethe_metrics_mia_entropy(hr, retain->n, ht, test->n, hf, forget->n, error);
    if (isnan(*mia_entropy))
      return FALSE;
  }
  return TRUE;

  /* ERRORS */
bad_label:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "a label is outside the model's %" G_GINT64_FORMAT " outputs", forget->k);
  return FALSE;
}

gboolean
eval_emit_unlearning_metrics(const EvalOutputs *forget, const EvalOutputs *retain,
                             const EvalOutputs *test, const EvalOutputs *oracle_forget,
                             const EvalOutputs *oracle_retain, const EvalOutputs *oracle_test,
                             EvalEmit fn, gpointer user_data, GError **error)
{
  double m[5], o[5] = {NAN, NAN, NAN, NAN, NAN};
  static const char *const names[5] = {"forget_acc", "retain_acc", "test_acc", "mia_entropy",
                                       "mia_loss_auc"};
  double loss_acc, o_loss_acc;
  m[0] = outputs_accuracy(forget);
  m[1] = outputs_accuracy(retain);
  m[2] = outputs_accuracy(test);
  if (!attacks(forget, retain, test, &m[3], &m[4], &loss_acc, error))
    return FALSE;
  for (int i = 0; i < 5; i++)
    emit(fn, user_data, names[i], "", -1, m[i]);
  emit(fn, user_data, "mia_loss_acc", "", -1, loss_acc);
  if (oracle_forget == NULL)
    return TRUE;

  o[0] = outputs_accuracy(oracle_forget);
  o[1] = outputs_accuracy(oracle_retain);
  o[2] = outputs_accuracy(oracle_test);
  if (!attacks(oracle_forget, oracle_retain, oracle_test, &o[3], &o[4], &o_loss_acc, error))
    return FALSE;
  for (int i = 0; i < 5; i++) {
    emit(fn, user_data, "oracle_", names[i], -1, o[i]);
    g_autofree char *gap = g_strconcat("oracle_gap_", names[i], NULL);
    emit(fn, user_data, gap, "", -1, lethe_metrics_oracle_gap(m[i], o[i]));
  }
  emit(fn, user_data, "tow", "", -1, lethe_metrics_tow(m[0], m[1], m[2], o[0], o[1], o[2]));
  if (oracle_forget->n == forget->n && oracle_forget->k == forget->k && forget->n > 0) {
    emit(fn, user_data, "activation_distance", "", -1,
         lethe_metrics_activation_distance(forget->logits, oracle_forget->logits, forget->n,
                                           forget->k));
    emit(fn, user_data, "js_divergence", "", -1,
         lethe_metrics_js_divergence(forget->logits, oracle_forget->logits, forget->n, forget->k));
  }
  return TRUE;
}
