/* Lethe — tests of the Philox4x32-10 RNG.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <lethe/nn-rng.h>
#include <math.h>

/* Internal block function (core/nn/rng.c), exported for these tests. */
void lethe_rng_philox4x32_10(const guint32 counter[4], const guint32 key[2], guint32 out[4]);

/* Known-answer vectors of Random123 (kat_vectors, "philox4x32 10"). */
static void
test_rng_philox_known_answers(void)
{
  static const struct {
    guint32 ctr[4], key[2], out[4];
  } kat[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(kat); i++) {
    guint32 out[4];
    lethe_rng_philox4x32_10(kat[i].ctr, kat[i].key, out);
    for (int j = 0; j < 4; j++)
      CU_ASSERT_EQUAL(out[j], kat[i].out[j]);
  }
}

static void
test_rng_u32_stream_is_philox_of_successive_counters(void)
{
  LetheRng rng;
  guint64 seed = G_GUINT64_CONSTANT(0x0123456789abcdef);
  lethe_rng_init_stream(&rng, seed, 7);
  guint32 key[2] = {(guint32)seed, (guint32)(seed >> 32)};
  for (guint32 block = 0; block < 3; block++) {
    guint32 ctr[4] = {block, 0, 7, 0}, out[4];
    lethe_rng_philox4x32_10(ctr, key, out);
    for (int j = 0; j < 4; j++)
      CU_ASSERT_EQUAL(lethe_rng_u32(&rng), out[j]);
  }
}

static void
test_rng_block_counter_carries_into_high_word(void)
{
  LetheRng rng;
  lethe_rng_init(&rng, 1);
  rng.counter[0] = 0xffffffffu;
  lethe_rng_u32(&rng);
  CU_ASSERT_EQUAL(rng.counter[0], 0);
  CU_ASSERT_EQUAL(rng.counter[1], 1);
  CU_ASSERT_EQUAL(rng.counter[2], 0); /* the stream id is untouched */
}

static void
test_rng_same_seed_same_sequence_and_copy_forks(void)
{
  LetheRng a, b;
  lethe_rng_init(&a, 42);
  lethe_rng_init_stream(&b, 42, 0);
  for (int i = 0; i < 1000; i++)
    CU_ASSERT_EQUAL_FATAL(lethe_rng_u64(&a), lethe_rng_u64(&b));
  LetheRng c = a; /* copying the value forks the stream at this point */
  for (int i = 0; i < 10; i++)
    CU_ASSERT_EQUAL(lethe_rng_normal(&a), lethe_rng_normal(&c));
  LetheRng d;
  lethe_rng_init(&d, 43);
  lethe_rng_init(&a, 42);
  int same = 0;
  for (int i = 0; i < 1000; i++)
    same += lethe_rng_u32(&a) == lethe_rng_u32(&d);
  CU_ASSERT(same <= 2);
}

static void
test_rng_streams_are_uncorrelated(void)
{
  LetheRng s0, s1;
  lethe_rng_init_stream(&s0, 5, 0);
  lethe_rng_init_stream(&s1, 5, 1);
  const int n = 100000;
  double sxy = 0, sx = 0, sy = 0, sxx = 0, syy = 0;
  int equal = 0;
  for (int i = 0; i < n; i++) {
    double x = lethe_rng_uniform(&s0), y = lethe_rng_uniform(&s1);
    equal += x == y;
    sx += x, sy += y, sxy += x * y, sxx += x * x, syy += y * y;
  }
  double cov = sxy / n - (sx / n) * (sy / n);
  double r = cov / sqrt((sxx / n - sx * sx / n / n) * (syy / n - sy * sy / n / n));
  CU_ASSERT_EQUAL(equal, 0);
  CU_ASSERT(fabs(r) < 5.0 / sqrt(n)); /* 5 sigma */
}

