/* Lethe — checking a pipeline without running it.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Resolution turns what the file says into a graph: each node's type from
 * the registry's cached metadata (no plugin is opened), each key either an
 * input reference or a parameter, each reference a (node, port) pair, and
 * the nodes in topological order.  Every problem found on the way is kept,
 * so one `lethe validate` lists them all.
 */
#include "pipeline-private.h"

#include <lethe/schema.h>
#include <string.h>

static char *
join_ports(const LethePortSpec *ports)
{
  g_autoptr(GString) s = g_string_new(NULL);
  for (const LethePortSpec *p = ports; p && p->name; p++)
    g_string_append_printf(s, "%s%s", s->len ? ", " : "", p->name);
  return g_string_free(g_steal_pointer(&s), FALSE);
}

static guint
count_ports(const LethePortSpec *ports)
{
  guint n = 0;
  for (const LethePortSpec *p = ports; p && p->name; p++)
    n++;
  return n;
}

/* "did you mean 'x'?" or @otherwise. */
static char *
fix_suggest(const char *name, const char *const *candidates, const char *otherwise)
{
  const char *best = candidates ? lethe_suggest(name, candidates) : NULL;
  if (best)
    return g_strdup_printf("did you mean '%s'?", best);
  return g_strdup(otherwise);
}

static void
resolve_type(LethePipeline *pipeline, PipelineNode *node, GPtrArray *problems)
{
  if (!node->type) {
    pipeline_add_problem(pipeline, problems, node->line, node->name, NULL,
                         "add 'plugin = NODE-TYPE' (`lethe inspect` lists them)",
                         "node '%s' has no 'plugin' key", node->name);
    return;
  }
  node->node_type = lethe_registry_find_node_type(pipeline->registry, node->type, &node->plugin);
  if (!node->node_type) {
    g_auto(GStrv) names = lethe_registry_get_node_type_names(pipeline->registry);
    g_autofree char *fix = fix_suggest(node->type, (const char *const *)names,
                                       "`lethe inspect` lists the node types installed");
    pipeline_add_problem(pipeline, problems, node->type_line, node->name, node->type, fix,
                         "unknown node type '%s' for node '%s'", node->type, node->name);
    return;
  }
  node->n_inputs = count_ports(node->node_type->inputs);
  node->n_outputs = count_ports(node->node_type->outputs);
  node->in_node = g_new(int, MAX(node->n_inputs, 1));
  node->in_port = g_new(int, MAX(node->n_inputs, 1));
  node->in_line = g_new0(int, MAX(node->n_inputs, 1));
  for (guint i = 0; i < node->n_inputs; i++)
    node->in_node[i] = node->in_port[i] = -1;
}

/* An input key: "node" or "node.port". */
static void
resolve_reference(LethePipeline *pipeline, PipelineNode *node, guint port,
                  const PipelineEntry *entry, GPtrArray *problems)
{
  const char *input = node->node_type->inputs[port].name;
  g_autofree char *target = g_strstrip(g_strdup(entry->value));
  char *dot = strchr(target, '.');
  const char *port_name = NULL;

  if (dot) {
    *dot = '\0';
    port_name = dot + 1;
  }
  node->in_line[port] = entry->line;

  PipelineNode *up = g_hash_table_lookup(pipeline->by_name, target);
  if (!up) {
    g_autofree const char **names = g_new0(const char *, pipeline->nodes->len + 1);
    for (guint i = 0; i < pipeline->nodes->len; i++)
      names[i] = ((PipelineNode *)g_ptr_array_index(pipeline->nodes, i))->name;
    g_autofree char *fix = fix_suggest(
        target, names, "write the name of a node of this file, as 'NODE' or 'NODE.PORT'");
    pipeline_add_problem(pipeline, problems, entry->line, node->name, node->type, fix,
                         "input '%s' of node '%s' (%s) names unknown node '%s'", input, node->name,
                         node->type, target);
    return;
  }
  if (!up->node_type)
    return; /* its own problem is reported */

  int out;
  if (port_name) {
    out = lethe_node_type_find_output(up->node_type, port_name);
    if (out < 0) {
      g_autoptr(GPtrArray) names = g_ptr_array_new();
      for (const LethePortSpec *p = up->node_type->outputs; p && p->name; p++)
        g_ptr_array_add(names, (gpointer)p->name);
      g_ptr_array_add(names, NULL);
      g_autofree char *list = join_ports(up->node_type->outputs);
      g_autofree char *otherwise = *list ? g_strdup_printf("its output ports are: %s", list)
                                         : g_strdup_printf("'%s' has no output ports", up->name);
      g_autofree char *fix = fix_suggest(port_name, (const char *const *)names->pdata, otherwise);
      pipeline_add_problem(pipeline, problems, entry->line, node->name, node->type, fix,
                           "input '%s' of node '%s' (%s) names unknown output port '%s' of "
                           "node '%s' (%s)",
                           input, node->name, node->type, port_name, up->name, up->type);
      return;
    }
  } else if (up->n_outputs == 1) {
    out = 0;
  } else if (up->n_outputs == 0) {
    pipeline_add_problem(pipeline, problems, entry->line, node->name, node->type,
                         "link it from a node that produces frames",
                         "input '%s' of node '%s' (%s) names node '%s' (%s), which has no "
                         "output ports",
                         input, node->name, node->type, up->name, up->type);
    return;
  } else {
    g_autofree char *list = join_ports(up->node_type->outputs);
    g_autofree char *fix = g_strdup_printf("write '%s.%s' or another of its ports", up->name,
                                           up->node_type->outputs[0].name);
    pipeline_add_problem(pipeline, problems, entry->line, node->name, node->type, fix,
                         "input '%s' of node '%s' (%s) names node '%s' (%s), which has several "
                         "output ports (%s)",
                         input, node->name, node->type, up->name, up->type, list);
    return;
  }
  guint index = 0;
  g_ptr_array_find(pipeline->nodes, up, &index);
  node->in_node[port] = (int)index;
  node->in_port[port] = out;
}

