/* lethe-plugin-scanner — opens one plugin file and prints its metadata.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The registry runs this in a child process for every new or changed
 * plugin file, so that a plugin that crashes or hangs while loading takes
 * down only the scanner.  Usage: lethe-plugin-scanner FILE.  Output on
 * stdout: LETHE_SCANNER_MAGIC then a serialized LETHE_SCANNER_VARIANT,
 * (failure, metadata): the failure is "" when the plugin is usable.  Exit
 * status 0 whenever that was written; anything else is the scanner's own
 * trouble.  Not meant to be run by hand.
 *
 * lethe-plugin-scanner --update-cache DIR does what `lethe registry
 * --update DIR` does: distribution packages run it from a trigger whenever
 * a package adds or removes files in the system plugin folder, and the
 * library's package, which ships this program, need not depend on the
 * package of the lethe command (docs/packaging.md).
 */
#include "registry-private.h"

#include <glib/gstdio.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static gboolean
write_all(int fd, const void *data, gsize length)
{
  const guint8 *p = data;

  while (length > 0) {
    ssize_t n = write(fd, p, length);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return FALSE;
    p += n;
    length -= (gsize)n;
  }
  return TRUE;
}

/* Scans exactly @dir and writes @dir/registry.bin. */
static int
update_cache(const char *dir)
{
  g_autoptr(GError) error = NULL;

  if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
    fprintf(stderr, "lethe-plugin-scanner: '%s' is not a folder\n", dir);
    return 2;
  }
  g_autofree char *canon = g_canonicalize_filename(dir, NULL);
  g_setenv("LETHE_PLUGIN_SYSTEM_PATH", canon, TRUE);
  g_unsetenv("LETHE_PLUGIN_PATH");
  g_unsetenv("LETHE_PLUGIN_ALLOWLIST");
  /* Run from package scripts as root: leave no per-user cache behind. */
  g_autofree char *tmp = g_dir_make_tmp("lethe-registry-XXXXXX", &error);
  if (tmp == NULL) {
    fprintf(stderr, "lethe-plugin-scanner: %s\n", error->message);
    return 1;
  }
  g_autofree char *user_cache = g_build_filename(tmp, "registry.bin", NULL);
  g_setenv("LETHE_REGISTRY", user_cache, TRUE);
  g_autoptr(LetheRegistry) registry = lethe_registry_new(NULL, &error);
  g_autofree char *file = g_build_filename(canon, "registry.bin", NULL);
  gboolean ok = registry != NULL && lethe_registry_write_cache(registry, file, &error);
  g_remove(user_cache);
  g_rmdir(tmp);
  if (!ok) {
    fprintf(stderr, "lethe-plugin-scanner: %s\n", error->message);
    return 1;
  }
  GPtrArray *failed = lethe_registry_get_failed(registry);
  for (guint i = 0; i < failed->len; i++) {
    const LethePluginRecord *r = g_ptr_array_index(failed, i);
    fprintf(stderr, "lethe-plugin-scanner: refused %s: %s\n", r->path, r->failure);
  }
  return 0;
}

int
main(int argc, char **argv)
{
  const LethePluginInfo *info = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) meta = NULL;

  if (argc == 3 && g_str_equal(argv[1], "--update-cache"))
    return update_cache(argv[2]);
  if (argc != 2) {
    fprintf(stderr, "usage: lethe-plugin-scanner PLUGIN-FILE\n"
                    "       lethe-plugin-scanner --update-cache PLUGIN-FOLDER\n");
    return 2;
  }
  /* Whatever the plugin prints while loading must not mix with the
   * metadata: keep the real stdout aside and point fd 1 at stderr. */
  int out = dup(STDOUT_FILENO);
  if (out < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    perror("lethe-plugin-scanner");
    return 3;
  }

  if (lethe_plugin_open(argv[1], &info, &error))
    meta = lethe_plugin_info_serialize(info);

  g_autoptr(GVariant) result = g_variant_ref_sink(
      g_variant_new("(s@m" LETHE_PLUGIN_VARIANT ")", error ? error->message : "",
                    g_variant_new_maybe(G_VARIANT_TYPE(LETHE_PLUGIN_VARIANT), meta)));
  gsize size = g_variant_get_size(result);
  g_autofree guint8 *data = g_malloc(size);
  g_variant_store(result, data);
  if (!write_all(out, LETHE_SCANNER_MAGIC, strlen(LETHE_SCANNER_MAGIC)) ||
      !write_all(out, data, size)) {
    perror("lethe-plugin-scanner");
    return 3;
  }
  close(out);
  /* Skip the plugin's destructors: the metadata is out, nothing else
   * matters. */
  _exit(0);
}
