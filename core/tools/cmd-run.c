/* lethe run: run a pipeline file.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   lethe run FILE [node.param=value …] [--output DIR] [--seed N]
 *             [--threads N] [--queue-size N] [--max-memory SIZE] [--checkpoint] [--quiet]
 *             [--plugin-path DIR]
 *   lethe run --resume DIR [--threads N] [--queue-size N] [--quiet] [--plugin-path DIR]
 *
 * The run executes in a worker thread; the main thread runs a main loop
 * that redraws progress and handles SIGINT/SIGTERM: the first stops the run
 * cleanly (what finished is still written), a second exits at once.
 * Exit status: 0 success, 1 a node failed, 2 invalid file or usage,
 * 130 interrupted.
 */
#include "commands.h"
#include "progress-ui.h"

#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <lethe/lethe.h>
#include <lethe/run.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define REDRAW_INTERVAL_MS 100

typedef struct {
  LetheRun *run;
  GMainLoop *loop;
  ProgressUi *ui;
  gboolean quiet;
  guint interrupts;
  gboolean ok;
  GError *error;
} RunContext;

static gboolean
quit_loop(gpointer data)
{
  g_main_loop_quit(data);
  return G_SOURCE_REMOVE;
}

static gpointer
run_thread(gpointer data)
{
  RunContext *ctx = data;
  ctx->ok = lethe_run_execute(ctx->run, &ctx->error);
  /* Through the loop's own context, so a quit cannot come before the run. */
  g_idle_add(quit_loop, ctx->loop);
  return NULL;
}

