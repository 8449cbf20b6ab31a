/* Lethe — reference-counted, aligned memory blocks and the per-size pool.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A heap buffer is one allocation: the header, padded to LETHE_BUFFER_ALIGN,
 * followed by the data, so creating a buffer costs one posix_memalign and
 * ref/unref are a single atomic instruction each.
 */
#include "sync-private.h"

#include <lethe/buffer.h>
#include <lethe/error.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct _PoolCore PoolCore;

struct _LetheBuffer {
  gint ref_count;
  LetheBufferBacking backing;
  gboolean read_only;
  int fd;                /* memfd, or -1 */
  gpointer data;         /* LETHE_BUFFER_ALIGN aligned except for sub-buffers */
  gsize size;            /* bytes visible to users */
  gsize map_size;        /* bytes to munmap (memfd, mapped file) */
  LetheBuffer *parent;   /* sub-buffers */
  GDestroyNotify notify; /* wrapped */
  gpointer user_data;
  PoolCore *pool; /* heap buffers taken from a pool go back to it */
};

#define HEADER_SIZE                                                                                \
  ((sizeof(LetheBuffer) + LETHE_BUFFER_ALIGN - 1) & ~(gsize)(LETHE_BUFFER_ALIGN - 1))

/* Data of zero-sized mappings: mmap refuses length 0. */
static guint8 empty_block[LETHE_BUFFER_ALIGN] __attribute__((aligned(LETHE_BUFFER_ALIGN)));

/* The pool's state lives apart from the handle the owner frees: it is
 * reference counted by the owner and by every buffer taken from it, so a
 * buffer released after lethe_buffer_pool_free() still finds it. */
struct _PoolCore {
  gint ref_count;
  GMutex lock;
  gsize buffer_size;
  guint max_free;
  gboolean closed;
  GPtrArray *free_list;
};

struct _LetheBufferPool {
  PoolCore *core;
};

static LetheBuffer *
heap_alloc(gsize size, gboolean zero)
{
  gpointer block = NULL;

  if (size > G_MAXSIZE - HEADER_SIZE)
    g_error("lethe: cannot allocate a buffer of %" G_GSIZE_FORMAT " bytes", size);
  if (posix_memalign(&block, LETHE_BUFFER_ALIGN, HEADER_SIZE + size) != 0 || block == NULL)
    g_error("lethe: out of memory allocating a buffer of %" G_GSIZE_FORMAT " bytes", size);

  LetheBuffer *buffer = block;
  memset(buffer, 0, sizeof *buffer);
  buffer->ref_count = 1;
  buffer->backing = LETHE_BUFFER_HEAP;
  buffer->fd = -1;
  buffer->data = (guint8 *)block + HEADER_SIZE;
  buffer->size = size;
  if (zero)
    memset(buffer->data, 0, size);
  return buffer;
}

LetheBuffer *
lethe_buffer_new(gsize size)
{
  return heap_alloc(size, TRUE);
}

LetheBuffer *
lethe_buffer_new_uninit(gsize size)
{
  return heap_alloc(size, FALSE);
}

static LetheBuffer *
header_new(LetheBufferBacking backing)
{
  LetheBuffer *buffer = g_new0(LetheBuffer, 1);
  buffer->ref_count = 1;
  buffer->backing = backing;
  buffer->fd = -1;
  return buffer;
}

LetheBuffer *
lethe_buffer_new_memfd(gsize size, GError **error)
{
  int fd = memfd_create("lethe-buffer", MFD_CLOEXEC);
  if (fd < 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_IO,
                "cannot create a memfd of %" G_GSIZE_FORMAT " bytes: %s", size, g_strerror(errno));
    return NULL;
  }
  gsize map_size = MAX(size, 1);
  if (ftruncate(fd, (off_t)map_size) != 0) {
    int err = errno;
    close(fd);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_IO,
                "cannot size a memfd to %" G_GSIZE_FORMAT " bytes: %s", size, g_strerror(err));
    return NULL;
  }
  gpointer data = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    int err = errno;
    close(fd);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_IO,
                "cannot map a memfd of %" G_GSIZE_FORMAT " bytes: %s", size, g_strerror(err));
    return NULL;
  }
  /* ftruncate zero-fills: nothing more to clear. */
  LetheBuffer *buffer = header_new(LETHE_BUFFER_MEMFD);
  buffer->fd = fd;
  buffer->data = data;
  buffer->size = size;
  buffer->map_size = map_size;
  return buffer;
}

