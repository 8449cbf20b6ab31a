/* Lethe — nodes: one instance of a node type, and what plugin code may call.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A node owns its parsed parameters, its private state and its ports.  The
 * scheduler (scheduler.c) decides when it fires; this file holds the
 * parameter parsing and the lethe_node_* functions of <lethe/plugin.h>.
 */
#include "node-private.h"

#include <lethe/pipeline.h>

#include <lethe/nn-rng.h>
#include <math.h>
#include <string.h>

/* ---- creation ------------------------------------------------------ */

static guint
count_ports(const LethePortSpec *ports)
{
  guint n = 0;
  while (ports && ports[n].name)
    n++;
  return n;
}

LetheNode *
lethe_node_new_internal(const char *name, const LetheNodeType *type, const char *plugin,
                        const char *plugin_version, LetheParamLookup lookup, gpointer lookup_data,
                        const char *base_dir, GError **error)
{
  g_return_val_if_fail(name != NULL, NULL);
  g_return_val_if_fail(type != NULL, NULL);

  LetheNode *node = g_new0(LetheNode, 1);
  node->name = g_strdup(name);
  node->type = type;
  node->plugin = g_strdup(plugin ? plugin : "static");
  node->plugin_version = g_strdup(plugin_version ? plugin_version : "");
  node->blas_threads = 1;
  node->progress_fraction = -1;
  g_mutex_init(&node->lock);
  g_cond_init(&node->space);
  g_mutex_init(&node->progress_lock);

  node->n_inputs = count_ports(type->inputs);
  node->n_outputs = count_ports(type->outputs);
  node->in = g_new0(InPort, node->n_inputs);
  node->out = g_new0(OutPort, node->n_outputs);
  node->firing_inputs = g_new0(LetheFrame *, node->n_inputs + 1);
  node->firing_checked = g_new0(const LetheSchema *, node->n_inputs + 1);

  for (guint i = 0; i < node->n_inputs; i++) {
    node->in[i].spec = &type->inputs[i];
    node->in[i].sticky = (type->inputs[i].flags & LETHE_PORT_STICKY) != 0;
  }
  for (guint i = 0; i < node->n_outputs; i++) {
    OutPort *o = &node->out[i];
    const char *schema = type->outputs[i].schema ? type->outputs[i].schema : "any";
    o->spec = &type->outputs[i];
    o->is_any = g_str_equal(schema, "any");
    o->is_metrics = g_str_equal(schema, "metrics");
    o->is_model = g_str_equal(schema, "model");
    if (!o->is_any) {
      g_autoptr(GError) local = NULL;
      o->schema = lethe_schema_lookup(schema, &local);
      /* Links were validated before running; a schema missing here only
       * disables the run-time check of this port. */
      if (o->schema == NULL)
        g_debug("node '%s': output '%s': schema '%s' not found, frames not checked: %s", name,
                o->spec->name, schema, local->message);
    }
  }

  const LetheParamSpec *specs = type->params;
  while (specs && specs[node->n_params].name)
    node->n_params++;
  node->params = g_new0(ParamValue, node->n_params);
  for (guint p = 0; p < node->n_params; p++) {
    const LetheParamSpec *spec = &specs[p];
    gboolean is_set = FALSE;
    const char *text = lookup ? lookup(lookup_data, spec->name, &is_set) : NULL;
    if (text == NULL && !is_set)
      text = spec->default_value;
    if (text == NULL) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "node '%s' (%s): required parameter '%s' is not set; add '%s = …' to its group",
                  name, node->plugin, spec->name, spec->name);
      lethe_node_free_internal(node);
      return NULL;
    }
    if (!lethe_param_value_parse(spec, text, base_dir, &node->params[p].value, error)) {
      g_prefix_error(error, "node '%s' (%s): parameter '%s': ", name, node->plugin, spec->name);
      lethe_node_free_internal(node);
      return NULL;
    }
    node->params[p].is_set = is_set;
  }
  return node;
}

