/* Lethe — dense linear algebra on LAPACKE.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Row-major everywhere.  A symmetric row-major matrix is its own column-major
 * twin, so Cholesky and syrk run column-major on the other triangle and need
 * no transposed copy; the general routines use LAPACKE's row-major layout.
 */
#include <lethe/error.h>
#include <lethe/nn-linalg.h>

#include <cblas.h>
#include <lapacke.h>
#include <float.h>
#include <math.h>
#include <string.h>

static gboolean
lapack_failed(lapack_int info, const char *routine, gsize m, gsize n, GError **error)
{
  if (info == 0)
    return FALSE;
  if (info < 0)
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s on a %zu×%zu matrix: argument %d is invalid (LAPACK info %d)", routine, m, n,
                (int)-info, (int)info);
  else
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                "%s on a %zu×%zu matrix did not converge (LAPACK info %d); "
                "check the input for NaN or Inf",
                routine, m, n, (int)info);
  return TRUE;
}

static gboolean
not_finite_f64(const double *a, gsize m, gsize n, gsize lda)
{
  for (gsize i = 0; i < m; i++)
    for (gsize j = 0; j < n; j++)
      if (!isfinite(a[i * lda + j]))
        return TRUE;
  return FALSE;
}

static gboolean
not_finite_f32(const float *a, gsize m, gsize n, gsize lda)
{
  for (gsize i = 0; i < m; i++)
    for (gsize j = 0; j < n; j++)
      if (!isfinite(a[i * lda + j]))
        return TRUE;
  return FALSE;
}

static gboolean
check_finite(gboolean bad, const char *what, gsize m, gsize n, GError **error)
{
  if (!bad)
    return TRUE;
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
              "%s: the %zu×%zu input holds NaN or Inf; fix the data or the step that produced it",
              what, m, n);
  return FALSE;
}

/* ---- Cholesky ---------------------------------------------------------- */

static gboolean
not_positive_definite(lapack_int info, gsize n, GError **error)
{
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
              "Cholesky factorisation of a %zu×%zu matrix failed: the leading minor of order %d "
              "is not positive definite; add a ridge term (γI) or remove duplicated features",
              n, n, (int)info);
  return FALSE;
}

gboolean
lethe_linalg_cholesky_f64(double *a, gsize n, gsize lda, GError **error)
{
  g_return_val_if_fail(a != NULL && lda >= n, FALSE);
  if (n == 0)
    return TRUE;
  if (!check_finite(not_finite_f64(a, n, n, lda), "Cholesky", n, n, error))
    return FALSE;
  /* column-major lower factor L of the same memory = row-major U = Lᵀ */
  lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)n, a, (lapack_int)lda);
  if (info > 0)
    return not_positive_definite(info, n, error);
  if (lapack_failed(info, "dpotrf", n, n, error))
    return FALSE;
  for (gsize i = 1; i < n; i++)
    memset(a + i * lda, 0, i * sizeof *a);
  return TRUE;
}

gboolean
lethe_linalg_cholesky_f32(float *a, gsize n, gsize lda, GError **error)
{
  g_return_val_if_fail(a != NULL && lda >= n, FALSE);
  if (n == 0)
    return TRUE;
  if (!check_finite(not_finite_f32(a, n, n, lda), "Cholesky", n, n, error))
    return FALSE;
  lapack_int info = LAPACKE_spotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)n, a, (lapack_int)lda);
  if (info > 0)
    return not_positive_definite(info, n, error);
  if (lapack_failed(info, "spotrf", n, n, error))
    return FALSE;
  for (gsize i = 1; i < n; i++)
    memset(a + i * lda, 0, i * sizeof *a);
  return TRUE;
}

