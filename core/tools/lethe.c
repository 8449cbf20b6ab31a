/* lethe — the command: inspect, validate, run and draw pipelines.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "commands.h"

#include <lethe/lethe.h>
#include <locale.h>
#include <stdio.h>

static const struct {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *summary;
} commands[] = {
    {"run", lethe_cmd_run, "run a pipeline file"},
    {"validate", lethe_cmd_validate, "check a pipeline file without running it"},
    {"inspect", lethe_cmd_inspect, "list plugins and node types, or show one"},
    {"graph", lethe_cmd_graph, "print a pipeline as Graphviz DOT"},
    {"registry", lethe_cmd_registry, "manage the plugin registry cache"},
};

static void
usage(FILE *out)
{
  fprintf(out, "usage: lethe [--version] [--help] COMMAND [ARGS…]\n\ncommands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n`lethe COMMAND --help` describes one command; see lethe(1).\n");
}

int
main(int argc, char **argv)
{
  setlocale(LC_ALL, "");
  lethe_init();

  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (g_str_equal(argv[1], "--version") || g_str_equal(argv[1], "version")) {
    printf("lethe %s\n", lethe_get_version());
    return 0;
  }
  if (g_str_equal(argv[1], "--help") || g_str_equal(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
    if (g_str_equal(argv[1], commands[i].name))
      return commands[i].fn(argc - 1, argv + 1);
  }
  fprintf(stderr, "lethe: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
