/* Lethe — node and scheduler internals shared by node.c, scheduler.c,
 * run.c and check.c.  Not installed.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_NODE_PRIVATE_H
#define LETHE_NODE_PRIVATE_H

#include <lethe/pipeline.h>
#include <lethe/plugin.h>
#include <lethe/schema.h>

#include "sync-private.h"

G_BEGIN_DECLS

/* Nothing here is API: the functions are exported only so the core's own
 * tests can build graphs directly. */
typedef struct _LetheGraph LetheGraph;

/* Where a node stands in the scheduler.  Every change happens under the
 * node's lock.  IDLE: nobody runs it.  SCHEDULED: a pool task will run it
 * (or a blocked producer may steal it).  RUNNING: one thread runs it; only
 * that thread fires, flushes or releases it. */
typedef enum {
  NODE_IDLE,
  NODE_SCHEDULED,
  NODE_RUNNING,
} NodeState;

typedef struct {
  LetheParamValue value;
  gboolean is_set;
} ParamValue;

typedef struct {
  LetheNode *node; /* NULL: captured by a test harness instead */
  guint port;
} Consumer;

typedef struct {
  const LethePortSpec *spec;
  const LetheSchema *schema; /* NULL when the schema could not be found */
  gboolean is_any;
  gboolean is_metrics;
  gboolean is_model;   /* frames pushed here are checkpointed when the run asks */
  gint64 ckpt_version; /* the version of the last frame checkpointed here */
  guint ckpt_index;    /* how many frames of that version came before it */
  guint64 n_ckpt;
  const LetheFrame *resumed; /* handed out by lethe_node_get_resume_frame(): not saved again */
  Consumer *consumers;
  guint n_consumers;
  /* Harness capture: frames pushed on an output a test pulls from. */
  GQueue *capture;
  gboolean capture_eos;
  guint64 n_pushed;
  guint64 largest; /* bytes of the largest frame pushed (with a memory budget) */
} OutPort;

/* A growable ring of frames: an edge queue without an allocation per frame. */
typedef struct {
  LetheFrame **items;
  guint head;
  guint len;
  guint cap; /* a power of two, or 0 */
} FrameRing;

static inline void
frame_ring_push(FrameRing *r, LetheFrame *f)
{
  if (r->len == r->cap) {
    guint cap = r->cap ? r->cap * 2 : 8;
    LetheFrame **items = g_new(LetheFrame *, cap);
    for (guint i = 0; i < r->len; i++)
      items[i] = r->items[(r->head + i) & (r->cap - 1)];
    g_free(r->items);
    r->items = items;
    r->head = 0;
    r->cap = cap;
  }
  r->items[(r->head + r->len) & (r->cap - 1)] = f;
  r->len++;
}

static inline LetheFrame *
frame_ring_pop(FrameRing *r)
{
  if (r->len == 0)
    return NULL;
  LetheFrame *f = r->items[r->head];
  r->head = (r->head + 1) & (r->cap - 1);
  r->len--;
  return f;
}

/* Drops every frame; keeps the storage unless @free_storage. */
static inline void
frame_ring_clear(FrameRing *r, gboolean free_storage)
{
  LetheFrame *f;
  while ((f = frame_ring_pop(r)))
    lethe_frame_unref(f);
  if (free_storage) {
    g_clear_pointer(&r->items, g_free);
    r->cap = 0;
    r->head = 0;
  }
}

typedef struct {
  const LethePortSpec *spec;
  gboolean connected;
  gboolean sticky;
  gboolean eos;
  FrameRing queue;    /* pending frames, non-sticky ports */
  LetheFrame *latest; /* sticky ports: the latest frame */
  /* The schema frames arriving here were already checked against (the
   * producer's output schema), so a pass-through re-pushing one of them
   * on an output of the same schema is not checked again. */
  const LetheSchema *checked;
  guint64 n_dropped;
} InPort;

struct _LetheNode {
  char *name;
  const LetheNodeType *type;
  char *plugin;
  char *plugin_version;
  LetheGraph *graph;
  guint index;

  guint n_inputs;
  guint n_outputs;
  InPort *in;
  OutPort *out;

  guint n_params;
  ParamValue *params;

  gpointer priv;
  GDestroyNotify priv_destroy;
  guint64 seed;
  guint blas_threads;

  GMutex lock;
  GCond space; /* producers waiting for room in one of our queues */
  guint n_waiters;
  NodeState state;
  gboolean sticky_update; /* a sticky-only node got a new frame */
  gboolean ended;         /* a source called lethe_node_end_stream() */
  gboolean inited;
  gboolean finished; /* flushed and end-of-stream sent downstream */
  gboolean fired_once;
  gboolean resume_ended; /* a resume frame was missing: none from now on */

  /* The firing in progress (read only by the firing thread). */
  LetheFrame **firing_inputs;
  const LetheSchema **firing_checked;

  guint64 n_firings; /* written by the firing thread only; read with node_firings() */
  gint in_firing;    /* atomic: >1 would mean two firings at once (a bug) */

  /* Progress, under progress_lock: read by the front-end from another thread. */
  GMutex progress_lock;
  char *progress_what;
  double progress_fraction;
  gint64 started_us;  /* first firing */
  gint64 progress_us; /* first progress report with a fraction */
  gint64 finished_us;
};

/* Firings so far, from any thread (progress displays, run.json): the
 * counter is stored and loaded atomically, without ordering. */
static inline guint64
node_firings(const LetheNode *node)
{
  return __atomic_load_n(&node->n_firings, __ATOMIC_RELAXED);
}

