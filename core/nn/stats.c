/* Lethe — histograms, percentiles, ROC-AUC, classification scores, running
 * moments and logistic regression.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/error.h>
#include <lethe/nn-linalg.h>
#include <lethe/nn-stats.h>

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- histograms and percentiles ---------------------------------------- */

static inline gboolean
histogram_add(double v, double lo, double hi, gsize bins, gint64 *counts)
{
  if (!(v >= lo && v <= hi)) /* also drops NaN */
    return FALSE;
  gsize b = hi > lo ? (gsize)((v - lo) / (hi - lo) * (double)bins) : 0;
  counts[MIN(b, bins - 1)]++;
  return TRUE;
}

gsize
lethe_histogram_f64(const double *v, gsize n, double lo, double hi, gsize bins, gint64 *counts)
{
  g_return_val_if_fail(bins >= 1 && counts != NULL && lo <= hi && (v != NULL || n == 0), 0);
  memset(counts, 0, bins * sizeof *counts);
  gsize counted = 0;
  for (gsize i = 0; i < n; i++)
    counted += histogram_add(v[i], lo, hi, bins, counts);
  return counted;
}

gsize
lethe_histogram_f32(const float *v, gsize n, double lo, double hi, gsize bins, gint64 *counts)
{
  g_return_val_if_fail(bins >= 1 && counts != NULL && lo <= hi && (v != NULL || n == 0), 0);
  memset(counts, 0, bins * sizeof *counts);
  gsize counted = 0;
  for (gsize i = 0; i < n; i++)
    counted += histogram_add(v[i], lo, hi, bins, counts);
  return counted;
}

static int
cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double
percentile_sorted(const double *s, gsize n, double q)
{
  double pos = q / 100.0 * (double)(n - 1);
  gsize i = (gsize)floor(pos);
  if (i + 1 >= n)
    return s[n - 1];
  double frac = pos - (double)i;
  return s[i] + (s[i + 1] - s[i]) * frac;
}

double
lethe_percentile_f64(const double *v, gsize n, double q)
{
  g_return_val_if_fail(q >= 0 && q <= 100 && (v != NULL || n == 0), NAN);
  if (n == 0)
    return NAN;
  g_autofree double *s = g_memdup2(v, n * sizeof *s);
  qsort(s, n, sizeof *s, cmp_double);
  return percentile_sorted(s, n, q);
}

double
lethe_percentile_f32(const float *v, gsize n, double q)
{
  g_return_val_if_fail(q >= 0 && q <= 100 && (v != NULL || n == 0), NAN);
  if (n == 0)
    return NAN;
  g_autofree double *s = g_new(double, n);
  for (gsize i = 0; i < n; i++)
    s[i] = v[i];
  qsort(s, n, sizeof *s, cmp_double);
  return percentile_sorted(s, n, q);
}

/* ---- ROC-AUC ------------------------------------------------------------ */

typedef struct {
  double score;
  gboolean positive;
} Scored;

static int
cmp_scored(const void *a, const void *b)
{
  return cmp_double(&((const Scored *)a)->score, &((const Scored *)b)->score);
}

static double
roc_auc(Scored *s, gsize n, GError **error)
{
  gsize n_pos = 0;
  for (gsize i = 0; i < n; i++) {
    if (isnan(s[i].score)) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "ROC-AUC: score %zu is NaN", i);
      return NAN;
    }
    n_pos += s[i].positive;
  }
  gsize n_neg = n - n_pos;
  if (n_pos == 0 || n_neg == 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "ROC-AUC needs both classes; got %zu positive and %zu negative samples", n_pos,
                n_neg);
    return NAN;
  }
  qsort(s, n, sizeof *s, cmp_scored);
  /* Mann–Whitney U from the rank sum of the positives; tied scores share
   * their average rank, which counts each positive–negative tie as 1/2 */
  double rank_sum = 0;
  for (gsize i = 0; i < n;) {
    gsize j = i;
    gsize pos_in_group = 0;
    while (j < n && s[j].score == s[i].score)
      pos_in_group += s[j++].positive;
    double avg_rank = ((double)(i + 1) + (double)j) / 2.0;
    rank_sum += avg_rank * (double)pos_in_group;
    i = j;
  }
  double u = rank_sum - (double)n_pos * ((double)n_pos + 1) / 2.0;
  return u / ((double)n_pos * (double)n_neg);
}

