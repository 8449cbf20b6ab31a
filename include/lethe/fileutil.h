/* Lethe — writing files so that a crash never leaves half of one.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_FILEUTIL_H
#define LETHE_FILEUTIL_H

#include <glib.h>

G_BEGIN_DECLS

/**
 * LetheAtomicFile:
 * A file being written: data goes to a temporary file beside @path; commit
 * flushes it (fsync), renames it over @path and syncs the folder, so
 * readers see either the old file or the whole new one.  Dropping it
 * without commit removes the temporary file.  Opaque.
 */
typedef struct _LetheAtomicFile LetheAtomicFile;

LetheAtomicFile *lethe_atomic_file_new(const char *path, GError **error);
gboolean lethe_atomic_file_write(LetheAtomicFile *file, const void *data, gsize length,
                                 GError **error);
gboolean lethe_atomic_file_printf(LetheAtomicFile *file, GError **error, const char *format, ...)
    G_GNUC_PRINTF(3, 4);
/** lethe_atomic_file_commit: flushes, renames into place, frees @file (also on failure). */
gboolean lethe_atomic_file_commit(LetheAtomicFile *file, GError **error);
/** lethe_atomic_file_abort: removes the temporary file and frees @file. */
void lethe_atomic_file_abort(LetheAtomicFile *file);

/** lethe_file_replace_contents: writes all of @data to @path atomically. */
gboolean lethe_file_replace_contents(const char *path, const void *data, gsize length,
                                     GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(LetheAtomicFile, lethe_atomic_file_abort)

G_END_DECLS

#endif /* LETHE_FILEUTIL_H */