void
lethe_node_free_internal(LetheNode *node)
{
  if (node == NULL)
    return;
  if (node->priv_destroy && node->priv)
    node->priv_destroy(node->priv);
  for (guint i = 0; i < node->n_inputs; i++) {
    frame_ring_clear(&node->in[i].queue, TRUE);
    g_clear_pointer(&node->in[i].latest, lethe_frame_unref);
  }
  for (guint i = 0; i < node->n_outputs; i++) {
    g_free(node->out[i].consumers);
    if (node->out[i].capture)
      g_queue_free_full(node->out[i].capture, (GDestroyNotify)lethe_frame_unref);
  }
  for (guint p = 0; p < node->n_params; p++)
    lethe_param_value_clear(&node->params[p].value);
  g_free(node->params);
  g_free(node->in);
  g_free(node->out);
  g_free(node->firing_inputs);
  g_free(node->firing_checked);
  g_free(node->progress_what);
  g_mutex_clear(&node->lock);
  g_cond_clear(&node->space);
  g_mutex_clear(&node->progress_lock);
  g_free(node->name);
  g_free(node->plugin);
  g_free(node->plugin_version);
  g_free(node);
}

void
lethe_node_attribute_error(const LetheNode *node, GError **error)
{
  if (error == NULL || *error == NULL)
    return;
  g_prefix_error(error, "node '%s' (plugin %s) failed: ", node->name, node->plugin);
}

/* ---- what plugin code calls ---------------------------------------- */

const char *
lethe_node_get_name(const LetheNode *node)
{
  g_return_val_if_fail(node != NULL, NULL);
  return node->name;
}

const LetheNodeType *
lethe_node_get_node_type(const LetheNode *node)
{
  g_return_val_if_fail(node != NULL, NULL);
  return node->type;
}

void
lethe_node_set_private(LetheNode *node, gpointer priv, GDestroyNotify destroy)
{
  g_return_if_fail(node != NULL);
  if (node->priv_destroy && node->priv && node->priv != priv)
    node->priv_destroy(node->priv);
  node->priv = priv;
  node->priv_destroy = destroy;
}

gpointer
lethe_node_get_private(const LetheNode *node)
{
  g_return_val_if_fail(node != NULL, NULL);
  return node->priv;
}

static const ParamValue *
find_param(const LetheNode *node, const char *param, LetheParamType want, gboolean string_like)
{
  g_return_val_if_fail(node != NULL, NULL);
  g_return_val_if_fail(param != NULL, NULL);
  for (guint p = 0; p < node->n_params; p++) {
    const LetheParamSpec *spec = &node->type->params[p];
    if (strcmp(spec->name, param) != 0)
      continue;
    gboolean ok = string_like ? (spec->type == LETHE_PARAM_STRING ||
                                 spec->type == LETHE_PARAM_ENUM || spec->type == LETHE_PARAM_PATH)
                              : spec->type == want;
    if (!ok) {
      g_critical("node '%s' (%s): parameter '%s' is a %s, not a %s", node->name, node->plugin,
                 param, lethe_param_type_name(spec->type), lethe_param_type_name(want));
      return NULL;
    }
    return &node->params[p];
  }
  g_critical("node '%s' (%s): node type '%s' has no parameter '%s'", node->name, node->plugin,
             node->type->name, param);
  return NULL;
}

gboolean
lethe_node_get_bool(const LetheNode *node, const char *param)
{
  const ParamValue *v = find_param(node, param, LETHE_PARAM_BOOL, FALSE);
  return v ? v->value.b : FALSE;
}

gint64
lethe_node_get_int(const LetheNode *node, const char *param)
{
  const ParamValue *v = find_param(node, param, LETHE_PARAM_INT, FALSE);
  return v ? v->value.i : 0;
}

double
lethe_node_get_double(const LetheNode *node, const char *param)
{
  const ParamValue *v = find_param(node, param, LETHE_PARAM_DOUBLE, FALSE);
  return v ? v->value.d : 0.0;
}

