/* Lethe — LetheBuffer and LetheBufferPool.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <lethe/buffer.h>
#include <lethe/error.h>

#include <glib/gstdio.h>
#include <sys/mman.h>
#include <unistd.h>

static int notify_count;

static void
count_notify(gpointer data)
{
  notify_count += GPOINTER_TO_INT(data);
}

static void
test_buffer_new_is_aligned_and_zeroed(void)
{
  for (gsize size = 1; size < 5000; size = size * 3 + 1) {
    LetheBuffer *b = lethe_buffer_new(size);
    const guint8 *p = lethe_buffer_get_data(b);
    CU_ASSERT_EQUAL((guintptr)p % LETHE_BUFFER_ALIGN, 0);
    CU_ASSERT_EQUAL(lethe_buffer_get_size(b), size);
    CU_ASSERT_EQUAL(lethe_buffer_get_backing(b), LETHE_BUFFER_HEAP);
    CU_ASSERT_EQUAL(lethe_buffer_get_fd(b), -1);
    gsize nonzero = 0;
    for (gsize i = 0; i < size; i++)
      nonzero += p[i] != 0;
    CU_ASSERT_EQUAL(nonzero, 0);
    lethe_buffer_unref(b);
  }
  LetheBuffer *empty = lethe_buffer_new(0);
  CU_ASSERT_EQUAL((guintptr)lethe_buffer_get_data(empty) % LETHE_BUFFER_ALIGN, 0);
  CU_ASSERT_EQUAL(lethe_buffer_get_size(empty), 0);
  lethe_buffer_unref(empty);
}

static void
test_buffer_writable_only_with_one_reference(void)
{
  LetheBuffer *b = lethe_buffer_new_uninit(128);
  CU_ASSERT_EQUAL(lethe_buffer_get_refcount(b), 1);
  CU_ASSERT_TRUE(lethe_buffer_is_writable(b));
  CU_ASSERT_PTR_EQUAL(lethe_buffer_ref(b), b);
  CU_ASSERT_EQUAL(lethe_buffer_get_refcount(b), 2);
  CU_ASSERT_FALSE(lethe_buffer_is_writable(b));
  CU_ASSERT_FALSE(lethe_buffer_is_read_only(b));
  lethe_buffer_unref(b);
  CU_ASSERT_EQUAL(lethe_buffer_get_refcount(b), 1);
  CU_ASSERT_TRUE(lethe_buffer_is_writable(b));
  lethe_buffer_unref(b);
}

#define N_THREADS 4
#define N_REFS    200000

static gpointer
ref_unref_many(gpointer data)
{
  LetheBuffer *b = data;
  for (int i = 0; i < N_REFS; i++)
    lethe_buffer_ref(b);
  for (int i = 0; i < N_REFS; i++)
    lethe_buffer_unref(b);
  return NULL;
}

static void
test_buffer_refcount_is_atomic(void)
{
  LetheBuffer *b = lethe_buffer_new(16);
  GThread *threads[N_THREADS];
  for (int i = 0; i < N_THREADS; i++)
    threads[i] = g_thread_new("refs", ref_unref_many, b);
  for (int i = 0; i < N_THREADS; i++)
    g_thread_join(threads[i]);
  CU_ASSERT_EQUAL(lethe_buffer_get_refcount(b), 1);
  lethe_buffer_unref(b);
}

static void
test_buffer_memfd_is_visible_through_another_mapping(void)
{
  GError *error = NULL;
  LetheBuffer *b = lethe_buffer_new_memfd(10000, &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(lethe_buffer_get_backing(b), LETHE_BUFFER_MEMFD);
  CU_ASSERT_EQUAL((guintptr)lethe_buffer_get_data(b) % LETHE_BUFFER_ALIGN, 0);
  int fd = lethe_buffer_get_fd(b);
  CU_ASSERT_TRUE_FATAL(fd >= 0);

  guint8 *p = lethe_buffer_get_data(b);
  CU_ASSERT_EQUAL(p[9999], 0);
  for (int i = 0; i < 10000; i++)
    p[i] = (guint8)(i * 7);

  /* A second, independent mapping of the fd, as another process would make. */
  guint8 *q = mmap(NULL, 10000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CU_ASSERT_NOT_EQUAL_FATAL(q, MAP_FAILED);
  CU_ASSERT_PTR_NOT_EQUAL(q, p);
  CU_ASSERT_EQUAL(q[1234], (guint8)(1234 * 7));
  CU_ASSERT_EQUAL(memcmp(p, q, 10000), 0);
  q[42] = 0xAB;
  CU_ASSERT_EQUAL(p[42], 0xAB);
  munmap(q, 10000);
  lethe_buffer_unref(b);
}

