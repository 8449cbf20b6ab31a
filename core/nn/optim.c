/* Lethe — SGD, Adam, AdamW and learning-rate schedules.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The update rules follow torch.optim (same defaults, same order of
 * operations) so that a model trained here matches one trained there.
 */
#include "nn-private.h"

#include <lethe/nn-optim.h>

struct _LetheOptimizer {
  LetheParams *params;
  LetheOptimConfig config;
  float *m; /* momentum buffer (SGD) or first moment (Adam) */
  float *v; /* second moment */
  guint64 n_steps;
};

void
lethe_optim_config_init(LetheOptimConfig *config, LetheOptimKind kind, double lr)
{
  g_return_if_fail(config != NULL);
  memset(config, 0, sizeof *config);
  config->kind = kind;
  config->lr = lr;
  config->beta1 = 0.9;
  config->beta2 = 0.999;
  config->eps = 1e-8;
  config->weight_decay = kind == LETHE_OPTIM_ADAMW ? 0.01 : 0.0;
}

LetheOptimizer *
lethe_optimizer_new(LetheParams *params, const LetheOptimConfig *config)
{
  g_return_val_if_fail(params != NULL && config != NULL, NULL);
  /* Updates happen in place: give the model private, flat storage first, so
   * that tensors shared with a frame (a model pushed downstream, a mapped
   * checkpoint) are never written (copy-on-write). */
  lethe_params_make_flat(params);
  LetheOptimizer *opt = g_new0(LetheOptimizer, 1);
  opt->params = params;
  opt->config = *config;
  gint64 n = MAX(lethe_params_get_n_elements(params), 1);
  opt->m = g_new0(float, n);
  if (config->kind != LETHE_OPTIM_SGD)
    opt->v = g_new0(float, n);
  return opt;
}

void
lethe_optimizer_free(LetheOptimizer *opt)
{
  if (!opt)
    return;
  g_free(opt->m);
  g_free(opt->v);
  g_free(opt);
}

void
lethe_optimizer_reset(LetheOptimizer *opt)
{
  gint64 n = MAX(lethe_params_get_n_elements(opt->params), 1);
  memset(opt->m, 0, n * sizeof(float));
  if (opt->v)
    memset(opt->v, 0, n * sizeof(float));
  opt->n_steps = 0;
}

void
lethe_optimizer_set_lr(LetheOptimizer *opt, double lr)
{
  g_return_if_fail(opt != NULL);
  opt->config.lr = lr;
}

double
lethe_optimizer_get_lr(const LetheOptimizer *opt)
{
  return opt->config.lr;
}

guint64
lethe_optimizer_get_n_steps(const LetheOptimizer *opt)
{
  return opt->n_steps;
}

const LetheOptimConfig *
lethe_optimizer_get_config(const LetheOptimizer *opt)
{
  return &opt->config;
}

static void
sgd_update(const LetheOptimConfig *c, float *w, const float *gr, float *buf, const float *mask,
           gint64 n, gboolean first)
{
  const float lr = c->lr, wd = c->weight_decay, mu = c->momentum;
  for (gint64 i = 0; i < n; i++) {
    if (mask && mask[i] == 0)
      continue;
    float g = mask ? gr[i] * mask[i] : gr[i];
    g += wd * w[i];
    if (mu != 0) {
      buf[i] = first ? g : mu * buf[i] + g;
      g = c->nesterov ? g + mu * buf[i] : buf[i];
    }
    w[i] -= lr * g;
  }
}

/* The hot loop of the common case (no mask, no weight decay), cloned for
 * AVX-512 and AVX2: elementwise only, so every clone gives the same bits.
 * Not under ThreadSanitizer: the clones' IFUNC resolver runs while the
 * library is relocated, before the TSan runtime exists, and its
 * instrumented entry crashes every program that links liblethe. */
#if defined(__SANITIZE_THREAD__)
#define LETHE_SIMD_CLONES
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LETHE_SIMD_CLONES
#endif
#endif
#ifndef LETHE_SIMD_CLONES
#define LETHE_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
LETHE_SIMD_CLONES static void
adam_plain(float *restrict w, const float *restrict gr, float *restrict m, float *restrict v,
           gint64 n, float b1, float b2, float step, float bc2_sqrt, float eps)
{
  for (gint64 i = 0; i < n; i++) {
    const float g = gr[i];
    m[i] = b1 * m[i] + (1 - b1) * g;
    v[i] = b2 * v[i] + (1 - b2) * g * g;
    w[i] -= step * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
  }
}

