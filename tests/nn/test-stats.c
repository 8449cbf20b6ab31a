/* Lethe — tests of distances, top-k, k-means and the statistics helpers.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <lethe/error.h>
#include <lethe/nn-rng.h>
#include <lethe/nn-stats.h>
#include <math.h>

static void
test_pairwise_distances_known_values(void)
{
  const float x[4] = {0, 0, 1, 1}, y[4] = {1, 0, 3, 4};
  float d[4];
  lethe_pairwise_sqeuclidean_f32(x, 2, y, 2, 2, d);
  CU_ASSERT_DOUBLE_EQUAL(d[0], 1, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(d[1], 25, 1e-5);
  CU_ASSERT_DOUBLE_EQUAL(d[2], 1, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(d[3], 13, 1e-5);
  /* a point with itself: exactly 0, never negative */
  const float p[3] = {0.1f, 0.2f, 0.3f};
  float self;
  lethe_pairwise_sqeuclidean_f32(p, 1, p, 1, 3, &self);
  CU_ASSERT(self >= 0 && self < 1e-7);

  const float a[4] = {1, 0, 0, 0}, b[4] = {1, 1, -2, 0};
  lethe_pairwise_cosine_distance_f32(a, 2, b, 2, 2, d);
  CU_ASSERT_DOUBLE_EQUAL(d[0], 1 - M_SQRT1_2, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(d[1], 2, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(d[2], 1, 1e-6); /* zero row */
  CU_ASSERT_DOUBLE_EQUAL(d[3], 1, 1e-6);
}

static void
test_topk_orders_and_breaks_ties_by_index(void)
{
  const float v[8] = {3, 1, 4, 1, 5, 9, 2, 6};
  gint64 idx[3];
  float val[3];
  lethe_topk_f32(v, 8, 3, TRUE, idx, val);
  CU_ASSERT(idx[0] == 5 && idx[1] == 7 && idx[2] == 4);
  CU_ASSERT(val[0] == 9 && val[1] == 6 && val[2] == 5);
  lethe_topk_f32(v, 8, 3, FALSE, idx, val);
  CU_ASSERT(idx[0] == 1 && idx[1] == 3 && idx[2] == 6);
  CU_ASSERT(val[0] == 1 && val[1] == 1 && val[2] == 2);
  const float w[3] = {NAN, 2, 1};
  lethe_topk_f32(w, 3, 2, TRUE, idx, NULL);
  CU_ASSERT(idx[0] == 1 && idx[1] == 2);
  lethe_topk_f32(w, 3, 3, FALSE, idx, NULL);
  CU_ASSERT(idx[0] == 2 && idx[1] == 1 && idx[2] == 0); /* NaN last */
  /* row-wise: nearest neighbours */
  const float m[6] = {5, 0, 3, 1, 7, 2};
  gint64 nn[4];
  lethe_topk_rows_f32(m, 2, 3, 2, FALSE, nn, NULL);
  CU_ASSERT(nn[0] == 1 && nn[1] == 2 && nn[2] == 0 && nn[3] == 2);
}

static void
test_kmeans_separates_blobs(void)
{
  const gsize per = 100, n = 3 * per, d = 2, k = 3;
  const float centre[3][2] = {{0, 0}, {10, 0}, {0, 10}};
  float x[600];
  LetheRng rng;
  lethe_rng_init(&rng, 17);
  for (gsize i = 0; i < n; i++) {
    lethe_rng_fill_normal_f32(&rng, x + i * d, d, 0.0f, 0.5f);
    x[i * d] += centre[i / per][0];
    x[i * d + 1] += centre[i / per][1];
  }
  float c[6];
  gint32 assign[300];
  double inertia = 0;
  GError *error = NULL;
  LetheRng seed;
  lethe_rng_init_stream(&seed, 17, 1);
  CU_ASSERT_TRUE_FATAL(lethe_kmeans_f32(x, n, d, k, 300, 1e-4, &seed, c, assign, &inertia, &error));
  /* each true blob maps to one cluster, whose centre is near the blob's */
  for (gsize b = 0; b < 3; b++) {
    gint32 label = assign[b * per];
    for (gsize i = b * per; i < (b + 1) * per; i++)
      CU_ASSERT_EQUAL_FATAL(assign[i], label);
    CU_ASSERT(hypot(c[label * 2] - centre[b][0], c[label * 2 + 1] - centre[b][1]) < 0.2);
  }
  CU_ASSERT(assign[0] != assign[per] && assign[0] != assign[2 * per] &&
            assign[per] != assign[2 * per]);
  /* inertia ≈ n · d · σ² = 150 */
  CU_ASSERT(inertia > 110 && inertia < 190);

  /* same stream, same answer, bit for bit */
  float c2[6];
  lethe_rng_init_stream(&seed, 17, 1);
  CU_ASSERT_TRUE(lethe_kmeans_f32(x, n, d, k, 300, 1e-4, &seed, c2, NULL, NULL, &error));
  CU_ASSERT_EQUAL(memcmp(c, c2, sizeof c), 0);
}

static void
test_kmeans_k_equals_n_and_bad_k(void)
{
  const float x[8] = {0, 0, 1, 0, 0, 1, 5, 5};
  float c[8];
  gint32 a[4];
  double inertia = -1;
  GError *error = NULL;
  LetheRng rng;
  lethe_rng_init(&rng, 1);
  CU_ASSERT_TRUE(lethe_kmeans_f32(x, 4, 2, 4, 10, 0, &rng, c, a, &inertia, &error));
  CU_ASSERT_DOUBLE_EQUAL(inertia, 0, 1e-12);
  CU_ASSERT(a[0] != a[1] && a[0] != a[2] && a[0] != a[3] && a[1] != a[2] && a[1] != a[3] &&
            a[2] != a[3]);
  CU_ASSERT_FALSE(lethe_kmeans_f32(x, 4, 2, 5, 10, 0, &rng, c, a, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "choose 1 <= k <= 4");
  const float bad[2] = {0, NAN};
  CU_ASSERT_FALSE(lethe_kmeans_f32(bad, 1, 2, 1, 10, 0, &rng, c, a, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC, "point 0, feature 1");
}

static void
test_histogram_and_percentile(void)
{
  const double v[8] = {0, 0.5, 1, 1.5, 2, 2, -1, NAN};
  gint64 counts[4];
  CU_ASSERT_EQUAL(lethe_histogram_f64(v, 8, 0, 2, 4, counts), 6);
  CU_ASSERT(counts[0] == 1 && counts[1] == 1 && counts[2] == 1 && counts[3] == 3);
  const float vf[3] = {0.1f, 0.9f, 0.95f};
  CU_ASSERT_EQUAL(lethe_histogram_f32(vf, 3, 0, 1, 2, counts), 3);
  CU_ASSERT(counts[0] == 1 && counts[1] == 2);

  const double p[4] = {4, 1, 3, 2};
  CU_ASSERT_DOUBLE_EQUAL(lethe_percentile_f64(p, 4, 50), 2.5, 1e-15);
  CU_ASSERT_DOUBLE_EQUAL(lethe_percentile_f64(p, 4, 25), 1.75, 1e-15);
  CU_ASSERT_DOUBLE_EQUAL(lethe_percentile_f64(p, 4, 0), 1, 1e-15);
  CU_ASSERT_DOUBLE_EQUAL(lethe_percentile_f64(p, 4, 100), 4, 1e-15);
  CU_ASSERT_EQUAL(p[0], 4); /* input untouched */
  const float pf[5] = {10, 20, 30, 40, 50};
  CU_ASSERT_DOUBLE_EQUAL(lethe_percentile_f32(pf, 5, 90), 46, 1e-12);
  CU_ASSERT(isnan(lethe_percentile_f64(p, 0, 50)));
}

static void
test_roc_auc_with_and_without_ties(void)
{
  GError *error = NULL;
  const double s1[4] = {0.1, 0.4, 0.35, 0.8};
  const gint32 l1[4] = {0, 0, 1, 1};
  CU_ASSERT_DOUBLE_EQUAL(lethe_roc_auc_f64(s1, l1, 4, &error), 0.75, 1e-15);
  /* positives {0.8, 0.5}, negatives {0.5, 0.2}: 1 + 1 + ½ + 1 of 4 pairs */
  const double s2[4] = {0.5, 0.8, 0.2, 0.5};
  const gint32 l2[4] = {0, 1, 0, 1};
  CU_ASSERT_DOUBLE_EQUAL(lethe_roc_auc_f64(s2, l2, 4, &error), 0.875, 1e-15);
  /* all tied: chance */
  const float s3[4] = {1, 1, 1, 1};
  CU_ASSERT_DOUBLE_EQUAL(lethe_roc_auc_f32(s3, l1, 4, &error), 0.5, 1e-15);
  /* perfectly reversed, labels other than 0/1 */
  const float s4[4] = {4, 3, 2, 1};
  const gint32 l4[4] = {0, 0, 7, 7};
  CU_ASSERT_DOUBLE_EQUAL(lethe_roc_auc_f32(s4, l4, 4, &error), 0.0, 1e-15);
  LETHE_ASSERT_NO_ERROR(error);
  const gint32 one[4] = {1, 1, 1, 1};
  CU_ASSERT(isnan(lethe_roc_auc_f64(s1, one, 4, &error)));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "4 positive and 0 negative");
}

static void
test_accuracy_confusion_and_macro_f1(void)
{
  const gint32 truth[6] = {0, 0, 1, 1, 2, 2}, pred[6] = {0, 1, 1, 1, 2, 0};
  CU_ASSERT_DOUBLE_EQUAL(lethe_accuracy(pred, truth, 6), 4.0 / 6, 1e-15);
  /* F1: class 0 = 2·1/(2+2), class 1 = 2·2/(3+2), class 2 = 2·1/(1+2) */
  double expect = (0.5 + 0.8 + 2.0 / 3) / 3;
  CU_ASSERT_DOUBLE_EQUAL(lethe_macro_f1(pred, truth, 6, 3), expect, 1e-15);
  CU_ASSERT_DOUBLE_EQUAL(lethe_macro_f1(pred, truth, 6, 10), expect, 1e-15); /* absent classes */
  gint64 cm[9];
  lethe_confusion_matrix(pred, truth, 6, 3, cm);
  const gint64 cm_expect[9] = {1, 1, 0, 0, 2, 0, 1, 0, 1};
  CU_ASSERT_EQUAL(memcmp(cm, cm_expect, sizeof cm), 0);
}

static void
test_running_stats_welford(void)
{
  LetheRunningStats s = {0};
  const double v[4] = {4, 7, 13, 16};
  for (int i = 0; i < 4; i++)
    lethe_running_stats_push(&s, 1e9 + v[i]);
  CU_ASSERT_DOUBLE_EQUAL(s.mean, 1e9 + 10, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(lethe_running_stats_variance(&s, 0), 22.5, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(lethe_running_stats_variance(&s, 1), 30.0, 1e-6);
}

static void
test_logistic_binary_feature_has_closed_form(void)
{
  /* x = 0: one positive of four; x = 1: three of four.  The MLE is
   * b = logit(1/4) = −log 3 and w = logit(3/4) − logit(1/4) = 2 log 3. */
  const double x[8] = {0, 0, 0, 0, 1, 1, 1, 1};
  const gint32 y[8] = {1, 0, 0, 0, 1, 1, 1, 0};
  double w, b;
  GError *error = NULL;
  CU_ASSERT_TRUE_FATAL(lethe_logistic_fit_f64(x, 8, 1, y, 0.0, TRUE, 50, &w, &b, &error));
  CU_ASSERT_DOUBLE_EQUAL(b, -log(3.0), 1e-9);
  CU_ASSERT_DOUBLE_EQUAL(w, 2 * log(3.0), 1e-9);
  double prob[2];
  const double q[2] = {0, 1};
  lethe_logistic_predict_f64(q, 2, 1, &w, b, prob);
  CU_ASSERT_DOUBLE_EQUAL(prob[0], 0.25, 1e-9);
  CU_ASSERT_DOUBLE_EQUAL(prob[1], 0.75, 1e-9);

  /* intercept only: b = logit(mean) */
  CU_ASSERT_TRUE(lethe_logistic_fit_f64(NULL, 8, 0, y, 0.0, TRUE, 50, NULL, &b, &error));
  CU_ASSERT_DOUBLE_EQUAL(b, 0.0, 1e-12);
}

static void
test_logistic_regularised_multifeature(void)
{
  const gsize n = 20000, d = 3;
  const double w_true[3] = {1.5, -2.0, 0.5}, b_true = 0.3;
  g_autofree double *x = g_new(double, n *d);
  g_autofree gint32 *y = g_new(gint32, n);
  LetheRng rng;
  lethe_rng_init(&rng, 31);
  lethe_rng_fill_normal_f64(&rng, x, n * d, 0.0, 1.0);
  for (gsize i = 0; i < n; i++) {
    double z = b_true;
    for (gsize j = 0; j < d; j++)
      z += w_true[j] * x[i * d + j];
    y[i] = lethe_rng_uniform(&rng) < 1.0 / (1.0 + exp(-z));
  }
  double w[3], b;
  GError *error = NULL;
  CU_ASSERT_TRUE_FATAL(lethe_logistic_fit_f64(x, n, d, y, 1.0, TRUE, 50, w, &b, &error));
  for (gsize j = 0; j < d; j++)
    CU_ASSERT(fabs(w[j] - w_true[j]) < 0.1);
  CU_ASSERT(fabs(b - b_true) < 0.1);
  /* optimality: Xᵀ(σ − y) + λw = 0 and Σ(σ − y) = 0 */
  g_autofree double *p = g_new(double, n);
  lethe_logistic_predict_f64(x, n, d, w, b, p);
  double g[4] = {1.0 * w[0], 1.0 * w[1], 1.0 * w[2], 0};
  for (gsize i = 0; i < n; i++) {
    for (gsize j = 0; j < d; j++)
      g[j] += (p[i] - y[i]) * x[i * d + j];
    g[3] += p[i] - y[i];
  }
  for (int j = 0; j < 4; j++)
    CU_ASSERT(fabs(g[j]) < 1e-6);
}

static void
test_logistic_refuses_separable_and_one_class(void)
{
  const double x[4] = {-2, -1, 1, 2};
  const gint32 y[4] = {0, 0, 1, 1};
  double w, b;
  GError *error = NULL;
  CU_ASSERT_FALSE(lethe_logistic_fit_f64(x, 4, 1, y, 0.0, TRUE, 30, &w, &b, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC, "use an L2 penalty > 0");
  /* with a penalty the same data has a finite answer */
  CU_ASSERT_TRUE(lethe_logistic_fit_f64(x, 4, 1, y, 0.1, TRUE, 50, &w, &b, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT(w > 0);
  const gint32 ones[4] = {1, 1, 1, 1};
  CU_ASSERT_FALSE(lethe_logistic_fit_f64(x, 4, 1, ones, 1.0, TRUE, 30, &w, &b, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "all positive");
}

LETHE_TEST_MAIN("stats", LETHE_TEST(test_pairwise_distances_known_values),
                LETHE_TEST(test_topk_orders_and_breaks_ties_by_index),
                LETHE_TEST(test_kmeans_separates_blobs),
                LETHE_TEST(test_kmeans_k_equals_n_and_bad_k),
                LETHE_TEST(test_histogram_and_percentile),
                LETHE_TEST(test_roc_auc_with_and_without_ties),
                LETHE_TEST(test_accuracy_confusion_and_macro_f1),
                LETHE_TEST(test_running_stats_welford),
                LETHE_TEST(test_logistic_binary_feature_has_closed_form),
                LETHE_TEST(test_logistic_regularised_multifeature),
                LETHE_TEST(test_logistic_refuses_separable_and_one_class))