/* ---- node.c ---- */

/* Looks up the text of one parameter: the value as written, the default,
 * or NULL; @is_set says whether the user set it. */
typedef const char *(*LetheParamLookup)(gpointer data, const char *param, gboolean *is_set);

LetheNode *lethe_node_new_internal(const char *name, const LetheNodeType *type, const char *plugin,
                                   const char *plugin_version, LetheParamLookup lookup,
                                   gpointer lookup_data, const char *base_dir, GError **error);
void lethe_node_free_internal(LetheNode *node);
/* Prefixes @error with the node's name and plugin, keeping domain and code. */
void lethe_node_attribute_error(const LetheNode *node, GError **error);

/* ---- scheduler.c ---- */

typedef void (*LetheGraphMetricFunc)(LetheNode *node, const char *name, gint64 step, double value,
                                     const char *value_json, gpointer data);
typedef void (*LetheGraphNodeFunc)(LetheNode *node, gpointer data);
/* Saves @frame, pushed by @node on model output @port, as the @index-th
 * frame (from 0) of model version @version on that port. */
typedef gboolean (*LetheGraphCheckpointFunc)(LetheNode *node, guint port, const LetheFrame *frame,
                                             gint64 version, guint index, gpointer data,
                                             GError **error);

/* @threads 0: no pool, everything runs in the caller's thread (harness). */
LetheGraph *lethe_graph_new(guint threads, guint64 seed, GCancellable *cancellable);
void lethe_graph_free(LetheGraph *graph);
void lethe_graph_set_output_dir(LetheGraph *graph, const char *dir);
void lethe_graph_set_queue_size(LetheGraph *graph, guint frames);
/* The bytes edge queues may hold, 0 for no budget (docs/execution.md). */
void lethe_graph_set_max_memory(LetheGraph *graph, guint64 bytes);
/* Frames each edge queue holds now: the queue size, or less under a budget. */
guint lethe_graph_get_queue_capacity(LetheGraph *graph);
void lethe_graph_set_metric_func(LetheGraph *graph, LetheGraphMetricFunc func, gpointer data);
/* Called (from the node's thread) when a node has flushed and sent EOS. */
void lethe_graph_set_finished_func(LetheGraph *graph, LetheGraphNodeFunc func, gpointer data);
/* Called (from the node's thread) when a node reports progress. */
void lethe_graph_set_progress_func(LetheGraph *graph, LetheGraphNodeFunc func, gpointer data);
/* Called (from the pushing thread, before any consumer sees it) for every
 * frame pushed on an output of schema `model`; a failure fails the node. */
void lethe_graph_set_checkpoint_func(LetheGraph *graph, LetheGraphCheckpointFunc func,
                                     gpointer data);
/* Returns (transfer full) the checkpointed frame of @node on @port for
 * @version and @index from the interrupted run, or NULL. */
typedef LetheFrame *(*LetheGraphResumeFunc)(LetheNode *node, guint port, gint64 version,
                                            guint index, gpointer data);
void lethe_graph_set_resume_func(LetheGraph *graph, LetheGraphResumeFunc func, gpointer data);
/* Takes ownership of @node. */
void lethe_graph_add(LetheGraph *graph, LetheNode *node);
guint lethe_graph_get_n_nodes(LetheGraph *graph);
LetheNode *lethe_graph_get_node(LetheGraph *graph, guint i);
void lethe_graph_link(LetheGraph *graph, LetheNode *from, guint out, LetheNode *to, guint in);
void lethe_graph_capture(LetheGraph *graph, LetheNode *node, guint out);
/* Runs init on every node; the first failure is returned, attributed. */
gboolean lethe_graph_init_nodes(LetheGraph *graph, GError **error);
/* Runs the whole graph to completion, failure or cancellation. */
gboolean lethe_graph_run(LetheGraph *graph, GError **error);
/* Calls every initialised node's finalize and drops queued frames. */
void lethe_graph_finalize_nodes(LetheGraph *graph);
void lethe_graph_stop(LetheGraph *graph);
gboolean lethe_graph_is_stopping(LetheGraph *graph);
LetheNode *lethe_graph_get_failed_node(LetheGraph *graph);
const GError *lethe_graph_get_error(LetheGraph *graph);
GCancellable *lethe_graph_get_cancellable(LetheGraph *graph);
guint lethe_graph_get_threads(LetheGraph *graph);
const char *lethe_graph_get_output_dir(LetheGraph *graph);
guint64 lethe_graph_get_seed(LetheGraph *graph);
guint lethe_graph_get_active_threads(LetheGraph *graph);

/* Harness entry points (caller's thread, no pool). */
gboolean lethe_graph_deliver(LetheGraph *graph, LetheNode *node, guint in, LetheFrame *frame,
                             GError **error);
gboolean lethe_graph_deliver_eos(LetheGraph *graph, LetheNode *node, guint in, GError **error);
gboolean lethe_graph_fire_source(LetheGraph *graph, LetheNode *node, GError **error);

/* Node API back-ends. */
gboolean lethe_graph_push(LetheNode *node, guint port, LetheFrame *frame);
void lethe_graph_progress(LetheNode *node);
LetheFrame *lethe_graph_resume_frame(LetheNode *node, guint port, gint64 version, guint index);
void lethe_graph_metric(LetheNode *node, const char *name, gint64 step, double value,
                        const char *value_json);

G_END_DECLS

#endif /* LETHE_NODE_PRIVATE_H */
