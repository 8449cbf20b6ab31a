/* Lethe — resampling and band-pass filtering of sampled signals.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wfdb-filter.h"

#include <math.h>
#include <string.h>

typedef struct {
  double b0, b1, b2, a1, a2; /* normalised by a0 */
} Biquad;

/* The two sections of a 4th-order Butterworth: Q = 1 / (2 cos(k pi / 8)), k = 1, 3. */
static const double butter4_q[2] = {0.54119610014619701, 1.3065629648763766};

static Biquad
biquad_design(gboolean highpass, double f0, double fs, double q)
{
  double w0 = 2.0 * G_PI * f0 / fs;
  double c = cos(w0), alpha = sin(w0) / (2.0 * q);
  double a0 = 1.0 + alpha;
  Biquad b;
  if (highpass) {
    b.b0 = (1.0 + c) / 2.0 / a0;
    b.b1 = -(1.0 + c) / a0;
  } else {
    b.b0 = (1.0 - c) / 2.0 / a0;
    b.b1 = (1.0 - c) / a0;
  }
  b.b2 = b.b0;
  b.a1 = -2.0 * c / a0;
  b.a2 = (1.0 - alpha) / a0;
  return b;
}

/* One pass of a biquad (transposed direct form II) over @x with stride
 * @step, its state started as if the first sample had always been there,
 * so a constant signal passes without a start-up transient. */
static void
biquad_run(const Biquad *f, double *x, gint64 n, int step)
{
  if (n == 0)
    return;
  gint64 i = step > 0 ? 0 : n - 1;
  double x0 = x[i];
  double dc = (f->b0 + f->b1 + f->b2) / (1.0 + f->a1 + f->a2);
  double y0 = dc * x0;
  double z2 = f->b2 * x0 - f->a2 * y0;
  double z1 = f->b1 * x0 - f->a1 * y0 + z2;
  for (gint64 k = 0; k < n; k++, i += step) {
    double in = x[i];
    double y = f->b0 * in + z1;
    z1 = f->b1 * in - f->a1 * y + z2;
    z2 = f->b2 * in - f->a2 * y;
    x[i] = y;
  }
}

static void
butter4_filtfilt(double *x, gint64 n, gboolean highpass, double f0, double fs)
{
  for (int s = 0; s < 2; s++) {
    Biquad b = biquad_design(highpass, f0, fs, butter4_q[s]);
    biquad_run(&b, x, n, 1);
    biquad_run(&b, x, n, -1);
  }
}

/* Copies @x into a buffer extended by @pad mirrored samples at each end
 * (x[-k] = x[k]).  A mirror keeps the local mean, so the high-pass sees no
 * step at the edges (odd reflection, 2 x[0] - x[k], shifts the mean by
 * twice the end sample and rings for seconds at a 0.5 Hz corner). */
static double *
mirror_extend(const float *x, gint64 n, gint64 pad)
{
  double *d = g_new(double, n + 2 * pad);
  for (gint64 i = 0; i < n; i++)
    d[pad + i] = x[i];
  for (gint64 k = 1; k <= pad; k++) {
    d[pad - k] = x[k];
    d[pad + n - 1 + k] = x[n - 1 - k];
  }
  return d;
}

void
signal_bandpass(float *x, gint64 n, double fs, double low, double high)
{
  g_return_if_fail(fs > 0);
  gboolean do_high = low > 0, do_low = high > 0 && high < fs / 2;
  if (n <= 1 || (!do_high && !do_low))
    return;
  /* Three time constants of the lowest corner, at most the record itself. */
  double corner = do_high ? low : high;
  gint64 pad = MIN(n - 1, (gint64)ceil(3.0 * fs / corner));
  double *d = mirror_extend(x, n, pad);
  if (do_high)
    butter4_filtfilt(d, n + 2 * pad, TRUE, low, fs);
  if (do_low)
    butter4_filtfilt(d, n + 2 * pad, FALSE, high, fs);
  for (gint64 i = 0; i < n; i++)
    x[i] = (float)d[pad + i];
  g_free(d);
}

gint64
signal_resample_length(gint64 n, double fs_in, double fs_out)
{
  if (n <= 0 || fs_in <= 0 || fs_out <= 0)
    return 0;
  /* The output covers the same span: floor((n - 1) × ratio) + 1 samples. */
  return (gint64)floor((double)(n - 1) * fs_out / fs_in + 1e-9) + 1;
}

void
signal_resample(const float *in, gint64 n, double fs_in, double fs_out, float *out, gint64 n_out)
{
  g_return_if_fail(fs_in > 0 && fs_out > 0);
  if (n <= 0 || n_out <= 0)
    return;
  double *d = g_new(double, n);
  for (gint64 i = 0; i < n; i++)
    d[i] = in[i];
  if (fs_out < fs_in)
    butter4_filtfilt(d, n, FALSE, 0.45 * fs_out, fs_in);
  double ratio = fs_in / fs_out;
  for (gint64 j = 0; j < n_out; j++) {
    double t = (double)j * ratio;
    gint64 i = (gint64)floor(t);
    if (i >= n - 1) {
      out[j] = (float)d[n - 1];
      continue;
    }
    double frac = t - (double)i;
    out[j] = (float)(d[i] * (1.0 - frac) + d[i + 1] * frac);
  }
  g_free(d);
}