const char *
lethe_node_get_string(const LetheNode *node, const char *param)
{
  const ParamValue *v = find_param(node, param, LETHE_PARAM_STRING, TRUE);
  return v && v->value.s ? v->value.s : "";
}

const gint64 *
lethe_node_get_int_list(const LetheNode *node, const char *param, gsize *n_values)
{
  const ParamValue *v = find_param(node, param, LETHE_PARAM_INT_LIST, FALSE);
  if (n_values)
    *n_values = v ? v->value.n : 0;
  return v && v->value.n ? v->value.ints : NULL;
}

const double *
lethe_node_get_double_list(const LetheNode *node, const char *param, gsize *n_values)
{
  const ParamValue *v = find_param(node, param, LETHE_PARAM_DOUBLE_LIST, FALSE);
  if (n_values)
    *n_values = v ? v->value.n : 0;
  return v && v->value.n ? v->value.doubles : NULL;
}

gboolean
lethe_node_param_is_set(const LetheNode *node, const char *param)
{
  g_return_val_if_fail(node != NULL, FALSE);
  g_return_val_if_fail(param != NULL, FALSE);
  for (guint p = 0; p < node->n_params; p++) {
    if (g_str_equal(node->type->params[p].name, param))
      return node->params[p].is_set;
  }
  g_critical("node '%s' (%s): node type '%s' has no parameter '%s'", node->name, node->plugin,
             node->type->name, param);
  return FALSE;
}

guint64
lethe_node_get_seed(const LetheNode *node)
{
  g_return_val_if_fail(node != NULL, 0);
  return node->seed;
}

guint
lethe_node_get_threads(const LetheNode *node)
{
  g_return_val_if_fail(node != NULL, 1);
  return node->blas_threads ? node->blas_threads : 1;
}

const char *
lethe_node_get_output_dir(const LetheNode *node)
{
  g_return_val_if_fail(node != NULL, NULL);
  return node->graph ? lethe_graph_get_output_dir(node->graph) : NULL;
}

GCancellable *
lethe_node_get_cancellable(const LetheNode *node)
{
  g_return_val_if_fail(node != NULL, NULL);
  return node->graph ? lethe_graph_get_cancellable(node->graph) : NULL;
}

gboolean
lethe_node_is_cancelled(const LetheNode *node)
{
  g_return_val_if_fail(node != NULL, TRUE);
  return node->graph ? lethe_graph_is_stopping(node->graph) : FALSE;
}

LetheFrame *
lethe_node_get_resume_frame(LetheNode *node, guint port, gint64 version, guint index)
{
  g_return_val_if_fail(node != NULL, NULL);
  g_return_val_if_fail(port < node->n_outputs, NULL);
  if (!(node->out[port].spec->flags & LETHE_PORT_RESUMABLE)) {
    g_critical("node '%s' (%s): output '%s' asks for resume frames but is not flagged "
               "LETHE_PORT_RESUMABLE",
               node->name, node->plugin, node->out[port].spec->name);
    return NULL;
  }
  return node->graph ? lethe_graph_resume_frame(node, port, version, index) : NULL;
}

gboolean
lethe_node_push(LetheNode *node, guint port, LetheFrame *frame)
{
  g_return_val_if_fail(node != NULL, FALSE);
  g_return_val_if_fail(frame != NULL, FALSE);
  if (port >= node->n_outputs) {
    g_critical("node '%s' (%s): push on output %u, but node type '%s' has %u output(s)", node->name,
               node->plugin, port, node->type->name, node->n_outputs);
    lethe_frame_unref(frame);
    return FALSE;
  }
  return lethe_graph_push(node, port, frame);
}

gboolean
lethe_node_push_named(LetheNode *node, const char *port, LetheFrame *frame)
{
  g_return_val_if_fail(node != NULL, FALSE);
  g_return_val_if_fail(port != NULL, FALSE);
  for (guint i = 0; i < node->n_outputs; i++) {
    if (g_str_equal(node->out[i].spec->name, port))
      return lethe_node_push(node, i, frame);
  }
  g_critical("node '%s' (%s): node type '%s' has no output '%s'", node->name, node->plugin,
             node->type->name, port);
  if (frame)
    lethe_frame_unref(frame);
  return FALSE;
}

