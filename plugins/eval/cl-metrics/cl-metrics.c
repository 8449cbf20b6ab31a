/* Lethe — continual-learning metrics from the accuracy matrix.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [eval]
 *   plugin = cl-metrics
 *   model = learn.model        # one model frame after each task
 *   test = test                # the whole test set (sticky)
 *   reference = joint.model    # optional: a joint learner, for intransigence
 *   initial = init.model       # optional: the untrained model, for FWT
 *
 * Keeps every model it receives; at the end of the stream evaluates each
 * on every task's test samples, class-IL (argmax over all outputs) and
 * task-IL (argmax over the task's classes), and emits the metrics of
 * docs/metrics.md through lethe_node_metric() and as one `metrics` frame.
 * A model's task classes come from its "classes" metadata (copied by the
 * learner from the request); models whose "event" is not "learn" are
 * skipped.
 */
#include <math.h>
#include <string.h>

#include <lethe/model.h>
#include <lethe/plugin.h>

#include "eval-ops.h"
#include "stream-ops.h"

typedef struct {
  GPtrArray *models;     /* after each task */
  GPtrArray *references; /* joint models, paired with @models */
  GPtrArray *task_classes;
  LetheFrame *test;
  LetheFrame *initial;
} ClState;

static void
cl_state_free(gpointer p)
{
  ClState *st = p;
  g_ptr_array_unref(st->models);
  g_ptr_array_unref(st->references);
  g_ptr_array_unref(st->task_classes);
  g_clear_pointer(&st->test, lethe_frame_unref);
  g_clear_pointer(&st->initial, lethe_frame_unref);
  g_free(st);
}

static gboolean
cl_init(LetheNode *node, GError **error)
{
  ClState *st = g_new0(ClState, 1);
  st->models = g_ptr_array_new_with_free_func((GDestroyNotify)lethe_frame_unref);
  st->references = g_ptr_array_new_with_free_func((GDestroyNotify)lethe_frame_unref);
  st->task_classes = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
  lethe_node_set_private(node, st, cl_state_free);
  return TRUE;
}

static gboolean
cl_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  ClState *st = lethe_node_get_private(node);
  LetheFrame *model = inputs[0];
  const char *event = lethe_frame_get_meta_string(model, "event", "learn");
  if (g_strcmp0(event, "learn") != 0)
    return TRUE;
  GArray *classes = stream_get_classes(model);
  if (classes == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: model frame %u has no 'classes' metadata, so its task is unknown; the "
                "learner must copy 'task' and 'classes' from the request it answers",
                lethe_node_get_name(node), st->models->len);
    return FALSE;
  }
  g_ptr_array_add(st->models, lethe_frame_ref(model));
  g_ptr_array_add(st->task_classes, classes);
  if (inputs[2] != NULL)
    g_ptr_array_add(st->references, lethe_frame_ref(inputs[2]));
  if (inputs[1] != NULL) {
    g_clear_pointer(&st->test, lethe_frame_unref);
    st->test = lethe_frame_ref(inputs[1]);
  }
  if (inputs[3] != NULL && st->initial == NULL)
    st->initial = lethe_frame_ref(inputs[3]);
  lethe_node_progress(node, "collecting models", -1.0);
  return TRUE;
}

/* Class-IL and task-IL accuracy of @model on every task. */
static gboolean
evaluate(LetheNode *node, LetheFrame *model, double *cil, double *til, double *counts,
         GError **error)
{
  ClState *st = lethe_node_get_private(node);
  LetheTensor *x = lethe_frame_get_tensor(st->test, "x");
  g_autoptr(LetheTensor) y = stream_labels(st->test, lethe_node_get_name(node), 0, error);
  if (x == NULL || y == NULL) {
    if (error && *error == NULL)
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA, "%s: the test frame has no 'x'",
                  lethe_node_get_name(node));
    return FALSE;
  }
  g_autoptr(LetheTensor) logits = NULL;
  if (!lethe_model_forward(model, x, &logits, error))
    return FALSE;
  g_autoptr(LetheTensor) out = lethe_tensor_to_dtype(logits, LETHE_DTYPE_F32);
  LetheTensor *task = lethe_frame_get_tensor(st->test, "task");
  g_autoptr(LetheTensor) row_task = task ? lethe_tensor_to_dtype(task, LETHE_DTYPE_I32) : NULL;
  if (!eval_task_accuracies(lethe_tensor_f32(out), out->shape[0], out->shape[1],
                            lethe_tensor_i32(y), row_task ? lethe_tensor_i32(row_task) : NULL,
                            st->task_classes, cil, til, counts, error)) {
    g_prefix_error(error, "%s: ", lethe_node_get_name(node));
    return FALSE;
  }
  return TRUE;
}

