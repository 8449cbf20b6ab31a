/* Lethe — Selective Synaptic Dampening: retrain-free unlearning.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [importance]                # once, after training: caches []_D
 *   plugin = ssd-importance
 *   model = learn.model
 *   data = train
 *
 *   [forget]
 *   plugin = ssd
 *   model = importance.model
 *   forget = request.forget
 *   alpha = 10
 *   lambda = 1
 *
 * Foster, Schoepf & Brintrup, "Fast Machine Unlearning Without Retraining
 * Through Selective Synaptic Dampening", AAAI 2024.  The importance of a
 * data set S split into M minibatches of `batch` samples (in order, the last
 * one partial) is []_S = (1/M) Σ_m (∇θ L(B_m))², the square of each
 * minibatch's mean-loss gradient averaged over the batches, as the
 * reference code computes it (not per-sample squared gradients).  A
 * parameter is selected when []_{D_f} > α·[]_D (strictly) and multiplied by
 * min(λ·[]_D / []_{D_f}, 1); the others keep their exact bits and no
 * parameter grows.  The reference's `lower_bound = 1` is this cap and its
 * `exponent` is 1.
 *
 * The reference forms the minibatches of D without shuffling, from the
 * retain set laid out class by class followed by the forget class, so its
 * batches hold one class each; []_D of well-learned classes is then close
 * to a tenth of their own []_{D_f} and α = 10 selects few parameters (the
 * card's "uneven" SSD).  `train-order = class-sorted` (the default)
 * reproduces that with the training set sorted by label (stable), which
 * does not depend on the forget class and so can be cached;
 * `as-given` batches D in the data's order (shuffled batches: a different,
 * more aggressive selection).  The forget set is batched as given.
 *
 * `ssd-importance` stores []_D in the model frame, one tensor per parameter
 * named "ssd-importance/<parameter>", so `ssd` then needs only the forget
 * set (pass `data` to `ssd` instead to compute it on the spot).  Tensors
 * whose name holds a '/' are auxiliary state that model kinds ignore
 * (docs/models.md).  The output model keeps the cache: the reference
 * computes []_D once on the full training set, forget set included, and so
 * does a second request here.
 *
 * LFSSD (`label-free = true`; Foster et al., ICLR 2024 Tiny Papers): the loss
 * is the batch mean of the squared L2 norm of the model's outputs and the
 * importance adds |g| instead of g², so no labels are needed.  It needs the
 * `sequential` kind (the generic model-kind API only offers the
 * cross-entropy gradient); SSD itself works on any kind with a backward
 * (lethe_model_loss_grad()).  The model runs in inference mode (batch-norm
 * running statistics, no dropout), as in the reference.
 */
#include <string.h>

#include <lethe/model.h>
#include <lethe/nn-model.h>
#include <lethe/nn-ops.h>
#include <lethe/plugin.h>

#include "ssd-math.h"

#define IMPORTANCE_PREFIX "ssd-importance/"
#define DEFAULT_BATCH     "64"

enum { IN_MODEL, IN_FORGET, IN_DATA };

/* ---- Importance -------------------------------------------------------- */

/* Adds one minibatch's gradients (named like the parameters) to @imp. */
static void
accumulate_grads(LetheFrame *imp, const char *name, LetheTensor *grad, gboolean label_free)
{
  g_autoptr(LetheTensor) g = lethe_tensor_to_dtype(grad, LETHE_DTYPE_F32);
  g_autoptr(LetheTensor) gc = lethe_tensor_contiguous(g);
  LetheTensor *acc = lethe_frame_get_tensor(imp, name);
  if (acc == NULL) {
    lethe_frame_take_tensor(imp, name, lethe_tensor_new(LETHE_DTYPE_F32, gc->rank, gc->shape));
    acc = lethe_frame_get_tensor(imp, name);
  }
  ssd_importance_accumulate(lethe_tensor_f32(acc), lethe_tensor_f32(gc),
                            lethe_tensor_n_elements(gc), label_free);
}

