/* Lethe — Spatio-Temporal Dual Masking: building the masks.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A mask covers one record's tokens: @n_leads rows × @n_patches columns,
 * 1 where the patch is hidden.  Plain functions, so the tests measure
 * what the `stdm` node runs.  See docs/ecg.md.
 */
#ifndef LETHE_STDM_OPS_H
#define LETHE_STDM_OPS_H

#include <glib.h>
#include <lethe/nn-rng.h>

G_BEGIN_DECLS

/**
 * StdmMode:
 * @STDM_MODE_DUAL: column masks across all leads, row masks across time
 *   (respecting the limb-lead group when asked), random fill to the ratio
 * @STDM_MODE_RANDOM: plain random patch masking (MAE, ST-MEM), the baseline
 */
typedef enum {
  STDM_MODE_DUAL,
  STDM_MODE_RANDOM,
} StdmMode;

typedef struct {
  StdmMode mode;
  double ratio;        /* overall fraction of hidden tokens (0.75) */
  double time_ratio;   /* fraction of columns hidden across all leads (0.5) */
  guint rows;          /* leads hidden across all time (5) */
  gboolean limb_group; /* the row mask hides the limb leads as a group (TRUE) */
  guint limb_visible;  /* limb leads the group mask leaves visible: 0 or 1 (1) */
} StdmParams;

/** stdm_params_init: the defaults above. */
void stdm_params_init(StdmParams *params);

/**
 * stdm_mask:
 * @is_limb: @n_leads flags, TRUE for the rows that are limb leads (I, II,
 *   III, aVR, aVL, aVF: two-dimensional by Einthoven's and Goldberger's laws)
 * @mask: (out): @n_leads × @n_patches, 1 = hidden
 * @n_hidden: (out) (optional): how many tokens are hidden
 *
 * Draws one mask.  The target is round(ratio × tokens); the result hides
 * exactly that many, or one more when the column and row masks alone
 * already do.  Fails (LETHE_ERROR_INVALID) when the mask would hide every
 * token, or when the column and row masks alone hide more than one token
 * above the target (the message gives the numbers and the fix).
 *
 * With @limb_group, in every column at most @limb_visible (≤ 1) limb leads
 * stay visible, so no hidden limb-lead patch can be computed from visible
 * limb leads at the same time (any two limb leads span the other four).
 */
gboolean stdm_mask(const StdmParams *params, guint n_leads, guint n_patches,
                   const gboolean *is_limb, LetheRng *rng, guint8 *mask, guint *n_hidden,
                   GError **error);

/**
 * stdm_count_recoverable:
 * @masked_limb: (out): hidden limb-lead patches
 * @recoverable: (out): those with at least two other limb leads visible in
 *   the same column, i.e. exactly recoverable by the limb-lead identities
 */
void stdm_count_recoverable(const guint8 *mask, guint n_leads, guint n_patches,
                            const gboolean *is_limb, guint64 *masked_limb, guint64 *recoverable);

G_END_DECLS

#endif /* LETHE_STDM_OPS_H */
