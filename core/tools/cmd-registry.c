/* lethe registry — shows where plugins are searched and cached, and
 * pre-generates the cache of a plugin folder.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   lethe registry                 search path, cache file, scanner
 *   lethe registry --update DIR    scan DIR and write DIR/registry.bin, so a
 *                                  read-only install never rescans (run at
 *                                  install or package time)
 */
#include "commands.h"
#include "registry-private.h"

#include <lethe/lethe.h>
#include <stdio.h>

static int
update_dir(const char *dir)
{
  g_autoptr(GError) error = NULL;

  if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
    fprintf(stderr, "lethe registry: '%s' is not a folder\n", dir);
    return 2;
  }
  g_autofree char *canon = g_canonicalize_filename(dir, NULL);
  /* Exactly this folder: no user or environment folders in the cache. */
  g_setenv("LETHE_PLUGIN_SYSTEM_PATH", canon, TRUE);
  g_unsetenv("LETHE_PLUGIN_PATH");
  g_unsetenv("LETHE_PLUGIN_ALLOWLIST");
  g_autoptr(LetheRegistry) registry = lethe_registry_new(NULL, &error);
  if (registry == NULL) {
    fprintf(stderr, "lethe registry: %s\n", error->message);
    return 2;
  }
  g_autofree char *file = g_build_filename(canon, "registry.bin", NULL);
  if (!lethe_registry_write_cache(registry, file, &error)) {
    fprintf(stderr, "lethe registry: %s\n", error->message);
    return 1;
  }
  GPtrArray *failed = lethe_registry_get_failed(registry);
  printf("%s: %u plugin%s, %u refused\n", file, lethe_registry_get_plugins(registry)->len,
         lethe_registry_get_plugins(registry)->len == 1 ? "" : "s", failed->len);
  for (guint i = 0; i < failed->len; i++) {
    const LethePluginRecord *r = g_ptr_array_index(failed, i);
    fprintf(stderr, "lethe registry: refused %s: %s\n", r->path, r->failure);
  }
  return 0;
}

static int
show_paths(const char *const *extra)
{
  g_autoptr(GPtrArray) dirs = lethe_plugin_search_dirs(extra);
  g_autofree char *cache = lethe_registry_user_cache_path();
  g_autofree char *scanner = lethe_plugin_scanner_path();

  printf("Search path:\n");
  for (guint i = 0; i < dirs->len; i++) {
    const char *d = g_ptr_array_index(dirs, i);
    printf("  %s%s\n", d, g_file_test(d, G_FILE_TEST_IS_DIR) ? "" : "  (missing)");
  }
  printf("Cache:    %s\n", cache);
  printf("Scanner:  %s%s\n", scanner,
         g_file_test(scanner, G_FILE_TEST_IS_EXECUTABLE) ? "" : "  (missing: scans in process)");
  const char *allow = g_getenv("LETHE_PLUGIN_ALLOWLIST");
  if (allow && allow[0])
    printf("Allowed:  %s\n", allow);
  return 0;
}

int
lethe_cmd_registry(int argc, char **argv)
{
  g_autofree char *update = NULL;
  g_auto(GStrv) plugin_paths = NULL;
  g_autoptr(GError) error = NULL;
  GOptionEntry entries[] = {
      {"update", 0, 0, G_OPTION_ARG_FILENAME, &update,
       "Scan DIR and write DIR/registry.bin (at install or package time)", "DIR"},
      {"plugin-path", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &plugin_paths,
       "Search DIR for plugins before the usual places (repeatable)", "DIR"},
      {NULL},
  };
  g_autoptr(GOptionContext) context = g_option_context_new(NULL);
  g_option_context_set_summary(context, "Shows the plugin search path and cache, or pre-generates "
                                        "the cache of a plugin folder.");
  g_option_context_add_main_entries(context, entries, NULL);
  if (!g_option_context_parse(context, &argc, &argv, &error)) {
    fprintf(stderr, "lethe registry: %s\n", error->message);
    return 2;
  }
  if (argc > 1) {
    fprintf(stderr, "lethe registry: unexpected argument '%s'\n", argv[1]);
    return 2;
  }
  if (update)
    return update_dir(update);
  return show_paths((const char *const *)plugin_paths);
}
