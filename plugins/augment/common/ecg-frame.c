/* Lethe — checks and helpers shared by the ECG nodes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ecg-frame.h"

#include <math.h>
#include <string.h>

#include <lethe/error.h>

#include "wfdb-filter.h"

const char *const ecg_standard_leads[ECG_N_LEADS] = {"i",  "ii", "iii", "avr", "avl", "avf",
                                                     "v1", "v2", "v3",  "v4",  "v5",  "v6"};

gboolean
ecg_match_leads(const char *const *names, gsize n_rows, const char *node, guint *index,
                GError **error)
{
  if (names == NULL) {
    if (n_rows == ECG_N_LEADS) {
      for (guint k = 0; k < ECG_N_LEADS; k++)
        index[k] = k;
      return TRUE;
    }
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: the signal has %" G_GSIZE_FORMAT " leads and no 'leads' metadata; a "
                "12-lead ECG (i, ii, iii, avr, avl, avf, v1-v6) is needed: read it with "
                "wfdb-source leads = i,ii,iii,avr,avl,avf,v1,v2,v3,v4,v5,v6",
                node, n_rows);
    return FALSE;
  }
  g_autoptr(GString) missing = g_string_new(NULL);
  for (guint k = 0; k < ECG_N_LEADS; k++) {
    index[k] = G_MAXUINT;
    for (gsize r = 0; r < n_rows && names[r]; r++)
      if (g_ascii_strcasecmp(names[r], ecg_standard_leads[k]) == 0) {
        index[k] = (guint)r;
        break;
      }
    if (index[k] == G_MAXUINT)
      g_string_append_printf(missing, "%s%s", missing->len ? ", " : "", ecg_standard_leads[k]);
  }
  if (missing->len == 0)
    return TRUE;
  g_autofree char *have = g_strjoinv(", ", (char **)names);
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "%s: the signal lacks lead(s) %s of the standard 12 (it has %s); select the 12 "
              "leads in the source (leads = i,ii,iii,avr,avl,avf,v1,v2,v3,v4,v5,v6)",
              node, missing->str, *have ? have : "none");
  return FALSE;
}

char **
ecg_frame_lead_names(const LetheFrame *frame)
{
  GVariant *v = lethe_frame_get_meta(frame, "leads");
  if (v == NULL || !g_variant_is_of_type(v, G_VARIANT_TYPE_STRING_ARRAY))
    return NULL;
  return g_variant_dup_strv(v, NULL);
}

LetheTensor *
ecg_frame_signal(const LetheFrame *frame, const char *name, const char *node, gint64 shape[3],
                 GError **error)
{
  LetheTensor *t = lethe_frame_get_tensor(frame, name);
  if (t == NULL || t->dtype != LETHE_DTYPE_F32 || t->rank != 3) {
    g_autofree char *s = t ? lethe_tensor_shape_string(t) : NULL;
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s: needs '%s' as f32 [records, leads, samples]; the frame has %s%s%s", node, name,
                t ? lethe_dtype_name(t->dtype) : "no such tensor", t ? " " : "", t ? s : "");
    return NULL;
  }
  LetheTensor *c = lethe_tensor_contiguous(t);
  memcpy(shape, c->shape, 3 * sizeof(gint64));
  const float *x = lethe_tensor_f32(c);
  gint64 total = shape[0] * shape[1] * shape[2];
  for (gint64 i = 0; i < total; i++) {
    if (G_LIKELY(isfinite(x[i])))
      continue;
    gint64 rec = i / (shape[1] * shape[2]), lead = (i / shape[2]) % shape[1], s = i % shape[2];
    g_auto(GStrv) leads = ecg_frame_lead_names(frame);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: '%s' holds %s at record %" G_GINT64_FORMAT
                ", lead %s, sample %" G_GINT64_FORMAT
                "; drop or repair the record upstream (WFDB marks missing samples as NaN)",
                node, name, isnan(x[i]) ? "NaN" : "an infinity", rec,
                leads && lead < (gint64)g_strv_length(leads) ? leads[lead] : "?", s);
    lethe_tensor_unref(c);
    return NULL;
  }
  return c;
}

gboolean
ecg_check_rate(const LetheFrame *frame, double *first_fs, EcgRatePolicy policy, const char *node,
               LetheTensor **x, double *fs, GError **error)
{
  double f = lethe_frame_get_meta_double(frame, "fs", 0.0);
  if (!(f > 0)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s: the frame has no sampling rate (metadata 'fs' in Hz)", node);
    return FALSE;
  }
  if (*first_fs == 0)
    *first_fs = f;
  *fs = f;
  if (fabs(f - *first_fs) <= 1e-9 * *first_fs)
    return TRUE;
  if (policy == ECG_RATE_REFUSE) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: sampling rate %g Hz differs from the stream's %g Hz; resample in the source "
                "(resample = %g) or set rate-mismatch = resample",
                node, f, *first_fs, *first_fs);
    return FALSE;
  }
  LetheTensor *in = *x;
  gint64 n_out = signal_resample_length(in->shape[2], f, *first_fs);
  gint64 shape[3] = {in->shape[0], in->shape[1], n_out};
  LetheTensor *out = lethe_tensor_new(LETHE_DTYPE_F32, 3, shape);
  for (gint64 r = 0; r < shape[0] * shape[1]; r++)
    signal_resample(lethe_tensor_f32(in) + r * in->shape[2], in->shape[2], f, *first_fs,
                    lethe_tensor_f32(out) + r * n_out, n_out);
  lethe_tensor_unref(in);
  *x = out;
  *fs = *first_fs;
  return TRUE;
}
