/* Lethe — the node test harness (<lethe/check.h>).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A harness is a graph of one node with no thread pool: pushes run the
 * node in the caller's thread through the scheduler's own delivery code,
 * and every output is captured for lethe_check_pull().
 */
#include "node-private.h"

#include <lethe/check.h>
#include <lethe/nn-rng.h>
#include <string.h>

struct _LetheCheck {
  LetheGraph *graph;
  LetheNode *node;
  gboolean started;
  gboolean start_failed;
  GPtrArray *metrics;   /* LetheMetric */
  GPtrArray *tracked;   /* LetheFrame, when tracking */
  GPtrArray *track_src; /* const char *: where each tracked frame came from */
  gboolean tracking;
};

static const char *
lookup_param(gpointer data, const char *param, gboolean *is_set)
{
  const char *const *params = data;
  gsize len = strlen(param);
  for (const char *const *p = params; p && *p; p++) {
    if (strncmp(*p, param, len) == 0 && (*p)[len] == '=') {
      *is_set = TRUE;
      return *p + len + 1;
    }
  }
  *is_set = FALSE;
  return NULL;
}

static gboolean
check_param_names(const LetheNodeType *type, const char *const *params, GError **error)
{
  for (const char *const *p = params; p && *p; p++) {
    const char *eq = strchr(*p, '=');
    if (eq == NULL) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "parameter '%s' has no value; write it as name=value", *p);
      return FALSE;
    }
    g_autofree char *name = g_strndup(*p, eq - *p);
    gboolean found = FALSE;
    for (const LetheParamSpec *s = type->params; s && s->name; s++)
      found = found || g_str_equal(s->name, name);
    if (!found) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "node type '%s' has no parameter '%s'",
                  type->name, name);
      return FALSE;
    }
  }
  return TRUE;
}

static void
on_metric(LetheNode *node, const char *name, gint64 step, double value, const char *value_json,
          gpointer data)
{
  LetheCheck *check = data;
  LetheMetric *m = g_new0(LetheMetric, 1);
  m->node = g_strdup(node->name);
  m->plugin = g_strdup(node->plugin);
  m->name = g_strdup(name);
  m->step = step;
  m->value = value;
  m->value_json = g_strdup(value_json);
  g_ptr_array_add(check->metrics, m);
}

static LetheCheck *
check_new(const LetheNodeType *type, const char *plugin, const char *version,
          const char *const *params, GError **error)
{
  if (!check_param_names(type, params, error))
    return NULL;
  LetheNode *node = lethe_node_new_internal("check", type, plugin, version, lookup_param,
                                            (gpointer)params, NULL, error);
  if (node == NULL)
    return NULL;

  LetheCheck *check = g_new0(LetheCheck, 1);
  check->graph = lethe_graph_new(0, 0, NULL);
  check->node = node;
  check->metrics = g_ptr_array_new_with_free_func((GDestroyNotify)lethe_metric_free);
  check->tracked = g_ptr_array_new_with_free_func((GDestroyNotify)lethe_frame_unref);
  check->track_src = g_ptr_array_new();
  lethe_graph_add(check->graph, node);
  lethe_graph_set_metric_func(check->graph, on_metric, check);
  for (guint i = 0; i < node->n_outputs; i++)
    lethe_graph_capture(check->graph, node, i);
  for (guint i = 0; i < node->n_inputs; i++) {
    InPort *p = &node->in[i];
    /* Optional inputs count as unconnected until a frame is pushed there. */
    p->connected = !(p->spec->flags & LETHE_PORT_OPTIONAL);
    if (p->spec->schema && !g_str_equal(p->spec->schema, "any"))
      p->checked = lethe_schema_lookup(p->spec->schema, NULL);
  }
  return check;
}

LetheCheck *
lethe_check_new(const LetheNodeType *type, const char *const *params, GError **error)
{
  g_return_val_if_fail(type != NULL, NULL);
  return check_new(type, "static", "", params, error);
}