static void
test_rng_derive_seed_depends_on_seed_and_name(void)
{
  guint64 a = lethe_rng_derive_seed(42, "learn");
  CU_ASSERT_EQUAL(a, lethe_rng_derive_seed(42, "learn"));
  CU_ASSERT_NOT_EQUAL(a, lethe_rng_derive_seed(42, "learm"));
  CU_ASSERT_NOT_EQUAL(a, lethe_rng_derive_seed(43, "learn"));
  CU_ASSERT_NOT_EQUAL(a, 42);
  CU_ASSERT_EQUAL(lethe_rng_derive_seed(1, NULL), lethe_rng_derive_seed(1, ""));
  /* avalanche: one flipped name bit changes about half of the 64 bits */
  int bits = __builtin_popcountll(lethe_rng_derive_seed(7, "a") ^ lethe_rng_derive_seed(7, "c"));
  CU_ASSERT(bits > 16 && bits < 48);
}

static void
test_rng_uniform_moments_and_range(void)
{
  LetheRng rng;
  lethe_rng_init(&rng, 2024);
  const int n = 200000;
  double s = 0, ss = 0, lo = 1, hi = 0;
  for (int i = 0; i < n; i++) {
    double u = lethe_rng_uniform(&rng);
    s += u, ss += u * u;
    lo = MIN(lo, u), hi = MAX(hi, u);
  }
  double mean = s / n, var = ss / n - mean * mean;
  CU_ASSERT(lo >= 0.0 && hi < 1.0);
  CU_ASSERT(fabs(mean - 0.5) < 5 * sqrt(1.0 / 12 / n));
  CU_ASSERT(fabs(var - 1.0 / 12) < 0.002);

  float f[10000];
  lethe_rng_fill_uniform_f32(&rng, f, G_N_ELEMENTS(f), -2.0f, 3.0f);
  double fs = 0;
  for (gsize i = 0; i < G_N_ELEMENTS(f); i++) {
    CU_ASSERT_FATAL(f[i] >= -2.0f && f[i] < 3.0f);
    fs += f[i];
  }
  CU_ASSERT(fabs(fs / G_N_ELEMENTS(f) - 0.5) < 5 * 5 / sqrt(12.0 * G_N_ELEMENTS(f)));
}

static void
test_rng_normal_moments(void)
{
  LetheRng rng;
  lethe_rng_init(&rng, 99);
  const gsize n = 400000;
  g_autofree double *z = g_new(double, n);
  lethe_rng_fill_normal_f64(&rng, z, n, 0.0, 1.0);
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
  for (gsize i = 0; i < n; i++) {
    double x = z[i];
    m1 += x, m2 += x * x, m3 += x * x * x, m4 += x * x * x * x;
  }
  m1 /= n, m2 /= n, m3 /= n, m4 /= n;
  CU_ASSERT(fabs(m1) < 5 / sqrt((double)n));
  CU_ASSERT(fabs(m2 - 1) < 5 * sqrt(2.0 / n));
  CU_ASSERT(fabs(m3) < 5 * sqrt(15.0 / n));
  CU_ASSERT(fabs(m4 - 3) < 5 * sqrt(96.0 / n));

  /* single draws and the f32 fill with mean and stddev */
  double s = 0, ss = 0;
  for (int i = 0; i < 100000; i++) {
    double x = lethe_rng_normal(&rng);
    s += x, ss += x * x;
  }
  CU_ASSERT(fabs(s / 1e5) < 5 / sqrt(1e5));
  CU_ASSERT(fabs(ss / 1e5 - 1) < 5 * sqrt(2 / 1e5));
  float f[20001];
  lethe_rng_fill_normal_f32(&rng, f, G_N_ELEMENTS(f), 3.0f, 0.5f);
  s = ss = 0;
  for (gsize i = 0; i < G_N_ELEMENTS(f); i++)
    s += f[i], ss += (f[i] - 3.0) * (f[i] - 3.0);
  CU_ASSERT(fabs(s / G_N_ELEMENTS(f) - 3.0) < 5 * 0.5 / sqrt(20001.0));
  CU_ASSERT(fabs(ss / G_N_ELEMENTS(f) - 0.25) < 5 * 0.25 * sqrt(2 / 20001.0));
}

