/* Lethe — counter-based random numbers (Philox4x32-10).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_NN_RNG_H
#define LETHE_NN_RNG_H

#include <glib.h>

G_BEGIN_DECLS

/**
 * LetheRng:
 * A Philox4x32-10 stream: a 64-bit key and a 128-bit counter.  The same key
 * gives the same sequence on every machine and thread count.  Plain value
 * type: copy it to fork a stream, no allocation.
 */
typedef struct {
  guint32 key[2];
  guint32 counter[4];
  guint32 buffer[4];
  guint n_buffered;
} LetheRng;

/** lethe_rng_init: a stream for @seed (e.g. lethe_node_get_seed()). */
void lethe_rng_init(LetheRng *rng, guint64 seed);
/** lethe_rng_init_stream: a stream for (@seed, @stream): independent sub-streams. */
void lethe_rng_init_stream(LetheRng *rng, guint64 seed, guint64 stream);
/** lethe_rng_derive_seed: mixes a seed with a name (the node name) into a new seed. */
guint64 lethe_rng_derive_seed(guint64 seed, const char *name);

guint32 lethe_rng_u32(LetheRng *rng);
guint64 lethe_rng_u64(LetheRng *rng);
/** lethe_rng_uniform: in [0, 1). */
double lethe_rng_uniform(LetheRng *rng);
/** lethe_rng_below: uniform integer in [0, @n), unbiased. */
guint64 lethe_rng_below(LetheRng *rng, guint64 n);
/** lethe_rng_normal: standard normal. */
double lethe_rng_normal(LetheRng *rng);
void lethe_rng_fill_uniform_f32(LetheRng *rng, float *out, gsize n, float lo, float hi);
void lethe_rng_fill_normal_f32(LetheRng *rng, float *out, gsize n, float mean, float stddev);
void lethe_rng_fill_normal_f64(LetheRng *rng, double *out, gsize n, double mean, double stddev);
/** lethe_rng_permutation: fills @perm with a uniformly random permutation of 0..@n-1. */
void lethe_rng_permutation(LetheRng *rng, gint64 *perm, gsize n);
/** lethe_rng_shuffle_i64: shuffles @values in place (Fisher–Yates). */
void lethe_rng_shuffle_i64(LetheRng *rng, gint64 *values, gsize n);

G_END_DECLS

#endif /* LETHE_NN_RNG_H */
