/* Lethe — FDA's spectral computations and its acceptance on LUDB.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <math.h>

#include <lethe/nn-fft.h>
#include <lethe/nn-rng.h>

#include "ecg-ludb.h"
#include "ecg-qrs.h"
#include "fda-ops.h"

/* A synthetic 3-lead record: two strong low tones, weak wide-band noise. */
static float *
synthetic(gsize n_leads, gsize n, guint64 seed)
{
  LetheRng rng;
  lethe_rng_init(&rng, seed);
  float *x = g_new(float, n_leads *n);
  for (gsize l = 0; l < n_leads; l++)
    for (gsize t = 0; t < n; t++)
      x[l * n + t] = (float)((1.0 + 0.3 * l) * sin(2 * G_PI * 5 * t / n) +
                             0.5 * cos(2 * G_PI * 12 * t / n) + 0.01 * lethe_rng_normal(&rng));
  return x;
}

static void
test_fda_output_is_finite_same_shape_and_reproducible(void)
{
  gsize L = 3, n = 501; /* odd length: no Nyquist bin */
  g_autofree float *x = synthetic(L, n, 1);
  g_autofree float *a = g_new(float, L *n), *b = g_new(float, L *n), *c = g_new(float, L *n);
  FdaParams p;
  fda_params_init(&p);
  LetheRng r1, r2, r3;
  lethe_rng_init_stream(&r1, 7, 0);
  lethe_rng_init_stream(&r2, 7, 0);
  lethe_rng_init_stream(&r3, 8, 0);
  fda_apply(&p, x, L, n, &r1, a);
  fda_apply(&p, x, L, n, &r2, b);
  fda_apply(&p, x, L, n, &r3, c);
  guint finite = 0, differ_from_x = 0;
  for (gsize i = 0; i < L * n; i++) {
    finite += isfinite(a[i]) != 0;
    differ_from_x += a[i] != x[i];
  }
  CU_ASSERT_EQUAL(finite, L * n);
  CU_ASSERT(differ_from_x > L * n / 2);
  CU_ASSERT_EQUAL(memcmp(a, b, L * n * sizeof(float)), 0);
  CU_ASSERT_NOT_EQUAL(memcmp(a, c, L * n * sizeof(float)), 0);

  /* The two tones are the important bins: they are kept to rounding. */
  FdaSpectralChange ch;
  fda_spectral_change(x, a, L, n, 0.9, &ch);
  CU_ASSERT_EQUAL(ch.band_bins, 2);
  CU_ASSERT(ch.band_change < 1e-10);
  CU_ASSERT(ch.tail_change > 0.05);
}