/* LFSSD's loss, mean_i ‖f(x_i)‖², and its gradient in @seq's parameters. */
static gboolean
output_norm_grad(LetheSequential *seq, LetheTape *tape, LetheTensor *xb, GError **error)
{
  lethe_tape_reset(tape);
  LetheParams *params = lethe_sequential_get_params(seq);
  lethe_params_zero_grad(params);
  LetheVar *out = lethe_sequential_forward(seq, tape, lethe_tape_input(tape, xb, FALSE), FALSE);
  LetheVar *sq = lethe_op_sum(tape, lethe_op_square(tape, out));
  LetheVar *loss = lethe_op_scale(tape, sq, 1.0 / (double)xb->shape[0], 0.0);
  if (loss == NULL) {
    if (lethe_tape_check(tape, error))
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_FAILED, "the forward pass returned no output");
    return FALSE;
  }
  return lethe_tape_backward(tape, loss, error);
}

/* Row numbers sorted by label, stable: the order in which the reference
 * presents D (its training loader walks the classes in turn). */
static gint64 *
class_sorted_rows(const gint32 *y, gint64 n)
{
  gint32 max = -1;
  for (gint64 i = 0; i < n; i++)
    max = MAX(max, y[i]);
  const gsize n_start = (gsize)(max + 1) + 1;
  g_autofree gint64 *start = g_new0(gint64, n_start);
  for (gint64 i = 0; i < n; i++)
    if (y[i] >= 0)
      start[y[i] + 1]++;
  for (gint32 c = 0; c <= max; c++)
    start[c + 1] += start[c];
  gint64 *perm = g_new(gint64, (gsize)MAX(n, 1));
  gint64 tail = start[max + 1]; /* negative labels, if any, go last */
  for (gint64 i = 0; i < n; i++)
    perm[y[i] >= 0 ? start[y[i]]++ : tail++] = i;
  return perm;
}

/* Rows @rows of @t (any dtype, first dimension = samples) gathered into a
 * new contiguous tensor. */
static LetheTensor *
gather_rows(LetheTensor *t, const gint64 *rows, gint64 n)
{
  g_autoptr(LetheTensor) tc = lethe_tensor_contiguous(t);
  gint64 shape[LETHE_TENSOR_MAX_RANK];
  memcpy(shape, tc->shape, sizeof shape);
  shape[0] = n;
  LetheTensor *out = lethe_tensor_new_uninit(tc->dtype, tc->rank, shape);
  const gsize row = lethe_tensor_n_bytes(tc) / (gsize)MAX(tc->shape[0], 1);
  for (gint64 i = 0; i < n; i++)
    memcpy((guint8 *)lethe_tensor_data(out) + i * row,
           (const guint8 *)lethe_tensor_data(tc) + rows[i] * row, row);
  return out;
}

/**
 * ssd_compute_importance:
 * Returns: (transfer full): a frame of one f32 importance tensor per
 * parameter that has a gradient, or %NULL with @error set.
 */
