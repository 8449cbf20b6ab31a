/* Lethe — the metrics of continual learning and machine unlearning.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every formula is written out, with its reference, in docs/metrics.md.
 */
#include <math.h>
#include <stdlib.h>

#include <lethe/error.h>
#include <lethe/metrics.h>

#define A(i, j) a[(gsize)(i)*n_tasks + (j)]

/* ---- Continual learning --------------------------------------------- */

double
lethe_metrics_avg_acc_at(const double *a, guint n_tasks, guint k)
{
  g_return_val_if_fail(a != NULL, NAN);
  g_return_val_if_fail(k < n_tasks, NAN);
  double sum = 0.0;
  for (guint j = 0; j <= k; j++)
    sum += A(k, j);
  return sum / (k + 1);
}

double
lethe_metrics_avg_acc(const double *a, guint n_tasks)
{
  g_return_val_if_fail(a != NULL, NAN);
  if (n_tasks == 0)
    return NAN;
  return lethe_metrics_avg_acc_at(a, n_tasks, n_tasks - 1);
}

double
lethe_metrics_avg_inc_acc(const double *a, guint n_tasks)
{
  g_return_val_if_fail(a != NULL, NAN);
  if (n_tasks == 0)
    return NAN;
  double sum = 0.0;
  for (guint k = 0; k < n_tasks; k++)
    sum += lethe_metrics_avg_acc_at(a, n_tasks, k);
  return sum / n_tasks;
}

double
lethe_metrics_forgetting_max_at(const double *a, guint n_tasks, guint k)
{
  g_return_val_if_fail(a != NULL, NAN);
  g_return_val_if_fail(k < n_tasks, NAN);
  if (k == 0)
    return NAN;
  double sum = 0.0;
  for (guint j = 0; j < k; j++) {
    /* Rows before j measured a task not yet learned: not a peak to forget. */
    double best = A(j, j);
    for (guint l = j + 1; l < k; l++)
      best = MAX(best, A(l, j));
    sum += best - A(k, j);
  }
  return sum / k;
}

double
lethe_metrics_forgetting_max(const double *a, guint n_tasks)
{
  g_return_val_if_fail(a != NULL, NAN);
  if (n_tasks < 2)
    return NAN;
  return lethe_metrics_forgetting_max_at(a, n_tasks, n_tasks - 1);
}

double
lethe_metrics_bwt(const double *a, guint n_tasks)
{
  g_return_val_if_fail(a != NULL, NAN);
  if (n_tasks < 2)
    return NAN;
  double sum = 0.0;
  for (guint j = 0; j + 1 < n_tasks; j++)
    sum += A(n_tasks - 1, j) - A(j, j);
  return sum / (n_tasks - 1);
}

double
lethe_metrics_forgetting_first_last(const double *a, guint n_tasks)
{
  g_return_val_if_fail(a != NULL, NAN);
  if (n_tasks < 2)
    return NAN;
  return -lethe_metrics_bwt(a, n_tasks);
}

double
lethe_metrics_fwt(const double *a, guint n_tasks, const double *before)
{
  g_return_val_if_fail(a != NULL, NAN);
  if (n_tasks < 2 || before == NULL)
    return NAN;
  double sum = 0.0;
  for (guint j = 1; j < n_tasks; j++)
    sum += A(j - 1, j) - before[j];
  return sum / (n_tasks - 1);
}

double
lethe_metrics_intransigence_at(const double *a, guint n_tasks, const double *joint_ref, guint k)
{
  g_return_val_if_fail(a != NULL, NAN);
  g_return_val_if_fail(k < n_tasks, NAN);
  if (joint_ref == NULL)
    return NAN;
  return joint_ref[k] - A(k, k);
}

double
lethe_metrics_intransigence(const double *a, guint n_tasks, const double *joint_ref)
{
  g_return_val_if_fail(a != NULL, NAN);
  if (n_tasks == 0 || joint_ref == NULL)
    return NAN;
  double sum = 0.0;
  for (guint k = 0; k < n_tasks; k++)
    sum += lethe_metrics_intransigence_at(a, n_tasks, joint_ref, k);
  return sum / n_tasks;
}

