/* Tests of runs: the LetheRun API and the `lethe run` command, on
 * pipelines of coreelements nodes (pipelines/synthetic-chain.lethe and
 * small ones written here).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <lethe/lethe.h>
#include <lethe/run.h>
#include <signal.h>

static char *
tmp_dir(void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp("lethe-run-XXXXXX", &error);
  LETHE_ASSERT_NO_ERROR(error);
  return dir;
}

static void
rm_rf(const char *dir)
{
  g_autoptr(GFile) f = g_file_new_for_path(dir);
  g_autoptr(GFileEnumerator) e =
      g_file_enumerate_children(f, G_FILE_ATTRIBUTE_STANDARD_NAME, 0, NULL, NULL);
  GFileInfo *info;
  while (e && (info = g_file_enumerator_next_file(e, NULL, NULL))) {
    g_autofree char *p = g_build_filename(dir, g_file_info_get_name(info), NULL);
    g_remove(p);
    g_object_unref(info);
  }
  g_rmdir(dir);
}

static LethePipeline *
pipeline_from(const char *text)
{
  GError *error = NULL;
  LethePipeline *p =
      lethe_pipeline_new_from_data(text, -1, "test.lethe", lethe_registry_get_default(), &error);
  LETHE_ASSERT_NO_ERROR(error);
  return p;
}

static JsonNode *
read_json(const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename(dir, name, NULL);
  g_autoptr(JsonParser) parser = json_parser_new();
  GError *error = NULL;
  json_parser_load_from_file(parser, path, &error);
  LETHE_ASSERT_NO_ERROR(error);
  return json_node_copy(json_parser_get_root(parser));
}

/* Every line of metrics.jsonl is a JSON object with the five fields. */
static guint
check_metrics_file(const char *dir, const char *expect_node)
{
  g_autofree char *path = g_build_filename(dir, "metrics.jsonl", NULL);
  g_autofree char *text = NULL;
  CU_ASSERT_TRUE_FATAL(g_file_get_contents(path, &text, NULL, NULL));
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  guint n = 0;
  for (char **l = lines; *l; l++) {
    if (**l == '\0')
      continue;
    g_autoptr(JsonParser) parser = json_parser_new();
    CU_ASSERT_TRUE_FATAL(json_parser_load_from_data(parser, *l, -1, NULL));
    JsonObject *o = json_node_get_object(json_parser_get_root(parser));
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(o, "node"), expect_node);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(o, "plugin"), "coreelements");
    CU_ASSERT_TRUE(json_object_has_member(o, "name"));
    CU_ASSERT_TRUE(json_object_has_member(o, "step"));
    CU_ASSERT_TRUE(json_object_has_member(o, "value"));
    n++;
  }
  /* Written whole: ends with a newline. */
  CU_ASSERT_TRUE(text[0] == '\0' || g_str_has_suffix(text, "\n"));
  return n;
}

static const char *chain_text = "[pipeline]\n"
                                "seed = 3\n"
                                "[source]\n"
                                "plugin = synthetic-source\n"
                                "frames = 20\n"
                                "shape = 8\n"
                                "[pass]\n"
                                "plugin = identity\n"
                                "input = source\n"
                                "[stats]\n"
                                "plugin = tensor-stats\n"
                                "input = pass\n";

