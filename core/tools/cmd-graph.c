/* lethe graph: print a pipeline as Graphviz DOT.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   lethe graph FILE [node.param=value …] [--plugin-path DIR] | dot -Tsvg > graph.svg
 *
 * Nodes show their type and ports, edges the schema they carry.  An
 * invalid file still gives the graph of what resolves (problems go to
 * stderr and the exit status is 2), which helps find what is wrong.
 */
#include "commands.h"

#include <lethe/lethe.h>
#include <lethe/pipeline.h>
#include <stdio.h>

int
lethe_cmd_graph(int argc, char **argv)
{
  g_auto(GStrv) plugin_paths = NULL;
  g_auto(GStrv) args = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(LethePipeline) pipeline = NULL;
  g_autofree char *dot = NULL;
  unsigned n_problems = 0;
  GOptionEntry entries[] = {
      {"plugin-path", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &plugin_paths,
       "Also look for plugins in DIR (searched first; may be repeated)", "DIR"},
      {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args, NULL,
       "FILE [node.param=value…]"},
      {NULL},
  };
  g_autoptr(GOptionContext) context = g_option_context_new("FILE [node.param=value…]");

  g_option_context_set_summary(context, "Prints a pipeline as Graphviz DOT: node types, "
                                        "ports, and the schema on each link.");
  g_option_context_add_main_entries(context, entries, NULL);
  if (!g_option_context_parse(context, &argc, &argv, &error)) {
    fprintf(stderr, "lethe graph: %s\n", error->message);
    return 2;
  }
  if (!args || !args[0]) {
    fprintf(stderr, "usage: lethe graph FILE [node.param=value…] [--plugin-path DIR]\n");
    return 2;
  }

  pipeline = lethe_tool_open_pipeline(args[0], args + 1, plugin_paths, &n_problems);
  if (!pipeline)
    return 2;
  dot = lethe_pipeline_to_dot(pipeline);
  fputs(dot, stdout);
  return n_problems ? 2 : 0;
}
