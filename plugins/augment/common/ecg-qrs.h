/* Lethe — a QRS (R-peak) detector in the manner of Pan and Tompkins.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Used to check that augmentations keep the beats where they were.
 * J. Pan, W. J. Tompkins, "A Real-Time QRS Detection Algorithm", IEEE
 * Trans. Biomed. Eng. 32(3), 1985.  Offline and zero-phase here (the whole
 * record is known), see ecg-qrs.c for the steps.
 */
#ifndef LETHE_ECG_QRS_H
#define LETHE_ECG_QRS_H

#include <glib.h>

G_BEGIN_DECLS

/**
 * ecg_qrs_detect:
 * @x: one lead, @n samples at @fs Hz (physical units; any offset)
 *
 * Returns: (transfer full) (element-type gint64) the R-peak sample
 * indices, increasing.
 */
GArray *ecg_qrs_detect(const float *x, gsize n, double fs);

/**
 * EcgBeatMatch:
 * @tp: reference beats with a detection within the tolerance
 * @fp: detections without a reference beat
 * @fn: reference beats without a detection
 * @abs_error_sum: Σ |detection − reference| over matched pairs, in samples
 * @abs_error_max: the largest of those
 */
typedef struct {
  gint64 tp, fp, fn;
  double abs_error_sum;
  double abs_error_max;
} EcgBeatMatch;

/**
 * ecg_beats_match:
 * @reference, @detected: increasing sample indices
 * @tolerance: the largest |detection − reference| that counts as a match
 * @lo, @hi: detections outside [@lo, @hi] are ignored (the annotated span
 *   of a record whose edges were not annotated); pass 0, G_MAXINT64 for all
 *
 * Matches greedily in time order, each reference beat with the nearest
 * unused detection, and adds the counts to @m.
 */
void ecg_beats_match(const gint64 *reference, gsize n_ref, const gint64 *detected, gsize n_det,
                     gint64 tolerance, gint64 lo, gint64 hi, EcgBeatMatch *m);

/** ecg_beat_f1: 2 TP / (2 TP + FP + FN); 1 when there is nothing to find and nothing found. */
double ecg_beat_f1(const EcgBeatMatch *m);

G_END_DECLS

#endif /* LETHE_ECG_QRS_H */
