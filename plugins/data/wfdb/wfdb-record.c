/* Lethe — WFDB records from a folder, an archive or a single header.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wfdb-record.h"

#include <math.h>
#include <string.h>

#include <lethe/error.h>

#include "data-stream.h"

/* Bounds on what one source may hold in memory and one file may weigh. */
#define MAX_ARCHIVE_BYTES (G_GUINT64_CONSTANT(8) << 30)
#define MAX_FILE_BYTES    (G_GUINT64_CONSTANT(4) << 30)

struct _WfdbSource {
  char *path;
  char *root;           /* folder the relative paths start from (folders, single headers) */
  GHashTable *entries;  /* archives: relpath -> GBytes; NULL otherwise */
  GPtrArray *records;   /* keys */
  GPtrArray *all_files; /* every relpath known, for wfdb_source_find_file() */
  GPatternSpec **globs;
};

int
wfdb_natural_compare(const char *a, const char *b)
{
  while (*a && *b) {
    if (g_ascii_isdigit(*a) && g_ascii_isdigit(*b)) {
      while (*a == '0')
        a++;
      while (*b == '0')
        b++;
      gsize la = 0, lb = 0;
      while (g_ascii_isdigit(a[la]))
        la++;
      while (g_ascii_isdigit(b[lb]))
        lb++;
      if (la != lb)
        return la < lb ? -1 : 1;
      int c = strncmp(a, b, la);
      if (c)
        return c;
      a += la;
      b += lb;
      continue;
    }
    if (*a != *b)
      return (guchar)*a - (guchar)*b;
    a++;
    b++;
  }
  return (guchar)*a - (guchar)*b;
}

static int
natural_ptr_compare(gconstpointer a, gconstpointer b)
{
  return wfdb_natural_compare(*(const char *const *)a, *(const char *const *)b);
}

static gboolean
name_matches(const WfdbSource *s, const char *record_name)
{
  if (s->globs == NULL)
    return TRUE;
  for (guint i = 0; s->globs[i]; i++)
    if (g_pattern_spec_match_string(s->globs[i], record_name))
      return TRUE;
  return FALSE;
}

/* Archive entries kept: every header, CSV and text index, and the files
 * whose stem matches the record filter (signals, annotations). */
static gboolean
keep_entry(const char *entry, gpointer user_data)
{
  const WfdbSource *s = user_data;
  if (s->globs == NULL || g_str_has_suffix(entry, ".hea") || g_str_has_suffix(entry, ".csv"))
    return TRUE;
  g_autofree char *base = g_path_get_basename(entry);
  char *dot = strchr(base, '.');
  if (dot)
    *dot = '\0';
  return name_matches(s, base);
}

static void
add_record_if_header(WfdbSource *s, const char *relpath)
{
  if (!g_str_has_suffix(relpath, ".hea"))
    return;
  g_autofree char *key = g_strndup(relpath, strlen(relpath) - 4);
  g_autofree char *name = g_path_get_basename(key);
  if (name_matches(s, name))
    g_ptr_array_add(s->records, g_steal_pointer(&key));
}

static void
walk_folder(WfdbSource *s, const char *rel, guint depth)
{
  if (depth > 16)
    return;
  g_autofree char *dir = rel[0] ? g_build_filename(s->root, rel, NULL) : g_strdup(s->root);
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  if (d == NULL)
    return;
  const char *n;
  while ((n = g_dir_read_name(d))) {
    g_autofree char *sub = rel[0] ? g_build_filename(rel, n, NULL) : g_strdup(n);
    g_autofree char *full = g_build_filename(s->root, sub, NULL);
    if (g_file_test(full, G_FILE_TEST_IS_DIR) && !g_file_test(full, G_FILE_TEST_IS_SYMLINK))
      walk_folder(s, sub, depth + 1);
    else if (g_file_test(full, G_FILE_TEST_IS_REGULAR)) {
      add_record_if_header(s, sub);
      g_ptr_array_add(s->all_files, g_steal_pointer(&sub));
    }
  }
}

