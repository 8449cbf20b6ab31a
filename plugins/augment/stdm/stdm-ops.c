/* Lethe — Spatio-Temporal Dual Masking: building the masks.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "stdm-ops.h"

#include <math.h>
#include <string.h>

#include <lethe/error.h>

void
stdm_params_init(StdmParams *params)
{
  params->mode = STDM_MODE_DUAL;
  params->ratio = 0.75;
  params->time_ratio = 0.5;
  params->rows = 5;
  params->limb_group = TRUE;
  params->limb_visible = 1;
}

/* Hides @k of the @n candidate tokens listed in @cand (uniformly, by a
 * partial Fisher–Yates shuffle). */
static void
hide_random(guint8 *mask, gint64 *cand, gsize n, gsize k, LetheRng *rng)
{
  for (gsize i = 0; i < k && i < n; i++) {
    gsize j = i + (gsize)lethe_rng_below(rng, n - i);
    gint64 t = cand[i];
    cand[i] = cand[j];
    cand[j] = t;
    mask[cand[i]] = 1;
  }
}

gboolean
stdm_mask(const StdmParams *p, guint n_leads, guint n_patches, const gboolean *is_limb,
          LetheRng *rng, guint8 *mask, guint *n_hidden, GError **error)
{
  gsize total = (gsize)n_leads * n_patches;
  gsize target = (gsize)llround(p->ratio * (double)total);
  gsize hidden = 0;
  g_autofree gint64 *cand = g_new(gint64, MAX(total, MAX(n_leads, n_patches)));
  memset(mask, 0, total);
  if (total == 0 || target >= total)
    goto hides_all;

  if (p->mode == STDM_MODE_DUAL) {
    /* Columns: every lead at round(time_ratio × N) random time indices. */
    gsize n_cols = (gsize)llround(p->time_ratio * n_patches);
    if (n_cols >= n_patches)
      goto hides_all;
    for (guint j = 0; j < n_patches; j++)
      cand[j] = j;
    g_autofree guint8 *col = g_new0(guint8, n_patches);
    hide_random(col, cand, n_patches, n_cols, rng);
    /* Rows: the limb group first (all but limb_visible of them), then
     * other leads up to `rows`; or `rows` random leads. */
    g_autofree guint8 *row = g_new0(guint8, n_leads);
    gsize n_rows = 0;
    if (p->limb_group) {
      gsize n_limb = 0;
      for (guint l = 0; l < n_leads; l++)
        if (is_limb[l])
          cand[n_limb++] = l;
      gsize hide = n_limb > p->limb_visible ? n_limb - p->limb_visible : 0;
      hide_random(row, cand, n_limb, hide, rng);
      n_rows = hide;
      gsize n_other = 0;
      for (guint l = 0; l < n_leads; l++)
        if (!is_limb[l])
          cand[n_other++] = l;
      if (p->rows > n_rows)
        hide_random(row, cand, n_other, p->rows - n_rows, rng);
    } else {
      for (guint l = 0; l < n_leads; l++)
        cand[l] = l;
      hide_random(row, cand, n_leads, MIN(p->rows, n_leads), rng);
    }
    for (guint l = 0; l < n_leads; l++)
      for (guint j = 0; j < n_patches; j++)
        mask[(gsize)l * n_patches + j] = row[l] | col[j];
    for (gsize t = 0; t < total; t++)
      hidden += mask[t];
    if (hidden >= total)
      goto hides_all;
    if (hidden > target + 1)
      goto fixed_too_large;
  }

  /* Random fill among the visible tokens, up to the target. */
  gsize n_vis = 0;
  for (gsize t = 0; t < total; t++)
    if (!mask[t])
      cand[n_vis++] = (gint64)t;
  if (target > hidden) {
    hide_random(mask, cand, n_vis, target - hidden, rng);
    hidden = target;
  }
  if (n_hidden)
    *n_hidden = (guint)hidden;
  return TRUE;

  /* ERRORS */
hides_all:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "the mask would hide every one of the %" G_GSIZE_FORMAT " tokens (%u leads × %u "
              "patches; ratio %g, time-ratio %g, rows %u): nothing would be left to encode; lower "
              "ratio, time-ratio or rows",
              total, n_leads, n_patches, p->ratio, p->time_ratio, p->rows);
  return FALSE;
fixed_too_large:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "the column and row masks alone hide %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
              " tokens (%.3f), more than the ratio %g asks (%" G_GSIZE_FORMAT
              "); raise ratio to at least %.3f or lower time-ratio or rows",
              hidden, total, (double)hidden / total, p->ratio, target, (double)hidden / total);
  return FALSE;
}

void
stdm_count_recoverable(const guint8 *mask, guint n_leads, guint n_patches, const gboolean *is_limb,
                       guint64 *masked_limb, guint64 *recoverable)
{
  for (guint j = 0; j < n_patches; j++) {
    guint visible = 0;
    for (guint l = 0; l < n_leads; l++)
      visible += is_limb[l] && !mask[(gsize)l * n_patches + j];
    for (guint l = 0; l < n_leads; l++) {
      if (!is_limb[l] || !mask[(gsize)l * n_patches + j])
        continue;
      (*masked_limb)++;
      /* The patch itself is hidden, so every visible limb lead is another one. */
      if (visible >= 2)
        (*recoverable)++;
    }
  }
}
