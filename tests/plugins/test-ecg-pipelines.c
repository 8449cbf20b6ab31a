/* Lethe — pipelines/core-ecg-ludb.lethe, reduced: every encoder variant is
 * pretrained briefly on 20 LUDB records and probed on every label.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <math.h>

#include <json-glib/json-glib.h>

#include "lethe-test.h"

static void
test_core_ecg_pipeline_runs_reduced(void)
{
  const char *root = g_getenv("LETHE_SOURCE_ROOT"), *build = g_getenv("LETHE_BUILD_ROOT");
  const char *shared = g_getenv("LETHE_SHARED_DATA");
  g_autofree char *zip = shared ? g_build_filename(shared, "ecg", "ludb-1.0.1.zip", NULL) : NULL;
  if (zip == NULL || !g_file_test(zip, G_FILE_TEST_EXISTS)) {
    fprintf(stderr, "\n  SKIP: LETHE_SHARED_DATA/ecg/ludb-1.0.1.zip is missing\n");
    CU_FAIL("LUDB missing");
    return;
  }
  g_autofree char *out = g_dir_make_tmp("lethe-coreecg-XXXXXX", NULL);
  g_autofree char *lethe = g_build_filename(build, "core", "tools", "lethe", NULL);
  g_autofree char *file = g_build_filename(root, "pipelines", "core-ecg-ludb.lethe", NULL);
  GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
  const char *fixed[] = {"run", "-q", "-j", "2", "-o", out, file};
  g_ptr_array_add(argv, g_strdup(lethe));
  for (guint i = 0; i < G_N_ELEMENTS(fixed); i++)
    g_ptr_array_add(argv, g_strdup(fixed[i]));
  const char *sources[] = {"ludb", "lvh", "sinus", "axis"};
  for (guint i = 0; i < 4; i++) {
    g_ptr_array_add(argv, g_strdup_printf("%s.path=%s", sources[i], zip));
    g_ptr_array_add(argv, g_strdup_printf("%s.records=1?,2?", sources[i]));
  }
  const char *variants[] = {"full", "contrastive", "reconstruction", "naive"};
  for (guint i = 0; i < 4; i++) {
    g_ptr_array_add(argv, g_strdup_printf("pretrain-%s.epochs=2", variants[i]));
    g_ptr_array_add(argv, g_strdup_printf("pretrain-%s.batch=10", variants[i]));
  }
  g_ptr_array_add(argv, NULL);
  g_autofree char *so = NULL, *se = NULL;
  int status = -1;
  GError *err = NULL;
  CU_ASSERT_TRUE_FATAL(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                    &so, &se, &status, &err));
  g_ptr_array_unref(argv);
  if (status != 0)
    fprintf(stderr, "\n%s\n%s\n", so, se);
  CU_ASSERT_EQUAL_FATAL(status, 0);

  /* metrics.jsonl: a probe_auroc in [0, 1] from each of the 20 probes, and
   * finite losses from the four pretrainings. */
  g_autofree char *metrics = g_build_filename(out, "metrics.jsonl", NULL);
  g_autofree char *text = NULL;
  CU_ASSERT_TRUE_FATAL(g_file_get_contents(metrics, &text, NULL, NULL));
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  g_autoptr(GHashTable) probes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  guint losses = 0, bad = 0;
  for (guint i = 0; lines[i]; i++) {
    if (!*lines[i])
      continue;
    g_autoptr(JsonParser) p = json_parser_new();
    CU_ASSERT_TRUE_FATAL(json_parser_load_from_data(p, lines[i], -1, NULL));
    JsonObject *o = json_node_get_object(json_parser_get_root(p));
    const char *name = json_object_get_string_member(o, "name");
    double v = json_object_get_double_member(o, "value");
    if (g_str_equal(name, "probe_auroc")) {
      g_hash_table_add(probes, g_strdup(json_object_get_string_member(o, "node")));
      bad += !(v >= 0 && v <= 1);
    } else if (g_str_equal(name, "loss")) {
      losses++;
      bad += !isfinite(v);
    }
  }
  CU_ASSERT_EQUAL(g_hash_table_size(probes), 20);
  CU_ASSERT_EQUAL(losses, 8);
  CU_ASSERT_EQUAL(bad, 0);
  g_autofree char *cleanup = g_strdup_printf("rm -rf '%s'", out);
  CU_ASSERT_EQUAL(system(cleanup), 0);
}

LETHE_TEST_MAIN("ecg-pipelines", LETHE_TEST(test_core_ecg_pipeline_runs_reduced))