static LetheFrame *
compute_importance(LetheNode *node, const LetheFrame *model, const LetheFrame *data,
                   const char *what, gint64 batch, gboolean label_free, gboolean class_sorted,
                   guint64 *n_batches_out, GError **error)
{
  g_autofree gint64 *perm = NULL;
  g_autoptr(LetheTensor) ys = NULL;
  g_autoptr(LetheFrame) imp = NULL;
  LetheTensor *x = lethe_frame_get_tensor(data, "x");
  LetheTensor *y = lethe_frame_get_tensor(data, "y");
  const char *kind = lethe_frame_get_meta_string(model, "model-kind", "");
  if (x == NULL || (y == NULL && !label_free) || x->rank < 1 || x->shape[0] == 0)
    goto no_data;
  imp = lethe_frame_new();
  if (class_sorted && y != NULL) {
    ys = lethe_tensor_to_dtype(y, LETHE_DTYPE_I32);
    perm = class_sorted_rows(lethe_tensor_i32(ys), x->shape[0]);
  }
  LetheSequential *seq = NULL;
  LetheTape *tape = NULL;
  if (label_free) {
    if (g_strcmp0(kind, "sequential") != 0)
      goto label_free_kind;
    if (!(seq = lethe_sequential_new_from_frame(model, error)))
      return NULL;
    tape = lethe_tape_new();
  }
  const gint64 n = x->shape[0];
  guint64 n_batches = 0;
  gboolean ok = TRUE;
  for (gint64 s = 0; s < n && ok; s += batch, n_batches++) {
    if (lethe_node_is_cancelled(node)) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_CANCELLED, "cancelled");
      ok = FALSE;
      break;
    }
    lethe_node_progress(node, what, (double)s / (double)n);
    g_autoptr(LetheTensor) xb = perm ? gather_rows(x, perm + s, MIN(n, s + batch) - s)
                                     : lethe_tensor_slice(x, s, MIN(n, s + batch));
    if (label_free) {
      g_autoptr(LetheTensor) xc = lethe_tensor_contiguous(xb);
      ok = output_norm_grad(seq, tape, xc, error);
      LetheParams *params = lethe_sequential_get_params(seq);
      for (guint i = 0; ok && i < lethe_params_get_n(params); i++)
        if (lethe_params_is_trainable(params, i) && lethe_params_get_grad(params, i))
          accumulate_grads(imp, lethe_params_get_name(params, i), lethe_params_get_grad(params, i),
                           TRUE);
    } else {
      g_autoptr(LetheTensor) yb = perm ? gather_rows(ys, perm + s, MIN(n, s + batch) - s)
                                       : lethe_tensor_slice(y, s, MIN(n, s + batch));
      g_autoptr(LetheFrame) grads = NULL;
      double loss;
      ok = lethe_model_loss_grad(model, xb, yb, &grads, &loss, error);
      for (guint i = 0; ok && i < lethe_frame_get_n_tensors(grads); i++) {
        const char *name;
        LetheTensor *g = lethe_frame_get_nth(grads, i, &name);
        accumulate_grads(imp, name, g, FALSE);
      }
    }
  }
  if (seq)
    lethe_sequential_free(seq);
  if (tape)
    lethe_tape_free(tape);
  if (!ok) {
    g_prefix_error(error, "%s: ", what);
    return NULL;
  }
  for (guint i = 0; i < lethe_frame_get_n_tensors(imp); i++) {
    LetheTensor *t = lethe_frame_get_nth(imp, i, NULL);
    ssd_importance_finish(lethe_tensor_f32(t), lethe_tensor_n_elements(t), n_batches);
  }
  *n_batches_out = n_batches;
  return g_steal_pointer(&imp);

  /* ERRORS */
no_data:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA, "%s: the data frame needs a non-empty 'x'%s",
              what, label_free ? "" : " and labels 'y' (or set label-free = true for LFSSD)");
  return NULL;
label_free_kind:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED,
              "%s: label-free importance (LFSSD) needs a 'sequential' model, not '%s': other "
              "model kinds only expose the cross-entropy gradient; set label-free = false",
              what, kind);
  return NULL;
}

/* "1x28x28": one sample's shape, for messages and the cache's record. */
static char *
sample_shape(const LetheTensor *x)
{
  GString *s = g_string_new(NULL);
  for (guint i = 1; i < x->rank; i++)
    g_string_append_printf(s, "%s%" G_GINT64_FORMAT, i > 1 ? "x" : "", x->shape[i]);
  return g_string_free(s, FALSE);
}

/* ---- ssd-importance ---------------------------------------------------- */

static gboolean
class_sorted(LetheNode *node)
{
  return g_strcmp0(lethe_node_get_string(node, "train-order"), "class-sorted") == 0;
}

static gboolean
importance_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  const char *name = lethe_node_get_name(node);
  const LetheFrame *model = inputs[0], *data = inputs[1];
  gboolean label_free = lethe_node_get_bool(node, "label-free");
  gint64 t0 = g_get_monotonic_time();
  guint64 n_batches = 0;
  g_autoptr(LetheFrame) imp = compute_importance(node, model, data, "training-set importance",
                                                 lethe_node_get_int(node, "batch"), label_free,
                                                 class_sorted(node), &n_batches, error);
  if (imp == NULL) {
    g_prefix_error(error, "%s (ssd-importance): ", name);
    return FALSE;
  }
  LetheFrame *out = lethe_frame_copy(model);
  for (guint i = 0; i < lethe_frame_get_n_tensors(imp); i++) {
    const char *pname;
    LetheTensor *t = lethe_frame_get_nth(imp, i, &pname);
    g_autofree char *key = g_strconcat(IMPORTANCE_PREFIX, pname, NULL);
    lethe_frame_set_tensor(out, key, t);
  }
  g_autofree char *shape = sample_shape(lethe_frame_get_tensor(data, "x"));
  lethe_frame_set_meta_string(out, "ssd-importance-sample-shape", shape);
  lethe_frame_set_meta_int(out, "ssd-importance-label-free", label_free);
  lethe_frame_set_meta_int(out, "ssd-importance-batches", (gint64)n_batches);
  lethe_frame_set_meta_string(out, "ssd-importance-order",
                              lethe_node_get_string(node, "train-order"));
  lethe_frame_set_meta_double(out, "ssd-importance-seconds",
                              (double)(g_get_monotonic_time() - t0) / 1e6);
  lethe_node_push(node, 0, out); /* FALSE only when the run is stopping */
  return TRUE;
}

