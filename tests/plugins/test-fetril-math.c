/* Lethe — FeTrIL's arithmetic: translation invariants, centroids, the
 * liblinear SVMs against scikit-learn's LinearSVC, nearest class mean.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib/gstdio.h>
#include <math.h>

#include <lethe/error.h>

#include "fetril-math.h"
#include "lethe-test.h"

/* Non-negative "post-ReLU" features: k overlapping Gaussian clusters. */
static void
make_clusters(gint64 n, gint64 d, guint k, guint32 seed, float *x, gint32 *y)
{
  GRand *r = g_rand_new_with_seed(seed);
  g_autofree double *centres = g_new(double, k *d);
  for (guint c = 0; c < k * d; c++)
    centres[c] = g_rand_double_range(r, 0, 3);
  for (gint64 i = 0; i < n; i++) {
    guint c = (guint)(i % k);
    y[i] = (gint32)(10 + 3 * c); /* labels need not be 0..k-1 */
    for (gint64 j = 0; j < d; j++) {
      /* Box–Muller */
      double u1 = g_rand_double_range(r, 1e-12, 1), u2 = g_rand_double(r);
      double g = sqrt(-2 * log(u1)) * cos(2 * G_PI * u2);
      double v = centres[c * d + j] + 1.2 * g;
      x[i * d + j] = (float)(v > 0 ? v : 0);
    }
  }
  g_rand_free(r);
}

static void
test_fetril_translation_keeps_mean_and_covariance(void)
{
  const gint64 n = 600, d = 16;
  g_autofree float *src = g_new(float, n *d);
  g_autofree gint32 *y = g_new(gint32, n);
  make_clusters(n, d, 1, 7, src, y);
  for (gint64 i = 0; i < n * d; i++)
    src[i] *= 4; /* magnitudes of real CNN features */
  double mu_src[16], mu_dst[16], mu_out[16];
  fetril_mean_rows(src, n, d, mu_src);
  for (gint64 j = 0; j < d; j++)
    mu_dst[j] = 2.5 + 0.75 * (double)j;
  g_autofree float *out = g_new(float, n *d);
  fetril_translate(src, n, d, mu_src, mu_dst, out);

  fetril_mean_rows(out, n, d, mu_out);
  double max_mean_err = 0, max_cov_err = 0;
  for (gint64 j = 0; j < d; j++)
    max_mean_err = MAX(max_mean_err, fabs(mu_out[j] - mu_dst[j]));
  for (gint64 a = 0; a < d; a++)
    for (gint64 b = 0; b < d; b++) {
      double cs = 0, co = 0;
      for (gint64 i = 0; i < n; i++) {
        cs += (src[i * d + a] - mu_src[a]) * (src[i * d + b] - mu_src[b]);
        co += (out[i * d + a] - mu_out[a]) * (out[i * d + b] - mu_out[b]);
      }
      max_cov_err = MAX(max_cov_err, fabs(cs - co) / (double)(n - 1));
    }
  CU_ASSERT(max_mean_err <= 1e-5);
  CU_ASSERT(max_cov_err <= 1e-5);
  /* Each pseudo-feature is its source row moved by μ_dst − μ_src. */
  CU_ASSERT_DOUBLE_EQUAL(out[5 * d + 3], src[5 * d + 3] - mu_src[3] + mu_dst[3], 1e-5);
}

static void
test_fetril_nearest_centroid_picks_closest_first_on_ties(void)
{
  const double mu[2] = {1, 1};
  const double cands[8] = {5, 5, 0, 1, 2, 1, 1, 0};
  /* (0,1), (2,1) and (1,0) are all at distance 1: the first wins. */
  CU_ASSERT_EQUAL(fetril_nearest_centroid(mu, cands, 4, 2), 1);
  const double cands2[4] = {0, 3, 1.5, 1.5};
  CU_ASSERT_EQUAL(fetril_nearest_centroid(mu, cands2, 2, 2), 1);
}

