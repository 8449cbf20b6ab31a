/* Lethe — FeTrIL's arithmetic: centroids, feature translation, the
 * one-vs-rest linear SVMs (liblinear) and nearest class mean.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Plain functions on row-major float matrices, so the suites test them
 * without loading the plugin.  Notation of Petit et al., WACV 2023: μ_c is
 * the centroid of class c's raw (unnormalised) features.
 */
#ifndef LETHE_FETRIL_MATH_H
#define LETHE_FETRIL_MATH_H

#include <glib.h>

G_BEGIN_DECLS

/** fetril_mean_rows: @mean[j] = (1/n) Σ_i x[i, j], accumulated in double. */
void fetril_mean_rows(const float *x, gint64 n, gint64 d, double *mean);

/** fetril_l2_normalize_rows: scales every row of @x to unit L2 norm in place
 * (an all-zero row stays zero). */
void fetril_l2_normalize_rows(float *x, gint64 n, gint64 d);

/**
 * fetril_nearest_centroid:
 * @mu: the centroid to match, [d]
 * @candidates: [n_candidates, d] centroids
 *
 * Index of the candidate at the smallest Euclidean distance from @mu (the
 * first one on ties): FeTrIL's choice of the new class a past class is
 * translated from.
 */
guint fetril_nearest_centroid(const double *mu, const double *candidates, guint n_candidates,
                              gint64 d);

/**
 * fetril_translate:
 * @src: [n, d] real features of the source (new) class
 * @mu_src: its centroid
 * @mu_dst: the centroid of the past class
 * @out: [n, d] pseudo-features: out_i = src_i − μ_src + μ_dst
 *
 * Computed in double and rounded once, so the mean of @out equals @mu_dst
 * and its covariance equals that of @src up to float rounding.
 */
void fetril_translate(const float *src, gint64 n, gint64 d, const double *mu_src,
                      const double *mu_dst, float *out);

/**
 * FetrilSvmParams:
 * @C: the penalty of the squared hinge (1 in FeTrIL)
 * @eps: liblinear's stopping tolerance (scikit-learn's `tol`, 1e-4)
 * @bias: the constant feature appended to every row, regularised like the
 *   weights (liblinear's `bias`, scikit-learn's `intercept_scaling`)
 */
typedef struct {
  double C;
  double eps;
  double bias;
} FetrilSvmParams;

/** fetril_svm_params_init: FeTrIL's settings: C = 1, eps = 1e-4, bias = 1. */
void fetril_svm_params_init(FetrilSvmParams *params);

/**
 * fetril_svm_train:
 * @x: [n, d] features (used as given: normalise them first)
 * @y: [n] class labels
 * @classes: the @n_classes labels to fit, in the order of the rows of @w
 * @w: (out caller-allocates): [n_classes, d] weights
 * @b: (out caller-allocates): [n_classes] intercepts (bias · its weight)
 *
 * One-vs-rest L2-regularised squared-hinge SVMs solved in the primal by
 * liblinear (L2R_L2LOSS_SVC, trust-region Newton), exactly the problem
 * scikit-learn's LinearSVC(dual=False) solves:
 * min_w ½‖w‖² + C Σ_i max(0, 1 − y_i w·[x_i; bias])².
 * With two classes liblinear fits one hyperplane; the second class gets
 * its negation.  With one class every row is a positive example.
 * Fails when a label of @y is not in @classes or a class has no row.
 */
gboolean fetril_svm_train(const float *x, const gint32 *y, gint64 n, gint64 d,
                          const gint32 *classes, guint n_classes, const FetrilSvmParams *params,
                          float *w, float *b, GError **error);

/**
 * fetril_linear_scores:
 * @out: [n, k] scores x·wᵀ + b
 */
void fetril_linear_scores(const float *x, gint64 n, gint64 d, const float *w, const float *b,
                          gint64 k, float *out);

/**
 * fetril_ncm_scores:
 * @x: [n, d] L2-normalised features
 * @means: [k, d] class means of L2-normalised features
 * @out: [n, k] −‖x − mean_c‖², so the argmax is the nearest class mean
 */
void fetril_ncm_scores(const float *x, gint64 n, gint64 d, const float *means, gint64 k,
                       float *out);

G_END_DECLS

#endif /* LETHE_FETRIL_MATH_H */