static void
resolve_entries(LethePipeline *pipeline, PipelineNode *node, GPtrArray *problems)
{
  const LetheNodeType *type = node->node_type;

  for (guint e = 0; e < node->entries->len; e++) {
    const PipelineEntry *entry = g_ptr_array_index(node->entries, e);
    int port = lethe_node_type_find_input(type, entry->key);
    if (port >= 0) {
      resolve_reference(pipeline, node, (guint)port, entry, problems);
      continue;
    }
    const LetheParamSpec *spec = lethe_param_find(type, entry->key);
    if (!spec) {
      g_autoptr(GPtrArray) names = g_ptr_array_new();
      g_autoptr(GString) list = g_string_new(NULL);
      for (const LetheParamSpec *p = type->params; p && p->name; p++) {
        g_ptr_array_add(names, (gpointer)p->name);
        g_string_append_printf(list, "%s%s", list->len ? ", " : "", p->name);
      }
      for (const LethePortSpec *p = type->inputs; p && p->name; p++)
        g_ptr_array_add(names, (gpointer)p->name);
      g_ptr_array_add(names, NULL);
      g_autofree char *otherwise = list->len
                                       ? g_strdup_printf("its parameters are: %s", list->str)
                                       : g_strdup_printf("'%s' takes no parameters", node->type);
      g_autofree char *fix = fix_suggest(entry->key, (const char *const *)names->pdata, otherwise);
      pipeline_add_problem(pipeline, problems, entry->line, node->name, node->type, fix,
                           "unknown parameter '%s' for node '%s' (%s)", entry->key, node->name,
                           node->type);
      continue;
    }
    g_autoptr(GError) local = NULL;
    if (!lethe_param_parse_check(spec, entry->value, &local))
      pipeline_add_problem(pipeline, problems, entry->line, node->name, node->type, local->message,
                           "invalid value for parameter '%s' of node '%s' (%s)", entry->key,
                           node->name, node->type);
  }

  for (const LetheParamSpec *p = type->params; p && p->name; p++) {
    if (p->default_value || pipeline_node_find_entry(node, p->name))
      continue;
    g_autofree char *fix =
        g_strdup_printf("add '%s = …' (%s%s%s)", p->name, pipeline_param_type_phrase(p->type),
                        p->doc ? ": " : "", p->doc ? p->doc : "");
    pipeline_add_problem(pipeline, problems, node->line, node->name, node->type, fix,
                         "missing required parameter '%s' for node '%s' (%s)", p->name, node->name,
                         node->type);
  }
}

static void
check_inputs_connected(LethePipeline *pipeline, PipelineNode *node, GPtrArray *problems)
{
  for (guint i = 0; i < node->n_inputs; i++) {
    const LethePortSpec *spec = &node->node_type->inputs[i];
    if (node->in_node[i] >= 0 || (spec->flags & LETHE_PORT_OPTIONAL))
      continue;
    /* A reference that failed to resolve is already reported. */
    if (pipeline_node_find_entry(node, spec->name))
      continue;
    g_autofree char *fix =
        g_strdup_printf("add '%s = NODE' or '%s = NODE.PORT' (it takes '%s' frames)", spec->name,
                        spec->name, spec->schema ? spec->schema : "any");
    pipeline_add_problem(pipeline, problems, node->line, node->name, node->type, fix,
                         "input port '%s' of node '%s' (%s) is not connected", spec->name,
                         node->name, node->type);
  }
}

