/* Lethe — timings of analytic unlearning at a 2048-wide expansion:
 * one sample, a batch of 100, and the costs that set where the Givens path
 * hands over to refactoring A.  Prints figures; never fails on timing.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   bench-acil [width] [n-train]      (defaults 2048 and 10000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lethe/nn-linalg.h>
#include <lethe/nn-rng.h>

#include "analytic.h"
#include "idx-parse.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/"
#define D_F    784

static double
now(void)
{
  return (double)g_get_monotonic_time() / 1e6;
}

int
main(int argc, char **argv)
{
  gint64 width = argc > 1 ? atoll(argv[1]) : 2048;
  gsize n = argc > 2 ? (gsize)atoll(argv[2]) : 10000;
  GError *err = NULL;
  g_autoptr(IdxReader) ri = idx_reader_open(FMNIST "train-images-idx3-ubyte.gz", 1u << 30, &err);
  g_autoptr(IdxReader) rl = idx_reader_open(FMNIST "train-labels-idx1-ubyte.gz", 1u << 30, &err);
  if (ri == NULL || rl == NULL) {
    fprintf(stderr, "bench-acil: %s\n", err->message);
    return 1;
  }
  g_autofree float *x = g_new(float, n *D_F);
  g_autofree gint32 *y = g_new(gint32, n);
  g_autofree gint64 *ids = g_new(gint64, n);
  if (!idx_reader_read_f32(ri, n, 1.0f / 255.0f, x, &err) || !idx_reader_read_i32(rl, n, y, &err)) {
    fprintf(stderr, "bench-acil: %s\n", err->message);
    return 1;
  }
  for (gsize i = 0; i < n; i++)
    ids[i] = (gint64)i;

  g_autoptr(AcilState) s = acil_state_new(D_F, width, 1.0, 1);
  double t0 = now();
  AcilBatch all = {x, y, ids, n};
  if (!acil_learn(s, &all, "bench", &err)) {
    fprintf(stderr, "bench-acil: %s\n", err->message);
    return 1;
  }
  printf("width %" G_GINT64_FORMAT ", %zu samples\n", width, n);
  printf("learn all (syrk + refactor):      %8.1f ms\n", (now() - t0) * 1e3);

  int reps = 20;
  t0 = now();
  for (int r = 0; r < reps; r++) {
    AcilBatch one = {x + (gsize)r * D_F, y + r, ids + r, 1};
    acil_unlearn(s, &one, "bench", &err);
  }
  printf("unlearn one sample:               %8.1f ms (mean of %d)\n", (now() - t0) * 1e3 / reps,
         reps);
  t0 = now();
  AcilBatch hundred = {x + 100 * D_F, y + 100, ids + 100, 100};
  acil_unlearn(s, &hundred, "bench", &err);
  printf("unlearn a batch of 100:           %8.1f ms\n", (now() - t0) * 1e3);

  /* the crossover: k Givens rotations against one dpotrf */
  gsize w = (gsize)width;
  g_autofree double *u = g_memdup2(lethe_tensor_f64(s->u), w * w * sizeof(double));
  g_autofree double *a = g_memdup2(lethe_tensor_f64(s->a), w * w * sizeof(double));
  g_autofree double *xe = g_new(double, 64 * w);
  acil_expand(lethe_tensor_f64(s->w_b), D_F, width, x + 1000 * D_F, 64, xe);
  t0 = now();
  lethe_linalg_cholesky_f64(a, w, w, NULL);
  double t_potrf = now() - t0;
  printf("refactor A (dpotrf):              %8.1f ms\n", t_potrf * 1e3);
  for (gsize k = 1; k <= 64; k *= 4) {
    g_autofree double *tmp = g_memdup2(xe, k * w * sizeof(double));
    t0 = now();
    lethe_cholesky_update_rank_k_f64(u, w, w, tmp, k, w);
    double t_up = now() - t0;
    t0 = now();
    lethe_cholesky_downdate_rank_k_f64(u, w, w, xe, k, w, NULL);
    double t_down = now() - t0;
    printf("rank-%-2zu Givens update / downdate: %8.1f / %.1f ms (%.3f / %.3f of a refactor "
           "per sample)\n",
           k, t_up * 1e3, t_down * 1e3, t_up / t_potrf / (double)k, t_down / t_potrf / (double)k);
  }
  return 0;
}
