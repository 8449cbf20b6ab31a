/* Lethe — one run of a pipeline (<lethe/run.h>).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Builds the scheduler's graph from a validated pipeline (loading each
 * node's plugin), runs it, and keeps the output folder up to date:
 * pipeline.lethe and run.json first, metrics.jsonl as metrics arrive, and
 * run.json again at the end, whatever the outcome.
 */
#include "node-private.h"
#include "run-private.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>
#include <lethe/fileutil.h>
#include <lethe/safetensors.h>

/* metrics.jsonl is rewritten whole: at most this often while metrics
 * arrive, plus whenever a node finishes and at the end. */
#define METRICS_WRITE_INTERVAL_US (1 * G_USEC_PER_SEC)
#define PROGRESS_INTERVAL_US      (100 * 1000)

struct _LetheRun {
  LethePipeline *pipeline;
  char *output_dir;
  guint64 seed;
  gboolean seed_set;
  guint threads;
  guint queue_size;
  guint64 max_memory;
  gboolean quiet;
  gboolean checkpoints;
  gboolean resume;
  guint restored; /* atomic: frames handed back from checkpoints */
  LetheRunProgressFunc progress_fn;
  gpointer progress_data;
  GCancellable *cancellable;

  GMutex lock; /* everything below */
  LetheGraph *graph;
  GPtrArray *metrics; /* LetheMetric */
  gboolean metrics_dirty;
  gint64 metrics_next_us; /* no periodic rewrite before this */
  gint64 start_us;
  GDateTime *start;
  GDateTime *end;
  LetheRunStatus status;
  int exit_status;
  GError *error;
  char *failed_node;
  char *failed_plugin;
  GPtrArray *plugins; /* RunPlugin */
  gint64 progress_us; /* last progress callback */
};

static void
run_plugin_free(gpointer data)
{
  RunPlugin *p = data;
  g_free(p->name);
  g_free(p->version);
  g_free(p->path);
  g_free(p);
}

static void
run_node_record_free(gpointer data)
{
  RunNodeRecord *n = data;
  g_free(n->name);
  g_free(n->node_type);
  g_free(n->plugin);
  g_free(n);
}

LetheRun *
lethe_run_new(LethePipeline *pipeline)
{
  g_return_val_if_fail(pipeline != NULL, NULL);
  LetheRun *run = g_new0(LetheRun, 1);
  run->pipeline = lethe_pipeline_ref(pipeline);
  run->cancellable = g_cancellable_new();
  run->metrics = g_ptr_array_new_with_free_func((GDestroyNotify)lethe_metric_free);
  run->plugins = g_ptr_array_new_with_free_func(run_plugin_free);
  run->status = LETHE_RUN_PENDING;
  g_mutex_init(&run->lock);
  return run;
}

void
lethe_run_free(LetheRun *run)
{
  if (run == NULL)
    return;
  g_return_if_fail(run->status != LETHE_RUN_RUNNING);
  if (run->graph)
    lethe_graph_free(run->graph);
  lethe_pipeline_unref(run->pipeline);
  g_object_unref(run->cancellable);
  g_ptr_array_unref(run->metrics);
  g_ptr_array_unref(run->plugins);
  g_clear_pointer(&run->start, g_date_time_unref);
  g_clear_pointer(&run->end, g_date_time_unref);
  g_clear_error(&run->error);
  g_free(run->failed_node);
  g_free(run->failed_plugin);
  g_free(run->output_dir);
  g_mutex_clear(&run->lock);
  g_free(run);
}

void
lethe_run_set_output_dir(LetheRun *run, const char *dir)
{
  g_return_if_fail(run != NULL);
  g_free(run->output_dir);
  run->output_dir = g_strdup(dir);
}

void
lethe_run_set_seed(LetheRun *run, guint64 seed)
{
  g_return_if_fail(run != NULL);
  run->seed = seed;
  run->seed_set = TRUE;
}