static void
test_fetril_normalize_rows_gives_unit_norm_and_keeps_zero_rows(void)
{
  float x[6] = {3, 4, 0, 0, 0, 0};
  fetril_l2_normalize_rows(x, 2, 3);
  CU_ASSERT_DOUBLE_EQUAL(x[0], 0.6, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL(x[1], 0.8, 1e-7);
  CU_ASSERT_EQUAL(x[3], 0.0f);
  CU_ASSERT_FALSE(isnan(x[4]));
}

/* The gradient of ½‖w‖² + C Σ max(0, 1 − y w·x̃)² at the returned w, for
 * class @c against the rest, relative to its value at w = 0. */
static double
svm_relative_gradient(const float *x, const gint32 *y, gint64 n, gint64 d, gint32 cls,
                      const float *w, float b)
{
  g_autofree double *g = g_new0(double, d + 1), *g0 = g_new0(double, d + 1);
  for (gint64 j = 0; j < d; j++)
    g[j] = w[j];
  g[d] = b; /* the bias weight, with bias feature 1 */
  for (gint64 i = 0; i < n; i++) {
    double yi = y[i] == cls ? 1 : -1, s = b;
    for (gint64 j = 0; j < d; j++)
      s += (double)w[j] * x[i * d + j];
    double m = 1 - yi * s;
    for (gint64 j = 0; j <= d; j++) {
      double xij = j < d ? x[i * d + j] : 1.0;
      if (m > 0)
        g[j] += -2 * m * yi * xij;
      g0[j] += -2 * yi * xij;
    }
  }
  double ng = 0, ng0 = 0;
  for (gint64 j = 0; j <= d; j++)
    ng += g[j] * g[j], ng0 += g0[j] * g0[j];
  return sqrt(ng / ng0);
}

static void
test_fetril_svm_reaches_the_primal_optimum(void)
{
  const gint64 n = 900, d = 12;
  const guint k = 3;
  g_autofree float *x = g_new(float, n *d);
  g_autofree gint32 *y = g_new(gint32, n);
  make_clusters(n, d, k, 3, x, y);
  fetril_l2_normalize_rows(x, n, d);
  const gint32 classes[3] = {16, 10, 13};
  FetrilSvmParams p;
  fetril_svm_params_init(&p);
  CU_ASSERT_EQUAL(p.C, 1.0);
  CU_ASSERT_EQUAL(p.bias, 1.0);
  float w[3 * 12], b[3];
  GError *err = NULL;
  CU_ASSERT_TRUE_FATAL(fetril_svm_train(x, y, n, d, classes, k, &p, w, b, &err));
  LETHE_ASSERT_NO_ERROR(err);
  for (guint c = 0; c < k; c++) {
    double rg = svm_relative_gradient(x, y, n, d, classes[c], w + c * d, b[c]);
    CU_ASSERT(rg < 1e-3);
  }
  /* Rows follow @classes: class 16's scorer is highest on class 16's rows. */
  g_autofree float *s = g_new(float, n *k);
  fetril_linear_scores(x, n, d, w, b, k, s);
  gint64 right = 0;
  for (gint64 i = 0; i < n; i++) {
    guint best = 0;
    for (guint c = 1; c < k; c++)
      if (s[i * k + c] > s[i * k + best])
        best = c;
    right += classes[best] == y[i];
  }
  CU_ASSERT(right > n * 0.8);
}

static void
test_fetril_svm_binary_gives_opposite_hyperplanes(void)
{
  const gint64 n = 200, d = 5;
  g_autofree float *x = g_new(float, n *d);
  g_autofree gint32 *y = g_new(gint32, n);
  make_clusters(n, d, 2, 11, x, y);
  const gint32 classes[2] = {13, 10};
  float w[10], b[2];
  FetrilSvmParams p;
  fetril_svm_params_init(&p);
  CU_ASSERT_TRUE_FATAL(fetril_svm_train(x, y, n, d, classes, 2, &p, w, b, NULL));
  for (gint64 j = 0; j < d; j++)
    CU_ASSERT_EQUAL(w[j], -w[d + j]);
  CU_ASSERT_EQUAL(b[0], -b[1]);
  CU_ASSERT(svm_relative_gradient(x, y, n, d, 13, w, b[0]) < 1e-3);
}

static void
test_fetril_svm_rejects_unknown_labels_and_empty_classes(void)
{
  float x[4] = {1, 0, 0, 1};
  gint32 y[2] = {0, 7};
  float w[4], b[2];
  FetrilSvmParams p;
  fetril_svm_params_init(&p);
  GError *err = NULL;
  const gint32 cl[2] = {0, 1};
  CU_ASSERT_FALSE(fetril_svm_train(x, y, 2, 2, cl, 2, &p, w, b, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "label 7");
  const gint32 cl3[3] = {0, 7, 2};
  float w3[6], b3[3];
  CU_ASSERT_FALSE(fetril_svm_train(x, y, 2, 2, cl3, 3, &p, w3, b3, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "no training row");
}

static gboolean
write_all(const char *path, const void *const *parts, const gsize *sizes, guint n)
{
  FILE *f = fopen(path, "wb");
  if (!f)
    return FALSE;
  for (guint i = 0; i < n; i++)
    fwrite(parts[i], 1, sizes[i], f);
  return fclose(f) == 0;
}

/* Runs linearsvc-check.py on (@x, @y) at tolerance @tol; fills @skw, @skb. */
static gboolean
run_linearsvc(const float *x, const gint32 *y, gint64 n, gint64 d, guint k, const gint32 *classes,
              const char *tol, double *skw, double *skb)
{
  g_autofree char *dir = g_dir_make_tmp("lethe-linearsvc-XXXXXX", NULL);
  if (dir == NULL)
    return FALSE;
  g_autofree char *in = g_build_filename(dir, "features.bin", NULL);
  g_autofree char *out = g_build_filename(dir, "sklearn.bin", NULL);
  gint64 hdr[2] = {n, d};
  const void *parts[3] = {hdr, x, y};
  gsize sizes[3] = {sizeof hdr, sizeof(float) * n * d, sizeof(gint32) * n};
  if (!write_all(in, parts, sizes, 3))
    return FALSE;
  g_autofree char *script = g_build_filename(g_getenv("LETHE_SOURCE_ROOT"), "tests", "plugins",
                                             "linearsvc-check.py", NULL);
  const char *python = g_getenv("LETHE_PYTHON_SKLEARN");
  if (python == NULL || *python == '\0') {
    fprintf(stderr, "\n  no python3 with scikit-learn found at configure time "
                    "(scripts/install-deps)\n");
    return FALSE;
  }
  const char *argv[] = {python, script, in, out, tol, NULL};
  g_autofree char *err_text = NULL;
  gint status = -1;
  gboolean ran = g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                              &err_text, &status, NULL);
  if (!ran || !g_spawn_check_wait_status(status, NULL)) {
    fprintf(stderr, "\n  linearsvc-check.py failed: %s\n", err_text ? err_text : "");
    return FALSE;
  }
  g_autofree char *buf = NULL;
  gsize len = 0;
  gboolean ok = g_file_get_contents(out, &buf, &len, NULL) &&
                len == (gsize)(16 + 4 * k + 8 * k * d + 8 * k) && ((const gint64 *)buf)[0] == k;
  for (guint c = 0; ok && c < k; c++)
    ok = ((const gint32 *)(buf + 16))[c] == classes[c];
  if (ok) {
    memcpy(skw, buf + 16 + 4 * k, sizeof(double) * k * d);
    memcpy(skb, buf + 16 + 4 * k + 8 * k * d, sizeof(double) * k);
  }
  g_unlink(in);
  g_unlink(out);
  g_rmdir(dir);
  return ok;
}

static double
relative_difference(const float *w, const float *b, const double *skw, const double *skb,
                    gint64 nw_, guint k)
{
  double dw = 0, nw = 0;
  for (gint64 i = 0; i < nw_; i++) {
    dw += (w[i] - skw[i]) * (w[i] - skw[i]);
    nw += skw[i] * skw[i];
  }
  for (guint c = 0; c < k; c++) {
    dw += (b[c] - skb[c]) * (b[c] - skb[c]);
    nw += skb[c] * skb[c];
  }
  return sqrt(dw / nw);
}

/* At FeTrIL's tolerance (1e-4) both solvers stop early by slightly
 * different rules, so their argmax decisions are compared there; the
 * weights are compared at 1e-7, where both are at the optimum of the same
 * problem. */
static void
test_fetril_svm_agrees_with_sklearn_linearsvc(void)
{
  const gint64 n = 3000, d = 32;
  const guint k = 6;
  g_autofree float *x = g_new(float, n *d);
  g_autofree gint32 *y = g_new(gint32, n);
  make_clusters(n, d, k, 5, x, y);
  fetril_l2_normalize_rows(x, n, d);
  gint32 classes[6];
  for (guint c = 0; c < k; c++)
    classes[c] = (gint32)(10 + 3 * c); /* sklearn sorts its classes_ */
  FetrilSvmParams p;
  fetril_svm_params_init(&p);
  g_autofree float *w = g_new(float, k *d);
  float b[6];
  CU_ASSERT_TRUE_FATAL(fetril_svm_train(x, y, n, d, classes, k, &p, w, b, NULL));

  g_autofree double *skw = g_new(double, k *d);
  double skb[6];
  CU_ASSERT_TRUE_FATAL(run_linearsvc(x, y, n, d, k, classes, "1e-4", skw, skb));
  gint64 agree = 0;
  for (gint64 i = 0; i < n; i++) {
    guint a = 0, s = 0;
    double best_a = -INFINITY, best_s = -INFINITY;
    for (guint c = 0; c < k; c++) {
      double va = b[c], vs = skb[c];
      for (gint64 j = 0; j < d; j++) {
        va += (double)w[c * d + j] * x[i * d + j];
        vs += skw[c * d + j] * x[i * d + j];
      }
      if (va > best_a)
        best_a = va, a = c;
      if (vs > best_s)
        best_s = vs, s = c;
    }
    agree += a == s;
  }
  double rel_loose = relative_difference(w, b, skw, skb, k * d, k);
  CU_ASSERT((double)agree / n >= 0.995);

  p.eps = 1e-7;
  CU_ASSERT_TRUE_FATAL(fetril_svm_train(x, y, n, d, classes, k, &p, w, b, NULL));
  CU_ASSERT_TRUE_FATAL(run_linearsvc(x, y, n, d, k, classes, "1e-7", skw, skb));
  double rel_tight = relative_difference(w, b, skw, skb, k * d, k);
  fprintf(stderr,
          "\n  liblinear vs LinearSVC: argmax agreement %.4f; |dw|/|w| %.2e at tol 1e-4, "
          "%.2e at tol 1e-7\n",
          (double)agree / n, rel_loose, rel_tight);
  CU_ASSERT(rel_tight <= 1e-3);
}

static void
test_fetril_ncm_scores_pick_the_nearest_mean(void)
{
  const float x[4] = {1, 0, 0.6f, 0.8f};
  const float means[4] = {0.9f, 0.1f, 0, 1};
  float s[4];
  fetril_ncm_scores(x, 2, 2, means, 2, s);
  CU_ASSERT_DOUBLE_EQUAL(s[0], -(0.01 + 0.01), 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(s[1], -(1.0 + 1.0), 1e-6);
  CU_ASSERT(s[3] > s[2]); /* (0.6, 0.8) is nearer (0, 1) than (0.9, 0.1) */
}

LETHE_TEST_MAIN("fetril-math", LETHE_TEST(test_fetril_translation_keeps_mean_and_covariance),
                LETHE_TEST(test_fetril_nearest_centroid_picks_closest_first_on_ties),
                LETHE_TEST(test_fetril_normalize_rows_gives_unit_norm_and_keeps_zero_rows),
                LETHE_TEST(test_fetril_svm_reaches_the_primal_optimum),
                LETHE_TEST(test_fetril_svm_binary_gives_opposite_hyperplanes),
                LETHE_TEST(test_fetril_svm_rejects_unknown_labels_and_empty_classes),
                LETHE_TEST(test_fetril_svm_agrees_with_sklearn_linearsvc),
                LETHE_TEST(test_fetril_ncm_scores_pick_the_nearest_mean))
