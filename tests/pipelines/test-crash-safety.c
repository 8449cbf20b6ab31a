/* Tests: crash safety of the built `lethe run`.  A small continual-learning
 * pipeline (a CSV of 10 classes, 10 tasks, sgd-train writing a 0.6 MB
 * checkpoint per task, cl-metrics) is killed with SIGKILL at random
 * moments, many times; after each kill every file in the output folder
 * must be complete and loadable, and the checkpoints must form an unbroken
 * run of versions 1..k (no earlier checkpoint lost to a later write).
 *
 * The kill times come from a seeded generator: LETHE_CRASH_SEED and
 * LETHE_CRASH_KILLS reproduce or extend a run of this test.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <lethe/lethe.h>
#include <lethe/pipeline.h>
#include <lethe/safetensors.h>
#include <signal.h>
#include <string.h>

#define N_TASKS       10
#define DEFAULT_KILLS 40
#define DEFAULT_SEED  20261128

static const char pipeline_text[] =
    "[pipeline]\n"
    "seed = 5\n"
    "[data]\n"
    "plugin = csv-source\n"
    "path = data.csv\n"
    "label-column = label\n"
    "[tasks]\n"
    "plugin = class-incremental\n"
    "input = data\n"
    "tasks = 10\n"
    "[learn]\n"
    "plugin = sgd-train\n"
    "input = tasks\n"
    "arch = linear(8,384) relu linear(384,384) relu linear(384,10)\n"
    "epochs = 2\n"
    "batch = 16\n"
    "[eval]\n"
    "plugin = cl-metrics\n"
    "model = learn.model\n"
    "test = data\n";

static char *
lethe_exe(void)
{
  return g_build_filename(g_getenv("LETHE_BUILD_ROOT"), "core", "tools", "lethe", NULL);
}

static void
rm_rf(const char *path)
{
  if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
      g_autofree char *child = g_build_filename(path, name, NULL);
      rm_rf(child);
    }
    g_rmdir(path);
  } else {
    g_unlink(path);
  }
}

/* A folder holding data.csv (10 classes of 20 rows, 8 features, drawn from
 * a fixed seed) and p.lethe. */
static char *
make_workdir(void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp("lethe-crash-XXXXXX", &error);
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(GString) csv = g_string_new("f0,f1,f2,f3,f4,f5,f6,f7,label\n");
  g_autoptr(GRand) rand = g_rand_new_with_seed(1);
  for (int c = 0; c < 10; c++) {
    for (int k = 0; k < 20; k++) {
      for (int i = 0; i < 8; i++)
        g_string_append_printf(csv, "%.4f,", 0.3 * c * (i % 3 - 1) + g_rand_double(rand) - 0.5);
      g_string_append_printf(csv, "%d\n", c);
    }
  }
  g_autofree char *csv_path = g_build_filename(dir, "data.csv", NULL);
  g_autofree char *pl_path = g_build_filename(dir, "p.lethe", NULL);
  CU_ASSERT_TRUE_FATAL(g_file_set_contents(csv_path, csv->str, (gssize)csv->len, NULL));
  CU_ASSERT_TRUE_FATAL(g_file_set_contents(pl_path, pipeline_text, -1, NULL));
  /* e.lethe: the same with an evaluator that scores every model frame
   * (cl-metrics expects one model per task, not an ensemble). */
  g_autofree char *head = g_strndup(pipeline_text, strstr(pipeline_text, "[eval]") - pipeline_text);
  g_autofree char *ens = g_strconcat(head,
                                     "[score]\nplugin = classify-metrics\nmodel = learn.model\n"
                                     "test = data\n",
                                     NULL);
  g_autofree char *ens_path = g_build_filename(dir, "e.lethe", NULL);
  CU_ASSERT_TRUE_FATAL(g_file_set_contents(ens_path, ens, -1, NULL));
  return dir;
}