void
lethe_run_set_threads(LetheRun *run, guint threads)
{
  g_return_if_fail(run != NULL);
  run->threads = threads;
}

void
lethe_run_set_queue_size(LetheRun *run, guint frames)
{
  g_return_if_fail(run != NULL);
  run->queue_size = frames;
}

void
lethe_run_set_checkpoints(LetheRun *run, gboolean checkpoints)
{
  g_return_if_fail(run != NULL);
  run->checkpoints = checkpoints;
}

void
lethe_run_set_resume(LetheRun *run, gboolean resume)
{
  g_return_if_fail(run != NULL);
  run->resume = resume;
  if (resume)
    run->checkpoints = TRUE;
}

guint
lethe_run_get_restored(LetheRun *run)
{
  g_return_val_if_fail(run != NULL, 0);
  return (guint)g_atomic_int_get(&run->restored);
}

void
lethe_run_set_max_memory(LetheRun *run, guint64 bytes)
{
  g_return_if_fail(run != NULL);
  run->max_memory = bytes;
}

void
lethe_run_set_quiet(LetheRun *run, gboolean quiet)
{
  g_return_if_fail(run != NULL);
  run->quiet = quiet;
}

void
lethe_run_set_progress_func(LetheRun *run, LetheRunProgressFunc func, gpointer user_data)
{
  g_return_if_fail(run != NULL);
  run->progress_fn = func;
  run->progress_data = user_data;
}

void
lethe_run_cancel(LetheRun *run)
{
  g_return_if_fail(run != NULL);
  g_cancellable_cancel(run->cancellable);
}

GCancellable *
lethe_run_get_cancellable(LetheRun *run)
{
  g_return_val_if_fail(run != NULL, NULL);
  return run->cancellable;
}

LetheRunStatus
lethe_run_get_status(LetheRun *run)
{
  g_return_val_if_fail(run != NULL, LETHE_RUN_FAILED);
  lethe_mutex_lock(&run->lock);
  LetheRunStatus s = run->status;
  lethe_mutex_unlock(&run->lock);
  return s;
}

int
lethe_run_get_exit_status(LetheRun *run)
{
  g_return_val_if_fail(run != NULL, 1);
  return run->exit_status;
}

const char *
lethe_run_get_output_dir(LetheRun *run)
{
  g_return_val_if_fail(run != NULL, NULL);
  return run->output_dir;
}

guint64
lethe_run_get_seed(LetheRun *run)
{
  g_return_val_if_fail(run != NULL, 0);
  return run->seed_set ? run->seed : lethe_pipeline_get_seed(run->pipeline);
}

guint
lethe_run_get_threads(LetheRun *run)
{
  g_return_val_if_fail(run != NULL, 1);
  return run->threads ? run->threads : MAX(g_get_num_processors(), 1);
}

const char *
lethe_run_get_failed_node(LetheRun *run)
{
  g_return_val_if_fail(run != NULL, NULL);
  return run->failed_node;
}

const char *
lethe_run_get_failed_plugin(LetheRun *run)
{
  g_return_val_if_fail(run != NULL, NULL);
  return run->failed_plugin;
}

static LetheMetric *
metric_copy(const LetheMetric *m)
{
  LetheMetric *c = g_new(LetheMetric, 1);
  *c = *m;
  c->node = g_strdup(m->node);
  c->plugin = g_strdup(m->plugin);
  c->name = g_strdup(m->name);
  c->value_json = g_strdup(m->value_json);
  return c;
}

GPtrArray *
lethe_run_get_metrics(LetheRun *run)
{
  g_return_val_if_fail(run != NULL, NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)lethe_metric_free);
  lethe_mutex_lock(&run->lock);
  for (guint i = 0; i < run->metrics->len; i++)
    g_ptr_array_add(out, metric_copy(g_ptr_array_index(run->metrics, i)));
  lethe_mutex_unlock(&run->lock);
  return out;
}

