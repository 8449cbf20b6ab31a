/* Lethe — pipelines: the object, building in code, reading the graph,
 * command-line overrides and writing the pipeline back out.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Parsing lives in pipeline-parse.c, checking in pipeline-validate.c,
 * Graphviz output in pipeline-dot.c.  Decisions: docs/pipeline-files.md.
 */
#include "pipeline-private.h"

#include <lethe/version.h>
#include <stdarg.h>
#include <string.h>

/* ---- Problems ----------------------------------------------------------- */

void
pipeline_problem_free(gpointer p)
{
  LetheProblem *problem = p;
  if (!problem)
    return;
  g_free(problem->file);
  g_free(problem->node);
  g_free(problem->plugin);
  g_free(problem->message);
  g_free(problem);
}

char *
lethe_problem_to_string(const LetheProblem *problem)
{
  g_return_val_if_fail(problem != NULL, NULL);
  if (problem->line > 0)
    return g_strdup_printf("%s:%d: %s", problem->file, problem->line, problem->message);
  return g_strdup_printf("%s: %s", problem->file, problem->message);
}

char *
pipeline_where(const LethePipeline *pipeline, int line)
{
  if (line > 0)
    return g_strdup_printf(" at %s:%d", pipeline->origin, line);
  if (line < 0)
    return g_strdup(" (set on the command line)");
  return g_strdup("");
}

void
pipeline_add_problem(const LethePipeline *pipeline, GPtrArray *problems, int line, const char *node,
                     const char *plugin, const char *fix, const char *what_format, ...)
{
  LetheProblem *problem = g_new0(LetheProblem, 1);
  g_autofree char *what = NULL;
  g_autofree char *where = pipeline_where(pipeline, line);
  va_list args;

  va_start(args, what_format);
  what = g_strdup_vprintf(what_format, args);
  va_end(args);

  problem->file = g_strdup(pipeline->path ? pipeline->path : pipeline->origin);
  problem->line = MAX(line, 0);
  problem->node = g_strdup(node);
  problem->plugin = g_strdup(plugin);
  problem->message = g_strconcat(what, where, fix ? "; " : "", fix, NULL);
  g_ptr_array_add(problems, problem);
}

/* ---- Nodes -------------------------------------------------------------- */

static void
entry_free(gpointer p)
{
  PipelineEntry *entry = p;
  g_free(entry->key);
  g_free(entry->value);
  g_free(entry);
}

PipelineNode *
pipeline_node_new(const char *name, int line)
{
  PipelineNode *node = g_new0(PipelineNode, 1);
  node->name = g_strdup(name);
  node->line = line;
  node->entries = g_ptr_array_new_with_free_func(entry_free);
  return node;
}

void
pipeline_node_clear_resolution(PipelineNode *node)
{
  g_clear_pointer(&node->in_node, g_free);
  g_clear_pointer(&node->in_port, g_free);
  g_clear_pointer(&node->in_line, g_free);
  node->node_type = NULL;
  node->plugin = NULL;
  node->n_inputs = node->n_outputs = 0;
}

static void
node_free(gpointer p)
{
  PipelineNode *node = p;
  pipeline_node_clear_resolution(node);
  g_free(node->name);
  g_free(node->type);
  g_ptr_array_unref(node->entries);
  g_free(node);
}

PipelineEntry *
pipeline_node_find_entry(PipelineNode *node, const char *key)
{
  for (guint i = 0; i < node->entries->len; i++) {
    PipelineEntry *entry = g_ptr_array_index(node->entries, i);
    if (g_str_equal(entry->key, key))
      return entry;
  }
  return NULL;
}

void
pipeline_node_set_entry(PipelineNode *node, const char *key, const char *value, int line)
{
  PipelineEntry *entry = pipeline_node_find_entry(node, key);
  if (!entry) {
    entry = g_new0(PipelineEntry, 1);
    entry->key = g_strdup(key);
    g_ptr_array_add(node->entries, entry);
  }
  g_free(entry->value);
  entry->value = g_strdup(value);
  entry->line = line;
}

/* Node names appear in references ("node.port") and overrides
 * ("node.param=value"), so they hold no dots, blanks or '='. */
