/* Lethe — NoProp-DT: blocks that each learn to denoise a class embedding.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The formulas are those of docs/results.md's NoProp section and of the
 * doc comment of noprop.c (Li, Teh & Pascanu 2025, arXiv:2503.24322).
 */
#include "noprop-dt.h"

#include <math.h>
#include <string.h>

static const char *const own_names[NOPROP_N_OWN] = {
    "z0.weight", "z0.bias", "z1.weight", "z1.bias", "f0.weight", "f0.bias", "f1.weight", "f1.bias",
};
static const char *const shared_names[NOPROP_N_SHARED] = {"embedding", "head.weight", "head.bias"};

const char *
noprop_embedding_name(NopropEmbedding e)
{
  switch (e) {
  case NOPROP_EMBED_ONE_HOT:
    return "one-hot";
  case NOPROP_EMBED_LEARNED:
    return "learned";
  case NOPROP_EMBED_PROTOTYPE:
    return "prototype";
  }
  return "?";
}

gboolean
noprop_embedding_from_name(const char *name, NopropEmbedding *e)
{
  for (int i = NOPROP_EMBED_ONE_HOT; i <= NOPROP_EMBED_PROTOTYPE; i++)
    if (g_strcmp0(name, noprop_embedding_name(i)) == 0) {
      *e = i;
      return TRUE;
    }
  return FALSE;
}

/* ---- schedule and chain --------------------------------------------- */

void
noprop_cosine_schedule(guint T, double *alpha_bar)
{
  const double s = 0.008;
  double f0 = cos(s / (1.0 + s) * G_PI / 2);
  f0 *= f0;
  for (guint t = 0; t <= T; t++) {
    /* Read the usual (decreasing) cosine schedule from its end. */
    double u = (double)(T - t) / T;
    double f = cos((u + s) / (1.0 + s) * G_PI / 2);
    alpha_bar[t] = CLAMP(f * f / f0, NOPROP_ALPHA_MIN, NOPROP_ALPHA_MAX);
  }
}

double
noprop_snr(const double *alpha_bar, guint t, double cap)
{
  return MIN(alpha_bar[t] / (1.0 - alpha_bar[t]), cap);
}

void
noprop_chain_coefficients(const double *alpha_bar, guint t, double *a, double *b, double *c)
{
  g_assert(t >= 1);
  double ab = alpha_bar[t], ab_prev = alpha_bar[t - 1];
  double alpha = ab_prev / ab;
  *a = sqrt(ab) * (1.0 - alpha) / (1.0 - ab_prev);
  *b = sqrt(alpha) * (1.0 - ab) / (1.0 - ab_prev);
  *c = (1.0 - ab) * (1.0 - alpha) / (1.0 - ab_prev);
}

gboolean
noprop_chain_run(const double *alpha_bar, guint T, gint64 d, gint64 n, guint64 seed, gint64 row0,
                 NopropPredictFn predict, gpointer user_data, float *z, GError **error)
{
  g_autofree LetheRng *rngs = g_new(LetheRng, MAX(n, 1));
  g_autofree float *uhat = g_new(float, MAX(n * d, 1));
  g_autofree float *eps = g_new(float, MAX(d, 1));
  for (gint64 i = 0; i < n; i++) {
    lethe_rng_init_stream(&rngs[i], seed, (guint64)(row0 + i));
    lethe_rng_fill_normal_f32(&rngs[i], z + i * d, d, 0.0f, 1.0f);
  }
  for (guint t = 1; t <= T; t++) {
    if (!predict(t, z, n, uhat, user_data, error))
      return FALSE;
    double a, b, c;
    noprop_chain_coefficients(alpha_bar, t, &a, &b, &c);
    float sc = (float)sqrt(c);
    for (gint64 i = 0; i < n; i++) {
      lethe_rng_fill_normal_f32(&rngs[i], eps, d, 0.0f, 1.0f);
      float *zi = z + i * d;
      const float *ui = uhat + i * d;
      for (gint64 j = 0; j < d; j++)
        zi[j] = (float)(a * ui[j] + b * zi[j]) + sc * eps[j];
    }
  }
  return TRUE;
}

/* ---- the model ------------------------------------------------------ */

static LetheTensor *
uniform_tensor(LetheRng *rng, guint rank, const gint64 *shape, double bound)
{
  LetheTensor *t = lethe_tensor_new(LETHE_DTYPE_F32, rank, shape);
  lethe_rng_fill_uniform_f32(rng, lethe_tensor_f32(t), lethe_tensor_n_elements(t), -bound, bound);
  return t;
}

