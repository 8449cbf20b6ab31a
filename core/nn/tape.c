/* Lethe — the autograd tape: arena, variables, backward pass, parameter sets.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Memory: every variable, value, gradient and scratch block of a step comes
 * from one bump arena.  When a step needed more than the first chunk, reset
 * replaces the chunks by one chunk of the total size, so from the second
 * step on a training loop does no allocation at all.
 */
#include "nn-private.h"

#include <stdarg.h>

#define ARENA_ALIGN     64
#define ARENA_MIN_CHUNK (1u << 20)

typedef struct {
  guint8 *base;
  gsize size;
  gsize used;
} Chunk;

struct _LetheTape {
  GArray *chunks; /* Chunk; only the last one takes new allocations */
  gsize total_used;
  GPtrArray *vars;
  GPtrArray *refs; /* tensors read in place until reset */
  gboolean grad_enabled;
  GError *error;
};

static void
chunk_free(gpointer p)
{
  Chunk *c = p;
  free(c->base);
}

static void
arena_add_chunk(LetheTape *tape, gsize size)
{
  Chunk c = {0};
  c.size = MAX(size, (gsize)ARENA_MIN_CHUNK);
  if (posix_memalign((void **)&c.base, ARENA_ALIGN, c.size) != 0)
    g_error("lethe: out of memory allocating a %zu-byte tape arena", c.size);
  g_array_append_val(tape->chunks, c);
}

gpointer
lethe_tape_alloc(LetheTape *tape, gsize size)
{
  size = (size + ARENA_ALIGN - 1) & ~(gsize)(ARENA_ALIGN - 1);
  Chunk *c = &g_array_index(tape->chunks, Chunk, tape->chunks->len - 1);
  if (c->used + size > c->size) {
    arena_add_chunk(tape, MAX(size, c->size));
    c = &g_array_index(tape->chunks, Chunk, tape->chunks->len - 1);
  }
  gpointer p = c->base + c->used;
  c->used += size;
  tape->total_used += size;
  return p;
}

LetheTape *
lethe_tape_new(void)
{
  LetheTape *tape = g_new0(LetheTape, 1);
  tape->chunks = g_array_new(FALSE, FALSE, sizeof(Chunk));
  g_array_set_clear_func(tape->chunks, chunk_free);
  arena_add_chunk(tape, ARENA_MIN_CHUNK);
  tape->vars = g_ptr_array_sized_new(64);
  tape->refs = g_ptr_array_new_with_free_func((GDestroyNotify)lethe_tensor_unref);
  tape->grad_enabled = TRUE;
  return tape;
}

void
lethe_tape_free(LetheTape *tape)
{
  if (!tape)
    return;
  g_array_unref(tape->chunks);
  g_ptr_array_unref(tape->vars);
  g_ptr_array_unref(tape->refs);
  g_clear_error(&tape->error);
  g_free(tape);
}

void
lethe_tape_reset(LetheTape *tape)
{
  g_return_if_fail(tape != NULL);
  if (tape->chunks->len > 1) {
    gsize total = 0;
    for (guint i = 0; i < tape->chunks->len; i++)
      total += g_array_index(tape->chunks, Chunk, i).size;
    g_array_set_size(tape->chunks, 0);
    arena_add_chunk(tape, total);
  }
  g_array_index(tape->chunks, Chunk, 0).used = 0;
  tape->total_used = 0;
  g_ptr_array_set_size(tape->vars, 0);
  g_ptr_array_set_size(tape->refs, 0);
  g_clear_error(&tape->error);
}

void
lethe_tape_set_grad_enabled(LetheTape *tape, gboolean enabled)
{
  g_return_if_fail(tape != NULL);
  tape->grad_enabled = enabled;
}

gboolean
lethe_tape_get_grad_enabled(const LetheTape *tape)
{
  return tape->grad_enabled;
}

gboolean
nn_recording(const LetheTape *tape)
{
  return tape->grad_enabled;
}

guint
lethe_tape_get_n_vars(const LetheTape *tape)
{
  return tape->vars->len;
}

gsize
lethe_tape_get_arena_size(const LetheTape *tape)
{
  gsize total = 0;
  for (guint i = 0; i < tape->chunks->len; i++)
    total += g_array_index(tape->chunks, Chunk, i).size;
  return total;
}

