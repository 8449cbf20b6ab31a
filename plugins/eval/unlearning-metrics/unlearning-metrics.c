/* Lethe — machine-unlearning metrics against a retrained oracle.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [report]
 *   plugin = unlearning-metrics
 *   model = forget.model       # the unlearned model (one evaluation per frame)
 *   oracle = retrain.model     # optional: retrained on the retain set only
 *   forget = request.forget
 *   retain = request.retain
 *   test = test
 *   original = learn.model     # optional: for relearn time
 *   relearn-epochs = 10
 *
 * Emits forget/retain/test accuracy, the entropy and loss membership
 * attacks, and with an oracle the gaps to it, ToW, activation distance and
 * JS divergence on the forget set; relearn time when asked; the times the
 * unlearning and the retraining took, from the model frames' metadata
 * "unlearn-seconds" and "train-seconds".  Formulas: docs/metrics.md.
 */
#include <math.h>
#include <string.h>

#include <lethe/metrics.h>
#include <lethe/model.h>
#include <lethe/plugin.h>

#include "eval-ops.h"
#include "stream-ops.h"

enum { IN_MODEL, IN_ORACLE, IN_FORGET, IN_RETAIN, IN_TEST, IN_ORIGINAL };

/* A model's outputs on one data set; owns its tensors. */
typedef struct {
  LetheTensor *logits;
  LetheTensor *labels;
  EvalOutputs o;
} Outputs;

static void
outputs_clear(Outputs *out)
{
  g_clear_pointer(&out->logits, lethe_tensor_unref);
  g_clear_pointer(&out->labels, lethe_tensor_unref);
}

static gboolean
run_model(LetheNode *node, const LetheFrame *model, const LetheFrame *data, Outputs *out,
          GError **error)
{
  memset(out, 0, sizeof *out);
  if (data == NULL)
    return TRUE;
  LetheTensor *x = lethe_frame_get_tensor(data, "x");
  if (x == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA, "%s: a data frame has no 'x'",
                lethe_node_get_name(node));
    return FALSE;
  }
  if (!(out->labels = stream_labels(data, lethe_node_get_name(node), 0, error)))
    return FALSE;
  g_autoptr(LetheTensor) logits = NULL;
  if (!lethe_model_forward(model, x, &logits, error)) {
    outputs_clear(out);
    return FALSE;
  }
  out->logits = lethe_tensor_to_dtype(logits, LETHE_DTYPE_F32);
  out->o = (EvalOutputs){lethe_tensor_f32(out->logits), lethe_tensor_i32(out->labels),
                         out->logits->shape[0], out->logits->shape[1]};
  return TRUE;
}

static double
accuracy_on(const LetheFrame *model, const LetheFrame *data, GError **error)
{
  LetheTensor *x = lethe_frame_get_tensor(data, "x");
  g_autoptr(LetheTensor) y = stream_labels(data, "relearn", 0, error);
  g_autoptr(LetheTensor) logits = NULL;
  if (x == NULL || y == NULL || !lethe_model_forward(model, x, &logits, error))
    return NAN;
  g_autoptr(LetheTensor) out = lethe_tensor_to_dtype(logits, LETHE_DTYPE_F32);
  return lethe_metrics_accuracy(lethe_tensor_f32(out), out->shape[0], out->shape[1],
                                lethe_tensor_i32(y), NULL);
}

/* Plain SGD epochs of fine-tuning on @data; returns the number of epochs
 * until the accuracy on @data reaches @target (-1: not within the budget). */