gboolean
lethe_node_output_is_linked(const LetheNode *node, guint port)
{
  g_return_val_if_fail(node != NULL, FALSE);
  g_return_val_if_fail(port < node->n_outputs, FALSE);
  return node->out[port].n_consumers > 0 || node->out[port].capture != NULL;
}

void
lethe_node_end_stream(LetheNode *node)
{
  g_return_if_fail(node != NULL);
  lethe_mutex_lock(&node->lock);
  node->ended = TRUE;
  lethe_mutex_unlock(&node->lock);
}

void
lethe_node_progress(LetheNode *node, const char *what, double fraction)
{
  g_return_if_fail(node != NULL);
  lethe_mutex_lock(&node->progress_lock);
  if (what && g_strcmp0(what, node->progress_what) != 0) {
    g_free(node->progress_what);
    node->progress_what = g_strdup(what);
  }
  if (fraction >= 0 && node->progress_us == 0)
    node->progress_us = g_get_monotonic_time();
  node->progress_fraction = fraction > 1 ? 1 : fraction;
  lethe_mutex_unlock(&node->progress_lock);
  lethe_graph_progress(node);
}

void
lethe_node_metric(LetheNode *node, const char *name, gint64 step, double value,
                  const char *value_json)
{
  g_return_if_fail(node != NULL);
  g_return_if_fail(name != NULL);
  lethe_graph_metric(node, name, step, value, value_json);
}

/* Appends @t's elements from flat index *@pos as nested JSON lists. */
static void
tensor_json(GString *out, const LetheTensor *t, guint dim, gint64 *pos)
{
  gboolean integral = t->dtype != LETHE_DTYPE_F32 && t->dtype != LETHE_DTYPE_F64;
  if (dim == t->rank) {
    double v = lethe_tensor_get_f64(t, (*pos)++);
    if (integral)
      g_string_append_printf(out, "%" G_GINT64_FORMAT, (gint64)v);
    else if (isfinite(v)) {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append(out, g_ascii_dtostr(buf, sizeof buf, v));
    } else
      g_string_append(out, "null");
    return;
  }
  g_string_append_c(out, '[');
  for (gint64 k = 0; k < t->shape[dim]; k++) {
    if (k)
      g_string_append_c(out, ',');
    tensor_json(out, t, dim + 1, pos);
  }
  g_string_append_c(out, ']');
}

void
lethe_node_metric_frame(LetheNode *node, const LetheFrame *frame)
{
  g_return_if_fail(node != NULL);
  g_return_if_fail(frame != NULL);

  gint64 step =
      lethe_frame_get_meta_int(frame, "step", lethe_frame_get_meta_int(frame, "task", -1));
  guint n = lethe_frame_get_n_tensors(frame);
  for (guint i = 0; i < n; i++) {
    const char *name = NULL;
    LetheTensor *t = lethe_frame_get_nth(frame, i, &name);
    if (lethe_tensor_n_elements(t) == 1) {
      lethe_node_metric(node, name, step, lethe_tensor_get_f64(t, 0), NULL);
    } else {
      g_autoptr(GString) json = g_string_new(NULL);
      gint64 pos = 0;
      tensor_json(json, t, 0, &pos);
      lethe_node_metric(node, name, step, 0.0, json->str);
    }
  }
}

LetheFrame *
lethe_node_take_input(LetheNode *node, guint port)
{
  g_return_val_if_fail(node != NULL, NULL);
  g_return_val_if_fail(port < node->n_inputs, NULL);
  if (node->in[port].sticky)
    return NULL;
  /* Only the firing thread touches firing_inputs. */
  return g_steal_pointer(&node->firing_inputs[port]);
}