static void
adam_update(const LetheOptimConfig *c, float *w, const float *gr, float *m, float *v,
            const float *mask, gint64 n, guint64 t)
{
  const float b1 = c->beta1, b2 = c->beta2, eps = c->eps, wd = c->weight_decay;
  const float bc1 = 1 - pow(c->beta1, t), bc2_sqrt = sqrt(1 - pow(c->beta2, t));
  const float step = c->lr / bc1;
  const float decay = c->kind == LETHE_OPTIM_ADAMW ? 1 - c->lr * wd : 1;
  const float l2 = c->kind == LETHE_OPTIM_ADAM ? wd : 0;
  if (!mask && decay == 1 && l2 == 0) {
    adam_plain(w, gr, m, v, n, b1, b2, step, bc2_sqrt, eps);
    return;
  }
  for (gint64 i = 0; i < n; i++) {
    if (mask && mask[i] == 0)
      continue;
    float g = mask ? gr[i] * mask[i] : gr[i];
    g += l2 * w[i];
    w[i] *= decay;
    m[i] = b1 * m[i] + (1 - b1) * g;
    v[i] = b2 * v[i] + (1 - b2) * g * g;
    w[i] -= step * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
  }
}

/* Work items are blocks of 16k entries of the flat vectors, so the
 * threads' shares do not depend on tensor boundaries. */
#define BLOCK 16384

typedef struct {
  LetheOptimizer *opt;
} StepJob;

static void
update_blocks(gint64 begin, gint64 end, gpointer data)
{
  LetheOptimizer *opt = ((StepJob *)data)->opt;
  LetheParams *p = opt->params;
  const gint64 lo = begin * BLOCK, hi = end * BLOCK;
  for (guint i = 0; i < lethe_params_get_n(p); i++) {
    if (lethe_params_get_frozen(p, i))
      continue;
    LetheTensor *val = lethe_params_get_value(p, i);
    const gint64 off = lethe_params_get_offset(p, i), n = lethe_tensor_n_elements(val);
    const gint64 a = MAX(lo, off), b = MIN(hi, off + n);
    if (a >= b)
      continue;
    LetheTensor *mask = lethe_params_get_mask(p, i);
    float *w = lethe_tensor_f32(val) + (a - off);
    const float *g = lethe_tensor_f32(lethe_params_get_grad(p, i)) + (a - off);
    const float *mk = mask ? lethe_tensor_f32(mask) + (a - off) : NULL;
    if (opt->config.kind == LETHE_OPTIM_SGD)
      sgd_update(&opt->config, w, g, opt->m + a, mk, b - a, opt->n_steps == 1);
    else
      adam_update(&opt->config, w, g, opt->m + a, opt->v + a, mk, b - a, opt->n_steps);
  }
}

void
lethe_optimizer_step(LetheOptimizer *opt)
{
  g_return_if_fail(opt != NULL);
  opt->n_steps++;
  /* Make sure every gradient view exists before threads read them. */
  for (guint i = 0; i < lethe_params_get_n(opt->params); i++)
    lethe_params_get_grad(opt->params, i);
  StepJob job = {opt};
  const gint64 n = lethe_params_get_n_elements(opt->params);
  nn_parallel_for((n + BLOCK - 1) / BLOCK, update_blocks, &job);
}

double
lethe_lr_schedule_at(const LetheLrSchedule *s, guint epoch)
{
  g_return_val_if_fail(s != NULL, NAN);
  switch (s->kind) {
  case LETHE_LR_STEP:
    return s->base_lr * pow(s->gamma, epoch / MAX(s->step_size, 1u));
  case LETHE_LR_COSINE: {
    double t = MIN(epoch, MAX(s->t_max, 1u));
    return s->eta_min + (s->base_lr - s->eta_min) * (1 + cos(G_PI * t / MAX(s->t_max, 1u))) / 2;
  }
  case LETHE_LR_EXPONENTIAL:
    return s->base_lr * pow(s->gamma, epoch);
  case LETHE_LR_CONSTANT:
  default:
    return s->base_lr;
  }
}
