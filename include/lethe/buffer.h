/* Lethe — reference-counted, aligned memory blocks.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_BUFFER_H
#define LETHE_BUFFER_H

#include <glib.h>

G_BEGIN_DECLS

/** LETHE_BUFFER_ALIGN: alignment in bytes of every buffer's data. */
#define LETHE_BUFFER_ALIGN 64

/**
 * LetheBufferBacking:
 * @LETHE_BUFFER_HEAP: aligned heap memory
 * @LETHE_BUFFER_MEMFD: an anonymous memfd mapping, shareable with another
 *   process through lethe_buffer_get_fd()
 * @LETHE_BUFFER_MAPPED_FILE: a read-only mmap of a file
 * @LETHE_BUFFER_SUB: a window into another buffer (keeps the parent alive)
 * @LETHE_BUFFER_WRAPPED: memory owned by someone else, released by a
 *   #GDestroyNotify
 */
typedef enum {
  LETHE_BUFFER_HEAP,
  LETHE_BUFFER_MEMFD,
  LETHE_BUFFER_MAPPED_FILE,
  LETHE_BUFFER_SUB,
  LETHE_BUFFER_WRAPPED,
} LetheBufferBacking;

/**
 * LetheBuffer:
 *
 * A block of memory, 64-byte aligned (except sub-buffers, which are as
 * aligned as their offset allows), atomically reference counted.  A buffer
 * is writable when the caller holds the only reference and the backing is
 * not read-only (mapped files are never writable).  Opaque.
 */
typedef struct _LetheBuffer LetheBuffer;

/** lethe_buffer_new: (transfer full) a zero-filled heap buffer of @size bytes. */
LetheBuffer *lethe_buffer_new(gsize size);
/** lethe_buffer_new_uninit: (transfer full) like lethe_buffer_new() without zeroing. */
LetheBuffer *lethe_buffer_new_uninit(gsize size);
/** lethe_buffer_new_memfd: (transfer full) a zero-filled buffer on an anonymous memfd. */
LetheBuffer *lethe_buffer_new_memfd(gsize size, GError **error);
/**
 * lethe_buffer_new_mapped_file:
 * Maps all of @path read-only.  Returns: (transfer full) the buffer, or %NULL
 * with @error set (naming the file) when it cannot be opened or mapped.
 */
LetheBuffer *lethe_buffer_new_mapped_file(const char *path, GError **error);
/** lethe_buffer_new_sub: (transfer full) @size bytes of @parent from @offset; refs @parent. */
LetheBuffer *lethe_buffer_new_sub(LetheBuffer *parent, gsize offset, gsize size);
/** lethe_buffer_new_wrapped: (transfer full) wraps foreign memory; @notify(@user_data) frees it. */
LetheBuffer *lethe_buffer_new_wrapped(gpointer data, gsize size, gboolean read_only,
                                      GDestroyNotify notify, gpointer user_data);

LetheBuffer *lethe_buffer_ref(LetheBuffer *buffer);
void lethe_buffer_unref(LetheBuffer *buffer);
/** lethe_buffer_get_refcount: the current count (for tests and assertions). */
gint lethe_buffer_get_refcount(const LetheBuffer *buffer);

gpointer lethe_buffer_get_data(LetheBuffer *buffer);
gsize lethe_buffer_get_size(const LetheBuffer *buffer);
LetheBufferBacking lethe_buffer_get_backing(const LetheBuffer *buffer);
/** lethe_buffer_is_read_only: %TRUE for mapped files and read-only wrapped memory. */
gboolean lethe_buffer_is_read_only(const LetheBuffer *buffer);
/** lethe_buffer_is_writable: %TRUE when not read-only and the refcount is 1. */
gboolean lethe_buffer_is_writable(const LetheBuffer *buffer);
/** lethe_buffer_get_fd: the memfd of a %LETHE_BUFFER_MEMFD buffer, else -1. */
int lethe_buffer_get_fd(const LetheBuffer *buffer);
/**
 * lethe_buffer_get_parent:
 * Returns: (transfer none) (nullable): the buffer a %LETHE_BUFFER_SUB buffer
 * is a window into, else %NULL.
 */
LetheBuffer *lethe_buffer_get_parent(const LetheBuffer *buffer);

/**
 * LetheBufferPool:
 *
 * Recycles heap buffers of one size on hot paths.  A buffer taken from the
 * pool goes back to it when its last reference is dropped.  Thread-safe.
 */
typedef struct _LetheBufferPool LetheBufferPool;

LetheBufferPool *lethe_buffer_pool_new(gsize buffer_size, guint max_free);
/** lethe_buffer_pool_acquire: (transfer full) an uninitialised buffer. */
LetheBuffer *lethe_buffer_pool_acquire(LetheBufferPool *pool);
/** lethe_buffer_pool_free: drops the pool; outstanding buffers stay valid. */
void lethe_buffer_pool_free(LetheBufferPool *pool);
guint lethe_buffer_pool_get_n_free(LetheBufferPool *pool);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(LetheBuffer, lethe_buffer_unref)

G_END_DECLS

#endif /* LETHE_BUFFER_H */