LetheBuffer *
lethe_buffer_new_mapped_file(const char *path, GError **error)
{
  struct stat st;

  g_return_val_if_fail(path != NULL, NULL);

  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    g_set_error(error, LETHE_ERROR, err == ENOENT ? LETHE_ERROR_NOT_FOUND : LETHE_ERROR_IO,
                "cannot open '%s': %s", path, g_strerror(err));
    return NULL;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int err = errno;
    close(fd);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_IO, "cannot map '%s': %s", path,
                S_ISREG(st.st_mode) ? g_strerror(err) : "not a regular file");
    return NULL;
  }
  gpointer data = empty_block;
  gsize size = (gsize)st.st_size;
  if (size > 0) {
    data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) {
      int err = errno;
      close(fd);
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_IO,
                  "cannot map '%s' (%" G_GSIZE_FORMAT " bytes): %s", path, size, g_strerror(err));
      return NULL;
    }
  }
  close(fd); /* the mapping keeps the file alive */

  LetheBuffer *buffer = header_new(LETHE_BUFFER_MAPPED_FILE);
  buffer->read_only = TRUE;
  buffer->data = data;
  buffer->size = size;
  buffer->map_size = size;
  return buffer;
}

LetheBuffer *
lethe_buffer_new_sub(LetheBuffer *parent, gsize offset, gsize size)
{
  g_return_val_if_fail(parent != NULL, NULL);
  g_return_val_if_fail(offset <= parent->size && size <= parent->size - offset, NULL);

  LetheBuffer *buffer = header_new(LETHE_BUFFER_SUB);
  buffer->parent = lethe_buffer_ref(parent);
  buffer->read_only = parent->read_only;
  buffer->data = (guint8 *)parent->data + offset;
  buffer->size = size;
  return buffer;
}

LetheBuffer *
lethe_buffer_new_wrapped(gpointer data, gsize size, gboolean read_only, GDestroyNotify notify,
                         gpointer user_data)
{
  g_return_val_if_fail(data != NULL || size == 0, NULL);

  LetheBuffer *buffer = header_new(LETHE_BUFFER_WRAPPED);
  buffer->read_only = read_only;
  buffer->data = data ? data : (gpointer)empty_block;
  buffer->size = size;
  buffer->notify = notify;
  buffer->user_data = user_data;
  return buffer;
}

LetheBuffer *
lethe_buffer_ref(LetheBuffer *buffer)
{
  g_return_val_if_fail(buffer != NULL, NULL);
  g_atomic_int_inc(&buffer->ref_count);
  return buffer;
}

static void pool_core_unref(PoolCore *core);
static gboolean pool_core_recycle(PoolCore *core, LetheBuffer *buffer);

static void
buffer_free(LetheBuffer *buffer)
{
  switch (buffer->backing) {
  case LETHE_BUFFER_HEAP:
    if (buffer->pool) {
      PoolCore *core = buffer->pool;
      if (pool_core_recycle(core, buffer))
        return;
      buffer->pool = NULL;
      pool_core_unref(core);
    }
    free(buffer); /* header and data are one block */
    return;
  case LETHE_BUFFER_MEMFD:
    munmap(buffer->data, buffer->map_size);
    close(buffer->fd);
    break;
  case LETHE_BUFFER_MAPPED_FILE:
    if (buffer->map_size > 0)
      munmap(buffer->data, buffer->map_size);
    break;
  case LETHE_BUFFER_SUB:
    lethe_buffer_unref(buffer->parent);
    break;
  case LETHE_BUFFER_WRAPPED:
    if (buffer->notify)
      buffer->notify(buffer->user_data);
    break;
  }
  g_free(buffer);
}

void
lethe_buffer_unref(LetheBuffer *buffer)
{
  g_return_if_fail(buffer != NULL);
  g_return_if_fail(g_atomic_int_get(&buffer->ref_count) > 0);
  if (g_atomic_int_dec_and_test(&buffer->ref_count))
    buffer_free(buffer);
}

gint
lethe_buffer_get_refcount(const LetheBuffer *buffer)
{
  g_return_val_if_fail(buffer != NULL, 0);
  return g_atomic_int_get(&buffer->ref_count);
}

gpointer
lethe_buffer_get_data(LetheBuffer *buffer)
{
  return buffer->data;
}

gsize
lethe_buffer_get_size(const LetheBuffer *buffer)
{
  g_return_val_if_fail(buffer != NULL, 0);
  return buffer->size;
}

