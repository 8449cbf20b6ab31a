/* Lethe — the scheduler: streams frames through a graph of nodes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Firing rule: a node fires when each connected non-sticky input holds a
 * frame; sticky inputs lend their latest frame.  A node whose connected
 * inputs are all sticky fires once per frame that arrives on any of them
 * (once every one holds a frame).  A source (no inputs) fires until it
 * calls lethe_node_end_stream().  When every input has reached
 * end-of-stream and nothing more can fire, flush runs and end-of-stream
 * goes downstream.  See docs/execution.md.
 *
 * Threads: a push delivers the frame to each consumer's queue; a consumer
 * that becomes ready is claimed by the pushing thread.  One claimed
 * consumer runs inline, in the pushing thread (a chain of cheap nodes costs
 * a function call per hop, as GStreamer chains elements); the others go to
 * the thread pool.  A node is run by at most one thread at a time (its
 * state, under its lock, says who), so plugin code needs no locks.
 *
 * Back-pressure without deadlock: edge queues hold queue_size frames.  A
 * producer facing a full queue waits only when the consumer is RUNNING in
 * another thread; when the consumer is merely SCHEDULED (or ready and
 * idle) the producer claims it and runs it itself; when the consumer cannot
 * fire because another of its inputs is empty, the queue grows past its
 * bound, since waiting would never end (GStreamer's multiqueue does the
 * same).  Waits therefore always point at a node downstream of the waiter
 * that some thread is executing; in a DAG that chain ends in a thread that
 * is making progress, so there is no cycle of waits.
 */
#include "node-private.h"

#include <cblas.h>
#include <lethe/nn-rng.h>
#include <string.h>

/* Nested inline runs deeper than this go to the pool, so a very long chain
 * cannot exhaust a thread's stack. */
#define MAX_INLINE_DEPTH  48
#define DEFAULT_QUEUE_LEN 8

struct _LetheGraph {
  GPtrArray *nodes;
  GThreadPool *pool;
  guint threads;
  guint64 seed;
  char *output_dir;
  guint queue_size;
  gboolean inited;

  /* --max-memory: the bytes edge queues may hold (0: no budget).  The
   * capacity of every queue is lowered to fit it (docs/execution.md). */
  guint64 max_memory;
  gint capacity;   /* atomic: frames a queue holds now */
  GMutex mem_lock; /* OutPort.largest */

  GCancellable *cancellable;
  gulong cancel_handler;
  gint stopping; /* atomic */

  GMutex lock; /* error, failed, n_finished */
  GCond done;
  guint n_finished;
  GError *error;
  LetheNode *failed;

  LetheGraphMetricFunc metric_fn;
  gpointer metric_data;
  LetheGraphNodeFunc finished_fn;
  gpointer finished_data;
  LetheGraphNodeFunc progress_fn;
  gpointer progress_data;
  LetheGraphCheckpointFunc checkpoint_fn;
  gpointer checkpoint_data;
  LetheGraphResumeFunc resume_fn;
  gpointer resume_data;

  gint active_threads; /* atomic: threads executing node code now */
};

/* initial-exec: a plain TLS load, not a __tls_get_addr() call per hop. */
static _Thread_local guint inline_depth __attribute__((tls_model("initial-exec")));

static void run_node(LetheGraph *g, LetheNode *n);

/* ---- OpenBLAS thread budget ----------------------------------------- */

static gint blas_current; /* the value last given to OpenBLAS, 0: never */
static GMutex blas_lock;

static void
blas_want(guint want)
{
  if ((guint)g_atomic_int_get(&blas_current) == want)
    return;
  lethe_mutex_lock(&blas_lock);
  if ((guint)blas_current != want) {
    openblas_set_num_threads((int)want);
    g_atomic_int_set(&blas_current, (gint)want);
  }
  lethe_mutex_unlock(&blas_lock);
}

/* ---- graph --------------------------------------------------------- */

static void
on_cancelled(GCancellable *cancellable, gpointer data)
{
  lethe_tsan_acquire(data); /* the graph as lethe_graph_new() made it */
  lethe_graph_stop(data);
}

LetheGraph *
lethe_graph_new(guint threads, guint64 seed, GCancellable *cancellable)
{
  LetheGraph *g = g_new0(LetheGraph, 1);
  g->nodes = g_ptr_array_new_with_free_func((GDestroyNotify)lethe_node_free_internal);
  g->threads = threads;
  g->seed = seed;
  g->queue_size = DEFAULT_QUEUE_LEN;
  g->capacity = DEFAULT_QUEUE_LEN;
  g_mutex_init(&g->mem_lock);
  g_mutex_init(&g->lock);
  g_cond_init(&g->done);
  g->cancellable = cancellable ? g_object_ref(cancellable) : g_cancellable_new();
  /* GCancellable runs the handler in the cancelling thread, through
   * locks inside libglib that ThreadSanitizer cannot see. */
  lethe_tsan_release(g);
  g->cancel_handler = g_cancellable_connect(g->cancellable, G_CALLBACK(on_cancelled), g, NULL);
  return g;
}

