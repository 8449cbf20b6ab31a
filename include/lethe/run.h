/* Lethe — running a pipeline and recording what it produced.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_RUN_H
#define LETHE_RUN_H

#include <lethe/pipeline.h>

G_BEGIN_DECLS

/**
 * LetheMetric:
 * @node: the node that recorded it
 * @plugin: that node's plugin
 * @name: the metric's name ("accuracy")
 * @step: the task or step it belongs to, or -1
 * @value: the value, when @value_json is %NULL
 * @value_json: (nullable): a non-scalar value as JSON text (nested lists)
 * @seconds: when it was recorded, in seconds since the run started
 *
 * One measurement, as written to one line of `metrics.jsonl`.
 */
typedef struct {
  char *node;
  char *plugin;
  char *name;
  gint64 step;
  double value;
  char *value_json;
  double seconds;
} LetheMetric;

void lethe_metric_free(LetheMetric *metric);

/**
 * LetheRunStatus:
 * @LETHE_RUN_PENDING: not started
 * @LETHE_RUN_RUNNING: lethe_run_execute() is running
 * @LETHE_RUN_SUCCEEDED: every node finished
 * @LETHE_RUN_FAILED: a node failed (or the pipeline could not be set up)
 * @LETHE_RUN_CANCELLED: lethe_run_cancel() (Ctrl-C) stopped it
 */
typedef enum {
  LETHE_RUN_PENDING,
  LETHE_RUN_RUNNING,
  LETHE_RUN_SUCCEEDED,
  LETHE_RUN_FAILED,
  LETHE_RUN_CANCELLED,
} LetheRunStatus;

/** lethe_run_status_name: "pending", "running", "succeeded", "failed" or "cancelled". */
const char *lethe_run_status_name(LetheRunStatus status);

/**
 * LetheNodeProgress:
 * @node: node name
 * @plugin: its plugin
 * @node_type: its node type
 * @what: (nullable): what it last said it was doing
 * @fraction: 0..1, or negative when unknown
 * @elapsed: seconds since its first firing (0 before)
 * @eta: estimated seconds left, or negative when unknown
 * @firings: how many times it has fired
 * @started: it has fired at least once
 * @finished: it has flushed and sent end-of-stream
 *
 * A snapshot of one node, for progress displays.
 */
typedef struct {
  char *node;
  char *plugin;
  char *node_type;
  char *what;
  double fraction;
  double elapsed;
  double eta;
  guint64 firings;
  gboolean started;
  gboolean finished;
} LetheNodeProgress;

void lethe_node_progress_free(LetheNodeProgress *progress);

/**
 * LetheRun:
 *
 * One execution of a pipeline: builds the nodes (loading their plugins),
 * streams frames through them on a thread pool, and writes the run's
 * output folder:
 *
 * - `pipeline.lethe`: the pipeline with overrides applied, the seed
 *   actually used, absolute file names, and unset parameters' defaults as
 *   comments (lethe_pipeline_to_keyfile());
 * - `checkpoints/`: with lethe_run_set_checkpoints(), every model frame;
 * - `metrics.jsonl`: one JSON object per metric (`node`, `plugin`, `name`,
 *   `step`, `value`, `seconds`), rewritten atomically as metrics arrive and
 *   when each node finishes, so a crash never leaves a truncated file;
 * - `run.json`: lethe version, seed, threads, each plugin used (name,
 *   version, file), start and end time (ISO 8601), status, exit status and
 *   the error if one occurred (message, domain, code, node, plugin).
 *
 * Every file is written atomically (<lethe/fileutil.h>).  Opaque.
 */
typedef struct _LetheRun LetheRun;

/**
 * LetheRunProgressFunc:
 * Called from the thread of a node when it reports progress, starts or
 * finishes; rate-limited to about ten calls a second.  Must not block.
 */
typedef void (*LetheRunProgressFunc)(LetheRun *run, gpointer user_data);

/** lethe_run_new: (transfer full) a run of @pipeline (a reference is taken). */
LetheRun *lethe_run_new(LethePipeline *pipeline);
void lethe_run_free(LetheRun *run);

/** lethe_run_set_output_dir: where to write; default `runs/<pipeline>-<YYYYmmdd-HHMMSS>/`. */
void lethe_run_set_output_dir(LetheRun *run, const char *dir);
/** lethe_run_set_seed: overrides the pipeline's seed. */
void lethe_run_set_seed(LetheRun *run, guint64 seed);
/**
 * lethe_run_set_threads:
 * The thread budget shared by the scheduler's workers and OpenBLAS; 0 (the
 * default) means one per online processor.
 */
