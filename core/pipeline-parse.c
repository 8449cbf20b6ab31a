/* Lethe — reading pipeline files.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GKeyFile decides what is valid syntax and unescapes values; a line
 * scanner over the same text (keyfile-lines.c) tells where each group and
 * key is, for messages.  Only unreadable text fails here: everything else
 * is collected as problems for lethe_pipeline_validate().
 */
#include "keyfile-lines.h"
#include "pipeline-private.h"

#include <string.h>

static const char *const header_keys[] = {"description", "seed", NULL};

/* The 1-based line holding the first byte that is not UTF-8, or 0. */
static int
find_bad_utf8_line(const char *data, gsize length)
{
  const char *end = NULL;
  if (g_utf8_validate_len(data, length, &end))
    return 0;
  int line = 1;
  for (const char *c = data; c < end; c++)
    line += *c == '\n';
  return line;
}

static void
read_header_key(LethePipeline *pipeline, GKeyFile *kf, const LetheKeyfileLine *l)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *value = g_key_file_get_string(kf, "pipeline", l->key, &local);

  if (!value) {
    pipeline_add_problem(pipeline, pipeline->load_problems, l->line, NULL, NULL, NULL,
                         "cannot read header key '%s': %s", l->key, local->message);
    return;
  }
  if (g_str_equal(l->key, "description")) {
    g_free(pipeline->description);
    pipeline->description = g_steal_pointer(&value);
  } else if (g_str_equal(l->key, "seed")) {
    pipeline->seed_line = l->line;
    if (!g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT64, &pipeline->seed, NULL))
      pipeline_add_problem(pipeline, pipeline->load_problems, l->line, NULL, NULL,
                           "use a non-negative integer, e.g. 'seed = 42'",
                           "invalid seed '%s' in [pipeline]", value);
  } else {
    const char *best = lethe_suggest(l->key, header_keys);
    g_autofree char *fix = best ? g_strdup_printf("did you mean '%s'?", best)
                                : g_strdup("the header takes 'description' and 'seed'");
    pipeline_add_problem(pipeline, pipeline->load_problems, l->line, NULL, NULL, fix,
                         "unknown key '%s' in [pipeline]", l->key);
  }
}

static void
read_node_key(LethePipeline *pipeline, GKeyFile *kf, PipelineNode *node, const LetheKeyfileLine *l)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *value = g_key_file_get_string(kf, node->name, l->key, &local);

  if (!value) {
    pipeline_add_problem(pipeline, pipeline->load_problems, l->line, node->name, node->type, NULL,
                         "cannot read key '%s' of node '%s': %s", l->key, node->name,
                         local->message);
    return;
  }
  if (g_str_equal(l->key, "plugin")) {
    if (node->type_line)
      pipeline_add_problem(pipeline, pipeline->load_problems, l->line, node->name, node->type,
                           "keep one", "'plugin' is set twice for node '%s' (first at line %d)",
                           node->name, node->type_line);
    g_free(node->type);
    node->type = g_strstrip(g_steal_pointer(&value));
    node->type_line = l->line;
    return;
  }
  PipelineEntry *previous = pipeline_node_find_entry(node, l->key);
  if (previous)
    pipeline_add_problem(pipeline, pipeline->load_problems, l->line, node->name, node->type,
                         "keep one", "'%s' is set twice for node '%s' (first at line %d)", l->key,
                         node->name, previous->line);
  pipeline_node_set_entry(node, l->key, value, l->line);
}

/* @path is the file as named by the user (NULL for text from memory); it
 * prefixes messages about unreadable text, as compilers do.  @origin is the
 * short name problems use ("at quickstart.lethe:17"). */