double
lethe_roc_auc_f64(const double *scores, const gint32 *labels, gsize n, GError **error)
{
  g_return_val_if_fail((scores != NULL && labels != NULL) || n == 0, NAN);
  g_autofree Scored *s = g_new(Scored, MAX(n, 1));
  for (gsize i = 0; i < n; i++)
    s[i] = (Scored){scores[i], labels[i] != 0};
  return roc_auc(s, n, error);
}

double
lethe_roc_auc_f32(const float *scores, const gint32 *labels, gsize n, GError **error)
{
  g_return_val_if_fail((scores != NULL && labels != NULL) || n == 0, NAN);
  g_autofree Scored *s = g_new(Scored, MAX(n, 1));
  for (gsize i = 0; i < n; i++)
    s[i] = (Scored){scores[i], labels[i] != 0};
  return roc_auc(s, n, error);
}

/* ---- classification scores ---------------------------------------------- */

double
lethe_accuracy(const gint32 *pred, const gint32 *truth, gsize n)
{
  g_return_val_if_fail((pred != NULL && truth != NULL) || n == 0, NAN);
  if (n == 0)
    return NAN;
  gsize hit = 0;
  for (gsize i = 0; i < n; i++)
    hit += pred[i] == truth[i];
  return (double)hit / (double)n;
}

void
lethe_confusion_matrix(const gint32 *pred, const gint32 *truth, gsize n, gsize n_classes,
                       gint64 *counts)
{
  g_return_if_fail(counts != NULL && ((pred != NULL && truth != NULL) || n == 0));
  memset(counts, 0, n_classes * n_classes * sizeof *counts);
  for (gsize i = 0; i < n; i++)
    if (truth[i] >= 0 && (gsize)truth[i] < n_classes && pred[i] >= 0 && (gsize)pred[i] < n_classes)
      counts[(gsize)truth[i] * n_classes + (gsize)pred[i]]++;
}

double
lethe_macro_f1(const gint32 *pred, const gint32 *truth, gsize n, gsize n_classes)
{
  g_return_val_if_fail((pred != NULL && truth != NULL) || n == 0, NAN);
  g_autofree gint64 *tp = g_new0(gint64, MAX(n_classes, 1));
  g_autofree gint64 *n_pred = g_new0(gint64, MAX(n_classes, 1));
  g_autofree gint64 *n_true = g_new0(gint64, MAX(n_classes, 1));
  for (gsize i = 0; i < n; i++) {
    gboolean t_ok = truth[i] >= 0 && (gsize)truth[i] < n_classes;
    gboolean p_ok = pred[i] >= 0 && (gsize)pred[i] < n_classes;
    if (t_ok)
      n_true[truth[i]]++;
    if (p_ok)
      n_pred[pred[i]]++;
    if (t_ok && p_ok && pred[i] == truth[i])
      tp[truth[i]]++;
  }
  double sum = 0;
  gsize present = 0;
  for (gsize c = 0; c < n_classes; c++) {
    if (n_true[c] == 0 && n_pred[c] == 0)
      continue;
    present++;
    /* F1 = 2 TP / (2 TP + FP + FN) = 2 TP / (#pred + #true) */
    sum += 2.0 * (double)tp[c] / (double)(n_pred[c] + n_true[c]);
  }
  return present ? sum / (double)present : NAN;
}

/* ---- running moments ---------------------------------------------------- */

