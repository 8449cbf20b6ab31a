/* Lethe — tests of the LAPACKE wrappers and the Cholesky up/downdates.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <lethe/error.h>
#include <lethe/nn-linalg.h>
#include <lethe/nn-rng.h>
#include <cblas.h>
#include <math.h>

static double *
random_matrix(LetheRng *rng, gsize m, gsize n)
{
  double *a = g_new(double, m *n);
  lethe_rng_fill_normal_f64(rng, a, m * n, 0.0, 1.0);
  return a;
}

/* ‖A − B‖_F / ‖B‖_F for m×n matrices with leading dimension n */
static double
rel_diff(const double *a, const double *b, gsize m, gsize n)
{
  double d = 0, nb = 0;
  for (gsize i = 0; i < m * n; i++) {
    d += (a[i] - b[i]) * (a[i] - b[i]);
    nb += b[i] * b[i];
  }
  return sqrt(d / (nb > 0 ? nb : 1));
}

/* max |QᵀQ − I| over the k columns of the m×k matrix q */
static double
orthogonality_error(const double *q, gsize m, gsize k)
{
  g_autofree double *g = g_new(double, k *k);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)k, (int)m, 1.0, q, (int)k, q,
              (int)k, 0.0, g, (int)k);
  double e = 0;
  for (gsize i = 0; i < k; i++)
    for (gsize j = 0; j < k; j++)
      e = MAX(e, fabs(g[i * k + j] - (i == j)));
  return e;
}

/* A = G Gᵀ / n + I: symmetric positive definite with condition number ~5 */
static double *
random_spd(LetheRng *rng, gsize n)
{
  g_autofree double *g = random_matrix(rng, n, n);
  double *a = g_new(double, n *n);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)n, 1.0 / n, g, (int)n,
              g, (int)n, 0.0, a, (int)n);
  for (gsize i = 0; i < n; i++)
    a[i * n + i] += 1.0;
  return a;
}

static void
test_cholesky_of_known_matrix_is_exact(void)
{
  double a[9] = {4, 12, -16, 12, 37, -43, -16, -43, 98};
  const double u_expected[9] = {2, 6, -8, 0, 1, 5, 0, 0, 3};
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_linalg_cholesky_f64(a, 3, 3, &error));
  LETHE_ASSERT_NO_ERROR(error);
  for (int i = 0; i < 9; i++)
    CU_ASSERT_DOUBLE_EQUAL(a[i], u_expected[i], 1e-14);

  /* A x = b for x = (1, 2, 3) */
  double b[3] = {-20, -43, 192};
  lethe_linalg_cholesky_solve_f64(a, 3, 3, b, 1, 1);
  for (int i = 0; i < 3; i++)
    CU_ASSERT_DOUBLE_EQUAL(b[i], i + 1.0, 1e-12);

  float af[9] = {4, 12, -16, 12, 37, -43, -16, -43, 98};
  CU_ASSERT_TRUE(lethe_linalg_cholesky_f32(af, 3, 3, &error));
  for (int i = 0; i < 9; i++)
    CU_ASSERT_DOUBLE_EQUAL(af[i], u_expected[i], 1e-5);
  float bf[6] = {-20, 4, -43, 12, 192, -16}; /* two right-hand sides: x and e0 */
  lethe_linalg_cholesky_solve_f32(af, 3, 3, bf, 2, 2);
  for (int i = 0; i < 3; i++) {
    CU_ASSERT_DOUBLE_EQUAL(bf[2 * i], i + 1.0, 1e-4);
    CU_ASSERT_DOUBLE_EQUAL(bf[2 * i + 1], i == 0, 1e-4);
  }
}

