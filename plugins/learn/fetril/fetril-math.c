/* Lethe — FeTrIL's arithmetic (see fetril-math.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <cblas.h>
#include <linear.h>
#include <math.h>
#include <string.h>

#include <lethe/error.h>

#include "fetril-math.h"

void
fetril_mean_rows(const float *x, gint64 n, gint64 d, double *mean)
{
  memset(mean, 0, sizeof(double) * d);
  for (gint64 i = 0; i < n; i++)
    for (gint64 j = 0; j < d; j++)
      mean[j] += x[i * d + j];
  for (gint64 j = 0; j < d && n > 0; j++)
    mean[j] /= (double)n;
}

void
fetril_l2_normalize_rows(float *x, gint64 n, gint64 d)
{
  for (gint64 i = 0; i < n; i++) {
    float *r = x + i * d;
    double s = 0;
    for (gint64 j = 0; j < d; j++)
      s += (double)r[j] * r[j];
    if (s == 0)
      continue;
    double inv = 1.0 / sqrt(s);
    for (gint64 j = 0; j < d; j++)
      r[j] = (float)(r[j] * inv);
  }
}

guint
fetril_nearest_centroid(const double *mu, const double *candidates, guint n_candidates, gint64 d)
{
  guint best = 0;
  double best_d = INFINITY;
  for (guint c = 0; c < n_candidates; c++) {
    double s = 0;
    for (gint64 j = 0; j < d; j++) {
      double t = mu[j] - candidates[c * d + j];
      s += t * t;
    }
    if (s < best_d) {
      best_d = s;
      best = c;
    }
  }
  return best;
}

void
fetril_translate(const float *src, gint64 n, gint64 d, const double *mu_src, const double *mu_dst,
                 float *out)
{
  for (gint64 i = 0; i < n; i++)
    for (gint64 j = 0; j < d; j++)
      out[i * d + j] = (float)((double)src[i * d + j] - mu_src[j] + mu_dst[j]);
}

void
fetril_svm_params_init(FetrilSvmParams *params)
{
  params->C = 1.0;
  params->eps = 1e-4;
  params->bias = 1.0;
}

static void
liblinear_quiet(const char *msg)
{
}

gboolean
fetril_svm_train(const float *x, const gint32 *y, gint64 n, gint64 d, const gint32 *classes,
                 guint n_classes, const FetrilSvmParams *params, float *w, float *b, GError **error)
{
  g_return_val_if_fail(n_classes > 0 && n > 0 && d > 0, FALSE);
  g_autofree gint64 *count = NULL;
  g_autofree double *labels = NULL;
  g_autofree struct feature_node *nodes = NULL;
  g_autofree struct feature_node **rows = NULL;
  const char *bad = NULL;
  gint32 bad_label = 0;
  if (n > G_MAXINT || d >= G_MAXINT - 2)
    goto too_big;

  /* Each class's rows as liblinear's label, and a count per class. */
  count = g_new0(gint64, n_classes);
  labels = g_new(double, n);
  for (gint64 i = 0; i < n; i++) {
    guint c = 0;
    while (c < n_classes && classes[c] != y[i])
      c++;
    if (c == n_classes) {
      bad_label = y[i];
      goto unknown_label;
    }
    count[c]++;
    labels[i] = (double)c;
  }
  for (guint c = 0; c < n_classes; c++)
    if (count[c] == 0)
      goto empty_class;

  /* Dense rows as liblinear's sparse nodes: d features, the bias, the end. */
  const gint64 stride = d + 2;
  nodes = g_try_new(struct feature_node, n * stride);
  rows = g_try_new(struct feature_node *, n);
  if (nodes == NULL || rows == NULL)
    goto too_big;
  for (gint64 i = 0; i < n; i++) {
    struct feature_node *r = nodes + i * stride;
    for (gint64 j = 0; j < d; j++)
      r[j] = (struct feature_node){(int)j + 1, x[i * d + j]};
    r[d] = (struct feature_node){(int)d + 1, params->bias};
    r[d + 1] = (struct feature_node){-1, 0};
    rows[i] = r;
  }
  struct problem prob = {
      .l = (int)n, .n = (int)d + 1, .y = labels, .x = rows, .bias = params->bias};
  struct parameter param = {.solver_type = L2R_L2LOSS_SVC, .eps = params->eps, .C = params->C};
  bad = check_parameter(&prob, &param);
  if (bad)
    goto bad_param;
  set_print_string_function(liblinear_quiet);
  struct model *m = train(&prob, &param);

  /* liblinear numbers its classes in order of first appearance; with two
   * classes its one hyperplane is the first's, and the second's is its
   * negation (get_decfun_coef() applies the sign). */
  memset(w, 0, sizeof(float) * n_classes * d);
  memset(b, 0, sizeof(float) * n_classes);
  for (int k = 0; k < m->nr_class; k++) {
    guint c = (guint)m->label[k];
    for (gint64 j = 0; j < d; j++)
      w[c * d + j] = (float)get_decfun_coef(m, (int)j + 1, k);
    b[c] = (float)get_decfun_bias(m, k);
  }
  free_and_destroy_model(&m);
  return TRUE;

  /* ERRORS */
too_big:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_LIMIT,
              "linear SVM: %" G_GINT64_FORMAT " rows of %" G_GINT64_FORMAT
              " features do not fit liblinear's int indices or memory",
              n, d);
  return FALSE;
unknown_label:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "linear SVM: a row has label %d, which is not among the %u classes to fit", bad_label,
              n_classes);
  return FALSE;
empty_class:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "linear SVM: a class to fit has no training row; every class needs real or "
              "pseudo-features");
  return FALSE;
bad_param:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "linear SVM: liblinear refused: %s", bad);
  return FALSE;
}

void
fetril_linear_scores(const float *x, gint64 n, gint64 d, const float *w, const float *b, gint64 k,
                     float *out)
{
  for (gint64 i = 0; i < n; i++)
    memcpy(out + i * k, b, sizeof(float) * k);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)k, (int)d, 1.0f, x, (int)d, w,
              (int)d, 1.0f, out, (int)k);
}

void
fetril_ncm_scores(const float *x, gint64 n, gint64 d, const float *means, gint64 k, float *out)
{
  for (gint64 i = 0; i < n; i++)
    for (gint64 c = 0; c < k; c++) {
      double s = 0;
      for (gint64 j = 0; j < d; j++) {
        double t = (double)x[i * d + j] - means[c * d + j];
        s += t * t;
      }
      out[i * k + c] = (float)-s;
    }
}