GPtrArray *
lethe_run_get_progress(LetheRun *run)
{
  g_return_val_if_fail(run != NULL, NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)lethe_node_progress_free);
  gint64 now = g_get_monotonic_time();

  lethe_mutex_lock(&run->lock);
  guint n = run->graph ? lethe_graph_get_n_nodes(run->graph) : 0;
  for (guint i = 0; i < n; i++) {
    LetheNode *node = lethe_graph_get_node(run->graph, i);
    LetheNodeProgress *p = g_new0(LetheNodeProgress, 1);
    p->node = g_strdup(node->name);
    p->plugin = g_strdup(node->plugin);
    p->node_type = g_strdup(node->type->name);
    p->firings = node_firings(node);
    lethe_mutex_lock(&node->progress_lock);
    p->what = g_strdup(node->progress_what);
    p->fraction = node->progress_fraction;
    p->started = node->started_us != 0;
    p->finished = node->finished_us != 0;
    gint64 until = p->finished ? node->finished_us : now;
    p->elapsed = p->started ? (double)(until - node->started_us) / G_USEC_PER_SEC : 0;
    p->eta = -1;
    if (!p->finished && p->fraction > 0 && p->fraction < 1 && node->progress_us) {
      double spent = (double)(now - node->progress_us) / G_USEC_PER_SEC;
      p->eta = spent / p->fraction * (1 - p->fraction);
    }
    lethe_mutex_unlock(&node->progress_lock);
    g_ptr_array_add(out, p);
  }
  lethe_mutex_unlock(&run->lock);
  return out;
}

/* ---- output files ------------------------------------------------- */

static char *
out_path(LetheRun *run, const char *name)
{
  return g_build_filename(run->output_dir, name, NULL);
}

/* Called with run->lock held. */
static void
write_metrics_locked(LetheRun *run)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = out_path(run, "metrics.jsonl");
  gint64 t0 = g_get_monotonic_time();
  if (!lethe_run_write_metrics(path, run->metrics, &error))
    g_warning("cannot write %s: %s", path, error->message);
  run->metrics_dirty = FALSE;
  /* The file is rewritten whole: space the rewrites so that they never
   * take more than about 5% of the run, however many metrics pile up. */
  gint64 now = g_get_monotonic_time();
  run->metrics_next_us = now + MAX(METRICS_WRITE_INTERVAL_US, 20 * (now - t0));
}