gboolean
pipeline_name_is_valid(const char *name)
{
  if (!name || !*name)
    return FALSE;
  for (const char *c = name; *c; c++) {
    if (!g_ascii_isalnum(*c) && *c != '-' && *c != '_')
      return FALSE;
  }
  return TRUE;
}

/* ---- The object ---------------------------------------------------------- */

LethePipeline *
lethe_pipeline_new(LetheRegistry *registry)
{
  LethePipeline *pipeline = g_new0(LethePipeline, 1);

  g_atomic_ref_count_init(&pipeline->ref);
  pipeline->registry = lethe_registry_ref(registry ? registry : lethe_registry_get_default());
  pipeline->origin = g_strdup("pipeline");
  pipeline->name = g_strdup("pipeline");
  pipeline->base_dir = g_get_current_dir();
  pipeline->nodes = g_ptr_array_new_with_free_func(node_free);
  pipeline->by_name = g_hash_table_new(g_str_hash, g_str_equal);
  pipeline->load_problems = g_ptr_array_new_with_free_func(pipeline_problem_free);
  pipeline->resolve_problems = g_ptr_array_new_with_free_func(pipeline_problem_free);
  return pipeline;
}

LethePipeline *
lethe_pipeline_ref(LethePipeline *pipeline)
{
  g_return_val_if_fail(pipeline != NULL, NULL);
  g_atomic_ref_count_inc(&pipeline->ref);
  return pipeline;
}

void
lethe_pipeline_unref(LethePipeline *pipeline)
{
  if (!pipeline || !g_atomic_ref_count_dec(&pipeline->ref))
    return;
  g_hash_table_unref(pipeline->by_name);
  g_ptr_array_unref(pipeline->nodes);
  g_ptr_array_unref(pipeline->load_problems);
  g_ptr_array_unref(pipeline->resolve_problems);
  g_free(pipeline->order);
  lethe_registry_unref(pipeline->registry);
  g_free(pipeline->path);
  g_free(pipeline->origin);
  g_free(pipeline->name);
  g_free(pipeline->base_dir);
  g_free(pipeline->description);
  g_free(pipeline);
}

void
pipeline_invalidate(LethePipeline *pipeline)
{
  pipeline->resolved = FALSE;
}

const char *
lethe_pipeline_get_path(const LethePipeline *pipeline)
{
  g_return_val_if_fail(pipeline != NULL, NULL);
  return pipeline->path;
}

const char *
lethe_pipeline_get_name(const LethePipeline *pipeline)
{
  g_return_val_if_fail(pipeline != NULL, NULL);
  return pipeline->name;
}

const char *
lethe_pipeline_get_description(const LethePipeline *pipeline)
{
  g_return_val_if_fail(pipeline != NULL, NULL);
  return pipeline->description;
}

guint64
lethe_pipeline_get_seed(const LethePipeline *pipeline)
{
  g_return_val_if_fail(pipeline != NULL, 0);
  return pipeline->seed;
}

void
lethe_pipeline_set_seed(LethePipeline *pipeline, guint64 seed)
{
  g_return_if_fail(pipeline != NULL);
  pipeline->seed = seed;
}

LetheRegistry *
lethe_pipeline_get_registry(const LethePipeline *pipeline)
{
  g_return_val_if_fail(pipeline != NULL, NULL);
  return pipeline->registry;
}

const char *
lethe_pipeline_get_base_dir(const LethePipeline *pipeline)
{
  g_return_val_if_fail(pipeline != NULL, NULL);
  return pipeline->base_dir;
}

/* ---- Building in code --------------------------------------------------- */

static char *
suggestion_for_node(const LethePipeline *pipeline, const char *name)
{
  g_autofree const char **names = g_new0(const char *, pipeline->nodes->len + 1);
  for (guint i = 0; i < pipeline->nodes->len; i++)
    names[i] = ((PipelineNode *)g_ptr_array_index(pipeline->nodes, i))->name;
  const char *best = lethe_suggest(name, names);
  return best ? g_strdup_printf("; did you mean '%s'?", best) : g_strdup("");
}

static char *
suggestion_for_param(const LetheNodeType *type, const char *name)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new();
  for (const LetheParamSpec *p = type->params; p && p->name; p++)
    g_ptr_array_add(names, (gpointer)p->name);
  g_ptr_array_add(names, NULL);
  const char *best = lethe_suggest(name, (const char *const *)names->pdata);
  return best ? g_strdup_printf("; did you mean '%s'?", best) : g_strdup("");
}

