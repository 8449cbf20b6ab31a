/* Lethe — real FFTs in single precision (FFTW).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_NN_FFT_H
#define LETHE_NN_FFT_H

#include <glib.h>

G_BEGIN_DECLS

/*
 * Spectra are interleaved complex numbers, (re, im) pairs of floats: a real
 * signal of length n has n/2 + 1 bins (integer division), bin k at
 * frequency k/n cycles per sample.  Conventions are NumPy's: the forward
 * transform is unscaled, X_k = Σ_t x_t e^{−2πi kt/n}, and the inverse
 * divides by n, so lethe_fft_irfft_f32(lethe_fft_rfft_f32(x)) = x.
 *
 * Plans are made once per length and kind (FFTW_ESTIMATE, so the same
 * length always runs the same algorithm and results are bit-identical run
 * after run), cached for the life of the process, and shared by all
 * threads: every function here is thread-safe.  Input and output must not
 * overlap; any alignment is accepted.
 */

/**
 * lethe_fft_rfft_f32:
 * @in: @n real samples
 * @n: signal length, >= 1 (any length; powers of small primes are fastest)
 * @out: (out): n/2 + 1 complex bins, 2 (n/2 + 1) floats
 *
 * Real-to-complex forward transform.
 */
void lethe_fft_rfft_f32(const float *in, gsize n, float *out);

/**
 * lethe_fft_irfft_f32:
 * @in: n/2 + 1 complex bins (not modified; the imaginary parts of bin 0,
 *   and of bin n/2 for even @n, are ignored)
 * @n: length of the real signal to produce
 * @out: (out): @n real samples
 *
 * Complex-to-real inverse transform, scaled by 1/@n.
 */
void lethe_fft_irfft_f32(const float *in, gsize n, float *out);

/**
 * lethe_fft_rfft_batch_f32:
 * @in: @howmany signals of @n samples, one per row (leading dimension @n)
 * @out: (out): @howmany spectra of n/2 + 1 bins, one per row
 *
 * Row by row forward transform (a 12-lead ECG record is one call).
 */
void lethe_fft_rfft_batch_f32(const float *in, gsize n, gsize howmany, float *out);
/** lethe_fft_irfft_batch_f32: the inverse of lethe_fft_rfft_batch_f32(). */
void lethe_fft_irfft_batch_f32(const float *in, gsize n, gsize howmany, float *out);

/**
 * lethe_fft_rfftfreq:
 * @d: sample spacing (1 / sampling rate)
 * @out: (out): the n/2 + 1 bin frequencies, k / (n d)
 */
void lethe_fft_rfftfreq(gsize n, double d, double *out);

G_END_DECLS

#endif /* LETHE_NN_FFT_H */