void lethe_run_set_threads(LetheRun *run, guint threads);
/** lethe_run_set_queue_size: frames an edge holds before its producer waits (default 8). */
void lethe_run_set_queue_size(LetheRun *run, guint frames);
/**
 * lethe_run_set_checkpoints:
 * When %TRUE, every frame a node pushes on an output of schema `model` is
 * saved, before any other node sees it, as
 * `checkpoints/NODE-vVERSION.safetensors` in the output folder (atomically:
 * a crash leaves the previous checkpoints whole).  VERSION is the frame's
 * "version" metadata; see docs/execution.md for the full naming rule.
 * A checkpoint that cannot be written fails the node that pushed it.
 */
void lethe_run_set_checkpoints(LetheRun *run, gboolean checkpoints);
/**
 * lethe_run_set_resume:
 * Continues the interrupted run whose folder was given to
 * lethe_run_set_output_dir(), with the same pipeline and seed (the caller
 * reads them from that folder's pipeline.lethe).  Implies checkpoints.
 * Every node runs again from the start, except that a node whose model
 * outputs are flagged %LETHE_PORT_RESUMABLE takes back the frames the
 * interrupted run checkpointed (lethe_node_get_resume_frame()) instead of
 * computing them.  lethe_run_execute() refuses, with
 * %LETHE_ERROR_UNSUPPORTED and without touching the folder, a pipeline in
 * which some node emits models from an output not flagged so.
 */
void lethe_run_set_resume(LetheRun *run, gboolean resume);
/** lethe_run_get_restored: how many frames a resumed run took back from checkpoints. */
guint lethe_run_get_restored(LetheRun *run);
/**
 * lethe_run_set_max_memory:
 * @bytes: what the frames queued on edges may take, 0 (the default) for no
 *   limit
 *
 * Each edge may hold the queue size in frames, a sticky input one, each
 * counted as large as the largest frame its producer has pushed so far.
 * When a larger frame appears, the queues' capacity is lowered so the sum
 * stays within @bytes (throttling producers); when not even one frame per
 * edge fits, or a queue would have to grow past its capacity because its
 * consumer waits on another input, the run fails with
 * %LETHE_ERROR_LIMIT.  run.json records the capacity in force.
 */
void lethe_run_set_max_memory(LetheRun *run, guint64 bytes);
/** lethe_run_set_quiet: no progress callbacks. */
void lethe_run_set_quiet(LetheRun *run, gboolean quiet);
void lethe_run_set_progress_func(LetheRun *run, LetheRunProgressFunc func, gpointer user_data);

/**
 * lethe_run_execute:
 * Runs the pipeline to its end.  Blocks; call lethe_run_cancel() from
 * another thread (or a signal handler's main loop) to stop it.  The output
 * folder is written whatever happens, including after a failure or a
 * cancellation (with what was finished).
 *
 * Returns: %TRUE when every node finished; %FALSE with @error set when the
 * pipeline is invalid (%LETHE_ERROR_INVALID, every problem in the message),
 * when a node failed (the node's own domain and code, the message naming
 * the node and its plugin), or when cancelled (%LETHE_ERROR_CANCELLED).
 */
gboolean lethe_run_execute(LetheRun *run, GError **error);
/** lethe_run_cancel: stops the run cleanly; thread-safe, may be called at any time. */
void lethe_run_cancel(LetheRun *run);
/** lethe_run_get_cancellable: (transfer none) cancelled when the run stops. */
GCancellable *lethe_run_get_cancellable(LetheRun *run);

LetheRunStatus lethe_run_get_status(LetheRun *run);
/** lethe_run_get_exit_status: 0 succeeded, 1 failed, 130 cancelled, 2 invalid pipeline. */
int lethe_run_get_exit_status(LetheRun *run);
/** lethe_run_get_output_dir: (nullable) the folder, once lethe_run_execute() chose it. */
const char *lethe_run_get_output_dir(LetheRun *run);
guint64 lethe_run_get_seed(LetheRun *run);
guint lethe_run_get_threads(LetheRun *run);
/** lethe_run_get_failed_node / _plugin: (nullable) who failed. */
const char *lethe_run_get_failed_node(LetheRun *run);
const char *lethe_run_get_failed_plugin(LetheRun *run);
/** lethe_run_get_metrics: (transfer full) (element-type LetheMetric) a copy, in arrival order. */
GPtrArray *lethe_run_get_metrics(LetheRun *run);
/** lethe_run_get_progress: (transfer full) (element-type LetheNodeProgress) one per node. */
GPtrArray *lethe_run_get_progress(LetheRun *run);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(LetheRun, lethe_run_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LetheMetric, lethe_metric_free)

G_END_DECLS

#endif /* LETHE_RUN_H */
