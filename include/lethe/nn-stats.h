/* Lethe — distances, clustering, and the statistics evaluators need.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_NN_STATS_H
#define LETHE_NN_STATS_H

#include <glib.h>
#include <lethe/nn-rng.h>

G_BEGIN_DECLS

/*
 * Matrices are row-major with one sample per row, contiguous (leading
 * dimension = number of columns).  Labels are gint32 as in `dataset` frames.
 * Failures a user can cause with data or parameters return %FALSE (or NaN
 * for scalar statistics) with @error set in LETHE_ERROR.
 */

/* ---- distances (distance.c) ------------------------------------------- */

/**
 * lethe_pairwise_sqeuclidean_f32:
 * @x: m×d
 * @y: n×d
 * @out: (out): m×n, out[i,j] = ‖x_i − y_j‖², clamped at 0
 *
 * Through one sgemm: ‖x‖² + ‖y‖² − 2 x·y, accumulated in float.
 */
void lethe_pairwise_sqeuclidean_f32(const float *x, gsize m, const float *y, gsize n, gsize d,
                                    float *out);

/**
 * lethe_pairwise_cosine_distance_f32:
 * @out: (out): m×n, 1 − cos(x_i, y_j); a zero row has similarity 0 with
 *   everything (distance 1)
 */
void lethe_pairwise_cosine_distance_f32(const float *x, gsize m, const float *y, gsize n, gsize d,
                                        float *out);

/** lethe_l2_normalize_rows_f32: scales each of the @m rows to unit norm (zero rows stay zero). */
void lethe_l2_normalize_rows_f32(float *x, gsize m, gsize d);

/**
 * lethe_topk_f32:
 * @v: @n values (NaN counts as smaller than everything)
 * @k: how many, <= @n
 * @largest: %TRUE for the k largest, %FALSE for the k smallest
 * @idx: (out): their indices, best first; ties go to the lower index
 * @val: (out) (nullable): their values
 *
 * O(n log k) with a heap; deterministic.
 */
void lethe_topk_f32(const float *v, gsize n, gsize k, gboolean largest, gint64 *idx, float *val);

/**
 * lethe_topk_rows_f32:
 * @v: m×n
 * @idx: (out): m×k; @val: (out) (nullable): m×k
 *
 * lethe_topk_f32() on each row (k nearest neighbours from a distance matrix
 * with @largest = %FALSE).
 */
void lethe_topk_rows_f32(const float *v, gsize m, gsize n, gsize k, gboolean largest, gint64 *idx,
                         float *val);

/* ---- k-means (kmeans.c) ----------------------------------------------- */

/**
 * lethe_kmeans_f32:
 * @x: n×d points
 * @k: number of clusters, 1 <= @k <= @n
 * @max_iter: Lloyd iterations at most (300 is usual)
 * @tol: stop when the squared centre movement summed over centres is
 *   <= @tol × the mean per-feature variance of @x (scikit-learn's rule);
 *   also stops when no assignment changes
 * @rng: stream for the k-means++ seeding (advanced)
 * @centroids: (out): k×d
 * @assign: (out) (nullable): n cluster indices
 * @inertia: (out) (optional): Σ ‖x_i − c_{assign_i}‖²
 *
 * k-means++ seeding (Arthur and Vassilvitskii 2007) then Lloyd iterations,
 * distances by sgemm.  A cluster that empties is re-seeded with the point
 * farthest from its centre.  Fails with LETHE_ERROR_INVALID when @k > @n and
 * LETHE_ERROR_NUMERIC on NaN/Inf input.
 */
gboolean lethe_kmeans_f32(const float *x, gsize n, gsize d, gsize k, guint max_iter, double tol,
                          LetheRng *rng, float *centroids, gint32 *assign, double *inertia,
                          GError **error);

/**
 * lethe_kmeans_assign_f32:
 * @assign: (out): index of the nearest of the @k centroids for each point
 * @dist2: (out) (nullable): the squared distance to it
 */
void lethe_kmeans_assign_f32(const float *x, gsize n, gsize d, const float *centroids, gsize k,
                             gint32 *assign, float *dist2);

/* ---- statistics (stats.c) --------------------------------------------- */

/**
 * lethe_histogram_f64:
 * @counts: (out): @bins counts over [@lo, @hi] in equal bins; the last bin
 *   includes @hi (NumPy's rule)
 *
 * Returns: how many values were counted (values outside [@lo, @hi] and NaN
 * are not).
 */
