/* Lethe — loading LUDB for the ECG suites (records, lead II QRS marks).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_TEST_ECG_LUDB_H
#define LETHE_TEST_ECG_LUDB_H

#include <stdio.h>

#include "lethe-test.h"
#include "wfdb-record.h"

/* One LUDB record: 12 leads × n samples (standard order), lead II's QRS peaks. */
typedef struct {
  char *name;
  float *x;
  gsize n;
  double fs;
  GArray *qrs; /* gint64 */
  char *rhythm;
  gboolean lvh;
} LudbRecord;

static void
ludb_record_clear(gpointer p)
{
  LudbRecord *r = p;
  g_free(r->name);
  g_free(r->x);
  g_free(r->rhythm);
  if (r->qrs)
    g_array_unref(r->qrs);
}

static const char *const ludb_leads[12] = {"i",  "ii", "iii", "avr", "avl", "avf",
                                           "v1", "v2", "v3",  "v4",  "v5",  "v6"};

/* Loads up to @max records of LUDB (all when 0), or NULL (with a SKIP
 * line) when the shared data is missing. */
static GArray *
ludb_load(guint max)
{
  const char *d = g_getenv("LETHE_SHARED_DATA");
  g_autofree char *zip = d ? g_build_filename(d, "ecg", "ludb-1.0.1.zip", NULL) : NULL;
  if (zip == NULL || !g_file_test(zip, G_FILE_TEST_IS_REGULAR)) {
    fprintf(stderr, "\n  SKIP: LETHE_SHARED_DATA/ecg/ludb-1.0.1.zip is missing: no real ECG\n");
    return NULL;
  }
  GError *err = NULL;
  g_autoptr(WfdbSource) src = wfdb_source_open(zip, NULL, &err);
  g_assert_no_error(err);
  GPtrArray *keys = wfdb_source_get_records(src);
  GArray *out = g_array_new(FALSE, TRUE, sizeof(LudbRecord));
  g_array_set_clear_func(out, ludb_record_clear);
  for (guint i = 0; i < keys->len && (max == 0 || out->len < max); i++) {
    g_autoptr(WfdbRecord) rec = wfdb_record_load(src, keys->pdata[i], &err);
    g_assert_no_error(err);
    guint idx[12];
    if (!wfdb_match_leads(rec, ludb_leads, 12, idx, &err))
      g_error("%s", err->message);
    LudbRecord r = {0};
    r.name = g_strdup(rec->name);
    r.n = (gsize)rec->n_samples;
    r.fs = rec->header->fs;
    r.x = g_new(float, 12 * r.n);
    for (guint l = 0; l < 12; l++)
      memcpy(r.x + l * r.n, rec->physical + (gsize)idx[l] * r.n, r.n * sizeof(float));
    g_autoptr(GArray) anns = wfdb_record_load_annotations(src, rec, "ii", &err);
    g_assert_no_error(err);
    r.qrs = g_array_new(FALSE, FALSE, sizeof(gint64));
    for (guint k = 0; k < anns->len; k++) {
      WfdbAnnotation *a = &g_array_index(anns, WfdbAnnotation, k);
      if (a->code == 1)
        g_array_append_val(r.qrs, a->sample);
    }
    const char *rh = wfdb_header_get_info(rec->header, "Rhythm");
    r.rhythm = g_strdup(rh ? rh : "");
    for (guint c = 0; c < rec->header->comments->len; c++) {
      const char *line = rec->header->comments->pdata[c];
      if (strstr(line, "hypertrophy") &&
          (strstr(line, "Left ventricular") || strstr(line, "left ventricular")))
        r.lvh = TRUE;
    }
    g_array_append_val(out, r);
  }
  return out;
}

#endif /* LETHE_TEST_ECG_LUDB_H */
