/* Lethe — writing WFDB records (format 16).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Header layout from header(5) of the WFDB Software Package: the record
 * line "name n_signals fs n_samples", then one line per signal "file
 * format gain(baseline)/units adc_resolution adc_zero initial_value
 * checksum block_size description".
 */
#include "wfdb-write.h"

#include <math.h>
#include <string.h>

#include <gio/gio.h>
#include <lethe/error.h>

static gboolean
write_atomically(const char *path, const void *data, gsize len, GError **error)
{
  g_autoptr(GFile) file = g_file_new_for_path(path);
  g_autoptr(GError) e = NULL;
  if (!g_file_replace_contents(file, data, len, NULL, FALSE, G_FILE_CREATE_NONE, NULL, NULL, &e)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_IO, "cannot write %s: %s", path, e->message);
    return FALSE;
  }
  return TRUE;
}

gboolean
wfdb_write_record(const char *dir, const char *name, const float *x, guint n_signals, gint64 n,
                  double fs, const char *const *lead_names, double gain,
                  const char *const *comments, gint64 *n_clipped, GError **error)
{
  for (const char *c = name; *c; c++)
    if (!g_ascii_isalnum(*c) && *c != '_') {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "record name '%s': WFDB names hold letters, digits and '_' only", name);
      return FALSE;
    }
  gsize count = (gsize)n * n_signals;
  g_autofree guint8 *dat = g_new(guint8, 2 * count);
  g_autofree gint16 *first = g_new0(gint16, n_signals);
  g_autofree gint64 *sum = g_new0(gint64, n_signals);
  gint64 clipped = 0;
  for (gint64 t = 0; t < n; t++)
    for (guint s = 0; s < n_signals; s++) {
      double v = round((double)x[(gsize)s * n + t] * gain);
      /* -32768 is WFDB's "invalid sample" code in format 16: never write it. */
      if (v > 32767 || v < -32767 || isnan(v)) {
        clipped++;
        v = isnan(v) ? 0 : CLAMP(v, -32767, 32767);
      }
      gint16 q = (gint16)v;
      if (t == 0)
        first[s] = q;
      sum[s] += q;
      guint16 u = (guint16)q;
      dat[2 * ((gsize)t * n_signals + s)] = (guint8)(u & 0xff);
      dat[2 * ((gsize)t * n_signals + s) + 1] = (guint8)(u >> 8);
    }
  g_autoptr(GString) hea = g_string_new(NULL);
  g_string_append_printf(hea, "%s %u %.12g %" G_GINT64_FORMAT "\n", name, n_signals, fs, n);
  for (guint s = 0; s < n_signals; s++)
    g_string_append_printf(hea, "%s.dat 16 %.12g(0)/mV 16 0 %d %d 0 %s\n", name, gain, first[s],
                           (gint16)(guint16)(sum[s] & 0xffff),
                           lead_names && lead_names[s] ? lead_names[s] : "signal");
  for (guint k = 0; comments && comments[k]; k++)
    g_string_append_printf(hea, "# %s\n", comments[k]);
  g_autofree char *dat_name = g_strconcat(name, ".dat", NULL);
  g_autofree char *hea_name = g_strconcat(name, ".hea", NULL);
  g_autofree char *dat_path = g_build_filename(dir, dat_name, NULL);
  g_autofree char *hea_path = g_build_filename(dir, hea_name, NULL);
  if (!write_atomically(dat_path, dat, 2 * count, error) ||
      !write_atomically(hea_path, hea->str, hea->len, error))
    return FALSE;
  if (n_clipped)
    *n_clipped = clipped;
  return TRUE;
}