/* Called with run->lock held. */
static void
write_record_locked(LetheRun *run)
{
  g_autoptr(GPtrArray) nodes = g_ptr_array_new_with_free_func(run_node_record_free);
  guint n = run->graph ? lethe_graph_get_n_nodes(run->graph) : 0;
  for (guint i = 0; i < n; i++) {
    LetheNode *node = lethe_graph_get_node(run->graph, i);
    RunNodeRecord *r = g_new0(RunNodeRecord, 1);
    r->name = g_strdup(node->name);
    r->node_type = g_strdup(node->type->name);
    r->plugin = g_strdup(node->plugin);
    r->firings = node_firings(node);
    lethe_mutex_lock(&node->progress_lock);
    r->finished = node->finished_us != 0;
    if (node->started_us)
      r->seconds =
          (double)((r->finished ? node->finished_us : g_get_monotonic_time()) - node->started_us) /
          G_USEC_PER_SEC;
    lethe_mutex_unlock(&node->progress_lock);
    g_ptr_array_add(nodes, r);
  }

  RunRecord record = {
      .pipeline_name = lethe_pipeline_get_name(run->pipeline),
      .pipeline_file = lethe_pipeline_get_path(run->pipeline),
      .seed = lethe_pipeline_get_seed(run->pipeline),
      .threads = lethe_run_get_threads(run),
      .checkpoints = run->checkpoints,
      .max_memory = run->max_memory,
      .queue_capacity = run->graph ? lethe_graph_get_queue_capacity(run->graph) : 0,
      .resumed = run->resume,
      .restored = (guint)g_atomic_int_get(&run->restored),
      .start = run->start,
      .end = run->end,
      .status = run->status,
      .exit_status = run->exit_status,
      .error = run->error,
      .failed_node = run->failed_node,
      .failed_plugin = run->failed_plugin,
      .plugins = run->plugins,
      .nodes = nodes,
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *path = out_path(run, "run.json");
  if (!lethe_run_write_record(path, &record, &error))
    g_warning("cannot write %s: %s", path, error->message);
}

static void
notify_progress(LetheRun *run, gboolean force)
{
  if (run->quiet || run->progress_fn == NULL)
    return;
  gint64 now = g_get_monotonic_time();
  lethe_mutex_lock(&run->lock);
  gboolean due = force || now - run->progress_us >= PROGRESS_INTERVAL_US;
  if (due)
    run->progress_us = now;
  lethe_mutex_unlock(&run->lock);
  if (due)
    run->progress_fn(run, run->progress_data);
}

static void
on_metric(LetheNode *node, const char *name, gint64 step, double value, const char *value_json,
          gpointer data)
{
  LetheRun *run = data;
  LetheMetric *m = g_new0(LetheMetric, 1);
  m->node = g_strdup(node->name);
  m->plugin = g_strdup(node->plugin);
  m->name = g_strdup(name);
  m->step = step;
  m->value = value;
  m->value_json = g_strdup(value_json);

  lethe_mutex_lock(&run->lock);
  m->seconds = (double)(g_get_monotonic_time() - run->start_us) / G_USEC_PER_SEC;
  g_ptr_array_add(run->metrics, m);
  run->metrics_dirty = TRUE;
  if (g_get_monotonic_time() >= run->metrics_next_us)
    write_metrics_locked(run);
  lethe_mutex_unlock(&run->lock);
}

static void
on_node_finished(LetheNode *node, gpointer data)
{
  LetheRun *run = data;
  lethe_mutex_lock(&run->lock);
  if (run->metrics_dirty)
    write_metrics_locked(run);
  lethe_mutex_unlock(&run->lock);
  notify_progress(run, TRUE);
}

static void
on_node_progress(LetheNode *node, gpointer data)
{
  notify_progress(data, FALSE);
}

/* checkpoints/NODE[.PORT]-vVERSION[-INDEX].safetensors: the port only when
 * the node type has more than one model output, the index only for the
 * second and later frames of one version (an ensemble). */
static char *
checkpoint_path(const char *dir, const LetheNode *node, guint port, gint64 version, guint index)
{
  guint n_models = 0;
  for (guint o = 0; o < node->n_outputs; o++)
    n_models += node->out[o].is_model;
  g_autoptr(GString) name = g_string_new(node->name);
  if (n_models > 1)
    g_string_append_printf(name, ".%s", node->out[port].spec->name);
  g_string_append_printf(name, "-v%" G_GINT64_FORMAT, version);
  if (index > 0)
    g_string_append_printf(name, "-%u", index);
  g_string_append(name, ".safetensors");
  return g_build_filename(dir, "checkpoints", name->str, NULL);
}

static gboolean
on_checkpoint(LetheNode *node, guint port, const LetheFrame *frame, gint64 version, guint index,
              gpointer data, GError **error)
{
  LetheRun *run = data;
  g_autofree char *path = checkpoint_path(run->output_dir, node, port, version, index);
  if (!lethe_safetensors_save(frame, path, error)) {
    g_prefix_error(error, "cannot write the checkpoint of model version %" G_GINT64_FORMAT ": ",
                   version);
    return FALSE;
  }
  return TRUE;
}

static LetheFrame *
on_resume(LetheNode *node, guint port, gint64 version, guint index, gpointer data)
{
  LetheRun *run = data;
  g_autofree char *path = checkpoint_path(run->output_dir, node, port, version, index);
  if (!g_file_test(path, G_FILE_TEST_EXISTS))
    return NULL;
  g_autoptr(GError) error = NULL;
  LetheFrame *frame = lethe_safetensors_load(path, &error);
  if (frame == NULL) {
    /* Atomic writes make this unlikely; the node then computes it. */
    g_warning("node '%s': cannot restore %s, computing it again: %s", node->name, path,
              error->message);
    return NULL;
  }
  g_atomic_int_inc(&run->restored);
  return frame;
}

/* Removes what killed writes left in @dir: ".NAME.XXXXXX" temporaries. */
static void
remove_temporaries(const char *dir)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name(d))) {
    gsize len = strlen(name);
    if (name[0] != '.' || len < 9 || name[len - 7] != '.')
      continue;
    g_autofree char *path = g_build_filename(dir, name, NULL);
    if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
      g_unlink(path);
  }
}

