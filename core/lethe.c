/* Lethe — process-wide setup and version.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/lethe.h>

const char *
lethe_get_version(void)
{
  return LETHE_VERSION;
}

void
lethe_init(void)
{
  static gsize initialised = 0;

  if (g_once_init_enter(&initialised)) {
    /* LETHE_DEBUG=domain:level,… maps onto GLib's G_MESSAGES_DEBUG for now. */
    const char *debug = g_getenv("LETHE_DEBUG");
    if (debug && !g_getenv("G_MESSAGES_DEBUG")) {
      g_autoptr(GString) domains = g_string_new(NULL);
      g_auto(GStrv) items = g_strsplit(debug, ",", -1);
      for (char **it = items; *it; it++) {
        g_auto(GStrv) kv = g_strsplit(*it, ":", 2);
        if (kv[0] && (!kv[1] || g_str_equal(kv[1], "debug"))) {
          if (domains->len)
            g_string_append_c(domains, ' ');
          g_string_append(domains, g_str_equal(kv[0], "*") ? "all" : kv[0]);
        }
      }
      if (domains->len)
        g_setenv("G_MESSAGES_DEBUG", domains->str, FALSE);
    }
    g_once_init_leave(&initialised, 1);
  }
}