void
lethe_running_stats_push(LetheRunningStats *stats, double value)
{
  g_return_if_fail(stats != NULL);
  stats->count++;
  double delta = value - stats->mean;
  stats->mean += delta / (double)stats->count;
  stats->m2 += delta * (value - stats->mean);
}

double
lethe_running_stats_variance(const LetheRunningStats *stats, guint ddof)
{
  g_return_val_if_fail(stats != NULL, NAN);
  if (stats->count <= ddof)
    return NAN;
  return stats->m2 / (double)(stats->count - ddof);
}

/* ---- logistic regression ------------------------------------------------ */

/* log(1 + e^t) without overflow */
static inline double
softplus(double t)
{
  return t > 0 ? t + log1p(exp(-t)) : log1p(exp(t));
}

static inline double
sigmoid(double t)
{
  if (t >= 0)
    return 1.0 / (1.0 + exp(-t));
  double e = exp(t);
  return e / (1.0 + e);
}

/* θ = [w; b].  Objective Σ softplus(−s_i z_i) + λ/2 ‖w‖², z = Xw + b */
static double
logistic_objective(const double *x, gsize n, gsize d, const gint32 *y, double l2,
                   const double *theta, gboolean with_b, double *z)
{
  double b = with_b ? theta[d] : 0;
  double f = 0;
  if (d > 0)
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)d, 1.0, x, (int)d, theta, 1, 0.0, z, 1);
  else
    memset(z, 0, n * sizeof *z);
  for (gsize i = 0; i < n; i++) {
    z[i] += b;
    f += softplus(y[i] ? -z[i] : z[i]);
  }
  return f + 0.5 * l2 * cblas_ddot((int)d, theta, 1, theta, 1);
}

