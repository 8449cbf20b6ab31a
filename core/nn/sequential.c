/* Lethe — the `sequential` model kind.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A model is its arch string (parsed by arch-parse.c) plus a LetheParams
 * with PyTorch's names and layouts.  The forward pass records the layers on
 * a tape, fusing a linear or conv layer with a following ReLU (unless a
 * hook wants to see the layer's own output).  Training reuses one tape, so
 * after the first step it allocates nothing.
 */
#include "nn-private.h"

#include <lethe/frame.h>
#include <lethe/model.h>
#include <lethe/nn-model.h>

#define PREDICT_BATCH 256

typedef struct {
  LetheForwardHook fn;
  gpointer data;
} Hook;

struct _LetheSequential {
  char *arch;
  GArray *layers; /* NnLayer */
  LetheParams *params;
  GArray *hooks;      /* Hook, one per layer */
  LetheVar **outputs; /* each layer's output in the last forward pass */
  LetheTape *tape;    /* for the helpers below */
  LetheRng rng;       /* dropout when no training rng is given */
  LetheRng *dropout_rng;
};

static const char *const layer_param_names[] = {"weight", "bias", "running_mean", "running_var"};

/* Expected parameter shapes of layer @l; returns how many (0–4). */
static guint
layer_param_shapes(const NnLayer *l, guint ranks[4], gint64 shapes[4][4], gboolean trainable[4])
{
  const gint64 in = l->a[0], out = l->a[1];
  switch (l->kind) {
  case L_LINEAR:
    ranks[0] = 2, shapes[0][0] = out, shapes[0][1] = in;
    ranks[1] = 1, shapes[1][0] = out;
    trainable[0] = trainable[1] = TRUE;
    return l->a[2] ? 2 : 1;
  case L_CONV2D:
  case L_CONV1D: {
    const gint64 k = l->a[2];
    ranks[0] = l->kind == L_CONV2D ? 4 : 3;
    shapes[0][0] = out, shapes[0][1] = in, shapes[0][2] = k, shapes[0][3] = k;
    ranks[1] = 1, shapes[1][0] = out;
    trainable[0] = trainable[1] = TRUE;
    return l->a[5] ? 2 : 1;
  }
  case L_BATCHNORM:
  case L_LAYERNORM:
    for (guint i = 0; i < 4; i++) {
      ranks[i] = 1;
      shapes[i][0] = l->a[0];
      trainable[i] = i < 2;
    }
    return l->kind == L_BATCHNORM ? 4 : 2;
  default:
    return 0;
  }
}

static LetheSequential *
sequential_alloc(const char *arch, GArray *layers)
{
  LetheSequential *seq = g_new0(LetheSequential, 1);
  seq->arch = g_strdup(arch);
  seq->layers = layers;
  seq->params = lethe_params_new();
  seq->hooks = g_array_new(FALSE, TRUE, sizeof(Hook));
  g_array_set_size(seq->hooks, layers->len);
  seq->outputs = g_new0(LetheVar *, layers->len);
  seq->tape = lethe_tape_new();
  lethe_rng_init_stream(&seq->rng, 0, 0x5e9);
  return seq;
}

LetheSequential *
lethe_sequential_new(const char *arch, guint64 seed, GError **error)
{
  g_return_val_if_fail(arch != NULL, NULL);
  GArray *layers = nn_arch_parse(arch, error);
  if (!layers)
    return NULL;
  LetheSequential *seq = sequential_alloc(arch, layers);
  LetheRng rng;
  lethe_rng_init(&rng, seed);
  lethe_rng_init_stream(&seq->rng, seed, 0x5e9);
  for (guint i = 0; i < layers->len; i++) {
    NnLayer *l = &g_array_index(layers, NnLayer, i);
    guint ranks[4];
    gint64 shapes[4][4];
    gboolean trainable[4];
    const guint n = layer_param_shapes(l, ranks, shapes, trainable);
    /* PyTorch's default init: kaiming_uniform(a=√5) gives U(±1/√fan_in). */
    gint64 fan_in = 1;
    for (guint d = 1; n && d < ranks[0]; d++)
      fan_in *= shapes[0][d];
    const float bound = 1.0f / sqrtf((float)fan_in);
    for (guint k = 0; k < n; k++) {
      g_autoptr(LetheTensor) t = lethe_tensor_new(LETHE_DTYPE_F32, ranks[k], shapes[k]);
      float *d = lethe_tensor_f32(t);
      const gint64 m = lethe_tensor_n_elements(t);
      if (l->kind == L_LINEAR || l->kind == L_CONV2D || l->kind == L_CONV1D)
        lethe_rng_fill_uniform_f32(&rng, d, m, -bound, bound);
      else if (k == 0 || k == 3) /* norm weight, running variance */
        for (gint64 j = 0; j < m; j++)
          d[j] = 1;
      g_autofree char *name = g_strdup_printf("%u.%s", i, layer_param_names[k]);
      gint idx = lethe_params_add(seq->params, name, t, trainable[k]);
      l->param[k] = idx;
    }
  }
  lethe_params_make_flat(seq->params);
  return seq;
}