void
lethe_tape_set_error(LetheTape *tape, GError *error)
{
  if (tape->error)
    g_error_free(error);
  else
    tape->error = error;
}

gboolean
nn_fail(LetheTape *tape, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  lethe_tape_set_error(tape, g_error_new_literal(LETHE_ERROR, LETHE_ERROR_NUMERIC, msg));
  g_free(msg);
  return FALSE;
}

gboolean
lethe_tape_check(LetheTape *tape, GError **error)
{
  g_return_val_if_fail(tape != NULL, FALSE);
  if (!tape->error)
    return TRUE;
  g_propagate_error(error, g_error_copy(tape->error));
  return FALSE;
}

char *
nn_shape_str(const LetheVar *v)
{
  GString *s = g_string_new("[");
  for (guint i = 0; i < v->rank; i++)
    g_string_append_printf(s, i ? ", %" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, v->shape[i]);
  g_string_append_c(s, ']');
  return g_string_free(s, FALSE);
}

gboolean
nn_same_dtype(LetheTape *tape, const char *op, LetheVar *a, LetheVar *b)
{
  if (a->dtype == b->dtype)
    return TRUE;
  return nn_fail(tape, "%s: operands have different dtypes (%s and %s); convert one first", op,
                 lethe_dtype_name(a->dtype), lethe_dtype_name(b->dtype));
}

gboolean
nn_need_grad(const LetheVar *v)
{
  return v && v->requires_grad;
}

static LetheVar *
var_make(LetheTape *tape, NnOp op, LetheDType dtype, guint rank, const gint64 *shape,
         gboolean alloc)
{
  LetheVar *v = lethe_tape_alloc(tape, sizeof(LetheVar));
  memset(v, 0, sizeof *v);
  v->dtype = dtype;
  v->rank = rank;
  v->n = 1;
  for (guint i = 0; i < rank; i++) {
    v->shape[i] = shape[i];
    v->n *= shape[i];
  }
  v->op = op;
  v->index = tape->vars->len;
  g_ptr_array_add(tape->vars, v);
  if (alloc)
    v->data = lethe_tape_alloc(tape, MAX(v->n, 1) * lethe_dtype_size(dtype));
  return v;
}

LetheVar *
nn_var_new(LetheTape *tape, NnOp op, LetheDType dtype, guint rank, const gint64 *shape)
{
  return var_make(tape, op, dtype, rank, shape, TRUE);
}

LetheVar *
nn_var_new_view(LetheTape *tape, NnOp op, LetheVar *of, guint rank, const gint64 *shape)
{
  LetheVar *v = var_make(tape, op, of->dtype, rank, shape, FALSE);
  v->data = of->data;
  v->flags |= VAR_FLAG_VIEW;
  return v;
}

gpointer
nn_grad(LetheTape *tape, LetheVar *v)
{
  if (!v->grad) {
    gsize bytes = MAX(v->n, 1) * lethe_dtype_size(v->dtype);
    v->grad = lethe_tape_alloc(tape, bytes);
    memset(v->grad, 0, bytes);
  }
  return v->grad;
}

static gboolean
check_leaf_dtype(LetheTape *tape, LetheDType dtype)
{
  if (dtype == LETHE_DTYPE_F32 || dtype == LETHE_DTYPE_F64)
    return TRUE;
  return nn_fail(tape, "tape input: dtype %s is not differentiable; convert it to f32 or f64",
                 lethe_dtype_name(dtype));
}

LetheVar *
lethe_tape_new_leaf(LetheTape *tape, LetheDType dtype, guint rank, const gint64 *shape,
                    gboolean requires_grad)
{
  g_return_val_if_fail(tape != NULL && rank <= LETHE_TENSOR_MAX_RANK, NULL);
  if (!check_leaf_dtype(tape, dtype))
    return NULL;
  static const gint64 scalar_shape[1] = {1};
  LetheVar *v = nn_var_new(tape, OP_LEAF, dtype, rank, rank ? shape : scalar_shape);
  v->requires_grad = requires_grad && tape->grad_enabled;
  return v;
}

