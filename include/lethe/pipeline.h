/* Lethe — pipelines: the graph of nodes, from a file or built in code.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_PIPELINE_H
#define LETHE_PIPELINE_H

#include <lethe/registry.h>

G_BEGIN_DECLS

/**
 * LethePipeline:
 *
 * Nodes (name, node type, parameters as written, source line) and links
 * (upstream node and output port → downstream node and input port), plus
 * the header (`[pipeline]`: description, seed).  Built from a pipeline file
 * (GKeyFile syntax, lethe-pipeline(5)) or in code.  Not thread-safe; a
 * running pipeline is read-only.  Opaque.
 */
typedef struct _LethePipeline LethePipeline;

/**
 * LetheProblem:
 * One thing wrong with a pipeline: where (@file, @line; 0 when unknown,
 * @node and @plugin when it concerns a node) and what (@message, which
 * includes a suggestion where there is one).
 */
typedef struct {
  char *file;
  int line;
  char *node;
  char *plugin;
  char *message;
} LetheProblem;

/** lethe_problem_to_string: (transfer full) "FILE:LINE: message". */
char *lethe_problem_to_string(const LetheProblem *problem);

/** lethe_pipeline_new: (transfer full) an empty pipeline using @registry (a ref is taken). */
LethePipeline *lethe_pipeline_new(LetheRegistry *registry);
/**
 * lethe_pipeline_new_from_file:
 * Reads a pipeline file.  Fails only when the file cannot be read or is not
 * GKeyFile syntax; everything else is reported by lethe_pipeline_validate().
 * Returns: (transfer full)
 */
LethePipeline *lethe_pipeline_new_from_file(const char *path, LetheRegistry *registry,
                                            GError **error);
/** lethe_pipeline_new_from_data: like _from_file; @origin names it in messages. */
LethePipeline *lethe_pipeline_new_from_data(const char *data, gssize length, const char *origin,
                                            LetheRegistry *registry, GError **error);
LethePipeline *lethe_pipeline_ref(LethePipeline *pipeline);
void lethe_pipeline_unref(LethePipeline *pipeline);

/* Building in code. */
gboolean lethe_pipeline_add_node(LethePipeline *pipeline, const char *name, const char *node_type,
                                 GError **error);
gboolean lethe_pipeline_set_param(LethePipeline *pipeline, const char *node, const char *param,
                                  const char *value, GError **error);
gboolean lethe_pipeline_link(LethePipeline *pipeline, const char *from_node, const char *from_port,
                             const char *to_node, const char *to_port, GError **error);
/**
 * lethe_pipeline_override:
 * Applies a command-line assignment "node.param=value".
 */
gboolean lethe_pipeline_override(LethePipeline *pipeline, const char *assignment, GError **error);

/**
 * lethe_pipeline_validate:
 * Checks everything that can be checked without running: node types,
 * parameters (names, types, ranges), links (ports exist, schemas
 * compatible, every required input connected), no cycle.
 * Returns: (transfer full) (element-type LetheProblem): every problem found,
 * in file order; empty when valid.
 */
GPtrArray *lethe_pipeline_validate(LethePipeline *pipeline);

const char *lethe_pipeline_get_path(const LethePipeline *pipeline);
/** lethe_pipeline_get_name: the file's base name without extension, or "pipeline". */
const char *lethe_pipeline_get_name(const LethePipeline *pipeline);
const char *lethe_pipeline_get_description(const LethePipeline *pipeline);
guint64 lethe_pipeline_get_seed(const LethePipeline *pipeline);
void lethe_pipeline_set_seed(LethePipeline *pipeline, guint64 seed);
LetheRegistry *lethe_pipeline_get_registry(const LethePipeline *pipeline);

/* Reading the graph (valid pipelines only), nodes in topological order. */
guint lethe_pipeline_get_n_nodes(const LethePipeline *pipeline);
const char *lethe_pipeline_node_name(const LethePipeline *pipeline, guint node);
const char *lethe_pipeline_node_type(const LethePipeline *pipeline, guint node);
int lethe_pipeline_node_line(const LethePipeline *pipeline, guint node);
/**
 * lethe_pipeline_node_param:
 * Returns: (transfer none) (nullable): the value as written (after
 * overrides), the default when not set, %NULL when neither.
 */
const char *lethe_pipeline_node_param(const LethePipeline *pipeline, guint node, const char *param);
/** lethe_pipeline_node_param_is_set: %TRUE when the file or an override set it. */
gboolean lethe_pipeline_node_param_is_set(const LethePipeline *pipeline, guint node,
                                          const char *param);
/**
 * lethe_pipeline_node_input:
 * @from_node: (out): index of the upstream node
 * @from_port: (out): its output port index
 * Returns: %FALSE when input port @port of @node is unconnected.
 */
gboolean lethe_pipeline_node_input(const LethePipeline *pipeline, guint node, guint port,
                                   guint *from_node, guint *from_port);

/** lethe_pipeline_to_dot: (transfer full) the graph as Graphviz DOT. */
char *lethe_pipeline_to_dot(LethePipeline *pipeline);
/**
 * lethe_pipeline_to_keyfile:
 * Returns: (transfer full) the pipeline as a pipeline file, overrides
 * applied and every default written out (for `pipeline.lethe` in a run).
 */
char *lethe_pipeline_to_keyfile(LethePipeline *pipeline);

/**
 * lethe_param_parse_check:
 * Parses @text as a value of @spec (type, range, choices); on failure
 * @error says what is wrong with the value, for use in a message.
 */
gboolean lethe_param_parse_check(const LetheParamSpec *spec, const char *text, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(LethePipeline, lethe_pipeline_unref)

G_END_DECLS

#endif /* LETHE_PIPELINE_H */