WfdbSource *
wfdb_source_open(const char *path, const char *record_glob, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);

  g_autoptr(WfdbSource) s = g_new0(WfdbSource, 1);
  s->path = g_strdup(path);
  s->records = g_ptr_array_new_with_free_func(g_free);
  s->all_files = g_ptr_array_new_with_free_func(g_free);
  if (record_glob && *record_glob) {
    g_auto(GStrv) parts = g_strsplit(record_glob, ",", -1);
    guint n = g_strv_length(parts);
    s->globs = g_new0(GPatternSpec *, n + 1);
    for (guint i = 0, j = 0; i < n; i++) {
      g_strstrip(parts[i]);
      if (*parts[i])
        s->globs[j++] = g_pattern_spec_new(parts[i]);
    }
  }

  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                "%s: no such file or folder (expected a WFDB folder, archive or .hea file)", path);
    return NULL;
  }
  if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
    s->root = g_strdup(path);
    walk_folder(s, "", 0);
  } else if (g_str_has_suffix(path, ".hea")) {
    s->root = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *name = g_strndup(base, strlen(base) - 4);
    /* The folder's files, for the signal files; but a single header is
     * the only record the user asked for, and no filter applies. */
    walk_folder(s, "", 15);
    g_ptr_array_set_size(s->records, 0);
    g_ptr_array_add(s->records, g_steal_pointer(&name));
  } else if (data_path_is_archive(path)) {
    s->entries = data_archive_read_entries(path, keep_entry, s, MAX_ARCHIVE_BYTES, error);
    if (s->entries == NULL)
      return NULL;
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, s->entries);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
      add_record_if_header(s, k);
      g_ptr_array_add(s->all_files, g_strdup(k));
    }
  } else {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: not a folder, a .hea header or an archive (.zip, .tar, .tar.gz, .tar.xz…)",
                path);
    return NULL;
  }
  if (s->records->len == 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "%s: no WFDB record (.hea file)%s%s",
                path, s->globs ? " matches the record filter " : "", s->globs ? record_glob : "");
    return NULL;
  }
  g_ptr_array_sort(s->records, natural_ptr_compare);
  return g_steal_pointer(&s);
}

WfdbSource *
wfdb_source_new_from_entries(const char *label, GHashTable *entries)
{
  g_return_val_if_fail(label != NULL && entries != NULL, NULL);

  WfdbSource *s = g_new0(WfdbSource, 1);
  s->path = g_strdup(label);
  s->records = g_ptr_array_new_with_free_func(g_free);
  s->all_files = g_ptr_array_new_with_free_func(g_free);
  s->entries = g_hash_table_ref(entries);
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init(&it, s->entries);
  while (g_hash_table_iter_next(&it, &k, NULL)) {
    add_record_if_header(s, k);
    g_ptr_array_add(s->all_files, g_strdup(k));
  }
  g_ptr_array_sort(s->records, natural_ptr_compare);
  return s;
}

void
wfdb_source_free(WfdbSource *source)
{
  if (source == NULL)
    return;
  g_free(source->path);
  g_free(source->root);
  if (source->entries)
    g_hash_table_unref(source->entries);
  g_ptr_array_unref(source->records);
  g_ptr_array_unref(source->all_files);
  if (source->globs) {
    for (guint i = 0; source->globs[i]; i++)
      g_pattern_spec_free(source->globs[i]);
    g_free(source->globs);
  }
  g_free(source);
}

GPtrArray *
wfdb_source_get_records(const WfdbSource *source)
{
  return source->records;
}

const char *
wfdb_source_get_path(const WfdbSource *source)
{
  return source->path;
}

GBytes *
wfdb_source_get_file(WfdbSource *source, const char *relpath, GError **error)
{
  g_return_val_if_fail(source != NULL && relpath != NULL, NULL);
  if (source->entries) {
    GBytes *b = g_hash_table_lookup(source->entries, relpath);
    if (b == NULL) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "%s: no file '%s' in the archive",
                  source->path, relpath);
      return NULL;
    }
    return g_bytes_ref(b);
  }
  g_autofree char *full = g_build_filename(source->root, relpath, NULL);
  if (!g_file_test(full, G_FILE_TEST_IS_REGULAR)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "%s: no such file", full);
    return NULL;
  }
  return data_file_read_all(full, MAX_FILE_BYTES, error);
}

