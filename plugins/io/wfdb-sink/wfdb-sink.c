/* Lethe — wfdb-sink: writes signals of a frame back as WFDB records.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [write]
 *   plugin = wfdb-sink
 *   input = mask               # x, x1, x2 (and mask1, mask2) [records, leads, samples]
 *   dir = preview              # relative to the run's output folder
 *   tensors = x,x1,x2
 *   max-records = 3
 *
 * For each of the first max-records rows and each named tensor, writes
 * <dir>/<record>_<tensor>.hea/.dat (format 16, `gain` ADC units per mV).
 * When the frame holds the view's mask (x1 → mask1, x2 → mask2, x → mask)
 * and `masked` is on, also <record>_<tensor>_masked with the hidden patches
 * set to 0 mV, so the spatio-temporal mask is visible in a viewer.  The
 * header names the leads from the frame's "leads" metadata and records
 * where the signal came from in its comments.
 */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <lethe/plugin.h>

#include "wfdb-write.h"

typedef struct {
  guint written;
} Sink;

static char *
record_name(const LetheFrame *frame, gint64 row)
{
  GVariant *recs = lethe_frame_get_meta(frame, "records");
  LetheTensor *rec = lethe_frame_get_tensor(frame, "record");
  g_autofree char *base = NULL;
  if (recs && g_variant_is_of_type(recs, G_VARIANT_TYPE_STRING_ARRAY) && rec) {
    gint64 k = (gint64)lethe_tensor_get_f64(rec, row);
    if (k >= 0 && (gsize)k < g_variant_n_children(recs))
      g_variant_get_child(recs, (gsize)k, "s", &base);
  }
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "r%" G_GINT64_FORMAT, row);
  if (base != NULL)
    g_string_append_c(s, '_');
  for (const char *c = base; c && *c; c++)
    g_string_append_c(s, g_ascii_isalnum(*c) ? *c : '_');
  return g_string_free(s, FALSE);
}

static gboolean
sink_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  Sink *st = lethe_node_get_private(node);
  const char *name = lethe_node_get_name(node);
  LetheFrame *in = inputs[0];
  gint64 max = lethe_node_get_int(node, "max-records");
  double gain = lethe_node_get_double(node, "gain");
  const char *dir_param = lethe_node_get_string(node, "dir");
  const char *out_dir = lethe_node_get_output_dir(node);
  g_autofree char *dir = g_path_is_absolute(dir_param) || out_dir == NULL
                             ? g_strdup(dir_param)
                             : g_build_filename(out_dir, dir_param, NULL);
  if (g_mkdir_with_parents(dir, 0755) != 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_IO, "%s: cannot create folder %s: %s", name, dir,
                g_strerror(errno));
    return FALSE;
  }
  g_auto(GStrv) tensors = g_strsplit(lethe_node_get_string(node, "tensors"), ",", -1);
  GVariant *lv = lethe_frame_get_meta(in, "leads");
  g_autofree const char **leads = lv && g_variant_is_of_type(lv, G_VARIANT_TYPE_STRING_ARRAY)
                                      ? g_variant_get_strv(lv, NULL)
                                      : NULL;
  double fs = lethe_frame_get_meta_double(in, "fs", 0);
  if (!(fs > 0)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s: the frame has no sampling rate (metadata 'fs')", name);
    return FALSE;
  }
  for (guint k = 0; tensors[k]; k++) {
    const char *tn = g_strstrip(tensors[k]);
    LetheTensor *t = *tn ? lethe_frame_get_tensor(in, tn) : NULL;
    if (*tn == '\0')
      continue;
    if (t == NULL || t->rank != 3) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                  "%s: no signal '%s' [records, leads, samples] in the frame; set tensors = to "
                  "the names it has",
                  name, tn);
      return FALSE;
    }
    g_autoptr(LetheTensor) x = lethe_tensor_to_dtype(t, LETHE_DTYPE_F32);
    g_autofree char *mask_name =
        g_str_equal(tn, "x") ? g_strdup("mask") : g_strdup_printf("mask%s", tn + 1);
    LetheTensor *mt =
        lethe_node_get_bool(node, "masked") ? lethe_frame_get_tensor(in, mask_name) : NULL;
    gint64 L = x->shape[1], n = x->shape[2];
    gint64 patches = mt ? mt->shape[2] : 0, patch = patches ? n / patches : 0;
    g_autofree float *masked = mt ? g_new(float, L *n) : NULL;
    for (gint64 r = 0; r < MIN(max, x->shape[0]); r++) {
      g_autofree char *rn = record_name(in, r);
      g_autofree char *rec = g_strdup_printf("%s_%s", rn, tn);
      const float *xr = lethe_tensor_f32(x) + r * L * n;
      g_autofree char *c1 =
          g_strdup_printf("lethe %s, node %s: tensor %s, row %" G_GINT64_FORMAT,
                          lethe_frame_get_meta_string(in, "augment", "signal"), name, tn, r);
      const char *comments[] = {c1, NULL};
      gint64 clipped = 0;
      if (!wfdb_write_record(dir, rec, xr, (guint)L, n, fs, leads, gain, comments, &clipped, error))
        goto failed;
      st->written++;
      if (clipped)
        g_warning("%s: %s: %" G_GINT64_FORMAT " samples beyond ±%.3g mV were clipped", name, rec,
                  clipped, 32767 / gain);
      if (masked == NULL)
        continue;
      const guint8 *m = lethe_tensor_u8(mt) + r * L * patches;
      for (gint64 l = 0; l < L; l++)
        for (gint64 t2 = 0; t2 < n; t2++)
          masked[l * n + t2] =
              t2 / patch < patches && m[l * patches + t2 / patch] ? 0.0f : xr[l * n + t2];
      g_autofree char *mrec = g_strdup_printf("%s_masked", rec);
      if (!wfdb_write_record(dir, mrec, masked, (guint)L, n, fs, leads, gain, comments, NULL,
                             error))
        goto failed;
      st->written++;
    }
  }
  lethe_node_progress(node, "written", 1.0);
  return TRUE;

  /* ERRORS */