LetheCheck *
lethe_check_new_from_registry(LetheRegistry *registry, const char *node_type,
                              const char *const *params, GError **error)
{
  g_return_val_if_fail(node_type != NULL, NULL);
  if (registry == NULL)
    registry = lethe_registry_get_default();
  const LetheNodeType *type = lethe_registry_load_node_type(registry, node_type, error);
  if (type == NULL)
    return NULL;
  const LethePluginRecord *record = NULL;
  lethe_registry_find_node_type(registry, node_type, &record);
  return check_new(type, record ? record->name : NULL, record ? record->version : NULL, params,
                   error);
}

void
lethe_check_free(LetheCheck *check)
{
  if (check == NULL)
    return;
  lethe_graph_finalize_nodes(check->graph);
  lethe_graph_free(check->graph);
  g_ptr_array_unref(check->metrics);
  g_ptr_array_unref(check->tracked);
  g_ptr_array_unref(check->track_src);
  g_free(check);
}

void
lethe_check_set_seed(LetheCheck *check, guint64 seed)
{
  g_return_if_fail(check != NULL);
  g_return_if_fail(!check->started);
  check->node->seed = lethe_rng_derive_seed(seed, check->node->name);
}

void
lethe_check_set_output_dir(LetheCheck *check, const char *dir)
{
  g_return_if_fail(check != NULL);
  lethe_graph_set_output_dir(check->graph, dir);
}

void
lethe_check_track_frames(LetheCheck *check, gboolean track)
{
  g_return_if_fail(check != NULL);
  check->tracking = track;
}

LetheNode *
lethe_check_get_node(LetheCheck *check)
{
  g_return_val_if_fail(check != NULL, NULL);
  return check->node;
}

gboolean
lethe_check_start(LetheCheck *check, GError **error)
{
  g_return_val_if_fail(check != NULL, FALSE);
  if (check->start_failed) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_FAILED, "node '%s' failed to initialise",
                check->node->name);
    return FALSE;
  }
  if (check->started)
    return TRUE;
  check->started = TRUE;
  if (!lethe_graph_init_nodes(check->graph, error)) {
    check->start_failed = TRUE;
    return FALSE;
  }
  return TRUE;
}

static int
find_port(const LethePortSpec *ports, guint n, const char *name)
{
  for (guint i = 0; i < n; i++) {
    if (g_str_equal(ports[i].name, name))
      return (int)i;
  }
  return -1;
}

static void
track(LetheCheck *check, LetheFrame *frame, const char *where)
{
  if (check->tracking) {
    g_ptr_array_add(check->tracked, lethe_frame_ref(frame));
    g_ptr_array_add(check->track_src, (gpointer)where);
  }
}

static void
track_outputs(LetheCheck *check)
{
  /* Tracks frames on their way out, once each (the last ones captured). */
  if (!check->tracking)
    return;
  for (guint o = 0; o < check->node->n_outputs; o++) {
    OutPort *out = &check->node->out[o];
    for (GList *l = out->capture->head; l; l = l->next) {
      if (!g_ptr_array_find(check->tracked, l->data, NULL))
        track(check, l->data, out->spec->name);
    }
  }
}

gboolean
lethe_check_push(LetheCheck *check, const char *port, LetheFrame *frame, GError **error)
{
  g_return_val_if_fail(check != NULL, FALSE);
  g_return_val_if_fail(port != NULL, FALSE);
  g_return_val_if_fail(frame != NULL, FALSE);

  LetheNode *node = check->node;
  int i = find_port(node->type->inputs, node->n_inputs, port);
  if (i < 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "node type '%s' has no input '%s'",
                node->type->name, port);
    lethe_frame_unref(frame);
    return FALSE;
  }
  if (!lethe_check_start(check, error)) {
    lethe_frame_unref(frame);
    return FALSE;
  }
  const LetheSchema *schema = node->in[i].checked;
  GError *local = NULL;
  if (schema && !lethe_schema_check_frame(schema, frame, &local)) {
    g_propagate_prefixed_error(error, local, "frame pushed into input '%s' of '%s': ", port,
                               node->type->name);
    lethe_frame_unref(frame);
    return FALSE;
  }
  node->in[i].connected = TRUE;
  track(check, frame, node->in[i].spec->name);
  gboolean ok = lethe_graph_deliver(check->graph, node, (guint)i, frame, error);
  track_outputs(check);
  return ok;
}

