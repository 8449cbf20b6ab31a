/* Lethe — rank-1 and rank-k updates and downdates of a Cholesky factor.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The factor is upper triangular, A = Uᵀ U, row-major: every loop below runs
 * along a row of U, which is contiguous.  Analytic learners keep the factor
 * of XᵀX + γI and add or remove samples without refactoring (O(n²) per
 * sample instead of O(n³)).
 */
#include <lethe/error.h>
#include <lethe/nn-linalg.h>

#include <float.h>
#include <math.h>
#include <string.h>

/* Applies to row k of U the Givens rotation that folds x[k] into U[k,k],
 * and to the tail of x the same rotation: [U_k; x] ← G [U_k; x]. */
static inline void
rotate_in(double *uk, double *x, gsize k, gsize n)
{
  double d = uk[k], xk = x[k];
  if (xk == 0.0)
    return;
  double r = hypot(d, xk);
  double c = d / r, s = xk / r;
  uk[k] = r;
  for (gsize j = k + 1; j < n; j++) {
    double t = c * uk[j] + s * x[j];
    x[j] = c * x[j] - s * uk[j];
    uk[j] = t;
  }
}

void
lethe_cholesky_update_f64(double *u, gsize n, gsize ldu, double *x)
{
  g_return_if_fail(u != NULL && x != NULL && ldu >= n);
  for (gsize k = 0; k < n; k++)
    rotate_in(u + k * ldu, x, k, n);
}

void
lethe_cholesky_update_rank_k_f64(double *u, gsize n, gsize ldu, double *x, gsize k, gsize ldx)
{
  g_return_if_fail(u != NULL && (x != NULL || k == 0) && ldu >= n && ldx >= n);
  /* Row-major sweep: the rotations of all k vectors touch row i of U while
   * it is in cache.  This is a Givens QR of [U; X], whose R is the factor of
   * UᵀU + XᵀX, the same as k sequential rank-1 updates. */
  for (gsize i = 0; i < n; i++)
    for (gsize v = 0; v < k; v++)
      rotate_in(u + i * ldu, x + v * ldx, i, n);
}

gboolean
lethe_cholesky_downdate_f64(double *u, gsize n, gsize ldu, const double *x, GError **error)
{
  g_return_val_if_fail(u != NULL && x != NULL && ldu >= n, FALSE);
  if (n == 0)
    return TRUE;
  g_autofree double *p = g_new(double, n);
  g_autofree double *c = g_new(double, n);
  g_autofree double *s = g_new(double, n);
  g_autofree double *row = g_new0(double, n);

  /* Uᵀ p = x by forward substitution, row-oriented (axpy on rows of U) */
  memcpy(p, x, n * sizeof *p);
  double norm2 = 0;
  for (gsize i = 0; i < n; i++) {
    const double *ui = u + i * ldu;
    p[i] /= ui[i];
    for (gsize j = i + 1; j < n; j++)
      p[j] -= ui[j] * p[i];
    norm2 += p[i] * p[i];
  }
  /* A − xxᵀ = Uᵀ(I − ppᵀ)U is positive definite iff ‖p‖ < 1 */
  double alpha2 = 1.0 - norm2;
  if (!(alpha2 > DBL_EPSILON)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                "Cholesky downdate of order %zu would leave a matrix that is not positive "
                "definite (1 − xᵀA⁻¹x = %g); the vector removed was never added, or was "
                "removed twice",
                n, alpha2);
    return FALSE;
  }

  /* Rotations in planes (i, n) that zero p[i] against α, from the bottom */
  double alpha = sqrt(alpha2);
  for (gsize i = n; i-- > 0;) {
    double t = hypot(alpha, p[i]);
    c[i] = alpha / t;
    s[i] = p[i] / t;
    alpha = t;
  }
  /* Applying them to [U; 0] makes its last row xᵀ and leaves the factor of
   * A − xxᵀ above it; row[] is that last row (zero left of column i+1). */
  for (gsize i = n; i-- > 0;) {
    double *ui = u + i * ldu;
    for (gsize j = i; j < n; j++) {
      double t = s[i] * ui[j] + c[i] * row[j];
      ui[j] = c[i] * ui[j] - s[i] * row[j];
      row[j] = t;
    }
  }
  return TRUE;
}

gboolean
lethe_cholesky_downdate_rank_k_f64(double *u, gsize n, gsize ldu, const double *x, gsize k,
                                   gsize ldx, GError **error)
{
  g_return_val_if_fail(u != NULL && (x != NULL || k == 0) && ldu >= n && ldx >= n, FALSE);
  for (gsize v = 0; v < k; v++) {
    GError *local = NULL;
    if (!lethe_cholesky_downdate_f64(u, n, ldu, x + v * ldx, &local)) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                  "rank-%zu downdate stopped at vector %zu: %s; the factor holds the first %zu "
                  "downdates",
                  k, v, local->message, v);
      g_error_free(local);
      return FALSE;
    }
  }
  return TRUE;
}