/* lethe run -q -j 1 --checkpoint -o OUT WORKDIR/@pipeline [@overrides…]. */
static GSubprocess *
start_pipeline(const char *workdir, const char *pipeline, const char *out,
               const char *const *overrides)
{
  g_autofree char *exe = lethe_exe();
  g_autofree char *file = g_build_filename(workdir, pipeline, NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  const char *fixed[] = {exe, "run", "-q", "-j", "1", "--checkpoint", "-o", out, file};
  for (guint i = 0; i < G_N_ELEMENTS(fixed); i++)
    g_ptr_array_add(argv, (char *)fixed[i]);
  for (const char *const *o = overrides; o && *o; o++)
    g_ptr_array_add(argv, (char *)*o);
  g_ptr_array_add(argv, NULL);
  GError *error = NULL;
  GSubprocess *proc = g_subprocess_newv(
      (const char *const *)argv->pdata,
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
  LETHE_ASSERT_NO_ERROR(error);
  return proc;
}

static GSubprocess *
start_run(const char *workdir, const char *out)
{
  return start_pipeline(workdir, "p.lethe", out, NULL);
}

/* Runs `lethe run ARGS…` to its end; returns the exit status and stderr. */
static int
run_cli(char **err, const char *const *args)
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
                        G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  LETHE_ASSERT_NO_ERROR(error);
  g_subprocess_communicate_utf8(proc, NULL, NULL, NULL, err, &error);
  LETHE_ASSERT_NO_ERROR(error);
  return g_subprocess_get_exit_status(proc);
}

typedef struct {
  guint files;        /* complete files checked */
  guint checkpoints;  /* safetensors files loaded */
  guint metric_lines; /* lines of metrics.jsonl parsed */
  guint tmp_checkpoint;
  guint tmp_metrics;
  guint tmp_other;
  gint64 last_version; /* the newest checkpoint, 0: none */
} FolderCheck;

/* A temporary file of an interrupted atomic write: ".NAME.XXXXXX". */
static gboolean
is_temporary(const char *name, const char *of)
{
  return name[0] == '.' && g_str_has_prefix(name + 1, of) && name[1 + strlen(of)] == '.' &&
         strlen(name + 2 + strlen(of)) == 6;
}

static void
check_checkpoints(const char *dir, FolderCheck *c)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(d);
  gboolean seen[N_TASKS + 1] = {FALSE};
  const char *name;
  while ((name = g_dir_read_name(d))) {
    if (name[0] == '.') {
      c->tmp_checkpoint++;
      continue;
    }
    gint64 version = 0;
    guint index = 0;
    char tail[32] = "";
    CU_ASSERT_EQUAL_FATAL(sscanf(name, "learn-v%" G_GINT64_FORMAT "%31s", &version, tail), 2);
    /* The second and later models of one version (an ensemble): -INDEX. */
    if (tail[0] == '-')
      CU_ASSERT_EQUAL(sscanf(tail, "-%u%31s", &index, tail), 2);
    CU_ASSERT_STRING_EQUAL(tail, ".safetensors");
    CU_ASSERT_TRUE_FATAL(version >= 1 && version <= N_TASKS);
    g_autofree char *path = g_build_filename(dir, name, NULL);
    GError *error = NULL;
    g_autoptr(LetheFrame) model = lethe_safetensors_load(path, &error);
    if (error)
      fprintf(stderr, "\n%s\n", error->message);
    LETHE_ASSERT_NO_ERROR(error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(model);
    CU_ASSERT_EQUAL(lethe_frame_get_meta_int(model, "version", -1), version);
    CU_ASSERT_EQUAL(lethe_frame_get_meta_int(model, "member", 0), index);
    CU_ASSERT_EQUAL(lethe_frame_get_n_tensors(model), 6);
    seen[version] = TRUE;
    c->checkpoints++;
    c->files++;
    c->last_version = MAX(c->last_version, version);
  }
  /* No hole: the checkpoint before the newest always survives. */
  for (gint64 v = 1; v <= c->last_version; v++)
    CU_ASSERT_TRUE(seen[v]);
}

/* Parses every line; @max_step: the last task the evaluator reported on. */
static void
check_metrics(const char *path, FolderCheck *c, gint64 *max_step)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  CU_ASSERT_TRUE_FATAL(g_file_get_contents(path, &text, &len, NULL));
  /* Whole lines only: an empty file or one that ends in a newline. */
  CU_ASSERT_TRUE(len == 0 || text[len - 1] == '\n');
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (guint i = 0; lines[i] && lines[i][0]; i++) {
    g_autoptr(JsonParser) parser = json_parser_new();
    GError *error = NULL;
    CU_ASSERT_TRUE(json_parser_load_from_data(parser, lines[i], -1, &error));
    LETHE_ASSERT_NO_ERROR(error);
    JsonNode *root = json_parser_get_root(parser);
    CU_ASSERT_TRUE_FATAL(root && JSON_NODE_HOLDS_OBJECT(root));
    JsonObject *o = json_node_get_object(root);
    CU_ASSERT_TRUE(json_object_has_member(o, "node") && json_object_has_member(o, "name") &&
                   json_object_has_member(o, "value") && json_object_has_member(o, "seconds"));
    JsonNode *step = json_object_get_member(o, "step");
    /* The evaluator's metrics come from the models it received. */
    if (step && !JSON_NODE_HOLDS_NULL(step) &&
        g_strcmp0(json_object_get_string_member(o, "node"), "eval") == 0)
      *max_step = MAX(*max_step, json_node_get_int(step));
    c->metric_lines++;
  }
  c->files++;
}

