/* acu — exact analytic unlearning of samples or classes from an acil model.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Takes the model frames of an `acil` learner (their statistics travel
 * with them) and a forget set, and returns the model with the forget set
 * removed exactly: the ridge solution on the retained samples, computed
 * without them.  Part of the acil plugin (the two share the statistics).
 *
 *   [forget]
 *   plugin = acu
 *   model = learn.model
 *   forget = request.forget     # a forget frame: samples, or whole classes
 *   retain = request.retain     # optional, with verify = true
 *   verify = true
 *
 * With apply = last (the default) the node unlearns from the last model
 * frame of the stream, once it has ended; with apply = each, from every
 * model frame (each must have learned the forget set).  A forget frame
 * with metadata "forget-classes" must hold every learned sample of those
 * classes; those classes are then dropped from the outputs (−inf) and
 * their columns of W are exactly 0.  Samples are matched by id ("index"):
 * ids the model never learned are refused, and so is a forget set whose
 * samples have another shape than the model's.
 */
#include "acil-node.h"

#include <string.h>

#define DEFAULT_APPLY  "last"
#define DEFAULT_VERIFY "false"

enum { IN_MODEL, IN_FORGET, IN_RETAIN };

/* With apply = last: the last firing's frames, unlearned at flush. */
typedef struct {
  LetheFrame *model;
  LetheFrame *forget;
  LetheFrame *retain;
} AcuNode;

static void
acu_node_free_frames(AcuNode *st)
{
  g_clear_pointer(&st->model, lethe_frame_unref);
  g_clear_pointer(&st->forget, lethe_frame_unref);
  g_clear_pointer(&st->retain, lethe_frame_unref);
}

static void
acu_node_free(gpointer p)
{
  acu_node_free_frames(p);
  g_free(p);
}

static gboolean
acu_init(LetheNode *node, GError **error)
{
  lethe_node_set_private(node, g_new0(AcuNode, 1), acu_node_free);
  return TRUE;
}

static gboolean
unlearn_from(LetheNode *node, const LetheFrame *model, const LetheFrame *forget,
             const LetheFrame *retain, GError **error)
{
  gint64 version = lethe_frame_get_meta_int(model, "version", 0);
  g_autofree char *what =
      g_strdup_printf("forget set (model version %" G_GINT64_FORMAT ")", version);
  g_autoptr(AcilState) state = acil_state_from_model(model, "model", error);
  if (state == NULL)
    return FALSE;
  g_autoptr(LetheFrame) backbone = acil_model_get_backbone(model);
  AcilData d;
  if (!acil_data_from_frame(forget, backbone, state->d_f, what, &d, error))
    return FALSE;
  gint64 t0 = g_get_monotonic_time();
  gboolean ok = acil_forget(state, forget, &d, what, error);
  double seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
  acil_data_clear(&d);
  if (!ok)
    return FALSE;
  lethe_node_metric(node, "unlearn_seconds", version + 1, seconds, NULL);

  if (lethe_node_get_bool(node, "verify") && retain != NULL) {
    AcilData r;
    double rel;
    if (!acil_data_from_frame(retain, backbone, state->d_f, "retain set", &r, error))
      return FALSE;
    ok = acil_retrain_rel_error(state, &r.b, 1, &rel, error);
    acil_data_clear(&r);
    if (!ok)
      return FALSE;
    lethe_node_metric(node, "retrain_rel_error", version + 1, rel, NULL);
  }

  LetheFrame *out = acil_state_to_model(state, version + 1);
  acil_model_finish(out, forget, "forget", seconds);
  acil_model_attach_backbone(out, backbone);
  lethe_node_push_named(node, "model", out);
  return TRUE;
}

static gboolean
acu_process(LetheNode *node, LetheFrame **in, GError **error)
{
  AcuNode *st = lethe_node_get_private(node);
  if (g_str_equal(lethe_node_get_string(node, "apply"), "each"))
    return unlearn_from(node, in[IN_MODEL], in[IN_FORGET], in[IN_RETAIN], error);
  acu_node_free_frames(st);
  st->model = lethe_frame_ref(in[IN_MODEL]);
  st->forget = lethe_frame_ref(in[IN_FORGET]);
  st->retain = in[IN_RETAIN] ? lethe_frame_ref(in[IN_RETAIN]) : NULL;
  return TRUE;
}

static gboolean
acu_flush(LetheNode *node, GError **error)
{
  AcuNode *st = lethe_node_get_private(node);
  if (!g_str_equal(lethe_node_get_string(node, "apply"), "last"))
    return TRUE;
  if (st->model == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "the 'model' input ended without a model frame, so there is nothing to unlearn "
                "from; connect the model output of an acil learner");
    return FALSE;
  }
  gboolean ok = unlearn_from(node, st->model, st->forget, st->retain, error);
  acu_node_free_frames(st);
  return ok;
}

static const LethePortSpec acu_inputs[] = {
    {"model", "model", LETHE_PORT_NONE, "model frames of an acil learner"},
    {"forget", "dataset", LETHE_PORT_STICKY, "the forget set: samples (with ids) or whole classes"},
    {"retain", "dataset", LETHE_PORT_STICKY | LETHE_PORT_OPTIONAL,
     "with verify: the retained data, to compare with ridge from scratch"},
    {NULL},
};

static const LethePortSpec acu_outputs[] = {
    {"model", "model", LETHE_PORT_NONE, "the model with the forget set removed (kind acil)"},
    {NULL},
};

static const char *const apply_choices[] = {"last", "each", NULL};

static const LetheParamSpec acu_params[] = {
    {"apply", LETHE_PARAM_ENUM, DEFAULT_APPLY, 0, 0, apply_choices,
     "last: unlearn from the stream's last model; each: from every model frame"},
    {"verify", LETHE_PARAM_BOOL, DEFAULT_VERIFY, 0, 0, NULL,
     "record retrain_rel_error against ridge from scratch on the 'retain' input"},
    {NULL},
};

static const LetheNodeVTable acu_vtable = {
    .init = acu_init, .process = acu_process, .flush = acu_flush};

const LetheNodeType acu_node_type = {
    "acu",
    LETHE_NODE_UNLEARNER,
    "Exact analytic unlearning (ACU) of samples or classes from an acil model",
    acu_inputs,
    acu_outputs,
    acu_params,
    &acu_vtable,
    "Downdates the statistics an acil model carries (A −= X_uᵀX_u, Q −= X_uᵀY_u, Cholesky "
    "downdate of U) and re-solves W: the result equals ridge retrained on the retained samples. "
    "Metrics unlearn_seconds and, with verify and 'retain' connected, retrain_rel_error.",
};
