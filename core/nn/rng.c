/* Lethe — Philox4x32-10 counter-based random numbers.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Philox4x32-10 as defined by Salmon, Moraes, Dror and Shaw, "Parallel random
 * numbers: as easy as 1, 2, 3" (SC 2011): ten rounds of two 32x32->64
 * multiplications on a 128-bit counter, the 64-bit key bumped by Weyl
 * constants between rounds.  The stream (seed, stream) owns the counters
 * whose upper 64 bits equal `stream`; the lower 64 bits count blocks, so two
 * streams never share a block.  See docs/numerics.md.
 */
#include <lethe/nn-rng.h>

#include <math.h>
#include <string.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u /* golden ratio */
#define PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1 */

/* Exposed for the known-answer tests (declared in the test, not public). */
void lethe_rng_philox4x32_10(const guint32 counter[4], const guint32 key[2], guint32 out[4]);

void
lethe_rng_philox4x32_10(const guint32 counter[4], const guint32 key[2], guint32 out[4])
{
  guint32 c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
  guint32 k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; round++) {
    guint64 p0 = (guint64)PHILOX_M0 * c0;
    guint64 p1 = (guint64)PHILOX_M1 * c2;
    guint32 n0 = (guint32)(p1 >> 32) ^ c1 ^ k0;
    guint32 n1 = (guint32)p1;
    guint32 n2 = (guint32)(p0 >> 32) ^ c3 ^ k1;
    guint32 n3 = (guint32)p0;
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

static void
refill(LetheRng *rng)
{
  lethe_rng_philox4x32_10(rng->counter, rng->key, rng->buffer);
  /* 64-bit block counter in counter[0..1]; counter[2..3] is the stream id */
  if (++rng->counter[0] == 0)
    ++rng->counter[1];
  rng->n_buffered = 4;
}

void
lethe_rng_init_stream(LetheRng *rng, guint64 seed, guint64 stream)
{
  g_return_if_fail(rng != NULL);
  memset(rng, 0, sizeof *rng);
  rng->key[0] = (guint32)seed;
  rng->key[1] = (guint32)(seed >> 32);
  rng->counter[2] = (guint32)stream;
  rng->counter[3] = (guint32)(stream >> 32);
}

void
lethe_rng_init(LetheRng *rng, guint64 seed)
{
  lethe_rng_init_stream(rng, seed, 0);
}

/* SplitMix64's finaliser (Steele, Lea, Flood 2014): a bijection on 64 bits
 * with full avalanche. */
static guint64
mix64(guint64 z)
{
  z += G_GUINT64_CONSTANT(0x9E3779B97F4A7C15);
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

guint64
lethe_rng_derive_seed(guint64 seed, const char *name)
{
  /* FNV-1a over the bytes of the name, then both halves through mix64, so
   * that seeds differing in one bit and names differing in one byte give
   * unrelated keys. */
  guint64 h = G_GUINT64_CONSTANT(0xCBF29CE484222325);
  for (const guchar *p = (const guchar *)(name ? name : ""); *p; p++) {
    h ^= *p;
    h *= G_GUINT64_CONSTANT(0x100000001B3);
  }
  return mix64(mix64(seed) ^ h);
}

guint32
lethe_rng_u32(LetheRng *rng)
{
  g_return_val_if_fail(rng != NULL, 0);
  if (rng->n_buffered == 0 || rng->n_buffered > 4)
    refill(rng);
  return rng->buffer[4 - rng->n_buffered--];
}

guint64
lethe_rng_u64(LetheRng *rng)
{
  guint64 lo = lethe_rng_u32(rng);
  guint64 hi = lethe_rng_u32(rng);
  return (hi << 32) | lo;
}

double
lethe_rng_uniform(LetheRng *rng)
{
  return (double)(lethe_rng_u64(rng) >> 11) * 0x1.0p-53;
}

guint64
lethe_rng_below(LetheRng *rng, guint64 n)
{
  g_return_val_if_fail(n > 0, 0);
  /* Rejection of the low tail that would bias the modulo: values below
   * threshold = 2^w mod n are redrawn. */
  if (n <= G_MAXUINT32 + G_GUINT64_CONSTANT(1)) {
    guint32 n32 = (guint32)n; /* 0 stands for 2^32 */
    if (n32 == 0)
      return lethe_rng_u32(rng);
    guint32 threshold = (guint32)(-n32) % n32;
    for (;;) {
      guint32 r = lethe_rng_u32(rng);
      if (r >= threshold)
        return r % n32;
    }
  }
  guint64 threshold = (-n) % n;
  for (;;) {
    guint64 r = lethe_rng_u64(rng);
    if (r >= threshold)
      return r % n;
  }
}

/* Box–Muller: two uniforms give two independent normals. u1 lies in (0, 1]
 * so the logarithm is finite. */
static inline void
normal_pair(LetheRng *rng, double *z0, double *z1)
{
  double u1 = 1.0 - lethe_rng_uniform(rng);
  double u2 = lethe_rng_uniform(rng);
  double r = sqrt(-2.0 * log(u1));
  double t = 2.0 * G_PI * u2;
  *z0 = r * cos(t);
  if (z1)
    *z1 = r * sin(t);
}

double
lethe_rng_normal(LetheRng *rng)
{
  double z;
  normal_pair(rng, &z, NULL);
  return z;
}

void
lethe_rng_fill_uniform_f32(LetheRng *rng, float *out, gsize n, float lo, float hi)
{
  g_return_if_fail(rng != NULL && (out != NULL || n == 0));
  float span = hi - lo;
  for (gsize i = 0; i < n; i++) {
    float u = (float)(lethe_rng_u32(rng) >> 8) * 0x1.0p-24f;
    float v = lo + span * u;
    out[i] = v < hi ? v : lo; /* rounding can reach hi; keep [lo, hi) */
  }
}

void
lethe_rng_fill_normal_f64(LetheRng *rng, double *out, gsize n, double mean, double stddev)
{
  g_return_if_fail(rng != NULL && (out != NULL || n == 0));
  gsize i = 0;
  for (; i + 1 < n; i += 2) {
    double z0, z1;
    normal_pair(rng, &z0, &z1);
    out[i] = mean + stddev * z0;
    out[i + 1] = mean + stddev * z1;
  }
  if (i < n)
    out[i] = mean + stddev * lethe_rng_normal(rng);
}

void
lethe_rng_fill_normal_f32(LetheRng *rng, float *out, gsize n, float mean, float stddev)
{
  g_return_if_fail(rng != NULL && (out != NULL || n == 0));
  gsize i = 0;
  for (; i + 1 < n; i += 2) {
    double z0, z1;
    normal_pair(rng, &z0, &z1);
    out[i] = (float)(mean + stddev * z0);
    out[i + 1] = (float)(mean + stddev * z1);
  }
  if (i < n)
    out[i] = (float)(mean + stddev * lethe_rng_normal(rng));
}

void
lethe_rng_shuffle_i64(LetheRng *rng, gint64 *values, gsize n)
{
  g_return_if_fail(rng != NULL && (values != NULL || n == 0));
  for (gsize i = n; i > 1; i--) {
    gsize j = (gsize)lethe_rng_below(rng, i);
    gint64 t = values[i - 1];
    values[i - 1] = values[j];
    values[j] = t;
  }
}

void
lethe_rng_permutation(LetheRng *rng, gint64 *perm, gsize n)
{
  g_return_if_fail(rng != NULL && (perm != NULL || n == 0));
  for (gsize i = 0; i < n; i++)
    perm[i] = (gint64)i;
  lethe_rng_shuffle_i64(rng, perm, n);
}
