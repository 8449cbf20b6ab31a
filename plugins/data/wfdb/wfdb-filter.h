/* Lethe — resampling and band-pass filtering of sampled signals.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Plain IIR biquads (Butterworth sections from the RBJ "Audio EQ Cookbook"
 * formulas) run forward then backward, so the result has no phase shift,
 * like scipy.signal.filtfilt.  Small, dependency-free, and exact enough
 * for ECG preprocessing; an FFT path is not needed at these lengths.
 */
#ifndef LETHE_WFDB_FILTER_H
#define LETHE_WFDB_FILTER_H

#include <glib.h>

G_BEGIN_DECLS

/**
 * signal_bandpass:
 * Filters @x (@n samples at @fs Hz) in place: a 4th-order Butterworth
 * high-pass at @low Hz (skipped when @low <= 0) and a 4th-order
 * Butterworth low-pass at @high Hz (skipped when @high <= 0), each applied
 * forward and backward.  Requires @low < @high < @fs / 2 when both are set.
 */
void signal_bandpass(float *x, gint64 n, double fs, double low, double high);

/** signal_resample_length: samples after resampling @n samples from @fs_in to @fs_out. */
gint64 signal_resample_length(gint64 n, double fs_in, double fs_out);

/**
 * signal_resample:
 * Resamples @in (@n samples at @fs_in) to @n_out samples at @fs_out by
 * linear interpolation, after an anti-aliasing zero-phase low-pass at
 * 0.45 × @fs_out when downsampling.  @in is not modified.
 */
void signal_resample(const float *in, gint64 n, double fs_in, double fs_out, float *out,
                     gint64 n_out);

G_END_DECLS

#endif /* LETHE_WFDB_FILTER_H */
