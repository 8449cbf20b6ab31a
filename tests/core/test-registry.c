/* Registry: scanning, the cache, refusals with their reasons, trust rules.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"
#include "registry-private.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <lethe/lethe.h>
#include <sys/stat.h>

typedef struct {
  char *root;    /* temporary folder, removed at the end */
  char *plugins; /* root/plugins */
  char *cache;   /* root/cache/registry.bin */
} Fixture;

static char *
built_plugin(const char *name)
{
  const char *build = g_getenv("LETHE_BUILD_ROOT");
  g_assert(build != NULL);
  g_autofree char *file = g_strconcat(name, ".", G_MODULE_SUFFIX, NULL);
  return g_build_filename(build, "tests", "core", "plugins", file, NULL);
}

static void
copy_file(const char *from, const char *to)
{
  g_autoptr(GFile) src = g_file_new_for_path(from);
  g_autoptr(GFile) dst = g_file_new_for_path(to);
  g_autoptr(GError) error = NULL;
  gboolean ok = g_file_copy(src, dst, G_FILE_COPY_OVERWRITE | G_FILE_COPY_ALL_METADATA, NULL, NULL,
                            NULL, &error);
  if (!ok)
    fprintf(stderr, "\n  copy %s: %s\n", from, error->message);
  g_assert(ok);
}

/* Puts the named test plugins into @dir. */
static void
add_plugins(const char *dir, const char *const *names)
{
  g_mkdir_with_parents(dir, 0755);
  g_chmod(dir, 0755);
  for (const char *const *n = names; *n; n++) {
    g_autofree char *from = built_plugin(*n);
    g_autofree char *base = g_path_get_basename(from);
    g_autofree char *to = g_build_filename(dir, base, NULL);
    copy_file(from, to);
    g_chmod(to, 0755);
  }
}

static void
fixture_setup(Fixture *f, const char *const *names)
{
  f->root = g_dir_make_tmp("lethe-registry-XXXXXX", NULL);
  g_assert(f->root != NULL);
  f->plugins = g_build_filename(f->root, "plugins", NULL);
  f->cache = g_build_filename(f->root, "cache", "registry.bin", NULL);
  add_plugins(f->plugins, names);
  /* Only the fixture's folder, and a cache of its own. */
  g_setenv("LETHE_PLUGIN_SYSTEM_PATH", "", TRUE);
  g_unsetenv("LETHE_PLUGIN_PATH");
  g_unsetenv("LETHE_PLUGIN_ALLOWLIST");
  g_setenv("LETHE_REGISTRY", f->cache, TRUE);
}

