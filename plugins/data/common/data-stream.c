/* Lethe — reading dataset files through libarchive.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "data-stream.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <lethe/error.h>

/* Large reads keep libarchive's per-call overhead out of the profile. */
#define READ_BLOCK_SIZE (1u << 20)

struct _DataStream {
  struct archive *ar;
  char *path;
  guint64 file_size;
  guint64 offset; /* decompressed bytes handed out */
  const guint8 *block;
  gsize block_len;
  gsize block_pos;
  gboolean eof;
};

static gboolean
stat_regular_file(const char *path, guint64 *size, GError **error)
{
  struct stat st;
  if (stat(path, &st) != 0) {
    int saved = errno;
    g_set_error(error, LETHE_ERROR, saved == ENOENT ? LETHE_ERROR_NOT_FOUND : LETHE_ERROR_IO,
                "%s: %s", path, g_strerror(saved));
    return FALSE;
  }
  if (S_ISDIR(st.st_mode)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "%s: is a folder, expected a file", path);
    return FALSE;
  }
  *size = (guint64)st.st_size;
  return TRUE;
}

DataStream *
data_stream_open(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);

  guint64 size;
  if (!stat_regular_file(path, &size, error))
    return NULL;
  if (size == 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE, "%s: the file is empty", path);
    return NULL;
  }

  DataStream *s = g_new0(DataStream, 1);
  s->path = g_strdup(path);
  s->file_size = size;
  s->ar = archive_read_new();
  archive_read_support_filter_all(s->ar);
  archive_read_support_format_raw(s->ar);

  struct archive_entry *entry;
  if (archive_read_open_filename(s->ar, path, READ_BLOCK_SIZE) != ARCHIVE_OK ||
      archive_read_next_header(s->ar, &entry) != ARCHIVE_OK) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_IO, "%s: cannot read: %s", path,
                archive_error_string(s->ar) ? archive_error_string(s->ar) : "unknown error");
    data_stream_free(s);
    return NULL;
  }
  return s;
}

void
data_stream_free(DataStream *stream)
{
  if (stream == NULL)
    return;
  if (stream->ar)
    archive_read_free(stream->ar);
  g_free(stream->path);
  g_free(stream);
}

gboolean
data_stream_is_compressed(const DataStream *stream)
{
  /* Filter 0 is the outermost; a plain file has only the "none" filter. */
  return archive_filter_count(stream->ar) > 1 && archive_filter_code(stream->ar, 0) != 0;
}

guint
data_stream_get_max_expansion(const DataStream *stream)
{
  if (!data_stream_is_compressed(stream))
    return 1;
  /* Deflate's best case is 258 bytes from 2 bits: 1032:1 (zlib technical details). */
  if (archive_filter_count(stream->ar) == 2 &&
      archive_filter_code(stream->ar, 0) == ARCHIVE_FILTER_GZIP)
    return 1032;
  return 0;
}

guint64
data_stream_get_file_size(const DataStream *stream)
{
  return stream->file_size;
}

guint64
data_stream_get_offset(const DataStream *stream)
{
  return stream->offset;
}

const char *
data_stream_get_path(const DataStream *stream)
{
  return stream->path;
}

static gboolean
next_block(DataStream *s, GError **error)
{
  const void *buf;
  size_t len;
  la_int64_t off;
  for (;;) {
    int r = archive_read_data_block(s->ar, &buf, &len, &off);
    if (r == ARCHIVE_EOF) {
      s->eof = TRUE;
      s->block_len = s->block_pos = 0;
      return TRUE;
    }
    if (r < ARCHIVE_WARN) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                  "%s: corrupt or truncated data near byte %" G_GUINT64_FORMAT
                  " of the decompressed stream: %s",
                  s->path, s->offset,
                  archive_error_string(s->ar) ? archive_error_string(s->ar) : "read error");
      return FALSE;
    }
    if (len == 0)
      continue;
    s->block = buf;
    s->block_len = len;
    s->block_pos = 0;
    return TRUE;
  }
}

gboolean
data_stream_read(DataStream *stream, void *dest, gsize n, gsize *n_read, GError **error)
{
  g_return_val_if_fail(stream != NULL, FALSE);
  guint8 *out = dest;
  gsize done = 0;
  while (done < n) {
    if (stream->block_pos == stream->block_len) {
      if (stream->eof)
        break;
      if (!next_block(stream, error)) {
        *n_read = done;
        return FALSE;
      }
      if (stream->eof)
        break;
    }
    gsize take = MIN(n - done, stream->block_len - stream->block_pos);
    memcpy(out + done, stream->block + stream->block_pos, take);
    stream->block_pos += take;
    stream->offset += take;
    done += take;
  }
  *n_read = done;
  return TRUE;
}