static void
test_cholesky_refuses_indefinite_and_nan(void)
{
  double a[4] = {1, 2, 2, 1};
  GError *error = NULL;
  CU_ASSERT_FALSE(lethe_linalg_cholesky_f64(a, 2, 2, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC, "leading minor of order 2");
  double b[4] = {1, 0, 0, NAN};
  CU_ASSERT_FALSE(lethe_linalg_cholesky_f64(b, 2, 2, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC, "NaN or Inf");
  double c[9] = {1, 0, 0, 0, 1, 0, 0, 0, 0};
  CU_ASSERT_FALSE(lethe_linalg_solve_spd_f64(c, 3, 3, b, 1, 1, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC, "add a ridge term");
}

static void
test_cholesky_inverse_and_spd_solve(void)
{
  LetheRng rng;
  lethe_rng_init(&rng, 1);
  const gsize n = 40;
  g_autofree double *a = random_spd(&rng, n);
  g_autofree double *f = g_memdup2(a, n * n * sizeof *a);
  GError *error = NULL;
  CU_ASSERT_TRUE_FATAL(lethe_linalg_cholesky_f64(f, n, n, &error));
  /* Uᵀ U reproduces A; the strict lower triangle is zero */
  g_autofree double *r = g_new(double, n *n);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, f, (int)n, f,
              (int)n, 0.0, r, (int)n);
  CU_ASSERT(rel_diff(r, a, n, n) < 1e-14);
  CU_ASSERT_EQUAL(f[(n - 1) * n], 0.0);
  CU_ASSERT_TRUE_FATAL(lethe_linalg_cholesky_inverse_f64(f, n, n, &error));
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, a, (int)n, f,
              (int)n, 0.0, r, (int)n);
  double e = 0;
  for (gsize i = 0; i < n; i++)
    for (gsize j = 0; j < n; j++)
      e = MAX(e, fabs(r[i * n + j] - (i == j)));
  CU_ASSERT(e < 1e-13);

  /* solve_spd with three right-hand sides against A X */
  g_autofree double *x = random_matrix(&rng, n, 3);
  g_autofree double *b = g_new(double, n * 3);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, 3, (int)n, 1.0, a, (int)n, x, 3,
              0.0, b, 3);
  CU_ASSERT_TRUE(lethe_linalg_solve_spd_f64(a, n, n, b, 3, 3, &error));
  CU_ASSERT(rel_diff(b, x, n, 3) < 1e-13);
}

static void
check_qr(const double *a, gsize m, gsize n)
{
  gsize k = MIN(m, n);
  g_autofree double *q = g_new(double, m *k);
  g_autofree double *r = g_new(double, k *n);
  g_autofree double *qr = g_new(double, m *n);
  GError *error = NULL;
  CU_ASSERT_TRUE_FATAL(lethe_linalg_qr_f64(a, m, n, n, q, r, &error));
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0, q, (int)k, r,
              (int)n, 0.0, qr, (int)n);
  CU_ASSERT(rel_diff(qr, a, m, n) < 1e-14);
  CU_ASSERT(orthogonality_error(q, m, k) < 1e-14);
  for (gsize i = 0; i < k; i++)
    for (gsize j = 0; j < i; j++)
      CU_ASSERT_EQUAL(r[i * n + j], 0.0);
}

static void
test_qr_reconstructs_with_orthonormal_q(void)
{
  LetheRng rng;
  lethe_rng_init(&rng, 2);
  g_autofree double *tall = random_matrix(&rng, 50, 20);
  g_autofree double *wide = random_matrix(&rng, 5, 8);
  check_qr(tall, 50, 20);
  check_qr(wide, 5, 8);

  /* f32: the first column of Q is ±a0/|a0| */
  float a[6] = {3, 1, 4, 1, 0, 5};
  float q[6], r[4];
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_linalg_qr_f32(a, 3, 2, 2, q, r, &error));
  CU_ASSERT_DOUBLE_EQUAL(fabs(r[0]), 5.0, 1e-5);
  CU_ASSERT_DOUBLE_EQUAL(q[0] * r[0], 3.0, 1e-5);
  CU_ASSERT_DOUBLE_EQUAL(q[2] * r[0], 4.0, 1e-5);
  CU_ASSERT_DOUBLE_EQUAL(q[4] * r[0], 0.0, 1e-5);
}