/* A linear layer's weight [out, in] and bias [out], PyTorch's init. */
static void
add_linear(LetheParams *p, LetheRng *rng, const char *wname, const char *bname, gint64 in,
           gint64 out)
{
  double bound = 1.0 / sqrt((double)in);
  g_autoptr(LetheTensor) w = uniform_tensor(rng, 2, (gint64[]){out, in}, bound);
  g_autoptr(LetheTensor) b = uniform_tensor(rng, 1, (gint64[]){out}, bound);
  lethe_params_add(p, wname, w, TRUE);
  lethe_params_add(p, bname, b, TRUE);
}

/* The width of the image path's output for one zero sample. */
static gboolean
probe_image_dim(LetheSequential *image, guint sample_rank, const gint64 *sample_shape, gint64 *dim,
                GError **error)
{
  gint64 shape[LETHE_TENSOR_MAX_RANK] = {1};
  for (guint i = 0; i < sample_rank; i++)
    shape[i + 1] = sample_shape[i];
  g_autoptr(LetheTensor) x = lethe_tensor_new(LETHE_DTYPE_F32, sample_rank + 1, shape);
  LetheTape *tape = lethe_tape_new();
  lethe_tape_set_grad_enabled(tape, FALSE);
  LetheVar *out = lethe_sequential_forward(image, tape, lethe_tape_input(tape, x, FALSE), FALSE);
  gboolean ok = lethe_tape_check(tape, error);
  if (ok && out->rank != 2) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "the image path gives rank-%u outputs; it must end with [N, H] (add 'flatten' "
                "and a linear layer)",
                out->rank);
    ok = FALSE;
  }
  if (ok)
    *dim = out->shape[1];
  lethe_tape_free(tape);
  return ok;
}

static gboolean
check_config(const NopropConfig *c, GError **error)
{
  if (c->T < 1 || c->n_classes < 2 || c->dim < 1 || c->z_hidden < 1 || c->fused_hidden < 1) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "NoProp needs T ≥ 1, at least 2 classes and positive widths (T = %u, K = "
                "%" G_GINT64_FORMAT ", d = %" G_GINT64_FORMAT ")",
                c->T, c->n_classes, c->dim);
    return FALSE;
  }
  if (c->embedding == NOPROP_EMBED_ONE_HOT && c->dim != c->n_classes) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "one-hot embeddings have d = K = %" G_GINT64_FORMAT ", not %" G_GINT64_FORMAT,
                c->n_classes, c->dim);
    return FALSE;
  }
  if (c->embedding == NOPROP_EMBED_LEARNED && c->dim < c->n_classes) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "learned embeddings start with orthonormal rows, so d (%" G_GINT64_FORMAT
                ") must be at least the number of classes (%" G_GINT64_FORMAT ")",
                c->dim, c->n_classes);
    return FALSE;
  }
  return TRUE;
}

/* Rows of Qᵀ for a Gaussian d×K matrix: K orthonormal rows of length d. */
static gboolean
orthonormal_rows(LetheRng *rng, gint64 K, gint64 d, float *out, GError **error)
{
  g_autofree double *g = g_new(double, d *K);
  g_autofree double *q = g_new(double, d *K);
  lethe_rng_fill_normal_f64(rng, g, d * K, 0.0, 1.0);
  if (!lethe_linalg_qr_f64(g, d, K, K, q, NULL, error))
    return FALSE;
  for (gint64 k = 0; k < K; k++)
    for (gint64 j = 0; j < d; j++)
      out[k * d + j] = (float)q[j * K + k];
  return TRUE;
}

void
noprop_model_free(NopropModel *model)
{
  if (model == NULL)
    return;
  if (model->blocks)
    for (guint t = 0; t < model->config.T; t++) {
      g_clear_pointer(&model->blocks[t].image, lethe_sequential_free);
      g_clear_pointer(&model->blocks[t].own, lethe_params_free);
    }
  g_free(model->blocks);
  g_clear_pointer(&model->shared, lethe_params_free);
  g_free(model->alpha_bar);
  g_free(model->config.image_arch);
  g_free(model);
}

static NopropModel *
model_alloc(const NopropConfig *config)
{
  NopropModel *m = g_new0(NopropModel, 1);
  m->config = *config;
  m->config.image_arch = g_strdup(config->image_arch);
  m->blocks = g_new0(NopropBlock, config->T);
  m->alpha_bar = g_new(double, config->T + 1);
  return m;
}