GBytes *
data_stream_read_all(DataStream *stream, guint64 max_bytes, GError **error)
{
  g_return_val_if_fail(stream != NULL, NULL);
  GByteArray *arr = g_byte_array_sized_new(
      (guint)MIN(stream->file_size, (guint64)MIN(max_bytes, G_MAXUINT32 / 2)));
  guint8 chunk[65536];
  for (;;) {
    gsize got;
    if (!data_stream_read(stream, chunk, sizeof chunk, &got, error)) {
      g_byte_array_unref(arr);
      return NULL;
    }
    if (got == 0)
      break;
    if ((guint64)arr->len + got > max_bytes) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_LIMIT,
                  "%s: larger than the limit of %" G_GUINT64_FORMAT " bytes", stream->path,
                  max_bytes);
      g_byte_array_unref(arr);
      return NULL;
    }
    g_byte_array_append(arr, chunk, (guint)got);
  }
  return g_byte_array_free_to_bytes(arr);
}

GBytes *
data_file_read_all(const char *path, guint64 max_bytes, GError **error)
{
  g_autoptr(DataStream) s = data_stream_open(path, error);
  if (s == NULL)
    return NULL;
  return data_stream_read_all(s, max_bytes, error);
}

gboolean
data_path_is_archive(const char *path)
{
  static const char *const exts[] = {".zip",     ".tar",  ".tar.gz",  ".tgz", ".tar.xz", ".txz",
                                     ".tar.bz2", ".tbz2", ".tar.zst", ".7z",  NULL};
  g_autofree char *lower = g_ascii_strdown(path, -1);
  for (guint i = 0; exts[i]; i++)
    if (g_str_has_suffix(lower, exts[i]))
      return TRUE;
  return FALSE;
}

GHashTable *
data_archive_read_entries(const char *path, DataArchiveFilter filter, gpointer user_data,
                          guint64 max_total_bytes, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);

  guint64 size;
  if (!stat_regular_file(path, &size, error))
    return NULL;

  struct archive *ar = archive_read_new();
  archive_read_support_filter_all(ar);
  archive_read_support_format_all(ar);
  g_autoptr(GHashTable) entries =
      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
  guint64 total = 0;
  g_autofree char *current = NULL;

  if (archive_read_open_filename(ar, path, READ_BLOCK_SIZE) != ARCHIVE_OK)
    goto archive_error;

  for (;;) {
    struct archive_entry *entry;
    int r = archive_read_next_header(ar, &entry);
    if (r == ARCHIVE_EOF)
      break;
    if (r < ARCHIVE_WARN)
      goto archive_error;
    if (archive_entry_filetype(entry) != AE_IFREG)
      continue;
    const char *name = archive_entry_pathname(entry);
    if (name == NULL)
      continue;
    while (g_str_has_prefix(name, "./"))
      name += 2;
    if (filter && !filter(name, user_data))
      continue;
    g_free(current);
    current = g_strdup(name);

    GByteArray *arr = g_byte_array_new();
    const void *buf;
    size_t len;
    la_int64_t off;
    for (;;) {
      r = archive_read_data_block(ar, &buf, &len, &off);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN) {
        g_byte_array_unref(arr);
        goto archive_error;
      }
      /* Sparse entries report holes through the offset. */
      if ((guint64)off > arr->len) {
        if ((guint64)off - arr->len > max_total_bytes - MIN(total, max_total_bytes))
          goto too_large_arr;
        g_byte_array_set_size(arr, (guint)off);
      }
      total += len;
      if (total > max_total_bytes)
        goto too_large_arr;
      g_byte_array_append(arr, buf, (guint)len);
      continue;
    too_large_arr:
      g_byte_array_unref(arr);
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_LIMIT,
                  "%s: the selected entries exceed %" G_GUINT64_FORMAT " bytes (at '%s')", path,
                  max_total_bytes, current);
      archive_read_free(ar);
      return NULL;
    }
    g_hash_table_replace(entries, g_strdup(name), g_byte_array_free_to_bytes(arr));
    g_clear_pointer(&current, g_free);
  }
  archive_read_free(ar);
  return g_steal_pointer(&entries);

/* ERRORS */
archive_error:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE, "%s: corrupt or truncated archive%s%s%s: %s",
              path, current ? " (while reading '" : "", current ? current : "", current ? "')" : "",
              archive_error_string(ar) ? archive_error_string(ar) : "read error");
  archive_read_free(ar);
  return NULL;
}
