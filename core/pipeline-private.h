/* Lethe — pipeline internals shared by pipeline*.c.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_PIPELINE_PRIVATE_H
#define LETHE_PIPELINE_PRIVATE_H

#include <lethe/pipeline.h>

G_BEGIN_DECLS

/* One key of a node as written: a parameter or an input reference; which
 * one is decided against the node type when the pipeline is resolved. */
typedef struct {
  char *key;
  char *value;
  int line;            /* 0 when set in code */
  gboolean overridden; /* set by lethe_pipeline_override() */
} PipelineEntry;

typedef struct {
  char *name;
  int line;           /* of its [group] header; 0 when built in code */
  char *type;         /* the `plugin =` value; NULL when missing */
  int type_line;      /* of the `plugin =` key */
  GPtrArray *entries; /* PipelineEntry, in file order, `plugin` excluded */

  /* Filled by pipeline_resolve(). */
  const LetheNodeType *node_type;  /* NULL when unknown */
  const LethePluginRecord *plugin; /* who provides it */
  guint n_inputs, n_outputs;
  int *in_node; /* per input port: upstream node (file order) or -1 */
  int *in_port; /* per input port: upstream output port */
  int *in_line; /* per input port: line of the reference */
  guint topo;   /* position in topological order */
} PipelineNode;

struct _LethePipeline {
  gatomicrefcount ref;
  LetheRegistry *registry;
  char *path;   /* NULL when built in code or from data */
  char *origin; /* the name messages use for the file */
  char *name;
  char *base_dir;
  char *description;
  guint64 seed;
  int seed_line;

  GPtrArray *nodes;         /* PipelineNode, in file order */
  GHashTable *by_name;      /* name → PipelineNode (borrowed) */
  GPtrArray *load_problems; /* LetheProblem found while reading the file */

  gboolean resolved;
  GPtrArray *resolve_problems; /* LetheProblem from the last resolution */
  guint *order;                /* topological order: file-order indices */
  guint n_links;
};

void pipeline_problem_free(gpointer problem);
/* Appends a problem.  The message reads "@what at ORIGIN:LINE; @fix". */
void pipeline_add_problem(const LethePipeline *pipeline, GPtrArray *problems, int line,
                          const char *node, const char *plugin, const char *fix,
                          const char *what_format, ...) G_GNUC_PRINTF(7, 8);
/* " at ORIGIN:LINE", "" for line 0. */
char *pipeline_where(const LethePipeline *pipeline, int line);

PipelineNode *pipeline_node_new(const char *name, int line);
void pipeline_node_clear_resolution(PipelineNode *node);
PipelineEntry *pipeline_node_find_entry(PipelineNode *node, const char *key);
void pipeline_node_set_entry(PipelineNode *node, const char *key, const char *value, int line);
gboolean pipeline_name_is_valid(const char *name);
/* "an integer", "a boolean (true or false)"… for messages. */
const char *pipeline_param_type_phrase(LetheParamType type);

/* Classifies entries against node types, links ports, orders the nodes;
 * problems found are kept in resolve_problems.  Idempotent until the
 * pipeline changes. */
void pipeline_resolve(LethePipeline *pipeline);
void pipeline_invalidate(LethePipeline *pipeline);
/* The node at topological position @index. */
PipelineNode *pipeline_topo_node(const LethePipeline *pipeline, guint index);

G_END_DECLS

#endif
