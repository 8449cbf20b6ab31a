/* Lethe — where plugins, the registry cache and the scanner live.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "registry-private.h"

#include <dlfcn.h>
#include <lethe/version.h>
#include <sys/stat.h>

#ifndef LETHE_PLUGINSDIR
#define LETHE_PLUGINSDIR "/usr/local/lib/lethe-1/plugins"
#endif
#ifndef LETHE_PLUGINS_RELDIR
#define LETHE_PLUGINS_RELDIR "lethe-1/plugins"
#endif
#ifndef LETHE_LIBEXECDIR
#define LETHE_LIBEXECDIR "/usr/local/libexec/lethe-1"
#endif

char *
lethe_library_dir(void)
{
  Dl_info dl;

  /* Any function of liblethe tells where the library itself was loaded
   * from, so an install under any prefix finds its own plugins. */
  if (dladdr((const void *)lethe_library_dir, &dl) == 0 || dl.dli_fname == NULL)
    return NULL;
  g_autofree char *file = g_canonicalize_filename(dl.dli_fname, NULL);
  return g_path_get_dirname(file);
}

char *
lethe_core_identity(gboolean strict)
{
  Dl_info dl;
  struct stat st;
  GString *id = g_string_new(NULL);

  g_string_printf(id, "lethe %s abi %d.%d", LETHE_VERSION, LETHE_ABI_MAJOR, LETHE_ABI_MINOR);
  if (strict && dladdr((const void *)lethe_core_identity, &dl) != 0 && dl.dli_fname &&
      stat(dl.dli_fname, &st) == 0)
    g_string_append_printf(id, " size %" G_GUINT64_FORMAT " mtime %" G_GINT64_FORMAT ".%09ld",
                           (guint64)st.st_size, (gint64)st.st_mtim.tv_sec,
                           (long)st.st_mtim.tv_nsec);
  return g_string_free(id, FALSE);
}

static void
add_dir(GPtrArray *dirs, const char *dir)
{
  if (dir == NULL || dir[0] == '\0')
    return;
  char *canon = g_canonicalize_filename(dir, NULL);
  for (guint i = 0; i < dirs->len; i++) {
    if (g_str_equal(g_ptr_array_index(dirs, i), canon)) {
      g_free(canon);
      return;
    }
  }
  g_ptr_array_add(dirs, canon);
}

static void
add_search_path(GPtrArray *dirs, const char *value)
{
  g_auto(GStrv) parts = g_strsplit(value, G_SEARCHPATH_SEPARATOR_S, -1);
  for (char **p = parts; *p; p++)
    add_dir(dirs, *p);
}

GPtrArray *
lethe_plugin_search_dirs(const char *const *extra_paths)
{
  GPtrArray *dirs = g_ptr_array_new_with_free_func(g_free);

  for (const char *const *p = extra_paths; p && *p; p++)
    add_dir(dirs, *p);

  const char *path = g_getenv("LETHE_PLUGIN_PATH");
  if (path)
    add_search_path(dirs, path);

  /* Set, even to the empty string, it replaces both defaults (as
   * GST_PLUGIN_SYSTEM_PATH does). */
  const char *system_path = g_getenv("LETHE_PLUGIN_SYSTEM_PATH");
  if (system_path) {
    add_search_path(dirs, system_path);
    return dirs;
  }

  g_autofree char *user = g_build_filename(g_get_user_data_dir(), "lethe-1", "plugins", NULL);
  add_dir(dirs, user);

  g_autofree char *libdir = lethe_library_dir();
  if (libdir) {
    g_autofree char *system = g_build_filename(libdir, LETHE_PLUGINS_RELDIR, NULL);
    add_dir(dirs, system);
  } else {
    add_dir(dirs, LETHE_PLUGINSDIR);
  }
  return dirs;
}

char *
lethe_registry_user_cache_path(void)
{
  const char *env = g_getenv("LETHE_REGISTRY");
  if (env && env[0])
    return g_strdup(env);
  return g_build_filename(g_get_user_cache_dir(), "lethe-1", "registry.bin", NULL);
}

/* @configured (an installed folder) moved along with liblethe: the library
 * was configured for LETHE_LIBDIR but sits in @libdir, so a copy of the
 * whole prefix under DESTDIR or elsewhere still finds its own helpers.
 * NULL when the library's configured folder is unknown. */
static char *
relocate(const char *configured, const char *libdir)
{
#ifdef LETHE_LIBDIR
  const char *lib = LETHE_LIBDIR;
  gsize common = 0;
  for (gsize i = 0; lib[i] && lib[i] == configured[i]; i++)
    if (lib[i] == '/')
      common = i;
  char *dir = g_strdup(libdir);
  for (const char *p = lib + common; *p; p++) {
    if (*p != '/')
      continue;
    char *up = g_path_get_dirname(dir);
    g_free(dir);
    dir = up;
  }
  char *result = g_build_filename(dir, configured + common, NULL);
  g_free(dir);
  return result;
#else
  return NULL;
#endif
}

char *
lethe_plugin_scanner_path(void)
{
  const char *env = g_getenv("LETHE_SCANNER");
  if (env && env[0])
    return g_strdup(env);
  g_autofree char *installed = g_build_filename(LETHE_LIBEXECDIR, "lethe-plugin-scanner", NULL);
  g_autofree char *libdir = lethe_library_dir();
  g_autofree char *moved = libdir ? relocate(installed, libdir) : NULL;
  /* The scanner next to this very library wins over one of another
   * installation at the configured place. */
  if (moved && g_file_test(moved, G_FILE_TEST_IS_EXECUTABLE))
    return g_steal_pointer(&moved);
  return g_steal_pointer(&installed);
}
