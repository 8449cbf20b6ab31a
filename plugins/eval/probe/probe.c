/* Lethe — probe: linear probes on frozen embeddings (macro-AUROC, macro-F1).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [probe-full]
 *   plugin = probe
 *   model = pretrain.model     # optional: embeds data.x with this encoder
 *   data = ludb                # labels y, subject ids, and x (or z)
 *   folds = 5
 *
 * Features: the model's output on data.x when a model is connected (one
 * probe per model frame), else data.z, else a rank-2 data.x.  Labels: y,
 * class indices [n] (binary or multi-class, one-vs-rest) or 0/1 flags
 * [n, labels] (multi-label).  Rows sharing a value of the `subject` tensor
 * stay in one fold, so windows of one person never sit on both sides.
 * The folds depend on `fold-seed` only, so every encoder a pipeline
 * compares is probed on the same folds.  Features are standardised with
 * the training folds' mean and deviation; one L2-regularised logistic
 * regression per task (nn-stats); the out-of-fold probabilities are pooled
 * and scored.  Metrics: probe_auroc (mean ROC-AUC over tasks),
 * probe_macro_f1 (multi-class: of the arg-max; else mean over tasks at 0.5).
 */
#include <math.h>
#include <string.h>

#include <lethe/model.h>
#include <lethe/plugin.h>

#include "probe-ops.h"

static gboolean
probe_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  const char *name = lethe_node_get_name(node);
  LetheFrame *model = inputs[0], *data = inputs[1];
  g_autoptr(LetheTensor) z = NULL, y = NULL, subject = NULL;
  if (model != NULL) {
    LetheTensor *x = lethe_frame_get_tensor(data, "x");
    if (x == NULL)
      goto no_x;
    g_autoptr(LetheTensor) out = NULL;
    if (!lethe_model_forward(model, x, &out, error)) {
      g_prefix_error(error, "%s: embedding the data with the model: ", name);
      return FALSE;
    }
    z = lethe_tensor_to_dtype(out, LETHE_DTYPE_F32);
  } else {
    LetheTensor *t = lethe_frame_get_tensor(data, "z");
    if (t == NULL)
      t = lethe_frame_get_tensor(data, "x");
    if (t == NULL || t->rank != 2)
      goto no_features;
    z = lethe_tensor_to_dtype(t, LETHE_DTYPE_F32);
  }
  if (z->rank != 2) {
    g_autoptr(GError) e = NULL;
    gint64 shape[2] = {z->shape[0], -1};
    LetheTensor *flat = lethe_tensor_reshape(z, 2, shape, &e);
    lethe_tensor_unref(z);
    z = flat;
  }
  LetheTensor *yt = lethe_frame_get_tensor(data, "y");
  if (yt == NULL || yt->shape[0] != z->shape[0] || yt->rank > 2)
    goto bad_labels;
  y = lethe_tensor_to_dtype(yt, LETHE_DTYPE_I32);
  gsize n = (gsize)z->shape[0], d = (gsize)z->shape[1];
  gsize n_labels = y->rank == 2 ? (gsize)y->shape[1] : 0;
  gint64 n_classes = lethe_frame_get_meta_int(data, "n-classes", 0);
  for (gsize i = 0; n_labels == 0 && i < n; i++)
    n_classes = MAX(n_classes, (gint64)lethe_tensor_i32(y)[i] + 1);
  for (gsize i = 0; n_labels == 0 && i < n; i++)
    if (lethe_tensor_i32(y)[i] < 0)
      goto bad_labels;

  const char *subject_name = lethe_node_get_string(node, "subject");
  LetheTensor *st = *subject_name ? lethe_frame_get_tensor(data, subject_name) : NULL;
  subject = st ? lethe_tensor_to_dtype(st, LETHE_DTYPE_I64) : NULL;
  if (*subject_name && subject == NULL)
    g_warning("%s: the data have no '%s' tensor: every row counts as its own subject", name,
              subject_name);

  ProbeParams p = {(guint)lethe_node_get_int(node, "folds"), lethe_node_get_double(node, "l2"),
                   (guint64)lethe_node_get_int(node, "fold-seed")};
  ProbeResult r;
  lethe_node_progress(node, "probing", -1);
  if (!probe_cross_validate(&p, lethe_tensor_f32(z), n, d, lethe_tensor_i32(y), (gsize)n_classes,
                            n_labels, subject ? lethe_tensor_i64(subject) : NULL, &r, error)) {
    g_prefix_error(error, "%s: ", name);
    return FALSE;
  }
  gint64 step = model ? lethe_frame_get_meta_int(model, "version", -1) : -1;
  lethe_node_metric(node, "probe_auroc", step, r.auroc, NULL);
  lethe_node_metric(node, "probe_macro_f1", step, r.macro_f1, NULL);
  LetheFrame *out = lethe_frame_new();
  lethe_frame_take_tensor(out, "probe_auroc", lethe_tensor_new_scalar_f64(r.auroc));
  lethe_frame_take_tensor(out, "probe_macro_f1", lethe_tensor_new_scalar_f64(r.macro_f1));
  lethe_frame_set_meta_string(out, "event", "metrics");
  if (step >= 0)
    lethe_frame_set_meta_int(out, "step", step);
  lethe_node_push(node, 0, out);
  return TRUE;

  /* ERRORS */
