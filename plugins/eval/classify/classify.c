/* Lethe — classify-metrics: how well a classifier does on held-out data.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [eval]
 *   plugin = classify-metrics
 *   model = learn.model        # each model frame is evaluated
 *   test = test                # labelled held-out data (sticky)
 *
 * Runs each model on the test set, takes the arg-max of its outputs and
 * records accuracy, macro_f1 (unweighted mean of per-class F1, as
 * scikit-learn's f1_score(average="macro")) and balanced_acc (mean
 * per-class recall), with the model's version as the step.  One `metrics`
 * frame per model.  Formulas: docs/metrics.md.
 */
#include <math.h>

#include <lethe/model.h>
#include <lethe/nn-stats.h>
#include <lethe/plugin.h>

static gboolean
classify_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  const char *name = lethe_node_get_name(node);
  LetheFrame *model = inputs[0], *test = inputs[1];
  LetheTensor *x = lethe_frame_get_tensor(test, "x");
  LetheTensor *y = lethe_frame_get_tensor(test, "y");
  if (x == NULL || y == NULL || y->rank != 1 || y->shape[0] != x->shape[0]) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s: the test frame needs inputs 'x' and one class label 'y' per sample", name);
    return FALSE;
  }
  lethe_node_progress(node, "evaluating", -1.0);
  g_autoptr(LetheTensor) raw = NULL;
  if (!lethe_model_forward(model, x, &raw, error)) {
    g_prefix_error(error, "%s: ", name);
    return FALSE;
  }
  g_autoptr(LetheTensor) out = lethe_tensor_to_dtype(raw, LETHE_DTYPE_F32);
  g_autoptr(LetheTensor) truth = lethe_tensor_to_dtype(y, LETHE_DTYPE_I32);
  gint64 n = out->shape[0], k = out->rank == 2 ? out->shape[1] : 0;
  const gint32 *t = lethe_tensor_i32(truth);
  for (gint64 i = 0; i < n; i++)
    if (t[i] < 0 || t[i] >= k) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s: label %d of test sample %" G_GINT64_FORMAT " has no output in a model "
                  "with %" G_GINT64_FORMAT " outputs; evaluate on data of the model's classes",
                  name, t[i], i, k);
      return FALSE;
    }
  g_autofree gint32 *pred = g_new(gint32, MAX(n, 1));
  const float *o = lethe_tensor_f32(out);
  for (gint64 i = 0; i < n; i++) {
    gint32 best = 0;
    for (gint64 c = 1; c < k; c++)
      if (o[i * k + c] > o[i * k + best])
        best = (gint32)c;
    pred[i] = best;
  }
  /* Mean recall over the classes present in the test set. */
  g_autofree gint64 *hits = g_new0(gint64, k), *count = g_new0(gint64, k);
  for (gint64 i = 0; i < n; i++) {
    count[t[i]]++;
    hits[t[i]] += pred[i] == t[i];
  }
  double recall = 0;
  gint64 present = 0;
  for (gint64 c = 0; c < k; c++)
    if (count[c] > 0) {
      recall += (double)hits[c] / count[c];
      present++;
    }

  gint64 step = lethe_frame_get_meta_int(model, "version", -1);
  double values[3] = {lethe_accuracy(pred, t, (gsize)n), lethe_macro_f1(pred, t, (gsize)n, k),
                      present ? recall / present : NAN};
  const char *names[3] = {"accuracy", "macro_f1", "balanced_acc"};
  LetheFrame *metrics = lethe_frame_new();
  lethe_frame_set_meta_string(metrics, "event", "metrics");
  lethe_frame_set_meta_int(metrics, "step", step);
  for (int m = 0; m < 3; m++)
    lethe_frame_take_tensor(metrics, names[m], lethe_tensor_new_scalar_f64(values[m]));
  /* Unconnected, the core records the frame's tensors as metrics; a
   * metrics-sink downstream does the same. */
  lethe_node_push(node, 0, metrics);
  return TRUE;
}

static const LethePortSpec classify_inputs[] = {
    {"model", "model", LETHE_PORT_NONE, "the classifier (each frame is evaluated)"},
    {"test", "dataset", LETHE_PORT_STICKY, "labelled held-out data"},
    {NULL},
};
static const LethePortSpec classify_outputs[] = {
    {"metrics", "metrics", LETHE_PORT_NONE, "accuracy, macro_f1 and balanced_acc per model"},
    {NULL},
};
static const LetheNodeVTable classify_vtable = {.process = classify_process};

static const LetheNodeType classify_metrics = {
    "classify-metrics",
    LETHE_NODE_EVALUATOR,
    "Accuracy, macro-F1 and balanced accuracy of a classifier on held-out data",
    classify_inputs,
    classify_outputs,
    NULL,
    &classify_vtable,
    "Arg-max predictions; the step of each metric is the model's version.",
};

static const LetheNodeType *const node_types[] = {&classify_metrics, NULL};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR,     LETHE_ABI_MINOR,
    "classify",          "0.1.0",
    "LGPL-2.1-or-later", "Classification metrics on held-out data",
    node_types,          NULL,
};

LETHE_PLUGIN_DEFINE(plugin_info)