/* A resumed run replays every node from the start; a node that emits
 * models must be able to take them back from its checkpoints, or it would
 * silently train again from scratch. */
static gboolean
check_resumable(LetheRun *run, GError **error)
{
  LethePipeline *pl = run->pipeline;
  g_autoptr(GString) refused = g_string_new(NULL);
  for (guint i = 0; i < lethe_pipeline_get_n_nodes(pl); i++) {
    const LetheNodeType *type = lethe_pipeline_node_get_type(pl, i);
    for (const LethePortSpec *p = type ? type->outputs : NULL; p && p->name; p++) {
      if (g_strcmp0(p->schema, "model") == 0 && !(p->flags & LETHE_PORT_RESUMABLE)) {
        g_string_append_printf(refused, "%s'%s' (%s, output '%s')", refused->len ? ", " : "",
                               lethe_pipeline_node_name(pl, i), type->name, p->name);
        break;
      }
    }
  }
  if (refused->len == 0)
    return TRUE;
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED,
              "cannot resume %s: node %s emits models but its node type cannot restore them "
              "from checkpoints, so it would train again from the start; run the pipeline "
              "again without --resume",
              run->output_dir, refused->str);
  return FALSE;
}

static char *
default_output_dir(LetheRun *run)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local();
  g_autofree char *stamp = g_date_time_format(now, "%Y%m%d-%H%M%S");
  g_autofree char *base = g_strdup_printf("%s-%s", lethe_pipeline_get_name(run->pipeline), stamp);
  char *dir = g_build_filename("runs", base, NULL);
  /* Two runs in the same second get -2, -3…, never each other's folder. */
  for (int k = 2; g_file_test(dir, G_FILE_TEST_EXISTS); k++) {
    g_free(dir);
    g_autofree char *numbered = g_strdup_printf("%s-%d", base, k);
    dir = g_build_filename("runs", numbered, NULL);
  }
  return dir;
}

static void
add_plugin(LetheRun *run, const LethePluginRecord *record)
{
  const char *name = record && record->name ? record->name : "static";
  for (guint i = 0; i < run->plugins->len; i++) {
    if (g_str_equal(((RunPlugin *)run->plugins->pdata[i])->name, name))
      return;
  }
  RunPlugin *p = g_new0(RunPlugin, 1);
  p->name = g_strdup(name);
  p->version = g_strdup(record && record->version ? record->version : "");
  p->path = g_strdup(record ? record->path : NULL);
  g_ptr_array_add(run->plugins, p);
}

typedef struct {
  LethePipeline *pipeline;
  guint node;
} ParamSource;

static const char *
lookup_param(gpointer data, const char *param, gboolean *is_set)
{
  ParamSource *src = data;
  *is_set = lethe_pipeline_node_param_is_set(src->pipeline, src->node, param);
  return lethe_pipeline_node_param(src->pipeline, src->node, param);
}

