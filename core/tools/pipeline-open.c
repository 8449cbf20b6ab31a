/* lethe — reading, overriding and validating a pipeline file for the
 * commands that take one.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "commands.h"

#include <lethe/lethe.h>
#include <lethe/pipeline.h>
#include <stdio.h>

LethePipeline *
lethe_tool_open_pipeline(const char *file, char **overrides, char **plugin_paths,
                         unsigned *n_problems)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LetheRegistry) registry = NULL;
  g_autoptr(LethePipeline) pipeline = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  unsigned n = 0;

  registry = lethe_registry_new((const char *const *)plugin_paths, &error);
  if (!registry) {
    fprintf(stderr, "lethe: cannot set up the plugin registry: %s\n", error->message);
    return NULL;
  }
  pipeline = lethe_pipeline_new_from_file(file, registry, &error);
  if (!pipeline) {
    fprintf(stderr, "%s\n", error->message);
    return NULL;
  }
  /* An override that does not apply is a problem like any other: report
   * it with the rest rather than stopping at the first. */
  for (char **o = overrides; o && *o; o++) {
    if (!lethe_pipeline_override(pipeline, *o, &error)) {
      fprintf(stderr, "%s: %s\n", file, error->message);
      g_clear_error(&error);
      n++;
    }
  }
  problems = lethe_pipeline_validate(pipeline);
  for (guint i = 0; i < problems->len; i++) {
    g_autofree char *line = lethe_problem_to_string(g_ptr_array_index(problems, i));
    fprintf(stderr, "%s\n", line);
  }
  *n_problems = n + problems->len;
  return g_steal_pointer(&pipeline);
}