static void
test_run_writes_valid_outputs(void)
{
  g_autofree char *dir = tmp_dir();
  g_autoptr(LethePipeline) p = pipeline_from(chain_text);
  g_autoptr(LetheRun) run = lethe_run_new(p);
  lethe_run_set_output_dir(run, dir);
  lethe_run_set_threads(run, 2);
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_run_execute(run, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(lethe_run_get_status(run), LETHE_RUN_SUCCEEDED);
  CU_ASSERT_EQUAL(lethe_run_get_exit_status(run), 0);

  /* tensor-stats' metrics output is unconnected: recorded automatically. */
  g_autoptr(GPtrArray) metrics = lethe_run_get_metrics(run);
  CU_ASSERT_EQUAL(metrics->len, 60);
  CU_ASSERT_EQUAL(check_metrics_file(dir, "stats"), 60);
  LetheMetric *first = metrics->pdata[0];
  CU_ASSERT_STRING_EQUAL(first->name, "mean");
  CU_ASSERT_EQUAL(first->step, 0);
  CU_ASSERT_TRUE(first->value > 0 && first->value < 1);

  g_autoptr(JsonNode) root = read_json(dir, "run.json");
  JsonObject *o = json_node_get_object(root);
  CU_ASSERT_STRING_EQUAL(json_object_get_string_member(o, "status"), "succeeded");
  CU_ASSERT_EQUAL(json_object_get_int_member(o, "exit_status"), 0);
  CU_ASSERT_EQUAL(json_object_get_int_member(o, "seed"), 3);
  CU_ASSERT_EQUAL(json_object_get_int_member(o, "threads"), 2);
  CU_ASSERT_STRING_EQUAL(json_object_get_string_member(o, "lethe_version"), lethe_get_version());
  CU_ASSERT_TRUE(json_object_get_null_member(o, "error"));
  g_autoptr(GDateTime) start =
      g_date_time_new_from_iso8601(json_object_get_string_member(o, "start"), NULL);
  g_autoptr(GDateTime) end =
      g_date_time_new_from_iso8601(json_object_get_string_member(o, "end"), NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(start);
  CU_ASSERT_PTR_NOT_NULL_FATAL(end);
  CU_ASSERT_TRUE(g_date_time_compare(start, end) <= 0);
  JsonArray *plugins = json_object_get_array_member(o, "plugins");
  CU_ASSERT_EQUAL_FATAL(json_array_get_length(plugins), 1);
  JsonObject *pl = json_array_get_object_element(plugins, 0);
  CU_ASSERT_STRING_EQUAL(json_object_get_string_member(pl, "name"), "coreelements");
  CU_ASSERT_STRING_EQUAL(json_object_get_string_member(pl, "version"), lethe_get_version());
  JsonArray *nodes = json_object_get_array_member(o, "nodes");
  CU_ASSERT_EQUAL(json_array_get_length(nodes), 3);
  JsonObject *src = json_array_get_object_element(nodes, 0);
  CU_ASSERT_STRING_EQUAL(json_object_get_string_member(src, "name"), "source");
  CU_ASSERT_EQUAL(json_object_get_int_member(src, "firings"), 20);

  /* pipeline.lethe is a valid pipeline with the defaults written out. */
  g_autofree char *written = g_build_filename(dir, "pipeline.lethe", NULL);
  g_autoptr(LethePipeline) again =
      lethe_pipeline_new_from_file(written, lethe_registry_get_default(), &error);
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(GPtrArray) problems = lethe_pipeline_validate(again);
  CU_ASSERT_EQUAL(problems->len, 0);
  CU_ASSERT_EQUAL(lethe_pipeline_get_seed(again), 3);
  int src_node = lethe_pipeline_find_node(again, "source");
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_param(again, src_node, "dtype"), "f32");
  rm_rf(dir);
}

static void
test_metrics_sink_records_explicitly(void)
{
  g_autofree char *dir = tmp_dir();
  g_autofree char *text = g_strconcat(chain_text,
                                      "[record]\nplugin = metrics-sink\n"
                                      "input = stats.metrics\n",
                                      NULL);
  g_autoptr(LethePipeline) p = pipeline_from(text);
  g_autoptr(LetheRun) run = lethe_run_new(p);
  lethe_run_set_output_dir(run, dir);
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_run_execute(run, &error));
  LETHE_ASSERT_NO_ERROR(error);
  /* Recorded once, by the sink, now that the output is connected. */
  CU_ASSERT_EQUAL(check_metrics_file(dir, "record"), 60);
  rm_rf(dir);
}

