/* Lethe — tests of the real FFT wrappers.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <lethe/nn-fft.h>
#include <lethe/nn-rng.h>
#include <math.h>

static void
round_trip(gsize n, guint64 seed, double *max_err)
{
  LetheRng rng;
  lethe_rng_init(&rng, seed);
  g_autofree float *x = g_new(float, n);
  g_autofree float *y = g_new(float, n);
  g_autofree float *spec = g_new(float, 2 * (n / 2 + 1));
  lethe_rng_fill_normal_f32(&rng, x, n, 0.0f, 1.0f);
  lethe_fft_rfft_f32(x, n, spec);
  lethe_fft_irfft_f32(spec, n, y);
  double e = 0;
  for (gsize i = 0; i < n; i++)
    e = MAX(e, fabs(x[i] - y[i]));
  *max_err = e;
}

static void
test_fft_round_trip_even_odd_prime(void)
{
  const gsize sizes[] = {1, 2, 8, 1000, 999, 1009, 4096};
  for (gsize i = 0; i < G_N_ELEMENTS(sizes); i++) {
    double e;
    round_trip(sizes[i], i, &e);
    if (e >= 1e-5)
      fprintf(stderr, "\n  n=%zu round-trip error %g\n", sizes[i], e);
    CU_ASSERT(e < 1e-5);
  }
}

static void
test_fft_parseval(void)
{
  const gsize n = 1000, nc = n / 2 + 1;
  LetheRng rng;
  lethe_rng_init(&rng, 21);
  float x[1000], spec[2 * 501];
  lethe_rng_fill_normal_f32(&rng, x, n, 0.5f, 2.0f);
  lethe_fft_rfft_f32(x, n, spec);
  double time_energy = 0, freq_energy = 0;
  for (gsize t = 0; t < n; t++)
    time_energy += (double)x[t] * x[t];
  for (gsize k = 0; k < nc; k++) {
    double p = (double)spec[2 * k] * spec[2 * k] + (double)spec[2 * k + 1] * spec[2 * k + 1];
    /* bins 1 .. n/2−1 stand for their mirror image too */
    freq_energy += (k == 0 || k == n / 2) ? p : 2 * p;
  }
  freq_energy /= n;
  CU_ASSERT(fabs(time_energy - freq_energy) < 1e-5 * time_energy);
  /* bin 0 is the sum of the samples */
  double sum = 0;
  for (gsize t = 0; t < n; t++)
    sum += x[t];
  CU_ASSERT_DOUBLE_EQUAL(spec[0], sum, 1e-3);
  CU_ASSERT_DOUBLE_EQUAL(spec[1], 0.0, 1e-6);
}

static void
test_fft_sinusoid_lands_in_its_bin(void)
{
  /* 3 cos(2π 5t/n) + 2 sin(2π 12t/n): bin 5 = 3n/2, bin 12 = −i 2n/2 = −i n */
  const gsize n = 256;
  float x[256], spec[2 * 129];
  for (gsize t = 0; t < n; t++)
    x[t] = 3 * cosf(2 * G_PI * 5 * t / n) + 2 * sinf(2 * G_PI * 12 * t / n);
  lethe_fft_rfft_f32(x, n, spec);
  CU_ASSERT_DOUBLE_EQUAL(spec[2 * 5], 3.0 * n / 2, 1e-3);
  CU_ASSERT_DOUBLE_EQUAL(spec[2 * 5 + 1], 0.0, 1e-3);
  CU_ASSERT_DOUBLE_EQUAL(spec[2 * 12], 0.0, 1e-3);
  CU_ASSERT_DOUBLE_EQUAL(spec[2 * 12 + 1], -2.0 * n / 2, 1e-3);
  for (gsize k = 0; k <= n / 2; k++)
    if (k != 5 && k != 12)
      CU_ASSERT(hypot(spec[2 * k], spec[2 * k + 1]) < 1e-3);
  double freq[129];
  lethe_fft_rfftfreq(n, 1.0 / 500, freq); /* 500 Hz sampling */
  CU_ASSERT_DOUBLE_EQUAL(freq[5], 5 * 500.0 / 256, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(freq[128], 250.0, 1e-12);
}

static void
test_fft_batch_matches_rows_and_keeps_input(void)
{
  const gsize n = 100, rows = 12, nc = n / 2 + 1;
  LetheRng rng;
  lethe_rng_init(&rng, 4);
  g_autofree float *x = g_new(float, rows *n);
  lethe_rng_fill_normal_f32(&rng, x, rows * n, 0.0f, 1.0f);
  g_autofree float *x0 = g_memdup2(x, rows * n * sizeof *x);
  g_autofree float *spec = g_new(float, rows * 2 * nc);
  g_autofree float *one = g_new(float, 2 * nc);
  lethe_fft_rfft_batch_f32(x, n, rows, spec);
  CU_ASSERT_EQUAL(memcmp(x, x0, rows * n * sizeof *x), 0);
  lethe_fft_rfft_f32(x + 7 * n, n, one);
  CU_ASSERT_EQUAL(memcmp(one, spec + 7 * 2 * nc, 2 * nc * sizeof *one), 0);
  g_autofree float *spec0 = g_memdup2(spec, rows * 2 * nc * sizeof *spec);
  g_autofree float *y = g_new(float, rows *n);
  lethe_fft_irfft_batch_f32(spec, n, rows, y);
  CU_ASSERT_EQUAL(memcmp(spec, spec0, rows * 2 * nc * sizeof *spec), 0); /* input kept */
  for (gsize i = 0; i < rows * n; i++)
    CU_ASSERT_FATAL(fabsf(x[i] - y[i]) < 1e-5f);
}

static gpointer
worker(gpointer data)
{
  gsize id = GPOINTER_TO_SIZE(data);
  int failures = 0;
  for (int rep = 0; rep < 50; rep++) {
    double e;
    round_trip(64 + 37 * ((id + rep) % 16), id * 1000 + rep, &e); /* fresh lengths race */
    failures += e >= 1e-5;
  }
  return GINT_TO_POINTER(failures);
}

static void
test_fft_is_thread_safe(void)
{
  GThread *threads[4];
  for (gsize i = 0; i < 4; i++)
    threads[i] = g_thread_new("fft", worker, GSIZE_TO_POINTER(i));
  for (gsize i = 0; i < 4; i++)
    CU_ASSERT_EQUAL(GPOINTER_TO_INT(g_thread_join(threads[i])), 0);
}

LETHE_TEST_MAIN("fft", LETHE_TEST(test_fft_round_trip_even_odd_prime),
                LETHE_TEST(test_fft_parseval), LETHE_TEST(test_fft_sinusoid_lands_in_its_bin),
                LETHE_TEST(test_fft_batch_matches_rows_and_keeps_input),
                LETHE_TEST(test_fft_is_thread_safe))