static gboolean mismatch(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean
mismatch(GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA, "the model does not fit its arch: %s", msg);
  return FALSE;
}

LetheSequential *
lethe_sequential_new_from_frame(const LetheFrame *model, GError **error)
{
  g_return_val_if_fail(model != NULL, NULL);
  const char *arch = lethe_frame_get_meta_string(model, "arch", NULL);
  if (!arch) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "the model frame has no \"arch\" metadata; a sequential model needs its layer "
                "list, e.g. \"flatten linear(784,10)\"");
    return NULL;
  }
  GArray *layers = nn_arch_parse(arch, error);
  if (!layers)
    return NULL;
  LetheSequential *seq = sequential_alloc(arch, layers);
  guint used = 0;
  for (guint i = 0; i < layers->len; i++) {
    NnLayer *l = &g_array_index(layers, NnLayer, i);
    guint ranks[4];
    gint64 shapes[4][4];
    gboolean trainable[4];
    const guint n = layer_param_shapes(l, ranks, shapes, trainable);
    for (guint k = 0; k < n; k++) {
      g_autofree char *name = g_strdup_printf("%u.%s", i, layer_param_names[k]);
      LetheTensor *t = lethe_frame_get_tensor(model, name);
      LetheTensor want = {0};
      want.rank = ranks[k];
      memcpy(want.shape, shapes[k], sizeof shapes[k]);
      g_autofree char *ws = lethe_tensor_shape_string(&want);
      if (!t) {
        mismatch(error, "tensor '%s' (layer %u '%s', shape %s) is missing", name, i, l->token, ws);
        goto fail;
      }
      if (!lethe_tensor_same_shape(t, &want)) {
        g_autofree char *ts = lethe_tensor_shape_string(t);
        mismatch(error, "tensor '%s' has shape %s but layer %u '%s' needs %s", name, ts, i,
                 l->token, ws);
        goto fail;
      }
      if (t->dtype != LETHE_DTYPE_F32 && t->dtype != LETHE_DTYPE_F64) {
        mismatch(error, "tensor '%s' has dtype %s; parameters are f32", name,
                 lethe_dtype_name(t->dtype));
        goto fail;
      }
      /* Used in place when f32; running statistics are copied because
       * training writes them. */
      g_autoptr(LetheTensor) v = t->dtype == LETHE_DTYPE_F32 && trainable[k]
                                     ? lethe_tensor_ref(t)
                                     : lethe_tensor_to_dtype(t, LETHE_DTYPE_F32);
      l->param[k] = lethe_params_add(seq->params, name, v, trainable[k]);
      used++;
    }
  }
  for (guint j = 0; j < lethe_frame_get_n_tensors(model); j++) {
    const char *name;
    lethe_frame_get_nth(model, j, &name);
    /* "<method>/<name>" tensors are a method's state travelling with the
     * model (SSD's cached importance…), not parameters. */
    if (lethe_params_find(seq->params, name) < 0 && strchr(name, '/') == NULL &&
        !g_str_has_suffix(name, ".num_batches_tracked")) {
      mismatch(error, "tensor '%s' is not a parameter of arch '%s'", name, arch);
      goto fail;
    }
  }
  return seq;

