/* lethe — the command.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/lethe.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
  lethe_init();
  if (argc > 1 && (g_str_equal(argv[1], "--version") || g_str_equal(argv[1], "version"))) {
    printf("lethe %s\n", lethe_get_version());
    return 0;
  }
  fprintf(stderr, "usage: lethe COMMAND [ARGS…]\n");
  return 2;
}