static void
test_rng_below_is_in_range_and_uniform(void)
{
  LetheRng rng;
  lethe_rng_init(&rng, 11);
  CU_ASSERT_EQUAL(lethe_rng_below(&rng, 1), 0);
  const int k = 7, n = 70000;
  int counts[7] = {0};
  for (int i = 0; i < n; i++) {
    guint64 v = lethe_rng_below(&rng, k);
    CU_ASSERT_FATAL(v < (guint64)k);
    counts[v]++;
  }
  double chi2 = 0, e = (double)n / k;
  for (int i = 0; i < k; i++)
    chi2 += (counts[i] - e) * (counts[i] - e) / e;
  CU_ASSERT(chi2 < 22.5); /* chi-square, 6 dof, p = 0.001 */

  /* a bound above 2^32 takes the 64-bit path; the top half must be hit */
  guint64 big = G_GUINT64_CONSTANT(3) << 40;
  int upper = 0;
  for (int i = 0; i < 10000; i++) {
    guint64 v = lethe_rng_below(&rng, big);
    CU_ASSERT_FATAL(v < big);
    upper += v >= big / 2;
  }
  CU_ASSERT(upper > 4800 && upper < 5200);
  guint64 two32 = G_GUINT64_CONSTANT(1) << 32;
  CU_ASSERT(lethe_rng_below(&rng, two32) < two32);
}

static void
test_rng_permutation_is_valid_and_uniform(void)
{
  LetheRng rng;
  lethe_rng_init(&rng, 3);
  gint64 perm[1000];
  lethe_rng_permutation(&rng, perm, 1000);
  gboolean seen[1000] = {FALSE};
  int fixed = 0;
  for (int i = 0; i < 1000; i++) {
    CU_ASSERT_FATAL(perm[i] >= 0 && perm[i] < 1000);
    CU_ASSERT_FALSE(seen[perm[i]]);
    seen[perm[i]] = TRUE;
    fixed += perm[i] == i;
  }
  CU_ASSERT(fixed < 10);

  /* all 24 orders of 4 elements, equally often */
  int counts[256] = {0};
  const int n = 48000;
  for (int t = 0; t < n; t++) {
    gint64 p[4];
    lethe_rng_permutation(&rng, p, 4);
    counts[p[0] * 64 + p[1] * 16 + p[2] * 4 + p[3]]++;
  }
  int distinct = 0;
  double chi2 = 0, e = n / 24.0;
  for (int i = 0; i < 256; i++)
    if (counts[i]) {
      distinct++;
      chi2 += (counts[i] - e) * (counts[i] - e) / e;
    }
  CU_ASSERT_EQUAL(distinct, 24);
  CU_ASSERT(chi2 < 49.7); /* 23 dof, p = 0.001 */

  gint64 v[5] = {10, 20, 30, 40, 50};
  lethe_rng_shuffle_i64(&rng, v, 5);
  gint64 sum = 0;
  for (int i = 0; i < 5; i++)
    sum += v[i];
  CU_ASSERT_EQUAL(sum, 150);
  lethe_rng_permutation(&rng, perm, 0); /* empty is fine */
}

LETHE_TEST_MAIN("rng", LETHE_TEST(test_rng_philox_known_answers),
                LETHE_TEST(test_rng_u32_stream_is_philox_of_successive_counters),
                LETHE_TEST(test_rng_block_counter_carries_into_high_word),
                LETHE_TEST(test_rng_same_seed_same_sequence_and_copy_forks),
                LETHE_TEST(test_rng_streams_are_uncorrelated),
                LETHE_TEST(test_rng_derive_seed_depends_on_seed_and_name),
                LETHE_TEST(test_rng_uniform_moments_and_range), LETHE_TEST(test_rng_normal_moments),
                LETHE_TEST(test_rng_below_is_in_range_and_uniform),
                LETHE_TEST(test_rng_permutation_is_valid_and_uniform))
