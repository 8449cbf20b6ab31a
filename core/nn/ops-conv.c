/* Lethe — convolution and pooling, 1-D and 2-D.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A 1-D op is the 2-D op on an image of height 1.  Convolution unrolls the
 * whole batch into one column matrix col[C·KH·KW, N·OH·OW] (im2col) and does
 * one GEMM per pass, so BLAS sees large matrices even for small images:
 *   forward   y'[O, N·P] = W[O, CKK] · col
 *   backward  dW += g'·colᵀ,  dcol = Wᵀ·g', then col2im into dx.
 * The column matrix stays on the tape for the backward pass.
 */
#ifndef NN_T
#include "nn-private.h"

#include <tgmath.h>

#define NN_T    float
#define F(name) name##_f32
#include "ops-conv.c"
#undef NN_T
#undef F
#define NN_T    double
#define F(name) name##_f64
#include "ops-conv.c"
#undef NN_T
#undef F

#define DISPATCH(v, name, ...)                                                                     \
  do {                                                                                             \
    if ((v)->dtype == LETHE_DTYPE_F32)                                                             \
      name##_f32(__VA_ARGS__);                                                                     \
    else                                                                                           \
      name##_f64(__VA_ARGS__);                                                                     \
  } while (0)

#else

/* Geometry shared by conv and pooling (taken from iarg). */
typedef struct {
  gint64 n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow;
} F(Geom);

static F(Geom) F(geom)(const LetheVar *v)
{
  const LetheVar *X = v->in[0];
  F(Geom) g;
  const gboolean is1d = X->rank == 3;
  g.n = X->shape[0];
  g.c = X->shape[1];
  g.h = is1d ? 1 : X->shape[2];
  g.w = is1d ? X->shape[2] : X->shape[3];
  g.kh = v->iarg[0];
  g.kw = v->iarg[1];
  g.sh = v->iarg[2];
  g.sw = v->iarg[3];
  g.ph = v->iarg[4];
  g.pw = v->iarg[5];
  g.oh = (g.h + 2 * g.ph - g.kh) / g.sh + 1;
  g.ow = (g.w + 2 * g.pw - g.kw) / g.sw + 1;
  return g;
}

typedef struct {
  const F(Geom) * g;
  const NN_T *x;
  NN_T *col;
} F(ColJob);

/* Rows [begin, end) of col (one row per (c, ki, kj)). */
static void
F(im2col_rows)(gint64 begin, gint64 end, gpointer data)
{
  const F(ColJob) *job = data;
  const F(Geom) *g = job->g;
  const gint64 p = g->oh * g->ow, np = g->n * p;
  for (gint64 r = begin; r < end; r++) {
    const gint64 c = r / (g->kh * g->kw), ki = (r / g->kw) % g->kh, kj = r % g->kw;
    NN_T *dst = job->col + r * np;
    for (gint64 n = 0; n < g->n; n++) {
      const NN_T *src = job->x + (n * g->c + c) * g->h * g->w;
      for (gint64 oy = 0; oy < g->oh; oy++) {
        const gint64 iy = oy * g->sh - g->ph + ki;
        NN_T *d = dst + n * p + oy * g->ow;
        if (iy < 0 || iy >= g->h) {
          memset(d, 0, g->ow * sizeof(NN_T));
          continue;
        }
        const NN_T *s = src + iy * g->w;
        if (g->sw == 1) {
          const gint64 off = kj - g->pw;
          const gint64 lo = MAX(0, -off), hi = MIN(g->ow, g->w - off);
          for (gint64 ox = 0; ox < lo; ox++)
            d[ox] = 0;
          if (hi > lo)
            memcpy(d + lo, s + lo + off, (hi - lo) * sizeof(NN_T));
          for (gint64 ox = MAX(hi, lo); ox < g->ow; ox++)
            d[ox] = 0;
        } else {
          for (gint64 ox = 0; ox < g->ow; ox++) {
            const gint64 ix = ox * g->sw - g->pw + kj;
            d[ox] = ix >= 0 && ix < g->w ? s[ix] : 0;
          }
        }
      }
    }
  }
}

typedef struct {
  const F(Geom) * g;
  NN_T *gx;
  const NN_T *dcol;
} F(Col2ImJob);

/* Channels [begin, end): each channel's rows of dcol add into its own plane,
 * so threads never write the same memory. */