LetheVar *
lethe_tape_wrap(LetheTape *tape, LetheDType dtype, guint rank, const gint64 *shape, gpointer data,
                gpointer grad)
{
  g_return_val_if_fail(tape != NULL && data != NULL && rank <= LETHE_TENSOR_MAX_RANK, NULL);
  if (!check_leaf_dtype(tape, dtype))
    return NULL;
  LetheVar *v = var_make(tape, OP_LEAF, dtype, 0, NULL, FALSE);
  v->rank = rank;
  v->n = 1;
  for (guint i = 0; i < rank; i++) {
    v->shape[i] = shape[i];
    v->n *= shape[i];
  }
  v->data = data;
  v->grad = tape->grad_enabled ? grad : NULL;
  v->requires_grad = v->grad != NULL;
  return v;
}

LetheVar *
lethe_tape_input(LetheTape *tape, LetheTensor *tensor, gboolean requires_grad)
{
  g_return_val_if_fail(tape != NULL && tensor != NULL, NULL);
  if (!check_leaf_dtype(tape, tensor->dtype))
    return NULL;
  LetheVar *v;
  if (lethe_tensor_is_contiguous(tensor)) {
    v = lethe_tape_wrap(tape, tensor->dtype, tensor->rank, tensor->shape, lethe_tensor_data(tensor),
                        NULL);
    g_ptr_array_add(tape->refs, lethe_tensor_ref(tensor));
  } else {
    g_autoptr(LetheTensor) c = lethe_tensor_contiguous(tensor);
    v = lethe_tape_new_leaf(tape, tensor->dtype, tensor->rank, tensor->shape, FALSE);
    memcpy(v->data, lethe_tensor_data(c), lethe_tensor_n_bytes(c));
  }
  v->requires_grad = requires_grad && tape->grad_enabled;
  return v;
}

static void
backward_one(LetheTape *tape, LetheVar *v)
{
  switch ((NnOp)v->op) {
  case OP_LEAF:
    return;
  case OP_CONV:
  case OP_MAX_POOL:
  case OP_AVG_POOL:
  case OP_GLOBAL_AVG_POOL:
  case OP_GLOBAL_MAX_POOL:
  case OP_UPSAMPLE:
    nn_backward_conv(tape, v);
    return;
  case OP_LAYER_NORM:
  case OP_BATCH_NORM:
    nn_backward_norm(tape, v);
    return;
  case OP_CROSS_ENTROPY:
  case OP_BCE_LOGITS:
  case OP_MSE:
  case OP_HUBER:
  case OP_KL_DIV:
  case OP_COSINE_LOSS:
  case OP_NT_XENT:
  case OP_HINGE:
    nn_backward_loss(tape, v);
    return;
  default:
    nn_backward_basic(tape, v);
    return;
  }
}

gboolean
lethe_tape_backward_from(LetheTape *tape, LetheVar *out, gconstpointer seed, GError **error)
{
  g_return_val_if_fail(tape != NULL, FALSE);
  if (!lethe_tape_check(tape, error))
    return FALSE;
  g_return_val_if_fail(out != NULL && seed != NULL, FALSE);
  if (!tape->grad_enabled) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "backward on a tape recorded with gradients disabled; call "
                "lethe_tape_set_grad_enabled(tape, TRUE) before the forward pass");
    return FALSE;
  }
  if (!out->requires_grad)
    return TRUE; /* nothing to differentiate */
  /* Intermediate gradients of an earlier pass are dropped, so that only the
   * variables @out depends on are visited; leaves keep accumulating. */
  for (guint i = 0; i <= out->index; i++) {
    LetheVar *v = tape->vars->pdata[i];
    if (v->op != OP_LEAF)
      v->grad = NULL;
  }
  gpointer g = nn_grad(tape, out);
  if (out->dtype == LETHE_DTYPE_F32)
    for (gint64 i = 0; i < out->n; i++)
      ((float *)g)[i] += ((const float *)seed)[i];
  else
    for (gint64 i = 0; i < out->n; i++)
      ((double *)g)[i] += ((const double *)seed)[i];
  for (gint64 i = out->index; i >= 0; i--) {
    LetheVar *v = tape->vars->pdata[i];
    if (v->grad && v->requires_grad && v->op != OP_LEAF)
      backward_one(tape, v);
  }
  return lethe_tape_check(tape, error);
}