NopropModel *
noprop_model_new(const NopropConfig *config, guint sample_rank, const gint64 *sample_shape,
                 guint64 seed, GError **error)
{
  g_return_val_if_fail(config != NULL && config->image_arch != NULL, NULL);
  if (!check_config(config, error))
    return NULL;
  g_autoptr(NopropModel) m = model_alloc(config);
  const NopropConfig *c = &m->config;
  noprop_cosine_schedule(c->T, m->alpha_bar);
  for (guint t = 1; t <= c->T; t++) {
    /* Block t's parameters depend on (seed, t) only. */
    g_autofree char *name = g_strdup_printf("block%u", t);
    guint64 bseed = lethe_rng_derive_seed(seed, name);
    NopropBlock *b = &m->blocks[t - 1];
    if (!(b->image = lethe_sequential_new(c->image_arch, bseed, error)))
      return NULL;
    if (t == 1 && !probe_image_dim(b->image, sample_rank, sample_shape, &m->image_dim, error))
      return NULL;
    LetheRng rng;
    lethe_rng_init_stream(&rng, bseed, 1);
    b->own = lethe_params_new();
    add_linear(b->own, &rng, own_names[0], own_names[1], c->dim, c->z_hidden);
    add_linear(b->own, &rng, own_names[2], own_names[3], c->z_hidden, c->z_hidden);
    add_linear(b->own, &rng, own_names[4], own_names[5], m->image_dim + c->z_hidden,
               c->fused_hidden);
    add_linear(b->own, &rng, own_names[6], own_names[7], c->fused_hidden, c->n_classes);
  }
  LetheRng rng;
  lethe_rng_init_stream(&rng, lethe_rng_derive_seed(seed, "shared"), 0);
  gint64 K = c->n_classes, d = c->dim;
  g_autoptr(LetheTensor) emb = lethe_tensor_new_2d(LETHE_DTYPE_F32, K, d);
  float *e = lethe_tensor_f32(emb);
  if (c->embedding == NOPROP_EMBED_ONE_HOT) {
    for (gint64 k = 0; k < K; k++)
      e[k * d + k] = 1.0f;
  } else if (d >= K) {
    if (!orthonormal_rows(&rng, K, d, e, error))
      return NULL;
  } else {
    lethe_rng_fill_normal_f32(&rng, e, K * d, 0.0f, (float)(1.0 / sqrt((double)d)));
  }
  m->shared = lethe_params_new();
  lethe_params_add(m->shared, shared_names[0], emb, TRUE);
  if (c->embedding == NOPROP_EMBED_ONE_HOT)
    lethe_params_set_frozen(m->shared, NOPROP_EMBED, TRUE);
  add_linear(m->shared, &rng, shared_names[1], shared_names[2], d, K);
  return g_steal_pointer(&m);
}

gboolean
noprop_model_set_prototypes(NopropModel *model, LetheTensor *x, const gint32 *y, GError **error)
{
  gint64 n = x->shape[0], K = model->config.n_classes, d = model->config.dim;
  gint64 size = n > 0 ? lethe_tensor_n_elements(x) / n : 0;
  if (size != d) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "prototype embeddings are class-mean images, so embedding-dim must be the "
                "size of one sample (%" G_GINT64_FORMAT "), not %" G_GINT64_FORMAT,
                size, d);
    return FALSE;
  }
  g_autoptr(LetheTensor) xc = lethe_tensor_contiguous(x);
  const float *xv = lethe_tensor_f32(xc);
  g_autofree double *sum = g_new0(double, K *d);
  g_autofree gint64 *count = g_new0(gint64, K);
  for (gint64 i = 0; i < n; i++) {
    if (y[i] < 0 || y[i] >= K)
      continue;
    count[y[i]]++;
    for (gint64 j = 0; j < d; j++)
      sum[y[i] * d + j] += xv[i * d + j];
  }
  float *e = lethe_tensor_f32(lethe_params_get_value(model->shared, NOPROP_EMBED));
  for (gint64 k = 0; k < K; k++) {
    if (count[k] == 0)
      continue; /* a class without samples keeps its orthonormal row */
    double norm = 0;
    for (gint64 j = 0; j < d; j++)
      norm += sum[k * d + j] * sum[k * d + j];
    norm = sqrt(norm);
    for (gint64 j = 0; j < d; j++)
      e[k * d + j] = norm > 0 ? (float)(sum[k * d + j] / norm) : 0.0f;
  }
  return TRUE;
}