static void
test_failing_node_is_named_and_outputs_kept(void)
{
  g_autofree char *dir = tmp_dir();
  g_autoptr(LethePipeline) p = pipeline_from("[source]\n"
                                             "plugin = synthetic-source\n"
                                             "frames = 50\n"
                                             "[boom]\n"
                                             "plugin = fail\n"
                                             "input = source\n"
                                             "at-frame = 5\n"
                                             "[stats]\n"
                                             "plugin = tensor-stats\n"
                                             "input = boom\n");
  g_autoptr(LetheRun) run = lethe_run_new(p);
  lethe_run_set_output_dir(run, dir);
  GError *error = NULL;
  CU_ASSERT_FALSE(lethe_run_execute(run, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_FAILED,
                     "node 'boom' (plugin coreelements) failed: failing on purpose (frame 5)");
  CU_ASSERT_EQUAL(lethe_run_get_status(run), LETHE_RUN_FAILED);
  CU_ASSERT_EQUAL(lethe_run_get_exit_status(run), 1);
  CU_ASSERT_STRING_EQUAL(lethe_run_get_failed_node(run), "boom");
  CU_ASSERT_STRING_EQUAL(lethe_run_get_failed_plugin(run), "coreelements");

  /* The four frames before the failure were summarised and written. */
  CU_ASSERT_EQUAL(check_metrics_file(dir, "stats"), 12);
  g_autoptr(JsonNode) root = read_json(dir, "run.json");
  JsonObject *o = json_node_get_object(root);
  CU_ASSERT_STRING_EQUAL(json_object_get_string_member(o, "status"), "failed");
  CU_ASSERT_EQUAL(json_object_get_int_member(o, "exit_status"), 1);
  JsonObject *err = json_object_get_object_member(o, "error");
  CU_ASSERT_PTR_NOT_NULL_FATAL(err);
  CU_ASSERT_STRING_EQUAL(json_object_get_string_member(err, "node"), "boom");
  CU_ASSERT_STRING_EQUAL(json_object_get_string_member(err, "plugin"), "coreelements");
  CU_ASSERT_STRING_EQUAL(json_object_get_string_member(err, "domain"), "lethe-error-quark");
  CU_ASSERT_EQUAL(json_object_get_int_member(err, "code"), LETHE_ERROR_FAILED);
  rm_rf(dir);
}

static gpointer
cancel_soon(gpointer run)
{
  g_usleep(100000);
  lethe_run_cancel(run);
  return NULL;
}

static void
test_cancelled_run_writes_what_finished(void)
{
  g_autofree char *dir = tmp_dir();
  g_autoptr(LethePipeline) p = pipeline_from("[source]\n"
                                             "plugin = synthetic-source\n"
                                             "frames = 1000000000\n"
                                             "shape = 4\n"
                                             "[stats]\n"
                                             "plugin = tensor-stats\n"
                                             "input = source\n");
  g_autoptr(LetheRun) run = lethe_run_new(p);
  lethe_run_set_output_dir(run, dir);
  GThread *t = g_thread_new("cancel", cancel_soon, run);
  GError *error = NULL;
  CU_ASSERT_FALSE(lethe_run_execute(run, &error));
  g_thread_join(t);
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_CANCELLED, "cancelled");
  CU_ASSERT_EQUAL(lethe_run_get_status(run), LETHE_RUN_CANCELLED);
  CU_ASSERT_EQUAL(lethe_run_get_exit_status(run), 130);
  CU_ASSERT_PTR_NULL(lethe_run_get_failed_node(run));
  g_autoptr(GPtrArray) metrics = lethe_run_get_metrics(run);
  CU_ASSERT_TRUE(metrics->len > 0);
  CU_ASSERT_EQUAL(check_metrics_file(dir, "stats"), metrics->len);
  g_autoptr(JsonNode) root = read_json(dir, "run.json");
  JsonObject *o = json_node_get_object(root);
  CU_ASSERT_STRING_EQUAL(json_object_get_string_member(o, "status"), "cancelled");
  CU_ASSERT_EQUAL(json_object_get_int_member(o, "exit_status"), 130);
  rm_rf(dir);
}