static void
check_folder(const char *out, FolderCheck *c)
{
  g_autoptr(GDir) d = g_dir_open(out, 0, NULL);
  if (d == NULL)
    return; /* killed before it made the folder */
  gint64 max_step = -1;
  const char *name;
  while ((name = g_dir_read_name(d))) {
    g_autofree char *path = g_build_filename(out, name, NULL);
    GError *error = NULL;
    if (g_str_equal(name, "checkpoints")) {
      check_checkpoints(path, c);
    } else if (g_str_equal(name, "metrics.jsonl")) {
      check_metrics(path, c, &max_step);
    } else if (g_str_equal(name, "run.json")) {
      g_autoptr(JsonParser) parser = json_parser_new();
      CU_ASSERT_TRUE(json_parser_load_from_file(parser, path, &error));
      LETHE_ASSERT_NO_ERROR(error);
      JsonNode *root = json_parser_get_root(parser);
      CU_ASSERT_TRUE_FATAL(root && JSON_NODE_HOLDS_OBJECT(root));
      CU_ASSERT_PTR_NOT_NULL(json_object_get_string_member(json_node_get_object(root), "status"));
      c->files++;
    } else if (g_str_equal(name, "pipeline.lethe")) {
      g_autoptr(LethePipeline) p =
          lethe_pipeline_new_from_file(path, lethe_registry_get_default(), &error);
      LETHE_ASSERT_NO_ERROR(error);
      CU_ASSERT_PTR_NOT_NULL(p);
      c->files++;
    } else if (is_temporary(name, "metrics.jsonl")) {
      c->tmp_metrics++;
    } else if (is_temporary(name, "run.json") || is_temporary(name, "pipeline.lethe")) {
      c->tmp_other++;
    } else {
      fprintf(stderr, "\nunexpected file %s\n", path);
      CU_FAIL("a file the run should not have written");
    }
  }
  /* A checkpoint is saved before anyone downstream sees its model, so no
   * evaluation of task t is on disk without the checkpoint of version
   * t + 1. */
  if (max_step >= 0)
    CU_ASSERT_TRUE(max_step + 1 <= c->last_version);
}

static guint
env_uint(const char *name, guint fallback)
{
  const char *v = g_getenv(name);
  guint64 n;
  return v && g_ascii_string_to_unsigned(v, 10, 1, G_MAXUINT, &n, NULL) ? (guint)n : fallback;
}

