/* Lethe — what the acil and acu node types share, and the "acil" model kind.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "acil-node.h"

#include <math.h>
#include <string.h>

#include "stream-ops.h"

/* The features of @x as f32 [n, d]: through @backbone when set, else the
 * samples flattened (a view when @x is contiguous f32). */
static LetheTensor *
features_of(LetheTensor *x, const LetheFrame *backbone, const char *what, GError **error)
{
  g_autoptr(LetheTensor) f = NULL;
  if (x->rank < 1) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s: 'x' is a scalar; it needs one row per sample", what);
    return NULL;
  }
  if (backbone != NULL) {
    g_autoptr(LetheTensor) out = NULL;
    if (!lethe_model_forward(backbone, x, &out, error)) {
      g_prefix_error(error, "%s: the backbone failed: ", what);
      return NULL;
    }
    f = lethe_tensor_to_dtype(out, LETHE_DTYPE_F32);
  } else if (x->dtype == LETHE_DTYPE_F32) {
    f = lethe_tensor_contiguous(x);
  } else {
    f = lethe_tensor_to_dtype(x, LETHE_DTYPE_F32);
  }
  gint64 shape[2] = {f->shape[0], 1};
  for (guint i = 1; i < f->rank; i++)
    shape[1] *= f->shape[i];
  return lethe_tensor_reshape(f, 2, shape, error);
}

gboolean
acil_data_from_frame(const LetheFrame *frame, const LetheFrame *backbone, gint64 d_f,
                     const char *what, AcilData *out, GError **error)
{
  memset(out, 0, sizeof *out);
  LetheTensor *x = lethe_frame_get_tensor(frame, "x");
  if (x == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                "%s has no tensor 'x'; connect a dataset stream (x, y, index)", what);
    return FALSE;
  }
  if (!(out->x = features_of(x, backbone, what, error)))
    return FALSE;
  gint64 n = out->x->shape[0];
  if (d_f >= 0 && out->x->shape[1] != d_f) {
    g_autofree char *shape = lethe_tensor_shape_string(x);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: its samples have shape %s, %" G_GINT64_FORMAT
                " features each%s, but the model was learned on %" G_GINT64_FORMAT
                " features; send samples of the dataset (and backbone) the model learned",
                what, shape, out->x->shape[1], backbone ? " after the backbone" : "", d_f);
    acil_data_clear(out);
    return FALSE;
  }
  if (!(out->y = stream_labels(frame, what, 0, error))) {
    acil_data_clear(out);
    return FALSE;
  }
  LetheTensor *ids = lethe_frame_get_tensor(frame, "index");
  if (ids == NULL)
    ids = lethe_frame_get_tensor(frame, "ids");
  out->ids =
      ids && ids->rank == 1 ? lethe_tensor_to_dtype(ids, LETHE_DTYPE_I64) : stream_index_ids(frame);
  if (out->y->shape[0] != n || out->ids->shape[0] != n) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s: 'x' has %" G_GINT64_FORMAT " samples but 'y' %" G_GINT64_FORMAT
                " and the sample ids %" G_GINT64_FORMAT,
                what, n, out->y->shape[0], out->ids->shape[0]);
    acil_data_clear(out);
    return FALSE;
  }
  out->b = (AcilBatch){lethe_tensor_f32(out->x), lethe_tensor_i32(out->y),
                       lethe_tensor_i64(out->ids), (gsize)n};
  return TRUE;
}

void
acil_data_clear(AcilData *d)
{
  g_clear_pointer(&d->x, lethe_tensor_unref);
  g_clear_pointer(&d->y, lethe_tensor_unref);
  g_clear_pointer(&d->ids, lethe_tensor_unref);
  memset(&d->b, 0, sizeof d->b);
}

gboolean
acil_forget(AcilState *s, const LetheFrame *request, const AcilData *d, const char *what,
            GError **error)
{
  GVariant *v = lethe_frame_get_meta(request, "forget-classes");
  if (v != NULL) {
    g_autoptr(GArray) classes = g_array_new(FALSE, FALSE, sizeof(gint64));
    gsize n = 0;
    if (g_variant_is_of_type(v, G_VARIANT_TYPE("ai"))) {
      const gint32 *c = g_variant_get_fixed_array(v, &n, sizeof(gint32));
      for (gsize i = 0; i < n; i++) {
        gint64 ci = c[i];
        g_array_append_val(classes, ci);
      }
    } else if (g_variant_is_of_type(v, G_VARIANT_TYPE("ax"))) {
      const gint64 *c = g_variant_get_fixed_array(v, &n, sizeof(gint64));
      g_array_append_vals(classes, c, (guint)n);
    } else {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                  "%s: metadata 'forget-classes' is of type %s; expected a list of integers (ai)",
                  what, g_variant_get_type_string(v));
      return FALSE;
    }
    if (!acil_check_forget_classes(s, (gint64 *)classes->data, classes->len, &d->b, what, error))
      return FALSE;
  }
  return acil_unlearn(s, &d->b, what, error);
}

gboolean
acil_retrain_rel_error(const AcilState *s, const AcilBatch *batches, gsize n_batches, double *rel,
                       GError **error)
{
  gint64 k = acil_state_n_classes(s);
  g_autofree double *w_ref = g_new(double, (gsize)(s->width * MAX(k, 1)));
  if (!acil_ridge_from_scratch(lethe_tensor_f64(s->w_b), s->d_f, s->width, s->gamma, k, batches,
                               n_batches, s, w_ref, error))
    return FALSE;
  *rel = acil_rel_error(lethe_tensor_f64(s->w), w_ref, (gsize)(s->width * k));
  return TRUE;
}