static PipelineNode *
lookup_node(const LethePipeline *pipeline, const char *name, GError **error)
{
  PipelineNode *node = g_hash_table_lookup(pipeline->by_name, name);
  if (!node) {
    g_autofree char *hint = suggestion_for_node(pipeline, name);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "%s has no node '%s'%s",
                pipeline->origin, name, hint);
  }
  return node;
}

gboolean
lethe_pipeline_add_node(LethePipeline *pipeline, const char *name, const char *node_type,
                        GError **error)
{
  g_return_val_if_fail(pipeline != NULL, FALSE);
  g_return_val_if_fail(name != NULL, FALSE);
  g_return_val_if_fail(node_type != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  if (!pipeline_name_is_valid(name) || g_str_equal(name, "pipeline")) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "invalid node name '%s': use letters, digits, '-' and '_' "
                "(and not 'pipeline', which names the header)",
                name);
    return FALSE;
  }
  if (g_hash_table_contains(pipeline->by_name, name)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "%s already has a node called '%s'",
                pipeline->origin, name);
    return FALSE;
  }
  if (!lethe_registry_find_node_type(pipeline->registry, node_type, NULL)) {
    g_auto(GStrv) names = lethe_registry_get_node_type_names(pipeline->registry);
    const char *best = lethe_suggest(node_type, (const char *const *)names);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                "unknown node type '%s' for node '%s'%s%s%s", node_type, name,
                best ? "; did you mean '" : "; `lethe inspect` lists the node types installed",
                best ? best : "", best ? "'?" : "");
    return FALSE;
  }

  PipelineNode *node = pipeline_node_new(name, 0);
  node->type = g_strdup(node_type);
  g_ptr_array_add(pipeline->nodes, node);
  g_hash_table_insert(pipeline->by_name, node->name, node);
  pipeline_invalidate(pipeline);
  return TRUE;
}

gboolean
lethe_pipeline_set_param(LethePipeline *pipeline, const char *node_name, const char *param,
                         const char *value, GError **error)
{
  g_return_val_if_fail(pipeline != NULL, FALSE);
  g_return_val_if_fail(node_name != NULL && param != NULL && value != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  PipelineNode *node = lookup_node(pipeline, node_name, error);
  if (!node)
    return FALSE;
  const LetheNodeType *type =
      node->type ? lethe_registry_find_node_type(pipeline->registry, node->type, NULL) : NULL;
  if (type) {
    const LetheParamSpec *spec = lethe_param_find(type, param);
    g_autoptr(GError) local = NULL;
    if (!spec) {
      g_autofree char *hint = suggestion_for_param(type, param);
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                  "unknown parameter '%s' for node '%s' (%s)%s", param, node_name, node->type,
                  hint);
      return FALSE;
    }
    if (!lethe_param_parse_check(spec, value, &local)) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "invalid value for parameter '%s' of node '%s' (%s): %s", param, node_name,
                  node->type, local->message);
      return FALSE;
    }
  }
  pipeline_node_set_entry(node, param, value, 0);
  pipeline_invalidate(pipeline);
  return TRUE;
}

