/* Lethe — WFDB records from a folder, an archive or a single header.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A WfdbSource finds the records (every `.hea`) under a folder, inside a
 * `.zip`/`.tar.*` archive (read once through libarchive, no temporary
 * files) or names one header; wfdb_record_load() parses a header, decodes
 * its signal files, verifies the checksums and converts to physical units.
 */
#ifndef LETHE_WFDB_RECORD_H
#define LETHE_WFDB_RECORD_H

#include <glib.h>

#include "wfdb-parse.h"

G_BEGIN_DECLS

typedef struct _WfdbSource WfdbSource;

/**
 * wfdb_source_open:
 * @path: a folder (searched recursively), an archive, or one `.hea` file
 * @record_glob: (nullable): keep only records whose name matches one of
 *   these comma-separated globs ("1*,2*"); %NULL or "" keeps all
 *
 * Returns: (transfer full) the source, or %NULL with @error set when @path
 * is missing, a corrupt archive, or holds no record (matching the filter).
 */
WfdbSource *wfdb_source_open(const char *path, const char *record_glob, GError **error);
/**
 * wfdb_source_new_from_entries:
 * @label: names the source in messages
 * @entries: relative path → #GBytes, as read from an archive (a ref is taken)
 *
 * A source over files already in memory (tests, fuzz targets).  Every
 * `.hea` entry is a record.  Returns: (transfer full) the source, possibly
 * holding no record.
 */
WfdbSource *wfdb_source_new_from_entries(const char *label, GHashTable *entries);
void wfdb_source_free(WfdbSource *source);
/** wfdb_source_get_records: (transfer none) record keys (header paths without ".hea"), natural
 * order. */
GPtrArray *wfdb_source_get_records(const WfdbSource *source);
/** wfdb_source_get_path: the path the source was opened from. */
const char *wfdb_source_get_path(const WfdbSource *source);
/**
 * wfdb_source_get_file:
 * @relpath: a path relative to the source root ("data/1.dat")
 * Returns: (transfer full) the file's bytes, or %NULL with @error set.
 */
GBytes *wfdb_source_get_file(WfdbSource *source, const char *relpath, GError **error);
/**
 * wfdb_source_find_file:
 * Finds a file by its base name anywhere in the source (e.g. "ludb.csv").
 * Returns: (transfer full) (nullable) its relative path.
 */
char *wfdb_source_find_file(const WfdbSource *source, const char *basename);

/**
 * WfdbRecord:
 * @key: where the record is in its source ("data/1")
 * @name: the record's name (the key's base name, "1")
 * @header: the parsed header
 * @n_samples: samples per signal (from the header, or from the file size
 *   when the header gives none)
 * @physical: @header->n_signals × @n_samples values in physical units,
 *   signal-major; NaN where the file holds the invalid-sample code
 * @n_invalid: how many NaN values @physical holds
 */
typedef struct {
  char *key;
  char *name;
  WfdbHeader *header;
  gint64 n_samples;
  float *physical;
  gint64 n_invalid;
} WfdbRecord;

/**
 * wfdb_record_load:
 * Reads the record @key of @source: header, every signal file (several
 * signals may share a file, one record may use several files), checks the
 * sample count and every checksum (modulo 65536).  Errors name the record,
 * the file and what does not match.
 */
WfdbRecord *wfdb_record_load(WfdbSource *source, const char *key, GError **error);
void wfdb_record_free(WfdbRecord *record);

/**
 * wfdb_record_load_annotations:
 * Reads `<key>.<ext>` of the record (LUDB's per-lead `.i`, `.ii`…, or
 * `.atr`).  Returns: (transfer full) (element-type WfdbAnnotation).
 */
GArray *wfdb_record_load_annotations(WfdbSource *source, const WfdbRecord *record, const char *ext,
                                     GError **error);

/**
 * wfdb_match_leads:
 * @leads: the lead names wanted, in output order
 * @index: (out caller-allocates): @n_leads signal indices
 *
 * Matches @leads against the signal descriptions of @record, ignoring case.
 * Returns %FALSE with @error set naming the record, every missing lead and
 * the leads the record has.
 */
gboolean wfdb_match_leads(const WfdbRecord *record, const char *const *leads, guint n_leads,
                          guint *index, GError **error);

/**
 * wfdb_natural_compare:
 * Compares strings so that digit runs compare by value ("2" < "10").
 */
int wfdb_natural_compare(const char *a, const char *b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WfdbSource, wfdb_source_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WfdbRecord, wfdb_record_free)

G_END_DECLS

#endif /* LETHE_WFDB_RECORD_H */