failed:
  g_prefix_error(error, "%s: ", name);
  return FALSE;
}

static gboolean
sink_init(LetheNode *node, GError **error)
{
  lethe_node_set_private(node, g_new0(Sink, 1), g_free);
  return TRUE;
}

static gboolean
sink_flush(LetheNode *node, GError **error)
{
  Sink *st = lethe_node_get_private(node);
  lethe_node_metric(node, "wfdb_records_written", -1, st->written, NULL);
  return TRUE;
}

static const LetheParamSpec sink_params[] = {
    {"dir", LETHE_PARAM_STRING, "wfdb", 0, 0, NULL,
     "output folder; relative names are inside the run's output folder"},
    {"tensors", LETHE_PARAM_STRING, "x,x1,x2", 0, 0, NULL,
     "comma-separated signal tensors to write, each [records, leads, samples]"},
    {"max-records", LETHE_PARAM_INT, "3", 1, G_MAXINT32, NULL, "rows written per tensor"},
    {"gain", LETHE_PARAM_DOUBLE, "1000", 1, 1e6, NULL,
     "ADC units per mV (1000: 1 uV steps, range +-32.767 mV)"},
    {"masked", LETHE_PARAM_BOOL, "true", 0, 0, NULL,
     "also write each view with its STDM-hidden patches set to 0"},
    {NULL},
};
static const LethePortSpec sink_inputs[] = {
    {"input", "dataset", LETHE_PORT_NONE, "signals [records, leads, samples], metadata fs, leads"},
    {NULL},
};
static const LetheNodeVTable sink_vtable = {
    .init = sink_init, .process = sink_process, .flush = sink_flush};

static const LetheNodeType sink_type = {
    "wfdb-sink",
    LETHE_NODE_SINK,
    "Writes signals (and masked views) as WFDB format-16 records for any WFDB viewer",
    sink_inputs,
    NULL,
    sink_params,
    &sink_vtable,
    "Record names: r<row>_<source record>_<tensor>[_masked].",
};

static const LetheNodeType *const node_types[] = {&sink_type, NULL};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR,     LETHE_ABI_MINOR,      "wfdb-sink", "0.1.0",
    "LGPL-2.1-or-later", "WFDB record writer", node_types,  NULL,
};

LETHE_PLUGIN_DEFINE(plugin_info)
