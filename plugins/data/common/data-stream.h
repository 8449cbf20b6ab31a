/* Lethe — reading dataset files, plain, compressed or inside archives.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Shared by the data plugins.  Depends on GLib and libarchive only, so
 * the parsers built on it compile standalone (tests, fuzz targets).
 * Everything goes through libarchive: a `.gz`, `.xz`, `.bz2`, `.zst` file
 * is decompressed on the fly, a plain file is read as is, and nothing is
 * ever written to a temporary file.
 */
#ifndef LETHE_DATA_STREAM_H
#define LETHE_DATA_STREAM_H

#include <glib.h>

G_BEGIN_DECLS

/**
 * DataStream:
 * One file read front to back, decompressed when it is compressed
 * (libarchive's raw format with every filter).  Opaque.
 */
typedef struct _DataStream DataStream;

/**
 * data_stream_open:
 * Opens @path.  Returns: (transfer full) the stream, or %NULL with @error
 * set (naming the file) when it cannot be opened or is empty.
 */
DataStream *data_stream_open(const char *path, GError **error);
void data_stream_free(DataStream *stream);

/** data_stream_is_compressed: %TRUE when a decompression filter is active. */
gboolean data_stream_is_compressed(const DataStream *stream);
/**
 * data_stream_get_max_expansion:
 * The largest ratio of decompressed to compressed size the active filter
 * can produce (1 for a plain file, 1032 for gzip), or 0 when unbounded or
 * unknown.  Lets a reader refuse a header that claims more data than the
 * file could possibly hold before allocating anything.
 */
guint data_stream_get_max_expansion(const DataStream *stream);
/** data_stream_get_file_size: size of the file on disk (compressed size). */
guint64 data_stream_get_file_size(const DataStream *stream);
/** data_stream_get_offset: bytes of (decompressed) data consumed so far. */
guint64 data_stream_get_offset(const DataStream *stream);
const char *data_stream_get_path(const DataStream *stream);

/**
 * data_stream_read:
 * Reads up to @n bytes into @dest; *@n_read is less than @n only at the end
 * of the data.  Returns %FALSE with @error set (naming the file and the
 * offset) when the data is corrupt or truncated inside the compressed
 * stream.
 */
gboolean data_stream_read(DataStream *stream, void *dest, gsize n, gsize *n_read, GError **error);

/**
 * data_stream_read_all:
 * Reads the rest of the stream.  Refuses more than @max_bytes.
 * Returns: (transfer full) the bytes, or %NULL with @error set.
 */
GBytes *data_stream_read_all(DataStream *stream, guint64 max_bytes, GError **error);

/** data_file_read_all: opens @path, reads it whole (decompressing it). */
GBytes *data_file_read_all(const char *path, guint64 max_bytes, GError **error);

/**
 * data_path_is_archive:
 * %TRUE when @path names a container of several files by its extension:
 * .zip, .tar, .tar.gz, .tgz, .tar.xz, .txz, .tar.bz2, .tbz2, .tar.zst, .7z.
 */
gboolean data_path_is_archive(const char *path);

/**
 * DataArchiveFilter:
 * Decides whether an archive entry (its path inside the archive) is kept.
 */
typedef gboolean (*DataArchiveFilter)(const char *entry_path, gpointer user_data);

/**
 * data_archive_read_entries:
 * Reads every regular file of the archive at @path that @filter accepts
 * (all when %NULL), in one pass.  @max_total_bytes bounds the memory kept.
 * Returns: (transfer full) a table from entry path (without a leading
 * "./") to #GBytes, or %NULL with @error set naming the archive and, when
 * known, the entry being read.
 */
GHashTable *data_archive_read_entries(const char *path, DataArchiveFilter filter,
                                      gpointer user_data, guint64 max_total_bytes, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DataStream, data_stream_free)

G_END_DECLS

#endif /* LETHE_DATA_STREAM_H */