static void
check_link_schemas(LethePipeline *pipeline, PipelineNode *node, GPtrArray *problems)
{
  for (guint i = 0; i < node->n_inputs; i++) {
    if (node->in_node[i] < 0)
      continue;
    PipelineNode *up = g_ptr_array_index(pipeline->nodes, node->in_node[i]);
    const LethePortSpec *out = &up->node_type->outputs[node->in_port[i]];
    const LethePortSpec *in = &node->node_type->inputs[i];
    const char *produced = out->schema ? out->schema : "any";
    const char *consumed = in->schema ? in->schema : "any";
    g_autoptr(GError) local = NULL;
    g_autofree char *difference = NULL;

    /* Frames from an "any" port are checked when they are pushed. */
    if (g_str_equal(produced, consumed) || g_str_equal(produced, "any") ||
        g_str_equal(consumed, "any"))
      continue;
    const LetheSchema *ps = lethe_schema_lookup(produced, &local);
    const LetheSchema *cs = ps ? lethe_schema_lookup(consumed, &local) : NULL;
    if (!ps || !cs) {
      pipeline_add_problem(pipeline, problems, node->in_line[i], node->name, node->type,
                           "install the schema or set LETHE_SCHEMA_PATH",
                           "cannot check link %s.%s → %s.%s: %s", up->name, out->name, node->name,
                           in->name, local->message);
      continue;
    }
    if (lethe_schema_link_compatible(ps, cs, &difference))
      continue;
    g_autofree char *fix =
        g_strdup_printf("link '%s' to a port that gives '%s' frames", in->name, consumed);
    pipeline_add_problem(pipeline, problems, node->in_line[i], node->name, node->type, fix,
                         "schemas do not match on link %s.%s → %s.%s: node '%s' (%s) output "
                         "'%s' gives '%s' frames, node '%s' (%s) input '%s' takes '%s' frames; "
                         "first difference: %s",
                         up->name, out->name, node->name, in->name, up->name, up->type, out->name,
                         produced, node->name, node->type, in->name, consumed,
                         difference ? difference : "(not given)");
  }
}

/* Kahn's algorithm, taking the earliest ready node in file order so the
 * order is stable.  Nodes left over are on or behind a cycle; each cycle
 * is reported once, naming its nodes in the direction frames would flow. */