gboolean
lethe_tape_backward(LetheTape *tape, LetheVar *loss, GError **error)
{
  g_return_val_if_fail(tape != NULL, FALSE);
  if (!lethe_tape_check(tape, error))
    return FALSE;
  g_return_val_if_fail(loss != NULL, FALSE);
  if (loss->n != 1) {
    g_autofree char *s = nn_shape_str(loss);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "backward: the loss must be a scalar, got shape %s; reduce it with "
                "lethe_op_mean() or use lethe_tape_backward_from()",
                s);
    return FALSE;
  }
  const float one_f = 1.0f;
  const double one_d = 1.0;
  return lethe_tape_backward_from(
      tape, loss, loss->dtype == LETHE_DTYPE_F32 ? (gconstpointer)&one_f : (gconstpointer)&one_d,
      error);
}

LetheTensor *
lethe_var_to_tensor(const LetheVar *var)
{
  g_return_val_if_fail(var != NULL, NULL);
  LetheTensor *t = lethe_tensor_new_uninit(var->dtype, var->rank, var->shape);
  memcpy(lethe_tensor_data(t), var->data, var->n * lethe_dtype_size(var->dtype));
  return t;
}

LetheTensor *
lethe_var_grad_to_tensor(const LetheVar *var)
{
  g_return_val_if_fail(var != NULL, NULL);
  if (!var->grad)
    return NULL;
  LetheTensor *t = lethe_tensor_new_uninit(var->dtype, var->rank, var->shape);
  memcpy(lethe_tensor_data(t), var->grad, var->n * lethe_dtype_size(var->dtype));
  return t;
}

double
lethe_var_get(const LetheVar *var, gint64 i)
{
  g_return_val_if_fail(var != NULL && i >= 0 && i < var->n, NAN);
  return var->dtype == LETHE_DTYPE_F32 ? ((const float *)var->data)[i]
                                       : ((const double *)var->data)[i];
}

/* ---- parameter sets ---- */

typedef struct {
  char *name;
  LetheTensor *value;
  LetheTensor *grad; /* view of the flat gradient, created lazily */
  LetheTensor *mask;
  gint64 offset; /* in the flat vectors; -1 for buffers */
  gboolean trainable;
  gboolean frozen;
} Param;

struct _LetheParams {
  GArray *items; /* Param */
  gint64 n_elements;
  LetheTensor *flat_grad;
  LetheTensor *flat_value; /* after make_flat */
};

static void
param_clear(gpointer p)
{
  Param *it = p;
  g_free(it->name);
  g_clear_pointer(&it->value, lethe_tensor_unref);
  g_clear_pointer(&it->grad, lethe_tensor_unref);
  g_clear_pointer(&it->mask, lethe_tensor_unref);
}

LetheParams *
lethe_params_new(void)
{
  LetheParams *p = g_new0(LetheParams, 1);
  p->items = g_array_new(FALSE, TRUE, sizeof(Param));
  g_array_set_clear_func(p->items, param_clear);
  return p;
}

void
lethe_params_free(LetheParams *params)
{
  if (!params)
    return;
  g_array_unref(params->items);
  g_clear_pointer(&params->flat_grad, lethe_tensor_unref);
  g_clear_pointer(&params->flat_value, lethe_tensor_unref);
  g_free(params);
}

guint
lethe_params_add(LetheParams *params, const char *name, LetheTensor *value, gboolean trainable)
{
  g_return_val_if_fail(params != NULL && name != NULL && value != NULL, 0);
  g_return_val_if_fail(value->dtype == LETHE_DTYPE_F32, 0);
  g_return_val_if_fail(params->flat_grad == NULL && params->flat_value == NULL, 0);
  Param it = {0};
  it.name = g_strdup(name);
  it.value = lethe_tensor_contiguous(value);
  it.trainable = trainable;
  it.offset = trainable ? params->n_elements : -1;
  if (trainable)
    params->n_elements += lethe_tensor_n_elements(value);
  g_array_append_val(params->items, it);
  return params->items->len - 1;
}