gboolean
lethe_pipeline_link(LethePipeline *pipeline, const char *from_node, const char *from_port,
                    const char *to_node, const char *to_port, GError **error)
{
  g_return_val_if_fail(pipeline != NULL, FALSE);
  g_return_val_if_fail(from_node != NULL && to_node != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  PipelineNode *from = lookup_node(pipeline, from_node, error);
  if (!from)
    return FALSE;
  PipelineNode *to = lookup_node(pipeline, to_node, error);
  if (!to)
    return FALSE;

  const LetheNodeType *from_type =
      from->type ? lethe_registry_find_node_type(pipeline->registry, from->type, NULL) : NULL;
  const LetheNodeType *to_type =
      to->type ? lethe_registry_find_node_type(pipeline->registry, to->type, NULL) : NULL;

  if (from_port && from_type && lethe_node_type_find_output(from_type, from_port) < 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "node '%s' (%s) has no output port '%s'",
                from_node, from->type, from_port);
    return FALSE;
  }
  if (!to_port) {
    /* No port named: the node's only input port. */
    guint n = 0;
    for (const LethePortSpec *p = to_type ? to_type->inputs : NULL; p && p->name; p++)
      n++;
    if (n != 1) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "node '%s' (%s) has %u input ports; name the one to link", to_node,
                  to->type ? to->type : "?", n);
      return FALSE;
    }
    to_port = to_type->inputs[0].name;
  } else if (to_type && lethe_node_type_find_input(to_type, to_port) < 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "node '%s' (%s) has no input port '%s'",
                to_node, to->type, to_port);
    return FALSE;
  }
  if (pipeline_node_find_entry(to, to_port)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "input port '%s' of node '%s' is already linked; an input takes one link", to_port,
                to_node);
    return FALSE;
  }

  g_autofree char *ref =
      from_port ? g_strdup_printf("%s.%s", from_node, from_port) : g_strdup(from_node);
  pipeline_node_set_entry(to, to_port, ref, 0);
  pipeline_invalidate(pipeline);
  return TRUE;
}

/* ---- Overrides ----------------------------------------------------------- */

gboolean
lethe_pipeline_override(LethePipeline *pipeline, const char *assignment, GError **error)
{
  g_return_val_if_fail(pipeline != NULL, FALSE);
  g_return_val_if_fail(assignment != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  const char *eq = strchr(assignment, '=');
  const char *dot = eq ? memchr(assignment, '.', eq - assignment) : NULL;
  if (!eq || !dot || dot == assignment || dot + 1 == eq) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "override '%s' is not of the form node.param=value", assignment);
    return FALSE;
  }
  g_autofree char *node_name = g_strndup(assignment, dot - assignment);
  g_autofree char *param = g_strstrip(g_strndup(dot + 1, eq - dot - 1));
  const char *value = eq + 1;

  if (g_str_equal(node_name, "pipeline")) {
    if (g_str_equal(param, "seed")) {
      guint64 seed;
      if (!g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT64, &seed, NULL)) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                    "invalid seed '%s' in override '%s': use a non-negative integer", value,
                    assignment);
        return FALSE;
      }
      pipeline->seed = seed;
      return TRUE;
    }
    if (g_str_equal(param, "description")) {
      g_free(pipeline->description);
      pipeline->description = g_strdup(value);
      return TRUE;
    }
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                "unknown header key '%s' in override '%s'; the header has 'seed' and "
                "'description'",
                param, assignment);
    return FALSE;
  }

  PipelineNode *node = g_hash_table_lookup(pipeline->by_name, node_name);
  if (!node) {
    g_autofree char *hint = suggestion_for_node(pipeline, node_name);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                "override '%s' names unknown node '%s'%s", assignment, node_name, hint);
    return FALSE;
  }
  const LetheNodeType *type =
      node->type ? lethe_registry_find_node_type(pipeline->registry, node->type, NULL) : NULL;
  if (type) {
    const LetheParamSpec *spec = lethe_param_find(type, param);
    g_autoptr(GError) local = NULL;
    if (!spec && lethe_node_type_find_input(type, param) >= 0) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "override '%s': '%s' is an input port of node '%s' (%s), not a parameter; "
                  "overrides set parameters only",
                  assignment, param, node_name, node->type);
      return FALSE;
    }
    if (!spec) {
      g_autofree char *hint = suggestion_for_param(type, param);
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                  "override '%s': unknown parameter '%s' for node '%s' (%s)%s", assignment, param,
                  node_name, node->type, hint);
      return FALSE;
    }
    if (!lethe_param_parse_check(spec, value, &local)) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "override '%s': invalid value for parameter '%s' of node '%s' (%s): %s",
                  assignment, param, node_name, node->type, local->message);
      return FALSE;
    }
  }
  /* An unknown node type is reported by validation; keep the value. */
  pipeline_node_set_entry(node, param, value, -1);
  pipeline_node_find_entry(node, param)->overridden = TRUE;
  pipeline_invalidate(pipeline);
  return TRUE;
}

/* ---- Reading the graph ---------------------------------------------------- */