void
lethe_metrics_old_new_acc(const double *a, guint n_tasks, guint k, const double *weights,
                          double *old_acc, double *new_acc)
{
  g_return_if_fail(a != NULL);
  g_return_if_fail(k < n_tasks);
  double sum = 0.0, total = 0.0;
  for (guint j = 0; j < k; j++) {
    double w = weights ? weights[j] : 1.0;
    sum += w * A(k, j);
    total += w;
  }
  if (old_acc)
    *old_acc = total > 0.0 ? sum / total : NAN;
  if (new_acc)
    *new_acc = A(k, k);
}

char *
lethe_metrics_matrix_to_json(const double *a, guint rows, guint cols)
{
  g_return_val_if_fail(a != NULL || rows == 0 || cols == 0, NULL);
  GString *s = g_string_new("[");
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (guint i = 0; i < rows; i++) {
    g_string_append(s, i ? ",[" : "[");
    for (guint j = 0; j < cols; j++) {
      double v = a[(gsize)i * cols + j];
      if (j)
        g_string_append_c(s, ',');
      if (isfinite(v))
        g_string_append(s, g_ascii_formatd(buf, sizeof buf, "%.10g", v));
      else
        g_string_append(s, "null");
    }
    g_string_append_c(s, ']');
  }
  g_string_append_c(s, ']');
  return g_string_free(s, FALSE);
}

/* ---- Per-sample outputs --------------------------------------------- */

double
lethe_metrics_accuracy(const float *logits, gint64 n, gint64 k, const gint32 *labels,
                       const gboolean *class_mask)
{
  g_return_val_if_fail(n == 0 || (logits != NULL && labels != NULL), NAN);
  g_return_val_if_fail(k > 0, NAN);
  if (n == 0)
    return NAN;
  gint64 correct = 0;
  for (gint64 i = 0; i < n; i++) {
    const float *row = logits + i * k;
    gint64 best = -1;
    for (gint64 c = 0; c < k; c++) {
      if (class_mask && !class_mask[c])
        continue;
      if (best < 0 || row[c] > row[best])
        best = c;
    }
    correct += best >= 0 && best == labels[i];
  }
  return (double)correct / (double)n;
}

void
lethe_metrics_softmax(const float *logits, gint64 k, double *p)
{
  g_return_if_fail(logits != NULL && p != NULL && k > 0);
  double m = logits[0];
  for (gint64 c = 1; c < k; c++)
    m = MAX(m, (double)logits[c]);
  double z = 0.0;
  for (gint64 c = 0; c < k; c++)
    z += p[c] = exp((double)logits[c] - m);
  for (gint64 c = 0; c < k; c++)
    p[c] /= z;
}

/* log-sum-exp of one row, stable for large logits. */
static double
row_logsumexp(const float *row, gint64 k)
{
  double m = row[0];
  for (gint64 c = 1; c < k; c++)
    m = MAX(m, (double)row[c]);
  double z = 0.0;
  for (gint64 c = 0; c < k; c++)
    z += exp((double)row[c] - m);
  return m + log(z);
}

void
lethe_metrics_entropies(const float *logits, gint64 n, gint64 k, double *out)
{
  g_return_if_fail(n == 0 || (logits != NULL && out != NULL));
  g_return_if_fail(k > 0);
  for (gint64 i = 0; i < n; i++) {
    const float *row = logits + i * k;
    double lse = row_logsumexp(row, k), h = 0.0;
    /* H = −Σ p (z − lse), computed from logits so p → 0 costs nothing. */
    for (gint64 c = 0; c < k; c++) {
      double logp = (double)row[c] - lse, p = exp(logp);
      if (p > 0.0) /* 0 log 0 = 0, also for a logit of −inf */
        h -= p * logp;
    }
    out[i] = h;
  }
}