void
lethe_graph_free(LetheGraph *g)
{
  if (g == NULL)
    return;
  g_assert(g->pool == NULL);
  g_cancellable_disconnect(g->cancellable, g->cancel_handler);
  g_object_unref(g->cancellable);
  g_ptr_array_unref(g->nodes);
  g_clear_error(&g->error);
  g_free(g->output_dir);
  g_mutex_clear(&g->lock);
  g_mutex_clear(&g->mem_lock);
  g_cond_clear(&g->done);
  g_free(g);
}

void
lethe_graph_set_output_dir(LetheGraph *g, const char *dir)
{
  g_free(g->output_dir);
  g->output_dir = g_strdup(dir);
}

void
lethe_graph_set_queue_size(LetheGraph *g, guint frames)
{
  g->queue_size = MAX(frames, 1);
  g_atomic_int_set(&g->capacity, (gint)g->queue_size);
}

void
lethe_graph_set_max_memory(LetheGraph *g, guint64 bytes)
{
  g->max_memory = bytes;
}

guint
lethe_graph_get_queue_capacity(LetheGraph *g)
{
  return (guint)g_atomic_int_get(&g->capacity);
}

void
lethe_graph_set_metric_func(LetheGraph *g, LetheGraphMetricFunc func, gpointer data)
{
  g->metric_fn = func;
  g->metric_data = data;
}

void
lethe_graph_set_finished_func(LetheGraph *g, LetheGraphNodeFunc func, gpointer data)
{
  g->finished_fn = func;
  g->finished_data = data;
}

void
lethe_graph_set_progress_func(LetheGraph *g, LetheGraphNodeFunc func, gpointer data)
{
  g->progress_fn = func;
  g->progress_data = data;
}

void
lethe_graph_set_checkpoint_func(LetheGraph *g, LetheGraphCheckpointFunc func, gpointer data)
{
  g->checkpoint_fn = func;
  g->checkpoint_data = data;
}

void
lethe_graph_set_resume_func(LetheGraph *g, LetheGraphResumeFunc func, gpointer data)
{
  g->resume_fn = func;
  g->resume_data = data;
}

/* Called only by the thread firing @n. */
LetheFrame *
lethe_graph_resume_frame(LetheNode *n, guint port, gint64 version, guint index)
{
  LetheGraph *g = n->graph;
  if (g->resume_fn == NULL || n->resume_ended)
    return NULL;
  LetheFrame *f = g->resume_fn(n, port, version, index, g->resume_data);
  if (f == NULL) {
    n->resume_ended = TRUE; /* restore an unbroken prefix, never past a gap */
    return NULL;
  }
  n->out[port].resumed = f;
  return f;
}

void
lethe_graph_progress(LetheNode *n)
{
  LetheGraph *g = n->graph;
  if (g && g->progress_fn)
    g->progress_fn(n, g->progress_data);
}

void
lethe_graph_add(LetheGraph *g, LetheNode *node)
{
  node->graph = g;
  node->index = g->nodes->len;
  node->seed = lethe_rng_derive_seed(g->seed, node->name);
  lethe_mutex_lock(&g->lock); /* against lethe_graph_stop() from another thread */
  g_ptr_array_add(g->nodes, node);
  lethe_mutex_unlock(&g->lock);
}

guint
lethe_graph_get_n_nodes(LetheGraph *g)
{
  return g->nodes->len;
}

LetheNode *
lethe_graph_get_node(LetheGraph *g, guint i)
{
  return i < g->nodes->len ? g_ptr_array_index(g->nodes, i) : NULL;
}

void
lethe_graph_link(LetheGraph *g, LetheNode *from, guint out, LetheNode *to, guint in)
{
  g_return_if_fail(out < from->n_outputs && in < to->n_inputs);
  OutPort *o = &from->out[out];
  o->consumers = g_renew(Consumer, o->consumers, o->n_consumers + 1);
  o->consumers[o->n_consumers++] = (Consumer){to, in};
  to->in[in].connected = TRUE;
  to->in[in].checked = o->schema;
}

void
lethe_graph_capture(LetheGraph *g, LetheNode *node, guint out)
{
  g_return_if_fail(out < node->n_outputs);
  if (node->out[out].capture == NULL)
    node->out[out].capture = g_queue_new();
}

gboolean
lethe_graph_is_stopping(LetheGraph *g)
{
  return g_atomic_int_get(&g->stopping) != 0;
}

#define stopping(g) (g_atomic_int_get(&(g)->stopping) != 0)