fail:
  lethe_sequential_free(seq);
  return NULL;
}

void
lethe_sequential_free(LetheSequential *seq)
{
  if (!seq)
    return;
  g_free(seq->arch);
  g_array_unref(seq->layers);
  lethe_params_free(seq->params);
  g_array_unref(seq->hooks);
  g_free(seq->outputs);
  lethe_tape_free(seq->tape);
  g_free(seq);
}

LetheSequential *
lethe_sequential_clone(const LetheSequential *seq)
{
  g_return_val_if_fail(seq != NULL, NULL);
  GArray *layers = nn_arch_parse(seq->arch, NULL);
  g_assert(layers != NULL);
  LetheSequential *c = sequential_alloc(seq->arch, layers);
  for (guint i = 0; i < layers->len; i++) {
    NnLayer *dst = &g_array_index(layers, NnLayer, i);
    const NnLayer *src = &g_array_index(seq->layers, NnLayer, i);
    memcpy(dst->param, src->param, sizeof dst->param);
  }
  lethe_params_free(c->params);
  c->params = lethe_params_copy(seq->params);
  c->rng = seq->rng;
  return c;
}

LetheFrame *
lethe_sequential_to_frame(const LetheSequential *seq, gint64 version)
{
  g_return_val_if_fail(seq != NULL, NULL);
  LetheFrame *f = lethe_frame_new();
  for (guint i = 0; i < lethe_params_get_n(seq->params); i++)
    lethe_frame_take_tensor(f, lethe_params_get_name(seq->params, i),
                            lethe_tensor_copy(lethe_params_get_value(seq->params, i)));
  lethe_frame_set_meta_string(f, "model-kind", "sequential");
  lethe_frame_set_meta_string(f, "arch", seq->arch);
  lethe_frame_set_meta_int(f, "version", version);
  return f;
}

const char *
lethe_sequential_get_arch(const LetheSequential *seq)
{
  return seq->arch;
}

LetheParams *
lethe_sequential_get_params(LetheSequential *seq)
{
  return seq->params;
}

guint
lethe_sequential_get_n_layers(const LetheSequential *seq)
{
  return seq->layers->len;
}

const char *
lethe_sequential_get_layer_name(const LetheSequential *seq, guint layer)
{
  g_return_val_if_fail(layer < seq->layers->len, NULL);
  return g_array_index(seq->layers, NnLayer, layer).token;
}

void
lethe_sequential_set_hook(LetheSequential *seq, guint layer, LetheForwardHook hook,
                          gpointer user_data)
{
  g_return_if_fail(seq != NULL && layer < seq->layers->len);
  Hook *h = &g_array_index(seq->hooks, Hook, layer);
  h->fn = hook;
  h->data = user_data;
}

static LetheVar *
param_var(LetheSequential *seq, LetheTape *tape, gint idx)
{
  return idx < 0 ? NULL : lethe_tape_param(tape, seq->params, idx);
}

