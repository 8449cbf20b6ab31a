/* Tests: pipelines/fetril-split-fmnist.lethe and ssd-forget-class.lethe run
 * by the built `lethe run` on reduced data, with assertions on the numbers
 * they write to metrics.jsonl.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>

/* Every reduced run: the first 6000 training and 2000 test images. */
#define SMALL "train.limit=6000", "test.limit=2000"

static gboolean
have_fmnist(void)
{
  if (g_file_test(LETHE_FMNIST_DIR "/train-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS))
    return TRUE;
  CU_FAIL("Fashion-MNIST is missing: install Debian's dataset-fashion-mnist");
  return FALSE;
}

/* Runs `lethe run -q -j 2 -o DIR pipelines/@pipeline ARGS…`; returns the
 * exit status, the output folder in @dir and stderr in @err. */
static int
run_pipeline(const char *pipeline, const char *const *args, char **dir, char **err)
{
  const char *build = g_getenv("LETHE_BUILD_ROOT");
  g_autofree char *exe = g_build_filename(build, "core", "tools", "lethe", NULL);
  g_autofree char *file =
      g_build_filename(g_getenv("LETHE_SOURCE_ROOT"), "pipelines", pipeline, NULL);
  g_autoptr(GError) error = NULL;
  *dir = g_dir_make_tmp("lethe-methods-XXXXXX", &error);
  LETHE_ASSERT_NO_ERROR(error);
  g_autofree char *out_dir = g_build_filename(*dir, "run", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_ptr_array_add(argv, exe);
  g_ptr_array_add(argv, "run");
  g_ptr_array_add(argv, "-q");
  g_ptr_array_add(argv, "-j");
  g_ptr_array_add(argv, "2");
  g_ptr_array_add(argv, "-o");
  g_ptr_array_add(argv, out_dir);
  g_ptr_array_add(argv, file);
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add(argv, (gpointer)*a);
  g_ptr_array_add(argv, NULL);
  int status = -1;
  g_autofree char *out = NULL;
  CU_ASSERT_TRUE_FATAL(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                    &out, err, &status, &error));
  LETHE_ASSERT_NO_ERROR(error);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
remove_tree(const char *dir)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name(d))) {
    g_autofree char *path = g_build_filename(dir, name, NULL);
    if (g_file_test(path, G_FILE_TEST_IS_DIR))
      remove_tree(path);
    else
      g_unlink(path);
  }
  g_rmdir(dir);
}

/* The last value of metric @name of @node at @step (-1: the summary,
 * written without a step) in DIR/run/metrics.jsonl; NAN when absent. */
static double
metric(const char *dir, const char *node, const char *name, gint64 step)
{
  g_autofree char *path = g_build_filename(dir, "run", "metrics.jsonl", NULL);
  g_autofree char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL))
    return NAN;
  double value = NAN;
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++) {
    if (**l == '\0')
      continue;
    g_autoptr(JsonParser) parser = json_parser_new();
    if (!json_parser_load_from_data(parser, *l, -1, NULL))
      continue;
    JsonObject *o = json_node_get_object(json_parser_get_root(parser));
    JsonNode *s = json_object_get_member(o, "step");
    gint64 at = s && !JSON_NODE_HOLDS_NULL(s) ? json_node_get_int(s) : -1;
    if (g_strcmp0(json_object_get_string_member(o, "node"), node) == 0 &&
        g_strcmp0(json_object_get_string_member(o, "name"), name) == 0 && at == step &&
        JSON_NODE_HOLDS_VALUE(json_object_get_member(o, "value")))
      value = json_object_get_double_member(o, "value");
  }
  return value;
}

/* FeTrIL with a small extractor on 4 + 3×2: every baseline reports,
 * FeTrIL beats DeeSIL and fine-tuning, and the translation keeps centroids. */