void
lethe_linalg_cholesky_solve_f64(const double *u, gsize n, gsize ldu, double *b, gsize nrhs,
                                gsize ldb)
{
  g_return_if_fail(u != NULL && b != NULL && ldu >= n && ldb >= nrhs);
  if (n == 0 || nrhs == 0)
    return;
  /* Uᵀ Y = B, then U X = Y */
  cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, (int)n, (int)nrhs,
              1.0, u, (int)ldu, b, (int)ldb);
  cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, (int)nrhs,
              1.0, u, (int)ldu, b, (int)ldb);
}

void
lethe_linalg_cholesky_solve_f32(const float *u, gsize n, gsize ldu, float *b, gsize nrhs, gsize ldb)
{
  g_return_if_fail(u != NULL && b != NULL && ldu >= n && ldb >= nrhs);
  if (n == 0 || nrhs == 0)
    return;
  cblas_strsm(CblasRowMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, (int)n, (int)nrhs,
              1.0f, u, (int)ldu, b, (int)ldb);
  cblas_strsm(CblasRowMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, (int)nrhs,
              1.0f, u, (int)ldu, b, (int)ldb);
}

gboolean
lethe_linalg_cholesky_inverse_f64(double *u, gsize n, gsize ldu, GError **error)
{
  g_return_val_if_fail(u != NULL && ldu >= n, FALSE);
  if (n == 0)
    return TRUE;
  lapack_int info = LAPACKE_dpotri(LAPACK_COL_MAJOR, 'L', (lapack_int)n, u, (lapack_int)ldu);
  if (info > 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                "inverting a %zu×%zu Cholesky factor: diagonal element %d is zero", n, n,
                (int)info);
    return FALSE;
  }
  if (lapack_failed(info, "dpotri", n, n, error))
    return FALSE;
  lethe_linalg_symmetrize_f64(u, n, ldu);
  return TRUE;
}

gboolean
lethe_linalg_solve_spd_f64(double *a, gsize n, gsize lda, double *b, gsize nrhs, gsize ldb,
                           GError **error)
{
  if (!lethe_linalg_cholesky_f64(a, n, lda, error))
    return FALSE;
  lethe_linalg_cholesky_solve_f64(a, n, lda, b, nrhs, ldb);
  return TRUE;
}

/* ---- QR ---------------------------------------------------------------- */

gboolean
lethe_linalg_qr_f64(const double *a, gsize m, gsize n, gsize lda, double *q, double *r,
                    GError **error)
{
  g_return_val_if_fail(a != NULL && lda >= n, FALSE);
  gsize k = MIN(m, n);
  if (k == 0)
    return TRUE;
  if (!check_finite(not_finite_f64(a, m, n, lda), "QR", m, n, error))
    return FALSE;
  g_autofree double *w = g_new(double, m *n);
  g_autofree double *tau = g_new(double, k);
  for (gsize i = 0; i < m; i++)
    memcpy(w + i * n, a + i * lda, n * sizeof *w);
  lapack_int info =
      LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)n, w, (lapack_int)n, tau);
  if (lapack_failed(info, "dgeqrf", m, n, error))
    return FALSE;
  if (r) {
    memset(r, 0, k * n * sizeof *r);
    for (gsize i = 0; i < k; i++)
      memcpy(r + i * n + i, w + i * n + i, (n - i) * sizeof *r);
  }
  if (q) {
    for (gsize i = 0; i < m; i++)
      memcpy(q + i * k, w + i * n, k * sizeof *q);
    info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)k, (lapack_int)k, q,
                          (lapack_int)k, tau);
    if (lapack_failed(info, "dorgqr", m, k, error))
      return FALSE;
  }
  return TRUE;
}