LetheVar *
lethe_sequential_forward(LetheSequential *seq, LetheTape *tape, LetheVar *x, gboolean training)
{
  g_return_val_if_fail(seq != NULL && tape != NULL, NULL);
  if (!x)
    return NULL;
  if (x->dtype != LETHE_DTYPE_F32) {
    nn_fail(tape, "sequential: the input is %s; the model computes in f32",
            lethe_dtype_name(x->dtype));
    return NULL;
  }
  LetheVar *h = x;
  const guint n = seq->layers->len;
  for (guint i = 0; i < n; i++) {
    const NnLayer *l = &g_array_index(seq->layers, NnLayer, i);
    /* Fusions: linear/conv + relu, and conv2d + relu + maxpool(2): only
     * when no hook wants to see an intermediate activation. */
    const NnLayer *next = i + 1 < n ? &g_array_index(seq->layers, NnLayer, i + 1) : NULL;
    const NnLayer *next2 = i + 2 < n ? &g_array_index(seq->layers, NnLayer, i + 2) : NULL;
    const gboolean fuse = next && next->kind == L_RELU && !g_array_index(seq->hooks, Hook, i).fn;
    const gboolean fuse_pool = fuse && l->kind == L_CONV2D && next2 && next2->kind == L_MAXPOOL &&
                               next2->a[0] == 2 && next2->a[1] == 2 &&
                               !g_array_index(seq->hooks, Hook, i + 1).fn;
    LetheVar *w = param_var(seq, tape, l->param[0]), *b = param_var(seq, tape, l->param[1]);
    switch (l->kind) {
    case L_LINEAR:
      if (h->rank != 2) {
        g_autofree char *s = nn_shape_str(h);
        nn_fail(tape, "the input has shape %s but linear needs [N, %g]; put 'flatten' before it", s,
                l->a[0]);
        h = NULL;
        break;
      }
      h = lethe_op_linear(tape, h, w, b, fuse);
      break;
    case L_CONV2D:
    case L_CONV1D:
      h = l->kind == L_CONV1D
              ? lethe_op_conv1d(tape, h, w, b, l->a[3], l->a[4])
              : lethe_op_conv2d_fused(tape, h, w, b, l->a[3], l->a[4], fuse, fuse_pool);
      if (h && fuse && l->kind == L_CONV1D) /* no fused 1-D kernel: separate ReLU */
        h = lethe_op_relu(tape, h);
      break;
    case L_RELU:
      h = lethe_op_relu(tape, h);
      break;
    case L_GELU:
      h = lethe_op_gelu(tape, h);
      break;
    case L_TANH:
      h = lethe_op_tanh(tape, h);
      break;
    case L_SIGMOID:
      h = lethe_op_sigmoid(tape, h);
      break;
    case L_MAXPOOL:
      h = lethe_op_max_pool2d(tape, h, l->a[0], l->a[1]);
      break;
    case L_AVGPOOL:
      h = lethe_op_avg_pool2d(tape, h, l->a[0], l->a[1]);
      break;
    case L_MAXPOOL1D:
      h = lethe_op_max_pool1d(tape, h, l->a[0], l->a[1]);
      break;
    case L_AVGPOOL1D:
      h = lethe_op_avg_pool1d(tape, h, l->a[0], l->a[1]);
      break;
    case L_GLOBAL_AVG_POOL:
      h = lethe_op_global_avg_pool(tape, h);
      break;
    case L_GLOBAL_MAX_POOL:
      h = lethe_op_global_max_pool(tape, h);
      break;
    case L_FLATTEN:
      h = lethe_op_flatten(tape, h);
      break;
    case L_DROPOUT:
      if (training && l->a[0] > 0)
        h = lethe_op_dropout(tape, h, l->a[0], seq->dropout_rng ? seq->dropout_rng : &seq->rng);
      break;
    case L_BATCHNORM: {
      LetheTensor *rm = lethe_params_get_value(seq->params, l->param[2]);
      LetheTensor *rv = lethe_params_get_value(seq->params, l->param[3]);
      if (h->rank < 2 || h->shape[1] != (gint64)l->a[0]) {
        g_autofree char *s = nn_shape_str(h);
        nn_fail(tape, "the input has shape %s but batchnorm needs %g channels on axis 1", s,
                l->a[0]);
        h = NULL;
        break;
      }
      h = lethe_op_batch_norm(tape, h, w, b, lethe_tensor_data(rm), lethe_tensor_data(rv), training,
                              l->a[2], l->a[1]);
      break;
    }
    case L_LAYERNORM:
      h = lethe_op_layer_norm(tape, h, w, b, l->a[1]);
      break;
    case L_L2NORM:
      h = lethe_op_l2_normalize(tape, h, 1e-12);
      break;
    case L_UPSAMPLE:
      h = lethe_op_upsample_nearest(tape, h, l->a[0]);
      break;
    }
    if (!h) {
      nn_prefix_error(tape, "layer %u '%s' (character %zu of the arch): ", i, l->token, l->pos);
      return NULL;
    }
    if (fuse) /* the fused-away activations were never materialised */
      seq->outputs[i++] = NULL;
    if (fuse_pool)
      seq->outputs[i++] = NULL;
    seq->outputs[i] = h;
    Hook *hk = &g_array_index(seq->hooks, Hook, i);
    if (hk->fn) {
      LetheVar *r = hk->fn(seq, i, tape, h, hk->data);
      if (!r) {
        if (lethe_tape_check(tape, NULL))
          nn_fail(tape, "the forward hook of layer %u returned no activation", i);
        return NULL;
      }
      if (r->rank != h->rank || memcmp(r->shape, h->shape, h->rank * sizeof(gint64))) {
        g_autofree char *a = nn_shape_str(h), *c = nn_shape_str(r);
        nn_fail(tape, "the forward hook of layer %u replaced a %s activation by a %s one", i, a, c);
        return NULL;
      }
      h = r;
      seq->outputs[i] = h;
    }
  }
  return h;
}