static void
test_fetril_pipeline_reports_fetril_beside_its_baselines(void)
{
  if (!have_fmnist())
    return;
  g_autofree char *dir = NULL, *err = NULL;
  const char *args[] = {SMALL, "tasks.classes-per-task=4,2,2,2",
                        "learn.arch=flatten linear(784,128) relu linear(128,10)", "learn.epochs=2",
                        NULL};
  int rc = run_pipeline("fetril-split-fmnist.lethe", args, &dir, &err);
  if (rc != 0)
    fprintf(stderr, "\n%s\n", err);
  CU_ASSERT_EQUAL_FATAL(rc, 0);
  const double f = metric(dir, "fetril", "avg_inc_acc", -1);
  const double u = metric(dir, "upper-bound", "avg_inc_acc", -1);
  const double n = metric(dir, "ncm", "avg_inc_acc", -1);
  const double d = metric(dir, "deesil", "avg_inc_acc", -1);
  const double t = metric(dir, "finetune", "avg_inc_acc", -1);
  fprintf(stderr, "\n  avg_inc_acc fetril %.3f upper %.3f ncm %.3f deesil %.3f finetune %.3f\n", f,
          u, n, d, t);
  CU_ASSERT(f >= d + 0.05);
  CU_ASSERT(f >= u - 0.08);
  CU_ASSERT(f > t);
  CU_ASSERT(f > 0.5 && u <= 1.0 && n > 0.3);
  for (gint64 s = 1; s < 4; s++) {
    CU_ASSERT(metric(dir, "learn", "translation_mean_error", s) <= 1e-5);
    CU_ASSERT(metric(dir, "learn", "state_seconds", s) < 60);
  }
  remove_tree(dir);
}

/* SSD against the oracle, the pipeline's MLP trained briefly on a subset: the oracle forgets
 * completely, SSD at α = 1 forgets much of the class at little retained cost.  The evaluators'
 * steps are the model versions: 1 the original, 2 the unlearned one. */
static void
test_ssd_pipeline_reports_ssd_beside_the_oracle(void)
{
  if (!have_fmnist())
    return;
  g_autofree char *dir = NULL, *err = NULL;
  const char *args[] = {
      SMALL, "learn.epochs=2", "oracle.epochs=2", "forget.alpha=1", "forget.lambda=0.5", NULL};
  int rc = run_pipeline("ssd-forget-class.lethe", args, &dir, &err);
  if (rc != 0)
    fprintf(stderr, "\n%s\n", err);
  CU_ASSERT_EQUAL_FATAL(rc, 0);
  const double f0 = metric(dir, "original", "forget_acc", 1);
  const double f = metric(dir, "report", "forget_acc", 2);
  const double r0 = metric(dir, "original", "retain_acc", 1);
  const double r = metric(dir, "report", "retain_acc", 2);
  fprintf(stderr,
          "\n  forget %.3f -> %.3f (oracle %.3f), retain %.3f -> %.3f (oracle %.3f), "
          "unlearn %.2f s, retrain %.2f s\n",
          f0, f, metric(dir, "report", "oracle_forget_acc", 2), r0, r,
          metric(dir, "report", "oracle_retain_acc", 2),
          metric(dir, "report", "unlearn_seconds", 2), metric(dir, "report", "retrain_seconds", 2));
  CU_ASSERT(metric(dir, "report", "oracle_forget_acc", 2) == 0.0);
  CU_ASSERT(f < f0 / 2);
  CU_ASSERT(r >= r0 - 0.03);
  CU_ASSERT(metric(dir, "forget", "ssd_selected_fraction", -1) > 0);
  CU_ASSERT(!isnan(metric(dir, "report", "mia_entropy", 2)));
  remove_tree(dir);
}

LETHE_TEST_MAIN("method-pipelines",
                LETHE_TEST(test_fetril_pipeline_reports_fetril_beside_its_baselines),
                LETHE_TEST(test_ssd_pipeline_reports_ssd_beside_the_oracle))
