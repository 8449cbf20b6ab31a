/* Lethe — a QRS (R-peak) detector in the manner of Pan and Tompkins.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Steps, after Pan & Tompkins (1985), made zero-phase because the whole
 * record is available:
 *  1. band-pass 5–15 Hz (Butterworth, forward and backward), where QRS
 *     energy dominates P/T waves, baseline wander and muscle noise;
 *  2. five-point central derivative, then squaring (slope energy);
 *  3. moving-window integration over 150 ms (one QRS width), centred;
 *  4. peaks of the integrated signal at least 250 ms apart, kept when above
 *     an adaptive threshold NPK + 0.25 (SPK − NPK), the signal and noise
 *     peak levels updated as running averages (1/8 new) as in the paper;
 *     a search-back at half the threshold when no beat came within 1.66
 *     mean RR intervals;
 *  5. the R peak: the sample of largest |x − local median| within ±75 ms of
 *     the integrated peak, on the signal band-passed 0.5–40 Hz.
 */
#include "ecg-qrs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wfdb-filter.h"

static int
cmp_float(const void *a, const void *b)
{
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Peaks of @mwi (local maxima over ±@half samples). */
static GArray *
find_peaks(const float *mwi, gsize n, gsize half)
{
  GArray *peaks = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (gsize i = 1; i + 1 < n; i++) {
    if (!(mwi[i] > mwi[i - 1] && mwi[i] >= mwi[i + 1]))
      continue;
    gsize lo = i > half ? i - half : 0, hi = MIN(n - 1, i + half);
    gboolean is_max = TRUE;
    for (gsize j = lo; j <= hi && is_max; j++)
      is_max = mwi[j] < mwi[i] || (mwi[j] == mwi[i] && j >= i);
    if (is_max) {
      gint64 v = (gint64)i;
      g_array_append_val(peaks, v);
    }
  }
  return peaks;
}

GArray *
ecg_qrs_detect(const float *x, gsize n, double fs)
{
  GArray *beats = g_array_new(FALSE, FALSE, sizeof(gint64));
  if (n < (gsize)(2 * fs) || fs < 50)
    return beats;
  g_autofree float *bp = g_memdup2(x, n * sizeof(float));
  g_autofree float *wide = g_memdup2(x, n * sizeof(float));
  g_autofree float *mwi = g_new0(float, n);
  signal_bandpass(bp, (gint64)n, fs, 5.0, MIN(15.0, 0.45 * fs));
  signal_bandpass(wide, (gint64)n, fs, 0.5, MIN(40.0, 0.45 * fs));

  /* Squared derivative, then a centred 150 ms moving average. */
  g_autofree double *sq = g_new0(double, n + 1);
  for (gsize i = 2; i + 2 < n; i++) {
    double d = (bp[i + 2] + 2.0 * bp[i + 1] - 2.0 * bp[i - 1] - bp[i - 2]) / 8.0;
    sq[i + 1] = d * d;
  }
  for (gsize i = 1; i <= n; i++)
    sq[i] += sq[i - 1]; /* prefix sums */
  gsize w = MAX(1, (gsize)lround(0.150 * fs)), hw = w / 2;
  for (gsize i = 0; i < n; i++) {
    gsize lo = i > hw ? i - hw : 0, hi = MIN(n, i + hw + 1);
    mwi[i] = (float)((sq[hi] - sq[lo]) / (double)(hi - lo));
  }

  gsize refractory = (gsize)lround(0.250 * fs);
  g_autoptr(GArray) peaks = find_peaks(mwi, n, refractory / 2);

  /* Learning phase: the first 2 s set the initial levels. */
  gsize learn = MIN(n, (gsize)(2 * fs));
  double mx = 0, mean = 0;
  for (gsize i = 0; i < learn; i++) {
    mx = MAX(mx, mwi[i]);
    mean += mwi[i];
  }
  mean /= (double)learn;
  double spk = 0.25 * mx, npk = 0.5 * mean;
  double rr_mean = 0;
  gint64 last = -(gint64)refractory - 1;
  guint n_rr = 0;
  g_autoptr(GArray) qrs = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (guint k = 0; k < peaks->len; k++) {
    gint64 p = g_array_index(peaks, gint64, k);
    double thr = npk + 0.25 * (spk - npk);
    /* Search-back: a long gap since the last beat lowers the threshold for
     * the largest peak inside it. */
    if (n_rr >= 2 && p - last > (gint64)(1.66 * rr_mean)) {
      gint64 best = -1;
      for (guint j = 0; j < k; j++) {
        gint64 q = g_array_index(peaks, gint64, j);
        if (q > last + (gint64)refractory && q < p - (gint64)refractory / 2 && mwi[q] > 0.5 * thr &&
            (best < 0 || mwi[q] > mwi[best]))
          best = q;
      }
      if (best >= 0) {
        g_array_append_val(qrs, best);
        spk = 0.25 * mwi[best] + 0.75 * spk;
        rr_mean = (rr_mean * n_rr + (double)(best - last)) / (n_rr + 1);
        n_rr++;
        last = best;
      }
    }
    if (p - last < (gint64)refractory)
      continue;
    if (mwi[p] > thr) {
      if (last >= 0) {
        double rr = (double)(p - last);
        rr_mean = n_rr < 8 ? (rr_mean * n_rr + rr) / (n_rr + 1) : 0.875 * rr_mean + 0.125 * rr;
        n_rr++;
      }
      g_array_append_val(qrs, p);
      spk = 0.125 * mwi[p] + 0.875 * spk;
      last = p;
    } else {
      npk = 0.125 * mwi[p] + 0.875 * npk;
    }
  }

  /* R peaks: largest deviation from the local median within ±75 ms. */
  gsize half = (gsize)lround(0.075 * fs), med_half = (gsize)lround(0.3 * fs);
  g_autofree float *tmp = g_new(float, 2 * med_half + 1);
  for (guint k = 0; k < qrs->len; k++) {
    gint64 c = g_array_index(qrs, gint64, k);
    gsize lo = (gsize)c > med_half ? (gsize)c - med_half : 0;
    gsize hi = MIN(n - 1, (gsize)c + med_half);
    memcpy(tmp, wide + lo, (hi - lo + 1) * sizeof(float));
    qsort(tmp, hi - lo + 1, sizeof(float), cmp_float);
    float median = tmp[(hi - lo) / 2];
    gsize a = (gsize)c > half ? (gsize)c - half : 0, b = MIN(n - 1, (gsize)c + half);
    gsize best = a;
    for (gsize i = a; i <= b; i++)
      if (fabsf(wide[i] - median) > fabsf(wide[best] - median))
        best = i;
    gint64 r = (gint64)best;
    if (beats->len == 0 || r > g_array_index(beats, gint64, beats->len - 1))
      g_array_append_val(beats, r);
  }
  return beats;
}

void
ecg_beats_match(const gint64 *reference, gsize n_ref, const gint64 *detected, gsize n_det,
                gint64 tolerance, gint64 lo, gint64 hi, EcgBeatMatch *m)
{
  g_autofree gboolean *used = g_new0(gboolean, n_det);
  gsize start = 0;
  for (gsize r = 0; r < n_ref; r++) {
    while (start < n_det && detected[start] < reference[r] - tolerance)
      start++;
    gssize best = -1;
    for (gsize d = start; d < n_det && detected[d] <= reference[r] + tolerance; d++)
      if (!used[d] &&
          (best < 0 || llabs(detected[d] - reference[r]) < llabs(detected[best] - reference[r])))
        best = (gssize)d;
    if (best < 0) {
      m->fn++;
      continue;
    }
    used[best] = TRUE;
    m->tp++;
    double e = (double)llabs(detected[best] - reference[r]);
    m->abs_error_sum += e;
    m->abs_error_max = MAX(m->abs_error_max, e);
  }
  for (gsize d = 0; d < n_det; d++)
    if (!used[d] && detected[d] >= lo && detected[d] <= hi)
      m->fp++;
}

double
ecg_beat_f1(const EcgBeatMatch *m)
{
  gint64 den = 2 * m->tp + m->fp + m->fn;
  return den == 0 ? 1.0 : 2.0 * (double)m->tp / (double)den;
}