static LethePipeline *
parse(const char *data, gsize length, const char *path, const char *origin, LetheRegistry *registry,
      GError **error)
{
  g_autoptr(LethePipeline) pipeline = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new();
  g_autoptr(GPtrArray) lines = NULL;
  g_autoptr(GError) local = NULL;
  PipelineNode *node = NULL;
  gboolean in_header = FALSE;
  int header_line = 0, bad_line = 0;

  const char *shown = path ? path : origin;

  bad_line = find_bad_utf8_line(data, length);
  if (bad_line)
    goto not_utf8;
  lines = lethe_keyfile_scan(data, length, &bad_line);
  if (!lines)
    goto bad_syntax;
  if (!g_key_file_load_from_data(kf, data, length, G_KEY_FILE_NONE, &local))
    goto not_keyfile;

  pipeline = lethe_pipeline_new(registry);
  g_free(pipeline->origin);
  pipeline->origin = g_strdup(origin);
  pipeline->path = g_strdup(path);

  for (guint i = 0; i < lines->len; i++) {
    const LetheKeyfileLine *l = g_ptr_array_index(lines, i);

    if (!l->key) {
      in_header = g_str_equal(l->group, "pipeline");
      node = NULL;
      if (in_header) {
        if (header_line)
          pipeline_add_problem(pipeline, pipeline->load_problems, l->line, NULL, NULL,
                               "keep one [pipeline] group",
                               "[pipeline] appears twice (first at line %d)", header_line);
        else
          header_line = l->line;
        continue;
      }
      node = g_hash_table_lookup(pipeline->by_name, l->group);
      if (node) {
        pipeline_add_problem(pipeline, pipeline->load_problems, l->line, l->group, node->type,
                             "give each node its own name",
                             "node '%s' is defined twice (first at line %d)", l->group, node->line);
        continue;
      }
      if (!pipeline_name_is_valid(l->group))
        pipeline_add_problem(pipeline, pipeline->load_problems, l->line, l->group, NULL,
                             "use letters, digits, '-' and '_' only", "invalid node name '%s'",
                             l->group);
      node = pipeline_node_new(l->group, l->line);
      g_ptr_array_add(pipeline->nodes, node);
      g_hash_table_insert(pipeline->by_name, node->name, node);
    } else if (in_header) {
      read_header_key(pipeline, kf, l);
    } else if (node) {
      read_node_key(pipeline, kf, node, l);
    }
  }

  if (pipeline->nodes->len == 0)
    pipeline_add_problem(pipeline, pipeline->load_problems, 0, NULL, NULL,
                         "add a [NODE] group with a 'plugin = NODE-TYPE' key",
                         "the pipeline has no nodes");
  return g_steal_pointer(&pipeline);

  /* ERRORS */
not_utf8:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
              "%s:%d: not a pipeline file: the text is not valid UTF-8", shown, bad_line);
  return NULL;
bad_syntax:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
              "%s:%d: not a pipeline file: this line is not a [group] header, a "
              "'key = value' pair or a '#' comment (pipeline files use GKeyFile syntax, "
              "see lethe-pipeline(5))",
              shown, bad_line);
  return NULL;
not_keyfile:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
              "%s: not a pipeline file: %s (pipeline files use GKeyFile syntax, see "
              "lethe-pipeline(5))",
              shown, local->message);
  return NULL;
}

LethePipeline *
lethe_pipeline_new_from_data(const char *data, gssize length, const char *origin,
                             LetheRegistry *registry, GError **error)
{
  g_return_val_if_fail(data != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  return parse(data, length < 0 ? strlen(data) : (gsize)length, NULL, origin ? origin : "pipeline",
               registry, error);
}

LethePipeline *
lethe_pipeline_new_from_file(const char *path, LetheRegistry *registry, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr(GError) local = NULL;
  gsize length = 0;

  g_return_val_if_fail(path != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents(path, &data, &length, &local)) {
    g_set_error(error, LETHE_ERROR,
                g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? LETHE_ERROR_NOT_FOUND
                                                                         : LETHE_ERROR_IO,
                "%s: cannot read the pipeline file: %s", path, local->message);
    return NULL;
  }

  g_autofree char *base = g_path_get_basename(path);
  LethePipeline *pipeline = parse(data, length, path, base, registry, error);
  if (!pipeline)
    return NULL;

  g_free(pipeline->name);
  const char *dot = strrchr(base, '.');
  pipeline->name = dot && dot != base ? g_strndup(base, dot - base) : g_strdup(base);

  g_free(pipeline->base_dir);
  g_autofree char *dir = g_path_get_dirname(path);
  g_autofree char *cwd = g_get_current_dir();
  pipeline->base_dir = g_canonicalize_filename(dir, cwd);
  return pipeline;
}
