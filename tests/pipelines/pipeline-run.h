/* Lethe — helpers of the end-to-end pipeline tests: run the built
 * `lethe run` on a pipeline of pipelines/ and read what it wrote.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_PIPELINE_RUN_H
#define LETHE_PIPELINE_RUN_H

#include "lethe-test.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <sys/wait.h>

/* Every reduced run: the first 6000 training and 2000 test images. */
#define SMALL "train.limit=6000", "test.limit=2000"

G_GNUC_UNUSED static gboolean
have_fmnist(void)
{
  if (g_file_test(LETHE_FMNIST_DIR "/train-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS))
    return TRUE;
  CU_FAIL("Fashion-MNIST is missing: install Debian's dataset-fashion-mnist");
  return FALSE;
}

/* Runs `lethe run -q -j 2 -o DIR pipelines/@pipeline ARGS…`; returns the
 * exit status, the output folder in @dir and stderr in @err. */
G_GNUC_UNUSED static int
run_pipeline(const char *pipeline, const char *const *args, char **dir, char **err)
{
  const char *build = g_getenv("LETHE_BUILD_ROOT");
  g_autofree char *exe = g_build_filename(build, "core", "tools", "lethe", NULL);
  g_autofree char *file =
      g_build_filename(g_getenv("LETHE_SOURCE_ROOT"), "pipelines", pipeline, NULL);
  g_autoptr(GError) error = NULL;
  *dir = g_dir_make_tmp("lethe-pipeline-XXXXXX", &error);
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

G_GNUC_UNUSED static void
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
G_GNUC_UNUSED static double
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

/* The number of records in DIR/run/metrics.jsonl that repeat an earlier
 * (node, name, step): every metric must be written once. */
G_GNUC_UNUSED static guint
duplicate_metrics(const char *dir)
{
  g_autofree char *path = g_build_filename(dir, "run", "metrics.jsonl", NULL);
  g_autofree char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL))
    return G_MAXUINT;
  g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  guint dups = 0;
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++) {
    if (**l == '\0')
      continue;
    g_autoptr(JsonParser) parser = json_parser_new();
    if (!json_parser_load_from_data(parser, *l, -1, NULL))
      return G_MAXUINT;
    JsonObject *o = json_node_get_object(json_parser_get_root(parser));
    JsonNode *s = json_object_get_member(o, "step");
    gint64 at = s && !JSON_NODE_HOLDS_NULL(s) ? json_node_get_int(s) : -1;
    char *key = g_strdup_printf("%s/%s/%" G_GINT64_FORMAT, json_object_get_string_member(o, "node"),
                                json_object_get_string_member(o, "name"), at);
    if (!g_hash_table_add(seen, key)) {
      fprintf(stderr, "\n  metric written twice: %s\n", key);
      dups++;
    }
  }
  return dups;
}

#endif /* LETHE_PIPELINE_RUN_H */