LetheBufferBacking
lethe_buffer_get_backing(const LetheBuffer *buffer)
{
  g_return_val_if_fail(buffer != NULL, LETHE_BUFFER_HEAP);
  return buffer->backing;
}

LetheBuffer *
lethe_buffer_get_parent(const LetheBuffer *buffer)
{
  g_return_val_if_fail(buffer != NULL, NULL);
  return buffer->parent;
}

gboolean
lethe_buffer_is_read_only(const LetheBuffer *buffer)
{
  g_return_val_if_fail(buffer != NULL, TRUE);
  return buffer->read_only;
}

gboolean
lethe_buffer_is_writable(const LetheBuffer *buffer)
{
  g_return_val_if_fail(buffer != NULL, FALSE);
  if (buffer->read_only || g_atomic_int_get(&buffer->ref_count) != 1)
    return FALSE;
  /* A window is writable only when nobody else sees the memory behind it:
   * it must be the sole holder of each ancestor. */
  for (const LetheBuffer *p = buffer->parent; p; p = p->parent)
    if (g_atomic_int_get(&p->ref_count) != 1)
      return FALSE;
  return TRUE;
}

int
lethe_buffer_get_fd(const LetheBuffer *buffer)
{
  g_return_val_if_fail(buffer != NULL, -1);
  return buffer->backing == LETHE_BUFFER_MEMFD ? buffer->fd : -1;
}

/* ---- the pool ---------------------------------------------------------- */

static void
pool_core_unref(PoolCore *core)
{
  if (!g_atomic_int_dec_and_test(&core->ref_count))
    return;
  g_mutex_clear(&core->lock);
  g_ptr_array_unref(core->free_list);
  g_free(core);
}

/* Called when a pooled buffer's count reached zero.  Returns %TRUE when the
 * pool kept it; the buffer keeps its pool reference while on the free list. */
static gboolean
pool_core_recycle(PoolCore *core, LetheBuffer *buffer)
{
  gboolean kept = FALSE;

  lethe_mutex_lock(&core->lock);
  if (!core->closed && core->free_list->len < core->max_free) {
    g_ptr_array_add(core->free_list, buffer);
    kept = TRUE;
  }
  lethe_mutex_unlock(&core->lock);
  return kept;
}

LetheBufferPool *
lethe_buffer_pool_new(gsize buffer_size, guint max_free)
{
  PoolCore *core = g_new0(PoolCore, 1);
  core->ref_count = 1;
  g_mutex_init(&core->lock);
  core->buffer_size = buffer_size;
  core->max_free = max_free;
  core->free_list = g_ptr_array_new();

  LetheBufferPool *pool = g_new0(LetheBufferPool, 1);
  pool->core = core;
  return pool;
}

LetheBuffer *
lethe_buffer_pool_acquire(LetheBufferPool *pool)
{
  g_return_val_if_fail(pool != NULL, NULL);
  PoolCore *core = pool->core;
  LetheBuffer *buffer = NULL;

  lethe_mutex_lock(&core->lock);
  if (core->free_list->len > 0)
    buffer = g_ptr_array_steal_index_fast(core->free_list, core->free_list->len - 1);
  lethe_mutex_unlock(&core->lock);

  if (buffer) {
    g_atomic_int_set(&buffer->ref_count, 1);
    return buffer;
  }
  buffer = heap_alloc(core->buffer_size, FALSE);
  g_atomic_int_inc(&core->ref_count);
  buffer->pool = core;
  return buffer;
}

void
lethe_buffer_pool_free(LetheBufferPool *pool)
{
  if (pool == NULL)
    return;
  PoolCore *core = pool->core;
  GPtrArray *idle;

  lethe_mutex_lock(&core->lock);
  core->closed = TRUE;
  idle = core->free_list;
  core->free_list = g_ptr_array_new();
  lethe_mutex_unlock(&core->lock);

  for (guint i = 0; i < idle->len; i++) {
    LetheBuffer *buffer = idle->pdata[i];
    buffer->pool = NULL;
    free(buffer);
    pool_core_unref(core);
  }
  g_ptr_array_unref(idle);
  g_free(pool);
  pool_core_unref(core);
}

guint
lethe_buffer_pool_get_n_free(LetheBufferPool *pool)
{
  g_return_val_if_fail(pool != NULL, 0);
  lethe_mutex_lock(&pool->core->lock);
  guint n = pool->core->free_list->len;
  lethe_mutex_unlock(&pool->core->lock);
  return n;
}