void
lethe_metrics_losses(const float *logits, gint64 n, gint64 k, const gint32 *labels, double *out)
{
  g_return_if_fail(n == 0 || (logits != NULL && labels != NULL && out != NULL));
  g_return_if_fail(k > 0);
  for (gint64 i = 0; i < n; i++) {
    const float *row = logits + i * k;
    g_return_if_fail(labels[i] >= 0 && labels[i] < k);
    out[i] = row_logsumexp(row, k) - (double)row[labels[i]];
  }
}

static int
cmp_double(const void *pa, const void *pb)
{
  double x = *(const double *)pa, y = *(const double *)pb;
  return (x > y) - (x < y);
}

typedef struct {
  double score;
  int positive;
} Scored;

static int
cmp_scored(const void *pa, const void *pb)
{
  return cmp_double(&((const Scored *)pa)->score, &((const Scored *)pb)->score);
}

/* All scores in ascending order, each tagged with its side. */
static Scored *
sorted_scores(const double *pos, gsize n_pos, const double *neg, gsize n_neg)
{
  Scored *all = g_new(Scored, n_pos + n_neg);
  for (gsize i = 0; i < n_pos; i++)
    all[i] = (Scored){pos[i], 1};
  for (gsize i = 0; i < n_neg; i++)
    all[n_pos + i] = (Scored){neg[i], 0};
  qsort(all, n_pos + n_neg, sizeof *all, cmp_scored);
  return all;
}

double
lethe_metrics_roc_auc(const double *pos, gsize n_pos, const double *neg, gsize n_neg)
{
  if (n_pos == 0 || n_neg == 0)
    return NAN;
  g_return_val_if_fail(pos != NULL && neg != NULL, NAN);
  gsize n = n_pos + n_neg;
  g_autofree Scored *all = sorted_scores(pos, n_pos, neg, n_neg);
  /* Mann–Whitney U from mid-ranks: tied scores share their average rank. */
  double rank_sum = 0.0;
  for (gsize i = 0; i < n;) {
    gsize j = i;
    while (j < n && all[j].score == all[i].score)
      j++;
    double mid_rank = 0.5 * (double)(i + 1 + j);
    for (gsize t = i; t < j; t++)
      if (all[t].positive)
        rank_sum += mid_rank;
    i = j;
  }
  double u = rank_sum - 0.5 * (double)n_pos * (double)(n_pos + 1);
  return u / ((double)n_pos * (double)n_neg);
}

double
lethe_metrics_best_threshold_accuracy(const double *pos, gsize n_pos, const double *neg,
                                      gsize n_neg)
{
  if (n_pos == 0 || n_neg == 0)
    return NAN;
  g_return_val_if_fail(pos != NULL && neg != NULL, NAN);
  gsize n = n_pos + n_neg;
  g_autofree Scored *all = sorted_scores(pos, n_pos, neg, n_neg);
  /* Threshold below everything: all positive, TPR 1, TNR 0. Moving it past
   * each group of tied scores turns that group negative. */
  gsize pos_above = n_pos, neg_below = 0;
  double best = 0.5;
  for (gsize i = 0; i < n;) {
    gsize j = i;
    while (j < n && all[j].score == all[i].score) {
      if (all[j].positive)
        pos_above--;
      else
        neg_below++;
      j++;
    }
    double bal = 0.5 * ((double)pos_above / n_pos + (double)neg_below / n_neg);
    best = MAX(best, bal);
    i = j;
  }
  return best;
}

/* sklearn's objective for a binary logistic regression on one feature:
 * ½w² + C Σ s_i log(1 + exp(−y_i (w x_i + b))), intercept unpenalised,
 * y_i = ±1, s_i the class weight of sample i. */
static double
logistic_objective(const double *x, const int *t, gsize n, double c, const double s[2], double w,
                   double b)
{
  double obj = 0.5 * w * w;
  for (gsize i = 0; i < n; i++) {
    double m = (w * x[i] + b) * (t[i] ? 1.0 : -1.0);
    double loss = m > 0 ? log1p(exp(-m)) : -m + log1p(exp(m)); /* log(1 + e^−m), no overflow */
    obj += c * s[t[i]] * loss;
  }
  return obj;
}