/* ---- ssd --------------------------------------------------------------- */

/* The classes the model has learned, when its frame says so: "seen-classes",
 * else "classes" of a single-task model.  %NULL when unknown. */
static GVariant *
learned_classes(const LetheFrame *model)
{
  GVariant *v = lethe_frame_get_meta(model, "seen-classes");
  if (v == NULL && lethe_frame_get_meta_int(model, "task", 0) == 0)
    v = lethe_frame_get_meta(model, "classes");
  return v && g_variant_is_of_type(v, G_VARIANT_TYPE("ai")) ? v : NULL;
}

static gboolean
check_forget_set(const char *name, const LetheFrame *model, const LetheFrame *forget,
                 const LetheFrame *data, gboolean label_free, GError **error)
{
  LetheTensor *x = lethe_frame_get_tensor(forget, "x");
  LetheTensor *y = lethe_frame_get_tensor(forget, "y");
  if (x == NULL || x->rank < 1 || x->shape[0] == 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s (ssd): the forget set is empty or has no 'x'", name);
    return FALSE;
  }
  g_autofree char *fs = sample_shape(x);
  const char *want = lethe_frame_get_meta_string(model, "ssd-importance-sample-shape", NULL);
  g_autofree char *ds = NULL;
  if (data && lethe_frame_get_tensor(data, "x"))
    want = ds = sample_shape(lethe_frame_get_tensor(data, "x"));
  if (want && strcmp(want, fs) != 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s (ssd): the forget set's samples are %s but the model was trained on %s "
                "samples; the forget set must come from the model's training data",
                name, fs, want);
    return FALSE;
  }
  GVariant *learned = learned_classes(model);
  if (y == NULL || learned == NULL || label_free)
    return TRUE;
  gsize n_learned = 0;
  const gint32 *cls = g_variant_get_fixed_array(learned, &n_learned, sizeof(gint32));
  g_autoptr(LetheTensor) yi = lethe_tensor_to_dtype(y, LETHE_DTYPE_I32);
  const gint32 *lab = lethe_tensor_i32(yi);
  for (gint64 i = 0; i < lethe_tensor_n_elements(yi); i++) {
    gboolean found = FALSE;
    for (gsize k = 0; k < n_learned && !found; k++)
      found = cls[k] == lab[i];
    if (!found) {
      GString *list = g_string_new(NULL);
      for (gsize k = 0; k < n_learned; k++)
        g_string_append_printf(list, "%s%d", k ? "," : "", cls[k]);
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s (ssd): the forget set holds class %d, which the model never learned "
                  "(it has learned classes %s); nothing to unlearn",
                  name, lab[i], list->str);
      g_string_free(list, TRUE);
      return FALSE;
    }
  }
  return TRUE;
}

/* []_D from the model's cache, or %NULL when it has none. */
static LetheFrame *
cached_importance(const LetheFrame *model)
{
  LetheFrame *imp = NULL;
  for (guint i = 0; i < lethe_frame_get_n_tensors(model); i++) {
    const char *tname;
    LetheTensor *t = lethe_frame_get_nth(model, i, &tname);
    if (!g_str_has_prefix(tname, IMPORTANCE_PREFIX))
      continue;
    if (imp == NULL)
      imp = lethe_frame_new();
    lethe_frame_set_tensor(imp, tname + strlen(IMPORTANCE_PREFIX), t);
  }
  return imp;
}