char *
wfdb_source_find_file(const WfdbSource *source, const char *basename)
{
  const char *best = NULL;
  for (guint i = 0; i < source->all_files->len; i++) {
    const char *f = source->all_files->pdata[i];
    const char *slash = strrchr(f, '/');
    const char *b = slash ? slash + 1 : f;
    /* Prefer the shallowest match: the database's own index. */
    if (strcmp(b, basename) == 0 && (best == NULL || strlen(f) < strlen(best)))
      best = f;
  }
  return g_strdup(best);
}

void
wfdb_record_free(WfdbRecord *record)
{
  if (record == NULL)
    return;
  g_free(record->key);
  g_free(record->name);
  wfdb_header_free(record->header);
  g_free(record->physical);
  g_free(record);
}

static char *
sibling_path(const char *key, const char *file_name)
{
  g_autofree char *dir = g_path_get_dirname(key);
  if (strcmp(dir, ".") == 0)
    return g_strdup(file_name);
  return g_build_filename(dir, file_name, NULL);
}

WfdbRecord *
wfdb_record_load(WfdbSource *source, const char *key, GError **error)
{
  g_return_val_if_fail(source != NULL && key != NULL, NULL);

  g_autoptr(WfdbRecord) r = g_new0(WfdbRecord, 1);
  r->key = g_strdup(key);
  r->name = g_path_get_basename(key);
  g_autofree char *hea_rel = g_strconcat(key, ".hea", NULL);
  g_autoptr(GBytes) hea = wfdb_source_get_file(source, hea_rel, error);
  if (hea == NULL)
    return NULL;
  g_autofree char *hea_label = g_strdup_printf("%s: %s", source->path, hea_rel);
  gsize hlen;
  const char *htext = g_bytes_get_data(hea, &hlen);
  r->header = wfdb_header_parse(htext, hlen, source->entries ? hea_label : hea_rel, error);
  if (r->header == NULL)
    return NULL;
  WfdbHeader *h = r->header;
  guint ns = h->n_signals;

  /* Group consecutive signals by file, load each file once. */
  GPtrArray *files = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  g_autoptr(GPtrArray) files_owner = files;
  g_autofree guint *group_start = g_new0(guint, ns + 1);
  guint n_groups = 0;
  gint64 n = h->n_samples;
  for (guint i = 0; i < ns; i++) {
    if (i > 0 && strcmp(h->signals[i].file_name, h->signals[i - 1].file_name) == 0)
      continue;
    guint j = i;
    while (j < ns && strcmp(h->signals[j].file_name, h->signals[i].file_name) == 0)
      j++;
    g_autofree char *rel = sibling_path(key, h->signals[i].file_name);
    GError *local = NULL;
    GBytes *b = wfdb_source_get_file(source, rel, &local);
    if (b == NULL) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                  "record '%s': signal file '%s' named at %s:%u is missing (%s)", r->name,
                  h->signals[i].file_name, hea_rel, h->signals[i].line, local->message);
      g_error_free(local);
      return NULL;
    }
    g_ptr_array_add(files, b);
    group_start[n_groups++] = i;
    gint64 frames = wfdb_signal_file_frames(h->signals[i].format, j - i, h->signals[i].byte_offset,
                                            g_bytes_get_size(b));
    if (h->n_samples == 0) {
      n = n == 0 || frames < n ? frames : n;
    } else if (frames != h->n_samples) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                  "record '%s': %s declares %" G_GINT64_FORMAT " samples per signal, but '%s' "
                  "(%" G_GSIZE_FORMAT " bytes, %u signals, format %d, offset %" G_GINT64_FORMAT
                  ") holds %" G_GINT64_FORMAT " (%s)",
                  r->name, hea_rel, h->n_samples, h->signals[i].file_name, g_bytes_get_size(b),
                  j - i, h->signals[i].format, h->signals[i].byte_offset, frames,
                  frames < h->n_samples ? "truncated file, or the header lies"
                                        : "the header lies about the length");
      return NULL;
    }
  }
  group_start[n_groups] = ns;
  r->n_samples = n;
  if ((guint64)ns * (guint64)MAX(n, 1) > (G_GUINT64_CONSTANT(1) << 31)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_LIMIT,
                "record '%s': %u signals × %" G_GINT64_FORMAT " samples is too large", r->name, ns,
                n);
    return NULL;
  }

  r->physical = g_new(float, (gsize)ns *(gsize)n + 1);
  g_autofree gint32 *digital = g_new(gint32, (gsize)ns * (gsize)n + 1);
  for (guint g = 0; g < n_groups; g++) {
    guint first = group_start[g], count = group_start[g + 1] - first;
    const WfdbSignal *s0 = &h->signals[first];
    gsize len;
    const guint8 *data = g_bytes_get_data(files->pdata[g], &len);
    gint64 invalid = 0;
    if (!wfdb_decode_group(data, len, s0->file_name, s0->format, s0->byte_offset, count, n,
                           digital + (gsize)first * n, &invalid, error))
      return NULL;
  }
  for (guint i = 0; i < ns; i++) {
    const WfdbSignal *s = &h->signals[i];
    const gint32 *d = digital + (gsize)i * n;
    if (h->n_samples > 0 && s->has_checksum) {
      gint16 sum = wfdb_checksum(d, n);
      if ((guint16)sum != (guint16)(s->checksum & 0xffff)) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                    "record '%s': signal %u (%s) in '%s': checksum of the samples is %d, %s:%u "
                    "says %" G_GINT64_FORMAT " (modulo 65536: %u); the signal file is corrupt or "
                    "the header is wrong",
                    r->name, i, s->description, s->file_name, sum, hea_rel, s->line, s->checksum,
                    (guint)(s->checksum & 0xffff));
        return NULL;
      }
    }
    float *out = r->physical + (gsize)i * n;
    const gint32 bad = wfdb_invalid_sample(s->format);
    const double inv_gain = 1.0 / s->gain;
    for (gint64 k = 0; k < n; k++) {
      if (d[k] == bad) {
        out[k] = NAN;
        r->n_invalid++;
      } else {
        out[k] = (float)((double)(d[k] - s->baseline) * inv_gain);
      }
    }
  }
  return g_steal_pointer(&r);
}

