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
 * applied, relative file names made absolute, and the default of each
 * parameter left unset written as a comment, so reading it back gives the
 * same values and the same parameters set (for `pipeline.lethe` in a run).
 */
char *lethe_pipeline_to_keyfile(LethePipeline *pipeline);

/**
 * lethe_pipeline_get_base_dir:
 * Returns: (transfer none): the folder relative %LETHE_PARAM_PATH values are
 * resolved against: the pipeline file's folder, or the current folder for
 * a pipeline built in code.
 */
const char *lethe_pipeline_get_base_dir(const LethePipeline *pipeline);
/** lethe_pipeline_get_n_links: how many input ports are connected (valid pipelines). */
guint lethe_pipeline_get_n_links(const LethePipeline *pipeline);
/**
 * lethe_pipeline_node_get_type:
 * Returns: (transfer none) (nullable): the cached node type of @node, %NULL
 * when the registry does not know it.
 */
const LetheNodeType *lethe_pipeline_node_get_type(const LethePipeline *pipeline, guint node);
/** lethe_pipeline_find_node: the index of the node called @name, or -1. */
int lethe_pipeline_find_node(const LethePipeline *pipeline, const char *name);

/**
 * LetheParamValue:
 * @type: the #LetheParamType it was parsed as
 * @b: %LETHE_PARAM_BOOL
 * @i: %LETHE_PARAM_INT
 * @d: %LETHE_PARAM_DOUBLE
 * @s: %LETHE_PARAM_STRING, %LETHE_PARAM_ENUM and %LETHE_PARAM_PATH (a path
 *   already resolved against the pipeline's folder); never %NULL
 * @ints: %LETHE_PARAM_INT_LIST, @n values (%NULL when @n is 0)
 * @doubles: %LETHE_PARAM_DOUBLE_LIST, @n values (%NULL when @n is 0)
 * @n: the number of list elements
 *
 * One parsed, range-checked parameter value.  Release with
 * lethe_param_value_clear().
 */
typedef struct {
  LetheParamType type;
  union {
    gboolean b;
    gint64 i;
    double d;
    char *s;
    gint64 *ints;
    double *doubles;
  };
  gsize n;
} LetheParamValue;

/**
 * lethe_param_value_parse:
 * @spec: what the value must be
 * @text: the value as written in a pipeline file
 * @base_dir: (nullable): folder that relative paths are resolved against
 * @value: (out caller-allocates): the parsed value; untouched on failure
 *
 * Parses @text as a value of @spec: its type, range and choices.
 * Booleans accept true/false, yes/no, on/off and 1/0; lists are
 * comma-separated and may be empty.  On failure @error (%LETHE_ERROR_INVALID)
 * says what is wrong with the value, e.g. "'12' is out of range [1, 10]".
 */
gboolean lethe_param_value_parse(const LetheParamSpec *spec, const char *text, const char *base_dir,
                                 LetheParamValue *value, GError **error);
/** lethe_param_value_clear: frees what @value holds (not @value itself). */
void lethe_param_value_clear(LetheParamValue *value);

/**
 * lethe_param_parse_check:
 * Parses @text as a value of @spec (type, range, choices); on failure
 * @error says what is wrong with the value, for use in a message.
 */
gboolean lethe_param_parse_check(const LetheParamSpec *spec, const char *text, GError **error);
/** lethe_param_find: (nullable) the spec called @name in @type's parameters. */
const LetheParamSpec *lethe_param_find(const LetheNodeType *type, const char *name);
/**
 * lethe_node_type_find_input / lethe_node_type_find_output:
 * Returns: the index of the port called @name, or -1.
 */
int lethe_node_type_find_input(const LetheNodeType *type, const char *name);
int lethe_node_type_find_output(const LetheNodeType *type, const char *name);

/**
 * lethe_pipeline_node_param_value:
 * @value: (out caller-allocates)
 * Parses parameter @param of @node (its value or its default) into @value,
 * resolving paths against lethe_pipeline_get_base_dir().  Fails when the
 * node type does not declare @param, when the parameter is required and
 * unset, or when the value does not parse; @error then says where.
 */
gboolean lethe_pipeline_node_param_value(const LethePipeline *pipeline, guint node,
                                         const char *param, LetheParamValue *value, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(LethePipeline, lethe_pipeline_unref)

G_END_DECLS

#endif /* LETHE_PIPELINE_H */