gboolean
lethe_linalg_qr_f32(const float *a, gsize m, gsize n, gsize lda, float *q, float *r, GError **error)
{
  g_return_val_if_fail(a != NULL && lda >= n, FALSE);
  gsize k = MIN(m, n);
  if (k == 0)
    return TRUE;
  if (!check_finite(not_finite_f32(a, m, n, lda), "QR", m, n, error))
    return FALSE;
  g_autofree float *w = g_new(float, m *n);
  g_autofree float *tau = g_new(float, k);
  for (gsize i = 0; i < m; i++)
    memcpy(w + i * n, a + i * lda, n * sizeof *w);
  lapack_int info =
      LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)n, w, (lapack_int)n, tau);
  if (lapack_failed(info, "sgeqrf", m, n, error))
    return FALSE;
  if (r) {
    memset(r, 0, k * n * sizeof *r);
    for (gsize i = 0; i < k; i++)
      memcpy(r + i * n + i, w + i * n + i, (n - i) * sizeof *r);
  }
  if (q) {
    for (gsize i = 0; i < m; i++)
      memcpy(q + i * k, w + i * n, k * sizeof *q);
    info = LAPACKE_sorgqr(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)k, (lapack_int)k, q,
                          (lapack_int)k, tau);
    if (lapack_failed(info, "sorgqr", m, k, error))
      return FALSE;
  }
  return TRUE;
}

/* ---- SVD --------------------------------------------------------------- */

gboolean
lethe_linalg_svd_f64(const double *a, gsize m, gsize n, gsize lda, gboolean full, double *u,
                     double *s, double *vt, GError **error)
{
  g_return_val_if_fail(a != NULL && s != NULL && lda >= n, FALSE);
  g_return_val_if_fail((u == NULL) == (vt == NULL), FALSE);
  gsize k = MIN(m, n);
  if (k == 0)
    return TRUE;
  if (!check_finite(not_finite_f64(a, m, n, lda), "SVD", m, n, error))
    return FALSE;
  g_autofree double *w = g_new(double, m *n);
  for (gsize i = 0; i < m; i++)
    memcpy(w + i * n, a + i * lda, n * sizeof *w);
  char jobz = u == NULL ? 'N' : full ? 'A' : 'S';
  gsize ldu = full ? m : k;
  /* for values only, LAPACKE still checks ldvt >= n but writes nothing */
  double dummy = 0;
  lapack_int info =
      LAPACKE_dgesdd(LAPACK_ROW_MAJOR, jobz, (lapack_int)m, (lapack_int)n, w, (lapack_int)n, s,
                     u ? u : &dummy, (lapack_int)(u ? ldu : 1), vt ? vt : &dummy, (lapack_int)n);
  return !lapack_failed(info, "dgesdd", m, n, error);
}

gboolean
lethe_linalg_svd_f32(const float *a, gsize m, gsize n, gsize lda, gboolean full, float *u, float *s,
                     float *vt, GError **error)
{
  g_return_val_if_fail(a != NULL && s != NULL && lda >= n, FALSE);
  g_return_val_if_fail((u == NULL) == (vt == NULL), FALSE);
  gsize k = MIN(m, n);
  if (k == 0)
    return TRUE;
  if (!check_finite(not_finite_f32(a, m, n, lda), "SVD", m, n, error))
    return FALSE;
  g_autofree float *w = g_new(float, m *n);
  for (gsize i = 0; i < m; i++)
    memcpy(w + i * n, a + i * lda, n * sizeof *w);
  char jobz = u == NULL ? 'N' : full ? 'A' : 'S';
  gsize ldu = full ? m : k;
  float dummy = 0;
  lapack_int info =
      LAPACKE_sgesdd(LAPACK_ROW_MAJOR, jobz, (lapack_int)m, (lapack_int)n, w, (lapack_int)n, s,
                     u ? u : &dummy, (lapack_int)(u ? ldu : 1), vt ? vt : &dummy, (lapack_int)n);
  return !lapack_failed(info, "sgesdd", m, n, error);
}

/* Orthonormalises the columns of the m×l matrix y (leading dimension l) in
 * place: thin Q of a QR. */
static gboolean
orthonormalize_columns(double *y, gsize m, gsize l, GError **error)
{
  g_autofree double *tau = g_new(double, l);
  lapack_int info =
      LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)l, y, (lapack_int)l, tau);
  if (lapack_failed(info, "dgeqrf", m, l, error))
    return FALSE;
  info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)l, (lapack_int)l, y,
                        (lapack_int)l, tau);
  return !lapack_failed(info, "dorgqr", m, l, error);
}

