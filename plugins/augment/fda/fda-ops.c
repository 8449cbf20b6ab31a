/* Lethe — Frequency Dynamic Augmentation: the spectral computations.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fda-ops.h"

#include <math.h>
#include <stdlib.h>

#include <lethe/nn-fft.h>

void
fda_params_init(FdaParams *params)
{
  params->mapping = FDA_MAP_RANK;
  params->mode = FDA_MODE_PERTURB;
  params->sigma_max = 0.5;
  params->kappa = 1.0;
  params->band = 0.9;
  params->band_strength = 0.0;
  params->drop_prob = 0.5;
  params->smooth = 0;
  params->per_lead = FALSE;
}

void
fda_importance(const float *spec, gsize n_leads, gsize n_bins, guint smooth, double *importance)
{
  g_autofree double *raw = g_new0(double, n_bins);
  for (gsize l = 0; l < n_leads; l++) {
    const float *s = spec + 2 * l * n_bins;
    for (gsize f = 0; f < n_bins; f++)
      raw[f] += (double)s[2 * f] * s[2 * f] + (double)s[2 * f + 1] * s[2 * f + 1];
  }
  for (gsize f = 0; f < n_bins; f++) {
    gsize lo = f >= smooth ? f - smooth : 0, hi = MIN(n_bins - 1, f + smooth);
    double sum = 0;
    for (gsize g = lo; g <= hi; g++)
      sum += raw[g];
    importance[f] = sum / (double)(hi - lo + 1) / (double)MAX(n_leads, 1);
  }
}

typedef struct {
  double value;
  gsize index;
} Ranked;

static int
by_value_desc(const void *pa, const void *pb)
{
  const Ranked *a = pa, *b = pb;
  if (a->value != b->value)
    return a->value > b->value ? -1 : 1;
  return a->index < b->index ? -1 : (a->index > b->index);
}

/* @before[f]: the fraction of the total energy held by bins ranked ahead
 * of f (more important).  Returns the total. */
static double
energy_before(const double *energy, gsize n_bins, double *before)
{
  g_autofree Ranked *r = g_new(Ranked, n_bins);
  double total = 0;
  for (gsize f = 0; f < n_bins; f++) {
    r[f] = (Ranked){energy[f], f};
    total += energy[f];
  }
  qsort(r, n_bins, sizeof *r, by_value_desc);
  double cum = 0;
  for (gsize k = 0; k < n_bins; k++) {
    before[r[k].index] = total > 0 ? cum / total : 1.0;
    cum += r[k].value;
  }
  return total;
}

gsize
fda_important_bins(const double *energy, gsize n_bins, double fraction, guint8 *in_band)
{
  g_autofree double *before = g_new(double, n_bins);
  double total = energy_before(energy, n_bins, before);
  gsize count = 0;
  for (gsize f = 0; f < n_bins; f++) {
    /* A bin belongs to the smallest set reaching @fraction when the bins
     * ahead of it hold less than @fraction. */
    in_band[f] = total > 0 && before[f] < fraction;
    count += in_band[f];
  }
  return count;
}

void
fda_strength(const FdaParams *p, const double *importance, gsize n_bins, double *strength)
{
  double max = 0;
  for (gsize f = 0; f < n_bins; f++)
    max = MAX(max, importance[f]);
  if (max <= 0) {
    for (gsize f = 0; f < n_bins; f++)
      strength[f] = 0;
    return;
  }
  if (p->mapping == FDA_MAP_LINEAR) {
    for (gsize f = 0; f < n_bins; f++)
      strength[f] = p->sigma_max * pow(1.0 - importance[f] / max, p->kappa);
    return;
  }
  g_autofree double *before = g_new(double, n_bins);
  energy_before(importance, n_bins, before);
  double width = MAX(1.0 - p->band, 1e-12);
  for (gsize f = 0; f < n_bins; f++) {
    if (before[f] < p->band) {
      strength[f] = p->band_strength;
    } else {
      double t = MIN(1.0, (before[f] - p->band) / width);
      strength[f] = p->band_strength + (p->sigma_max - p->band_strength) * pow(t, p->kappa);
    }
  }
}