LetheVar *
noprop_block_logits(NopropModel *model, guint t, LetheTape *tape, LetheVar *x, LetheVar *z,
                    gboolean training)
{
  g_return_val_if_fail(t >= 1 && t <= model->config.T, NULL);
  NopropBlock *b = &model->blocks[t - 1];
  LetheVar *img = lethe_sequential_forward(b->image, tape, x, training);
  LetheVar *p[NOPROP_N_OWN];
  for (guint i = 0; i < NOPROP_N_OWN; i++)
    p[i] = lethe_tape_param(tape, b->own, i);
  /* Embedding path: two layers with a residual around the second. */
  LetheVar *h1 = lethe_op_linear(tape, z, p[NOPROP_Z0_W], p[NOPROP_Z0_B], TRUE);
  LetheVar *h2 = lethe_op_linear(tape, h1, p[NOPROP_Z1_W], p[NOPROP_Z1_B], TRUE);
  LetheVar *h = lethe_op_add(tape, h1, h2);
  if (img == NULL || h == NULL)
    return NULL;
  LetheVar *parts[2] = {img, h};
  LetheVar *f = lethe_op_concat(tape, parts, 2, 1);
  f = lethe_op_linear(tape, f, p[NOPROP_F0_W], p[NOPROP_F0_B], TRUE);
  return lethe_op_linear(tape, f, p[NOPROP_F1_W], p[NOPROP_F1_B], FALSE);
}

LetheVar *
noprop_block_predict(NopropModel *model, guint t, LetheTape *tape, LetheVar *x, LetheVar *z,
                     LetheVar *embedding, gboolean training)
{
  LetheVar *logits = noprop_block_logits(model, t, tape, x, z, training);
  return lethe_op_matmul(tape, lethe_op_softmax(tape, logits), embedding, FALSE, FALSE);
}

/* The embedding as a constant (no gradient, no shared state touched). */
static LetheVar *
embedding_const(NopropModel *model, LetheTape *tape)
{
  LetheTensor *e = lethe_params_get_value(model->shared, NOPROP_EMBED);
  return lethe_tape_wrap(tape, LETHE_DTYPE_F32, 2, e->shape, lethe_tensor_data(e), NULL);
}

typedef struct {
  NopropModel *model;
  LetheTape *tape;
  LetheTensor *x;
} ChainCtx;

static gboolean
chain_predict(guint t, const float *z, gint64 n, float *uhat, gpointer user_data, GError **error)
{
  ChainCtx *ctx = user_data;
  lethe_tape_reset(ctx->tape);
  LetheVar *xv = lethe_tape_input(ctx->tape, ctx->x, FALSE);
  LetheVar *zv = lethe_tape_wrap(ctx->tape, LETHE_DTYPE_F32, 2,
                                 (gint64[]){n, ctx->model->config.dim}, (gpointer)z, NULL);
  LetheVar *u = noprop_block_predict(ctx->model, t, ctx->tape, xv, zv,
                                     embedding_const(ctx->model, ctx->tape), FALSE);
  if (!lethe_tape_check(ctx->tape, error)) {
    g_prefix_error(error, "noprop block %u: ", t);
    return FALSE;
  }
  memcpy(uhat, u->data, sizeof(float) * n * ctx->model->config.dim);
  return TRUE;
}

LetheTensor *
noprop_model_predict(NopropModel *model, LetheTensor *x, guint64 seed, gint64 batch, GError **error)
{
  g_return_val_if_fail(model != NULL && x != NULL && x->rank >= 1, NULL);
  gint64 n = x->shape[0], K = model->config.n_classes, d = model->config.dim;
  g_autoptr(LetheTensor) xf = x->dtype == LETHE_DTYPE_F32
                                  ? lethe_tensor_contiguous(x)
                                  : lethe_tensor_to_dtype(x, LETHE_DTYPE_F32);
  g_autoptr(LetheTensor) out = lethe_tensor_new_2d(LETHE_DTYPE_F32, n, K);
  g_autofree float *z = g_new(float, MAX(batch, 1) * d);
  LetheTape *tape = lethe_tape_new();
  lethe_tape_set_grad_enabled(tape, FALSE);
  gboolean ok = TRUE;
  for (gint64 start = 0; ok && start < n; start += batch) {
    gint64 nb = MIN(batch, n - start);
    g_autoptr(LetheTensor) xb = lethe_tensor_slice(xf, start, start + nb);
    ChainCtx ctx = {model, tape, xb};
    ok = noprop_chain_run(model->alpha_bar, model->config.T, d, nb, seed, start, chain_predict,
                          &ctx, z, error);
    if (!ok)
      break;
    lethe_tape_reset(tape);
    LetheVar *zv = lethe_tape_wrap(tape, LETHE_DTYPE_F32, 2, (gint64[]){nb, d}, z, NULL);
    LetheVar *logits =
        lethe_op_linear(tape, zv, lethe_tape_param(tape, model->shared, NOPROP_HEAD_W),
                        lethe_tape_param(tape, model->shared, NOPROP_HEAD_B), FALSE);
    if (!(ok = lethe_tape_check(tape, error)))
      break;
    memcpy(lethe_tensor_f32(out) + start * K, logits->data, sizeof(float) * nb * K);
  }
  lethe_tape_free(tape);
  return ok ? g_steal_pointer(&out) : NULL;
}