static void
test_sigkill_leaves_whole_files_and_earlier_checkpoints(void)
{
  g_autofree char *work = make_workdir();
  g_autofree char *ref = g_build_filename(work, "ref", NULL);
  GError *error = NULL;

  /* An uninterrupted run: every checkpoint, when the first one appears
   * (start-up before it can take most of a short run) and how long a run
   * lasts. */
  g_autofree char *first = g_build_filename(ref, "checkpoints", "learn-v1.safetensors", NULL);
  gint64 t0 = g_get_monotonic_time();
  g_autoptr(GSubprocess) full = start_run(work, ref);
  for (int i = 0; i < 20000 && !g_file_test(first, G_FILE_TEST_EXISTS); i++)
    g_usleep(500);
  double first_seconds = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
  CU_ASSERT_TRUE_FATAL(g_subprocess_wait(full, NULL, &error));
  double run_seconds = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
  CU_ASSERT_EQUAL_FATAL(g_subprocess_get_exit_status(full), 0);
  FolderCheck whole = {0};
  check_folder(ref, &whole);
  CU_ASSERT_EQUAL(whole.last_version, N_TASKS);
  CU_ASSERT_EQUAL(whole.checkpoints, N_TASKS);
  CU_ASSERT_EQUAL(whole.tmp_checkpoint + whole.tmp_metrics + whole.tmp_other, 0);

  guint seed = env_uint("LETHE_CRASH_SEED", DEFAULT_SEED);
  guint kills = env_uint("LETHE_CRASH_KILLS", DEFAULT_KILLS);
  g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
  FolderCheck total = {0};
  guint after_first = 0, mid_write = 0;
  for (guint k = 0; k < kills; k++) {
    g_autofree char *name = g_strdup_printf("kill%u", k);
    g_autofree char *out = g_build_filename(work, name, NULL);
    /* Mostly while checkpoints and metrics are being written: from just
     * before the first checkpoint to the end of the run. */
    double at = g_rand_double_range(rand, 0.8 * first_seconds, MAX(run_seconds, first_seconds));
    gulong delay = (gulong)(at * G_USEC_PER_SEC);
    g_autoptr(GSubprocess) proc = start_run(work, out);
    g_usleep(delay);
    g_subprocess_force_exit(proc); /* SIGKILL */
    CU_ASSERT_TRUE(g_subprocess_wait(proc, NULL, &error));

    FolderCheck c = {0};
    check_folder(out, &c);
    after_first += c.last_version > 0;
    mid_write += c.tmp_checkpoint + c.tmp_metrics + c.tmp_other > 0;
    total.files += c.files;
    total.checkpoints += c.checkpoints;
    total.metric_lines += c.metric_lines;
    total.tmp_checkpoint += c.tmp_checkpoint;
    total.tmp_metrics += c.tmp_metrics;
    total.tmp_other += c.tmp_other;
    rm_rf(out);
  }
  printf("\ncrash safety (seed %u): %u SIGKILLs between %.2f s and %.2f s of a run (first "
         "checkpoint at %.2f s); %u files checked whole "
         "(%u checkpoints loaded, %u metrics lines parsed); %u kills came after the first "
         "checkpoint; %u kills landed inside a write (temporaries left: %u checkpoint, %u "
         "metrics, %u other)\n",
         seed, kills, 0.8 * first_seconds, run_seconds, first_seconds, total.files,
         total.checkpoints, total.metric_lines, after_first, mid_write, total.tmp_checkpoint,
         total.tmp_metrics, total.tmp_other);
  /* The kills must have hit the part of the run that writes checkpoints. */
  CU_ASSERT_TRUE(after_first >= kills / 4);
  CU_ASSERT_TRUE(total.checkpoints > 0);
  rm_rf(ref);
  rm_rf(work);
}

/* metrics.jsonl as "node/name/step" → the value's JSON text (doubles are
 * written with 17 digits, so equal text means equal bits).  Timings are
 * left out. */
static GHashTable *
read_metrics(const char *dir)
{
  g_autofree char *path = g_build_filename(dir, "metrics.jsonl", NULL);
  g_autofree char *text = NULL;
  GHashTable *values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  CU_ASSERT_TRUE_FATAL(g_file_get_contents(path, &text, NULL, NULL));
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (guint i = 0; lines[i] && lines[i][0]; i++) {
    g_autoptr(JsonParser) parser = json_parser_new();
    CU_ASSERT_TRUE_FATAL(json_parser_load_from_data(parser, lines[i], -1, NULL));
    JsonObject *o = json_node_get_object(json_parser_get_root(parser));
    const char *name = json_object_get_string_member(o, "name");
    if (strstr(name, "seconds"))
      continue;
    JsonNode *step = json_object_get_member(o, "step");
    /* The same metric of the same step again (one per model of an
     * ensemble) gets the next number: the order is deterministic too. */
    char *key = NULL;
    for (guint k = 0; key == NULL || g_hash_table_contains(values, key); k++) {
      g_free(key);
      key =
          g_strdup_printf("%s/%s/%" G_GINT64_FORMAT "#%u", json_object_get_string_member(o, "node"),
                          name, JSON_NODE_HOLDS_NULL(step) ? -1 : json_node_get_int(step), k);
    }
    g_hash_table_insert(values, key, json_to_string(json_object_get_member(o, "value"), FALSE));
  }
  return values;
}

