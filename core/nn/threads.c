/* Lethe — the thread budget of the numeric library.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * OpenBLAS gets the whole budget for GEMMs.  The library's own loops
 * (im2col, col2im, pooling, transposes, optimizer updates) run on a small
 * fork-join pool of the same size: nn_parallel_for() splits [0, n) into one
 * contiguous range per thread, and every work item writes memory of its own,
 * so results do not depend on the number of threads or on scheduling.
 * The pool is process-wide; a call made while another is running (another
 * thread of the scheduler) runs inline, so nodes firing in parallel never
 * oversubscribe the cores.
 */
#include "nn-private.h"

typedef void (*RangeFn)(gint64 begin, gint64 end, gpointer data);

static struct {
  GMutex lock;
  GCond start;
  GCond done;
  GThread **workers;
  guint n_workers;
  guint64 generation;
  RangeFn fn;
  gpointer data;
  gint64 n;
  guint pending;
  gint busy; /* atomic: a parallel call is in flight */
} pool;

static guint nn_threads = 1;

static void
run_share(guint k, guint parts, RangeFn fn, gpointer data, gint64 n)
{
  const gint64 begin = n * k / parts, end = n * (k + 1) / parts;
  if (end > begin)
    fn(begin, end, data);
}

static gpointer
worker_main(gpointer idx)
{
  const guint k = GPOINTER_TO_UINT(idx);
  guint64 seen = 0;
  g_mutex_lock(&pool.lock);
  while (TRUE) {
    while (pool.generation == seen)
      g_cond_wait(&pool.start, &pool.lock);
    seen = pool.generation;
    RangeFn fn = pool.fn;
    gpointer data = pool.data;
    const gint64 n = pool.n;
    const guint parts = pool.n_workers + 1;
    g_mutex_unlock(&pool.lock);
    run_share(k + 1, parts, fn, data, n);
    g_mutex_lock(&pool.lock);
    if (--pool.pending == 0)
      g_cond_signal(&pool.done);
  }
  return NULL;
}

void
lethe_nn_set_threads(guint n_threads)
{
  if (n_threads == 0)
    n_threads = g_get_num_processors();
  openblas_set_num_threads((int)n_threads);
  g_mutex_lock(&pool.lock);
  nn_threads = n_threads;
  /* Workers are started on demand and never stopped; extra ones idle. */
  if (pool.n_workers < n_threads - 1) {
    pool.workers = g_renew(GThread *, pool.workers, n_threads - 1);
    for (guint k = pool.n_workers; k < n_threads - 1; k++)
      pool.workers[k] = g_thread_new("lethe-nn", worker_main, GUINT_TO_POINTER(k));
    pool.n_workers = n_threads - 1;
  }
  g_mutex_unlock(&pool.lock);
}

guint
lethe_nn_get_threads(void)
{
  return nn_threads;
}

void
nn_parallel_for(gint64 n, RangeFn fn, gpointer data)
{
  if (n <= 0)
    return;
  if (n == 1 || nn_threads < 2 || pool.n_workers == 0 ||
      !g_atomic_int_compare_and_exchange(&pool.busy, 0, 1)) {
    fn(0, n, data);
    return;
  }
  /* Only the first nn_threads - 1 workers take part; the caller does share 0. */
  g_mutex_lock(&pool.lock);
  const guint parts = pool.n_workers + 1;
  pool.fn = fn;
  pool.data = data;
  pool.n = n;
  pool.pending = pool.n_workers;
  pool.generation++;
  g_cond_broadcast(&pool.start);
  g_mutex_unlock(&pool.lock);
  run_share(0, parts, fn, data, n);
  g_mutex_lock(&pool.lock);
  while (pool.pending > 0)
    g_cond_wait(&pool.done, &pool.lock);
  g_mutex_unlock(&pool.lock);
  g_atomic_int_set(&pool.busy, 0);
}