gboolean
lethe_linalg_svd_truncated_f64(const double *a, gsize m, gsize n, gsize lda, gsize rank,
                               gsize oversample, guint n_power_iter, LetheRng *rng, double *u,
                               double *s, double *vt, GError **error)
{
  g_return_val_if_fail(a != NULL && s != NULL && rng != NULL && lda >= n, FALSE);
  g_return_val_if_fail(rank >= 1 && rank <= MIN(m, n), FALSE);
  gsize l = MIN(rank + oversample, MIN(m, n));
  if (!check_finite(not_finite_f64(a, m, n, lda), "truncated SVD", m, n, error))
    return FALSE;

  /* Y = A Ω (m×l), Ω Gaussian n×l; then (A Aᵀ)^q Y with QR between products */
  g_autofree double *omega = g_new(double, n *l);
  g_autofree double *y = g_new(double, m *l);
  g_autofree double *z = g_new(double, n *l);
  lethe_rng_fill_normal_f64(rng, omega, n * l, 0.0, 1.0);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)l, (int)n, 1.0, a, (int)lda,
              omega, (int)l, 0.0, y, (int)l);
  if (!orthonormalize_columns(y, m, l, error))
    return FALSE;
  for (guint it = 0; it < n_power_iter; it++) {
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)l, (int)m, 1.0, a, (int)lda,
                y, (int)l, 0.0, z, (int)l);
    if (!orthonormalize_columns(z, n, l, error))
      return FALSE;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)l, (int)n, 1.0, a, (int)lda,
                z, (int)l, 0.0, y, (int)l);
    if (!orthonormalize_columns(y, m, l, error))
      return FALSE;
  }

  /* B = Qᵀ A (l×n); B = Ub S Vᵀ; U = Q Ub */
  g_autofree double *b = g_new(double, l *n);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)l, (int)n, (int)m, 1.0, y, (int)l, a,
              (int)lda, 0.0, b, (int)n);
  g_autofree double *ub = g_new(double, l *l);
  g_autofree double *sb = g_new(double, l);
  g_autofree double *vtb = g_new(double, l *n);
  if (!lethe_linalg_svd_f64(b, l, n, n, FALSE, ub, sb, vtb, error))
    return FALSE;
  memcpy(s, sb, rank * sizeof *s);
  if (vt)
    memcpy(vt, vtb, rank * n * sizeof *vt);
  if (u)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)rank, (int)l, 1.0, y,
                (int)l, ub, (int)l, 0.0, u, (int)rank);
  return TRUE;
}

/* ---- symmetric eigendecomposition -------------------------------------- */

gboolean
lethe_linalg_eigh_f64(double *a, gsize n, gsize lda, double *w, gboolean vectors, GError **error)
{
  g_return_val_if_fail(a != NULL && w != NULL && lda >= n, FALSE);
  if (n == 0)
    return TRUE;
  if (!check_finite(not_finite_f64(a, n, n, lda), "eigh", n, n, error))
    return FALSE;
  lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, vectors ? 'V' : 'N', 'U', (lapack_int)n, a,
                                   (lapack_int)lda, w);
  return !lapack_failed(info, "dsyevd", n, n, error);
}

gboolean
lethe_linalg_eigh_f32(float *a, gsize n, gsize lda, float *w, gboolean vectors, GError **error)
{
  g_return_val_if_fail(a != NULL && w != NULL && lda >= n, FALSE);
  if (n == 0)
    return TRUE;
  if (!check_finite(not_finite_f32(a, n, n, lda), "eigh", n, n, error))
    return FALSE;
  lapack_int info = LAPACKE_ssyevd(LAPACK_ROW_MAJOR, vectors ? 'V' : 'N', 'U', (lapack_int)n, a,
                                   (lapack_int)lda, w);
  return !lapack_failed(info, "ssyevd", n, n, error);
}