PipelineNode *
pipeline_topo_node(const LethePipeline *pipeline, guint index)
{
  pipeline_resolve((LethePipeline *)pipeline);
  return g_ptr_array_index(pipeline->nodes, pipeline->order[index]);
}

#define CHECK_NODE(pipeline, node, val)                                                            \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_return_val_if_fail((pipeline) != NULL, val);                                                 \
    g_return_val_if_fail((node) < (pipeline)->nodes->len, val);                                    \
  }                                                                                                \
  G_STMT_END

guint
lethe_pipeline_get_n_nodes(const LethePipeline *pipeline)
{
  g_return_val_if_fail(pipeline != NULL, 0);
  return pipeline->nodes->len;
}

guint
lethe_pipeline_get_n_links(const LethePipeline *pipeline)
{
  g_return_val_if_fail(pipeline != NULL, 0);
  pipeline_resolve((LethePipeline *)pipeline);
  return pipeline->n_links;
}

int
lethe_pipeline_find_node(const LethePipeline *pipeline, const char *name)
{
  g_return_val_if_fail(pipeline != NULL && name != NULL, -1);
  PipelineNode *node = g_hash_table_lookup(pipeline->by_name, name);
  if (!node)
    return -1;
  pipeline_resolve((LethePipeline *)pipeline);
  return (int)node->topo;
}

const char *
lethe_pipeline_node_name(const LethePipeline *pipeline, guint node)
{
  CHECK_NODE(pipeline, node, NULL);
  return pipeline_topo_node(pipeline, node)->name;
}

const char *
lethe_pipeline_node_type(const LethePipeline *pipeline, guint node)
{
  CHECK_NODE(pipeline, node, NULL);
  return pipeline_topo_node(pipeline, node)->type;
}

const LetheNodeType *
lethe_pipeline_node_get_type(const LethePipeline *pipeline, guint node)
{
  CHECK_NODE(pipeline, node, NULL);
  return pipeline_topo_node(pipeline, node)->node_type;
}

int
lethe_pipeline_node_line(const LethePipeline *pipeline, guint node)
{
  CHECK_NODE(pipeline, node, 0);
  return pipeline_topo_node(pipeline, node)->line;
}

const char *
lethe_pipeline_node_param(const LethePipeline *pipeline, guint node, const char *param)
{
  CHECK_NODE(pipeline, node, NULL);
  g_return_val_if_fail(param != NULL, NULL);
  PipelineNode *n = pipeline_topo_node(pipeline, node);
  const LetheParamSpec *spec = n->node_type ? lethe_param_find(n->node_type, param) : NULL;

  if (n->node_type && lethe_node_type_find_input(n->node_type, param) >= 0 && !spec)
    return NULL;
  PipelineEntry *entry = pipeline_node_find_entry(n, param);
  if (entry)
    return entry->value;
  return spec ? spec->default_value : NULL;
}

gboolean
lethe_pipeline_node_param_is_set(const LethePipeline *pipeline, guint node, const char *param)
{
  CHECK_NODE(pipeline, node, FALSE);
  g_return_val_if_fail(param != NULL, FALSE);
  PipelineNode *n = pipeline_topo_node(pipeline, node);
  if (n->node_type && lethe_node_type_find_input(n->node_type, param) >= 0 &&
      !lethe_param_find(n->node_type, param))
    return FALSE;
  return pipeline_node_find_entry(n, param) != NULL;
}

gboolean
lethe_pipeline_node_input(const LethePipeline *pipeline, guint node, guint port, guint *from_node,
                          guint *from_port)
{
  CHECK_NODE(pipeline, node, FALSE);
  PipelineNode *n = pipeline_topo_node(pipeline, node);
  if (port >= n->n_inputs || n->in_node[port] < 0)
    return FALSE;
  PipelineNode *up = g_ptr_array_index(pipeline->nodes, n->in_node[port]);
  if (from_node)
    *from_node = up->topo;
  if (from_port)
    *from_port = (guint)n->in_port[port];
  return TRUE;
}

