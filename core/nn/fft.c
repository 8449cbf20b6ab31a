/* Lethe — real FFTs in single precision on FFTW.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * FFTW's planner is not thread-safe but executing a plan is: plans are made
 * under one mutex, cached per (kind, length) for the life of the process, and
 * run with the new-array execute functions on the caller's arrays.  Plans are
 * FFTW_UNALIGNED (callers hand us views at any offset) and FFTW_ESTIMATE
 * (no timing runs: a length always gets the same algorithm, so results are
 * reproducible bit for bit).
 */
#include <lethe/nn-fft.h>

#include <fftw3.h>
#include <string.h>

enum { KIND_R2C, KIND_C2R };

static GMutex plan_lock;
static GHashTable *plans; /* (kind, n) key -> fftwf_plan */

static fftwf_plan
get_plan(int kind, gsize n)
{
  gpointer key = GSIZE_TO_POINTER((n << 1) | (gsize)kind);
  g_mutex_lock(&plan_lock);
  if (plans == NULL)
    plans = g_hash_table_new(g_direct_hash, g_direct_equal);
  fftwf_plan plan = g_hash_table_lookup(plans, key);
  if (plan == NULL) {
    /* planning arrays only fix the layout; FFTW_ESTIMATE never writes them */
    gsize nc = n / 2 + 1;
    float *r = fftwf_alloc_real(n);
    fftwf_complex *c = fftwf_alloc_complex(nc);
    unsigned flags = FFTW_ESTIMATE | FFTW_UNALIGNED;
    if (kind == KIND_R2C)
      plan = fftwf_plan_dft_r2c_1d((int)n, r, c, flags);
    else
      plan = fftwf_plan_dft_c2r_1d((int)n, c, r, flags | FFTW_DESTROY_INPUT);
    fftwf_free(r);
    fftwf_free(c);
    if (plan == NULL)
      g_error("FFTW could not plan a real transform of length %zu", n);
    g_hash_table_insert(plans, key, plan);
  }
  g_mutex_unlock(&plan_lock);
  return plan;
}

void
lethe_fft_rfft_batch_f32(const float *in, gsize n, gsize howmany, float *out)
{
  g_return_if_fail(n >= 1 && n <= G_MAXINT && (howmany == 0 || (in != NULL && out != NULL)));
  fftwf_plan plan = get_plan(KIND_R2C, n);
  gsize nc = n / 2 + 1;
  for (gsize i = 0; i < howmany; i++)
    /* r2c leaves its input alone; FFTW's prototype is not const */
    fftwf_execute_dft_r2c(plan, (float *)(in + i * n), (fftwf_complex *)(out + 2 * i * nc));
}

void
lethe_fft_irfft_batch_f32(const float *in, gsize n, gsize howmany, float *out)
{
  g_return_if_fail(n >= 1 && n <= G_MAXINT && (howmany == 0 || (in != NULL && out != NULL)));
  fftwf_plan plan = get_plan(KIND_C2R, n);
  gsize nc = n / 2 + 1;
  /* c2r destroys its input: transform a copy */
  fftwf_complex *scratch = fftwf_alloc_complex(nc);
  float scale = 1.0f / (float)n;
  for (gsize i = 0; i < howmany; i++) {
    memcpy(scratch, in + 2 * i * nc, nc * sizeof *scratch);
    float *o = out + i * n;
    fftwf_execute_dft_c2r(plan, scratch, o);
    for (gsize t = 0; t < n; t++)
      o[t] *= scale;
  }
  fftwf_free(scratch);
}

void
lethe_fft_rfft_f32(const float *in, gsize n, float *out)
{
  lethe_fft_rfft_batch_f32(in, n, 1, out);
}

void
lethe_fft_irfft_f32(const float *in, gsize n, float *out)
{
  lethe_fft_irfft_batch_f32(in, n, 1, out);
}

void
lethe_fft_rfftfreq(gsize n, double d, double *out)
{
  g_return_if_fail(n >= 1 && d > 0 && out != NULL);
  for (gsize k = 0; k <= n / 2; k++)
    out[k] = (double)k / ((double)n * d);
}
