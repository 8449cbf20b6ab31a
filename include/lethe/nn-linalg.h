/* Lethe — dense linear algebra on LAPACKE, and Cholesky up/downdates.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_NN_LINALG_H
#define LETHE_NN_LINALG_H

#include <glib.h>
#include <lethe/nn-rng.h>

G_BEGIN_DECLS

/*
 * Conventions of every function below:
 *
 * - Matrices are row-major (NumPy order): element (i, j) of a matrix with
 *   leading dimension @lda is a[i * lda + j]; @lda >= the number of columns.
 * - Inputs declared const are not modified; outputs are written in full and
 *   may not alias inputs unless the documentation says "in place".
 * - Failures a caller can cause with its data (a matrix that is not positive
 *   definite, an SVD that does not converge, NaN input) return %FALSE with
 *   @error set in LETHE_ERROR / LETHE_ERROR_NUMERIC.  Wrong sizes or NULL
 *   pointers are programmer errors (g_return_val_if_fail).
 * - The f64 entry points compute in double precision throughout; they are
 *   the ones exact methods (analytic learning and unlearning) use.  The f32
 *   entry points compute in single precision with LAPACK's s-routines.
 *
 * Cholesky factors are UPPER triangular, A = Uᵀ U (as LAPACK's and SciPy's
 * default): row k of U is contiguous, which keeps rank-1 updates and
 * downdates in cache.  The strict lower triangle of a factor is zero.
 */

/**
 * lethe_linalg_cholesky_f64:
 * @a: (inout): n×n symmetric positive definite matrix; on success its upper
 *   factor U with A = Uᵀ U
 * @n: order
 * @lda: leading dimension, >= @n
 * @error: return location for a #GError
 *
 * Factors @a in place.  Only the upper triangle of the input is read (for a
 * symmetric matrix that is all of it); the strict lower triangle of the
 * result is set to zero.  Fails with LETHE_ERROR_NUMERIC, naming the order of
 * the first non-positive leading minor, when @a is not positive definite.
 *
 * Returns: %TRUE on success.
 */
gboolean lethe_linalg_cholesky_f64(double *a, gsize n, gsize lda, GError **error);
gboolean lethe_linalg_cholesky_f32(float *a, gsize n, gsize lda, GError **error);

/**
 * lethe_linalg_cholesky_solve_f64:
 * @u: the upper Cholesky factor of A (from lethe_linalg_cholesky_f64())
 * @b: (inout): n×@nrhs right-hand sides; overwritten by X with A X = B
 *
 * Two triangular solves, O(n² nrhs).  Cannot fail on a valid factor.
 */
void lethe_linalg_cholesky_solve_f64(const double *u, gsize n, gsize ldu, double *b, gsize nrhs,
                                     gsize ldb);
void lethe_linalg_cholesky_solve_f32(const float *u, gsize n, gsize ldu, float *b, gsize nrhs,
                                     gsize ldb);

/**
 * lethe_linalg_cholesky_inverse_f64:
 * @u: (inout): on entry the upper factor of A; on return the full symmetric
 *   A⁻¹ (both triangles).
 */
gboolean lethe_linalg_cholesky_inverse_f64(double *u, gsize n, gsize ldu, GError **error);

/**
 * lethe_linalg_solve_spd_f64:
 * @a: (inout): n×n symmetric positive definite; overwritten by its factor U
 * @b: (inout): n×@nrhs; overwritten by the solution of A X = B
 *
 * Factor then solve (ridge regression, normal equations).
 */
gboolean lethe_linalg_solve_spd_f64(double *a, gsize n, gsize lda, double *b, gsize nrhs, gsize ldb,
                                    GError **error);

/**
 * lethe_linalg_qr_f64:
 * @a: m×n input
 * @q: (out) (nullable): m×k with orthonormal columns, k = min(m, n), leading
 *   dimension k
 * @r: (out) (nullable): k×n upper triangular (trapezoidal), leading dimension n
 *
 * Thin QR decomposition A = Q R (Householder, geqrf + orgqr).
 */
