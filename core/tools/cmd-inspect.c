/* lethe inspect.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "commands.h"

#include <stdio.h>

int
lethe_cmd_inspect(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  fprintf(stderr, "lethe: 'inspect' is not available in this build\n");
  return 2;
}
