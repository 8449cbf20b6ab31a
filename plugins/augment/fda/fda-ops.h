/* Lethe — Frequency Dynamic Augmentation: the spectral computations.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Plain functions on float arrays (one record: leads × samples), so the
 * tests measure exactly what the `fda` node runs.  See docs/ecg.md for the
 * choices and the numbers measured on LUDB.
 */
#ifndef LETHE_FDA_OPS_H
#define LETHE_FDA_OPS_H

#include <glib.h>
#include <lethe/nn-rng.h>

G_BEGIN_DECLS

/**
 * FdaMapping:
 * @FDA_MAP_RANK: strength by cumulative-energy rank: bins are ordered by
 *   importance; the smallest set holding @band of the energy gets
 *   @band_strength, the rest rises from there to @sigma_max as the energy
 *   held by more important bins goes from @band to 1 (the default)
 * @FDA_MAP_LINEAR: the literal reading s(f) = σ_max (1 − I(f) / max I)^κ
 */
typedef enum {
  FDA_MAP_RANK,
  FDA_MAP_LINEAR,
} FdaMapping;

/**
 * FdaMode:
 * @FDA_MODE_PERTURB: |X| ← |X| (1 + s n), n ~ N(0, 1) clipped at ±2;
 *   arg X ← arg X + π s u, u ~ U(−1, 1)
 * @FDA_MODE_DROP: X ← 0 with probability @drop_prob · s / σ_max
 */
typedef enum {
  FDA_MODE_PERTURB,
  FDA_MODE_DROP,
} FdaMode;

typedef struct {
  FdaMapping mapping;
  FdaMode mode;
  double sigma_max;     /* largest strength (0.5) */
  double kappa;         /* exponent of the mapping (1) */
  double band;          /* energy fraction of the protected band, rank mapping (0.9) */
  double band_strength; /* strength inside the band, rank mapping (0) */
  double drop_prob;     /* FDA_MODE_DROP: p (0.5) */
  guint smooth;         /* importance averaged over ±smooth bins (0) */
  gboolean per_lead;    /* independent draws per lead (FALSE: one draw per bin, for all leads) */
} FdaParams;

/** fda_params_init: the defaults above. */
void fda_params_init(FdaParams *params);

/**
 * fda_importance:
 * @spec: @n_leads spectra of @n_bins complex bins (interleaved re, im)
 * @importance: (out): @n_bins values, the mean over leads of |X(f)|²,
 *   averaged over ±@smooth bins when @smooth > 0
 */
void fda_importance(const float *spec, gsize n_leads, gsize n_bins, guint smooth,
                    double *importance);

/**
 * fda_strength:
 * @strength: (out): s(f) for each of the @n_bins bins, in [0, σ_max]
 *
 * Maps importance to perturbation strength (#FdaMapping).  All-zero
 * importance gives strength 0 everywhere (nothing to perturb).
 */
void fda_strength(const FdaParams *params, const double *importance, gsize n_bins,
                  double *strength);

/**
 * fda_important_bins:
 * @energy: per-bin energy
 * @in_band: (out): 1 for the bins of the smallest set holding @fraction
 *   of the total energy (most energetic first, ties by lower frequency)
 *
 * Returns: the number of bins in that set.
 */
gsize fda_important_bins(const double *energy, gsize n_bins, double fraction, guint8 *in_band);

/**
 * fda_apply:
 * @x: one record, @n_leads rows of @n samples
 * @out: (out): the augmented record, same layout; may not alias @x
 *
 * One FDA draw: rFFT per lead, importance and strength from @x itself,
 * perturbation per bin, inverse rFFT.  The imaginary parts of the DC and
 * Nyquist bins stay zero so the output is exactly real.  Draws come from
 * @rng in a fixed order (bins, then leads), so the same stream gives the
 * same output.
 */
void fda_apply(const FdaParams *params, const float *x, gsize n_leads, gsize n, LetheRng *rng,
               float *out);

/**
 * FdaSpectralChange:
 * @band_bins: bins in the important set (smallest holding the fraction)
 * @band_change: Σ_band Σ_leads |Y − X|² / Σ_band Σ_leads |X|²
 * @tail_change: the same over the other bins
 * @band_energy_change: |Σ_band |Y|² − Σ_band |X|²| / Σ_band |X|²
 * @tail_energy_change: the same over the other bins
 * @snr_db: 10 log10(Σ x² / Σ (y − x)²)
 */
typedef struct {
  gsize band_bins;
  double band_change;
  double tail_change;
  double band_energy_change;
  double tail_energy_change;
  double snr_db;
} FdaSpectralChange;

/**
 * fda_spectral_change:
 * Compares @y with @x (both @n_leads × @n) in the frequency domain, with
 * the important bins taken from @x's energy summed over leads.
 */
void fda_spectral_change(const float *x, const float *y, gsize n_leads, gsize n, double fraction,
                         FdaSpectralChange *change);

G_END_DECLS

#endif /* LETHE_FDA_OPS_H */