static void
F(col2im_channels)(gint64 begin, gint64 end, gpointer data)
{
  const F(Col2ImJob) *job = data;
  const F(Geom) *g = job->g;
  const gint64 p = g->oh * g->ow, np = g->n * p;
  for (gint64 c = begin; c < end; c++)
    for (gint64 ki = 0; ki < g->kh; ki++)
      for (gint64 kj = 0; kj < g->kw; kj++) {
        const NN_T *src = job->dcol + ((c * g->kh + ki) * g->kw + kj) * np;
        for (gint64 n = 0; n < g->n; n++) {
          NN_T *dst = job->gx + (n * g->c + c) * g->h * g->w;
          for (gint64 oy = 0; oy < g->oh; oy++) {
            const gint64 iy = oy * g->sh - g->ph + ki;
            if (iy < 0 || iy >= g->h)
              continue;
            const NN_T *s = src + n * p + oy * g->ow;
            NN_T *d = dst + iy * g->w;
            for (gint64 ox = 0; ox < g->ow; ox++) {
              const gint64 ix = ox * g->sw - g->pw + kj;
              if (ix >= 0 && ix < g->w)
                d[ix] += s[ox];
            }
          }
        }
      }
}

static void
F(conv_fwd)(LetheTape *tape, LetheVar *v)
{
  const F(Geom) g = F(geom)(v);
  LetheVar *W = v->in[1], *B = v->in[2];
  const gint64 ckk = g.c * g.kh * g.kw, p = g.oh * g.ow, np = g.n * p, o = W->shape[0];
  NN_T *col = lethe_tape_alloc(tape, ckk * np * sizeof(NN_T));
  F(ColJob) job = {&g, v->in[0]->data, col};
  nn_parallel_for(ckk, F(im2col_rows), &job);
  NN_T *yt = lethe_tape_alloc(tape, o * np * sizeof(NN_T));
  nn_gemm(v->dtype, FALSE, FALSE, o, np, ckk, 1.0, W->data, ckk, col, np, 0.0, yt, np);
  /* [O, N·P] → [N, O, P], adding the bias and an optional fused ReLU. */
  NN_T *y = v->data;
  const NN_T *b = B ? B->data : NULL;
  for (gint64 n = 0; n < g.n; n++)
    for (gint64 oc = 0; oc < o; oc++) {
      const NN_T *s = yt + oc * np + n * p, bias = b ? b[oc] : 0;
      NN_T *d = y + (n * o + oc) * p;
      if (v->iarg[6])
        for (gint64 i = 0; i < p; i++)
          d[i] = s[i] + bias > 0 ? s[i] + bias : 0;
      else
        for (gint64 i = 0; i < p; i++)
          d[i] = s[i] + bias;
    }
  v->aux = col;
}

static void
F(conv_bwd)(LetheTape *tape, LetheVar *v)
{
  const F(Geom) g = F(geom)(v);
  LetheVar *X = v->in[0], *W = v->in[1], *B = v->in[2];
  const gint64 ckk = g.c * g.kh * g.kw, p = g.oh * g.ow, np = g.n * p, o = W->shape[0];
  const NN_T *gy = v->grad, *y = v->data;
  NN_T *gt = lethe_tape_alloc(tape, o * np * sizeof(NN_T));
  for (gint64 n = 0; n < g.n; n++)
    for (gint64 oc = 0; oc < o; oc++) {
      const NN_T *s = gy + (n * o + oc) * p, *yy = y + (n * o + oc) * p;
      NN_T *d = gt + oc * np + n * p;
      if (v->iarg[6])
        for (gint64 i = 0; i < p; i++)
          d[i] = yy[i] > 0 ? s[i] : 0;
      else
        memcpy(d, s, p * sizeof(NN_T));
    }
  if (nn_need_grad(B)) {
    NN_T *gb = nn_grad(tape, B);
    for (gint64 oc = 0; oc < o; oc++) {
      NN_T s = 0;
      for (gint64 i = 0; i < np; i++)
        s += gt[oc * np + i];
      gb[oc] += s;
    }
  }
  if (nn_need_grad(W))
    nn_gemm(v->dtype, FALSE, TRUE, o, ckk, np, 1.0, gt, np, v->aux, np, 1.0, nn_grad(tape, W), ckk);
  if (nn_need_grad(X)) {
    NN_T *dcol = lethe_tape_alloc(tape, ckk * np * sizeof(NN_T));
    nn_gemm(v->dtype, TRUE, FALSE, ckk, np, o, 1.0, W->data, ckk, gt, np, 0.0, dcol, np);
    F(Col2ImJob) job = {&g, nn_grad(tape, X), dcol};
    nn_parallel_for(g.c, F(col2im_channels), &job);
  }
}