guint
lethe_params_get_n(const LetheParams *params)
{
  return params->items->len;
}

gint
lethe_params_find(const LetheParams *params, const char *name)
{
  for (guint i = 0; i < params->items->len; i++)
    if (g_str_equal(g_array_index(params->items, Param, i).name, name))
      return i;
  return -1;
}

#define PARAM(p, i) (&g_array_index((p)->items, Param, (i)))

const char *
lethe_params_get_name(const LetheParams *params, guint i)
{
  g_return_val_if_fail(i < params->items->len, NULL);
  return PARAM(params, i)->name;
}

LetheTensor *
lethe_params_get_value(const LetheParams *params, guint i)
{
  g_return_val_if_fail(i < params->items->len, NULL);
  return PARAM(params, i)->value;
}

gboolean
lethe_params_is_trainable(const LetheParams *params, guint i)
{
  g_return_val_if_fail(i < params->items->len, FALSE);
  return PARAM(params, i)->trainable;
}

gint64
lethe_params_get_n_elements(const LetheParams *params)
{
  return params->n_elements;
}

gint64
lethe_params_get_offset(const LetheParams *params, guint i)
{
  g_return_val_if_fail(i < params->items->len, -1);
  return PARAM(params, i)->offset;
}

static void
ensure_grads(LetheParams *p)
{
  if (p->flat_grad)
    return;
  p->flat_grad = lethe_tensor_new_1d(LETHE_DTYPE_F32, MAX(p->n_elements, 1));
}

LetheTensor *
lethe_params_get_grad(LetheParams *params, guint i)
{
  g_return_val_if_fail(i < params->items->len, NULL);
  Param *it = PARAM(params, i);
  if (!it->trainable)
    return NULL;
  ensure_grads(params);
  if (!it->grad)
    it->grad = lethe_tensor_new_from_buffer(
        params->flat_grad->buffer, LETHE_DTYPE_F32, it->value->rank, it->value->shape, NULL,
        params->flat_grad->offset + it->offset * sizeof(float), NULL);
  return it->grad;
}

void
lethe_params_set_frozen(LetheParams *params, guint i, gboolean frozen)
{
  g_return_if_fail(i < params->items->len);
  PARAM(params, i)->frozen = frozen;
}

gboolean
lethe_params_get_frozen(const LetheParams *params, guint i)
{
  g_return_val_if_fail(i < params->items->len, FALSE);
  return PARAM(params, i)->frozen || !PARAM(params, i)->trainable;
}

void
lethe_params_set_mask(LetheParams *params, guint i, LetheTensor *mask)
{
  g_return_if_fail(i < params->items->len);
  Param *it = PARAM(params, i);
  g_return_if_fail(mask == NULL ||
                   (mask->dtype == LETHE_DTYPE_F32 && lethe_tensor_same_shape(mask, it->value)));
  g_clear_pointer(&it->mask, lethe_tensor_unref);
  if (mask)
    it->mask = lethe_tensor_contiguous(mask);
}

LetheTensor *
lethe_params_get_mask(const LetheParams *params, guint i)
{
  g_return_val_if_fail(i < params->items->len, NULL);
  return PARAM(params, i)->mask;
}

void
lethe_params_zero_grad(LetheParams *params)
{
  ensure_grads(params);
  memset(lethe_tensor_data(params->flat_grad), 0, params->n_elements * sizeof(float));
}

void
lethe_params_make_flat(LetheParams *params)
{
  if (params->flat_value)
    return;
  params->flat_value = lethe_tensor_new_1d(LETHE_DTYPE_F32, MAX(params->n_elements, 1));
  float *base = lethe_tensor_f32(params->flat_value);
  for (guint i = 0; i < params->items->len; i++) {
    Param *it = PARAM(params, i);
    if (!it->trainable)
      continue;
    memcpy(base + it->offset, lethe_tensor_data(it->value), lethe_tensor_n_bytes(it->value));
    LetheTensor *view = lethe_tensor_new_from_buffer(
        params->flat_value->buffer, LETHE_DTYPE_F32, it->value->rank, it->value->shape, NULL,
        params->flat_value->offset + it->offset * sizeof(float), NULL);
    lethe_tensor_unref(it->value);
    it->value = view;
  }
}