void
lethe_graph_stop(LetheGraph *g)
{
  if (!g_atomic_int_compare_and_exchange(&g->stopping, 0, 1))
    return;
  g_cancellable_cancel(g->cancellable);
  /* Wake every producer waiting for queue space.  Under g->lock: a
   * cancellation can come from another thread while the graph is still
   * being built (lethe_graph_add() reallocates the array). */
  lethe_mutex_lock(&g->lock);
  for (guint i = 0; i < g->nodes->len; i++) {
    LetheNode *n = g_ptr_array_index(g->nodes, i);
    lethe_mutex_lock(&n->lock);
    g_cond_broadcast(&n->space);
    lethe_mutex_unlock(&n->lock);
  }
  g_cond_broadcast(&g->done);
  lethe_mutex_unlock(&g->lock);
}

LetheNode *
lethe_graph_get_failed_node(LetheGraph *g)
{
  return g->failed;
}

const GError *
lethe_graph_get_error(LetheGraph *g)
{
  return g->error;
}

GCancellable *
lethe_graph_get_cancellable(LetheGraph *g)
{
  return g->cancellable;
}

guint
lethe_graph_get_threads(LetheGraph *g)
{
  return g->threads;
}

const char *
lethe_graph_get_output_dir(LetheGraph *g)
{
  return g->output_dir;
}

guint64
lethe_graph_get_seed(LetheGraph *g)
{
  return g->seed;
}

guint
lethe_graph_get_active_threads(LetheGraph *g)
{
  return (guint)g_atomic_int_get(&g->active_threads);
}

/* Records the failure of @node (the first one wins) and stops the graph.
 * Takes @err.  A node that gave up because the graph was already stopping
 * (push returned FALSE, or it saw the cancellable) has not failed. */
static void
fail(LetheGraph *g, LetheNode *node, GError *err)
{
  gboolean was_stopping = stopping(g);
  if (was_stopping && (err == NULL || g_error_matches(err, LETHE_ERROR, LETHE_ERROR_CANCELLED) ||
                       g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED))) {
    g_clear_error(&err);
    return;
  }
  if (err == NULL)
    err = g_error_new(LETHE_ERROR, LETHE_ERROR_FAILED,
                      "it returned FALSE without setting an error (a bug in plugin %s)",
                      node->plugin);
  lethe_node_attribute_error(node, &err);

  lethe_mutex_lock(&g->lock);
  if (g->error == NULL && !was_stopping) {
    g->error = err;
    g->failed = node;
    err = NULL;
  }
  lethe_mutex_unlock(&g->lock);
  if (err)
    g_debug("%s (after the run had already stopped)", err->message);
  g_clear_error(&err);
  lethe_graph_stop(g);
}

gboolean
lethe_graph_init_nodes(LetheGraph *g, GError **error)
{
  g->inited = TRUE;
  for (guint i = 0; i < g->nodes->len; i++) {
    LetheNode *n = g_ptr_array_index(g->nodes, i);
    GError *err = NULL;
    n->inited = TRUE;
    if (n->type->vtable && n->type->vtable->init && !n->type->vtable->init(n, &err)) {
      fail(g, n, err);
      if (g->error)
        g_propagate_error(error, g_error_copy(g->error));
      else
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_CANCELLED, "the run was cancelled");
      return FALSE;
    }
  }
  return TRUE;
}

void
lethe_graph_finalize_nodes(LetheGraph *g)
{
  for (guint i = 0; i < g->nodes->len; i++) {
    LetheNode *n = g_ptr_array_index(g->nodes, i);
    if (n->inited && n->type->vtable && n->type->vtable->finalize)
      n->type->vtable->finalize(n);
    n->inited = FALSE;
    if (n->priv_destroy && n->priv)
      n->priv_destroy(n->priv);
    n->priv = NULL;
    n->priv_destroy = NULL;
    for (guint k = 0; k < n->n_inputs; k++) {
      frame_ring_clear(&n->in[k].queue, FALSE);
      g_clear_pointer(&n->in[k].latest, lethe_frame_unref);
    }
  }
}

/* ---- readiness (node lock held) -------------------------------------- */

static inline gboolean
is_source(const LetheNode *n)
{
  return n->n_inputs == 0;
}

static gboolean
has_connected_input(const LetheNode *n)
{
  for (guint i = 0; i < n->n_inputs; i++) {
    if (n->in[i].connected)
      return TRUE;
  }
  return FALSE;
}

/* A non-sticky input ended with nothing queued: the node can never fire
 * again, whatever arrives on its other inputs. */
static gboolean
is_dead(const LetheNode *n)
{
  for (guint i = 0; i < n->n_inputs; i++) {
    const InPort *p = &n->in[i];
    if (p->connected && !p->sticky && p->eos && p->queue.len == 0)
      return TRUE;
  }
  return FALSE;
}