/* Pooling windows without padding; aux holds the argmax (max pooling). */
static void
F(pool_fwd)(LetheVar *v)
{
  const F(Geom) g = F(geom)(v);
  const NN_T *x = v->in[0]->data;
  NN_T *y = v->data;
  gint32 *arg = v->aux;
  const gboolean is_max = v->op == OP_MAX_POOL;
  const NN_T inv = (NN_T)1 / (g.kh * g.kw);
  for (gint64 plane = 0; plane < g.n * g.c; plane++) {
    const NN_T *xp = x + plane * g.h * g.w;
    for (gint64 oy = 0; oy < g.oh; oy++)
      for (gint64 ox = 0; ox < g.ow; ox++) {
        const gint64 o = (plane * g.oh + oy) * g.ow + ox;
        NN_T best = -INFINITY, sum = 0;
        gint32 bi = 0;
        for (gint64 ki = 0; ki < g.kh; ki++)
          for (gint64 kj = 0; kj < g.kw; kj++) {
            const gint64 idx = (oy * g.sh + ki) * g.w + ox * g.sw + kj;
            const NN_T val = xp[idx];
            sum += val;
            if (val > best || (ki == 0 && kj == 0)) {
              best = val;
              bi = (gint32)idx;
            }
          }
        if (is_max) {
          y[o] = best;
          arg[o] = bi;
        } else {
          y[o] = sum * inv;
        }
      }
  }
}

static void
F(pool_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *X = v->in[0];
  if (!nn_need_grad(X))
    return;
  const F(Geom) g = F(geom)(v);
  const NN_T *gy = v->grad;
  NN_T *gx = nn_grad(tape, X);
  const gint32 *arg = v->aux;
  const NN_T inv = (NN_T)1 / (g.kh * g.kw);
  for (gint64 plane = 0; plane < g.n * g.c; plane++) {
    NN_T *gp = gx + plane * g.h * g.w;
    for (gint64 oy = 0; oy < g.oh; oy++)
      for (gint64 ox = 0; ox < g.ow; ox++) {
        const gint64 o = (plane * g.oh + oy) * g.ow + ox;
        if (v->op == OP_MAX_POOL) {
          gp[arg[o]] += gy[o];
        } else {
          for (gint64 ki = 0; ki < g.kh; ki++)
            for (gint64 kj = 0; kj < g.kw; kj++)
              gp[(oy * g.sh + ki) * g.w + ox * g.sw + kj] += gy[o] * inv;
        }
      }
  }
}

/* Global pooling over everything after [N, C]; iarg[0] = plane size. */
static void
F(global_pool_fwd)(LetheVar *v)
{
  const gint64 planes = v->n, sz = v->iarg[0];
  const NN_T *x = v->in[0]->data;
  NN_T *y = v->data;
  gint64 *arg = v->aux;
  for (gint64 pl = 0; pl < planes; pl++) {
    const NN_T *xp = x + pl * sz;
    if (v->op == OP_GLOBAL_AVG_POOL) {
      NN_T s = 0;
      for (gint64 i = 0; i < sz; i++)
        s += xp[i];
      y[pl] = s / sz;
    } else {
      gint64 bi = 0;
      for (gint64 i = 1; i < sz; i++)
        if (xp[i] > xp[bi])
          bi = i;
      y[pl] = xp[bi];
      arg[pl] = bi;
    }
  }
}

static void
F(global_pool_bwd)(LetheTape *tape, LetheVar *v)
{
  if (!nn_need_grad(v->in[0]))
    return;
  const gint64 planes = v->n, sz = v->iarg[0];
  NN_T *gx = nn_grad(tape, v->in[0]);
  const NN_T *g = v->grad;
  const gint64 *arg = v->aux;
  for (gint64 pl = 0; pl < planes; pl++) {
    if (v->op == OP_GLOBAL_AVG_POOL)
      for (gint64 i = 0; i < sz; i++)
        gx[pl * sz + i] += g[pl] / sz;
    else
      gx[pl * sz + arg[pl]] += g[pl];
  }
}

static void
F(upsample_fwd)(LetheVar *v, gboolean backward, LetheTape *tape)
{
  LetheVar *X = v->in[0];
  const gint64 f = v->iarg[0], h = X->shape[2], w = X->shape[3];
  const gint64 planes = X->shape[0] * X->shape[1];
  const NN_T *x = X->data, *g = v->grad;
  NN_T *y = v->data, *gx = backward ? nn_grad(tape, X) : NULL;
  for (gint64 pl = 0; pl < planes; pl++)
    for (gint64 i = 0; i < h * f; i++)
      for (gint64 j = 0; j < w * f; j++) {
        const gint64 o = (pl * h * f + i) * w * f + j, s = (pl * h + i / f) * w + j / f;
        if (backward)
          gx[s] += g[o];
        else
          y[o] = x[s];
      }
}