LetheTensor *
lethe_params_flat_values(LetheParams *params)
{
  lethe_params_make_flat(params);
  gint64 shape[1] = {params->n_elements};
  return lethe_tensor_new_from_buffer(params->flat_value->buffer, LETHE_DTYPE_F32, 1, shape, NULL,
                                      params->flat_value->offset, NULL);
}

LetheTensor *
lethe_params_flat_grads(LetheParams *params)
{
  ensure_grads(params);
  gint64 shape[1] = {params->n_elements};
  return lethe_tensor_new_from_buffer(params->flat_grad->buffer, LETHE_DTYPE_F32, 1, shape, NULL,
                                      params->flat_grad->offset, NULL);
}

LetheParams *
lethe_params_copy(const LetheParams *params)
{
  LetheParams *c = lethe_params_new();
  for (guint i = 0; i < params->items->len; i++) {
    Param *it = PARAM(params, i);
    g_autoptr(LetheTensor) v = lethe_tensor_copy(it->value);
    guint j = lethe_params_add(c, it->name, v, it->trainable);
    PARAM(c, j)->frozen = it->frozen;
    if (it->mask)
      PARAM(c, j)->mask = lethe_tensor_copy(it->mask);
  }
  if (params->flat_value)
    lethe_params_make_flat(c);
  return c;
}

static gint64
first_non_finite(const float *x, gint64 n)
{
  for (gint64 i = 0; i < n; i++)
    if (!isfinite(x[i]))
      return i;
  return -1;
}

gboolean
lethe_params_check_finite(LetheParams *params, gboolean grads, GError **error)
{
  for (guint i = 0; i < params->items->len; i++) {
    Param *it = PARAM(params, i);
    LetheTensor *t = grads ? (it->trainable ? lethe_params_get_grad(params, i) : NULL) : it->value;
    if (!t)
      continue;
    gint64 bad = first_non_finite(lethe_tensor_f32(t), lethe_tensor_n_elements(t));
    if (bad >= 0) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                  "%s of '%s' holds %g at flat index %" G_GINT64_FORMAT
                  "; lower the learning rate or clip the gradients",
                  grads ? "the gradient" : "the value", it->name, (double)lethe_tensor_f32(t)[bad],
                  bad);
      return FALSE;
    }
  }
  return TRUE;
}

double
lethe_params_clip_grad_norm(LetheParams *params, double max_norm)
{
  ensure_grads(params);
  float *g = lethe_tensor_f32(params->flat_grad);
  double s = 0;
  for (gint64 i = 0; i < params->n_elements; i++)
    s += (double)g[i] * g[i];
  double norm = sqrt(s);
  if (norm > max_norm && norm > 0) {
    float k = (float)(max_norm / (norm + 1e-6));
    for (gint64 i = 0; i < params->n_elements; i++)
      g[i] *= k;
  }
  return norm;
}

void
lethe_params_clip_grad_value(LetheParams *params, double limit)
{
  ensure_grads(params);
  float *g = lethe_tensor_f32(params->flat_grad);
  float l = (float)limit;
  for (gint64 i = 0; i < params->n_elements; i++)
    g[i] = g[i] > l ? l : (g[i] < -l ? -l : g[i]);
}

LetheVar *
lethe_tape_param(LetheTape *tape, LetheParams *params, guint i)
{
  g_return_val_if_fail(tape != NULL && params != NULL && i < params->items->len, NULL);
  Param *it = PARAM(params, i);
  gpointer grad = NULL;
  if (it->trainable && !it->frozen && tape->grad_enabled) {
    ensure_grads(params);
    grad = lethe_tensor_f32(params->flat_grad) + it->offset;
  }
  return lethe_tape_wrap(tape, LETHE_DTYPE_F32, it->value->rank, it->value->shape,
                         lethe_tensor_data(it->value), grad);
}

void
nn_prefix_error(LetheTape *tape, const char *fmt, ...)
{
  if (!tape->error)
    return;
  va_list ap;
  va_start(ap, fmt);
  char *prefix = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  char *msg = g_strconcat(prefix, tape->error->message, NULL);
  g_free(tape->error->message);
  tape->error->message = msg;
  g_free(prefix);
}
