/* Lethe — checks and helpers shared by the ECG nodes (fda, stdm, core-ecg).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A 12-lead ECG arrives as a `dataset` frame whose x is f32 [records, leads,
 * samples], with metadata "fs" (Hz) and "leads" (as, the lead names in row
 * order), as wfdb-source emits it.
 */
#ifndef LETHE_ECG_FRAME_H
#define LETHE_ECG_FRAME_H

#include <lethe/frame.h>

G_BEGIN_DECLS

/** ECG_N_LEADS: the standard 12 leads. */
#define ECG_N_LEADS 12

/** ecg_standard_leads: i, ii, iii, avr, avl, avf, v1 … v6 (lower case). */
extern const char *const ecg_standard_leads[ECG_N_LEADS];

/** ecg_is_limb_lead: the six limb leads, indices 0–5 of the standard order. */
#define ecg_is_limb_lead(std_index) ((std_index) < 6)

/**
 * ecg_match_leads:
 * @names: (nullable): the frame's lead names, one per row of x
 * @index: (out caller-allocates): for each standard lead, its row in x
 *
 * Every standard lead must be present (case ignored; "avr" also as "aVR").
 * Fails with an error naming @node, the missing leads and the leads the
 * frame has.  When @names is %NULL and @n_rows is 12, the standard order is
 * assumed.
 */
gboolean ecg_match_leads(const char *const *names, gsize n_rows, const char *node, guint *index,
                         GError **error);

/** ecg_frame_lead_names: (transfer full) (nullable) the frame's "leads" metadata. */
char **ecg_frame_lead_names(const LetheFrame *frame);

/**
 * ecg_frame_signal:
 * @shape: (out): records, leads, samples
 * Returns: (transfer full) the tensor @name of @frame as a contiguous f32
 * rank-3 tensor, or %NULL with an error naming @node when it is missing,
 * of another type or rank, or holds a NaN or an infinity (with the record,
 * lead and sample where it is).
 */
LetheTensor *ecg_frame_signal(const LetheFrame *frame, const char *name, const char *node,
                              gint64 shape[3], GError **error);

/**
 * EcgRatePolicy:
 * What to do when a frame's sampling rate differs from the first frame's.
 */
typedef enum {
  ECG_RATE_REFUSE,
  ECG_RATE_RESAMPLE,
} EcgRatePolicy;

/**
 * ecg_check_rate:
 * @first_fs: (inout): 0 before the first frame; then the stream's rate
 * @x: (inout) (transfer full): the frame's signal; replaced by a resampled
 *   copy under %ECG_RATE_RESAMPLE when the rates differ
 * @fs: (out): the rate @x now has
 *
 * Reads the frame's "fs" metadata (required) and applies @policy.
 */
gboolean ecg_check_rate(const LetheFrame *frame, double *first_fs, EcgRatePolicy policy,
                        const char *node, LetheTensor **x, double *fs, GError **error);

G_END_DECLS

#endif /* LETHE_ECG_FRAME_H */