static gboolean
build_graph(LetheRun *run, LetheGraph *graph, GError **error)
{
  LethePipeline *pl = run->pipeline;
  LetheRegistry *registry = lethe_pipeline_get_registry(pl);
  guint n = lethe_pipeline_get_n_nodes(pl);

  for (guint i = 0; i < n; i++) {
    const char *name = lethe_pipeline_node_name(pl, i);
    const char *type_name = lethe_pipeline_node_type(pl, i);
    const LethePluginRecord *record = NULL;
    GError *local = NULL;

    const LetheNodeType *type = lethe_registry_load_node_type(registry, type_name, &local);
    if (type == NULL) {
      g_propagate_prefixed_error(error, local, "node '%s' (%s): ", name, type_name);
      return FALSE;
    }
    lethe_registry_find_node_type(registry, type_name, &record);
    add_plugin(run, record);
    ParamSource src = {pl, i};
    LetheNode *node =
        lethe_node_new_internal(name, type, record && record->name ? record->name : "static",
                                record ? record->version : NULL, lookup_param, &src,
                                lethe_pipeline_get_base_dir(pl), error);
    if (node == NULL)
      return FALSE;
    lethe_graph_add(graph, node);
  }

  for (guint i = 0; i < n; i++) {
    LetheNode *to = lethe_graph_get_node(graph, i);
    for (guint port = 0; port < to->n_inputs; port++) {
      guint from = 0, from_port = 0;
      if (lethe_pipeline_node_input(pl, i, port, &from, &from_port))
        lethe_graph_link(graph, lethe_graph_get_node(graph, from), from_port, to, port);
    }
  }
  return TRUE;
}

static void
finish_run(LetheRun *run, LetheRunStatus status, int exit_status, const GError *error)
{
  lethe_mutex_lock(&run->lock);
  run->status = status;
  run->exit_status = exit_status;
  run->end = g_date_time_new_now_utc();
  if (error && run->error == NULL)
    run->error = g_error_copy(error);
  if (run->output_dir) {
    write_metrics_locked(run);
    write_record_locked(run);
  }
  lethe_mutex_unlock(&run->lock);
}

