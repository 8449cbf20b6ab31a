/* Tests: pipelines/noprop-fmnist.lethe run by the built `lethe run` on
 * reduced data (6000 training and 2000 test images, T = 4, 2 epochs), with
 * assertions on what it writes to metrics.jsonl, and a bad block order.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>

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
  *dir = g_dir_make_tmp("lethe-noprop-XXXXXX", &error);
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

#define ASSERT_CONTAINS(haystack, needle)                                                          \
  do {                                                                                             \
    if (!strstr((haystack), (needle)))                                                             \
      fprintf(stderr, "\n  \"%s\" lacks \"%s\"\n", (haystack), (needle));                          \
    CU_ASSERT_PTR_NOT_NULL(strstr((haystack), (needle)));                                          \
  } while (0)

static void
test_noprop_pipeline_runs_beside_backprop(void)
{
  if (!have_fmnist())
    return;
  g_autofree char *dir = NULL, *err = NULL;
  const char *args[] = {
      SMALL, "noprop.T=4", "noprop.epochs=2", "backprop.epochs=2", "noprop.eval-seeds=2", NULL};
  int status = run_pipeline("noprop-fmnist.lethe", args, &dir, &err);
  if (status != 0)
    fprintf(stderr, "\n%s\n", err);
  CU_ASSERT_EQUAL_FATAL(status, 0);
  double np = metric(dir, "noprop", "test_acc", -1);
  double np_last = metric(dir, "noprop", "test_acc_epoch", 2);
  double np_eval = metric(dir, "noprop-eval", "avg_acc", -1);
  double bp = metric(dir, "backprop-eval", "avg_acc", -1);
  fprintf(stderr,
          "\n  noprop test_acc %.4f (seed of the frame %.4f, via cl-metrics %.4f), "
          "backprop %.4f\n",
          np, np_last, np_eval, bp);
  CU_ASSERT_TRUE(np > 0.5); /* chance is 0.1 */
  CU_ASSERT_TRUE(bp > 0.7);
  /* cl-metrics runs the model frame through the `noprop` model kind with
   * the frame's inference seed: the node's own number for that seed. */
  CU_ASSERT_DOUBLE_EQUAL(np_eval, np_last, 1e-12);
  CU_ASSERT_TRUE(metric(dir, "noprop", "test_acc_std", -1) < 0.02);
  remove_tree(dir);
}

static void
test_noprop_pipeline_refuses_a_bad_block_order(void)
{
  if (!have_fmnist())
    return;
  g_autofree char *dir = NULL, *err = NULL;
  const char *args[] = {SMALL, "noprop.T=3", "noprop.block-order=3,3,1", NULL};
  CU_ASSERT_NOT_EQUAL(run_pipeline("noprop-fmnist.lethe", args, &dir, &err), 0);
  ASSERT_CONTAINS(err, "noprop");
  ASSERT_CONTAINS(err, "'block-order' is '3,3,1'; use forward, reverse, random, or a list of every "
                       "block 1…3 once");
  remove_tree(dir);
}

LETHE_TEST_MAIN("noprop-pipeline", LETHE_TEST(test_noprop_pipeline_runs_beside_backprop),
                LETHE_TEST(test_noprop_pipeline_refuses_a_bad_block_order))