/* ---- helpers on whole tensors ---- */

/* Moves the tape's error into @error after an op returned NULL; always FALSE. */
static gboolean
tape_failed(LetheTape *tape, GError **error)
{
  if (lethe_tape_check(tape, error))
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_FAILED, "the forward pass returned no output");
  return FALSE;
}

static gboolean
check_x(LetheSequential *seq, LetheTensor *x, GError **error)
{
  if (x->dtype != LETHE_DTYPE_F32 || x->rank < 1) {
    g_autofree char *s = lethe_tensor_shape_string(x);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "the model input must be an f32 tensor [N, …], got %s %s",
                lethe_dtype_name(x->dtype), s);
    return FALSE;
  }
  return TRUE;
}

/* Labels as gint32 (a copy owned by the caller), checked against @n. */
static gint32 *
labels_i32(LetheTensor *y, gint64 n, GError **error)
{
  if (y->rank != 1 || y->shape[0] != n ||
      (y->dtype != LETHE_DTYPE_I32 && y->dtype != LETHE_DTYPE_I64)) {
    g_autofree char *s = lethe_tensor_shape_string(y);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "labels must be i32 or i64 of shape [%" G_GINT64_FORMAT "], got %s %s", n,
                lethe_dtype_name(y->dtype), s);
    return NULL;
  }
  gint32 *out = g_new(gint32, MAX(n, 1));
  for (gint64 i = 0; i < n; i++)
    out[i] = (gint32)lethe_tensor_get_f64(y, i);
  return out;
}

/* A leaf on rows [@start, @start+@count) of contiguous @x. */
static LetheVar *
rows_var(LetheTape *tape, LetheTensor *x, gint64 start, gint64 count)
{
  gint64 shape[LETHE_TENSOR_MAX_RANK];
  memcpy(shape, x->shape, sizeof shape);
  shape[0] = count;
  const gint64 row = lethe_tensor_n_elements(x) / MAX(x->shape[0], 1);
  return lethe_tape_wrap(tape, LETHE_DTYPE_F32, x->rank, shape, lethe_tensor_f32(x) + start * row,
                         NULL);
}

LetheTensor *
lethe_sequential_predict(LetheSequential *seq, LetheTensor *x, gint64 batch, GError **error)
{
  g_return_val_if_fail(seq != NULL && x != NULL, NULL);
  if (!check_x(seq, x, error))
    return NULL;
  g_autoptr(LetheTensor) xc = lethe_tensor_contiguous(x);
  const gint64 n = x->shape[0];
  batch = batch > 0 ? batch : PREDICT_BATCH;
  LetheTensor *out = NULL;
  LetheTape *tape = seq->tape;
  lethe_tape_set_grad_enabled(tape, FALSE);
  for (gint64 s = 0; s < n || (n == 0 && !out); s += batch) {
    const gint64 nb = MIN(batch, n - s);
    lethe_tape_reset(tape);
    LetheVar *y = lethe_sequential_forward(seq, tape, rows_var(tape, xc, s, nb), FALSE);
    if (!y) {
      tape_failed(tape, error);
      lethe_tape_set_grad_enabled(tape, TRUE);
      g_clear_pointer(&out, lethe_tensor_unref);
      return NULL;
    }
    if (!out) {
      gint64 shape[LETHE_TENSOR_MAX_RANK];
      memcpy(shape, y->shape, sizeof shape);
      shape[0] = n;
      out = lethe_tensor_new_uninit(LETHE_DTYPE_F32, y->rank, shape);
    }
    const gint64 row = y->n / MAX(nb, 1);
    memcpy(lethe_tensor_f32(out) + s * row, y->data, y->n * sizeof(float));
    if (n == 0)
      break;
  }
  lethe_tape_reset(tape);
  lethe_tape_set_grad_enabled(tape, TRUE);
  return out;
}