gboolean lethe_linalg_qr_f64(const double *a, gsize m, gsize n, gsize lda, double *q, double *r,
                             GError **error);
gboolean lethe_linalg_qr_f32(const float *a, gsize m, gsize n, gsize lda, float *q, float *r,
                             GError **error);

/**
 * lethe_linalg_svd_f64:
 * @a: m×n input
 * @full: %FALSE for the thin SVD (U m×k, Vᵀ k×n, k = min(m, n)), %TRUE for
 *   the full one (U m×m, Vᵀ n×n)
 * @u: (out) (nullable): left singular vectors as columns, leading dimension
 *   its column count (k or m)
 * @s: (out): the k singular values, descending
 * @vt: (out) (nullable): right singular vectors as rows, leading dimension n
 *
 * Singular value decomposition A = U diag(s) Vᵀ (divide and conquer,
 * gesdd).  Pass @u and @vt both %NULL for the values only.
 */
gboolean lethe_linalg_svd_f64(const double *a, gsize m, gsize n, gsize lda, gboolean full,
                              double *u, double *s, double *vt, GError **error);
gboolean lethe_linalg_svd_f32(const float *a, gsize m, gsize n, gsize lda, gboolean full, float *u,
                              float *s, float *vt, GError **error);

/**
 * lethe_linalg_svd_truncated_f64:
 * @rank: how many singular triplets, 1 <= @rank <= min(m, n)
 * @oversample: extra random directions (10 is usual)
 * @n_power_iter: subspace iterations (2 is usual; more for slowly decaying
 *   spectra)
 * @rng: the random stream for the test matrix (advanced)
 * @u: (out) (nullable): m×@rank, leading dimension @rank
 * @s: (out): @rank values, descending
 * @vt: (out) (nullable): @rank×n, leading dimension n
 *
 * Randomised truncated SVD (Halko, Martinsson, Tropp, SIAM Review 2011,
 * algorithms 4.4 and 5.1): a Gaussian sketch, @n_power_iter re-orthonormalised
 * power iterations, then the SVD of a small matrix.  Exact (to rounding) when
 * rank(A) <= @rank + @oversample.
 */
gboolean lethe_linalg_svd_truncated_f64(const double *a, gsize m, gsize n, gsize lda, gsize rank,
                                        gsize oversample, guint n_power_iter, LetheRng *rng,
                                        double *u, double *s, double *vt, GError **error);

/**
 * lethe_linalg_eigh_f64:
 * @a: (inout): n×n symmetric (only its upper triangle is read); with
 *   @vectors, overwritten by the eigenvectors as COLUMNS (NumPy's eigh)
 * @w: (out): the n eigenvalues, ascending
 * @vectors: whether to compute the eigenvectors
 *
 * Symmetric eigendecomposition A = V diag(w) Vᵀ (syevd).
 */
gboolean lethe_linalg_eigh_f64(double *a, gsize n, gsize lda, double *w, gboolean vectors,
                               GError **error);
gboolean lethe_linalg_eigh_f32(float *a, gsize n, gsize lda, float *w, gboolean vectors,
                               GError **error);

/**
 * lethe_linalg_lstsq_f64:
 * @a: m×n
 * @b: m×@nrhs
 * @rcond: singular values below @rcond × s_max count as zero; negative for
 *   machine precision × max(m, n)
 * @x: (out): n×@nrhs minimum-norm least-squares solution, leading
 *   dimension @nrhs
 * @rank: (out) (optional): the effective rank of @a
 *
 * min ‖A X − B‖_F with the smallest ‖X‖_F among minimisers (gelsd), for
 * any shape and rank.
 */
gboolean lethe_linalg_lstsq_f64(const double *a, gsize m, gsize n, gsize lda, const double *b,
                                gsize nrhs, gsize ldb, double rcond, double *x, gsize *rank,
                                GError **error);