gboolean
noprop_accuracy(NopropModel *model, LetheTensor *x, const gint32 *y, guint64 seed, double *accuracy,
                GError **error)
{
  g_autoptr(LetheTensor) logits = noprop_model_predict(model, x, seed, 1000, error);
  if (logits == NULL)
    return FALSE;
  gint64 n = logits->shape[0], K = logits->shape[1], right = 0;
  const float *l = lethe_tensor_f32(logits);
  for (gint64 i = 0; i < n; i++) {
    gint64 best = 0;
    for (gint64 k = 1; k < K; k++)
      if (l[i * K + k] > l[i * K + best])
        best = k;
    right += best == y[i];
  }
  *accuracy = n > 0 ? (double)right / n : 0.0;
  return TRUE;
}

/* ---- training ------------------------------------------------------- */

struct _NopropTrainer {
  NopropTrainConfig config;
  guint T;
  LetheOptimizer **image_opt;
  LetheOptimizer **own_opt;
  LetheOptimizer *shared_opt;
};

NopropTrainer *
noprop_trainer_new(NopropModel *model, const NopropTrainConfig *config)
{
  NopropTrainer *tr = g_new0(NopropTrainer, 1);
  tr->config = *config;
  tr->T = model->config.T;
  tr->image_opt = g_new0(LetheOptimizer *, tr->T);
  tr->own_opt = g_new0(LetheOptimizer *, tr->T);
  for (guint t = 0; t < tr->T; t++) {
    /* Adam(W) is elementwise, so one optimizer per parameter set is the
     * same as one over the whole block. */
    tr->image_opt[t] =
        lethe_optimizer_new(lethe_sequential_get_params(model->blocks[t].image), &config->optim);
    tr->own_opt[t] = lethe_optimizer_new(model->blocks[t].own, &config->optim);
  }
  tr->shared_opt = lethe_optimizer_new(model->shared, &config->optim);
  return tr;
}

void
noprop_trainer_free(NopropTrainer *tr)
{
  if (tr == NULL)
    return;
  for (guint t = 0; t < tr->T; t++) {
    lethe_optimizer_free(tr->image_opt[t]);
    lethe_optimizer_free(tr->own_opt[t]);
  }
  g_free(tr->image_opt);
  g_free(tr->own_opt);
  lethe_optimizer_free(tr->shared_opt);
  g_free(tr);
}

/* Minibatch order, block noise, head noise: separate streams per (epoch, t). */
static void
pass_stream(LetheRng *rng, guint64 seed, const char *what, guint epoch, guint t)
{
  lethe_rng_init_stream(rng, lethe_rng_derive_seed(seed, what), (guint64)epoch * 65536u + t);
}

static LetheVar *
noise_leaf(LetheTape *tape, LetheRng *rng, gint64 n, gint64 d, double scale)
{
  LetheVar *v = lethe_tape_new_leaf(tape, LETHE_DTYPE_F32, 2, (gint64[]){n, d}, FALSE);
  if (v)
    lethe_rng_fill_normal_f32(rng, v->data, n * d, 0.0f, (float)scale);
  return v;
}