static void
remove_tree(const char *path)
{
  GDir *d = g_dir_open(path, 0, NULL);
  if (d) {
    const char *name;
    g_chmod(path, 0755);
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
  g_free(f->cache);
}

static LetheRegistry *
registry_for(const char *dir)
{
  const char *paths[] = {dir, NULL};
  g_autoptr(GError) error = NULL;
  LetheRegistry *r = lethe_registry_new(paths, &error);
  LETHE_ASSERT_NO_ERROR(error);
  return r;
}

/* The failure recorded for the file whose name ends with @suffix. */
static const char *
failure_of(LetheRegistry *r, const char *suffix)
{
  GPtrArray *failed = lethe_registry_get_failed(r);
  for (guint i = 0; i < failed->len; i++) {
    const LethePluginRecord *rec = g_ptr_array_index(failed, i);
    if (g_str_has_suffix(rec->path, suffix))
      return rec->failure;
  }
  return NULL;
}

static void
assert_contains(const char *haystack, const char *needle)
{
  if (haystack == NULL || strstr(haystack, needle) == NULL)
    fprintf(stderr, "\n  \"%s\" lacks \"%s\"\n", haystack ? haystack : "(null)", needle);
  CU_ASSERT_PTR_NOT_NULL(haystack && strstr(haystack, needle));
}

static const char *const good_only[] = {"test-good", NULL};
static const char *const every_plugin[] = {"test-good",
                                           "test-no-descriptor",
                                           "test-abi-major",
                                           "test-abi-minor",
                                           "test-unresolved",
                                           "test-crash",
                                           NULL};

static void
test_registry_lists_metadata_without_loading(void)
{
  Fixture f;
  fixture_setup(&f, good_only);
  g_autoptr(LetheRegistry) r = registry_for(f.plugins);

  GPtrArray *plugins = lethe_registry_get_plugins(r);
  CU_ASSERT_EQUAL_FATAL(plugins->len, 1);
  const LethePluginRecord *rec = g_ptr_array_index(plugins, 0);
  CU_ASSERT_STRING_EQUAL(rec->name, "test-good");
  CU_ASSERT_STRING_EQUAL(rec->version, "1.2.3");
  CU_ASSERT_STRING_EQUAL(rec->license, "LGPL-2.1-or-later");
  CU_ASSERT_EQUAL(rec->abi_major, LETHE_ABI_MAJOR);
  CU_ASSERT_PTR_NULL(rec->failure);
  CU_ASSERT_EQUAL(rec->node_types->len, 2);
  CU_ASSERT_EQUAL_FATAL(rec->model_kinds->len, 1);
  CU_ASSERT_STRING_EQUAL(g_ptr_array_index(rec->model_kinds, 0), "test-kind");

  const LethePluginRecord *owner = NULL;
  const LetheNodeType *t = lethe_registry_find_node_type(r, "test-source", &owner);
  CU_ASSERT_PTR_NOT_NULL_FATAL(t);
  CU_ASSERT_PTR_EQUAL(owner, rec);
  CU_ASSERT_PTR_NULL(t->vtable);
  CU_ASSERT_EQUAL(t->kind, LETHE_NODE_SOURCE);
  CU_ASSERT_STRING_EQUAL(t->description, "Emits test frames");
  CU_ASSERT_STRING_EQUAL(t->doc, "A source used by the registry tests.");
  CU_ASSERT_STRING_EQUAL(t->outputs[0].name, "output");
  CU_ASSERT_STRING_EQUAL(t->outputs[0].schema, "dataset");
  CU_ASSERT_PTR_NULL(t->outputs[1].name);

  /* Every parameter type survives the trip through the scanner. */
  static const LetheParamType types[] = {
      LETHE_PARAM_BOOL, LETHE_PARAM_INT,  LETHE_PARAM_DOUBLE,   LETHE_PARAM_STRING,
      LETHE_PARAM_ENUM, LETHE_PARAM_PATH, LETHE_PARAM_INT_LIST, LETHE_PARAM_DOUBLE_LIST};
  guint n = 0;
  for (const LetheParamSpec *p = t->params; p->name; p++, n++)
    CU_ASSERT_EQUAL(p->type, types[n]);
  CU_ASSERT_EQUAL(n, 8);
  CU_ASSERT_STRING_EQUAL(t->params[1].name, "count");
  CU_ASSERT_STRING_EQUAL(t->params[1].default_value, "10");
  CU_ASSERT_DOUBLE_EQUAL(t->params[1].min, 1.0, 0.0);
  CU_ASSERT_DOUBLE_EQUAL(t->params[1].max, 1000.0, 0.0);
  CU_ASSERT_STRING_EQUAL(t->params[4].choices[0], "fast");
  CU_ASSERT_STRING_EQUAL(t->params[4].choices[1], "slow");
  CU_ASSERT_PTR_NULL(t->params[4].choices[2]);
  CU_ASSERT_PTR_NULL(t->params[5].default_value);
  CU_ASSERT_PTR_NULL(t->params[0].choices);

  const LetheNodeType *sink = lethe_registry_find_node_type(r, "test-sink", NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(sink);
  CU_ASSERT_EQUAL(sink->inputs[1].flags, LETHE_PORT_STICKY | LETHE_PORT_OPTIONAL);
  CU_ASSERT_PTR_NULL(sink->doc);

  g_auto(GStrv) names = lethe_registry_get_node_type_names(r);
  CU_ASSERT_EQUAL_FATAL(g_strv_length(names), 2);
  CU_ASSERT_STRING_EQUAL(names[0], "test-sink");
  CU_ASSERT_STRING_EQUAL(names[1], "test-source");

  /* Scanned in the child process: nothing opened here. */
  CU_ASSERT_EQUAL(lethe_registry_get_n_scanned(r), 1);
  CU_ASSERT_EQUAL(lethe_registry_get_n_loaded(r), 0);
  CU_ASSERT_TRUE(g_file_test(f.cache, G_FILE_TEST_IS_REGULAR));
  fixture_teardown(&f);
}

static void
test_registry_warm_cache_scans_and_opens_nothing(void)
{
  Fixture f;
  fixture_setup(&f, every_plugin);
  g_autoptr(LetheRegistry) cold = registry_for(f.plugins);
  CU_ASSERT_EQUAL(lethe_registry_get_n_scanned(cold), 6);
  CU_ASSERT_EQUAL(lethe_registry_get_n_loaded(cold), 0);

  /* Without a scanner, any scan would happen in this process, and the
   * crashing plugin would take the test down. */
  g_autofree char *scanner = g_strdup(g_getenv("LETHE_SCANNER"));
  g_setenv("LETHE_SCANNER", "/nonexistent/lethe-plugin-scanner", TRUE);
  g_autoptr(LetheRegistry) warm = registry_for(f.plugins);
  g_setenv("LETHE_SCANNER", scanner, TRUE);

  CU_ASSERT_EQUAL(lethe_registry_get_n_scanned(warm), 0);
  CU_ASSERT_EQUAL(lethe_registry_get_n_loaded(warm), 0);
  CU_ASSERT_EQUAL(lethe_registry_get_plugins(warm)->len, 1);
  CU_ASSERT_EQUAL(lethe_registry_get_failed(warm)->len, 5);
  CU_ASSERT_PTR_NOT_NULL(lethe_registry_find_node_type(warm, "test-source", NULL));
  /* Reasons come back from the cache word for word. */
  CU_ASSERT_STRING_EQUAL(failure_of(warm, "test-crash.so"), failure_of(cold, "test-crash.so"));
  fixture_teardown(&f);
}

static void
test_registry_load_node_type_opens_the_file_once(void)
{
  Fixture f;
  g_autoptr(GError) error = NULL;
  fixture_setup(&f, good_only);
  g_autoptr(LetheRegistry) r = registry_for(f.plugins);

  const LetheNodeType *t = lethe_registry_load_node_type(r, "test-source", &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_PTR_NOT_NULL_FATAL(t->vtable);
  CU_ASSERT_PTR_NOT_NULL(t->vtable->process);
  CU_ASSERT_EQUAL(lethe_registry_get_n_loaded(r), 1);
  CU_ASSERT_PTR_EQUAL(lethe_registry_find_node_type(r, "test-source", NULL), t);

  const LetheNodeType *sink = lethe_registry_load_node_type(r, "test-sink", &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_PTR_NOT_NULL(sink);
  CU_ASSERT_EQUAL(lethe_registry_get_n_loaded(r), 1);

  const LethePluginRecord *rec = lethe_registry_find_model_kind_plugin(r, "test-kind");
  CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
  const LethePluginInfo *info = lethe_registry_load_plugin(r, rec, &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_STRING_EQUAL(info->model_kinds[0]->name, "test-kind");
  CU_ASSERT_EQUAL(lethe_registry_get_n_loaded(r), 1);
  CU_ASSERT_PTR_NULL(lethe_registry_find_model_kind_plugin(r, "no-such-kind"));

  CU_ASSERT_PTR_NULL(lethe_registry_load_node_type(r, "test-sorce", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                     "no node type named 'test-sorce'; did you mean 'test-source'?");
  fixture_teardown(&f);
}

static void
test_registry_reports_each_bad_plugin_with_its_reason(void)
{
  Fixture f;
  fixture_setup(&f, every_plugin);
  g_autofree char *text = g_build_filename(f.plugins, "notes.so", NULL);
  g_file_set_contents(text, "this is a text file, not a shared object\n", -1, NULL);
  g_autoptr(LetheRegistry) r = registry_for(f.plugins);

  CU_ASSERT_EQUAL(lethe_registry_get_plugins(r)->len, 1);
  CU_ASSERT_EQUAL(lethe_registry_get_failed(r)->len, 6);
  CU_ASSERT_EQUAL(lethe_registry_get_n_loaded(r), 0);

  assert_contains(failure_of(r, "test-no-descriptor.so"),
                  "test-no-descriptor.so' is not a Lethe plugin: it does not export the symbol "
                  "lethe_plugin_v1");
  assert_contains(failure_of(r, "test-abi-major.so"), "plugin 'test-abi-major' in '");
  g_autofree char *major = g_strdup_printf(
      "test-abi-major.so' was built for plugin ABI 2.0 but this Lethe has ABI %d.%d",
      LETHE_ABI_MAJOR, LETHE_ABI_MINOR);
  assert_contains(failure_of(r, "test-abi-major.so"), major);
  g_autofree char *minor = g_strdup_printf(
      "test-abi-minor.so' was built for plugin ABI %d.%d, newer than this Lethe's ABI %d.%d",
      LETHE_ABI_MAJOR, LETHE_ABI_MINOR + 1, LETHE_ABI_MAJOR, LETHE_ABI_MINOR);
  assert_contains(failure_of(r, "test-abi-minor.so"), minor);
  assert_contains(failure_of(r, "test-unresolved.so"),
                  "test-unresolved.so': undefined symbol: lethe_test_symbol_nobody_defines");
  assert_contains(failure_of(r, "test-unresolved.so"), "cannot open plugin file '");
  assert_contains(failure_of(r, "test-crash.so"),
                  "test-crash.so' crashed while loading (signal 6, Aborted)");
  assert_contains(failure_of(r, "notes.so"), "cannot open plugin file '");
  assert_contains(failure_of(r, "notes.so"), "notes.so': ");
  assert_contains(failure_of(r, "notes.so"), "is it a shared object built for this system");
  CU_ASSERT_PTR_NULL(lethe_registry_find_node_type(r, "test-abi-major-node", NULL));
  fixture_teardown(&f);
}

static void
test_registry_refuses_files_and_folders_writable_by_others(void)
{
  Fixture f;
  fixture_setup(&f, good_only);
  g_autofree char *file = g_build_filename(f.plugins, "test-good.so", NULL);
  g_chmod(file, 0757);
  g_autoptr(LetheRegistry) r = registry_for(f.plugins);
  CU_ASSERT_EQUAL(lethe_registry_get_plugins(r)->len, 0);
  assert_contains(failure_of(r, "test-good.so"), "is writable by others (mode 0757)");
  assert_contains(failure_of(r, "test-good.so"), "chmod o-w");
  CU_ASSERT_EQUAL(lethe_registry_get_n_scanned(r), 0);

  g_chmod(file, 0755);
  g_chmod(f.plugins, 0777);
  g_autoptr(LetheRegistry) r2 = registry_for(f.plugins);
  CU_ASSERT_EQUAL(lethe_registry_get_plugins(r2)->len, 0);
  CU_ASSERT_EQUAL_FATAL(lethe_registry_get_failed(r2)->len, 1);
  const LethePluginRecord *rec = g_ptr_array_index(lethe_registry_get_failed(r2), 0);
  CU_ASSERT_STRING_EQUAL(rec->path, f.plugins);
  assert_contains(rec->failure, "plugin folder '");
  assert_contains(rec->failure, "is writable by others (mode 0777): refusing every plugin");
  fixture_teardown(&f);
}

static void
test_registry_rebuilds_a_corrupt_or_foreign_cache(void)
{
  Fixture f;
  fixture_setup(&f, good_only);
  g_autofree char *dir = g_path_get_dirname(f.cache);
  g_mkdir_with_parents(dir, 0755);

  /* Garbage, a foreign header, and a good header over damaged entries. */
  static const char garbage[] = "definitely not a registry";
  char damaged[64];
  memset(damaged, 0xff, sizeof damaged);
  guint32 version = 1, order = 0x01020304;
  memcpy(damaged, "LETHEREG", 8);
  memcpy(damaged + 8, &version, 4);
  memcpy(damaged + 12, &order, 4);
  const struct {
    const char *data;
    gsize length;
  } bad[] = {{garbage, sizeof garbage},
             {"LETHEREG\x09\0\0\0\x01\x02\x03\x04", 16},
             {damaged, sizeof damaged},
             {"", 0}};

  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_file_set_contents(f.cache, bad[i].data, (gssize)bad[i].length, NULL);
    g_autoptr(LetheRegistry) r = registry_for(f.plugins);
    CU_ASSERT_EQUAL(lethe_registry_get_plugins(r)->len, 1);
    CU_ASSERT_EQUAL(lethe_registry_get_n_scanned(r), 1);
    /* Rewritten: the next registry finds everything in it. */
    g_autoptr(GError) error = NULL;
    g_autoptr(GHashTable) table = lethe_registry_cache_read(f.cache, FALSE, &error);
    LETHE_ASSERT_NO_ERROR(error);
    CU_ASSERT_EQUAL(g_hash_table_size(table), 1);
  }

  /* A cache written by another liblethe (here: another identity string of
   * the same length) is valid but ignored. */
  {
    g_autofree char *data = NULL;
    gsize len = 0;
    g_file_get_contents(f.cache, &data, &len, NULL);
    char *id = memmem(data, len, "lethe ", 6);
    CU_ASSERT_PTR_NOT_NULL_FATAL(id);
    id[0] = 'L';
    g_file_set_contents(f.cache, data, (gssize)len, NULL);
    g_autoptr(GError) error = NULL;
    CU_ASSERT_PTR_NULL(lethe_registry_cache_read(f.cache, FALSE, &error));
    LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_PARSE, "written by another liblethe (Lethe");
    g_autoptr(LetheRegistry) r = registry_for(f.plugins);
    CU_ASSERT_EQUAL(lethe_registry_get_n_scanned(r), 1);
    g_autoptr(GHashTable) table = lethe_registry_cache_read(f.cache, FALSE, &error);
    LETHE_ASSERT_NO_ERROR(error);
  }

  /* Flipping any single byte never crashes the parser. */
  g_autofree char *good = NULL;
  gsize length = 0;
  g_file_get_contents(f.cache, &good, &length, NULL);
  for (gsize i = 0; i < length; i++) {
    g_autofree char *copy = g_memdup2(good, length);
    copy[i] ^= 0x5a;
    g_autoptr(GBytes) bytes = g_bytes_new(copy, length);
    g_autoptr(GError) error = NULL;
    g_autoptr(GHashTable) table = lethe_registry_cache_parse(bytes, f.plugins, NULL, &error);
    CU_ASSERT_TRUE((table == NULL) == (error != NULL));
  }
  fixture_teardown(&f);
}

static void
test_registry_rescans_a_file_that_changed(void)
{
  Fixture f;
  fixture_setup(&f, good_only);
  g_autofree char *file = g_build_filename(f.plugins, "test-good.so", NULL);
  g_autoptr(LetheRegistry) cold = registry_for(f.plugins);
  CU_ASSERT_EQUAL(lethe_registry_get_n_scanned(cold), 1);
  g_autoptr(LetheRegistry) warm = registry_for(f.plugins);
  CU_ASSERT_EQUAL(lethe_registry_get_n_scanned(warm), 0);

  /* Same size, another mtime. */
  struct timespec times[2] = {{0, UTIME_OMIT}, {1000000000, 5}};
  CU_ASSERT_EQUAL(utimensat(AT_FDCWD, file, times, 0), 0);
  g_autoptr(LetheRegistry) touched = registry_for(f.plugins);
  CU_ASSERT_EQUAL(lethe_registry_get_n_scanned(touched), 1);

  /* Same mtime, another size. */
  struct stat before;
  g_stat(file, &before);
  FILE *fp = fopen(file, "ab");
  fputc(0, fp);
  fclose(fp);
  struct timespec same[2] = {{0, UTIME_OMIT}, before.st_mtim};
  utimensat(AT_FDCWD, file, same, 0);
  g_autoptr(LetheRegistry) grown = registry_for(f.plugins);
  CU_ASSERT_EQUAL(lethe_registry_get_n_scanned(grown), 1);
  CU_ASSERT_EQUAL(lethe_registry_get_plugins(grown)->len, 1);

  /* A plugin that became broken is noticed too. */
  g_autofree char *broken = built_plugin("test-abi-minor");
  copy_file(broken, file);
  g_autoptr(LetheRegistry) replaced = registry_for(f.plugins);
  CU_ASSERT_EQUAL(lethe_registry_get_plugins(replaced)->len, 0);
  assert_contains(failure_of(replaced, "test-good.so"), "newer than this Lethe's ABI");
  fixture_teardown(&f);
}

static void
test_registry_honours_the_allowlist(void)
{
  Fixture f;
  fixture_setup(&f, good_only);
  g_setenv("LETHE_PLUGIN_ALLOWLIST", "other, another", TRUE);
  g_autoptr(LetheRegistry) r = registry_for(f.plugins);
  CU_ASSERT_EQUAL(lethe_registry_get_plugins(r)->len, 0);
  CU_ASSERT_PTR_NULL(lethe_registry_find_node_type(r, "test-source", NULL));
  assert_contains(failure_of(r, "test-good.so"), "plugin 'test-good' in '" /* path */);
  assert_contains(failure_of(r, "test-good.so"), "is not in LETHE_PLUGIN_ALLOWLIST");

  g_setenv("LETHE_PLUGIN_ALLOWLIST", "other,test-good", TRUE);
  g_autoptr(LetheRegistry) allowed = registry_for(f.plugins);
  CU_ASSERT_EQUAL(lethe_registry_get_plugins(allowed)->len, 1);
  CU_ASSERT_EQUAL(lethe_registry_get_n_scanned(allowed), 0);

  /* Without the scanner, an allowlist never lets an unknown file be opened
   * here just to learn its name. */
  g_autofree char *scanner = g_strdup(g_getenv("LETHE_SCANNER"));
  g_autofree char *fresh = g_build_filename(f.root, "fresh.bin", NULL);
  g_setenv("LETHE_SCANNER", "/nonexistent/lethe-plugin-scanner", TRUE);
  g_setenv("LETHE_REGISTRY", fresh, TRUE);
  g_autoptr(LetheRegistry) unscanned = registry_for(f.plugins);
  g_setenv("LETHE_SCANNER", scanner, TRUE);
  CU_ASSERT_EQUAL(lethe_registry_get_n_loaded(unscanned), 0);
  CU_ASSERT_EQUAL(lethe_registry_get_plugins(unscanned)->len, 0);
  assert_contains(failure_of(unscanned, "test-good.so"),
                  "cannot be checked against LETHE_PLUGIN_ALLOWLIST without the plugin scanner");
  g_unsetenv("LETHE_PLUGIN_ALLOWLIST");

  /* That refusal is not cached: without an allowlist the file is scanned. */
  g_autoptr(LetheRegistry) later = registry_for(f.plugins);
  CU_ASSERT_EQUAL(lethe_registry_get_plugins(later)->len, 1);
  fixture_teardown(&f);
}

static void
test_registry_search_order(void)
{
  Fixture f;
  fixture_setup(&f, good_only);
  g_autofree char *second = g_build_filename(f.root, "second", NULL);
  g_autofree char *third = g_build_filename(f.root, "third", NULL);
  add_plugins(second, good_only);
  add_plugins(third, good_only);

  g_autofree char *env = g_strjoin(":", second, third, NULL);
  g_setenv("LETHE_PLUGIN_PATH", env, TRUE);
  g_setenv("LETHE_PLUGIN_SYSTEM_PATH", "/nonexistent-system", TRUE);
  const char *extra[] = {f.plugins, NULL};
  g_autoptr(GPtrArray) dirs = lethe_plugin_search_dirs(extra);
  CU_ASSERT_EQUAL_FATAL(dirs->len, 4);
  CU_ASSERT_STRING_EQUAL(g_ptr_array_index(dirs, 0), f.plugins);
  CU_ASSERT_STRING_EQUAL(g_ptr_array_index(dirs, 1), second);
  CU_ASSERT_STRING_EQUAL(g_ptr_array_index(dirs, 2), third);
  CU_ASSERT_STRING_EQUAL(g_ptr_array_index(dirs, 3), "/nonexistent-system");

  /* The first copy wins; the others say who shadows them. */
  g_autoptr(LetheRegistry) r = registry_for(f.plugins);
  CU_ASSERT_EQUAL_FATAL(lethe_registry_get_plugins(r)->len, 1);
  const LethePluginRecord *rec = g_ptr_array_index(lethe_registry_get_plugins(r), 0);
  CU_ASSERT_TRUE(g_str_has_prefix(rec->path, f.plugins));
  CU_ASSERT_EQUAL(lethe_registry_get_failed(r)->len, 2);
  GPtrArray *failed = lethe_registry_get_failed(r);
  rec = g_ptr_array_index(failed, 0);
  CU_ASSERT_TRUE(g_str_has_prefix(rec->path, second));
  assert_contains(rec->failure, "is shadowed by '");
  assert_contains(rec->failure, "found earlier on the search path");

  /* Without LETHE_PLUGIN_SYSTEM_PATH: the user's folder, then the one
   * beside liblethe. */
  g_unsetenv("LETHE_PLUGIN_SYSTEM_PATH");
  g_unsetenv("LETHE_PLUGIN_PATH");
  g_autoptr(GPtrArray) defaults = lethe_plugin_search_dirs(NULL);
  g_autofree char *user = g_build_filename(g_get_user_data_dir(), "lethe-1", "plugins", NULL);
  g_autofree char *libdir = lethe_library_dir();
  g_autofree char *system = g_build_filename(libdir, "lethe-1", "plugins", NULL);
  CU_ASSERT_EQUAL_FATAL(defaults->len, 2);
  CU_ASSERT_STRING_EQUAL(g_ptr_array_index(defaults, 0), user);
  CU_ASSERT_STRING_EQUAL(g_ptr_array_index(defaults, 1), system);
  /* This test binary links the liblethe of the build tree. */
  const char *build = g_getenv("LETHE_BUILD_ROOT");
  g_autofree char *core = g_build_filename(build, "core", NULL);
  g_autofree char *core_canon = g_canonicalize_filename(core, NULL);
  CU_ASSERT_STRING_EQUAL(libdir, core_canon);
  fixture_teardown(&f);
}

static void
test_registry_uses_a_pregenerated_cache_after_a_move(void)
{
  Fixture f;
  g_autoptr(GError) error = NULL;
  fixture_setup(&f, every_plugin);
  g_autoptr(LetheRegistry) r = registry_for(f.plugins);
  g_autofree char *dir_cache = g_build_filename(f.plugins, "registry.bin", NULL);
  CU_ASSERT_TRUE(lethe_registry_write_cache(r, dir_cache, &error));
  LETHE_ASSERT_NO_ERROR(error);

  /* Installed elsewhere (new inodes, same mtimes), with no user cache and
   * no scanner: everything still comes from the folder's cache. */
  g_autofree char *moved = g_build_filename(f.root, "installed", NULL);
  g_mkdir_with_parents(moved, 0755);
  const char *names[] = {"test-good.so",      "test-no-descriptor.so", "test-abi-major.so",
                         "test-abi-minor.so", "test-unresolved.so",    "test-crash.so",
                         "registry.bin"};
  for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
    g_autofree char *from = g_build_filename(f.plugins, names[i], NULL);
    g_autofree char *to = g_build_filename(moved, names[i], NULL);
    copy_file(from, to);
  }
  g_autofree char *other_cache = g_build_filename(f.root, "other-cache.bin", NULL);
  g_setenv("LETHE_REGISTRY", other_cache, TRUE);
  g_autofree char *scanner = g_strdup(g_getenv("LETHE_SCANNER"));
  g_setenv("LETHE_SCANNER", "/nonexistent/lethe-plugin-scanner", TRUE);
  g_autoptr(LetheRegistry) installed = registry_for(moved);
  g_setenv("LETHE_SCANNER", scanner, TRUE);

  CU_ASSERT_EQUAL(lethe_registry_get_n_scanned(installed), 0);
  CU_ASSERT_EQUAL(lethe_registry_get_n_loaded(installed), 0);
  CU_ASSERT_EQUAL(lethe_registry_get_plugins(installed)->len, 1);
  CU_ASSERT_EQUAL(lethe_registry_get_failed(installed)->len, 5);
  const LethePluginRecord *rec = g_ptr_array_index(lethe_registry_get_plugins(installed), 0);
  CU_ASSERT_TRUE(g_str_has_prefix(rec->path, moved));
  assert_contains(failure_of(installed, "test-crash.so"), "crashed while loading");
  fixture_teardown(&f);
}

static gboolean
static_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  return TRUE;
}

static const LetheNodeVTable static_vtable = {.process = static_process};
static const LetheNodeType static_type = {
    .name = "static-pass",
    .kind = LETHE_NODE_TRANSFORM,
    .description = "compiled into the test",
    .vtable = &static_vtable,
};
static const LetheNodeType *const static_types[] = {&static_type, NULL};
static const LethePluginInfo static_info = {
    .abi_major = LETHE_ABI_MAJOR,
    .abi_minor = LETHE_ABI_MINOR,
    .name = "static-test",
    .version = "0.1",
    .license = "LGPL-2.1-or-later",
    .description = "a static plugin",
    .node_types = static_types,
};

static void
test_registry_register_static_is_live_at_once(void)
{
  Fixture f;
  g_autoptr(GError) error = NULL;
  fixture_setup(&f, good_only);
  g_autoptr(LetheRegistry) r = registry_for(f.plugins);
  lethe_registry_register_static(r, &static_info);

  const LethePluginRecord *owner = NULL;
  CU_ASSERT_PTR_EQUAL(lethe_registry_find_node_type(r, "static-pass", &owner), &static_type);
  CU_ASSERT_STRING_EQUAL(owner->name, "static-test");
  CU_ASSERT_PTR_EQUAL(lethe_registry_load_node_type(r, "static-pass", &error), &static_type);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(lethe_registry_get_n_loaded(r), 0);
  CU_ASSERT_EQUAL(lethe_registry_get_plugins(r)->len, 2);
  g_auto(GStrv) names = lethe_registry_get_node_type_names(r);
  CU_ASSERT_EQUAL(g_strv_length(names), 3);
  CU_ASSERT_STRING_EQUAL(names[0], "static-pass");
  fixture_teardown(&f);
}

static void
test_suggest_only_plausible_typos(void)
{
  const char *const params[] = {"epochs", "lr", "batch-size", "weight-decay", NULL};
  CU_ASSERT_STRING_EQUAL(lethe_suggest("epoch", params), "epochs");
  CU_ASSERT_STRING_EQUAL(lethe_suggest("epcohs", params), "epochs");
  CU_ASSERT_STRING_EQUAL(lethe_suggest("Epochs", params), "epochs");
  CU_ASSERT_STRING_EQUAL(lethe_suggest("batch_size", params), "batch-size");
  CU_ASSERT_STRING_EQUAL(lethe_suggest("wieght-decay", params), "weight-decay");
  CU_ASSERT_STRING_EQUAL(lethe_suggest("lrr", params), "lr");
  CU_ASSERT_PTR_NULL(lethe_suggest("momentum", params));
  CU_ASSERT_PTR_NULL(lethe_suggest("x", params));
  CU_ASSERT_PTR_NULL(lethe_suggest("ab", params));
  CU_ASSERT_PTR_NULL(lethe_suggest("", params));
  CU_ASSERT_PTR_NULL(lethe_suggest("epochs", NULL));

  const char *const types[] = {"idx-source", "csv-source", "fetril", "ssd", NULL};
  CU_ASSERT_STRING_EQUAL(lethe_suggest("idx-sorce", types), "idx-source");
  CU_ASSERT_STRING_EQUAL(lethe_suggest("fetrl", types), "fetril");
  CU_ASSERT_STRING_EQUAL(lethe_suggest("sdd", types), "ssd");
  CU_ASSERT_PTR_NULL(lethe_suggest("wfdb-source", types));
  CU_ASSERT_PTR_NULL(lethe_suggest("unlearning-report", types));
}

static void
test_enum_names(void)
{
  CU_ASSERT_STRING_EQUAL(lethe_node_kind_name(LETHE_NODE_SOURCE), "source");
  CU_ASSERT_STRING_EQUAL(lethe_node_kind_name(LETHE_NODE_UNLEARNER), "unlearner");
  CU_ASSERT_STRING_EQUAL(lethe_node_kind_name(LETHE_NODE_SINK), "sink");
  CU_ASSERT_STRING_EQUAL(lethe_param_type_name(LETHE_PARAM_INT_LIST), "int-list");
  CU_ASSERT_STRING_EQUAL(lethe_param_type_name(LETHE_PARAM_PATH), "path");
  CU_ASSERT_STRING_EQUAL(lethe_param_type_name((LetheParamType)99), "unknown");
}

LETHE_TEST_MAIN("registry", LETHE_TEST(test_registry_lists_metadata_without_loading),
                LETHE_TEST(test_registry_warm_cache_scans_and_opens_nothing),
                LETHE_TEST(test_registry_load_node_type_opens_the_file_once),
                LETHE_TEST(test_registry_reports_each_bad_plugin_with_its_reason),
                LETHE_TEST(test_registry_refuses_files_and_folders_writable_by_others),
                LETHE_TEST(test_registry_rebuilds_a_corrupt_or_foreign_cache),
                LETHE_TEST(test_registry_rescans_a_file_that_changed),
                LETHE_TEST(test_registry_honours_the_allowlist),
                LETHE_TEST(test_registry_search_order),
                LETHE_TEST(test_registry_uses_a_pregenerated_cache_after_a_move),
                LETHE_TEST(test_registry_register_static_is_live_at_once),
                LETHE_TEST(test_suggest_only_plausible_typos), LETHE_TEST(test_enum_names))