static gboolean
same_tensors(const char *a_path, const char *b_path)
{
  GError *error = NULL;
  g_autoptr(LetheFrame) a = lethe_safetensors_load(a_path, &error);
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheFrame) b = lethe_safetensors_load(b_path, &error);
  LETHE_ASSERT_NO_ERROR(error);
  if (!a || !b || lethe_frame_get_n_tensors(a) != lethe_frame_get_n_tensors(b))
    return FALSE;
  for (guint i = 0; i < lethe_frame_get_n_tensors(a); i++) {
    const char *name = NULL;
    LetheTensor *ta = lethe_frame_get_nth(a, i, &name);
    LetheTensor *tb = lethe_frame_get_tensor(b, name);
    if (!tb || !lethe_tensor_same_shape(ta, tb) ||
        memcmp(lethe_tensor_data(ta), lethe_tensor_data(tb), lethe_tensor_n_bytes(ta)) != 0)
      return FALSE;
  }
  return TRUE;
}

/* Killed after task 3 (or later), resumed: every metric and the last
 * models equal the uninterrupted run's, bit for bit, and exactly the
 * checkpoints on disk were taken back instead of trained.  @members: the
 * models sgd-train trains per task (learn.seeds). */
static void
check_resume_matches_uninterrupted(const char *pipeline, const char *const *overrides,
                                   guint members)
{
  g_autofree char *work = make_workdir();
  g_autofree char *ref = g_build_filename(work, "ref", NULL);
  g_autofree char *cut = g_build_filename(work, "cut", NULL);
  GError *error = NULL;

  g_autoptr(GSubprocess) full = start_pipeline(work, pipeline, ref, overrides);
  CU_ASSERT_TRUE_FATAL(g_subprocess_wait(full, NULL, &error));
  CU_ASSERT_EQUAL_FATAL(g_subprocess_get_exit_status(full), 0);

  /* Interrupt it once task 3 is checkpointed. */
  g_autofree char *third = g_build_filename(cut, "checkpoints", "learn-v3.safetensors", NULL);
  g_autoptr(GSubprocess) proc = start_pipeline(work, pipeline, cut, overrides);
  for (int i = 0; i < 6000 && !g_file_test(third, G_FILE_TEST_EXISTS); i++)
    g_usleep(2000);
  g_subprocess_force_exit(proc);
  CU_ASSERT_TRUE(g_subprocess_wait(proc, NULL, &error));
  CU_ASSERT_FALSE_FATAL(g_subprocess_get_if_exited(proc)); /* killed, not finished */
  g_autofree char *last = g_build_filename(cut, "checkpoints", "learn-v10.safetensors", NULL);
  CU_ASSERT_FALSE_FATAL(g_file_test(last, G_FILE_TEST_EXISTS));
  FolderCheck before = {0};
  check_folder(cut, &before);
  CU_ASSERT_TRUE(before.last_version >= 3);
  CU_ASSERT_TRUE(before.checkpoints >= 2 * members + 1); /* v3 may lack its second model */

  g_autofree char *err = NULL;
  int status = run_cli(&err, (const char *[]){"--resume", cut, "-j", "1", NULL});
  if (status != 0)
    fprintf(stderr, "\n%s\n", err);
  CU_ASSERT_EQUAL_FATAL(status, 0);
  g_autofree char *said =
      g_strdup_printf("%u model frame(s) taken back from checkpoints", before.checkpoints);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, said));

  g_autoptr(GHashTable) want = read_metrics(ref);
  g_autoptr(GHashTable) got = read_metrics(cut);
  CU_ASSERT_EQUAL(g_hash_table_size(got), g_hash_table_size(want));
  CU_ASSERT_TRUE(g_hash_table_size(want) > 50);
  guint differ = 0;
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init(&it, want);
  while (g_hash_table_iter_next(&it, &key, &value)) {
    const char *other = g_hash_table_lookup(got, key);
    if (g_strcmp0(other, value) != 0) {
      fprintf(stderr, "\n%s: %s uninterrupted, %s resumed\n", (char *)key, (char *)value,
              other ? other : "(missing)");
      differ++;
    }
  }
  CU_ASSERT_EQUAL(differ, 0);
  for (guint m = 0; m < members; m++) {
    g_autofree char *name = m ? g_strdup_printf("learn-v%d-%u.safetensors", N_TASKS, m)
                              : g_strdup_printf("learn-v%d.safetensors", N_TASKS);
    g_autofree char *a = g_build_filename(ref, "checkpoints", name, NULL);
    g_autofree char *b = g_build_filename(cut, "checkpoints", name, NULL);
    CU_ASSERT_TRUE(same_tensors(a, b));
  }
  printf("\nresume (%u model(s) per task): killed after task %" G_GINT64_FORMAT
         " of %d; %u checkpoints taken back; %u metrics compared, %u differ; last model(s) "
         "bit-identical\n",
         members, before.last_version, N_TASKS, before.checkpoints, g_hash_table_size(want),
         differ);

  g_autoptr(JsonParser) parser = json_parser_new();
  g_autofree char *record = g_build_filename(cut, "run.json", NULL);
  CU_ASSERT_TRUE(json_parser_load_from_file(parser, record, NULL));
  JsonObject *o = json_node_get_object(json_parser_get_root(parser));
  CU_ASSERT_STRING_EQUAL(json_object_get_string_member(o, "status"), "succeeded");
  CU_ASSERT_TRUE(json_object_get_boolean_member(o, "resumed"));
  CU_ASSERT_EQUAL(json_object_get_int_member(o, "restored_checkpoints"), before.checkpoints);

  /* A finished run has nothing to resume. */
  g_clear_pointer(&err, g_free);
  CU_ASSERT_EQUAL(run_cli(&err, (const char *[]){"--resume", cut, NULL}), 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "the run finished (status succeeded); nothing to resume"));
  rm_rf(ref);
  rm_rf(cut);
  rm_rf(work);
}