void
fda_apply(const FdaParams *p, const float *x, gsize n_leads, gsize n, LetheRng *rng, float *out)
{
  gsize n_bins = n / 2 + 1;
  g_autofree float *spec = g_new(float, 2 * n_bins * n_leads);
  g_autofree double *importance = g_new(double, n_bins);
  g_autofree double *strength = g_new(double, n_bins);
  lethe_fft_rfft_batch_f32(x, n, n_leads, spec);
  fda_importance(spec, n_leads, n_bins, p->smooth, importance);
  fda_strength(p, importance, n_bins, strength);

  for (gsize f = 0; f < n_bins; f++) {
    /* DC and (for even n) Nyquist are real: perturb their amplitude only. */
    gboolean real_bin = f == 0 || (n % 2 == 0 && f == n_bins - 1);
    double s = strength[f];
    double gain = 1, phase = 0;
    gboolean drop = FALSE;
    for (gsize l = 0; l < n_leads; l++) {
      if (l == 0 || p->per_lead) {
        /* Draw even when s = 0, so a bin's draws do not depend on the
         * strengths of the bins before it. */
        if (p->mode == FDA_MODE_DROP) {
          double u = lethe_rng_uniform(rng);
          drop = p->sigma_max > 0 && u < p->drop_prob * s / p->sigma_max;
        } else {
          double z = CLAMP(lethe_rng_normal(rng), -2.0, 2.0);
          double u = 2.0 * lethe_rng_uniform(rng) - 1.0;
          gain = 1.0 + s * z;
          phase = real_bin ? 0.0 : G_PI * s * u;
        }
      }
      float *c = spec + 2 * (l * n_bins + f);
      if (p->mode == FDA_MODE_DROP) {
        if (drop)
          c[0] = c[1] = 0.0f;
        continue;
      }
      double re = c[0], im = c[1];
      double cs = cos(phase), sn = sin(phase);
      c[0] = (float)(gain * (re * cs - im * sn));
      c[1] = real_bin ? 0.0f : (float)(gain * (re * sn + im * cs));
    }
  }
  lethe_fft_irfft_batch_f32(spec, n, n_leads, out);
}

void
fda_spectral_change(const float *x, const float *y, gsize n_leads, gsize n, double fraction,
                    FdaSpectralChange *change)
{
  gsize n_bins = n / 2 + 1;
  g_autofree float *sx = g_new(float, 2 * n_bins * n_leads);
  g_autofree float *sy = g_new(float, 2 * n_bins * n_leads);
  g_autofree double *energy = g_new0(double, n_bins);
  g_autofree guint8 *in_band = g_new(guint8, n_bins);
  lethe_fft_rfft_batch_f32(x, n, n_leads, sx);
  lethe_fft_rfft_batch_f32(y, n, n_leads, sy);
  for (gsize l = 0; l < n_leads; l++)
    for (gsize f = 0; f < n_bins; f++) {
      const float *a = sx + 2 * (l * n_bins + f);
      energy[f] += (double)a[0] * a[0] + (double)a[1] * a[1];
    }
  change->band_bins = fda_important_bins(energy, n_bins, fraction, in_band);
  double e_x[2] = {0, 0}, e_y[2] = {0, 0}, e_d[2] = {0, 0};
  for (gsize l = 0; l < n_leads; l++)
    for (gsize f = 0; f < n_bins; f++) {
      const float *a = sx + 2 * (l * n_bins + f), *b = sy + 2 * (l * n_bins + f);
      int k = in_band[f] ? 0 : 1;
      double dr = (double)b[0] - a[0], di = (double)b[1] - a[1];
      e_x[k] += (double)a[0] * a[0] + (double)a[1] * a[1];
      e_y[k] += (double)b[0] * b[0] + (double)b[1] * b[1];
      e_d[k] += dr * dr + di * di;
    }
  change->band_change = e_x[0] > 0 ? e_d[0] / e_x[0] : 0;
  change->tail_change = e_x[1] > 0 ? e_d[1] / e_x[1] : 0;
  change->band_energy_change = e_x[0] > 0 ? fabs(e_y[0] - e_x[0]) / e_x[0] : 0;
  change->tail_energy_change = e_x[1] > 0 ? fabs(e_y[1] - e_x[1]) / e_x[1] : 0;
  double sig = 0, noise = 0;
  for (gsize i = 0; i < n_leads * n; i++) {
    double d = (double)y[i] - x[i];
    sig += (double)x[i] * x[i];
    noise += d * d;
  }
  change->snr_db = noise > 0 ? 10.0 * log10(sig / noise) : INFINITY;
}