static void
test_invalid_pipeline_is_refused(void)
{
  g_autoptr(LethePipeline) p = pipeline_from("[stats]\nplugin = tensor-stats\n");
  g_autoptr(LetheRun) run = lethe_run_new(p);
  GError *error = NULL;
  CU_ASSERT_FALSE(lethe_run_execute(run, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "the pipeline is invalid");
  CU_ASSERT_EQUAL(lethe_run_get_exit_status(run), 2);
  CU_ASSERT_PTR_NULL(lethe_run_get_output_dir(run));
}

static GPtrArray *
values_with_seed(guint64 seed)
{
  g_autofree char *dir = tmp_dir();
  g_autoptr(LethePipeline) p = pipeline_from(chain_text);
  g_autoptr(LetheRun) run = lethe_run_new(p);
  lethe_run_set_output_dir(run, dir);
  lethe_run_set_seed(run, seed);
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_run_execute(run, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(lethe_run_get_seed(run), seed);
  rm_rf(dir);
  return lethe_run_get_metrics(run);
}

static void
test_same_seed_same_metrics(void)
{
  g_autoptr(GPtrArray) a = values_with_seed(11);
  g_autoptr(GPtrArray) b = values_with_seed(11);
  g_autoptr(GPtrArray) c = values_with_seed(12);
  CU_ASSERT_EQUAL_FATAL(a->len, 60);
  CU_ASSERT_EQUAL_FATAL(b->len, 60);
  CU_ASSERT_EQUAL_FATAL(c->len, 60);
  gboolean all_same_c = TRUE;
  for (guint i = 0; i < 60; i++) {
    LetheMetric *ma = a->pdata[i], *mb = b->pdata[i], *mc = c->pdata[i];
    CU_ASSERT_STRING_EQUAL(ma->name, mb->name);
    CU_ASSERT_EQUAL(ma->step, mb->step);
    CU_ASSERT_EQUAL(ma->value, mb->value); /* bit for bit */
    all_same_c = all_same_c && ma->value == mc->value;
  }
  CU_ASSERT_FALSE(all_same_c);
}

/* ---- the `lethe run` command ------------------------------------------ */

static char *
lethe_exe(void)
{
  const char *root = g_getenv("LETHE_BUILD_ROOT");
  CU_ASSERT_PTR_NOT_NULL_FATAL(root);
  return g_build_filename(root, "core", "tools", "lethe", NULL);
}

static char *
source_file(const char *rel)
{
  const char *root = g_getenv("LETHE_SOURCE_ROOT");
  CU_ASSERT_PTR_NOT_NULL_FATAL(root);
  return g_build_filename(root, rel, NULL);
}

/* Runs `lethe run ARGS…`; returns its exit status, stderr in @err. */
static int
lethe_run_cli(char **err, const char *const *args)
{
  g_autofree char *exe = lethe_exe();
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_ptr_array_add(argv, exe);
  g_ptr_array_add(argv, "run");
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add(argv, (char *)*a);
  g_ptr_array_add(argv, NULL);
  GError *error = NULL;
  g_autoptr(GSubprocess) proc =
      g_subprocess_newv((const char *const *)argv->pdata,
                        G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  LETHE_ASSERT_NO_ERROR(error);
  g_autofree char *out = NULL;
  g_subprocess_communicate_utf8(proc, NULL, NULL, &out, err, &error);
  LETHE_ASSERT_NO_ERROR(error);
  return g_subprocess_get_exit_status(proc);
}

static void
test_cli_runs_synthetic_chain(void)
{
  g_autofree char *dir = tmp_dir();
  g_autofree char *file = source_file("pipelines/synthetic-chain.lethe");
  g_autofree char *err = NULL;
  int status = lethe_run_cli(&err, (const char *[]){file, "--output", dir, NULL});
  if (status != 0)
    fprintf(stderr, "\n%s\n", err);
  CU_ASSERT_EQUAL(status, 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "finished"));
  CU_ASSERT_EQUAL(check_metrics_file(dir, "stats"), 600);
  g_autoptr(JsonNode) root = read_json(dir, "run.json");
  CU_ASSERT_STRING_EQUAL(json_object_get_string_member(json_node_get_object(root), "status"),
                         "succeeded");
  rm_rf(dir);
}

static void
test_cli_seed_and_overrides_are_recorded(void)
{
  g_autofree char *dir = tmp_dir();
  g_autofree char *file = source_file("pipelines/synthetic-chain.lethe");
  g_autofree char *err = NULL;
  int status =
      lethe_run_cli(&err, (const char *[]){file, "source.frames=10", "drop.expect-frames=10",
                                           "--seed", "7", "--output", dir, "--quiet", NULL});
  CU_ASSERT_EQUAL(status, 0);
  CU_ASSERT_STRING_EQUAL(err, "");
  CU_ASSERT_EQUAL(check_metrics_file(dir, "stats"), 30);
  g_autofree char *written = g_build_filename(dir, "pipeline.lethe", NULL);
  g_autofree char *text = NULL;
  CU_ASSERT_TRUE_FATAL(g_file_get_contents(written, &text, NULL, NULL));
  CU_ASSERT_PTR_NOT_NULL(strstr(text, "seed=7"));
  CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nframes=10\n"));
  rm_rf(dir);
}

static void
test_cli_failing_node_exits_1(void)
{
  g_autofree char *dir = tmp_dir();
  g_autofree char *file = g_build_filename(dir, "boom.lethe", NULL);
  const char *text = "[source]\nplugin = synthetic-source\nframes = 50\n"
                     "[boom]\nplugin = fail\ninput = source\nat-frame = 3\nmessage = bad luck\n"
                     "[sink]\nplugin = null-sink\ninput = boom\n";
  CU_ASSERT_TRUE_FATAL(g_file_set_contents(file, text, -1, NULL));
  g_autofree char *out = g_build_filename(dir, "out", NULL);
  g_autofree char *err = NULL;
  int status = lethe_run_cli(&err, (const char *[]){file, "--output", out, NULL});
  CU_ASSERT_EQUAL(status, 1);
  CU_ASSERT_PTR_NOT_NULL(
      strstr(err, "node 'boom' (plugin coreelements) failed: bad luck (frame 3)"));
  g_autoptr(JsonNode) root = read_json(out, "run.json");
  CU_ASSERT_STRING_EQUAL(json_object_get_string_member(json_node_get_object(root), "status"),
                         "failed");
  rm_rf(out);
  rm_rf(dir);
}

static void
test_cli_invalid_file_exits_2(void)
{
  g_autofree char *file = source_file("pipelines/synthetic-chain.lethe");
  g_autofree char *err = NULL;
  int status = lethe_run_cli(&err, (const char *[]){file, "source.framez=3", NULL});
  CU_ASSERT_EQUAL(status, 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "framez"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "nothing was run"));
  g_free(err);
  err = NULL;
  status = lethe_run_cli(&err, (const char *[]){"/nonexistent/x.lethe", NULL});
  CU_ASSERT_EQUAL(status, 2);
}

static void
test_cli_sigint_exits_130_and_writes(void)
{
  g_autofree char *dir = tmp_dir();
  g_autofree char *file = source_file("pipelines/synthetic-chain.lethe");
  g_autofree char *out = g_build_filename(dir, "out", NULL);
  g_autofree char *exe = lethe_exe();
  GError *error = NULL;
  g_autoptr(GSubprocess) proc = g_subprocess_new(
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error, exe, "run",
      file, "source.frames=1000000000", "drop.expect-frames=-1", "--output", out, NULL);
  LETHE_ASSERT_NO_ERROR(error);
  /* Wait until the run has started writing, then interrupt it. */
  g_autofree char *record = g_build_filename(out, "run.json", NULL);
  for (int i = 0; i < 200 && !g_file_test(record, G_FILE_TEST_EXISTS); i++)
    g_usleep(10000);
  g_usleep(200000);
  g_subprocess_send_signal(proc, SIGINT);
  CU_ASSERT_TRUE(g_subprocess_wait(proc, NULL, &error));
  CU_ASSERT_TRUE(g_subprocess_get_if_exited(proc));
  CU_ASSERT_EQUAL(g_subprocess_get_exit_status(proc), 130);
  g_autoptr(JsonNode) root = read_json(out, "run.json");
  JsonObject *o = json_node_get_object(root);
  CU_ASSERT_STRING_EQUAL(json_object_get_string_member(o, "status"), "cancelled");
  CU_ASSERT_EQUAL(json_object_get_int_member(o, "exit_status"), 130);
  CU_ASSERT_TRUE(check_metrics_file(out, "stats") > 0);
  rm_rf(out);
  rm_rf(dir);
}

static const char *big_chain_text = "[pipeline]\n"
                                    "seed = 3\n"
                                    "[source]\n"
                                    "plugin = synthetic-source\n"
                                    "frames = 20\n"
                                    "shape = 1024\n"
                                    "[pass]\n"
                                    "plugin = identity\n"
                                    "input = source\n"
                                    "[stats]\n"
                                    "plugin = tensor-stats\n"
                                    "input = pass\n";

/* Frames of 4 KiB on two edges: 20000 bytes leave room for 2 per queue. */
static void
test_max_memory_throttles_the_queues(void)
{
  g_autofree char *dir = tmp_dir();
  g_autoptr(LethePipeline) p = pipeline_from(big_chain_text);
  g_autoptr(LetheRun) run = lethe_run_new(p);
  lethe_run_set_output_dir(run, dir);
  lethe_run_set_threads(run, 2);
  lethe_run_set_max_memory(run, 20000);
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_run_execute(run, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(check_metrics_file(dir, "stats"), 60);
  g_autoptr(JsonNode) root = read_json(dir, "run.json");
  JsonObject *o = json_node_get_object(root);
  CU_ASSERT_EQUAL(json_object_get_int_member(o, "max_memory"), 20000);
  CU_ASSERT_EQUAL(json_object_get_int_member(o, "queue_capacity"), 2);
  rm_rf(dir);
}

/* 6000 bytes cannot hold one 4 KiB frame on each of the two edges. */
static void
test_max_memory_refuses_what_cannot_fit(void)
{
  g_autofree char *dir = tmp_dir();
  g_autoptr(LethePipeline) p = pipeline_from(big_chain_text);
  g_autoptr(LetheRun) run = lethe_run_new(p);
  lethe_run_set_output_dir(run, dir);
  lethe_run_set_max_memory(run, 6000);
  GError *error = NULL;
  CU_ASSERT_FALSE(lethe_run_execute(run, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_LIMIT,
                     "node 'pass' (plugin coreelements) failed: the edge queues need more memory "
                     "than --max-memory 5.9 KiB allows: with one frame on each edge they may hold "
                     "8.0 KiB, most of it frames of 4.0 KiB from 'source' output 'output' on 1 "
                     "edge(s); raise --max-memory to at least 8.0 KiB");
  g_clear_error(&error);
  CU_ASSERT_EQUAL(lethe_run_get_exit_status(run), 1);
  rm_rf(dir);

  /* The same from the command line, and sizes it cannot read. */
  g_autofree char *file = g_build_filename(dir, "big.lethe", NULL);
  CU_ASSERT_EQUAL(g_mkdir_with_parents(dir, 0700), 0);
  CU_ASSERT_TRUE_FATAL(g_file_set_contents(file, big_chain_text, -1, NULL));
  g_autofree char *out = g_build_filename(dir, "out", NULL);
  g_autofree char *err = NULL;
  CU_ASSERT_EQUAL(
      lethe_run_cli(&err, (const char *[]){file, "-q", "--max-memory", "6000", "-o", out, NULL}),
      1);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "raise --max-memory to at least 8.0 KiB"));
  g_clear_pointer(&err, g_free);
  CU_ASSERT_EQUAL(
      lethe_run_cli(&err, (const char *[]){file, "-q", "--max-memory", "1M", "-o", out, NULL}), 0);
  g_clear_pointer(&err, g_free);
  CU_ASSERT_EQUAL(lethe_run_cli(&err, (const char *[]){file, "--max-memory", "12 parsecs", NULL}),
                  2);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "--max-memory: '12 parsecs' is not a size; write bytes, or "
                                     "a number with K, M, G or T"));
  g_remove(file);
  rm_rf(out);
  rm_rf(dir);
}