no_x:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
              "%s: a model is connected but the data frame has no 'x' to embed", name);
  return FALSE;
no_features:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
              "%s: no features: connect an encoder to 'model', or give the data a 'z' (or a "
              "rank-2 'x') tensor",
              name);
  return FALSE;
bad_labels:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
              "%s: labels 'y' must be class indices >= 0 [n] or 0/1 flags [n, labels] with one "
              "row per embedded sample",
              name);
  return FALSE;
}

static const LetheParamSpec probe_params[] = {
    {"folds", LETHE_PARAM_INT, "5", 2, 100, NULL, "subject-level cross-validation folds"},
    {"l2", LETHE_PARAM_DOUBLE, "1", 1e-8, 1e8, NULL,
     "L2 penalty of the logistic regression (scikit-learn's C = 1 / l2)"},
    {"fold-seed", LETHE_PARAM_INT, "0", 0, G_MAXINT32, NULL,
     "shuffles subjects into folds; equal across probes so encoders share folds"},
    {"subject", LETHE_PARAM_STRING, "subject", 0, 0, NULL,
     "tensor of subject ids (rows of one subject share a fold); empty: every row its own"},
    {NULL},
};
static const LethePortSpec probe_inputs[] = {
    {"model", "model", LETHE_PORT_OPTIONAL, "an encoder; one probe per model frame"},
    {"data", "any", LETHE_PORT_STICKY, "labels y, subject ids, and x (or embeddings z)"},
    {NULL},
};
static const LethePortSpec probe_outputs[] = {
    {"metrics", "metrics", LETHE_PORT_NONE, "probe_auroc and probe_macro_f1"},
    {NULL},
};
static const LetheNodeVTable probe_vtable = {.process = probe_process};

static const LetheNodeType probe_type = {
    "probe",
    LETHE_NODE_EVALUATOR,
    "Linear probe on frozen embeddings: macro-AUROC and macro-F1, subject-level folds",
    probe_inputs,
    probe_outputs,
    probe_params,
    &probe_vtable,
    "Logistic regression per class or label on standardised features, pooled out-of-fold "
    "predictions.  See docs/ecg.md.",
};

static const LetheNodeType *const node_types[] = {&probe_type, NULL};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR,     LETHE_ABI_MINOR,          "probe",    "0.1.0",
    "LGPL-2.1-or-later", "Linear-probe evaluator", node_types, NULL,
};

LETHE_PLUGIN_DEFINE(plugin_info)