gboolean
noprop_train_pass(NopropModel *model, NopropTrainer *tr, guint t, guint epoch, LetheTensor *x,
                  const gint32 *y, gboolean train_block, gboolean train_shared,
                  GCancellable *cancellable, double *mean_loss, GError **error)
{
  g_return_val_if_fail(t >= 1 && t <= model->config.T, FALSE);
  g_return_val_if_fail(x->dtype == LETHE_DTYPE_F32 && lethe_tensor_is_contiguous(x), FALSE);
  const NopropConfig *c = &model->config;
  const double *ab = model->alpha_bar;
  gint64 n = x->shape[0], d = c->dim, B = tr->config.batch;
  gint64 sample = n > 0 ? lethe_tensor_n_elements(x) / n : 0;
  double w =
      0.5 * c->T * c->eta * (noprop_snr(ab, t, c->snr_cap) - noprop_snr(ab, t - 1, c->snr_cap));
  /* KL(q(z_0|y) ‖ N(0, I)) = ½[ᾱ_0‖u‖² + d(1−ᾱ_0) − d − d·log(1−ᾱ_0)]. */
  double kl_const = 0.5 * (d * (1.0 - ab[0]) - d - d * log(1.0 - ab[0]));
  LetheRng order, block_noise, head_noise;
  pass_stream(&order, tr->config.seed, "order", epoch, t);
  pass_stream(&block_noise, tr->config.seed, "block-noise", epoch, t);
  pass_stream(&head_noise, tr->config.seed, "head-noise", epoch, t);
  g_autofree gint64 *perm = g_new(gint64, MAX(n, 1));
  lethe_rng_permutation(&order, perm, n);
  g_autofree gint64 *ids = g_new(gint64, B);
  g_autofree gint32 *labels = g_new(gint32, B);
  gint64 xshape[LETHE_TENSOR_MAX_RANK];
  memcpy(xshape, x->shape, sizeof(gint64) * x->rank);
  NopropBlock *blk = &model->blocks[t - 1];
  LetheParams *image_params = lethe_sequential_get_params(blk->image);
  const float *xv = lethe_tensor_f32(x);
  LetheTape *tape = lethe_tape_new();
  double total = 0;
  gboolean ok = TRUE;
  for (gint64 start = 0; start < n; start += B) {
    if (g_cancellable_set_error_if_cancelled(cancellable, error)) {
      ok = FALSE;
      break;
    }
    gint64 nb = MIN(B, n - start);
    for (gint64 i = 0; i < nb; i++) {
      labels[i] = y[perm[start + i]];
      ids[i] = labels[i];
    }
    lethe_tape_reset(tape);
    /* Only a pass that trains the shared parameters may write their
     * gradients: block passes run on several threads at once. */
    LetheVar *emb = train_shared ? lethe_tape_param(tape, model->shared, NOPROP_EMBED)
                                 : embedding_const(model, tape);
    LetheVar *u = lethe_op_embedding(tape, emb, ids, nb);
    LetheVar *loss = NULL;
    if (train_block) {
      xshape[0] = nb;
      LetheVar *xb = lethe_tape_new_leaf(tape, LETHE_DTYPE_F32, x->rank, xshape, FALSE);
      float *dst = xb->data;
      for (gint64 i = 0; i < nb; i++)
        memcpy(dst + i * sample, xv + perm[start + i] * sample, sizeof(float) * sample);
      LetheVar *z = lethe_op_add(tape, lethe_op_scale(tape, u, sqrt(ab[t - 1]), 0.0),
                                 noise_leaf(tape, &block_noise, nb, d, sqrt(1.0 - ab[t - 1])));
      LetheVar *uhat = noprop_block_predict(model, t, tape, xb, z, emb, TRUE);
      LetheVar *sq = lethe_op_sum(tape, lethe_op_square(tape, lethe_op_sub(tape, uhat, u)));
      loss = lethe_op_scale(tape, sq, w / nb, 0.0);
    }
    if (train_shared) {
      LetheVar *zT = lethe_op_add(tape, lethe_op_scale(tape, u, sqrt(ab[c->T]), 0.0),
                                  noise_leaf(tape, &head_noise, nb, d, sqrt(1.0 - ab[c->T])));
      LetheVar *logits =
          lethe_op_linear(tape, zT, lethe_tape_param(tape, model->shared, NOPROP_HEAD_W),
                          lethe_tape_param(tape, model->shared, NOPROP_HEAD_B), FALSE);
      LetheVar *ce = lethe_op_cross_entropy(tape, logits, labels, 0.0);
      LetheVar *kl = lethe_op_scale(tape, lethe_op_sum(tape, lethe_op_square(tape, u)),
                                    0.5 * ab[0] / nb, kl_const);
      LetheVar *l2 = lethe_op_add(tape, ce, kl);
      loss = loss ? lethe_op_add(tape, loss, l2) : l2;
    }
    if (train_block) {
      lethe_params_zero_grad(image_params);
      lethe_params_zero_grad(blk->own);
    }
    if (train_shared)
      lethe_params_zero_grad(model->shared);
    if (!(ok = lethe_tape_backward(tape, loss, error)))
      break;
    double value = lethe_var_get(loss, 0);
    if (!isfinite(value)) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                  "noprop block %u, epoch %u, step %" G_GINT64_FORMAT
                  ": the loss is %g; lower lr or snr-cap",
                  t, epoch + 1, start / B + 1, value);
      ok = FALSE;
      break;
    }
    total += value * nb;
    if (train_block) {
      lethe_optimizer_step(tr->image_opt[t - 1]);
      lethe_optimizer_step(tr->own_opt[t - 1]);
    }
    if (train_shared)
      lethe_optimizer_step(tr->shared_opt);
  }
  lethe_tape_free(tape);
  if (ok && mean_loss)
    *mean_loss = n > 0 ? total / n : 0.0;
  return ok;
}

/* ---- model frames --------------------------------------------------- */

#define META_T "noprop-T"

