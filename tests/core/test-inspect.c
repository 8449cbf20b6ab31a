/* `lethe inspect` and `lethe registry`, run as a user would run them.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <gio/gio.h>
#include <lethe/plugin.h>
#include <glib/gstdio.h>
#include <sys/wait.h>

typedef struct {
  char *root;
  char *plugins;
  char *marker; /* written by test-good whenever it is loaded */
  char **env;
} Fixture;

static void
copy_plugin(const char *name, const char *dir)
{
  g_autofree char *file = g_strconcat(name, ".", G_MODULE_SUFFIX, NULL);
  g_autofree char *from =
      g_build_filename(g_getenv("LETHE_BUILD_ROOT"), "tests", "core", "plugins", file, NULL);
  g_autofree char *to = g_build_filename(dir, file, NULL);
  g_autoptr(GFile) src = g_file_new_for_path(from);
  g_autoptr(GFile) dst = g_file_new_for_path(to);
  g_assert(g_file_copy(src, dst, G_FILE_COPY_ALL_METADATA, NULL, NULL, NULL, NULL));
  g_chmod(to, 0755);
}

static void
fixture_setup(Fixture *f)
{
  f->root = g_dir_make_tmp("lethe-inspect-XXXXXX", NULL);
  f->plugins = g_build_filename(f->root, "plugins", NULL);
  f->marker = g_build_filename(f->root, "loaded", NULL);
  g_mkdir(f->plugins, 0755);
  const char *names[] = {"test-good", "test-abi-major", "test-unresolved", "test-crash"};
  for (gsize i = 0; i < G_N_ELEMENTS(names); i++)
    copy_plugin(names[i], f->plugins);

  g_autofree char *cache = g_build_filename(f->root, "registry.bin", NULL);
  f->env = g_get_environ();
  f->env = g_environ_setenv(f->env, "LETHE_PLUGIN_SYSTEM_PATH", "", TRUE);
  f->env = g_environ_unsetenv(f->env, "LETHE_PLUGIN_PATH");
  f->env = g_environ_unsetenv(f->env, "LETHE_PLUGIN_ALLOWLIST");
  f->env = g_environ_setenv(f->env, "LETHE_REGISTRY", cache, TRUE);
  f->env = g_environ_setenv(f->env, "LETHE_TEST_LOAD_MARKER", f->marker, TRUE);
  f->env = g_environ_setenv(f->env, "LC_ALL", "C", TRUE);
}

static void
remove_tree(const char *path)
{
  GDir *d = g_dir_open(path, 0, NULL);
  if (d) {
    const char *name;
    while ((name = g_dir_read_name(d))) {
      g_autofree char *child = g_build_filename(path, name, NULL);
      remove_tree(child);
    }
    g_dir_close(d);
  }
  g_remove(path);
}

static void
fixture_teardown(Fixture *f)
{
  remove_tree(f->root);
  g_free(f->root);
  g_free(f->plugins);
  g_free(f->marker);
  g_strfreev(f->env);
}