static void
test_svd_known_values_and_reconstruction(void)
{
  /* [[3,0],[4,5]]: AᵀA has eigenvalues 45 and 5 */
  double a2[4] = {3, 0, 4, 5}, s2[2];
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_linalg_svd_f64(a2, 2, 2, 2, FALSE, NULL, s2, NULL, &error));
  CU_ASSERT_DOUBLE_EQUAL(s2[0], sqrt(45.0), 1e-14);
  CU_ASSERT_DOUBLE_EQUAL(s2[1], sqrt(5.0), 1e-14);

  LetheRng rng;
  lethe_rng_init(&rng, 3);
  const gsize m = 40, n = 30;
  g_autofree double *a = random_matrix(&rng, m, n);
  g_autofree double *u = g_new(double, m *m);
  g_autofree double *s = g_new(double, n);
  g_autofree double *vt = g_new(double, n *n);
  CU_ASSERT_TRUE_FATAL(lethe_linalg_svd_f64(a, m, n, n, FALSE, u, s, vt, &error));
  CU_ASSERT(orthogonality_error(u, m, n) < 1e-13);
  CU_ASSERT(orthogonality_error(vt, n, n) < 1e-13); /* square: rows too */
  for (gsize i = 1; i < n; i++)
    CU_ASSERT(s[i] <= s[i - 1]);
  /* U diag(s) Vᵀ = A */
  g_autofree double *us = g_new(double, m *n);
  g_autofree double *rec = g_new(double, m *n);
  for (gsize i = 0; i < m; i++)
    for (gsize j = 0; j < n; j++)
      us[i * n + j] = u[i * n + j] * s[j];
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)n, 1.0, us, (int)n,
              vt, (int)n, 0.0, rec, (int)n);
  CU_ASSERT(rel_diff(rec, a, m, n) < 1e-14);

  /* full U is square orthogonal; its first n columns span the same space */
  CU_ASSERT_TRUE_FATAL(lethe_linalg_svd_f64(a, m, n, n, TRUE, u, s, vt, &error));
  CU_ASSERT(orthogonality_error(u, m, m) < 1e-13);

  /* f32 on the known matrix */
  float af[4] = {3, 0, 4, 5}, sf[2], uf[4], vtf[4];
  CU_ASSERT_TRUE(lethe_linalg_svd_f32(af, 2, 2, 2, FALSE, uf, sf, vtf, &error));
  CU_ASSERT_DOUBLE_EQUAL(sf[0], sqrt(45.0), 1e-5);
  CU_ASSERT_DOUBLE_EQUAL(sf[1], sqrt(5.0), 1e-5);
  CU_ASSERT_DOUBLE_EQUAL(uf[0] * sf[0] * vtf[0] + uf[1] * sf[1] * vtf[2], 3.0, 1e-5);
}

static void
test_svd_truncated_matches_full_on_low_rank(void)
{
  LetheRng rng;
  lethe_rng_init(&rng, 4);
  const gsize m = 120, n = 80, r = 6;
  /* A = B C + 1e-8 noise: rank 6 with a sharp gap */
  g_autofree double *bm = random_matrix(&rng, m, r);
  g_autofree double *cm = random_matrix(&rng, r, n);
  g_autofree double *a = random_matrix(&rng, m, n);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)r, 1.0, bm, (int)r,
              cm, (int)n, 1e-8, a, (int)n);
  g_autofree double *s_full = g_new(double, n);
  GError *error = NULL;
  CU_ASSERT_TRUE_FATAL(lethe_linalg_svd_f64(a, m, n, n, FALSE, NULL, s_full, NULL, &error));
  double u[120 * 4], s[4], vt[4 * 80];
  LetheRng sketch;
  lethe_rng_init_stream(&sketch, 4, 1);
  CU_ASSERT_TRUE_FATAL(
      lethe_linalg_svd_truncated_f64(a, m, n, n, 4, 5, 2, &sketch, u, s, vt, &error));
  for (int i = 0; i < 4; i++)
    CU_ASSERT(fabs(s[i] - s_full[i]) < 1e-10 * s_full[0]);
  CU_ASSERT(orthogonality_error(u, m, 4) < 1e-13);
  CU_ASSERT(s_full[r] < 1e-6);
  /* the same stream gives the same answer */
  double s2[4];
  lethe_rng_init_stream(&sketch, 4, 1);
  CU_ASSERT_TRUE(
      lethe_linalg_svd_truncated_f64(a, m, n, n, 4, 5, 2, &sketch, NULL, s2, NULL, &error));
  CU_ASSERT_EQUAL(memcmp(s, s2, sizeof s), 0);
}