gsize lethe_histogram_f64(const double *v, gsize n, double lo, double hi, gsize bins,
                          gint64 *counts);
gsize lethe_histogram_f32(const float *v, gsize n, double lo, double hi, gsize bins,
                          gint64 *counts);

/**
 * lethe_percentile_f64:
 * @q: percentile in [0, 100]
 *
 * The @q-th percentile with linear interpolation between order statistics
 * (NumPy's default).  @v is not modified.  NaN when @n is 0.
 */
double lethe_percentile_f64(const double *v, gsize n, double q);
double lethe_percentile_f32(const float *v, gsize n, double q);

/**
 * lethe_roc_auc_f64:
 * @scores: @n scores, larger meaning "more likely positive"
 * @labels: @n labels, non-zero is positive
 *
 * Area under the ROC curve as the Mann–Whitney statistic: the probability
 * that a random positive scores above a random negative, ties counting one
 * half (scikit-learn's roc_auc_score gives the same).  Fails with
 * LETHE_ERROR_INVALID (and returns NaN) when a class is absent or a score
 * is NaN.
 */
double lethe_roc_auc_f64(const double *scores, const gint32 *labels, gsize n, GError **error);
double lethe_roc_auc_f32(const float *scores, const gint32 *labels, gsize n, GError **error);

/** lethe_accuracy: the fraction of @n positions where @pred equals @truth (NaN when @n is 0). */
double lethe_accuracy(const gint32 *pred, const gint32 *truth, gsize n);

/**
 * lethe_confusion_matrix:
 * @counts: (out): @n_classes × @n_classes, row = truth, column = prediction
 *
 * Labels outside [0, @n_classes) are skipped.
 */
void lethe_confusion_matrix(const gint32 *pred, const gint32 *truth, gsize n, gsize n_classes,
                            gint64 *counts);

/**
 * lethe_macro_f1:
 *
 * The unweighted mean of per-class F1 over the classes in [0, @n_classes)
 * that occur in @truth or @pred (scikit-learn's f1_score(average="macro")).
 * A class with no true positives has F1 0.  NaN when no class occurs.
 */
double lethe_macro_f1(const gint32 *pred, const gint32 *truth, gsize n, gsize n_classes);

/**
 * LetheRunningStats:
 * Mean and variance of a stream of values (Welford's update), exact to
 * rounding whatever the order of magnitude.  Zero-initialise it.
 */
typedef struct {
  guint64 count;
  double mean;
  double m2;
} LetheRunningStats;

void lethe_running_stats_push(LetheRunningStats *stats, double value);
/** lethe_running_stats_variance: @ddof 0 for the population, 1 for the sample variance. */
double lethe_running_stats_variance(const LetheRunningStats *stats, guint ddof);

/**
 * lethe_logistic_fit_f64:
 * @x: n×d features
 * @y: @n labels, non-zero is the positive class
 * @l2: ridge penalty λ on the weights, λ/2 ‖w‖² (scikit-learn's C is 1/λ);
 *   the intercept is not penalised
 * @fit_intercept: whether to fit @b (else it is fixed at 0)
 * @max_iter: Newton iterations at most (50 is plenty)
 * @w: (out): d weights
 * @b: (out) (optional): intercept
 *
 * Binary L2-regularised logistic regression, minimising
 * Σ log(1 + exp(−s_i (w·x_i + b))) + λ/2 ‖w‖² (s_i = ±1) by Newton's method
 * with backtracking (IRLS), in float64.  Converged when the largest
 * gradient entry is below 1e-8 × (n + 1).  Fails with LETHE_ERROR_NUMERIC
 * when it does not converge (separable data with @l2 = 0 has no finite
 * solution: use @l2 > 0) and LETHE_ERROR_INVALID when only one class is
 * present and @l2 is 0.
 */
gboolean lethe_logistic_fit_f64(const double *x, gsize n, gsize d, const gint32 *y, double l2,
                                gboolean fit_intercept, guint max_iter, double *w, double *b,
                                GError **error);

/** lethe_logistic_predict_f64: P(y = 1 | x) = σ(w·x + b) for each of the @n rows. */
void lethe_logistic_predict_f64(const double *x, gsize n, gsize d, const double *w, double b,
                                double *prob);

G_END_DECLS

#endif /* LETHE_NN_STATS_H */