static void
test_resume_reaches_the_numbers_of_an_uninterrupted_run(void)
{
  /* epochs = 6: time to kill it between two tasks. */
  check_resume_matches_uninterrupted("p.lethe", (const char *[]){"learn.epochs=6", NULL}, 1);
}

/* An ensemble pushes two models per task (-1 checkpoints); a kill between
 * the two leaves the second to be trained again from the first's state. */
static void
test_resume_takes_back_every_model_of_an_ensemble(void)
{
  check_resume_matches_uninterrupted("e.lethe",
                                     (const char *[]){"learn.epochs=3", "learn.seeds=2", NULL}, 2);
}

/* --resume refuses, without touching the folder, a run without
 * checkpoints, and a pipeline with a node that cannot take its models
 * back (FeTrIL emits models from outputs not flagged resumable). */
static void
test_resume_refuses_what_it_cannot_resume(void)
{
  g_autofree char *work = make_workdir();
  g_autofree char *plain = g_build_filename(work, "plain", NULL);
  g_autofree char *file = g_build_filename(work, "p.lethe", NULL);
  g_autofree char *err = NULL;

  CU_ASSERT_EQUAL(run_cli(&err, (const char *[]){"--resume", work, NULL}), 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "not the output folder of a run"));
  g_clear_pointer(&err, g_free);

  /* A run that failed (the data does not fit the model), without --checkpoint. */
  CU_ASSERT_EQUAL(
      run_cli(&err, (const char *[]){"-q", "-o", plain, file, "learn.arch=linear(9,10)", NULL}), 1);
  g_clear_pointer(&err, g_free);
  CU_ASSERT_EQUAL(run_cli(&err, (const char *[]){"--resume", plain, NULL}), 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "was started without --checkpoint, so there is nothing to "
                                     "resume from"));
  g_clear_pointer(&err, g_free);
  CU_ASSERT_EQUAL(run_cli(&err, (const char *[]){"--resume", plain, file, NULL}), 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "give no FILE, overrides, --output or --seed"));
  g_clear_pointer(&err, g_free);

  /* The same failure with FeTrIL as the learner, with checkpoints. */
  g_autofree char *fetril = g_build_filename(work, "fetril.lethe", NULL);
  g_autofree char *text = NULL;
  CU_ASSERT_TRUE_FATAL(g_file_get_contents(file, &text, NULL, NULL));
  char *at = strstr(text, "[learn]");
  CU_ASSERT_PTR_NOT_NULL_FATAL(at);
  g_autofree char *head = g_strndup(text, (gsize)(at - text));
  g_autofree char *changed =
      g_strconcat(head, "[learn]\nplugin = fetril\ninput = tasks\narch = linear(9,10)\n",
                  "[eval]\nplugin = cl-metrics\nmodel = learn.model\ntest = data\n", NULL);
  CU_ASSERT_TRUE_FATAL(g_file_set_contents(fetril, changed, -1, NULL));
  g_autofree char *fdir = g_build_filename(work, "fetril-run", NULL);
  CU_ASSERT_EQUAL(run_cli(&err, (const char *[]){"-q", "--checkpoint", "-o", fdir, fetril, NULL}),
                  1);
  g_clear_pointer(&err, g_free);
  g_autofree char *record = g_build_filename(fdir, "run.json", NULL);
  g_autofree char *record_before = NULL;
  CU_ASSERT_TRUE_FATAL(g_file_get_contents(record, &record_before, NULL, NULL));
  CU_ASSERT_EQUAL(run_cli(&err, (const char *[]){"--resume", fdir, NULL}), 2);
  g_autofree char *want = g_strdup_printf(
      "cannot resume %s: node 'learn' (fetril, output 'model') emits models but its node type "
      "cannot restore them from checkpoints, so it would train again from the start; run the "
      "pipeline again without --resume",
      fdir);
  if (!strstr(err, want))
    fprintf(stderr, "\n%s\n", err);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
  g_autofree char *record_after = NULL;
  CU_ASSERT_TRUE(g_file_get_contents(record, &record_after, NULL, NULL));
  CU_ASSERT_STRING_EQUAL(record_after, record_before);
  rm_rf(fdir);
  rm_rf(plain);
  rm_rf(work);
}