static gboolean
ssd_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  const char *name = lethe_node_get_name(node);
  const LetheFrame *model = inputs[IN_MODEL], *forget = inputs[IN_FORGET], *data = inputs[IN_DATA];
  g_autoptr(LetheFrame) imp_d = NULL;
  g_autoptr(LetheFrame) imp_f = NULL;
  const gboolean label_free = lethe_node_get_bool(node, "label-free");
  const gint64 batch = lethe_node_get_int(node, "batch");
  const double alpha = lethe_node_get_double(node, "alpha");
  const double lambda = lethe_node_get_double(node, "lambda");
  const char *kind_name = lethe_frame_get_meta_string(model, "model-kind", "");
  const LetheModelKind *kind = lethe_model_kind_lookup(kind_name, error);
  if (kind == NULL)
    goto failed;
  if (kind->loss_grad == NULL && !label_free)
    goto no_backward;
  if (!check_forget_set(name, model, forget, data, label_free, error))
    return FALSE;

  gint64 t0 = g_get_monotonic_time();
  if (data == NULL) {
    imp_d = cached_importance(model);
    if (imp_d == NULL)
      goto no_importance;
    if ((lethe_frame_get_meta_int(model, "ssd-importance-label-free", 0) != 0) != label_free)
      goto wrong_importance;
  } else {
    guint64 nb;
    if (!(imp_d = compute_importance(node, model, data, "training-set importance", batch,
                                     label_free, class_sorted(node), &nb, error)))
      goto failed;
  }
  guint64 nbf = 0;
  imp_f = compute_importance(node, model, forget, "forget-set importance", batch, label_free, FALSE,
                             &nbf, error);
  if (imp_f == NULL)
    goto failed;

  LetheFrame *out = lethe_frame_copy(model);
  gint64 n_selected = 0, n_total = 0;
  for (guint i = 0; i < lethe_frame_get_n_tensors(imp_f); i++) {
    const char *pname;
    LetheTensor *f = lethe_frame_get_nth(imp_f, i, &pname);
    LetheTensor *d = lethe_frame_get_tensor(imp_d, pname);
    LetheTensor *p = lethe_frame_get_tensor(out, pname);
    if (d == NULL || p == NULL || !lethe_tensor_same_shape(d, f) ||
        !lethe_tensor_same_shape(p, f) || p->dtype != LETHE_DTYPE_F32) {
      lethe_frame_unref(out);
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                  "%s (ssd): parameter '%s' has no matching f32 tensor or training-set "
                  "importance of the same shape; recompute the importance for this model",
                  name, pname);
      return FALSE;
    }
    g_autoptr(LetheTensor) dc = lethe_tensor_contiguous(d);
    LetheTensor *pw = lethe_frame_make_tensor_writable(out, pname);
    n_selected += ssd_dampen(lethe_tensor_f32(pw), lethe_tensor_f32(dc), lethe_tensor_f32(f),
                             lethe_tensor_n_elements(f), alpha, lambda, NULL);
    n_total += lethe_tensor_n_elements(f);
  }
  double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
  lethe_frame_set_meta_int(out, "version", lethe_frame_get_meta_int(model, "version", 0) + 1);
  lethe_frame_set_meta_string(out, "event", "forget");
  lethe_frame_set_meta_double(out, "unlearn-seconds", secs);
  lethe_frame_set_meta_int(out, "ssd-selected", n_selected);
  GVariant *fc = lethe_frame_get_meta(forget, "forget-classes");
  if (fc)
    lethe_frame_set_meta(out, "forget-classes", fc); /* not floating: a ref is added */
  double frac = n_total ? (double)n_selected / (double)n_total : 0;
  lethe_frame_set_meta_double(out, "ssd-selected-fraction", frac);
  lethe_node_metric(node, "ssd_selected_fraction", -1, frac, NULL);
  lethe_node_metric(node, "unlearn_seconds", -1, secs, NULL);
  g_info("%s: selected %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " parameters (%.4f%%) in %.3f s",
         name, n_selected, n_total, 100 * frac, secs);
  lethe_node_push(node, 0, out);
  return TRUE;

  /* ERRORS */
no_backward:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED,
              "%s (ssd): model kind '%s' has no backward (loss gradient), and SSD needs "
              "gradients to measure parameter importance; use a model kind that supports "
              "lethe_model_loss_grad(), e.g. 'sequential'",
              name, kind_name);
  return FALSE;
no_importance:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "%s (ssd): the model carries no cached training-set importance and no 'data' is "
              "connected; compute it once with an ssd-importance node after training, or connect "
              "data = <training set>",
              name);
  return FALSE;