/* Mean CE over rows [s, s+nb), gradient scaled by @weight into the params. */
static gboolean
chunk_loss_grad(LetheSequential *seq, LetheTensor *x, const gint32 *y, gint64 s, gint64 nb,
                double weight, double *loss, GError **error)
{
  LetheTape *tape = seq->tape;
  lethe_tape_reset(tape);
  LetheVar *out = lethe_sequential_forward(seq, tape, rows_var(tape, x, s, nb), FALSE);
  LetheVar *l = lethe_op_cross_entropy(tape, out, y + s, 0.0);
  if (!l)
    return tape_failed(tape, error);
  *loss = lethe_var_get(l, 0);
  const float seed_f = (float)weight;
  return lethe_tape_backward_from(tape, l, &seed_f, error);
}

gboolean
lethe_sequential_loss_grad(LetheSequential *seq, LetheTensor *x, LetheTensor *y, double *loss,
                           GError **error)
{
  g_return_val_if_fail(seq != NULL && x != NULL && y != NULL, FALSE);
  if (!check_x(seq, x, error))
    return FALSE;
  const gint64 n = x->shape[0];
  g_autofree gint32 *labels = labels_i32(y, n, error);
  if (!labels)
    return FALSE;
  g_autoptr(LetheTensor) xc = lethe_tensor_contiguous(x);
  lethe_params_zero_grad(seq->params);
  double total = 0;
  for (gint64 s = 0; s < n; s += PREDICT_BATCH) {
    const gint64 nb = MIN(PREDICT_BATCH, n - s);
    double l;
    if (!chunk_loss_grad(seq, xc, labels, s, nb, (double)nb / n, &l, error))
      return FALSE;
    total += l * nb / n;
  }
  lethe_tape_reset(seq->tape);
  if (loss)
    *loss = total;
  return TRUE;
}

LetheTensor *
lethe_sequential_per_sample_grads(LetheSequential *seq, LetheTensor *x, LetheTensor *y,
                                  GError **error)
{
  g_return_val_if_fail(seq != NULL && x != NULL && y != NULL, NULL);
  if (!check_x(seq, x, error))
    return NULL;
  const gint64 n = x->shape[0], p = lethe_params_get_n_elements(seq->params);
  g_autofree gint32 *labels = labels_i32(y, n, error);
  if (!labels)
    return NULL;
  g_autoptr(LetheTensor) xc = lethe_tensor_contiguous(x);
  g_autoptr(LetheTensor) out = lethe_tensor_new_2d(LETHE_DTYPE_F32, n, p);
  g_autoptr(LetheTensor) flat = lethe_params_flat_grads(seq->params);
  for (gint64 i = 0; i < n; i++) {
    double l;
    lethe_params_zero_grad(seq->params);
    if (!chunk_loss_grad(seq, xc, labels, i, 1, 1.0, &l, error))
      return NULL;
    memcpy(lethe_tensor_f32(out) + i * p, lethe_tensor_f32(flat), p * sizeof(float));
  }
  lethe_tape_reset(seq->tape);
  return g_steal_pointer(&out);
}

gboolean
lethe_sequential_fisher_diagonal(LetheSequential *seq, LetheTensor *x, LetheTensor *y,
                                 LetheTensor *fisher, GError **error)
{
  g_return_val_if_fail(seq != NULL && x != NULL && y != NULL && fisher != NULL, FALSE);
  const gint64 p = lethe_params_get_n_elements(seq->params);
  if (fisher->dtype != LETHE_DTYPE_F32 || lethe_tensor_n_elements(fisher) != p ||
      !lethe_tensor_is_contiguous(fisher)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "the Fisher accumulator must be a contiguous f32 tensor of %" G_GINT64_FORMAT
                " elements (one per trainable parameter entry)",
                p);
    return FALSE;
  }
  if (!check_x(seq, x, error))
    return FALSE;
  const gint64 n = x->shape[0];
  g_autofree gint32 *labels = labels_i32(y, n, error);
  if (!labels)
    return FALSE;
  g_autoptr(LetheTensor) xc = lethe_tensor_contiguous(x);
  g_autoptr(LetheTensor) flat = lethe_params_flat_grads(seq->params);
  float *f = lethe_tensor_f32(fisher);
  const float *g = lethe_tensor_f32(flat);
  for (gint64 i = 0; i < n; i++) {
    double l;
    lethe_params_zero_grad(seq->params);
    if (!chunk_loss_grad(seq, xc, labels, i, 1, 1.0, &l, error))
      return FALSE;
    for (gint64 j = 0; j < p; j++)
      f[j] += g[j] * g[j] / n;
  }
  lethe_tape_reset(seq->tape);
  return TRUE;
}