static void
test_buffer_mapped_file_is_never_writable(void)
{
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp("lethe-buffer-XXXXXX", &error);
  g_autofree char *path = g_build_filename(dir, "data.bin", NULL);
  CU_ASSERT_TRUE_FATAL(g_file_set_contents(path, "hello, lethe", 12, &error));

  LetheBuffer *b = lethe_buffer_new_mapped_file(path, &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(lethe_buffer_get_backing(b), LETHE_BUFFER_MAPPED_FILE);
  CU_ASSERT_EQUAL(lethe_buffer_get_size(b), 12);
  CU_ASSERT_EQUAL(memcmp(lethe_buffer_get_data(b), "hello, lethe", 12), 0);
  CU_ASSERT_EQUAL(lethe_buffer_get_refcount(b), 1);
  CU_ASSERT_TRUE(lethe_buffer_is_read_only(b));
  CU_ASSERT_FALSE(lethe_buffer_is_writable(b));

  LetheBuffer *sub = lethe_buffer_new_sub(b, 7, 5);
  lethe_buffer_unref(b); /* the sub-buffer keeps the mapping alive */
  CU_ASSERT_TRUE(lethe_buffer_is_read_only(sub));
  CU_ASSERT_FALSE(lethe_buffer_is_writable(sub));
  CU_ASSERT_EQUAL(memcmp(lethe_buffer_get_data(sub), "lethe", 5), 0);
  lethe_buffer_unref(sub);

  g_unlink(path);
  CU_ASSERT_PTR_NULL(lethe_buffer_new_mapped_file(path, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "data.bin");
  g_rmdir(dir);
}

static void
test_buffer_sub_refs_parent(void)
{
  LetheBuffer *parent = lethe_buffer_new(256);
  LetheBuffer *sub = lethe_buffer_new_sub(parent, 64, 100);
  CU_ASSERT_EQUAL(lethe_buffer_get_backing(sub), LETHE_BUFFER_SUB);
  CU_ASSERT_PTR_EQUAL(lethe_buffer_get_parent(sub), parent);
  CU_ASSERT_PTR_NULL(lethe_buffer_get_parent(parent));
  CU_ASSERT_EQUAL(lethe_buffer_get_refcount(parent), 2);
  CU_ASSERT_PTR_EQUAL(lethe_buffer_get_data(sub), (guint8 *)lethe_buffer_get_data(parent) + 64);
  CU_ASSERT_EQUAL(lethe_buffer_get_size(sub), 100);
  /* The parent is still held by us: writing the window would change it. */
  CU_ASSERT_FALSE(lethe_buffer_is_writable(sub));
  lethe_buffer_unref(parent);
  CU_ASSERT_EQUAL(lethe_buffer_get_refcount(parent), 1);
  CU_ASSERT_TRUE(lethe_buffer_is_writable(sub));
  ((guint8 *)lethe_buffer_get_data(sub))[0] = 9;
  lethe_buffer_unref(sub);
}

static void
test_buffer_wrapped_calls_notify_once(void)
{
  static guint8 mem[32];
  notify_count = 0;
  LetheBuffer *b =
      lethe_buffer_new_wrapped(mem, sizeof mem, TRUE, count_notify, GINT_TO_POINTER(5));
  CU_ASSERT_EQUAL(lethe_buffer_get_backing(b), LETHE_BUFFER_WRAPPED);
  CU_ASSERT_PTR_EQUAL(lethe_buffer_get_data(b), mem);
  CU_ASSERT_TRUE(lethe_buffer_is_read_only(b));
  CU_ASSERT_FALSE(lethe_buffer_is_writable(b));
  lethe_buffer_ref(b);
  lethe_buffer_unref(b);
  CU_ASSERT_EQUAL(notify_count, 0);
  lethe_buffer_unref(b);
  CU_ASSERT_EQUAL(notify_count, 5);

  LetheBuffer *w = lethe_buffer_new_wrapped(mem, sizeof mem, FALSE, NULL, NULL);
  CU_ASSERT_TRUE(lethe_buffer_is_writable(w));
  lethe_buffer_unref(w);
}

static void
test_buffer_pool_recycles_the_same_block(void)
{
  LetheBufferPool *pool = lethe_buffer_pool_new(4096, 2);
  LetheBuffer *a = lethe_buffer_pool_acquire(pool);
  gpointer pa = lethe_buffer_get_data(a);
  CU_ASSERT_EQUAL((guintptr)pa % LETHE_BUFFER_ALIGN, 0);
  CU_ASSERT_EQUAL(lethe_buffer_get_size(a), 4096);
  CU_ASSERT_EQUAL(lethe_buffer_pool_get_n_free(pool), 0);
  lethe_buffer_ref(a);
  lethe_buffer_unref(a);
  CU_ASSERT_EQUAL(lethe_buffer_pool_get_n_free(pool), 0);
  lethe_buffer_unref(a);
  CU_ASSERT_EQUAL(lethe_buffer_pool_get_n_free(pool), 1);

  LetheBuffer *b = lethe_buffer_pool_acquire(pool);
  CU_ASSERT_PTR_EQUAL(lethe_buffer_get_data(b), pa);
  CU_ASSERT_EQUAL(lethe_buffer_get_refcount(b), 1);
  CU_ASSERT_TRUE(lethe_buffer_is_writable(b));
  CU_ASSERT_EQUAL(lethe_buffer_pool_get_n_free(pool), 0);

  /* At most max_free idle blocks are kept. */
  LetheBuffer *c = lethe_buffer_pool_acquire(pool);
  LetheBuffer *d = lethe_buffer_pool_acquire(pool);
  CU_ASSERT_PTR_NOT_EQUAL(lethe_buffer_get_data(c), lethe_buffer_get_data(d));
  lethe_buffer_unref(b);
  lethe_buffer_unref(c);
  lethe_buffer_unref(d);
  CU_ASSERT_EQUAL(lethe_buffer_pool_get_n_free(pool), 2);
  lethe_buffer_pool_free(pool);
}

static void
test_buffer_pool_free_with_outstanding_buffers(void)
{
  LetheBufferPool *pool = lethe_buffer_pool_new(100, 4);
  LetheBuffer *kept = lethe_buffer_pool_acquire(pool);
  LetheBuffer *idle = lethe_buffer_pool_acquire(pool);
  lethe_buffer_unref(idle);
  lethe_buffer_pool_free(pool);
  /* Still usable after the pool is gone; freed for real on the last unref. */
  memset(lethe_buffer_get_data(kept), 0x5A, 100);
  CU_ASSERT_EQUAL(((guint8 *)lethe_buffer_get_data(kept))[99], 0x5A);
  CU_ASSERT_EQUAL(lethe_buffer_get_refcount(kept), 1);
  lethe_buffer_unref(kept);
}

static gpointer
pool_worker(gpointer data)
{
  LetheBufferPool *pool = data;
  for (int i = 0; i < 20000; i++) {
    LetheBuffer *a = lethe_buffer_pool_acquire(pool);
    LetheBuffer *b = lethe_buffer_pool_acquire(pool);
    ((guint8 *)lethe_buffer_get_data(a))[0] = (guint8)i;
    lethe_buffer_unref(a);
    lethe_buffer_unref(b);
  }
  return NULL;
}

static void
test_buffer_pool_is_thread_safe(void)
{
  LetheBufferPool *pool = lethe_buffer_pool_new(64, 3);
  GThread *threads[N_THREADS];
  for (int i = 0; i < N_THREADS; i++)
    threads[i] = g_thread_new("pool", pool_worker, pool);
  for (int i = 0; i < N_THREADS; i++)
    g_thread_join(threads[i]);
  guint n_free = lethe_buffer_pool_get_n_free(pool);
  CU_ASSERT_TRUE(n_free >= 2 && n_free <= 3);
  lethe_buffer_pool_free(pool);
}

LETHE_TEST_MAIN("buffer", LETHE_TEST(test_buffer_new_is_aligned_and_zeroed),
                LETHE_TEST(test_buffer_writable_only_with_one_reference),
                LETHE_TEST(test_buffer_refcount_is_atomic),
                LETHE_TEST(test_buffer_memfd_is_visible_through_another_mapping),
                LETHE_TEST(test_buffer_mapped_file_is_never_writable),
                LETHE_TEST(test_buffer_sub_refs_parent),
                LETHE_TEST(test_buffer_wrapped_calls_notify_once),
                LETHE_TEST(test_buffer_pool_recycles_the_same_block),
                LETHE_TEST(test_buffer_pool_free_with_outstanding_buffers),
                LETHE_TEST(test_buffer_pool_is_thread_safe))