gboolean lethe_linalg_lstsq_f32(const float *a, gsize m, gsize n, gsize lda, const float *b,
                                gsize nrhs, gsize ldb, float rcond, float *x, gsize *rank,
                                GError **error);

/**
 * lethe_linalg_pinv_f64:
 * @a: m×n
 * @rcond: singular values <= @rcond × s_max are dropped; negative for
 *   machine precision × max(m, n) (MATLAB's default tolerance)
 * @out: (out): n×m Moore–Penrose pseudo-inverse, leading dimension m
 * @rank: (out) (optional): how many singular values were kept
 */
gboolean lethe_linalg_pinv_f64(const double *a, gsize m, gsize n, gsize lda, double rcond,
                               double *out, gsize *rank, GError **error);
gboolean lethe_linalg_pinv_f32(const float *a, gsize m, gsize n, gsize lda, float rcond, float *out,
                               gsize *rank, GError **error);

/**
 * lethe_linalg_syrk_f64:
 * @c: (inout): n×n symmetric
 * @x: k×n, one sample per row
 *
 * C ← @beta C + @alpha Xᵀ X (a Gram or covariance update; @alpha = -1
 * removes samples).  Both triangles of @c are written, so @c stays a plain
 * symmetric matrix.
 */
void lethe_linalg_syrk_f64(double *c, gsize n, gsize ldc, const double *x, gsize k, gsize ldx,
                           double alpha, double beta);
void lethe_linalg_syrk_f32(float *c, gsize n, gsize ldc, const float *x, gsize k, gsize ldx,
                           float alpha, float beta);

/** lethe_linalg_symmetrize_f64: copies the upper triangle of @a onto the lower one. */
void lethe_linalg_symmetrize_f64(double *a, gsize n, gsize lda);

/**
 * lethe_cholesky_update_f64:
 * @u: (inout): upper factor of A (A = Uᵀ U); on return the factor of A + x xᵀ
 * @x: (inout): the n-vector; destroyed
 *
 * Rank-1 update by Givens rotations, O(n²); backward stable.
 */
void lethe_cholesky_update_f64(double *u, gsize n, gsize ldu, double *x);

/**
 * lethe_cholesky_update_rank_k_f64:
 * @x: (inout): k×n, one vector per row; destroyed
 *
 * The factor of A + Xᵀ X.  The rotations of the k vectors are applied row by
 * row of U, so each row of U is read once from memory: O(k n²) flops at
 * cache speed.
 */
void lethe_cholesky_update_rank_k_f64(double *u, gsize n, gsize ldu, double *x, gsize k, gsize ldx);

/**
 * lethe_cholesky_downdate_f64:
 * @u: (inout): upper factor of A; on success the factor of A − x xᵀ
 * @x: the n-vector (not modified)
 *
 * Rank-1 downdate by the method of LINPACK's dchdd (Stewart 1979): solve
 * Uᵀ p = x, then rotate [U; 0] so that its last row becomes xᵀ.  When
 * A − x xᵀ is not positive definite (1 − ‖p‖² <= machine epsilon) it fails
 * with LETHE_ERROR_NUMERIC and leaves @u unchanged.
 */
gboolean lethe_cholesky_downdate_f64(double *u, gsize n, gsize ldu, const double *x,
                                     GError **error);

/**
 * lethe_cholesky_downdate_rank_k_f64:
 * @x: k×n, one vector per row (not modified)
 *
 * The factor of A − Xᵀ X as k successive rank-1 downdates.  On failure at
 * vector i the error says so and @u holds the factor after the first i
 * downdates (each rank-1 step is all or nothing).
 */
gboolean lethe_cholesky_downdate_rank_k_f64(double *u, gsize n, gsize ldu, const double *x, gsize k,
                                            gsize ldx, GError **error);

G_END_DECLS

#endif /* LETHE_NN_LINALG_H */