static gboolean
relearn(LetheNode *node, const LetheFrame *model, const LetheFrame *data, double target,
        gint64 *epochs_out, GError **error)
{
  gint64 max_epochs = lethe_node_get_int(node, "relearn-epochs");
  gint64 batch = lethe_node_get_int(node, "relearn-batch");
  double lr = lethe_node_get_double(node, "relearn-lr");
  g_autoptr(LetheFrame) m = lethe_frame_copy(model);
  lethe_frame_set_meta_int(m, "version", lethe_frame_get_meta_int(model, "version", 0) + 1);
  LetheTensor *x = lethe_frame_get_tensor(data, "x");
  g_autoptr(LetheTensor) y = stream_labels(data, lethe_node_get_name(node), 0, error);
  if (x == NULL || y == NULL)
    return FALSE;
  gint64 n = x->shape[0];
  g_autofree double *curve = g_new(double, max_epochs + 1);
  curve[0] = accuracy_on(m, data, error);
  if (isnan(curve[0]))
    return FALSE;
  gint64 e = 0;
  while (curve[e] < target && e < max_epochs) {
    for (gint64 s = 0; s < n; s += batch) {
      if (lethe_node_is_cancelled(node)) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_CANCELLED, "cancelled");
        return FALSE;
      }
      g_autoptr(LetheTensor) xb = lethe_tensor_slice(x, s, MIN(n, s + batch));
      g_autoptr(LetheTensor) yb = lethe_tensor_slice(y, s, MIN(n, s + batch));
      g_autoptr(LetheFrame) grads = NULL;
      double loss;
      if (!lethe_model_loss_grad(m, xb, yb, &grads, &loss, error))
        return FALSE;
      for (guint i = 0; i < lethe_frame_get_n_tensors(grads); i++) {
        const char *name;
        LetheTensor *g = lethe_frame_get_nth(grads, i, &name);
        LetheTensor *p = lethe_frame_get_tensor(m, name);
        if (p == NULL || p->dtype != LETHE_DTYPE_F32 || !lethe_tensor_same_shape(p, g))
          continue;
        if (lethe_tensor_get_refcount(p) > 1 || !lethe_tensor_is_contiguous(p)) {
          lethe_frame_take_tensor(m, name, lethe_tensor_copy(p)); /* copy-on-write */
          p = lethe_frame_get_tensor(m, name);
        }
        g_autoptr(LetheTensor) gc = lethe_tensor_to_dtype(g, LETHE_DTYPE_F32);
        float *pv = lethe_tensor_f32(p);
        const float *gv = lethe_tensor_f32(gc);
        for (gint64 k = 0; k < lethe_tensor_n_elements(p); k++)
          pv[k] -= (float)lr * gv[k];
      }
    }
    e++;
    curve[e] = accuracy_on(m, data, error);
    if (isnan(curve[e]))
      return FALSE;
  }
  *epochs_out = lethe_metrics_relearn_epochs(curve, (gsize)e + 1, target);
  return TRUE;
}

typedef struct {
  LetheNode *node;
  LetheFrame *frame;
  gint64 step;
} EmitTarget;

static void
emit_metric(gpointer user_data, const char *name, gint64 step, double value, const char *json)
{
  EmitTarget *t = user_data;
  lethe_node_metric(t->node, name, t->step, value, json);
  lethe_frame_take_tensor(t->frame, name, lethe_tensor_new_scalar_f64(value));
}