wrong_importance:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "%s (ssd): the cached importance was computed with label-free = %s but this node "
              "has label-free = %s; set the same on both nodes",
              name, label_free ? "false" : "true", label_free ? "true" : "false");
  return FALSE;
failed:
  g_prefix_error(error, "%s (ssd): ", name);
  return FALSE;
}

/* ---- Types ------------------------------------------------------------- */

static const LethePortSpec importance_inputs[] = {
    {"model", "model", LETHE_PORT_NONE, "the trained model (each frame gets its importance)"},
    {"data", "dataset", LETHE_PORT_STICKY, "the full training set D"},
    {NULL},
};

static const LethePortSpec model_output[] = {
    {"model", "model", LETHE_PORT_NONE, "the model with its training-set importance"},
    {NULL},
};

static const char *const order_choices[] = {"class-sorted", "as-given", NULL};

static const LetheParamSpec importance_params[] = {
    {"train-order", LETHE_PARAM_ENUM, "class-sorted", 0, 0, order_choices,
     "minibatches of D: class by class as the reference's loader, or in the data's order"},
    {"batch", LETHE_PARAM_INT, DEFAULT_BATCH, 1, 1e9, NULL,
     "minibatch size of the importance (64 in the reference)"},
    {"label-free", LETHE_PARAM_BOOL, "false", 0, 0, NULL,
     "LFSSD: importance of the squared output norm, |g| instead of g²"},
    {NULL},
};

static const LetheNodeVTable importance_vtable = {.process = importance_process};

static const LetheNodeType ssd_importance_type = {
    "ssd-importance",
    LETHE_NODE_TRANSFORM,
    "Caches SSD's training-set importance in the model frame",
    importance_inputs,
    model_output,
    importance_params,
    &importance_vtable,
    "Adds one tensor \"ssd-importance/<parameter>\" per parameter: the squared minibatch-mean "
    "loss gradient averaged over the minibatches of `data`.",
};

static const LethePortSpec ssd_inputs[] = {
    {"model", "model", LETHE_PORT_NONE, "the model to unlearn from (each frame is unlearned)"},
    {"forget", "dataset", LETHE_PORT_STICKY, "the forget set D_f"},
    {"data", "dataset", LETHE_PORT_STICKY | LETHE_PORT_OPTIONAL,
     "the full training set, when the model carries no cached importance"},
    {NULL},
};

static const LethePortSpec ssd_outputs[] = {
    {"model", "model", LETHE_PORT_NONE, "the dampened model"},
    {NULL},
};

static const LetheParamSpec ssd_params[] = {
    {"train-order", LETHE_PARAM_ENUM, "class-sorted", 0, 0, order_choices,
     "minibatches of D when `data` is connected: class by class, or in the data's order"},
    {"alpha", LETHE_PARAM_DOUBLE, "10", 0, 1e12, NULL,
     "selection weighting α: select where []_forget > α·[]_train"},
    {"lambda", LETHE_PARAM_DOUBLE, "1", 0, 1e12, NULL,
     "dampening constant λ: multiply by min(λ·[]_train/[]_forget, 1)"},
    {"batch", LETHE_PARAM_INT, DEFAULT_BATCH, 1, 1e9, NULL,
     "minibatch size of the importances (64 in the reference)"},
    {"label-free", LETHE_PARAM_BOOL, "false", 0, 0, NULL,
     "LFSSD: importance of the squared output norm, |g| instead of g² (needs sequential)"},
    {NULL},
};

static const LetheNodeVTable ssd_vtable = {.process = ssd_process};

static const LetheNodeType ssd_type = {
    "ssd",
    LETHE_NODE_UNLEARNER,
    "Selective Synaptic Dampening (Foster et al., AAAI 2024): retrain-free unlearning",
    ssd_inputs,
    ssd_outputs,
    ssd_params,
    &ssd_vtable,
    "Dampens the parameters far more important to the forget set than to the training set. "
    "Works on any model kind with a loss gradient. Records ssd_selected_fraction and "
    "unlearn_seconds.",
};

static const LetheNodeType *const node_types[] = {&ssd_importance_type, &ssd_type, NULL};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR,
    LETHE_ABI_MINOR,
    "ssd",
    "0.1.0",
    "LGPL-2.1-or-later",
    "Selective Synaptic Dampening and its label-free variant",
    node_types,
    NULL,
};

LETHE_PLUGIN_DEFINE(plugin_info)