#endif /* NN_T */

#ifndef NN_T

static LetheVar *
conv(LetheTape *tape, const char *name, gboolean is1d, LetheVar *x, LetheVar *w, LetheVar *b,
     int stride, int pad, gboolean relu)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!x || !w || !nn_same_dtype(tape, name, x, w) || (b && !nn_same_dtype(tape, name, x, b)))
    return NULL;
  const guint r = is1d ? 3 : 4;
  g_autofree char *sx = nn_shape_str(x), *sw = nn_shape_str(w);
  if (x->rank != r || w->rank != r || x->shape[1] != w->shape[1]) {
    nn_fail(tape,
            "%s: input %s and weight %s do not fit (expected input [N, C%s] and weight "
            "[O, C%s] with the same C)",
            name, sx, sw, is1d ? ", L" : ", H, W", is1d ? ", K" : ", KH, KW");
    return NULL;
  }
  if (b && (b->rank != 1 || b->shape[0] != w->shape[0])) {
    g_autofree char *sb = nn_shape_str(b);
    nn_fail(tape, "%s: bias %s does not fit weight %s", name, sb, sw);
    return NULL;
  }
  if (stride < 1 || pad < 0)
    return (nn_fail(tape, "%s: stride %d must be ≥ 1 and padding %d ≥ 0", name, stride, pad), NULL);
  const gint64 kh = is1d ? 1 : w->shape[2], kw = is1d ? w->shape[2] : w->shape[3];
  const gint64 h = is1d ? 1 : x->shape[2], wd = is1d ? x->shape[2] : x->shape[3];
  const gint64 ph = is1d ? 0 : pad;
  if (h + 2 * ph < kh || wd + 2 * pad < kw) {
    nn_fail(tape, "%s: the kernel of weight %s is larger than the padded input %s", name, sw, sx);
    return NULL;
  }
  gint64 shape[4] = {x->shape[0], w->shape[0], 0, 0};
  const gint64 oh = (h + 2 * ph - kh) / (is1d ? 1 : stride) + 1,
               ow = (wd + 2 * pad - kw) / stride + 1;
  if (is1d)
    shape[2] = ow;
  else {
    shape[2] = oh;
    shape[3] = ow;
  }
  LetheVar *v = nn_var_new(tape, OP_CONV, x->dtype, r, shape);
  v->in[0] = x;
  v->in[1] = w;
  v->in[2] = b;
  v->iarg[0] = kh;
  v->iarg[1] = kw;
  v->iarg[2] = is1d ? 1 : stride;
  v->iarg[3] = stride;
  v->iarg[4] = ph;
  v->iarg[5] = pad;
  v->iarg[6] = relu;
  DISPATCH(v, conv_fwd, tape, v);
  v->requires_grad = (nn_need_grad(x) || nn_need_grad(w) || nn_need_grad(b)) && nn_recording(tape);
  return v;
}

LetheVar *
lethe_op_conv2d(LetheTape *tape, LetheVar *x, LetheVar *w, LetheVar *b, int stride, int pad)
{
  return conv(tape, "conv2d", FALSE, x, w, b, stride, pad, FALSE);
}

LetheVar *
lethe_op_conv1d(LetheTape *tape, LetheVar *x, LetheVar *w, LetheVar *b, int stride, int pad)
{
  return conv(tape, "conv1d", TRUE, x, w, b, stride, pad, FALSE);
}

LetheVar *
nn_conv_relu(LetheTape *tape, gboolean is1d, LetheVar *x, LetheVar *w, LetheVar *b, int stride,
             int pad)
{
  return conv(tape, is1d ? "conv1d" : "conv2d", is1d, x, w, b, stride, pad, TRUE);
}

static LetheVar *
pool(LetheTape *tape, NnOp op, const char *name, gboolean is1d, LetheVar *x, int k, int stride)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!x)
    return NULL;
  const guint r = is1d ? 3 : 4;
  g_autofree char *sx = nn_shape_str(x);
  if (x->rank != r)
    return (nn_fail(tape, "%s: expected input [N, C%s], got %s", name, is1d ? ", L" : ", H, W", sx),
            NULL);
  if (stride <= 0)
    stride = k;
  const gint64 h = is1d ? 1 : x->shape[2], w = x->shape[r - 1], kh = is1d ? 1 : k;
  if (k < 1 || h < kh || w < k)
    return (nn_fail(tape, "%s: window %d does not fit input %s", name, k, sx), NULL);
  gint64 shape[4] = {x->shape[0], x->shape[1], 0, 0};
  const gint64 oh = (h - kh) / (is1d ? 1 : stride) + 1, ow = (w - k) / stride + 1;
  if (is1d)
    shape[2] = ow;
  else {
    shape[2] = oh;
    shape[3] = ow;
  }
  LetheVar *v = nn_var_new(tape, op, x->dtype, r, shape);
  v->in[0] = x;
  v->iarg[0] = kh;
  v->iarg[1] = k;
  v->iarg[2] = is1d ? 1 : stride;
  v->iarg[3] = stride;
  if (op == OP_MAX_POOL)
    v->aux = lethe_tape_alloc(tape, MAX(v->n, 1) * sizeof(gint32));
  DISPATCH(v, pool_fwd, v);
  v->requires_grad = nn_need_grad(x) && nn_recording(tape);
  return v;
}