static gboolean
can_fire(const LetheNode *n)
{
  if (n->finished)
    return FALSE;
  if (is_source(n))
    return !n->ended;
  gboolean any_stream = FALSE, any_connected = FALSE;
  for (guint i = 0; i < n->n_inputs; i++) {
    const InPort *p = &n->in[i];
    if (!p->connected)
      continue;
    any_connected = TRUE;
    if (p->sticky) {
      if (p->latest == NULL && !(p->eos && (p->spec->flags & LETHE_PORT_OPTIONAL)))
        return FALSE;
    } else {
      any_stream = TRUE;
      if (p->queue.len == 0)
        return FALSE;
    }
  }
  if (!any_connected) /* every input optional and unconnected: fire once */
    return !n->fired_once;
  return any_stream ? TRUE : n->sticky_update;
}

static gboolean
should_finish(const LetheNode *n)
{
  if (n->finished)
    return FALSE;
  if (is_source(n))
    return n->ended;
  if (!has_connected_input(n))
    return n->fired_once;
  for (guint i = 0; i < n->n_inputs; i++) {
    if (n->in[i].connected && !n->in[i].eos)
      return FALSE;
  }
  return !can_fire(n);
}

static void
take_inputs(LetheNode *n)
{
  for (guint i = 0; i < n->n_inputs; i++) {
    InPort *p = &n->in[i];
    LetheFrame *f = NULL;
    if (p->connected)
      f = p->sticky ? (p->latest ? lethe_frame_ref(p->latest) : NULL) : frame_ring_pop(&p->queue);
    n->firing_inputs[i] = f;
    n->firing_checked[i] = p->checked;
  }
  n->sticky_update = FALSE;
  n->fired_once = TRUE;
  if (n->n_waiters)
    g_cond_broadcast(&n->space);
}

static void
release_inputs(LetheNode *n)
{
  for (guint i = 0; i < n->n_inputs; i++) {
    if (n->firing_inputs[i])
      lethe_frame_unref(n->firing_inputs[i]);
    n->firing_inputs[i] = NULL;
  }
}

/* ---- firing -------------------------------------------------------- */

static void
thread_enter(LetheGraph *g)
{
  if (inline_depth++ == 0)
    g_atomic_int_inc(&g->active_threads);
}

static void
thread_leave(LetheGraph *g)
{
  if (--inline_depth == 0 && g_atomic_int_dec_and_test(&g->active_threads) && stopping(g)) {
    /* lethe_graph_run() waits for this before it closes the pool. */
    lethe_mutex_lock(&g->lock);
    g_cond_broadcast(&g->done);
    lethe_mutex_unlock(&g->lock);
  }
}

static void
mark_started(LetheNode *n)
{
  if (G_UNLIKELY(n->started_us == 0)) {
    lethe_mutex_lock(&n->progress_lock);
    n->started_us = g_get_monotonic_time();
    lethe_mutex_unlock(&n->progress_lock);
  }
}

/* One call into plugin code: process (@flush FALSE) or flush. */
static gboolean
call_node(LetheGraph *g, LetheNode *n, gboolean flush)
{
  const LetheNodeVTable *vt = n->type->vtable;
  GError *err = NULL;
  gboolean ok = TRUE;

  /* The BLAS budget: all of it when this thread is the only one running
   * node code, one thread each when nodes fire in parallel. */
  guint budget = MAX(g->threads, 1);
  guint want = g_atomic_int_get(&g->active_threads) <= 1 ? budget : 1;
  n->blas_threads = want;
  blas_want(want);
  mark_started(n);

  if (g_atomic_int_add(&n->in_firing, 1) != 0)
    g_critical("node '%s' fired twice at once (scheduler bug)", n->name);
  if (flush) {
    if (vt && vt->flush)
      ok = vt->flush(n, &err);
  } else {
    __atomic_store_n(&n->n_firings, n->n_firings + 1, __ATOMIC_RELAXED); /* node_firings() */
    if (vt && vt->process)
      ok = vt->process(n, is_source(n) ? NULL : n->firing_inputs, &err);
  }
  g_atomic_int_add(&n->in_firing, -1);

  if (!ok) {
    fail(g, n, err);
    return FALSE;
  }
  if (err) {
    g_warning("node '%s' (%s) returned TRUE but set an error: %s", n->name, n->plugin,
              err->message);
    g_error_free(err);
  }
  return TRUE;
}

static void deliver_eos(LetheGraph *g, LetheNode *c, guint port);