/* The first Ctrl-C waits for the nodes to stop; a node stuck in a long
 * call (identity sleeping 20 s) would keep the run alive, so a second
 * Ctrl-C exits at once, leaving whole files behind. */
static void
test_cli_second_sigint_exits_at_once(void)
{
  g_autofree char *dir = tmp_dir();
  g_autofree char *file = g_build_filename(dir, "stuck.lethe", NULL);
  const char *text = "[source]\nplugin = synthetic-source\nframes = 5\n"
                     "[stuck]\nplugin = identity\ninput = source\nsleep-time = 20000000\n"
                     "[sink]\nplugin = null-sink\ninput = stuck\n";
  CU_ASSERT_TRUE_FATAL(g_file_set_contents(file, text, -1, NULL));
  g_autofree char *out = g_build_filename(dir, "out", NULL);
  g_autofree char *err_path = g_build_filename(dir, "stderr.txt", NULL);
  g_autofree char *exe = lethe_exe();
  GError *error = NULL;
  g_autoptr(GSubprocessLauncher) launcher =
      g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_stderr_file_path(launcher, err_path);
  g_autoptr(GSubprocess) proc =
      g_subprocess_launcher_spawn(launcher, &error, exe, "run", "-q", file, "--output", out, NULL);
  LETHE_ASSERT_NO_ERROR(error);
  g_autofree char *record = g_build_filename(out, "run.json", NULL);
  for (int i = 0; i < 500 && !g_file_test(record, G_FILE_TEST_EXISTS); i++)
    g_usleep(10000);
  g_usleep(100000);
  g_subprocess_send_signal(proc, SIGINT);
  /* Wait until the first one has been seen: two signals sent together
   * may be delivered as one. */
  g_autofree char *err = NULL;
  for (int i = 0; i < 500; i++) {
    g_clear_pointer(&err, g_free);
    g_file_get_contents(err_path, &err, NULL, NULL);
    if (err && strstr(err, "stopping cleanly"))
      break;
    g_usleep(10000);
  }
  CU_ASSERT_PTR_NOT_NULL_FATAL(strstr(err, "stopping cleanly"));
  gint64 t0 = g_get_monotonic_time();
  g_subprocess_send_signal(proc, SIGINT);
  CU_ASSERT_TRUE(g_subprocess_wait(proc, NULL, &error));
  double seconds = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
  CU_ASSERT_TRUE(g_subprocess_get_if_exited(proc));
  CU_ASSERT_EQUAL(g_subprocess_get_exit_status(proc), 130);
  /* The node sleeps 20 s: only an exit at once ends before that. */
  CU_ASSERT_TRUE(seconds < 10);
  g_clear_pointer(&err, g_free);
  CU_ASSERT_TRUE(g_file_get_contents(err_path, &err, NULL, NULL));
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "interrupted twice, exiting now"));
  /* What is on disk is whole: run.json as written when the run started. */
  g_autoptr(JsonNode) root = read_json(out, "run.json");
  CU_ASSERT_STRING_EQUAL(json_object_get_string_member(json_node_get_object(root), "status"),
                         "running");
  g_remove(err_path);
  g_remove(file);
  rm_rf(out);
  rm_rf(dir);
}

LETHE_TEST_MAIN("run", LETHE_TEST(test_run_writes_valid_outputs),
                LETHE_TEST(test_metrics_sink_records_explicitly),
                LETHE_TEST(test_failing_node_is_named_and_outputs_kept),
                LETHE_TEST(test_cancelled_run_writes_what_finished),
                LETHE_TEST(test_invalid_pipeline_is_refused),
                LETHE_TEST(test_same_seed_same_metrics), LETHE_TEST(test_cli_runs_synthetic_chain),
                LETHE_TEST(test_cli_seed_and_overrides_are_recorded),
                LETHE_TEST(test_cli_failing_node_exits_1),
                LETHE_TEST(test_cli_invalid_file_exits_2),
                LETHE_TEST(test_cli_sigint_exits_130_and_writes),
                LETHE_TEST(test_cli_second_sigint_exits_at_once),
                LETHE_TEST(test_max_memory_throttles_the_queues),
                LETHE_TEST(test_max_memory_refuses_what_cannot_fit))