/* Zero unless some entry is NaN or infinite; vectorisable. */
static gboolean
all_finite(const float *x, gint64 n)
{
  float acc[8] = {0};
  gint64 i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++)
      acc[k] += x[i + k] * 0.0f;
  for (; i < n; i++)
    acc[0] += x[i] * 0.0f;
  float s = 0;
  for (int k = 0; k < 8; k++)
    s += acc[k];
  return s == 0;
}

/* Names the first non-finite tensor after a bad step. */
static char *
diagnose(LetheSequential *seq, LetheVar *input)
{
  if (!all_finite(input->data, input->n))
    return g_strdup("the input batch");
  for (guint i = 0; i < lethe_params_get_n(seq->params); i++) {
    LetheTensor *v = lethe_params_get_value(seq->params, i);
    if (!all_finite(lethe_tensor_f32(v), lethe_tensor_n_elements(v)))
      return g_strdup_printf("parameter '%s'", lethe_params_get_name(seq->params, i));
  }
  for (guint i = 0; i < seq->layers->len; i++) {
    LetheVar *o = seq->outputs[i];
    if (o && !all_finite(o->data, o->n))
      return g_strdup_printf("the output of layer %u '%s'", i,
                             g_array_index(seq->layers, NnLayer, i).token);
  }
  for (guint i = 0; i < lethe_params_get_n(seq->params); i++) {
    LetheTensor *g = lethe_params_get_grad(seq->params, i);
    if (g && !all_finite(lethe_tensor_f32(g), lethe_tensor_n_elements(g)))
      return g_strdup_printf("the gradient of '%s'", lethe_params_get_name(seq->params, i));
  }
  return g_strdup("the loss");
}