/* Flushes @n (claimed by this thread) and sends end-of-stream downstream. */
static void
finish(LetheGraph *g, LetheNode *n)
{
  guint64 dropped = 0;
  const InPort *starved = NULL;

  lethe_mutex_lock(&n->lock);
  n->finished = TRUE;
  for (guint i = 0; i < n->n_inputs; i++) {
    InPort *p = &n->in[i];
    dropped += p->n_dropped + p->queue.len;
    frame_ring_clear(&p->queue, FALSE);
    if (p->connected && p->sticky && p->latest == NULL && !(p->spec->flags & LETHE_PORT_OPTIONAL))
      starved = p;
  }
  lethe_mutex_unlock(&n->lock);

  if (starved && dropped > 0) {
    fail(g, n,
         g_error_new(LETHE_ERROR, LETHE_ERROR_FAILED,
                     "sticky input '%s' ended without ever receiving a frame, so %" G_GUINT64_FORMAT
                     " frame(s) on its other inputs were never processed; check what feeds '%s'",
                     starved->spec->name, dropped, starved->spec->name));
    return;
  }
  if (dropped > 0)
    g_warning("node '%s' (%s): %" G_GUINT64_FORMAT " frame(s) were not processed because one "
              "of its inputs ended first",
              n->name, n->plugin, dropped);

  if (stopping(g) || !call_node(g, n, TRUE))
    return;

  lethe_mutex_lock(&n->progress_lock);
  n->finished_us = g_get_monotonic_time();
  lethe_mutex_unlock(&n->progress_lock);

  for (guint o = 0; o < n->n_outputs; o++) {
    OutPort *out = &n->out[o];
    if (out->capture)
      out->capture_eos = TRUE;
    for (guint k = 0; k < out->n_consumers; k++) {
      if (stopping(g))
        return;
      deliver_eos(g, out->consumers[k].node, out->consumers[k].port);
    }
  }

  if (g->finished_fn)
    g->finished_fn(n, g->finished_data);
  lethe_mutex_lock(&g->lock);
  g->n_finished++;
  if (g->n_finished == g->nodes->len)
    g_cond_broadcast(&g->done);
  lethe_mutex_unlock(&g->lock);
}

/* GThreadPool hands the task over inside libglib, which ThreadSanitizer
 * does not see (sync-private.h): publish what this thread did to @n. */
static void
pool_push(LetheGraph *g, LetheNode *n)
{
  lethe_tsan_release(n);
  g_thread_pool_push(g->pool, n, NULL);
}

/* Hands @n, claimed (RUNNING) by this thread, to the pool or runs it now. */
static void
dispatch(LetheGraph *g, LetheNode *n, gboolean may_inline)
{
  if (g->pool && (!may_inline || inline_depth >= MAX_INLINE_DEPTH)) {
    lethe_mutex_lock(&n->lock);
    n->state = NODE_SCHEDULED;
    lethe_mutex_unlock(&n->lock);
    pool_push(g, n);
    return;
  }
  run_node(g, n);
}

/* Runs @n, claimed by this thread, until it can fire no more; then
 * releases it (or re-queues a source so other ready nodes get a turn). */
static void
run_node(LetheGraph *g, LetheNode *n)
{
  thread_enter(g);
  lethe_mutex_lock(&n->lock);
  while (!stopping(g)) {
    if (can_fire(n)) {
      take_inputs(n);
      lethe_mutex_unlock(&n->lock);
      gboolean ok = call_node(g, n, FALSE);
      release_inputs(n);
      lethe_mutex_lock(&n->lock);
      if (!ok)
        break;
      if (is_source(n) && g->pool && !n->ended && g_thread_pool_unprocessed(g->pool) > 0) {
        /* Yield: other work is waiting for a thread. */
        n->state = NODE_SCHEDULED;
        lethe_mutex_unlock(&n->lock);
        pool_push(g, n);
        thread_leave(g);
        return;
      }
      continue;
    }
    if (should_finish(n)) {
      lethe_mutex_unlock(&n->lock);
      finish(g, n);
      lethe_mutex_lock(&n->lock);
    }
    break;
  }
  n->state = NODE_IDLE;
  lethe_mutex_unlock(&n->lock);
  thread_leave(g);
}

static void
pool_run(gpointer data, gpointer user_data)
{
  LetheNode *n = data;
  LetheGraph *g = user_data;
  lethe_tsan_acquire(n); /* what pool_push() published */

  lethe_mutex_lock(&n->lock);
  if (n->state != NODE_SCHEDULED) { /* stolen by a producer, or a stale task */
    lethe_mutex_unlock(&n->lock);
    lethe_tsan_release(g);
    return;
  }
  n->state = NODE_RUNNING;
  lethe_mutex_unlock(&n->lock);
  run_node(g, n);
  lethe_tsan_release(g); /* seen by lethe_graph_run() once the pool has ended */
}

/* Called with c->lock held. */
static void
starved_error(LetheNode *c, guint port, guint capacity, GError **error)
{
  const char *waits = "?";
  for (guint i = 0; i < c->n_inputs; i++) {
    const InPort *q = &c->in[i];
    if (q->connected && !q->sticky && q->queue.len == 0 && !q->eos) {
      waits = q->spec->name;
      break;
    }
  }
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_LIMIT,
              "node '%s' waits for a frame on its input '%s' while its input '%s' already holds "
              "%u frame(s), all that --max-memory allows; the producer of '%s' pushes far ahead "
              "of the producer of '%s': raise --max-memory, or interleave the two streams",
              c->name, waits, c->in[port].spec->name, capacity, c->in[port].spec->name, waits);
}