void
acil_model_attach_backbone(LetheFrame *model, const LetheFrame *backbone)
{
  if (backbone == NULL)
    return;
  for (guint i = 0; i < lethe_frame_get_n_tensors(backbone); i++) {
    const char *name;
    LetheTensor *t = lethe_frame_get_nth(backbone, i, &name);
    g_autofree char *key = g_strconcat(ACIL_BACKBONE_PREFIX, name, NULL);
    lethe_frame_set_tensor(model, key, t);
  }
  lethe_frame_set_meta_string(model, "backbone-kind",
                              lethe_frame_get_meta_string(backbone, "model-kind", ""));
  lethe_frame_set_meta_string(model, "backbone-arch",
                              lethe_frame_get_meta_string(backbone, "arch", ""));
}

LetheFrame *
acil_model_get_backbone(const LetheFrame *model)
{
  const char *kind = lethe_frame_get_meta_string(model, "backbone-kind", NULL);
  if (kind == NULL)
    return NULL;
  LetheFrame *b = lethe_frame_new();
  gsize plen = strlen(ACIL_BACKBONE_PREFIX);
  for (guint i = 0; i < lethe_frame_get_n_tensors(model); i++) {
    const char *name;
    LetheTensor *t = lethe_frame_get_nth(model, i, &name);
    if (g_str_has_prefix(name, ACIL_BACKBONE_PREFIX))
      lethe_frame_set_tensor(b, name + plen, t);
  }
  lethe_frame_set_meta_string(b, "model-kind", kind);
  lethe_frame_set_meta_string(b, "arch", lethe_frame_get_meta_string(model, "backbone-arch", ""));
  return b;
}

void
acil_model_finish(LetheFrame *model, const LetheFrame *request, const char *event, double seconds)
{
  lethe_frame_set_meta_string(model, "event", event);
  GVariant *task = lethe_frame_get_meta(request, "task");
  GVariant *classes = lethe_frame_get_meta(request, "classes");
  GVariant *forgotten = lethe_frame_get_meta(request, "forget-classes");
  if (task)
    lethe_frame_set_meta(model, "task", task);
  if (classes)
    lethe_frame_set_meta(model, "classes", classes);
  if (forgotten)
    lethe_frame_set_meta(model, "forget-classes", forgotten);
  lethe_frame_set_meta_double(
      model, g_str_equal(event, "forget") ? "unlearn-seconds" : "learn-seconds", seconds);
}

/* ---- The "acil" model kind ---------------------------------------------- */

static gboolean
acil_forward(const LetheFrame *model, LetheTensor *x, LetheTensor **out, GError **error)
{
  LetheTensor *w_b = lethe_frame_get_tensor(model, "W_B");
  LetheTensor *w = lethe_frame_get_tensor(model, "W");
  LetheTensor *classes = lethe_frame_get_tensor(model, "classes");
  if (w_b == NULL || w == NULL || classes == NULL || w_b->dtype != LETHE_DTYPE_F64 ||
      w->dtype != LETHE_DTYPE_F64 || classes->dtype != LETHE_DTYPE_I32 || w_b->rank != 2 ||
      w->rank != 2 || w->shape[0] != w_b->shape[0]) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "an acil model frame needs f64 'W_B' [width, d_f], f64 'W' [width, K] and i32 "
                "'classes'; this one was not made by the acil learner");
    return FALSE;
  }
  g_autoptr(LetheFrame) backbone = acil_model_get_backbone(model);
  g_autoptr(LetheTensor) f = features_of(x, backbone, "acil forward", error);
  if (f == NULL)
    return FALSE;
  gint64 width = w_b->shape[0], d_f = w_b->shape[1], k = w->shape[1], n = f->shape[0];
  if (f->shape[1] != d_f) {
    g_autofree char *shape = lethe_tensor_shape_string(x);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "acil forward: the samples have shape %s, %" G_GINT64_FORMAT
                " features each, but the model was learned on %" G_GINT64_FORMAT " features",
                shape, f->shape[1], d_f);
    return FALSE;
  }
  g_autofree gboolean *active = g_new0(gboolean, MAX(k, 1));
  g_autoptr(LetheTensor) cc = lethe_tensor_contiguous(classes);
  for (gint64 i = 0; i < lethe_tensor_n_elements(cc); i++)
    if (lethe_tensor_i32(cc)[i] >= 0 && lethe_tensor_i32(cc)[i] < k)
      active[lethe_tensor_i32(cc)[i]] = TRUE;
  g_autoptr(LetheTensor) wb = lethe_tensor_contiguous(w_b);
  g_autoptr(LetheTensor) wc = lethe_tensor_contiguous(w);
  LetheTensor *logits = lethe_tensor_new_2d(LETHE_DTYPE_F32, n, k);
  acil_predict(lethe_tensor_f64(wb), lethe_tensor_f64(wc), active, d_f, width, k,
               lethe_tensor_f32(f), (gsize)n, lethe_tensor_f32(logits));
  *out = logits;
  return TRUE;
}

const LetheModelKind acil_model_kind = {
    .name = ACIL_MODEL_KIND,
    .description = "Analytic head on a random ReLU expansion: ReLU(f(x) W_Bᵀ) W, dropped classes "
                   "at -inf",
    .forward = acil_forward,
    .loss_grad = NULL,
};
