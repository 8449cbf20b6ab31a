/* Lethe — layer norm and batch norm (training and frozen statistics).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Both normalise groups of M values to x̂ = (x − μ)·rstd and return
 * γ·x̂ + β; with batch statistics the backward is
 *   dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)),
 * with frozen statistics simply dx = rstd·dx̂.  Typed kernels: see ops.c.
 */
#ifndef NN_T
#include "nn-private.h"

#include <tgmath.h>

#define NN_T    float
#define F(name) name##_f32
#include "ops-norm.c"
#undef NN_T
#undef F
#define NN_T    double
#define F(name) name##_f64
#include "ops-norm.c"
#undef NN_T
#undef F

#else

/* Layer norm: rows of D; aux = [mean(R), rstd(R)]. */
static void
F(ln_fwd)(LetheVar *v)
{
  LetheVar *X = v->in[0], *G = v->in[1], *B = v->in[2];
  const gint64 d = X->shape[X->rank - 1], rows = X->n / d;
  const NN_T *x = X->data, *g = G ? G->data : NULL, *b = B ? B->data : NULL;
  NN_T *y = v->data, *mean = v->aux, *rstd = mean + rows;
  for (gint64 r = 0; r < rows; r++) {
    const NN_T *xr = x + r * d;
    NN_T m = 0, var = 0;
    for (gint64 j = 0; j < d; j++)
      m += xr[j];
    m /= d;
    for (gint64 j = 0; j < d; j++)
      var += (xr[j] - m) * (xr[j] - m);
    var /= d;
    mean[r] = m;
    rstd[r] = 1 / sqrt(var + (NN_T)v->farg[0]);
    for (gint64 j = 0; j < d; j++)
      y[r * d + j] = (xr[j] - m) * rstd[r] * (g ? g[j] : 1) + (b ? b[j] : 0);
  }
}

static void
F(ln_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *X = v->in[0], *G = v->in[1], *B = v->in[2];
  const gint64 d = X->shape[X->rank - 1], rows = X->n / d;
  const NN_T *x = X->data, *gam = G ? G->data : NULL, *gy = v->grad;
  const NN_T *mean = v->aux, *rstd = mean + rows;
  NN_T *gx = nn_need_grad(X) ? nn_grad(tape, X) : NULL;
  NN_T *gg = nn_need_grad(G) ? nn_grad(tape, G) : NULL;
  NN_T *gb = nn_need_grad(B) ? nn_grad(tape, B) : NULL;
  for (gint64 r = 0; r < rows; r++) {
    const NN_T *xr = x + r * d, *gr = gy + r * d;
    NN_T s1 = 0, s2 = 0;
    for (gint64 j = 0; j < d; j++) {
      const NN_T xh = (xr[j] - mean[r]) * rstd[r], dxh = gr[j] * (gam ? gam[j] : 1);
      s1 += dxh;
      s2 += dxh * xh;
      if (gg)
        gg[j] += gr[j] * xh;
      if (gb)
        gb[j] += gr[j];
    }
    s1 /= d;
    s2 /= d;
    if (gx)
      for (gint64 j = 0; j < d; j++) {
        const NN_T xh = (xr[j] - mean[r]) * rstd[r], dxh = gr[j] * (gam ? gam[j] : 1);
        gx[r * d + j] += rstd[r] * (dxh - s1 - xh * s2);
      }
  }
}

/* Batch norm on [N, C, S]; aux = [mean(C), rstd(C)]. */
static void
F(bn_fwd)(LetheVar *v, NN_T *rmean, NN_T *rvar)
{
  LetheVar *X = v->in[0], *G = v->in[1], *B = v->in[2];
  const gint64 n = X->shape[0], c = v->iarg[1], s = v->iarg[2], cnt = n * s;
  const gboolean training = v->iarg[0];
  const NN_T *x = X->data, *g = G ? G->data : NULL, *b = B ? B->data : NULL;
  const NN_T eps = (NN_T)v->farg[0], mom = (NN_T)v->farg[1];
  NN_T *y = v->data, *mean = v->aux, *rstd = mean + c;
  for (gint64 ch = 0; ch < c; ch++) {
    NN_T m, var;
    if (training) {
      double sum = 0, sq = 0;
      for (gint64 i = 0; i < n; i++)
        for (gint64 k = 0; k < s; k++)
          sum += x[(i * c + ch) * s + k];
      m = (NN_T)(sum / cnt);
      for (gint64 i = 0; i < n; i++)
        for (gint64 k = 0; k < s; k++) {
          const NN_T dlt = x[(i * c + ch) * s + k] - m;
          sq += dlt * dlt;
        }
      var = (NN_T)(sq / cnt);
      if (rmean)
        rmean[ch] = (1 - mom) * rmean[ch] + mom * m;
      if (rvar)
        rvar[ch] = (1 - mom) * rvar[ch] + mom * (NN_T)(cnt > 1 ? sq / (cnt - 1) : sq);
    } else {
      m = rmean ? rmean[ch] : 0;
      var = rvar ? rvar[ch] : 1;
    }
    mean[ch] = m;
    rstd[ch] = 1 / sqrt(var + eps);
    const NN_T sc = rstd[ch] * (g ? g[ch] : 1), sh = b ? b[ch] : 0;
    for (gint64 i = 0; i < n; i++)
      for (gint64 k = 0; k < s; k++) {
        const gint64 o = (i * c + ch) * s + k;
        y[o] = (x[o] - m) * sc + sh;
      }
  }
}