gboolean
lethe_run_execute(LetheRun *run, GError **error)
{
  g_return_val_if_fail(run != NULL, FALSE);
  g_return_val_if_fail(run->status == LETHE_RUN_PENDING, FALSE);

  GError *local = NULL;
  LetheGraph *graph = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  g_autofree char *keyfile = NULL;
  g_autofree char *keyfile_path = NULL;
  gboolean ok;

  lethe_mutex_lock(&run->lock);
  run->status = LETHE_RUN_RUNNING;
  run->start = g_date_time_new_now_utc();
  run->start_us = g_get_monotonic_time();
  lethe_mutex_unlock(&run->lock);

  if (run->seed_set)
    lethe_pipeline_set_seed(run->pipeline, run->seed);
  if (run->resume && (run->output_dir == NULL || !check_resumable(run, &local)))
    goto refused;

  problems = lethe_pipeline_validate(run->pipeline);
  if (problems->len > 0)
    goto invalid;

  if (run->output_dir == NULL)
    run->output_dir = default_output_dir(run);
  if (g_mkdir_with_parents(run->output_dir, 0777) != 0)
    goto no_output_dir;

  keyfile = lethe_pipeline_to_keyfile(run->pipeline);
  keyfile_path = out_path(run, "pipeline.lethe");
  if (!lethe_file_replace_contents(keyfile_path, keyfile, strlen(keyfile), &local))
    goto failed;
  if (run->resume) {
    g_autofree char *ckpt_dir = out_path(run, "checkpoints");
    remove_temporaries(run->output_dir);
    remove_temporaries(ckpt_dir);
  }
  if (run->checkpoints) {
    g_autofree char *ckpt_dir = out_path(run, "checkpoints");
    if (g_mkdir_with_parents(ckpt_dir, 0777) != 0) {
      int saved = errno;
      local = g_error_new(LETHE_ERROR, LETHE_ERROR_IO,
                          "cannot create the checkpoint folder '%s': %s; choose another output "
                          "folder with --output",
                          ckpt_dir, g_strerror(saved));
      goto failed;
    }
  }

  graph = lethe_graph_new(lethe_run_get_threads(run), lethe_pipeline_get_seed(run->pipeline),
                          run->cancellable);
  lethe_graph_set_output_dir(graph, run->output_dir);
  if (run->queue_size)
    lethe_graph_set_queue_size(graph, run->queue_size);
  lethe_graph_set_max_memory(graph, run->max_memory);
  lethe_graph_set_metric_func(graph, on_metric, run);
  lethe_graph_set_finished_func(graph, on_node_finished, run);
  lethe_graph_set_progress_func(graph, on_node_progress, run);
  if (run->checkpoints)
    lethe_graph_set_checkpoint_func(graph, on_checkpoint, run);
  if (run->resume)
    lethe_graph_set_resume_func(graph, on_resume, run);
  lethe_mutex_lock(&run->lock);
  run->graph = graph;
  write_record_locked(run);
  lethe_mutex_unlock(&run->lock);

  if (!build_graph(run, graph, &local))
    goto failed;

  ok = lethe_graph_run(graph, &local);
  lethe_graph_finalize_nodes(graph);
  if (ok) {
    finish_run(run, LETHE_RUN_SUCCEEDED, 0, NULL);
    notify_progress(run, TRUE);
    return TRUE;
  }
  if (lethe_graph_get_failed_node(graph)) {
    LetheNode *failed = lethe_graph_get_failed_node(graph);
    run->failed_node = g_strdup(failed->name);
    run->failed_plugin = g_strdup(failed->plugin);
    goto failed;
  }
  if (g_error_matches(local, LETHE_ERROR, LETHE_ERROR_CANCELLED)) {
    finish_run(run, LETHE_RUN_CANCELLED, 130, local);
    g_propagate_error(error, local);
    return FALSE;
  }
  goto failed;

  /* ERRORS */
refused : {
  /* Nothing written: the interrupted run's files stay as they are. */
  if (local == NULL)
    local = g_error_new_literal(LETHE_ERROR, LETHE_ERROR_INVALID,
                                "resuming needs the output folder of the interrupted run");
  lethe_mutex_lock(&run->lock);
  run->status = LETHE_RUN_FAILED;
  run->exit_status = 2;
  lethe_mutex_unlock(&run->lock);
  g_propagate_error(error, local);
  return FALSE;
}
invalid : {
  g_autoptr(GString) msg = g_string_new(NULL);
  g_string_printf(msg, "the pipeline is invalid (%u problem%s):", problems->len,
                  problems->len == 1 ? "" : "s");
  for (guint i = 0; i < problems->len; i++) {
    g_autofree char *line = lethe_problem_to_string(g_ptr_array_index(problems, i));
    g_string_append_printf(msg, "\n%s", line);
  }
  local = g_error_new_literal(LETHE_ERROR, LETHE_ERROR_INVALID, msg->str);
  finish_run(run, LETHE_RUN_FAILED, 2, local);
  g_propagate_error(error, local);
  return FALSE;
}
no_output_dir : {
  int saved = errno;
  local = g_error_new(LETHE_ERROR, LETHE_ERROR_IO,
                      "cannot create the output folder '%s': %s; choose another with --output",
                      run->output_dir, g_strerror(saved));
  g_clear_pointer(&run->output_dir, g_free);
  finish_run(run, LETHE_RUN_FAILED, 1, local);
  g_propagate_error(error, local);
  return FALSE;
}
failed : {
  finish_run(run, LETHE_RUN_FAILED, 1, local);
  g_propagate_error(error, local);
  return FALSE;
}
}