gboolean
lethe_logistic_fit_f64(const double *x, gsize n, gsize d, const gint32 *y, double l2,
                       gboolean fit_intercept, guint max_iter, double *w, double *b, GError **error)
{
  g_return_val_if_fail((x != NULL && w != NULL) || d == 0, FALSE);
  g_return_val_if_fail(y != NULL && n >= 1 && l2 >= 0 && (d > 0 || fit_intercept), FALSE);
  gsize n_pos = 0;
  for (gsize i = 0; i < n; i++)
    n_pos += y[i] != 0;
  if ((n_pos == 0 || n_pos == n) && (fit_intercept || l2 == 0)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "logistic regression on %zu samples that are all %s: the fit has no finite "
                "solution; give it samples of both classes",
                n, n_pos ? "positive" : "negative");
    return FALSE;
  }
  for (gsize i = 0; i < n * d; i++)
    if (!isfinite(x[i])) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                  "logistic regression input holds NaN or Inf at sample %zu, feature %zu", i / d,
                  i % d);
      return FALSE;
    }

  gsize p = d + (fit_intercept ? 1 : 0);
  g_autofree double *theta = g_new0(double, p);
  g_autofree double *trial = g_new(double, p);
  g_autofree double *grad = g_new(double, p);
  g_autofree double *step = g_new(double, p);
  g_autofree double *hess = g_new(double, p *p);
  g_autofree double *xs = g_new(double, n *p); /* √(p(1−p)) x̃, rows */
  g_autofree double *z = g_new(double, n);
  g_autofree double *r = g_new(double, n);
  double f = logistic_objective(x, n, d, y, l2, theta, fit_intercept, z);
  double gtol = 1e-8 * (double)(n + 1);
  double gmax = INFINITY;

  for (guint it = 0; it < max_iter; it++) {
    /* gradient X̃ᵀ(σ(z) − y) + λw and Hessian X̃ᵀ diag(σ(1−σ)) X̃ + λI_w */
    for (gsize i = 0; i < n; i++) {
      double s = sigmoid(z[i]);
      r[i] = s - (y[i] ? 1.0 : 0.0);
      double sw = sqrt(s * (1 - s));
      for (gsize j = 0; j < d; j++)
        xs[i * p + j] = sw * x[i * d + j];
      if (fit_intercept)
        xs[i * p + d] = sw;
    }
    if (d > 0)
      cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)d, 1.0, x, (int)d, r, 1, 0.0, grad, 1);
    if (fit_intercept) {
      double sr = 0;
      for (gsize i = 0; i < n; i++)
        sr += r[i];
      grad[d] = sr;
    }
    gmax = 0;
    for (gsize j = 0; j < p; j++) {
      if (j < d)
        grad[j] += l2 * theta[j];
      gmax = MAX(gmax, fabs(grad[j]));
    }
    if (gmax <= gtol)
      goto converged;

    lethe_linalg_syrk_f64(hess, p, p, xs, n, p, 1.0, 0.0);
    double diag_max = 0;
    for (gsize j = 0; j < p; j++) {
      if (j < d)
        hess[j * p + j] += l2;
      diag_max = MAX(diag_max, hess[j * p + j]);
    }
    memcpy(step, grad, p * sizeof *step);
    if (!lethe_linalg_solve_spd_f64(hess, p, p, step, 1, 1, NULL)) {
      /* singular Hessian (constant or duplicated features, λ = 0): a tiny
       * ridge picks the minimum-norm direction */
      lethe_linalg_syrk_f64(hess, p, p, xs, n, p, 1.0, 0.0);
      for (gsize j = 0; j < p; j++)
        hess[j * p + j] += (j < d ? l2 : 0) + 1e-10 * (1 + diag_max);
      memcpy(step, grad, p * sizeof *step);
      if (!lethe_linalg_solve_spd_f64(hess, p, p, step, 1, 1, error))
        return FALSE;
    }

    /* backtracking (Armijo) along the Newton direction */
    double slope = cblas_ddot((int)p, grad, 1, step, 1);
    double t = 1.0, f_new = f;
    int halvings = 0;
    for (; halvings < 40; halvings++, t *= 0.5) {
      for (gsize j = 0; j < p; j++)
        trial[j] = theta[j] - t * step[j];
      f_new = logistic_objective(x, n, d, y, l2, trial, fit_intercept, z);
      if (f_new <= f - 1e-4 * t * slope)
        break;
    }
    if (halvings == 40) {
      /* no decrease at all: we are at the optimum to rounding */
      f = logistic_objective(x, n, d, y, l2, theta, fit_intercept, z);
      if (gmax <= 1e3 * gtol)
        goto converged;
      break;
    }
    memcpy(theta, trial, p * sizeof *theta);
    f = f_new;
  }
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
              "logistic regression did not converge in %u Newton steps (largest gradient entry "
              "%g); the classes may be separable: use an L2 penalty > 0",
              max_iter, gmax);
  return FALSE;

converged:
  if (l2 == 0) {
    /* a fit that separates every sample can always be improved by scaling
     * it up: the minimiser is at infinity and the small gradient only says
     * how far along we stopped */
    gsize correct = 0;
    for (gsize i = 0; i < n; i++)
      correct += y[i] ? z[i] > 0 : z[i] < 0;
    if (correct == n) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                  "logistic regression: the %zu samples are linearly separable, so the fit has "
                  "no finite solution; use an L2 penalty > 0",
                  n);
      return FALSE;
    }
  }
  if (d > 0)
    memcpy(w, theta, d * sizeof *w);
  if (b)
    *b = fit_intercept ? theta[d] : 0.0;
  return TRUE;
}

void
lethe_logistic_predict_f64(const double *x, gsize n, gsize d, const double *w, double b,
                           double *prob)
{
  g_return_if_fail((x != NULL && prob != NULL) || n == 0);
  g_return_if_fail(w != NULL || d == 0);
  for (gsize i = 0; i < n; i++)
    prob[i] = sigmoid(cblas_ddot((int)d, x + i * d, 1, w, 1) + b);
}
