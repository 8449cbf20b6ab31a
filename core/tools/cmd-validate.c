/* lethe validate: check a pipeline file without running it.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   lethe validate FILE [node.param=value …] [--plugin-path DIR]
 *
 * Exit 0 with a one-line summary on stdout when the file is valid; exit 2
 * with every problem on stderr, each as "FILE:LINE: message", otherwise.
 */
#include "commands.h"

#include <lethe/lethe.h>
#include <lethe/pipeline.h>
#include <stdio.h>

int
lethe_cmd_validate(int argc, char **argv)
{
  g_auto(GStrv) plugin_paths = NULL;
  g_auto(GStrv) args = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(LethePipeline) pipeline = NULL;
  unsigned n_problems = 0;
  GOptionEntry entries[] = {
      {"plugin-path", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &plugin_paths,
       "Also look for plugins in DIR (searched first; may be repeated)", "DIR"},
      {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args, NULL,
       "FILE [node.param=value…]"},
      {NULL},
  };
  g_autoptr(GOptionContext) context = g_option_context_new("FILE [node.param=value…]");

  g_option_context_set_summary(context, "Checks a pipeline file without running it: node "
                                        "types, parameters, links, schemas, cycles.");
  g_option_context_add_main_entries(context, entries, NULL);
  if (!g_option_context_parse(context, &argc, &argv, &error)) {
    fprintf(stderr, "lethe validate: %s\n", error->message);
    return 2;
  }
  if (!args || !args[0]) {
    fprintf(stderr, "usage: lethe validate FILE [node.param=value…] [--plugin-path DIR]\n");
    return 2;
  }

  pipeline = lethe_tool_open_pipeline(args[0], args + 1, plugin_paths, &n_problems);
  if (!pipeline)
    return 2;
  if (n_problems > 0) {
    fprintf(stderr, "%s: invalid, %u problem%s\n", args[0], n_problems, n_problems == 1 ? "" : "s");
    return 2;
  }
  guint n_nodes = lethe_pipeline_get_n_nodes(pipeline);
  guint n_links = lethe_pipeline_get_n_links(pipeline);
  printf("%s: valid, %u node%s, %u link%s\n", args[0], n_nodes, n_nodes == 1 ? "" : "s", n_links,
         n_links == 1 ? "" : "s");
  return 0;
}