/* Queues @frame (transfer full) on input @port of @c.  Returns @c claimed
 * (RUNNING) when the caller must run or dispatch it, else NULL. */
static LetheNode *
enqueue(LetheGraph *g, LetheNode *c, guint port, LetheFrame *frame, GError **over_budget)
{
  InPort *p = &c->in[port];
  LetheFrame *drop = NULL;
  guint capacity = (guint)g_atomic_int_get(&g->capacity);

  lethe_mutex_lock(&c->lock);
  if (p->sticky) {
    drop = p->latest;
    p->latest = frame;
    c->sticky_update = TRUE;
  } else if (c->finished || is_dead(c)) {
    p->n_dropped++;
    drop = frame;
  } else {
    while (p->queue.len >= capacity && !stopping(g)) {
      if (c->state == NODE_RUNNING) {
        c->n_waiters++;
        lethe_cond_wait(&c->space, &c->lock);
        c->n_waiters--;
        continue;
      }
      if (c->state == NODE_SCHEDULED || can_fire(c)) {
        /* Nobody is running it: drain it ourselves. */
        c->state = NODE_RUNNING;
        lethe_mutex_unlock(&c->lock);
        run_node(g, c);
        lethe_mutex_lock(&c->lock);
        continue;
      }
      /* Starved on another input: waiting would never end.  The queue
       * grows past its bound, unless a memory budget forbids it. */
      if (g->max_memory && over_budget) {
        starved_error(c, port, capacity, over_budget);
        drop = frame;
      }
      break;
    }
    if (drop == NULL) {
      if (stopping(g))
        drop = frame;
      else
        frame_ring_push(&p->queue, frame);
    }
  }

  LetheNode *claimed = NULL;
  if (c->state == NODE_IDLE && !stopping(g) && (can_fire(c) || should_finish(c))) {
    c->state = NODE_RUNNING;
    claimed = c;
  }
  lethe_mutex_unlock(&c->lock);
  if (drop)
    lethe_frame_unref(drop);
  return claimed;
}

static void
deliver_eos(LetheGraph *g, LetheNode *c, guint port)
{
  LetheNode *claimed = NULL;

  lethe_mutex_lock(&c->lock);
  c->in[port].eos = TRUE;
  if (c->state == NODE_IDLE && (can_fire(c) || should_finish(c))) {
    c->state = NODE_RUNNING;
    claimed = c;
  }
  lethe_mutex_unlock(&c->lock);
  if (claimed)
    dispatch(g, claimed, TRUE);
}

/* ---- pushing ------------------------------------------------------- */

static gboolean
already_checked(const LetheNode *n, const LetheFrame *frame, const LetheSchema *schema)
{
  /* During a firing the inputs are held by the core, so pointer identity
   * is meaningful: a pass-through re-pushing its input is not re-checked. */
  for (guint i = 0; i < n->n_inputs; i++) {
    if (n->firing_inputs[i] == frame && n->firing_checked[i] == schema)
      return TRUE;
  }
  return FALSE;
}

/* "4.0 KiB", with a plain space (GLib puts a no-break space there). */
static char *
format_size(guint64 bytes)
{
  char *text = g_format_size_full(bytes, G_FORMAT_SIZE_IEC_UNITS);
  char *nbsp = strstr(text, "\xc2\xa0");
  if (nbsp) {
    *nbsp = ' ';
    memmove(nbsp + 1, nbsp + 2, strlen(nbsp + 2) + 1);
  }
  return text;
}

static guint64
frame_bytes(const LetheFrame *frame)
{
  guint64 bytes = 0;
  for (guint i = 0; i < lethe_frame_get_n_tensors(frame); i++)
    bytes += lethe_tensor_n_bytes(lethe_frame_get_nth(frame, i, NULL));
  return bytes;
}

/* The memory budget: each edge may hold `capacity` frames (a sticky input
 * one), each as large as the largest its producer has pushed so far.  When
 * a frame raises a producer's largest, the capacity of every queue is
 * lowered to keep that within --max-memory; when not even one frame per
 * edge fits, the run is refused.  Called by the firing thread of @n. */
