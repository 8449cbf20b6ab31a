/* lethe — the subcommands.  Each returns the process exit status:
 * 0 success, 1 a node failed, 2 invalid input or usage, 130 interrupted.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_TOOLS_COMMANDS_H
#define LETHE_TOOLS_COMMANDS_H

int lethe_cmd_inspect(int argc, char **argv);
int lethe_cmd_validate(int argc, char **argv);
int lethe_cmd_run(int argc, char **argv);
int lethe_cmd_graph(int argc, char **argv);
int lethe_cmd_registry(int argc, char **argv);

#endif
