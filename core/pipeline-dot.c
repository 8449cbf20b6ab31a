/* Lethe — a pipeline as Graphviz DOT (`lethe graph`).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One record per node: input ports on the left, "name (node type)" in the
 * middle, output ports on the right; one edge per link, labelled with the
 * schema it carries.  Only what resolves is drawn, so an invalid pipeline
 * still gives a picture of what it can.
 */
#include "pipeline-private.h"

#include <string.h>

/* Text inside a record label: record syntax and DOT string quoting. */
static void
append_label_text(GString *out, const char *text)
{
  for (const char *c = text; c && *c; c++) {
    if (strchr("{}|<>\"\\", *c))
      g_string_append_c(out, '\\');
    g_string_append_c(out, *c);
  }
}

static void
append_quoted(GString *out, const char *text)
{
  g_string_append_c(out, '"');
  for (const char *c = text; c && *c; c++) {
    if (*c == '"' || *c == '\\')
      g_string_append_c(out, '\\');
    g_string_append_c(out, *c);
  }
  g_string_append_c(out, '"');
}

static void
append_ports(GString *out, const LethePortSpec *ports, char prefix)
{
  guint i = 0;
  g_string_append_c(out, '{');
  for (const LethePortSpec *p = ports; p && p->name; p++, i++) {
    g_string_append_printf(out, "%s<%c%u> ", i ? "|" : "", prefix, i);
    append_label_text(out, p->name);
  }
  g_string_append_c(out, '}');
}

char *
lethe_pipeline_to_dot(LethePipeline *pipeline)
{
  g_return_val_if_fail(pipeline != NULL, NULL);
  GString *out = g_string_new("digraph ");

  pipeline_resolve(pipeline);
  append_quoted(out, pipeline->name);
  g_string_append(out, " {\n  rankdir=LR;\n  node [shape=Mrecord, fontname=\"sans\"];\n"
                       "  edge [fontname=\"sans\", fontsize=10];\n");
  if (pipeline->description) {
    g_string_append(out, "  label=");
    append_quoted(out, pipeline->description);
    g_string_append(out, ";\n  labelloc=t;\n");
  }

  for (guint k = 0; k < pipeline->nodes->len; k++) {
    PipelineNode *node = pipeline_topo_node(pipeline, k);
    const LetheNodeType *type = node->node_type;
    g_autoptr(GString) label = g_string_new(NULL);

    if (type && type->inputs && type->inputs[0].name) {
      append_ports(label, type->inputs, 'i');
      g_string_append_c(label, '|');
    }
    append_label_text(label, node->name);
    g_string_append(label, "\\n(");
    append_label_text(label, node->type ? node->type : "no plugin");
    g_string_append_c(label, ')');
    if (type && type->outputs && type->outputs[0].name) {
      g_string_append_c(label, '|');
      append_ports(label, type->outputs, 'o');
    }
    g_string_append(out, "  ");
    append_quoted(out, node->name);
    g_string_append_printf(out, " [label=\"{%s}\"%s];\n", label->str, type ? "" : ", color=red");
  }

  for (guint k = 0; k < pipeline->nodes->len; k++) {
    PipelineNode *node = pipeline_topo_node(pipeline, k);
    for (guint p = 0; p < node->n_inputs; p++) {
      if (node->in_node[p] < 0)
        continue;
      PipelineNode *up = g_ptr_array_index(pipeline->nodes, node->in_node[p]);
      const char *produced = up->node_type->outputs[node->in_port[p]].schema;
      const char *consumed = node->node_type->inputs[p].schema;
      g_autofree char *schema = NULL;

      produced = produced ? produced : "any";
      consumed = consumed ? consumed : "any";
      schema = g_str_equal(produced, consumed) ? g_strdup(produced)
                                               : g_strdup_printf("%s → %s", produced, consumed);
      g_string_append(out, "  ");
      append_quoted(out, up->name);
      g_string_append_printf(out, ":o%d -> ", node->in_port[p]);
      append_quoted(out, node->name);
      g_string_append_printf(out, ":i%u [label=", p);
      append_quoted(out, schema);
      if (node->node_type->inputs[p].flags & LETHE_PORT_STICKY)
        g_string_append(out, ", style=dashed");
      g_string_append(out, "];\n");
    }
  }
  g_string_append(out, "}\n");
  return g_string_free(out, FALSE);
}