static void
test_eigh_known_and_random(void)
{
  double a2[4] = {2, 1, 1, 2}, w2[2];
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_linalg_eigh_f64(a2, 2, 2, w2, TRUE, &error));
  CU_ASSERT_DOUBLE_EQUAL(w2[0], 1.0, 1e-14);
  CU_ASSERT_DOUBLE_EQUAL(w2[1], 3.0, 1e-14);
  /* eigenvector of 3 is (1,1)/√2 up to sign: column 1 */
  CU_ASSERT_DOUBLE_EQUAL(fabs(a2[1]), M_SQRT1_2, 1e-14);
  CU_ASSERT_DOUBLE_EQUAL(a2[1] * a2[3], 0.5, 1e-14);

  LetheRng rng;
  lethe_rng_init(&rng, 5);
  const gsize n = 30;
  g_autofree double *a = random_spd(&rng, n);
  g_autofree double *v = g_memdup2(a, n * n * sizeof *a);
  g_autofree double *w = g_new(double, n);
  CU_ASSERT_TRUE_FATAL(lethe_linalg_eigh_f64(v, n, n, w, TRUE, &error));
  CU_ASSERT(orthogonality_error(v, n, n) < 1e-13);
  g_autofree double *av = g_new(double, n *n);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, a, (int)n, v,
              (int)n, 0.0, av, (int)n);
  double e = 0;
  for (gsize i = 0; i < n; i++)
    for (gsize j = 0; j < n; j++)
      e = MAX(e, fabs(av[i * n + j] - v[i * n + j] * w[j]));
  CU_ASSERT(e < 1e-13);
  for (gsize i = 1; i < n; i++)
    CU_ASSERT(w[i] >= w[i - 1]);

  float af[4] = {2, 1, 1, 2}, wf[2];
  CU_ASSERT_TRUE(lethe_linalg_eigh_f32(af, 2, 2, wf, FALSE, &error));
  CU_ASSERT_DOUBLE_EQUAL(wf[0], 1.0, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(wf[1], 3.0, 1e-6);
}

static void
test_lstsq_exact_fit_and_minimum_norm(void)
{
  /* y = 2 + 3t at t = 0..4 */
  double a[10], y[5], x[2];
  for (int t = 0; t < 5; t++) {
    a[2 * t] = 1, a[2 * t + 1] = t;
    y[t] = 2 + 3.0 * t;
  }
  gsize rank = 0;
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_linalg_lstsq_f64(a, 5, 2, 2, y, 1, 1, -1, x, &rank, &error));
  CU_ASSERT_EQUAL(rank, 2);
  CU_ASSERT_DOUBLE_EQUAL(x[0], 2.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(x[1], 3.0, 1e-12);

  /* duplicated column: y = 4t is fitted by any x0 + x1 = 4; the minimum
   * norm solution splits it evenly */
  for (int t = 0; t < 5; t++) {
    a[2 * t] = a[2 * t + 1] = t;
    y[t] = 4.0 * t;
  }
  CU_ASSERT_TRUE(lethe_linalg_lstsq_f64(a, 5, 2, 2, y, 1, 1, -1, x, &rank, &error));
  CU_ASSERT_EQUAL(rank, 1);
  CU_ASSERT_DOUBLE_EQUAL(x[0], 2.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(x[1], 2.0, 1e-12);

  /* f32, with a residual: mean of (1, 2, 6) */
  float ones[3] = {1, 1, 1}, yf[3] = {1, 2, 6}, xf[1];
  CU_ASSERT_TRUE(lethe_linalg_lstsq_f32(ones, 3, 1, 1, yf, 1, 1, -1, xf, &rank, &error));
  CU_ASSERT_DOUBLE_EQUAL(xf[0], 3.0, 1e-5);

  double bad[2] = {1, INFINITY};
  CU_ASSERT_FALSE(lethe_linalg_lstsq_f64(bad, 2, 1, 1, y, 1, 1, -1, x, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC, "NaN or Inf");
}

static void
test_pinv_rank_one_and_penrose_conditions(void)
{
  /* rank 1: A⁺ = Aᵀ / ‖A‖_F² */
  double a[4] = {1, 2, 2, 4}, p[4];
  gsize rank = 0;
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_linalg_pinv_f64(a, 2, 2, 2, -1, p, &rank, &error));
  CU_ASSERT_EQUAL(rank, 1);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      CU_ASSERT_DOUBLE_EQUAL(p[i * 2 + j], a[j * 2 + i] / 25.0, 1e-15);
  float af[4] = {1, 2, 2, 4}, pf[4];
  CU_ASSERT_TRUE(lethe_linalg_pinv_f32(af, 2, 2, 2, -1, pf, &rank, &error));
  CU_ASSERT_EQUAL(rank, 1);
  CU_ASSERT_DOUBLE_EQUAL(pf[1], 2 / 25.0, 1e-6);

  /* 30×20 of rank 12: A A⁺ A = A and A⁺ A A⁺ = A⁺ */
  LetheRng rng;
  lethe_rng_init(&rng, 6);
  const gsize m = 30, n = 20, r = 12;
  g_autofree double *b = random_matrix(&rng, m, r);
  g_autofree double *c = random_matrix(&rng, r, n);
  g_autofree double *x = g_new(double, m *n);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)r, 1.0, b, (int)r, c,
              (int)n, 0.0, x, (int)n);
  g_autofree double *xp = g_new(double, n *m);
  CU_ASSERT_TRUE_FATAL(lethe_linalg_pinv_f64(x, m, n, n, 1e-10, xp, &rank, &error));
  CU_ASSERT_EQUAL(rank, r);
  g_autofree double *t = g_new(double, m *m);
  g_autofree double *t2 = g_new(double, m *n);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)m, (int)n, 1.0, x, (int)n, xp,
              (int)m, 0.0, t, (int)m);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)m, 1.0, t, (int)m, x,
              (int)n, 0.0, t2, (int)n);
  CU_ASSERT(rel_diff(t2, x, m, n) < 1e-12);
  g_autofree double *t3 = g_new(double, n *m);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m, (int)m, 1.0, xp, (int)m, t,
              (int)m, 0.0, t3, (int)m);
  CU_ASSERT(rel_diff(t3, xp, n, m) < 1e-12);
}