/* ---- least squares and pseudo-inverse ---------------------------------- */

gboolean
lethe_linalg_lstsq_f64(const double *a, gsize m, gsize n, gsize lda, const double *b, gsize nrhs,
                       gsize ldb, double rcond, double *x, gsize *rank, GError **error)
{
  g_return_val_if_fail(a != NULL && b != NULL && x != NULL && lda >= n && ldb >= nrhs, FALSE);
  if (m == 0 || n == 0 || nrhs == 0) {
    memset(x, 0, n * nrhs * sizeof *x);
    if (rank)
      *rank = 0;
    return TRUE;
  }
  if (!check_finite(not_finite_f64(a, m, n, lda) || not_finite_f64(b, m, nrhs, ldb), "lstsq", m, n,
                    error))
    return FALSE;
  gsize mx = MAX(m, n);
  g_autofree double *w = g_new(double, m *n);
  g_autofree double *bw = g_new0(double, mx *nrhs);
  g_autofree double *sv = g_new(double, MIN(m, n));
  for (gsize i = 0; i < m; i++) {
    memcpy(w + i * n, a + i * lda, n * sizeof *w);
    memcpy(bw + i * nrhs, b + i * ldb, nrhs * sizeof *bw);
  }
  if (rcond < 0)
    rcond = DBL_EPSILON * (double)mx;
  lapack_int r = 0;
  lapack_int info = LAPACKE_dgelsd(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)n, (lapack_int)nrhs,
                                   w, (lapack_int)n, bw, (lapack_int)nrhs, sv, rcond, &r);
  if (lapack_failed(info, "dgelsd", m, n, error))
    return FALSE;
  memcpy(x, bw, n * nrhs * sizeof *x);
  if (rank)
    *rank = (gsize)r;
  return TRUE;
}

gboolean
lethe_linalg_lstsq_f32(const float *a, gsize m, gsize n, gsize lda, const float *b, gsize nrhs,
                       gsize ldb, float rcond, float *x, gsize *rank, GError **error)
{
  g_return_val_if_fail(a != NULL && b != NULL && x != NULL && lda >= n && ldb >= nrhs, FALSE);
  if (m == 0 || n == 0 || nrhs == 0) {
    memset(x, 0, n * nrhs * sizeof *x);
    if (rank)
      *rank = 0;
    return TRUE;
  }
  if (!check_finite(not_finite_f32(a, m, n, lda) || not_finite_f32(b, m, nrhs, ldb), "lstsq", m, n,
                    error))
    return FALSE;
  gsize mx = MAX(m, n);
  g_autofree float *w = g_new(float, m *n);
  g_autofree float *bw = g_new0(float, mx *nrhs);
  g_autofree float *sv = g_new(float, MIN(m, n));
  for (gsize i = 0; i < m; i++) {
    memcpy(w + i * n, a + i * lda, n * sizeof *w);
    memcpy(bw + i * nrhs, b + i * ldb, nrhs * sizeof *bw);
  }
  if (rcond < 0)
    rcond = FLT_EPSILON * (float)mx;
  lapack_int r = 0;
  lapack_int info = LAPACKE_sgelsd(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)n, (lapack_int)nrhs,
                                   w, (lapack_int)n, bw, (lapack_int)nrhs, sv, rcond, &r);
  if (lapack_failed(info, "sgelsd", m, n, error))
    return FALSE;
  memcpy(x, bw, n * nrhs * sizeof *x);
  if (rank)
    *rank = (gsize)r;
  return TRUE;
}