gboolean
lethe_sequential_train_epoch(LetheSequential *seq, LetheOptimizer *opt, LetheTensor *x,
                             LetheTensor *y, gint64 batch, LetheRng *rng, GCancellable *cancellable,
                             LetheTrainProgress progress, gpointer user_data, double *mean_loss,
                             GError **error)
{
  g_return_val_if_fail(seq != NULL && opt != NULL && x != NULL && y != NULL, FALSE);
  g_return_val_if_fail(rng != NULL && batch > 0, FALSE);
  if (!check_x(seq, x, error))
    return FALSE;
  const gint64 n = x->shape[0];
  if (n == 0) {
    if (mean_loss)
      *mean_loss = 0;
    return TRUE;
  }
  g_autofree gint32 *labels = labels_i32(y, n, error);
  if (!labels)
    return FALSE;
  g_autoptr(LetheTensor) xc = lethe_tensor_contiguous(x);
  const gint64 row = lethe_tensor_n_elements(xc) / n;
  const float *xd = lethe_tensor_f32(xc);
  g_autofree gint64 *perm = g_new(gint64, n);
  lethe_rng_permutation(rng, perm, n);
  g_autoptr(LetheTensor) flat_grad = lethe_params_flat_grads(seq->params);
  const float *gd = lethe_tensor_f32(flat_grad);
  const gint64 p = lethe_tensor_n_elements(flat_grad);
  const guint64 n_steps = (n + batch - 1) / batch;
  LetheTape *tape = seq->tape;
  lethe_tape_set_grad_enabled(tape, TRUE);
  seq->dropout_rng = rng;
  double total = 0;
  gboolean ok = TRUE;
  for (guint64 step = 0; step < n_steps; step++) {
    if (g_cancellable_is_cancelled(cancellable)) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_CANCELLED,
                  "training cancelled at step %" G_GUINT64_FORMAT,
                  lethe_optimizer_get_n_steps(opt) + 1);
      ok = FALSE;
      break;
    }
    const gint64 s = step * batch, nb = MIN(batch, n - s);
    lethe_tape_reset(tape);
    gint64 shape[LETHE_TENSOR_MAX_RANK];
    memcpy(shape, xc->shape, sizeof shape);
    shape[0] = nb;
    LetheVar *xb = lethe_tape_new_leaf(tape, LETHE_DTYPE_F32, xc->rank, shape, FALSE);
    gint32 *yb = lethe_tape_alloc(tape, nb * sizeof(gint32));
    float *dst = xb->data;
    for (gint64 i = 0; i < nb; i++) {
      memcpy(dst + i * row, xd + perm[s + i] * row, row * sizeof(float));
      yb[i] = labels[perm[s + i]];
    }
    LetheVar *out = lethe_sequential_forward(seq, tape, xb, TRUE);
    LetheVar *loss = lethe_op_cross_entropy(tape, out, yb, 0.0);
    if (!loss) {
      ok = tape_failed(tape, error);
      break;
    }
    const double lv = lethe_var_get(loss, 0);
    lethe_params_zero_grad(seq->params);
    gboolean finite = isfinite(lv);
    if (finite) {
      if (!lethe_tape_backward(tape, loss, error)) {
        ok = FALSE;
        break;
      }
      finite = all_finite(gd, p);
    }
    if (!finite) {
      g_autofree char *what = diagnose(seq, xb);
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                  "training diverged at step %" G_GUINT64_FORMAT " (step %" G_GUINT64_FORMAT
                  " of %" G_GUINT64_FORMAT " in this epoch): the loss is %g and %s holds a NaN "
                  "or an infinity; lower the learning rate or clip the gradients",
                  lethe_optimizer_get_n_steps(opt) + 1, step + 1, n_steps, lv, what);
      ok = FALSE;
      break;
    }
    lethe_optimizer_step(opt);
    total += lv * nb;
    if (progress)
      progress(step + 1, n_steps, lv, user_data);
  }
  seq->dropout_rng = NULL;
  lethe_tape_reset(tape);
  if (ok && mean_loss)
    *mean_loss = total / n;
  return ok;
}

/* ---- the model kind ---- */

static gboolean
kind_forward(const LetheFrame *model, LetheTensor *x, LetheTensor **out, GError **error)
{
  LetheSequential *seq = lethe_sequential_new_from_frame(model, error);
  if (!seq)
    return FALSE;
  *out = lethe_sequential_predict(seq, x, PREDICT_BATCH, error);
  lethe_sequential_free(seq);
  return *out != NULL;
}

static gboolean
kind_loss_grad(const LetheFrame *model, LetheTensor *x, LetheTensor *y, LetheFrame **grads,
               double *loss, GError **error)
{
  LetheSequential *seq = lethe_sequential_new_from_frame(model, error);
  if (!seq)
    return FALSE;
  gboolean ok = lethe_sequential_loss_grad(seq, x, y, loss, error);
  if (ok) {
    LetheFrame *f = lethe_frame_new();
    for (guint i = 0; i < lethe_params_get_n(seq->params); i++) {
      LetheTensor *g = lethe_params_get_grad(seq->params, i);
      if (g)
        lethe_frame_take_tensor(f, lethe_params_get_name(seq->params, i), lethe_tensor_copy(g));
    }
    *grads = f;
  }
  lethe_sequential_free(seq);
  return ok;
}

static const LetheModelKind sequential_kind = {
    .name = "sequential",
    .description = "a layer list (linear, conv, pooling, norms…) given by the \"arch\" metadata",
    .forward = kind_forward,
    .loss_grad = kind_loss_grad,
};

const LetheModelKind *
lethe_sequential_get_kind(void)
{
  return &sequential_kind;
}

/* The core's own kind is known as soon as the library is loaded. */
__attribute__((constructor)) static void
register_sequential_kind(void)
{
  lethe_model_kind_register(&sequential_kind);
}