static char *
arch_string(const NopropConfig *c)
{
  return g_strdup_printf("noprop-dt(T=%u,K=%" G_GINT64_FORMAT ",d=%" G_GINT64_FORMAT
                         ",z=%" G_GINT64_FORMAT ",fused=%" G_GINT64_FORMAT ",embedding=%s) "
                         "image: %s",
                         c->T, c->n_classes, c->dim, c->z_hidden, c->fused_hidden,
                         noprop_embedding_name(c->embedding), c->image_arch);
}

LetheFrame *
noprop_model_to_frame(NopropModel *model, gint64 version, guint64 infer_seed)
{
  const NopropConfig *c = &model->config;
  LetheFrame *f = lethe_frame_new();
  LetheTensor *sched = lethe_tensor_new_1d(LETHE_DTYPE_F64, c->T + 1);
  memcpy(lethe_tensor_data(sched), model->alpha_bar, sizeof(double) * (c->T + 1));
  lethe_frame_take_tensor(f, "schedule", sched);
  for (guint i = 0; i < NOPROP_N_SHARED; i++)
    lethe_frame_take_tensor(f, shared_names[i],
                            lethe_tensor_copy(lethe_params_get_value(model->shared, i)));
  for (guint t = 1; t <= c->T; t++) {
    NopropBlock *b = &model->blocks[t - 1];
    LetheParams *ip = lethe_sequential_get_params(b->image);
    for (guint i = 0; i < lethe_params_get_n(ip); i++) {
      g_autofree char *name = g_strdup_printf("block%u.image.%s", t, lethe_params_get_name(ip, i));
      lethe_frame_take_tensor(f, name, lethe_tensor_copy(lethe_params_get_value(ip, i)));
    }
    for (guint i = 0; i < NOPROP_N_OWN; i++) {
      g_autofree char *name = g_strdup_printf("block%u.%s", t, own_names[i]);
      lethe_frame_take_tensor(f, name, lethe_tensor_copy(lethe_params_get_value(b->own, i)));
    }
  }
  g_autofree char *arch = arch_string(c);
  lethe_frame_set_meta_string(f, "model-kind", "noprop");
  lethe_frame_set_meta_string(f, "arch", arch);
  lethe_frame_set_meta_int(f, "version", version);
  lethe_frame_set_meta_string(f, "noprop-variant", "dt");
  lethe_frame_set_meta_int(f, META_T, c->T);
  lethe_frame_set_meta_string(f, "noprop-image-arch", c->image_arch);
  lethe_frame_set_meta_int(f, "noprop-z-hidden", c->z_hidden);
  lethe_frame_set_meta_int(f, "noprop-fused-hidden", c->fused_hidden);
  lethe_frame_set_meta_string(f, "noprop-embedding", noprop_embedding_name(c->embedding));
  lethe_frame_set_meta_double(f, "noprop-eta", c->eta);
  lethe_frame_set_meta_double(f, "noprop-snr-cap", c->snr_cap);
  lethe_frame_set_meta_int(f, "noprop-seed", (gint64)infer_seed);
  return f;
}

/* The number of blocks a frame holds: the largest t of a "block<t>." tensor. */
static guint
frame_block_count(const LetheFrame *frame)
{
  guint max_t = 0;
  for (guint i = 0; i < lethe_frame_get_n_tensors(frame); i++) {
    const char *name = NULL;
    lethe_frame_get_nth(frame, i, &name);
    guint64 t;
    char *end = NULL;
    if (!g_str_has_prefix(name, "block"))
      continue;
    t = g_ascii_strtoull(name + 5, &end, 10);
    if (end != name + 5 && *end == '.' && t <= G_MAXUINT)
      max_t = MAX(max_t, (guint)t);
  }
  return max_t;
}

static LetheTensor *
need_tensor(const LetheFrame *frame, const char *name, guint rank, GError **error)
{
  LetheTensor *t = lethe_frame_get_tensor(frame, name);
  if (t == NULL || t->dtype != LETHE_DTYPE_F32 || t->rank != rank) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "noprop model frame: tensor '%s' is %s; it must be an f32 tensor of rank %u", name,
                t ? "of another dtype or rank" : "missing", rank);
    return NULL;
  }
  return t;
}