/* Runs `lethe ARGS…`; returns its exit status. */
static int
run_lethe(Fixture *f, char **out, char **err, ...)
{
  g_autofree char *lethe =
      g_build_filename(g_getenv("LETHE_BUILD_ROOT"), "core", "tools", "lethe", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  va_list ap;
  const char *arg;
  int status = -1;
  g_autoptr(GError) error = NULL;

  g_ptr_array_add(argv, lethe);
  va_start(ap, err);
  while ((arg = va_arg(ap, const char *)))
    g_ptr_array_add(argv, (gpointer)arg);
  va_end(ap);
  g_ptr_array_add(argv, NULL);
  gboolean ok = g_spawn_sync(NULL, (char **)argv->pdata, f->env, G_SPAWN_DEFAULT, NULL, NULL, out,
                             err, &status, &error);
  LETHE_ASSERT_NO_ERROR(error);
  g_assert(ok);
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return -1;
}

static void
assert_contains(const char *haystack, const char *needle)
{
  if (strstr(haystack, needle) == NULL)
    fprintf(stderr, "\n  output lacks \"%s\":\n%s\n", needle, haystack);
  CU_ASSERT_PTR_NOT_NULL(strstr(haystack, needle));
}

static void
test_inspect_lists_then_describes_without_loading(void)
{
  Fixture f;
  fixture_setup(&f);

  /* Cold: the scanner loads test-good (in its own process). */
  g_autofree char *out = NULL, *err = NULL;
  CU_ASSERT_EQUAL(run_lethe(&f, &out, &err, "inspect", "--plugin-path", f.plugins, NULL), 0);
  assert_contains(out, "test-good:  test-sink    sink       Drops every frame\n");
  assert_contains(out, "test-good:  test-source  source     Emits test frames\n");
  assert_contains(out, "test-good:  test-kind    model kind");
  assert_contains(out, "Total: 1 plugin, 2 node types, 1 model kind\n");
  assert_contains(out, "3 plugin files refused: see `lethe inspect --failed`");
  CU_ASSERT_TRUE(g_file_test(f.marker, G_FILE_TEST_EXISTS));

  /* Warm, and with no scanner at all: nothing may be loaded. */
  g_remove(f.marker);
  f.env = g_environ_setenv(f.env, "LETHE_SCANNER", "/nonexistent/lethe-plugin-scanner", TRUE);
  g_autofree char *warm = NULL, *warm_err = NULL;
  CU_ASSERT_EQUAL(run_lethe(&f, &warm, &warm_err, "inspect", "--plugin-path", f.plugins, NULL), 0);
  CU_ASSERT_STRING_EQUAL(warm, out);
  CU_ASSERT_FALSE(g_file_test(f.marker, G_FILE_TEST_EXISTS));

  g_autofree char *one = NULL, *one_err = NULL;
  CU_ASSERT_EQUAL(
      run_lethe(&f, &one, &one_err, "inspect", "--plugin-path", f.plugins, "test-source", NULL), 0);
  CU_ASSERT_FALSE(g_file_test(f.marker, G_FILE_TEST_EXISTS));
  assert_contains(one, "Node type: test-source\n");
  assert_contains(one, "  Kind:          source\n");
  assert_contains(one, "  Name:          test-good\n");
  assert_contains(one, "  Version:       1.2.3\n");
  assert_contains(one, "  License:       LGPL-2.1-or-later\n");
  assert_contains(one, "test-good.so\n");
  assert_contains(one, "  output           schema dataset\n");
  assert_contains(one, "  enabled          bool. Default: true\n");
  assert_contains(one, "  count            int in [1, 1000]. Default: 10\n");
  assert_contains(one, "                   how many frames\n");
  assert_contains(one, "  rate             double in [0, 1]. Default: 0.5\n");
  assert_contains(one, "  mode             enum, one of: fast, slow. Default: fast\n");
  assert_contains(one, "  file             path. Required\n");
  assert_contains(one, "  classes          int-list, each in [0, 9]. Default: 1,2,3\n");
  assert_contains(one, "  weights          double-list. Default: (empty)\n");

  g_autofree char *sink = NULL, *sink_err = NULL;
  CU_ASSERT_EQUAL(
      run_lethe(&f, &sink, &sink_err, "inspect", "--plugin-path", f.plugins, "test-sink", NULL), 0);
  assert_contains(sink, "  model            schema model, sticky, optional\n");

  g_autofree char *plugin = NULL, *plugin_err = NULL;
  CU_ASSERT_EQUAL(
      run_lethe(&f, &plugin, &plugin_err, "inspect", "--plugin-path", f.plugins, "test-good", NULL),
      0);
  assert_contains(plugin, "Plugin: test-good\n");
  assert_contains(plugin, "Model kinds:\n  test-kind\n");
  CU_ASSERT_FALSE(g_file_test(f.marker, G_FILE_TEST_EXISTS));
  fixture_teardown(&f);
}

static void
test_inspect_unknown_name_suggests_and_exits_2(void)
{
  Fixture f;
  fixture_setup(&f);
  g_autofree char *out = NULL, *err = NULL;
  CU_ASSERT_EQUAL(
      run_lethe(&f, &out, &err, "inspect", "--plugin-path", f.plugins, "test-sorce", NULL), 2);
  assert_contains(err, "no node type or plugin named 'test-sorce'; did you mean 'test-source'?");
  CU_ASSERT_STRING_EQUAL(out, "");

  g_autofree char *out2 = NULL, *err2 = NULL;
  CU_ASSERT_EQUAL(
      run_lethe(&f, &out2, &err2, "inspect", "--plugin-path", f.plugins, "zebra-crossing", NULL),
      2);
  assert_contains(err2, "no node type or plugin named 'zebra-crossing'; `lethe inspect` lists");

  g_autofree char *out3 = NULL, *err3 = NULL;
  CU_ASSERT_EQUAL(
      run_lethe(&f, &out3, &err3, "inspect", "--plugin-path", "/nonexistent-plugins", NULL), 2);
  assert_contains(err3, "plugin folder '/nonexistent-plugins' does not exist");

  g_autofree char *out4 = NULL, *err4 = NULL;
  CU_ASSERT_EQUAL(run_lethe(&f, &out4, &err4, "inspect", "--no-such-option", NULL), 2);
  fixture_teardown(&f);
}

static void
test_inspect_failed_lists_each_reason(void)
{
  Fixture f;
  fixture_setup(&f);
  g_autofree char *out = NULL, *err = NULL;
  CU_ASSERT_EQUAL(
      run_lethe(&f, &out, &err, "inspect", "--plugin-path", f.plugins, "--failed", NULL), 0);
  assert_contains(out, "test-abi-major.so\n  plugin '");
  g_autofree char *major =
      g_strdup_printf("was built for plugin ABI 2.0 but this Lethe has ABI %d.%d", LETHE_ABI_MAJOR,
                      LETHE_ABI_MINOR);
  assert_contains(out, major);
  assert_contains(out, "test-unresolved.so\n  cannot open plugin file '");
  assert_contains(out, "undefined symbol: lethe_test_symbol_nobody_defines");
  assert_contains(out, "test-crash.so\n  plugin file '");
  assert_contains(out, "crashed while loading (signal 6, Aborted)");
  assert_contains(out, "\n3 plugin files refused\n");
  CU_ASSERT_PTR_NULL(strstr(out, "test-good.so"));
  fixture_teardown(&f);
}

static void
test_registry_update_pregenerates_a_folder_cache(void)
{
  Fixture f;
  fixture_setup(&f);
  g_autofree char *out = NULL, *err = NULL;
  CU_ASSERT_EQUAL(run_lethe(&f, &out, &err, "registry", "--update", f.plugins, NULL), 0);
  g_autofree char *file = g_build_filename(f.plugins, "registry.bin", NULL);
  CU_ASSERT_TRUE(g_file_test(file, G_FILE_TEST_IS_REGULAR));
  assert_contains(out, "registry.bin: 1 plugin, 3 refused\n");

  /* A fresh user cache and no scanner: the folder's cache answers all. */
  g_autofree char *other = g_build_filename(f.root, "other.bin", NULL);
  f.env = g_environ_setenv(f.env, "LETHE_REGISTRY", other, TRUE);
  f.env = g_environ_setenv(f.env, "LETHE_SCANNER", "/nonexistent/lethe-plugin-scanner", TRUE);
  g_remove(f.marker);
  g_autofree char *list = NULL, *list_err = NULL;
  CU_ASSERT_EQUAL(run_lethe(&f, &list, &list_err, "inspect", "--plugin-path", f.plugins, NULL), 0);
  assert_contains(list, "Total: 1 plugin, 2 node types, 1 model kind\n");
  CU_ASSERT_FALSE(g_file_test(f.marker, G_FILE_TEST_EXISTS));

  g_autofree char *paths = NULL, *paths_err = NULL;
  CU_ASSERT_EQUAL(run_lethe(&f, &paths, &paths_err, "registry", "--plugin-path", f.plugins, NULL),
                  0);
  assert_contains(paths, "Search path:\n");
  assert_contains(paths, f.plugins);
  assert_contains(paths, "(missing: scans in process)");
  fixture_teardown(&f);
}

LETHE_TEST_MAIN("inspect", LETHE_TEST(test_inspect_lists_then_describes_without_loading),
                LETHE_TEST(test_inspect_unknown_name_suggests_and_exits_2),
                LETHE_TEST(test_inspect_failed_lists_each_reason),
                LETHE_TEST(test_registry_update_pregenerates_a_folder_cache))
