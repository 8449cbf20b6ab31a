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
 */
#include "registry-private.h"

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

int
main(int argc, char **argv)
{
  const LethePluginInfo *info = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) meta = NULL;

  if (argc != 2) {
    fprintf(stderr, "usage: lethe-plugin-scanner PLUGIN-FILE\n");
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