static gboolean
on_interrupt(gpointer data)
{
  RunContext *ctx = data;
  if (++ctx->interrupts > 1) {
    /* Every file is replaced atomically, so what is on disk stays whole. */
    fputs("\nlethe: interrupted twice, exiting now\n", stderr);
    _exit(130);
  }
  if (ctx->ui)
    progress_ui_message(ctx->ui, "lethe: interrupted, stopping cleanly (Ctrl-C again to quit now)");
  else
    fputs("lethe: interrupted, stopping cleanly (Ctrl-C again to quit now)\n", stderr);
  lethe_run_cancel(ctx->run);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_redraw(gpointer data)
{
  RunContext *ctx = data;
  g_autoptr(GPtrArray) snapshot = lethe_run_get_progress(ctx->run);
  progress_ui_update(ctx->ui, snapshot);
  return G_SOURCE_CONTINUE;
}

/* SIZE: bytes, or a number with K, M, G or T (powers of 1024; "MiB" and
 * "MB" read the same). */
static gboolean
parse_size(const char *text, guint64 *out)
{
  char *end = NULL;
  double v = g_ascii_strtod(text, &end);
  guint64 unit = 1;
  if (end != text) {
    switch (g_ascii_toupper(*end)) {
    case 'K':
      unit = G_GUINT64_CONSTANT(1) << 10;
      break;
    case 'M':
      unit = G_GUINT64_CONSTANT(1) << 20;
      break;
    case 'G':
      unit = G_GUINT64_CONSTANT(1) << 30;
      break;
    case 'T':
      unit = G_GUINT64_CONSTANT(1) << 40;
      break;
    }
    if (unit > 1) {
      end++;
      if (g_ascii_strcasecmp(end, "iB") == 0 || g_ascii_strcasecmp(end, "B") == 0)
        end += strlen(end);
    }
  }
  if (end == text || *end != '\0' || !(v >= 1) || v * (double)unit > 9e18) {
    fprintf(stderr,
            "lethe run: --max-memory: '%s' is not a size; write bytes, or a number with K, M, "
            "G or T (powers of 1024), e.g. --max-memory 512M\n",
            text);
    return FALSE;
  }
  *out = (guint64)(v * (double)unit);
  return TRUE;
}

static gboolean
parse_count(const char *option, const char *text, guint64 max, guint64 *out)
{
  g_autoptr(GError) error = NULL;
  if (!g_ascii_string_to_unsigned(text, 10, 0, max, out, &error)) {
    fprintf(stderr, "lethe run: %s: %s\n", option, error->message);
    return FALSE;
  }
  return TRUE;
}

/* What --resume needs from DIR/run.json: a run of this lethe, with
 * checkpoints, that did not finish.  Prints why not and returns FALSE. */
static gboolean
check_resume_dir(const char *dir, char **seed_string)
{
  g_autofree char *record = g_build_filename(dir, "run.json", NULL);
  g_autofree char *pipeline = g_build_filename(dir, "pipeline.lethe", NULL);
  g_autoptr(JsonParser) parser = json_parser_new();
  g_autoptr(GError) error = NULL;
  if (!g_file_test(pipeline, G_FILE_TEST_IS_REGULAR) ||
      !json_parser_load_from_file(parser, record, &error) ||
      !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
    fprintf(stderr,
            "lethe run: --resume %s: not the output folder of a run (it needs pipeline.lethe "
            "and run.json%s%s)\n",
            dir, error ? ": " : "", error ? error->message : "");
    return FALSE;
  }
  JsonObject *o = json_node_get_object(json_parser_get_root(parser));
  const char *version = json_object_get_string_member_with_default(o, "lethe_version", "?");
  const char *status = json_object_get_string_member_with_default(o, "status", "?");
  if (!g_str_equal(version, lethe_get_version())) {
    fprintf(stderr,
            "lethe run: --resume %s: the run was made by lethe %s, this is lethe %s; resuming "
            "would mix the numbers of two versions, run it again instead\n",
            dir, version, lethe_get_version());
    return FALSE;
  }
  if (!json_object_get_boolean_member_with_default(o, "checkpoints", FALSE)) {
    fprintf(stderr,
            "lethe run: --resume %s: the run was started without --checkpoint, so there is "
            "nothing to resume from; run it again with --checkpoint\n",
            dir);
    return FALSE;
  }
  if (g_str_equal(status, "succeeded")) {
    fprintf(stderr,
            "lethe run: --resume %s: the run finished (status succeeded); nothing to "
            "resume\n",
            dir);
    return FALSE;
  }
  *seed_string = g_strdup(json_object_get_string_member_with_default(o, "seed_string", ""));
  return TRUE;
}

int
lethe_cmd_run(int argc, char **argv)
{
  g_auto(GStrv) plugin_paths = NULL;
  g_auto(GStrv) args = NULL;
  g_autofree char *output = NULL;
  g_autofree char *seed_text = NULL;
  g_autofree char *resume_dir = NULL;
  g_autofree char *max_memory_text = NULL;
  guint64 max_memory = 0;
  g_autofree char *resume_seed = NULL;
  g_autofree char *resume_file = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(LethePipeline) pipeline = NULL;
  gint threads = 0, queue_size = 0;
  gboolean quiet = FALSE, checkpoint = FALSE;
  unsigned n_problems = 0;
  guint64 seed = 0;
  GOptionEntry entries[] = {
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
       "Write the run's files into DIR (default: runs/<pipeline>-<timestamp>/)", "DIR"},
      {"seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, "Use seed N instead of the file's", "N"},
      {"threads", 'j', 0, G_OPTION_ARG_INT, &threads,
       "Thread budget shared by nodes and BLAS (default: all processors)", "N"},
      {"queue-size", 0, 0, G_OPTION_ARG_INT, &queue_size,
       "Frames an edge holds before its producer waits (default 8)", "N"},
      {"max-memory", 0, 0, G_OPTION_ARG_STRING, &max_memory_text,
       "Keep the frames queued on edges within SIZE (e.g. 512M): queues shrink to fit, or the "
       "run stops with an error",
       "SIZE"},
      {"checkpoint", 0, 0, G_OPTION_ARG_NONE, &checkpoint,
       "Save every model a node emits as DIR/checkpoints/NODE-vVERSION.safetensors", NULL},
      {"resume", 0, 0, G_OPTION_ARG_FILENAME, &resume_dir,
       "Continue the interrupted run in DIR from its last checkpoints (same pipeline, same seed)",
       "DIR"},
      {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress and no results table", NULL},
      {"plugin-path", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &plugin_paths,
       "Also look for plugins in DIR (searched first; may be repeated)", "DIR"},
      {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args, NULL,
       "FILE [node.param=value…]"},
      {NULL},
  };
  g_autoptr(GOptionContext) context = g_option_context_new("FILE [node.param=value…]");

  g_option_context_set_summary(context,
                               "Runs a pipeline file and writes metrics.jsonl, pipeline.lethe "
                               "and run.json into its output folder.\nExit status: 0 success, "
                               "1 a node failed, 2 invalid file, 130 interrupted.");
  g_option_context_add_main_entries(context, entries, NULL);
  if (!g_option_context_parse(context, &argc, &argv, &error)) {
    fprintf(stderr, "lethe run: %s\n", error->message);
    return 2;
  }
  if (resume_dir) {
    if ((args && args[0]) || output || seed_text) {
      fprintf(stderr, "lethe run: --resume takes the pipeline, seed and folder of the "
                      "interrupted run; give no FILE, overrides, --output or --seed\n");
      return 2;
    }
    if (!check_resume_dir(resume_dir, &resume_seed))
      return 2;
    resume_file = g_build_filename(resume_dir, "pipeline.lethe", NULL);
    g_strfreev(args);
    args = g_new0(char *, 2);
    args[0] = g_strdup(resume_file);
  }
  if (!args || !args[0]) {
    fprintf(stderr, "usage: lethe run FILE [node.param=value…] [--output DIR] [--seed N] "
                    "[--threads N] [--quiet] [--plugin-path DIR]\n");
    return 2;
  }
  if (seed_text && !parse_count("--seed", seed_text, G_MAXUINT64, &seed))
    return 2;
  if (max_memory_text && !parse_size(max_memory_text, &max_memory))
    return 2;
  if (threads < 0 || queue_size < 0) {
    fprintf(stderr, "lethe run: --threads and --queue-size take a positive number\n");
    return 2;
  }

  pipeline = lethe_tool_open_pipeline(args[0], args + 1, plugin_paths, &n_problems);
  if (!pipeline)
    return 2;
  if (n_problems > 0) {
    fprintf(stderr, "%s: invalid, %u problem%s; nothing was run\n", args[0], n_problems,
            n_problems == 1 ? "" : "s");
    return 2;
  }

  if (resume_dir) {
    g_autofree char *seed =
        g_strdup_printf("%" G_GUINT64_FORMAT, lethe_pipeline_get_seed(pipeline));
    if (!g_str_equal(seed, resume_seed)) {
      fprintf(stderr,
              "lethe run: --resume %s: pipeline.lethe says seed %s but run.json says %s; the "
              "folder was changed after the run\n",
              resume_dir, seed, resume_seed);
      return 2;
    }
  }

  g_autoptr(LetheRun) run = lethe_run_new(pipeline);
  if (output)
    lethe_run_set_output_dir(run, output);
  if (resume_dir) {
    lethe_run_set_output_dir(run, resume_dir);
    lethe_run_set_resume(run, TRUE);
  }
  if (seed_text)
    lethe_run_set_seed(run, seed);
  lethe_run_set_threads(run, (guint)threads);
  if (queue_size)
    lethe_run_set_queue_size(run, (guint)queue_size);
  lethe_run_set_quiet(run, quiet);
  lethe_run_set_max_memory(run, max_memory);
  if (checkpoint)
    lethe_run_set_checkpoints(run, TRUE);

  RunContext ctx = {.run = run, .quiet = quiet};
  ctx.loop = g_main_loop_new(NULL, FALSE);
  if (!quiet)
    ctx.ui = progress_ui_new(stderr);
  guint sigint = g_unix_signal_add(SIGINT, on_interrupt, &ctx);
  guint sigterm = g_unix_signal_add(SIGTERM, on_interrupt, &ctx);
  guint redraw = quiet ? 0 : g_timeout_add(REDRAW_INTERVAL_MS, on_redraw, &ctx);
  gint64 t0 = g_get_monotonic_time();

  GThread *worker = g_thread_new("lethe-run", run_thread, &ctx);
  g_main_loop_run(ctx.loop);
  g_thread_join(worker);

  if (redraw)
    g_source_remove(redraw);
  g_source_remove(sigint);
  g_source_remove(sigterm);
  if (ctx.ui) {
    g_autoptr(GPtrArray) snapshot = lethe_run_get_progress(run);
    progress_ui_update(ctx.ui, snapshot);
    progress_ui_clear(ctx.ui);
  }

  double seconds = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
  const char *dir = lethe_run_get_output_dir(run);
  int status = lethe_run_get_exit_status(run);
  if (ctx.ok) {
    if (resume_dir && !quiet)
      fprintf(stderr, "lethe: resumed %s: %u model frame(s) taken back from checkpoints\n",
              resume_dir, lethe_run_get_restored(run));
    if (!quiet) {
      g_autoptr(GPtrArray) metrics = lethe_run_get_metrics(run);
      progress_ui_print_results(stdout, metrics);
      fprintf(stderr, "lethe: finished in %.2fs; outputs in %s\n", seconds, dir);
    }
  } else if (lethe_run_get_status(run) == LETHE_RUN_CANCELLED) {
    fprintf(stderr, "lethe: interrupted after %.2fs; what finished is in %s\n", seconds,
            dir ? dir : "(no output folder)");
  } else {
    fprintf(stderr, "lethe: error: %s\n", ctx.error->message);
    if (dir)
      fprintf(stderr, "lethe: the outputs written so far are in %s\n", dir);
  }

  g_clear_error(&ctx.error);
  progress_ui_free(ctx.ui);
  g_main_loop_unref(ctx.loop);
  return status;
}