gboolean
lethe_check_push_eos(LetheCheck *check, const char *port, GError **error)
{
  g_return_val_if_fail(check != NULL, FALSE);
  LetheNode *node = check->node;
  if (!lethe_check_start(check, error))
    return FALSE;
  if (port == NULL) {
    for (guint i = 0; i < node->n_inputs; i++) {
      if (!lethe_graph_deliver_eos(check->graph, node, i, error))
        return FALSE;
    }
    track_outputs(check);
    return TRUE;
  }
  int i = find_port(node->type->inputs, node->n_inputs, port);
  if (i < 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "node type '%s' has no input '%s'",
                node->type->name, port);
    return FALSE;
  }
  gboolean ok = lethe_graph_deliver_eos(check->graph, node, (guint)i, error);
  track_outputs(check);
  return ok;
}

gboolean
lethe_check_fire_source(LetheCheck *check, GError **error)
{
  g_return_val_if_fail(check != NULL, FALSE);
  if (!lethe_check_start(check, error))
    return FALSE;
  gboolean ok = lethe_graph_fire_source(check->graph, check->node, error);
  track_outputs(check);
  return ok;
}

gboolean
lethe_check_run_source(LetheCheck *check, guint64 max_firings, GError **error)
{
  g_return_val_if_fail(check != NULL, FALSE);
  for (guint64 k = 0; max_firings == 0 || k < max_firings; k++) {
    if (check->node->finished)
      return TRUE;
    if (!lethe_check_fire_source(check, error))
      return FALSE;
  }
  return TRUE;
}

static OutPort *
find_output(LetheCheck *check, const char *port)
{
  LetheNode *node = check->node;
  int i = find_port(node->type->outputs, node->n_outputs, port);
  if (i < 0) {
    g_critical("node type '%s' has no output '%s'", node->type->name, port);
    return NULL;
  }
  return &node->out[i];
}

LetheFrame *
lethe_check_pull(LetheCheck *check, const char *port)
{
  g_return_val_if_fail(check != NULL, NULL);
  g_return_val_if_fail(port != NULL, NULL);
  OutPort *out = find_output(check, port);
  return out ? g_queue_pop_head(out->capture) : NULL;
}

guint
lethe_check_get_n_pending(LetheCheck *check, const char *port)
{
  g_return_val_if_fail(check != NULL, 0);
  OutPort *out = find_output(check, port);
  return out ? out->capture->length : 0;
}

gboolean
lethe_check_is_eos(LetheCheck *check, const char *port)
{
  g_return_val_if_fail(check != NULL, FALSE);
  OutPort *out = find_output(check, port);
  return out ? out->capture_eos : FALSE;
}

guint64
lethe_check_get_n_firings(LetheCheck *check)
{
  g_return_val_if_fail(check != NULL, 0);
  return node_firings(check->node);
}

GPtrArray *
lethe_check_get_metrics(LetheCheck *check)
{
  g_return_val_if_fail(check != NULL, NULL);
  return check->metrics;
}

gboolean
lethe_check_teardown(LetheCheck *check, GError **error)
{
  g_return_val_if_fail(check != NULL, FALSE);

  /* Drop what nobody pulled, then let the node release what it holds. */
  for (guint o = 0; o < check->node->n_outputs; o++)
    g_queue_clear_full(check->node->out[o].capture, (GDestroyNotify)lethe_frame_unref);
  lethe_graph_finalize_nodes(check->graph);

  guint leaked = 0;
  g_autoptr(GString) where = g_string_new(NULL);
  for (guint k = 0; k < check->tracked->len; k++) {
    LetheFrame *f = g_ptr_array_index(check->tracked, k);
    gint refs = lethe_frame_get_refcount(f);
    if (refs > 1) {
      if (leaked++ < 5)
        g_string_append_printf(where, "%s%s frame #%u (%d extra reference(s))",
                               where->len ? ", " : "", (const char *)check->track_src->pdata[k],
                               k + 1, refs - 1);
    }
  }
  g_autofree char *type = g_strdup(check->node->type->name);
  lethe_check_free(check);
  if (leaked) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_FAILED,
                "%u frame(s) still referenced after '%s' was finalized: %s", leaked, type,
                where->str);
    return FALSE;
  }
  return TRUE;
}