static void
test_fda_rank_mapping_protects_the_band_and_rises_in_the_tail(void)
{
  /* Energies 50, 30, 10, 5, 3, 2 (total 100): the 90 % band is bins 0-2. */
  const double e[6] = {10, 50, 3, 30, 2, 5};
  guint8 band[6];
  CU_ASSERT_EQUAL(fda_important_bins(e, 6, 0.9, band), 3);
  CU_ASSERT(band[0] && band[1] && band[3] && !band[2] && !band[4] && !band[5]);
  FdaParams p;
  fda_params_init(&p);
  double s[6];
  fda_strength(&p, e, 6, s);
  CU_ASSERT_DOUBLE_EQUAL(s[1], 0.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(s[3], 0.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(s[0], 0.0, 1e-12);
  /* Bin 5 has 90 % ahead of it: the start of the ramp; bin 2 has 95 %, bin 4 98 %. */
  CU_ASSERT_DOUBLE_EQUAL(s[5], 0.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(s[2], 0.5 * 0.5, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(s[4], 0.5 * 0.8, 1e-12);
  /* The literal mapping: σ_max (1 − I / max I). */
  p.mapping = FDA_MAP_LINEAR;
  fda_strength(&p, e, 6, s);
  CU_ASSERT_DOUBLE_EQUAL(s[1], 0.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(s[3], 0.5 * (1 - 30.0 / 50.0), 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(s[4], 0.5 * (1 - 2.0 / 50.0), 1e-12);
  /* Nothing to perturb in silence. */
  const double zero[3] = {0, 0, 0};
  fda_strength(&p, zero, 3, s);
  CU_ASSERT_EQUAL(s[0] + s[1] + s[2], 0.0);
}

static void
test_fda_drop_mode_zeroes_only_tail_bins(void)
{
  gsize L = 2, n = 400;
  g_autofree float *x = synthetic(L, n, 3);
  g_autofree float *y = g_new(float, L *n);
  FdaParams p;
  fda_params_init(&p);
  p.mode = FDA_MODE_DROP;
  p.drop_prob = 1.0;
  LetheRng rng;
  lethe_rng_init(&rng, 5);
  fda_apply(&p, x, L, n, &rng, y);
  FdaSpectralChange ch;
  fda_spectral_change(x, y, L, n, 0.9, &ch);
  CU_ASSERT(ch.band_change < 1e-10);
  /* Dropped bins lose all their energy: the tail loses a good part of it. */
  CU_ASSERT(ch.tail_energy_change > 0.3 && ch.tail_energy_change <= 1.0);
}

/* ---- LUDB acceptance ------------------------------------------------------ */

typedef struct {
  double band, tail, band_e, tail_e, snr;
  double worst_band;
  guint pass_ratio; /* records whose tail change is ≥ 5× the band change */
} SpectralSummary;

static void
summary_add(SpectralSummary *s, const FdaSpectralChange *c)
{
  s->band += c->band_change;
  s->tail += c->tail_change;
  s->band_e += c->band_energy_change;
  s->tail_e += c->tail_energy_change;
  s->snr += c->snr_db;
  s->worst_band = MAX(s->worst_band, c->band_change);
  s->pass_ratio += c->tail_change >= 5 * c->band_change;
}

static void
summary_print(const char *what, const SpectralSummary *s, guint n)
{
  printf("\n    %-34s band %.4f (max %.4f, energy %.4f)  tail %.4f (energy %.4f)  "
         "tail/band %.1f  SNR %.1f dB  records tail>=5x band %u/%u",
         what, s->band / n, s->worst_band, s->band_e / n, s->tail / n, s->tail_e / n,
         s->tail / MAX(s->band, 1e-300), s->snr / n, s->pass_ratio, n);
}

static void
test_fda_on_ludb_keeps_important_bins_and_beats(void)
{
  g_autoptr(GArray) recs = ludb_load(0);
  if (recs == NULL) {
    CU_FAIL("LUDB missing");
    return;
  }
  guint R = recs->len;
  CU_ASSERT_EQUAL(R, 200);
  FdaParams rank, lin, soft, drop;
  fda_params_init(&rank);
  fda_params_init(&lin);
  lin.mapping = FDA_MAP_LINEAR;
  fda_params_init(&soft);
  soft.band_strength = 0.05;
  fda_params_init(&drop);
  drop.mode = FDA_MODE_DROP;
  SpectralSummary s_rank = {0}, s_lin = {0}, s_noise = {0}, s_soft = {0}, s_drop = {0};
  EcgBeatMatch m_raw = {0}, m_fda = {0}, m_noise = {0}, m_lin = {0};
  gsize band_bins = 0;
  for (guint i = 0; i < R; i++) {
    LudbRecord *r = &g_array_index(recs, LudbRecord, i);
    gsize n = r->n;
    g_autofree float *y = g_new(float, 12 * n), *yl = g_new(float, 12 * n);
    g_autofree float *noisy = g_new(float, 12 * n);
    LetheRng rng;
    lethe_rng_init_stream(&rng, 42, i);
    fda_apply(&rank, r->x, 12, n, &rng, y);
    fda_apply(&lin, r->x, 12, n, &rng, yl);
    FdaSpectralChange c;
    fda_spectral_change(r->x, y, 12, n, 0.9, &c);
    summary_add(&s_rank, &c);
    band_bins += c.band_bins;
    /* White Gaussian noise with the FDA view's overall SNR. */
    double sig = 0;
    for (gsize k = 0; k < 12 * n; k++)
      sig += (double)r->x[k] * r->x[k];
    double sd = sqrt(sig / (12.0 * n) * pow(10.0, -c.snr_db / 10.0));
    for (gsize k = 0; k < 12 * n; k++)
      noisy[k] = r->x[k] + (float)(sd * lethe_rng_normal(&rng));
    FdaSpectralChange cn;
    fda_spectral_change(r->x, noisy, 12, n, 0.9, &cn);
    summary_add(&s_noise, &cn);
    g_autofree float *v = g_new(float, 12 * n);
    fda_apply(&soft, r->x, 12, n, &rng, v);
    fda_spectral_change(r->x, v, 12, n, 0.9, &c);
    summary_add(&s_soft, &c);
    fda_apply(&drop, r->x, 12, n, &rng, v);
    fda_spectral_change(r->x, v, 12, n, 0.9, &c);
    summary_add(&s_drop, &c);
    fda_spectral_change(r->x, yl, 12, n, 0.9, &c);
    summary_add(&s_lin, &c);

    /* Beats on lead II, against the cardiologists' QRS marks, within the
     * annotated span (LUDB leaves each record's edges unannotated). */
    const gint64 *ref = (const gint64 *)r->qrs->data;
    gint64 tol = (gint64)lround(0.150 * r->fs);
    gint64 lo = r->qrs->len ? ref[0] - tol : 0;
    gint64 hi = r->qrs->len ? ref[r->qrs->len - 1] + tol : G_MAXINT64;
    const float *leads2[4] = {r->x + n, y + n, noisy + n, yl + n};
    EcgBeatMatch *ms[4] = {&m_raw, &m_fda, &m_noise, &m_lin};
    for (int v = 0; v < 4; v++) {
      g_autoptr(GArray) det = ecg_qrs_detect(leads2[v], n, r->fs);
      ecg_beats_match(ref, r->qrs->len, (const gint64 *)det->data, det->len, tol, lo, hi, ms[v]);
    }
  }
  printf("\n    LUDB, %u records, 12 leads x 5000 samples; 90%% band: %.1f bins of 2501 on average",
         R, (double)band_bins / R);
  summary_print("FDA rank mapping (default)", &s_rank, R);
  summary_print("FDA rank, band-strength 0.05", &s_soft, R);
  summary_print("FDA rank, drop mode p 0.5", &s_drop, R);
  summary_print("FDA literal mapping", &s_lin, R);
  summary_print("white noise, same SNR as rank FDA", &s_noise, R);
  const char *names[4] = {"raw x", "FDA rank", "noise", "FDA literal"};
  EcgBeatMatch *ms[4] = {&m_raw, &m_fda, &m_noise, &m_lin};
  for (int v = 0; v < 4; v++)
    printf("\n    R peaks on %-12s TP %" G_GINT64_FORMAT " FP %" G_GINT64_FORMAT
           " FN %" G_GINT64_FORMAT "  F1 %.4f  mean |error| %.2f ms  max %.0f ms",
           names[v], ms[v]->tp, ms[v]->fp, ms[v]->fn, ecg_beat_f1(ms[v]),
           1000.0 * ms[v]->abs_error_sum / MAX(ms[v]->tp, 1) / 500.0,
           1000.0 * ms[v]->abs_error_max / 500.0);
  printf("\n");

  CU_ASSERT(s_rank.band / R <= 0.05);
  CU_ASSERT(s_rank.tail >= 5 * s_rank.band);
  CU_ASSERT(s_soft.band / R <= 0.05 && s_soft.tail >= 5 * s_soft.band);
  CU_ASSERT(s_drop.band / R <= 0.05 && s_drop.tail >= 5 * s_drop.band);
  /* Noise at the same SNR leaves the band less intact than FDA does. */
  CU_ASSERT(s_noise.band > s_rank.band);
  CU_ASSERT(ecg_beat_f1(&m_fda) >= 0.98);
  CU_ASSERT(m_fda.abs_error_sum / MAX(m_fda.tp, 1) / 500.0 <= 0.020);
  /* The literal mapping fails the band criterion, as measured before. */
  CU_ASSERT(s_lin.band / R > 0.05);
  CU_ASSERT(s_lin.tail < 5 * s_lin.band);
}

LETHE_TEST_MAIN("fda", LETHE_TEST(test_fda_output_is_finite_same_shape_and_reproducible),
                LETHE_TEST(test_fda_rank_mapping_protects_the_band_and_rises_in_the_tail),
                LETHE_TEST(test_fda_drop_mode_zeroes_only_tail_bins),
                LETHE_TEST(test_fda_on_ludb_keeps_important_bins_and_beats))