static void
test_syrk_adds_and_removes_samples(void)
{
  double x[6] = {1, 2, 3, -1, 0, 2}; /* two samples of 3 features */
  double c[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  lethe_linalg_syrk_f64(c, 3, 3, x, 2, 3, 1.0, 1.0);
  const double expect[9] = {1 + 1 + 1, 2, 3 - 2, 2, 1 + 4, 6, 1, 6, 1 + 9 + 4};
  for (int i = 0; i < 9; i++)
    CU_ASSERT_DOUBLE_EQUAL(c[i], expect[i], 1e-15);
  lethe_linalg_syrk_f64(c, 3, 3, x, 2, 3, -1.0, 1.0);
  for (int i = 0; i < 9; i++)
    CU_ASSERT_DOUBLE_EQUAL(c[i], (i % 4) == 0, 1e-15);
  float xf[3] = {1, 2, 3}, cf[9] = {0};
  lethe_linalg_syrk_f32(cf, 3, 3, xf, 1, 3, 2.0f, 0.0f);
  CU_ASSERT_DOUBLE_EQUAL(cf[5], 12.0, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(cf[7], 12.0, 1e-6);
}

/* 200 alternating rank-1 updates and downdates at n = 256 stay within
 * rounding of a fresh factorisation of the same matrix. */
static void
test_cholesky_update_downdate_match_fresh_factor(void)
{
  LetheRng rng;
  lethe_rng_init(&rng, 7);
  const gsize n = 256, steps = 200;
  g_autofree double *a = random_spd(&rng, n);
  g_autofree double *u = g_memdup2(a, n * n * sizeof *a);
  GError *error = NULL;
  CU_ASSERT_TRUE_FATAL(lethe_linalg_cholesky_f64(u, n, n, &error));
  g_autofree double *added = g_new(double, steps *n);
  g_autofree double *x = g_new(double, n);
  gsize n_added = 0;
  for (gsize step = 0; step < steps; step++) {
    if (step % 2 == 0 || n_added == 0) {
      double *v = added + n_added++ * n;
      lethe_rng_fill_normal_f64(&rng, v, n, 0.0, 1.0);
      memcpy(x, v, n * sizeof *x);
      lethe_cholesky_update_f64(u, n, n, x);
      cblas_dsyr(CblasRowMajor, CblasUpper, (int)n, 1.0, v, 1, a, (int)n);
    } else {
      /* remove a random earlier vector (swap it to the end of the list) */
      gsize pick = lethe_rng_below(&rng, n_added);
      double *v = added + pick * n, *last = added + (n_added - 1) * n;
      CU_ASSERT_TRUE_FATAL(lethe_cholesky_downdate_f64(u, n, n, v, &error));
      cblas_dsyr(CblasRowMajor, CblasUpper, (int)n, -1.0, v, 1, a, (int)n);
      memcpy(x, v, n * sizeof *x);
      memcpy(v, last, n * sizeof *x);
      memcpy(last, x, n * sizeof *x);
      n_added--;
    }
  }
  g_autofree double *fresh = g_memdup2(a, n * n * sizeof *a);
  CU_ASSERT_TRUE_FATAL(lethe_linalg_cholesky_f64(fresh, n, n, &error));
  double rel = rel_diff(u, fresh, n, n);
  printf("\n  n=%zu, %zu alternating up/downdates: ‖U − chol(A)‖/‖chol(A)‖ = %.2e\n", n, steps,
         rel);
  CU_ASSERT(rel < 1e-12);
}

static void
test_cholesky_rank_k_update_and_downdate(void)
{
  LetheRng rng;
  lethe_rng_init(&rng, 8);
  const gsize n = 100, k = 10;
  g_autofree double *a = random_spd(&rng, n);
  g_autofree double *u = g_memdup2(a, n * n * sizeof *a);
  GError *error = NULL;
  CU_ASSERT_TRUE_FATAL(lethe_linalg_cholesky_f64(u, n, n, &error));
  g_autofree double *u0 = g_memdup2(u, n * n * sizeof *u);
  g_autofree double *x = random_matrix(&rng, k, n);
  g_autofree double *xw = g_memdup2(x, k * n * sizeof *x);
  lethe_cholesky_update_rank_k_f64(u, n, n, xw, k, n);
  lethe_linalg_syrk_f64(a, n, n, x, k, n, 1.0, 1.0);
  g_autofree double *fresh = g_memdup2(a, n * n * sizeof *a);
  CU_ASSERT_TRUE_FATAL(lethe_linalg_cholesky_f64(fresh, n, n, &error));
  CU_ASSERT(rel_diff(u, fresh, n, n) < 1e-13);
  CU_ASSERT_TRUE(lethe_cholesky_downdate_rank_k_f64(u, n, n, x, k, n, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT(rel_diff(u, u0, n, n) < 1e-13);
}

static void
test_cholesky_downdate_detects_indefinite(void)
{
  /* A = I; removing 2 e0 would leave -3 on the diagonal */
  double u[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, before[9];
  memcpy(before, u, sizeof u);
  const double x[3] = {2, 0, 0};
  GError *error = NULL;
  CU_ASSERT_FALSE(lethe_cholesky_downdate_f64(u, 3, 3, x, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC, "not positive definite");
  CU_ASSERT_EQUAL(memcmp(u, before, sizeof u), 0);
  /* removing exactly e0 leaves a singular matrix: refused too */
  const double e0[3] = {1, 0, 0};
  CU_ASSERT_FALSE(lethe_cholesky_downdate_f64(u, 3, 3, e0, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC, "xᵀA⁻¹x");

  /* rank 2: the first vector (0.6 e0) is fine, the second is not */
  const double xs[6] = {0.6, 0, 0, 0.9, 0, 0};
  CU_ASSERT_FALSE(lethe_cholesky_downdate_rank_k_f64(u, 3, 3, xs, 2, 3, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC, "stopped at vector 1");
  CU_ASSERT_DOUBLE_EQUAL(u[0], 0.8, 1e-15); /* sqrt(1 − 0.36) */
  CU_ASSERT_DOUBLE_EQUAL(u[4], 1.0, 1e-15);
}

LETHE_TEST_MAIN("linalg", LETHE_TEST(test_cholesky_of_known_matrix_is_exact),
                LETHE_TEST(test_cholesky_refuses_indefinite_and_nan),
                LETHE_TEST(test_cholesky_inverse_and_spd_solve),
                LETHE_TEST(test_qr_reconstructs_with_orthonormal_q),
                LETHE_TEST(test_svd_known_values_and_reconstruction),
                LETHE_TEST(test_svd_truncated_matches_full_on_low_rank),
                LETHE_TEST(test_eigh_known_and_random),
                LETHE_TEST(test_lstsq_exact_fit_and_minimum_norm),
                LETHE_TEST(test_pinv_rank_one_and_penrose_conditions),
                LETHE_TEST(test_syrk_adds_and_removes_samples),
                LETHE_TEST(test_cholesky_update_downdate_match_fresh_factor),
                LETHE_TEST(test_cholesky_rank_k_update_and_downdate),
                LETHE_TEST(test_cholesky_downdate_detects_indefinite))