static void
F(bn_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *X = v->in[0], *G = v->in[1], *B = v->in[2];
  const gint64 n = X->shape[0], c = v->iarg[1], s = v->iarg[2], cnt = n * s;
  const gboolean training = v->iarg[0];
  const NN_T *x = X->data, *gam = G ? G->data : NULL, *gy = v->grad;
  const NN_T *mean = v->aux, *rstd = mean + c;
  NN_T *gx = nn_need_grad(X) ? nn_grad(tape, X) : NULL;
  NN_T *gg = nn_need_grad(G) ? nn_grad(tape, G) : NULL;
  NN_T *gb = nn_need_grad(B) ? nn_grad(tape, B) : NULL;
  for (gint64 ch = 0; ch < c; ch++) {
    const NN_T gm = gam ? gam[ch] : 1;
    NN_T s1 = 0, s2 = 0;
    for (gint64 i = 0; i < n; i++)
      for (gint64 k = 0; k < s; k++) {
        const gint64 o = (i * c + ch) * s + k;
        const NN_T xh = (x[o] - mean[ch]) * rstd[ch];
        s1 += gy[o];
        s2 += gy[o] * xh;
      }
    if (gg)
      gg[ch] += s2;
    if (gb)
      gb[ch] += s1;
    if (!gx)
      continue;
    s1 = s1 * gm / cnt;
    s2 = s2 * gm / cnt;
    for (gint64 i = 0; i < n; i++)
      for (gint64 k = 0; k < s; k++) {
        const gint64 o = (i * c + ch) * s + k;
        const NN_T xh = (x[o] - mean[ch]) * rstd[ch], dxh = gy[o] * gm;
        gx[o] += training ? rstd[ch] * (dxh - s1 - xh * s2) : rstd[ch] * dxh;
      }
  }
}

#endif /* NN_T */

#ifndef NN_T

static gboolean
check_vec(LetheTape *tape, const char *name, const char *what, LetheVar *p, LetheVar *x, gint64 len)
{
  if (!p)
    return TRUE;
  if (!nn_same_dtype(tape, name, x, p))
    return FALSE;
  if (p->rank == 1 && p->shape[0] == len)
    return TRUE;
  g_autofree char *s = nn_shape_str(p);
  return nn_fail(tape, "%s: %s has shape %s, expected [%" G_GINT64_FORMAT "]", name, what, s, len);
}

LetheVar *
lethe_op_layer_norm(LetheTape *tape, LetheVar *x, LetheVar *gamma, LetheVar *beta, double eps)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!x)
    return NULL;
  if (x->rank < 1)
    return (nn_fail(tape, "layer_norm: the input needs at least one axis"), NULL);
  const gint64 d = x->shape[x->rank - 1];
  if (!check_vec(tape, "layer_norm", "gamma", gamma, x, d) ||
      !check_vec(tape, "layer_norm", "beta", beta, x, d))
    return NULL;
  LetheVar *v = nn_var_new(tape, OP_LAYER_NORM, x->dtype, x->rank, x->shape);
  v->in[0] = x;
  v->in[1] = gamma;
  v->in[2] = beta;
  v->farg[0] = eps;
  v->aux = lethe_tape_alloc(tape, 2 * (x->n / MAX(d, 1) + 1) * lethe_dtype_size(x->dtype));
  DISPATCH(v, ln_fwd, v);
  v->requires_grad =
      (nn_need_grad(x) || nn_need_grad(gamma) || nn_need_grad(beta)) && nn_recording(tape);
  return v;
}

LetheVar *
lethe_op_batch_norm(LetheTape *tape, LetheVar *x, LetheVar *gamma, LetheVar *beta,
                    gpointer running_mean, gpointer running_var, gboolean training, double momentum,
                    double eps)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!x)
    return NULL;
  if (x->rank < 2) {
    g_autofree char *s = nn_shape_str(x);
    nn_fail(tape, "batch_norm: expected [N, C] or [N, C, …], got %s", s);
    return NULL;
  }
  const gint64 c = x->shape[1];
  if (!check_vec(tape, "batch_norm", "gamma", gamma, x, c) ||
      !check_vec(tape, "batch_norm", "beta", beta, x, c))
    return NULL;
  if (training && x->n / c < 2)
    return (nn_fail(tape, "batch_norm: training needs more than one value per channel; use a "
                          "batch of at least 2 or frozen statistics"),
            NULL);
  LetheVar *v = nn_var_new(tape, OP_BATCH_NORM, x->dtype, x->rank, x->shape);
  v->in[0] = x;
  v->in[1] = gamma;
  v->in[2] = beta;
  v->iarg[0] = training;
  v->iarg[1] = c;
  v->iarg[2] = x->n / MAX(x->shape[0] * c, 1);
  v->farg[0] = eps;
  v->farg[1] = momentum;
  v->aux = lethe_tape_alloc(tape, 2 * c * lethe_dtype_size(x->dtype));
  DISPATCH(v, bn_fwd, v, running_mean, running_var);
  v->requires_grad =
      (nn_need_grad(x) || nn_need_grad(gamma) || nn_need_grad(beta)) && nn_recording(tape);
  return v;
}

void
nn_backward_norm(LetheTape *tape, LetheVar *v)
{
  if (v->op == OP_LAYER_NORM)
    DISPATCH(v, ln_bwd, tape, v);
  else
    DISPATCH(v, bn_bwd, tape, v);
}

#endif
