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

/* Shared by validate, graph and run (pipeline-open.c). */
typedef struct _LethePipeline LethePipeline;
/**
 * lethe_tool_open_pipeline:
 * @overrides: (nullable): "node.param=value" assignments, %NULL-terminated
 * @plugin_paths: (nullable): `--plugin-path` folders, %NULL-terminated
 * @n_problems: (out): how many problems validation found
 *
 * Reads @file, applies @overrides and validates it, printing every problem
 * on stderr as "FILE:LINE: message".  Returns %NULL (after printing why)
 * when the file cannot be read or parsed, or the registry cannot be set
 * up; otherwise the pipeline, valid or not.
 */
LethePipeline *lethe_tool_open_pipeline(const char *file, char **overrides, char **plugin_paths,
                                        unsigned *n_problems);

#endif