/* Fits the model above with "balanced" class weights s = n / (2 n_class)
 * by Newton's method with step halving: two parameters, so the exact
 * optimum is cheap and does not depend on a solver's tolerance. */
static gboolean
fit_logistic_1d(const double *x, const int *t, gsize n, double c, double *w_out, double *b_out)
{
  gsize n1 = 0;
  for (gsize i = 0; i < n; i++)
    n1 += t[i];
  const double s[2] = {(double)n / (2.0 * (double)(n - n1)), (double)n / (2.0 * (double)n1)};
  double w = 0.0, b = 0.0;
  double f = logistic_objective(x, t, n, c, s, w, b);
  for (int iter = 0; iter < 200; iter++) {
    double gw = w, gb = 0.0, hww = 1.0, hwb = 0.0, hbb = 1e-12;
    for (gsize i = 0; i < n; i++) {
      double z = w * x[i] + b;
      double p = z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
      double r = c * s[t[i]] * (p - t[i]), h = c * s[t[i]] * p * (1.0 - p);
      gw += r * x[i];
      gb += r;
      hww += h * x[i] * x[i];
      hwb += h * x[i];
      hbb += h;
    }
    double det = hww * hbb - hwb * hwb;
    if (!(det > 0))
      return FALSE;
    double dw = (hbb * gw - hwb * gb) / det, db = (hww * gb - hwb * gw) / det;
    double step = 1.0, fn = f;
    for (int halvings = 0; halvings < 60; halvings++, step *= 0.5) {
      fn = logistic_objective(x, t, n, c, s, w - step * dw, b - step * db);
      if (fn <= f)
        break;
    }
    w -= step * dw;
    b -= step * db;
    f = fn;
    if (fabs(step * dw) < 1e-12 * (1 + fabs(w)) && fabs(step * db) < 1e-12 * (1 + fabs(b)))
      break;
  }
  *w_out = w;
  *b_out = b;
  return isfinite(w) && isfinite(b);
}

static gboolean
all_finite(const double *v, gsize n, const char *what, GError **error)
{
  for (gsize i = 0; i < n; i++)
    if (!isfinite(v[i])) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                  "membership attack: %s value %" G_GSIZE_FORMAT " is not finite (%g); "
                  "check the model's outputs for NaN",
                  what, i, v[i]);
      return FALSE;
    }
  return TRUE;
}

double
lethe_metrics_mia_entropy(const double *member, gsize n_member, const double *nonmember,
                          gsize n_nonmember, const double *target, gsize n_target, GError **error)
{
  g_return_val_if_fail(error == NULL || *error == NULL, NAN);
  if (n_member == 0 || n_nonmember == 0 || n_target == 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "membership attack needs members, non-members and targets "
                "(got %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT " and %" G_GSIZE_FORMAT
                " samples); connect non-empty retain, test and forget sets",
                n_member, n_nonmember, n_target);
    return NAN;
  }
  if (!all_finite(member, n_member, "member", error) ||
      !all_finite(nonmember, n_nonmember, "non-member", error) ||
      !all_finite(target, n_target, "target", error))
    return NAN;

  gsize n = n_member + n_nonmember;
  g_autofree double *x = g_new(double, n);
  g_autofree int *t = g_new(int, n);
  for (gsize i = 0; i < n_member; i++)
    x[i] = member[i], t[i] = 1;
  for (gsize i = 0; i < n_nonmember; i++)
    x[n_member + i] = nonmember[i], t[n_member + i] = 0;
  double w, b;
  if (!fit_logistic_1d(x, t, n, 1.0, &w, &b)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                "membership attack: the logistic regression did not converge");
    return NAN;
  }
  gsize members = 0;
  for (gsize i = 0; i < n_target; i++)
    members += w * target[i] + b > 0.0;
  return (double)members / (double)n_target;
}