typedef struct {
  LetheNode *node;
  LetheFrame *frame;
} EmitTarget;

static void
emit_metric(gpointer user_data, const char *name, gint64 step, double value, const char *json)
{
  EmitTarget *t = user_data;
  lethe_node_metric(t->node, name, step, value, json);
  if (step >= 0)
    return; /* the frame holds the run's summary; per-step values go to the log only */
  if (json)
    lethe_frame_set_meta_string(t->frame, name, json);
  else
    lethe_frame_take_tensor(t->frame, name, lethe_tensor_new_scalar_f64(value));
}

static gboolean
cl_flush(LetheNode *node, GError **error)
{
  ClState *st = lethe_node_get_private(node);
  guint T = st->models->len;
  if (T == 0)
    return TRUE;
  if (st->test == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "%s: no test set arrived",
                lethe_node_get_name(node));
    return FALSE;
  }
  g_autofree double *a_c = g_new(double, T *T);
  g_autofree double *a_t = g_new(double, T *T);
  g_autofree double *counts = g_new(double, T);
  for (guint i = 0; i < T; i++) {
    if (lethe_node_is_cancelled(node)) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_CANCELLED, "cancelled");
      return FALSE;
    }
    g_autofree char *what = g_strdup_printf("model %u/%u", i + 1, T);
    lethe_node_progress(node, what, (double)i / T);
    if (!evaluate(node, g_ptr_array_index(st->models, i), a_c + i * T, a_t + i * T, counts, error))
      return FALSE;
  }
  g_autofree double *b_c = NULL, *b_t = NULL, *j_c = NULL, *j_t = NULL;
  if (st->initial) {
    b_c = g_new(double, T);
    b_t = g_new(double, T);
    if (!evaluate(node, st->initial, b_c, b_t, NULL, error))
      return FALSE;
  }
  if (st->references->len == T) {
    j_c = g_new(double, T);
    j_t = g_new(double, T);
    g_autofree double *rc = g_new(double, T), *rt = g_new(double, T);
    for (guint k = 0; k < T; k++) {
      if (!evaluate(node, g_ptr_array_index(st->references, k), rc, rt, NULL, error))
        return FALSE;
      j_c[k] = rc[k];
      j_t[k] = rt[k];
    }
  }
  EmitTarget target = {node, lethe_frame_new()};
  lethe_frame_set_meta_string(target.frame, "event", "metrics");
  eval_emit_cl_metrics(a_c, T, b_c, j_c, counts, "", emit_metric, &target);
  eval_emit_cl_metrics(a_t, T, b_t, j_t, counts, "_task_il", emit_metric, &target);
  lethe_node_progress(node, "done", 1.0);
  /* Every value went through lethe_node_metric() already; the frame is
   * for downstream nodes only. */
  if (lethe_node_output_is_linked(node, 0))
    lethe_node_push(node, 0, target.frame);
  else
    lethe_frame_unref(target.frame);
  return TRUE;
}

static const LethePortSpec cl_inputs[] = {
    {"model", "model", LETHE_PORT_NONE, "the model after each task"},
    {"test", "dataset", LETHE_PORT_STICKY, "the test set (all tasks)"},
    {"reference", "model", LETHE_PORT_OPTIONAL,
     "a jointly trained model after each task (intransigence)"},
    {"initial", "model", LETHE_PORT_STICKY | LETHE_PORT_OPTIONAL,
     "the model before training (forward transfer)"},
    {NULL},
};
static const LethePortSpec cl_outputs[] = {
    {"metrics", "metrics", LETHE_PORT_NONE, "one frame of the run's summary metrics"},
    {NULL},
};
static const LetheNodeVTable cl_vtable = {
    .init = cl_init, .process = cl_process, .flush = cl_flush};

static const LetheNodeType cl_metrics = {
    "cl-metrics",
    LETHE_NODE_EVALUATOR,
    "Accuracy matrix, ACC, AIA, forgetting, BWT, FWT, intransigence; class-IL and task-IL",
    cl_inputs,
    cl_outputs,
    NULL,
    &cl_vtable,
    "Metric names and formulas: docs/metrics.md.  Task-IL names end in _task_il.",
};

static const LetheNodeType *const node_types[] = {&cl_metrics, NULL};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR,     LETHE_ABI_MINOR,
    "cl-metrics",        "0.1.0",
    "LGPL-2.1-or-later", "Continual-learning evaluator",
    node_types,          NULL,
};

LETHE_PLUGIN_DEFINE(plugin_info)