static void
order_nodes(LethePipeline *pipeline, GPtrArray *problems)
{
  guint n = pipeline->nodes->len;
  g_autofree guint *pending = g_new0(guint, n);
  g_autofree gboolean *placed = g_new0(gboolean, n);
  g_autofree gboolean *reported = g_new0(gboolean, n);
  guint count = 0;

  g_free(pipeline->order);
  pipeline->order = g_new(guint, MAX(n, 1));
  pipeline->n_links = 0;
  for (guint i = 0; i < n; i++) {
    PipelineNode *node = g_ptr_array_index(pipeline->nodes, i);
    for (guint p = 0; p < node->n_inputs; p++) {
      if (node->in_node[p] >= 0) {
        pending[i]++;
        pipeline->n_links++;
      }
    }
  }

  while (count < n) {
    guint next = n;
    for (guint i = 0; i < n && next == n; i++) {
      if (!placed[i] && pending[i] == 0)
        next = i;
    }
    if (next == n)
      break;
    placed[next] = TRUE;
    pipeline->order[count++] = next;
    for (guint j = 0; j < n; j++) {
      PipelineNode *down = g_ptr_array_index(pipeline->nodes, j);
      for (guint p = 0; p < down->n_inputs; p++) {
        if (down->in_node[p] == (int)next)
          pending[j]--;
      }
    }
  }

  for (guint start = 0; start < n; start++) {
    if (placed[start] || reported[start])
      continue;
    /* Walk upstream through unplaced nodes until one repeats. */
    g_autofree int *seen_at = g_new(int, n);
    g_autoptr(GArray) walk = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint i = 0; i < n; i++)
      seen_at[i] = -1;
    guint cur = start;
    while (seen_at[cur] < 0) {
      seen_at[cur] = (int)walk->len;
      g_array_append_val(walk, cur);
      PipelineNode *node = g_ptr_array_index(pipeline->nodes, cur);
      for (guint p = 0; p < node->n_inputs; p++) {
        int up = node->in_node[p];
        if (up >= 0 && !placed[up]) {
          cur = (guint)up;
          break;
        }
      }
    }
    gboolean known = FALSE;
    for (guint k = (guint)seen_at[cur]; k < walk->len; k++)
      known |= reported[g_array_index(walk, guint, k)];
    if (known)
      continue;
    /* The walk went upstream: reversed, it follows the flow.  Start the
     * message at the cycle's earliest node in the file. */
    g_autoptr(GArray) cycle = g_array_new(FALSE, FALSE, sizeof(guint));
    guint first = n, first_pos = 0;
    for (guint k = walk->len; k-- > (guint)seen_at[cur];) {
      guint idx = g_array_index(walk, guint, k);
      reported[idx] = TRUE;
      if (idx < first) {
        first = idx;
        first_pos = cycle->len;
      }
      g_array_append_val(cycle, idx);
    }
    g_autoptr(GString) names = g_string_new(NULL);
    for (guint k = 0; k <= cycle->len; k++) {
      guint idx = g_array_index(cycle, guint, (first_pos + k) % cycle->len);
      g_string_append_printf(names, "%s%s", k ? " → " : "",
                             ((PipelineNode *)g_ptr_array_index(pipeline->nodes, idx))->name);
    }
    PipelineNode *at = g_ptr_array_index(pipeline->nodes, first);
    pipeline_add_problem(pipeline, problems, at->line, at->name, at->type,
                         "frames cannot flow back upstream; chain learners and unlearners "
                         "through model frames instead",
                         "the pipeline has a cycle: %s", names->str);
  }

  /* Whatever is on or behind a cycle goes last, in file order. */
  for (guint i = 0; i < n; i++) {
    if (!placed[i])
      pipeline->order[count++] = i;
  }
  for (guint k = 0; k < n; k++)
    ((PipelineNode *)g_ptr_array_index(pipeline->nodes, pipeline->order[k]))->topo = k;
}

void
pipeline_resolve(LethePipeline *pipeline)
{
  GPtrArray *problems = pipeline->resolve_problems;

  if (pipeline->resolved)
    return;
  g_ptr_array_set_size(problems, 0);

  for (guint i = 0; i < pipeline->nodes->len; i++) {
    PipelineNode *node = g_ptr_array_index(pipeline->nodes, i);
    pipeline_node_clear_resolution(node);
    resolve_type(pipeline, node, problems);
  }
  for (guint i = 0; i < pipeline->nodes->len; i++) {
    PipelineNode *node = g_ptr_array_index(pipeline->nodes, i);
    if (node->node_type)
      resolve_entries(pipeline, node, problems);
  }
  for (guint i = 0; i < pipeline->nodes->len; i++) {
    PipelineNode *node = g_ptr_array_index(pipeline->nodes, i);
    if (node->node_type) {
      check_inputs_connected(pipeline, node, problems);
      check_link_schemas(pipeline, node, problems);
    }
  }
  order_nodes(pipeline, problems);
  pipeline->resolved = TRUE;
}

static LetheProblem *
problem_copy(const LetheProblem *p)
{
  LetheProblem *copy = g_new0(LetheProblem, 1);
  copy->file = g_strdup(p->file);
  copy->line = p->line;
  copy->node = g_strdup(p->node);
  copy->plugin = g_strdup(p->plugin);
  copy->message = g_strdup(p->message);
  return copy;
}

static gint
by_line(gconstpointer a, gconstpointer b)
{
  const LetheProblem *pa = *(const LetheProblem *const *)a;
  const LetheProblem *pb = *(const LetheProblem *const *)b;
  return (pa->line > pb->line) - (pa->line < pb->line);
}

GPtrArray *
lethe_pipeline_validate(LethePipeline *pipeline)
{
  g_return_val_if_fail(pipeline != NULL, NULL);
  GPtrArray *all = g_ptr_array_new_with_free_func(pipeline_problem_free);

  pipeline_resolve(pipeline);
  for (guint i = 0; i < pipeline->load_problems->len; i++)
    g_ptr_array_add(all, problem_copy(g_ptr_array_index(pipeline->load_problems, i)));
  for (guint i = 0; i < pipeline->resolve_problems->len; i++)
    g_ptr_array_add(all, problem_copy(g_ptr_array_index(pipeline->resolve_problems, i)));
  /* GLib's sort is stable: problems on one line keep the order found. */
  g_ptr_array_sort(all, by_line);
  return all;
}