NopropModel *
noprop_model_new_from_frame(const LetheFrame *frame, GError **error)
{
  g_return_val_if_fail(frame != NULL, NULL);
  gint64 T = lethe_frame_get_meta_int(frame, META_T, -1);
  LetheTensor *sched = lethe_frame_get_tensor(frame, "schedule");
  guint trained = frame_block_count(frame);
  if (T < 1 || sched == NULL || sched->rank != 1) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "noprop model frame: it needs metadata '" META_T
                "' (≥ 1) and a 1-D tensor 'schedule'; is it a model of the noprop learner?");
    return NULL;
  }
  if ((guint64)T != trained || sched->shape[0] != (gint64)trained + 1) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "noprop model frame: asked to run the chain with T = %" G_GINT64_FORMAT
                " steps (metadata '" META_T "') but the model was trained with T = %u blocks "
                "(tensors block1.* … block%u.*, a schedule of %" G_GINT64_FORMAT
                " values); each block belongs to one step of the schedule, so the chain only "
                "runs with the T it was trained with: set " META_T " = %u or retrain with T = "
                "%" G_GINT64_FORMAT,
                T, trained, trained, sched->shape[0], trained, T);
    return NULL;
  }
  NopropConfig c = {0};
  c.T = (guint)T;
  c.image_arch = (char *)lethe_frame_get_meta_string(frame, "noprop-image-arch", NULL);
  if (c.image_arch == NULL ||
      !noprop_embedding_from_name(lethe_frame_get_meta_string(frame, "noprop-embedding", ""),
                                  &c.embedding)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "noprop model frame: metadata 'noprop-image-arch' or 'noprop-embedding' is "
                "missing or unknown");
    return NULL;
  }
  c.eta = lethe_frame_get_meta_double(frame, "noprop-eta", 0.1);
  c.snr_cap = lethe_frame_get_meta_double(frame, "noprop-snr-cap", 100.0);
  LetheTensor *emb, *hw, *hb;
  if (!(emb = need_tensor(frame, "embedding", 2, error)) ||
      !(hw = need_tensor(frame, "head.weight", 2, error)) ||
      !(hb = need_tensor(frame, "head.bias", 1, error)))
    return NULL;
  c.n_classes = emb->shape[0];
  c.dim = emb->shape[1];
  c.z_hidden = lethe_frame_get_meta_int(frame, "noprop-z-hidden", 0);
  c.fused_hidden = lethe_frame_get_meta_int(frame, "noprop-fused-hidden", 0);
  g_autoptr(NopropModel) m = model_alloc(&c);
  g_autoptr(LetheTensor) s64 = lethe_tensor_to_dtype(sched, LETHE_DTYPE_F64);
  memcpy(m->alpha_bar, lethe_tensor_data(s64), sizeof(double) * (c.T + 1));
  m->shared = lethe_params_new();
  lethe_params_add(m->shared, shared_names[0], emb, TRUE);
  lethe_params_add(m->shared, shared_names[1], hw, TRUE);
  lethe_params_add(m->shared, shared_names[2], hb, TRUE);
  for (guint t = 1; t <= c.T; t++) {
    NopropBlock *b = &m->blocks[t - 1];
    g_autofree char *prefix = g_strdup_printf("block%u.image.", t);
    g_autoptr(LetheFrame) sub = lethe_frame_new();
    lethe_frame_set_meta_string(sub, "arch", c.image_arch);
    for (guint i = 0; i < lethe_frame_get_n_tensors(frame); i++) {
      const char *name = NULL;
      LetheTensor *v = lethe_frame_get_nth(frame, i, &name);
      if (g_str_has_prefix(name, prefix))
        lethe_frame_set_tensor(sub, name + strlen(prefix), v);
    }
    if (!(b->image = lethe_sequential_new_from_frame(sub, error))) {
      g_prefix_error(error, "noprop model frame, block %u image path: ", t);
      return NULL;
    }
    b->own = lethe_params_new();
    for (guint i = 0; i < NOPROP_N_OWN; i++) {
      g_autofree char *name = g_strdup_printf("block%u.%s", t, own_names[i]);
      LetheTensor *v = need_tensor(frame, name, i % 2 == 0 ? 2 : 1, error);
      if (v == NULL)
        return NULL;
      lethe_params_add(b->own, own_names[i], v, TRUE);
    }
  }
  return g_steal_pointer(&m);
}

/* ---- the model kind ------------------------------------------------- */

static gboolean
noprop_kind_forward(const LetheFrame *frame, LetheTensor *x, LetheTensor **out, GError **error)
{
  g_autoptr(NopropModel) m = noprop_model_new_from_frame(frame, error);
  if (m == NULL)
    return FALSE;
  guint64 seed = (guint64)lethe_frame_get_meta_int(frame, "noprop-seed", 0);
  *out = noprop_model_predict(m, x, seed, 1000, error);
  return *out != NULL;
}

const LetheModelKind noprop_model_kind = {
    .name = "noprop",
    .description = "NoProp-DT: T denoising blocks run as a chain from noise to a class "
                   "embedding, then a linear head (inference noise from metadata noprop-seed)",
    .forward = noprop_kind_forward,
};