gboolean
lethe_linalg_pinv_f64(const double *a, gsize m, gsize n, gsize lda, double rcond, double *out,
                      gsize *rank, GError **error)
{
  g_return_val_if_fail(a != NULL && out != NULL && lda >= n, FALSE);
  gsize k = MIN(m, n);
  memset(out, 0, n * m * sizeof *out);
  if (rank)
    *rank = 0;
  if (k == 0)
    return TRUE;
  g_autofree double *u = g_new(double, m *k);
  g_autofree double *s = g_new(double, k);
  g_autofree double *vt = g_new(double, k *n);
  if (!lethe_linalg_svd_f64(a, m, n, lda, FALSE, u, s, vt, error))
    return FALSE;
  if (rcond < 0)
    rcond = DBL_EPSILON * (double)MAX(m, n);
  double cutoff = rcond * s[0];
  gsize r = 0;
  while (r < k && s[r] > cutoff)
    r++;
  /* A⁺ = V S⁻¹ Uᵀ over the kept triplets: scale the rows of Vᵀ, then
   * out (n×m) = (S⁻¹Vᵀ)ᵀ Uᵀ */
  for (gsize i = 0; i < r; i++)
    cblas_dscal((int)n, 1.0 / s[i], vt + i * n, 1);
  if (r > 0)
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasTrans, (int)n, (int)m, (int)r, 1.0, vt, (int)n, u,
                (int)k, 0.0, out, (int)m);
  if (rank)
    *rank = r;
  return TRUE;
}

gboolean
lethe_linalg_pinv_f32(const float *a, gsize m, gsize n, gsize lda, float rcond, float *out,
                      gsize *rank, GError **error)
{
  g_return_val_if_fail(a != NULL && out != NULL && lda >= n, FALSE);
  gsize k = MIN(m, n);
  memset(out, 0, n * m * sizeof *out);
  if (rank)
    *rank = 0;
  if (k == 0)
    return TRUE;
  g_autofree float *u = g_new(float, m *k);
  g_autofree float *s = g_new(float, k);
  g_autofree float *vt = g_new(float, k *n);
  if (!lethe_linalg_svd_f32(a, m, n, lda, FALSE, u, s, vt, error))
    return FALSE;
  if (rcond < 0)
    rcond = FLT_EPSILON * (float)MAX(m, n);
  float cutoff = rcond * s[0];
  gsize r = 0;
  while (r < k && s[r] > cutoff)
    r++;
  for (gsize i = 0; i < r; i++)
    cblas_sscal((int)n, 1.0f / s[i], vt + i * n, 1);
  if (r > 0)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, (int)n, (int)m, (int)r, 1.0f, vt, (int)n, u,
                (int)k, 0.0f, out, (int)m);
  if (rank)
    *rank = r;
  return TRUE;
}

/* ---- symmetric rank-k updates ------------------------------------------ */

void
lethe_linalg_symmetrize_f64(double *a, gsize n, gsize lda)
{
  g_return_if_fail(a != NULL && lda >= n);
  for (gsize i = 0; i < n; i++)
    for (gsize j = i + 1; j < n; j++)
      a[j * lda + i] = a[i * lda + j];
}

void
lethe_linalg_syrk_f64(double *c, gsize n, gsize ldc, const double *x, gsize k, gsize ldx,
                      double alpha, double beta)
{
  g_return_if_fail(c != NULL && ldc >= n && (x != NULL || k == 0) && ldx >= n);
  if (n == 0)
    return;
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)k, alpha, x, (int)ldx, beta, c,
              (int)ldc);
  lethe_linalg_symmetrize_f64(c, n, ldc);
}

void
lethe_linalg_syrk_f32(float *c, gsize n, gsize ldc, const float *x, gsize k, gsize ldx, float alpha,
                      float beta)
{
  g_return_if_fail(c != NULL && ldc >= n && (x != NULL || k == 0) && ldx >= n);
  if (n == 0)
    return;
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)k, alpha, x, (int)ldx, beta, c,
              (int)ldc);
  for (gsize i = 0; i < n; i++)
    for (gsize j = i + 1; j < n; j++)
      c[j * ldc + i] = c[i * ldc + j];
}