gboolean
lethe_metrics_mia_loss(const double *member_loss, gsize n_member, const double *nonmember_loss,
                       gsize n_nonmember, double *auc, double *accuracy)
{
  if (n_member == 0 || n_nonmember == 0)
    return FALSE;
  g_return_val_if_fail(member_loss != NULL && nonmember_loss != NULL, FALSE);
  /* A member has the lower loss: score = −loss. */
  g_autofree double *pos = g_new(double, n_member);
  g_autofree double *neg = g_new(double, n_nonmember);
  for (gsize i = 0; i < n_member; i++)
    pos[i] = -member_loss[i];
  for (gsize i = 0; i < n_nonmember; i++)
    neg[i] = -nonmember_loss[i];
  if (auc)
    *auc = lethe_metrics_roc_auc(pos, n_member, neg, n_nonmember);
  if (accuracy)
    *accuracy = lethe_metrics_best_threshold_accuracy(pos, n_member, neg, n_nonmember);
  return TRUE;
}

double
lethe_metrics_activation_distance(const float *logits_a, const float *logits_b, gint64 n, gint64 k)
{
  g_return_val_if_fail(n == 0 || (logits_a != NULL && logits_b != NULL), NAN);
  g_return_val_if_fail(k > 0, NAN);
  if (n == 0)
    return NAN;
  g_autofree double *p = g_new(double, k);
  g_autofree double *q = g_new(double, k);
  double sum = 0.0;
  for (gint64 i = 0; i < n; i++) {
    lethe_metrics_softmax(logits_a + i * k, k, p);
    lethe_metrics_softmax(logits_b + i * k, k, q);
    double d2 = 0.0;
    for (gint64 c = 0; c < k; c++)
      d2 += (p[c] - q[c]) * (p[c] - q[c]);
    sum += sqrt(d2);
  }
  return sum / (double)n;
}

double
lethe_metrics_js(const double *p, const double *q, gint64 k)
{
  g_return_val_if_fail(p != NULL && q != NULL, NAN);
  double js = 0.0;
  for (gint64 c = 0; c < k; c++) {
    double m = 0.5 * (p[c] + q[c]);
    if (p[c] > 0.0)
      js += 0.5 * p[c] * log(p[c] / m);
    if (q[c] > 0.0)
      js += 0.5 * q[c] * log(q[c] / m);
  }
  return MAX(js, 0.0);
}

double
lethe_metrics_js_divergence(const float *logits_a, const float *logits_b, gint64 n, gint64 k)
{
  g_return_val_if_fail(n == 0 || (logits_a != NULL && logits_b != NULL), NAN);
  g_return_val_if_fail(k > 0, NAN);
  if (n == 0)
    return NAN;
  g_autofree double *p = g_new(double, k);
  g_autofree double *q = g_new(double, k);
  double sum = 0.0;
  for (gint64 i = 0; i < n; i++) {
    lethe_metrics_softmax(logits_a + i * k, k, p);
    lethe_metrics_softmax(logits_b + i * k, k, q);
    sum += lethe_metrics_js(p, q, k);
  }
  return sum / (double)n;
}

gint64
lethe_metrics_relearn_epochs(const double *curve, gsize n_points, double target)
{
  g_return_val_if_fail(n_points == 0 || curve != NULL, -1);
  for (gsize e = 0; e < n_points; e++)
    if (curve[e] >= target)
      return (gint64)e;
  return -1;
}

double
lethe_metrics_oracle_gap(double value, double oracle)
{
  return fabs(value - oracle);
}

double
lethe_metrics_tow(double forget_acc, double retain_acc, double test_acc, double oracle_forget_acc,
                  double oracle_retain_acc, double oracle_test_acc)
{
  return (1.0 - fabs(forget_acc - oracle_forget_acc)) *
         (1.0 - fabs(retain_acc - oracle_retain_acc)) * (1.0 - fabs(test_acc - oracle_test_acc));
}