static gboolean
account_memory(LetheGraph *g, LetheNode *n, OutPort *o, const LetheFrame *frame)
{
  guint64 bytes = frame_bytes(frame);
  if (bytes <= o->largest || o->n_consumers == 0) /* only this thread writes o->largest */
    return TRUE;

  lethe_mutex_lock(&g->mem_lock);
  o->largest = bytes;
  guint64 sticky = 0, stream = 0, top = 0;
  const LetheNode *top_node = n;
  const OutPort *top_port = o;
  for (guint i = 0; i < g->nodes->len; i++) {
    const LetheNode *m = g_ptr_array_index(g->nodes, i);
    for (guint k = 0; k < m->n_outputs; k++) {
      const OutPort *q = &m->out[k];
      for (guint c = 0; c < q->n_consumers; c++) {
        const Consumer *to = &q->consumers[c];
        if (to->node && to->node->in[to->port].sticky)
          sticky += q->largest;
        else
          stream += q->largest;
      }
      if (q->largest * q->n_consumers > top) {
        top = q->largest * q->n_consumers;
        top_node = m;
        top_port = q;
      }
    }
  }
  guint64 need = sticky + stream;
  gboolean fits = need <= g->max_memory;
  if (fits)
    g_atomic_int_set(
        &g->capacity,
        (gint)(stream ? MIN(g->queue_size, (g->max_memory - sticky) / stream) : g->queue_size));
  guint64 top_frame = top_port->largest;
  guint top_edges = top_port->n_consumers;
  lethe_mutex_unlock(&g->mem_lock);
  if (fits)
    return TRUE;

  g_autofree char *budget = format_size(g->max_memory);
  g_autofree char *total = format_size(need);
  g_autofree char *largest = format_size(top_frame);
  fail(g, n,
       g_error_new(LETHE_ERROR, LETHE_ERROR_LIMIT,
                   "the edge queues need more memory than --max-memory %s allows: with one frame "
                   "on each edge they may hold %s, most of it frames of %s from '%s' output "
                   "'%s' on %u edge(s); raise --max-memory to at least %s, or make the frames "
                   "smaller",
                   budget, total, largest, top_node->name, top_port->spec->name, top_edges, total));
  return FALSE;
}

/* Saves a model frame before anyone downstream sees it, so a checkpoint
 * on disk never lags behind what the evaluators reported.  Its key is the
 * frame's "version" (else its rank on the port) and its rank among the
 * frames of that version (an ensemble pushes several). */
static gboolean
checkpoint(LetheGraph *g, LetheNode *n, guint port, LetheFrame *frame)
{
  OutPort *o = &n->out[port];
  gint64 version = lethe_frame_get_meta_int(frame, "version", (gint64)o->n_pushed);
  guint index = o->n_ckpt > 0 && version == o->ckpt_version ? o->ckpt_index + 1 : 0;
  GError *err = NULL;
  /* A frame restored from its checkpoint is on disk already. */
  gboolean restored = frame == o->resumed;
  o->resumed = NULL;
  if (!restored && !g->checkpoint_fn(n, port, frame, version, index, g->checkpoint_data, &err)) {
    fail(g, n, err);
    return FALSE;
  }
  o->ckpt_version = version;
  o->ckpt_index = index;
  o->n_ckpt++;
  return TRUE;
}

static void
record_metrics_frame(LetheNode *n, LetheFrame *frame)
{
  lethe_node_metric_frame(n, frame);
}

gboolean
lethe_graph_push(LetheNode *n, guint port, LetheFrame *frame)
{
  LetheGraph *g = n->graph;
  OutPort *o = &n->out[port];

  if (G_UNLIKELY(stopping(g))) {
    lethe_frame_unref(frame);
    return FALSE;
  }
  if (o->schema && !already_checked(n, frame, o->schema)) {
    GError *err = NULL;
    if (!lethe_frame_check_schema_cached(frame, o->schema, &err)) {
      g_prefix_error(&err,
                     "frame pushed on output '%s' does not match its schema '%s': ", o->spec->name,
                     o->spec->schema);
      lethe_frame_unref(frame);
      fail(g, n, err);
      return FALSE;
    }
  }
  if (G_UNLIKELY(g->max_memory) && !account_memory(g, n, o, frame)) {
    lethe_frame_unref(frame);
    return FALSE;
  }
  o->n_pushed++;
  if (o->is_model && g->checkpoint_fn && !checkpoint(g, n, port, frame)) {
    lethe_frame_unref(frame);
    return FALSE;
  }

  if (o->capture) {
    g_queue_push_tail(o->capture, frame);
    return TRUE;
  }
  if (o->n_consumers == 0) {
    if (o->is_metrics)
      record_metrics_frame(n, frame);
    lethe_frame_unref(frame);
    return TRUE;
  }
  if (o->n_consumers == 1) {
    GError *over = NULL;
    LetheNode *c = enqueue(g, o->consumers[0].node, o->consumers[0].port, frame, &over);
    if (over) {
      fail(g, n, over);
      return FALSE;
    }
    if (c)
      dispatch(g, c, TRUE);
    return !stopping(g);
  }

  /* Fan-out: every consumer gets the same frame (one reference each).
   * Extra ready consumers go to the pool; the last one runs here. */
  LetheNode **claimed = g_newa(LetheNode *, o->n_consumers);
  guint n_claimed = 0;
  for (guint k = 0; k + 1 < o->n_consumers; k++)
    lethe_frame_ref(frame);
  GError *over = NULL;
  for (guint k = 0; k < o->n_consumers; k++) {
    LetheNode *c =
        enqueue(g, o->consumers[k].node, o->consumers[k].port, frame, over ? NULL : &over);
    if (c)
      claimed[n_claimed++] = c;
  }
  if (over)
    fail(g, n, over); /* the claimed ones see the stop and return */
  for (guint k = 0; k < n_claimed; k++)
    dispatch(g, claimed[k], k + 1 == n_claimed);
  return !stopping(g);
}