static gboolean
unlearning_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  const char *name = lethe_node_get_name(node);
  LetheFrame *model = inputs[IN_MODEL], *oracle = inputs[IN_ORACLE];
  if (inputs[IN_FORGET] == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "%s: no forget set arrived", name);
    return FALSE;
  }
  Outputs f = {0}, r = {0}, t = {0}, of = {0}, orr = {0}, ot = {0};
  gboolean ok = run_model(node, model, inputs[IN_FORGET], &f, error) &&
                run_model(node, model, inputs[IN_RETAIN], &r, error) &&
                run_model(node, model, inputs[IN_TEST], &t, error);
  if (ok && oracle)
    ok = run_model(node, oracle, inputs[IN_FORGET], &of, error) &&
         run_model(node, oracle, inputs[IN_RETAIN], &orr, error) &&
         run_model(node, oracle, inputs[IN_TEST], &ot, error);
  EmitTarget target = {node, lethe_frame_new(), lethe_frame_get_meta_int(model, "version", -1)};
  lethe_frame_set_meta_string(target.frame, "event", "metrics");
  if (ok)
    ok = eval_emit_unlearning_metrics(&f.o, &r.o, &t.o, oracle ? &of.o : NULL,
                                      oracle ? &orr.o : NULL, oracle ? &ot.o : NULL, emit_metric,
                                      &target, error);
  outputs_clear(&f), outputs_clear(&r), outputs_clear(&t);
  outputs_clear(&of), outputs_clear(&orr), outputs_clear(&ot);
  if (!ok) {
    lethe_frame_unref(target.frame);
    g_prefix_error(error, "%s: ", name);
    return FALSE;
  }

  double secs = lethe_frame_get_meta_double(model, "unlearn-seconds", NAN);
  if (!isnan(secs))
    emit_metric(&target, "unlearn_seconds", -1, secs, NULL);
  secs = oracle ? lethe_frame_get_meta_double(oracle, "train-seconds", NAN) : NAN;
  if (!isnan(secs))
    emit_metric(&target, "retrain_seconds", -1, secs, NULL);

  LetheFrame *original = inputs[IN_ORIGINAL];
  if (original && lethe_node_get_int(node, "relearn-epochs") > 0) {
    double base = accuracy_on(original, inputs[IN_FORGET], error);
    gint64 epochs = -1;
    double target_acc = (1.0 - lethe_node_get_double(node, "relearn-alpha")) * base;
    if (isnan(base) || !relearn(node, model, inputs[IN_FORGET], target_acc, &epochs, error)) {
      lethe_frame_unref(target.frame);
      g_prefix_error(error, "%s: relearn time: ", name);
      return FALSE;
    }
    emit_metric(&target, "relearn_epochs", -1, (double)epochs, NULL);
    if (oracle) {
      if (!relearn(node, oracle, inputs[IN_FORGET], target_acc, &epochs, error)) {
        lethe_frame_unref(target.frame);
        g_prefix_error(error, "%s: oracle relearn time: ", name);
        return FALSE;
      }
      emit_metric(&target, "oracle_relearn_epochs", -1, (double)epochs, NULL);
    }
  }
  /* Every value went through lethe_node_metric() already; the frame is
   * for downstream nodes only. */
  if (lethe_node_output_is_linked(node, 0))
    lethe_node_push(node, 0, target.frame);
  else
    lethe_frame_unref(target.frame);
  return TRUE;
}

static const LethePortSpec inputs[] = {
    {"model", "model", LETHE_PORT_NONE, "the model to judge (each frame is evaluated)"},
    {"oracle", "model", LETHE_PORT_STICKY | LETHE_PORT_OPTIONAL,
     "the model retrained without the forget set"},
    {"forget", "dataset", LETHE_PORT_STICKY, "the forget set"},
    {"retain", "dataset", LETHE_PORT_STICKY | LETHE_PORT_OPTIONAL, "the retain set"},
    {"test", "dataset", LETHE_PORT_STICKY | LETHE_PORT_OPTIONAL, "held-out test data"},
    {"original", "model", LETHE_PORT_STICKY | LETHE_PORT_OPTIONAL,
     "the model before unlearning (relearn time)"},
    {NULL},
};
static const LethePortSpec outputs[] = {
    {"metrics", "metrics", LETHE_PORT_NONE, "the metrics of each evaluated model"},
    {NULL},
};
static const LetheParamSpec params[] = {
    {"relearn-epochs", LETHE_PARAM_INT, "0", 0, 10000, NULL,
     "budget of fine-tuning epochs on the forget set for relearn time (0: off)"},
    {"relearn-lr", LETHE_PARAM_DOUBLE, "0.01", 0, 100, NULL, "SGD learning rate of relearning"},
    {"relearn-batch", LETHE_PARAM_INT, "128", 1, 1e9, NULL, "minibatch size of relearning"},
    {"relearn-alpha", LETHE_PARAM_DOUBLE, "0.05", 0, 1, NULL,
     "relearned when forget accuracy ≥ (1 − alpha) × the original model's"},
    {NULL},
};
static const LetheNodeVTable vtable = {.process = unlearning_process};

static const LetheNodeType unlearning_metrics = {
    "unlearning-metrics",
    LETHE_NODE_EVALUATOR,
    "Forget/retain/test accuracy, membership attacks, distances and gaps to the oracle",
    inputs,
    outputs,
    params,
    &vtable,
    "Metric names and formulas: docs/metrics.md.",
};

static const LetheNodeType *const node_types[] = {&unlearning_metrics, NULL};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR,      LETHE_ABI_MINOR,
    "unlearning-metrics", "0.1.0",
    "LGPL-2.1-or-later",  "Machine-unlearning evaluator",
    node_types,           NULL,
};

LETHE_PLUGIN_DEFINE(plugin_info)
