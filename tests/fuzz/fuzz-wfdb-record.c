/* Lethe — fuzz target: WFDB records, header plus signal files in every
 * supported format, through the same loader the wfdb-source plugin uses
 * (grouping, sample counts, decoding, checksums, physical units).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Input: a little-endian u16 header length, the header text, then the
 * bytes every signal file named by the header holds.
 */
#include <math.h>
#include <string.h>

#include "fuzz-common.h"
#include "wfdb-record.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  fuzz_init();
  return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  size_t hlen = MIN((size_t)(data[0] | data[1] << 8), size - 2);
  const char *htext = (const char *)data + 2;
  g_autoptr(GBytes) hea = g_bytes_new(htext, hlen);
  g_autoptr(GBytes) dat = g_bytes_new(data + 2 + hlen, size - 2 - hlen);

  g_autoptr(GHashTable) entries =
      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
  g_hash_table_insert(entries, g_strdup("rec/r.hea"), g_bytes_ref(hea));
  /* Every signal file the header names holds the same bytes. */
  g_autoptr(WfdbHeader) parsed = wfdb_header_parse(htext, hlen, "r.hea", NULL);
  if (parsed == NULL)
    return 0;
  for (guint i = 0; i < parsed->n_signals; i++) {
    const char *f = parsed->signals[i].file_name;
    if (strchr(f, '/') == NULL && !g_str_equal(f, "r.hea"))
      g_hash_table_replace(entries, g_strconcat("rec/", f, NULL), g_bytes_ref(dat));
  }
  g_hash_table_replace(entries, g_strdup("rec/r.atr"), g_bytes_ref(dat));

  g_autoptr(WfdbSource) source = wfdb_source_new_from_entries("fuzz.zip", entries);
  g_autoptr(GError) error = NULL;
  g_autoptr(WfdbRecord) record = wfdb_record_load(source, "rec/r", &error);
  g_assert((record == NULL) == (error != NULL));
  if (record == NULL)
    return 0;
  g_assert(record->n_samples >= 0);
  gint64 n_nan = 0;
  gsize n = (gsize)record->header->n_signals * (gsize)record->n_samples;
  for (gsize k = 0; k < n; k++)
    n_nan += isnan(record->physical[k]);
  g_assert(n_nan == record->n_invalid);

  const char *leads[] = {"i", "v6"};
  guint index[2];
  g_autoptr(GError) lead_error = NULL;
  gboolean ok = wfdb_match_leads(record, leads, 2, index, &lead_error);
  g_assert(ok == (lead_error == NULL));
  g_autoptr(GError) ann_error = NULL;
  g_autoptr(GArray) anns = wfdb_record_load_annotations(source, record, "atr", &ann_error);
  g_assert((anns == NULL) == (ann_error != NULL));
  return 0;
}