/* A checkpoint that cannot be written fails the node that pushed the
 * model, with the file and the reason; the checkpoints before it stay.
 * (A folder where the file should go: rename() cannot replace it, even
 * for root.) */
static void
test_checkpoint_that_cannot_be_written_fails_the_node(void)
{
  g_autofree char *work = make_workdir();
  g_autofree char *out = g_build_filename(work, "out", NULL);
  g_autofree char *blocker = g_build_filename(out, "checkpoints", "learn-v2.safetensors", NULL);
  CU_ASSERT_EQUAL_FATAL(g_mkdir_with_parents(blocker, 0700), 0);
  g_autofree char *file = g_build_filename(work, "p.lethe", NULL);
  g_autofree char *err = NULL;
  CU_ASSERT_EQUAL(run_cli(&err, (const char *[]){"-q", "--checkpoint", "-o", out, file, NULL}), 1);
  const char *want = "node 'learn' (plugin sgd) failed: cannot write the checkpoint of model "
                     "version 2: ";
  if (!strstr(err, want) || !strstr(err, blocker))
    fprintf(stderr, "\n%s\n", err);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
  CU_ASSERT_PTR_NOT_NULL(strstr(err, blocker));
  g_autofree char *first = g_build_filename(out, "checkpoints", "learn-v1.safetensors", NULL);
  GError *error = NULL;
  g_autoptr(LetheFrame) model = lethe_safetensors_load(first, &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(model, "version", -1), 1);
  rm_rf(work);
}

LETHE_TEST_MAIN("crash-safety", LETHE_TEST(test_sigkill_leaves_whole_files_and_earlier_checkpoints),
                LETHE_TEST(test_resume_reaches_the_numbers_of_an_uninterrupted_run),
                LETHE_TEST(test_resume_takes_back_every_model_of_an_ensemble),
                LETHE_TEST(test_resume_refuses_what_it_cannot_resume),
                LETHE_TEST(test_checkpoint_that_cannot_be_written_fails_the_node))