void
lethe_graph_metric(LetheNode *n, const char *name, gint64 step, double value,
                   const char *value_json)
{
  LetheGraph *g = n->graph;
  if (g && g->metric_fn)
    g->metric_fn(n, name, step, value, value_json, g->metric_data);
}

/* ---- running a whole graph ----------------------------------------- */

gboolean
lethe_graph_run(LetheGraph *g, GError **error)
{
  if (!g->inited && !lethe_graph_init_nodes(g, error))
    return FALSE;

  GError *pool_error = NULL;
  g->pool = g_thread_pool_new(pool_run, g, (gint)MAX(g->threads, 1), FALSE, &pool_error);
  if (g->pool == NULL) {
    g_propagate_prefixed_error(error, pool_error, "cannot start the thread pool: ");
    return FALSE;
  }

  /* Sources, and nodes whose inputs are all unconnected, start the flow. */
  for (guint i = 0; i < g->nodes->len; i++) {
    LetheNode *n = g_ptr_array_index(g->nodes, i);
    if (is_source(n) || !has_connected_input(n)) {
      n->state = NODE_SCHEDULED;
      pool_push(g, n);
    }
  }

  /* After a stop, wait until no thread runs node code either: such a
   * thread may still hand work to the pool (dispatch, a yielding source),
   * which must not happen once g_thread_pool_free() has begun.  A task
   * that starts later sees the stop before it touches the pool. */
  lethe_mutex_lock(&g->lock);
  while (g->n_finished < g->nodes->len &&
         !(stopping(g) && g_atomic_int_get(&g->active_threads) == 0))
    lethe_cond_wait(&g->done, &g->lock);
  lethe_mutex_unlock(&g->lock);

  /* Wait for every task: after a stop they return at their next check. */
  g_thread_pool_free(g->pool, FALSE, TRUE);
  lethe_tsan_acquire(g); /* every task has returned (pool_run) */
  g->pool = NULL;

  if (g->error) {
    g_propagate_error(error, g_error_copy(g->error));
    return FALSE;
  }
  if (stopping(g)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_CANCELLED, "the run was cancelled");
    return FALSE;
  }
  return TRUE;
}

/* ---- harness entry points (caller's thread, no pool) ------------------ */

static gboolean
harness_result(LetheGraph *g, GError **error)
{
  if (g->error) {
    g_propagate_error(error, g_error_copy(g->error));
    return FALSE;
  }
  if (stopping(g)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_CANCELLED, "the node was cancelled");
    return FALSE;
  }
  return TRUE;
}

gboolean
lethe_graph_deliver(LetheGraph *g, LetheNode *n, guint in, LetheFrame *frame, GError **error)
{
  g_return_val_if_fail(g->pool == NULL, FALSE);
  if (!harness_result(g, error)) {
    lethe_frame_unref(frame);
    return FALSE;
  }
  LetheNode *c = enqueue(g, n, in, frame, NULL);
  if (c)
    run_node(g, c);
  return harness_result(g, error);
}

gboolean
lethe_graph_deliver_eos(LetheGraph *g, LetheNode *n, guint in, GError **error)
{
  g_return_val_if_fail(g->pool == NULL, FALSE);
  if (!harness_result(g, error))
    return FALSE;
  deliver_eos(g, n, in);
  return harness_result(g, error);
}

gboolean
lethe_graph_fire_source(LetheGraph *g, LetheNode *n, GError **error)
{
  g_return_val_if_fail(g->pool == NULL, FALSE);
  if (!harness_result(g, error))
    return FALSE;

  lethe_mutex_lock(&n->lock);
  gboolean fire = can_fire(n);
  if (fire)
    take_inputs(n);
  n->state = NODE_RUNNING;
  lethe_mutex_unlock(&n->lock);

  thread_enter(g);
  if (fire) {
    call_node(g, n, FALSE);
    release_inputs(n);
  }
  lethe_mutex_lock(&n->lock);
  gboolean done = !stopping(g) && should_finish(n);
  lethe_mutex_unlock(&n->lock);
  if (done)
    finish(g, n);
  thread_leave(g);

  lethe_mutex_lock(&n->lock);
  n->state = NODE_IDLE;
  lethe_mutex_unlock(&n->lock);
  return harness_result(g, error);
}