gboolean
lethe_pipeline_node_param_value(const LethePipeline *pipeline, guint node, const char *param,
                                LetheParamValue *value, GError **error)
{
  CHECK_NODE(pipeline, node, FALSE);
  g_return_val_if_fail(param != NULL && value != NULL, FALSE);
  PipelineNode *n = pipeline_topo_node(pipeline, node);
  const LetheParamSpec *spec = n->node_type ? lethe_param_find(n->node_type, param) : NULL;
  g_autoptr(GError) local = NULL;

  if (!spec) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "node '%s' (%s) has no parameter '%s'",
                n->name, n->type ? n->type : "?", param);
    return FALSE;
  }
  PipelineEntry *entry = pipeline_node_find_entry(n, param);
  const char *text = entry ? entry->value : spec->default_value;
  g_autofree char *where = pipeline_where(pipeline, entry ? entry->line : n->line);
  if (!text) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "missing required parameter '%s' for node '%s' (%s)%s", param, n->name, n->type,
                where);
    return FALSE;
  }
  if (!lethe_param_value_parse(spec, text, pipeline->base_dir, value, &local)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "invalid value for parameter '%s' of node '%s' (%s)%s: %s", param, n->name, n->type,
                where, local->message);
    return FALSE;
  }
  return TRUE;
}

/* ---- Writing it back out --------------------------------------------------- */

/* @value as a key file writes it (escapes, leading spaces). */
static char *
keyfile_escape(const char *value)
{
  g_autoptr(GKeyFile) kf = g_key_file_new();
  g_key_file_set_string(kf, "g", "k", value);
  return g_key_file_get_value(kf, "g", "k", NULL);
}

static void
append_entry(GString *out, const char *prefix, const char *key, const char *value)
{
  g_autofree char *escaped = keyfile_escape(value);
  g_string_append_printf(out, "%s%s=%s\n", prefix, key, escaped);
}

char *
lethe_pipeline_to_keyfile(LethePipeline *pipeline)
{
  g_return_val_if_fail(pipeline != NULL, NULL);
  pipeline_resolve(pipeline);

  g_autoptr(GString) out = g_string_new(NULL);
  g_string_append(out, "# Written by lethe " LETHE_VERSION ": overrides applied; a parameter "
                       "left unset shows\n# its default as a comment, and file names are "
                       "absolute.\n[pipeline]\n");
  if (pipeline->description)
    append_entry(out, "", "description", pipeline->description);
  g_string_append_printf(out, "seed=%" G_GUINT64_FORMAT "\n", pipeline->seed);

  /* Nodes keep file order (a reader finds them where the author put them);
   * inside a node: plugin, inputs, then every parameter in the node type's
   * order, then whatever the node type does not know (an invalid file
   * round-trips unchanged).  A default stays a comment, not a value: some
   * node types act on whether a parameter was set (a learner's own seed),
   * so writing defaults out would change what the file means. */
  for (guint i = 0; i < pipeline->nodes->len; i++) {
    PipelineNode *node = g_ptr_array_index(pipeline->nodes, i);
    const LetheNodeType *type = node->node_type;
    g_string_append_printf(out, "\n[%s]\n", node->name);
    if (node->type)
      append_entry(out, "", "plugin", node->type);
    for (const LethePortSpec *p = type ? type->inputs : NULL; p && p->name; p++) {
      PipelineEntry *entry = pipeline_node_find_entry(node, p->name);
      if (entry)
        append_entry(out, "", p->name, entry->value);
    }
    for (const LetheParamSpec *s = type ? type->params : NULL; s && s->name; s++) {
      PipelineEntry *entry = pipeline_node_find_entry(node, s->name);
      if (entry == NULL) {
        if (s->default_value)
          append_entry(out, "#", s->name, s->default_value);
        continue;
      }
      /* Absolute, so the file means the same from any folder. */
      if (s->type == LETHE_PARAM_PATH && entry->value[0] && !g_path_is_absolute(entry->value)) {
        g_autofree char *full = g_canonicalize_filename(entry->value, pipeline->base_dir);
        append_entry(out, "", s->name, full);
      } else {
        append_entry(out, "", s->name, entry->value);
      }
    }
    for (guint e = 0; e < node->entries->len; e++) {
      PipelineEntry *entry = g_ptr_array_index(node->entries, e);
      if (!type ||
          (!lethe_param_find(type, entry->key) && lethe_node_type_find_input(type, entry->key) < 0))
        append_entry(out, "", entry->key, entry->value);
    }
  }
  return g_string_free(g_steal_pointer(&out), FALSE);
}