GArray *
wfdb_record_load_annotations(WfdbSource *source, const WfdbRecord *record, const char *ext,
                             GError **error)
{
  g_autofree char *rel = g_strconcat(record->key, ".", ext, NULL);
  GError *local = NULL;
  g_autoptr(GBytes) b = wfdb_source_get_file(source, rel, &local);
  if (b == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                "record '%s': no annotation file '%s' (%s)", record->name, rel, local->message);
    g_error_free(local);
    return NULL;
  }
  gsize len;
  const guint8 *data = g_bytes_get_data(b, &len);
  return wfdb_annotations_parse(data, len, rel, error);
}

gboolean
wfdb_match_leads(const WfdbRecord *record, const char *const *leads, guint n_leads, guint *index,
                 GError **error)
{
  const WfdbHeader *h = record->header;
  g_autoptr(GString) missing = g_string_new(NULL);
  guint n_missing = 0;
  for (guint l = 0; l < n_leads; l++) {
    index[l] = G_MAXUINT;
    for (guint i = 0; i < h->n_signals; i++)
      if (g_ascii_strcasecmp(h->signals[i].description, leads[l]) == 0) {
        index[l] = i;
        break;
      }
    if (index[l] == G_MAXUINT) {
      g_string_append_printf(missing, "%s%s", n_missing ? ", " : "", leads[l]);
      n_missing++;
    }
  }
  if (n_missing == 0)
    return TRUE;
  g_autoptr(GString) have = g_string_new(NULL);
  for (guint i = 0; i < h->n_signals; i++)
    g_string_append_printf(have, "%s%s", i ? ", " : "", h->signals[i].description);
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
              "record '%s': %u of the %u required leads %s missing: %s (the record has %u "
              "signals: %s)",
              record->name, n_missing, n_leads, n_missing == 1 ? "is" : "are", missing->str,
              h->n_signals, have->len ? have->str : "none");
  return FALSE;
}