LetheVar *
lethe_op_max_pool2d(LetheTape *tape, LetheVar *x, int k, int stride)
{
  return pool(tape, OP_MAX_POOL, "max_pool2d", FALSE, x, k, stride);
}

LetheVar *
lethe_op_avg_pool2d(LetheTape *tape, LetheVar *x, int k, int stride)
{
  return pool(tape, OP_AVG_POOL, "avg_pool2d", FALSE, x, k, stride);
}

LetheVar *
lethe_op_max_pool1d(LetheTape *tape, LetheVar *x, int k, int stride)
{
  return pool(tape, OP_MAX_POOL, "max_pool1d", TRUE, x, k, stride);
}

LetheVar *
lethe_op_avg_pool1d(LetheTape *tape, LetheVar *x, int k, int stride)
{
  return pool(tape, OP_AVG_POOL, "avg_pool1d", TRUE, x, k, stride);
}

static LetheVar *
global_pool(LetheTape *tape, NnOp op, const char *name, LetheVar *x)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!x)
    return NULL;
  if (x->rank < 3) {
    g_autofree char *s = nn_shape_str(x);
    nn_fail(tape, "%s: expected [N, C, …] with at least one spatial axis, got %s", name, s);
    return NULL;
  }
  gint64 shape[2] = {x->shape[0], x->shape[1]};
  LetheVar *v = nn_var_new(tape, op, x->dtype, 2, shape);
  v->in[0] = x;
  v->iarg[0] = x->n / MAX(shape[0] * shape[1], 1);
  v->aux = lethe_tape_alloc(tape, MAX(v->n, 1) * sizeof(gint64));
  DISPATCH(v, global_pool_fwd, v);
  v->requires_grad = nn_need_grad(x) && nn_recording(tape);
  return v;
}

LetheVar *
lethe_op_global_avg_pool(LetheTape *tape, LetheVar *x)
{
  return global_pool(tape, OP_GLOBAL_AVG_POOL, "global_avg_pool", x);
}

LetheVar *
lethe_op_global_max_pool(LetheTape *tape, LetheVar *x)
{
  return global_pool(tape, OP_GLOBAL_MAX_POOL, "global_max_pool", x);
}

LetheVar *
lethe_op_upsample_nearest(LetheTape *tape, LetheVar *x, int factor)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!x)
    return NULL;
  if (x->rank != 4 || factor < 1) {
    g_autofree char *s = nn_shape_str(x);
    nn_fail(tape, "upsample_nearest: expected [N, C, H, W] and a factor ≥ 1, got %s and %d", s,
            factor);
    return NULL;
  }
  gint64 shape[4] = {x->shape[0], x->shape[1], x->shape[2] * factor, x->shape[3] * factor};
  LetheVar *v = nn_var_new(tape, OP_UPSAMPLE, x->dtype, 4, shape);
  v->in[0] = x;
  v->iarg[0] = factor;
  DISPATCH(v, upsample_fwd, v, FALSE, tape);
  v->requires_grad = nn_need_grad(x) && nn_recording(tape);
  return v;
}

void
nn_backward_conv(LetheTape *tape, LetheVar *v)
{
  switch ((NnOp)v->op) {
  case OP_CONV:
    DISPATCH(v, conv_bwd, tape, v);
    break;
  case OP_MAX_POOL:
  case OP_AVG_POOL:
    DISPATCH(v, pool_bwd, tape, v);
    break;
  case OP_GLOBAL_AVG_POOL:
  case OP_GLOBAL_MAX_POOL:
    DISPATCH(v, global_pool_bwd, tape, v);
    break;
  case OP_UPSAMPLE:
    if (nn_need_grad(v->in[0]))
      DISPATCH(v, upsample_fwd, v, TRUE, tape);
    break;
  default:
    g_assert_not_reached();
  }
}

#endif
