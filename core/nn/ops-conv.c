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

#else

/* Type names of this instantiation (Geom is Geom_f32 or Geom_f64). */
#define Geom      F(Geom)
#define ColJob    F(ColJob)
#define Col2ImJob F(Col2ImJob)
#define TransJob  F(TransJob)
#define PoolJob   F(PoolJob)

/* Geometry shared by conv and pooling (taken from iarg). */
typedef struct {
  gint64 n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow;
} Geom;

static Geom
F(geom)(const LetheVar *v)
{
  const LetheVar *X = v->in[0];
  Geom g;
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
  const Geom *g;
  const NN_T *x;
  NN_T *col;
} ColJob;

/* Rows [begin, end) of col (one row per (c, ki, kj)). */
static void
F(im2col_rows)(gint64 begin, gint64 end, gpointer data)
{
  const ColJob *job = data;
  const Geom *g = job->g;
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
          for (gint64 ox = lo; ox < hi; ox++) /* short rows: a loop beats memcpy */
            d[ox] = s[ox + off];
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
  const Geom *g;
  NN_T *gx;
  const NN_T *dcol;
} Col2ImJob;

/* Channels [begin, end): each channel's rows of dcol add into its own plane,
 * so threads never write the same memory. */
static void
F(col2im_channels)(gint64 begin, gint64 end, gpointer data)
{
  const Col2ImJob *job = data;
  const Geom *g = job->g;
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
            const NN_T *restrict s = src + n * p + oy * g->ow;
            NN_T *restrict d = dst + iy * g->w;
            if (g->sw == 1) { /* contiguous: ix = ox + off over the valid range */
              const gint64 off = kj - g->pw;
              const gint64 lo = MAX(0, -off), hi = MIN(g->ow, g->w - off);
              for (gint64 ox = lo; ox < hi; ox++)
                d[ox + off] += s[ox];
              continue;
            }
            for (gint64 ox = 0; ox < g->ow; ox++) {
              const gint64 ix = ox * g->sw - g->pw + kj;
              if (ix >= 0 && ix < g->w)
                d[ix] += s[ox];
            }
          }
        }
      }
}

/* Transposes between the GEMM layout [O, N·P] and [N, O, P], one sample
 * per work item; adds the bias and applies the fused ReLU (forward) or its
 * mask (backward).  With @pool, a fused 2×2 max pooling follows the ReLU
 * (they commute: the max of ReLUs is the ReLU of the max), so the full-size
 * activation is never written; @arg keeps each window's argmax. */
typedef struct {
  NN_T *dst;
  const NN_T *src, *bias, *y;
  gint32 *arg;
  gint64 o, p, np, oh, ow;
  gboolean relu, backward, pool;
} TransJob;

static void
F(trans_pool)(const TransJob *j, gint64 n, gint64 oc)
{
  const gint64 ph = j->oh / 2, pw = j->ow / 2, q = ph * pw;
  if (!j->backward) {
    const NN_T *s = j->src + oc * j->np + n * j->p;
    NN_T *d = j->dst + (n * j->o + oc) * q;
    gint32 *a = j->arg + (n * j->o + oc) * q;
    const NN_T bias = j->bias ? j->bias[oc] : 0;
    for (gint64 py = 0; py < ph; py++) {
      const NN_T *r0 = s + 2 * py * j->ow, *r1 = r0 + j->ow;
      for (gint64 px = 0; px < pw; px++) {
        const gint32 i0 = (gint32)(2 * py * j->ow + 2 * px);
        NN_T best = r0[2 * px];
        gint32 bi = i0;
        if (r0[2 * px + 1] > best)
          best = r0[2 * px + 1], bi = i0 + 1;
        if (r1[2 * px] > best)
          best = r1[2 * px], bi = i0 + (gint32)j->ow;
        if (r1[2 * px + 1] > best)
          best = r1[2 * px + 1], bi = i0 + (gint32)j->ow + 1;
        const NN_T t = best + bias;
        d[py * pw + px] = j->relu && t < 0 ? 0 : t;
        a[py * pw + px] = bi;
      }
    }
  } else {
    const NN_T *g = j->src + (n * j->o + oc) * q, *yy = j->y + (n * j->o + oc) * q;
    const gint32 *a = j->arg + (n * j->o + oc) * q;
    NN_T *d = j->dst + oc * j->np + n * j->p;
    memset(d, 0, j->p * sizeof(NN_T));
    for (gint64 i = 0; i < q; i++)
      if (!j->relu || yy[i] > 0)
        d[a[i]] = g[i];
  }
}

static void
F(trans_rows)(gint64 begin, gint64 end, gpointer data)
{
  const TransJob *j = data;
  for (gint64 n = begin; n < end; n++)
    for (gint64 oc = 0; oc < j->o; oc++) {
      if (j->pool) {
        F(trans_pool)(j, n, oc);
      } else if (!j->backward) {
        const NN_T *restrict s = j->src + oc * j->np + n * j->p;
        NN_T *restrict d = j->dst + (n * j->o + oc) * j->p;
        const NN_T bias = j->bias ? j->bias[oc] : 0;
        if (j->relu)
          for (gint64 i = 0; i < j->p; i++) {
            const NN_T t = s[i] + bias;
            d[i] = t < 0 ? 0 : t; /* NaN passes through */
          }
        else
          for (gint64 i = 0; i < j->p; i++)
            d[i] = s[i] + bias;
      } else {
        const NN_T *restrict s = j->src + (n * j->o + oc) * j->p;
        const NN_T *restrict yy = j->y + (n * j->o + oc) * j->p;
        NN_T *restrict d = j->dst + oc * j->np + n * j->p;
        if (j->relu)
          for (gint64 i = 0; i < j->p; i++) {
            const NN_T sv = s[i]; /* unconditional load: lets GCC vectorise */
            d[i] = yy[i] > 0 ? sv : 0;
          }
        else
          memcpy(d, s, j->p * sizeof(NN_T));
      }
    }
}

/* Sum with eight running partial sums: vectorisable and independent of
 * the thread count. */
static NN_T
F(sum8)(const NN_T *restrict x, gint64 n)
{
  NN_T acc[8] = {0};
  gint64 i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++)
      acc[k] += x[i + k];
  for (; i < n; i++)
    acc[i & 7] += x[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* Samples per chunk: the chunk's column matrix stays near 1 MiB so that
 * im2col, GEMM packing and col2im work in cache. */
static gint64
F(chunk_samples)(const Geom *g)
{
  const gint64 per = g->c * g->kh * g->kw * g->oh * g->ow;
  return CLAMP((gint64)(256 * 1024) / MAX(per, 1), 1, g->n);
}

static void
F(conv_fwd)(LetheTape *tape, LetheVar *v)
{
  const Geom g = F(geom)(v);
  LetheVar *X = v->in[0], *W = v->in[1], *B = v->in[2];
  const gint64 ckk = g.c * g.kh * g.kw, p = g.oh * g.ow, o = W->shape[0];
  const gint64 cs = F(chunk_samples)(&g), in_sz = g.c * g.h * g.w;
  NN_T *col = lethe_tape_alloc(tape, ckk * cs * p * sizeof(NN_T));
  NN_T *yt = lethe_tape_alloc(tape, o * cs * p * sizeof(NN_T));
  for (gint64 n0 = 0; n0 < g.n; n0 += cs) {
    Geom gc = g;
    gc.n = MIN(cs, g.n - n0);
    const gint64 np = gc.n * p;
    ColJob job = {&gc, (const NN_T *)X->data + n0 * in_sz, col};
    nn_parallel_for(ckk, F(im2col_rows), &job);
    nn_gemm(v->dtype, FALSE, FALSE, o, np, ckk, 1.0, W->data, ckk, col, np, 0.0, yt, np);
    const gint64 q = v->iarg[7] ? (g.oh / 2) * (g.ow / 2) : p; /* output plane */
    TransJob tj = {.dst = (NN_T *)v->data + n0 * o * q,
                   .src = yt,
                   .bias = B ? B->data : NULL,
                   .arg = v->iarg[7] ? (gint32 *)v->aux + n0 * o * q : NULL,
                   .o = o,
                   .p = p,
                   .np = np,
                   .oh = g.oh,
                   .ow = g.ow,
                   .relu = v->iarg[6],
                   .pool = v->iarg[7]};
    nn_parallel_for(gc.n, F(trans_rows), &tj);
  }
}

/* The column matrix is rebuilt chunk by chunk rather than kept from the
 * forward pass: cheaper than streaming it through memory twice. */
static void
F(conv_bwd)(LetheTape *tape, LetheVar *v)
{
  const Geom g = F(geom)(v);
  LetheVar *X = v->in[0], *W = v->in[1], *B = v->in[2];
  const gint64 ckk = g.c * g.kh * g.kw, p = g.oh * g.ow, o = W->shape[0];
  const gint64 cs = F(chunk_samples)(&g), in_sz = g.c * g.h * g.w;
  NN_T *gt = lethe_tape_alloc(tape, o * cs * p * sizeof(NN_T));
  NN_T *col = lethe_tape_alloc(tape, ckk * cs * p * sizeof(NN_T));
  NN_T *gb = nn_need_grad(B) ? nn_grad(tape, B) : NULL;
  NN_T *gw = nn_need_grad(W) ? nn_grad(tape, W) : NULL;
  NN_T *gx = nn_need_grad(X) ? nn_grad(tape, X) : NULL;
  for (gint64 n0 = 0; n0 < g.n; n0 += cs) {
    Geom gc = g;
    gc.n = MIN(cs, g.n - n0);
    const gint64 np = gc.n * p;
    const gint64 q = v->iarg[7] ? (g.oh / 2) * (g.ow / 2) : p;
    TransJob tj = {.dst = gt,
                   .src = (const NN_T *)v->grad + n0 * o * q,
                   .y = (const NN_T *)v->data + n0 * o * q,
                   .arg = v->iarg[7] ? (gint32 *)v->aux + n0 * o * q : NULL,
                   .o = o,
                   .p = p,
                   .np = np,
                   .oh = g.oh,
                   .ow = g.ow,
                   .relu = v->iarg[6],
                   .backward = TRUE,
                   .pool = v->iarg[7]};
    nn_parallel_for(gc.n, F(trans_rows), &tj);
    if (gb)
      for (gint64 oc = 0; oc < o; oc++)
        gb[oc] += F(sum8)(gt + oc * np, np);
    if (gw) {
      ColJob job = {&gc, (const NN_T *)X->data + n0 * in_sz, col};
      nn_parallel_for(ckk, F(im2col_rows), &job);
      nn_gemm(v->dtype, FALSE, TRUE, o, ckk, np, 1.0, gt, np, col, np, 1.0, gw, ckk);
    }
    if (gx) {
      nn_gemm(v->dtype, TRUE, FALSE, ckk, np, o, 1.0, W->data, ckk, gt, np, 0.0, col, np);
      Col2ImJob job = {&gc, gx + n0 * in_sz, col};
      nn_parallel_for(g.c, F(col2im_channels), &job);
    }
  }
}

/* Pooling windows without padding; aux holds the argmax (max pooling).
 * Work items are planes (one channel of one sample). */
typedef struct {
  const LetheVar *v;
  Geom g;
  NN_T *gx;
} PoolJob;

static void
F(pool_fwd_planes)(gint64 begin, gint64 end, gpointer data)
{
  const PoolJob *job = data;
  const LetheVar *v = job->v;
  const Geom g = job->g;
  const NN_T *x = v->in[0]->data;
  NN_T *y = v->data;
  gint32 *arg = v->aux;
  const gboolean is_max = v->op == OP_MAX_POOL;
  const NN_T inv = (NN_T)1 / (g.kh * g.kw);
  for (gint64 plane = begin; plane < end; plane++) {
    const NN_T *xp = x + plane * g.h * g.w;
    if (is_max && g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2) {
      for (gint64 oy = 0; oy < g.oh; oy++) {
        const NN_T *r0 = xp + 2 * oy * g.w, *r1 = r0 + g.w;
        const gint64 ob = (plane * g.oh + oy) * g.ow;
        for (gint64 ox = 0; ox < g.ow; ox++) {
          const gint32 i0 = (gint32)(2 * oy * g.w + 2 * ox);
          NN_T best = r0[2 * ox];
          gint32 bi = i0;
          if (r0[2 * ox + 1] > best)
            best = r0[2 * ox + 1], bi = i0 + 1;
          if (r1[2 * ox] > best)
            best = r1[2 * ox], bi = i0 + (gint32)g.w;
          if (r1[2 * ox + 1] > best)
            best = r1[2 * ox + 1], bi = i0 + (gint32)g.w + 1;
          y[ob + ox] = best;
          arg[ob + ox] = bi;
        }
      }
      continue;
    }
    for (gint64 oy = 0; oy < g.oh; oy++)
      for (gint64 ox = 0; ox < g.ow; ox++) {
        const gint64 o = (plane * g.oh + oy) * g.ow + ox;
        const gint64 first = oy * g.sh * g.w + ox * g.sw;
        NN_T best = xp[first], sum = 0;
        gint32 bi = (gint32)first;
        for (gint64 ki = 0; ki < g.kh; ki++)
          for (gint64 kj = 0; kj < g.kw; kj++) {
            const gint64 idx = (oy * g.sh + ki) * g.w + ox * g.sw + kj;
            const NN_T val = xp[idx];
            sum += val;
            if (val > best) {
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
F(pool_fwd)(LetheVar *v)
{
  PoolJob job = {v, F(geom)(v), NULL};
  nn_parallel_for(job.g.n * job.g.c, F(pool_fwd_planes), &job);
}

static void
F(pool_bwd_planes)(gint64 begin, gint64 end, gpointer data)
{
  const PoolJob *job = data;
  const LetheVar *v = job->v;
  const Geom g = job->g;
  const NN_T *gy = v->grad;
  const gint32 *arg = v->aux;
  const NN_T inv = (NN_T)1 / (g.kh * g.kw);
  for (gint64 plane = begin; plane < end; plane++) {
    NN_T *gp = job->gx + plane * g.h * g.w;
    const gint64 ob = plane * g.oh * g.ow;
    if (v->op == OP_MAX_POOL) {
      for (gint64 o = 0; o < g.oh * g.ow; o++)
        gp[arg[ob + o]] += gy[ob + o];
      continue;
    }
    for (gint64 oy = 0; oy < g.oh; oy++)
      for (gint64 ox = 0; ox < g.ow; ox++) {
        const NN_T gv = gy[ob + oy * g.ow + ox] * inv;
        for (gint64 ki = 0; ki < g.kh; ki++)
          for (gint64 kj = 0; kj < g.kw; kj++)
            gp[(oy * g.sh + ki) * g.w + ox * g.sw + kj] += gv;
      }
  }
}

static void
F(pool_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *X = v->in[0];
  if (!nn_need_grad(X))
    return;
  PoolJob job = {v, F(geom)(v), nn_grad(tape, X)};
  nn_parallel_for(job.g.n * job.g.c, F(pool_bwd_planes), &job);
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

#undef Geom
#undef ColJob
#undef Col2ImJob
#undef TransJob
#undef PoolJob

#endif /* NN_T */

#ifndef NN_T

static LetheVar *
conv(LetheTape *tape, const char *name, gboolean is1d, LetheVar *x, LetheVar *w, LetheVar *b,
     int stride, int pad, gboolean relu, gboolean pool)
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
  if (pool && (is1d || oh < 2 || ow < 2)) {
    nn_fail(tape, "%s: the fused 2×2 pooling needs a 2-D output of at least 2×2", name);
    return NULL;
  }
  if (is1d)
    shape[2] = ow;
  else {
    shape[2] = pool ? oh / 2 : oh;
    shape[3] = pool ? ow / 2 : ow;
  }
  LetheVar *v = nn_var_new(tape, OP_CONV, x->dtype, r, shape);
  if (pool)
    v->aux = lethe_tape_alloc(tape, MAX(v->n, 1) * sizeof(gint32));
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
  v->iarg[7] = pool;
  DISPATCH(v, conv_fwd, tape, v);
  v->requires_grad = (nn_need_grad(x) || nn_need_grad(w) || nn_need_grad(b)) && nn_recording(tape);
  return v;
}

LetheVar *
lethe_op_conv2d(LetheTape *tape, LetheVar *x, LetheVar *w, LetheVar *b, int stride, int pad)
{
  return conv(tape, "conv2d", FALSE, x, w, b, stride, pad, FALSE, FALSE);
}

LetheVar *
lethe_op_conv1d(LetheTape *tape, LetheVar *x, LetheVar *w, LetheVar *b, int stride, int pad)
{
  return conv(tape, "conv1d", TRUE, x, w, b, stride, pad, FALSE, FALSE);
}

LetheVar *
lethe_op_conv2d_fused(LetheTape *tape, LetheVar *x, LetheVar *w, LetheVar *b, int stride, int pad,
                      gboolean relu, gboolean max_pool2)
{
  g_return_val_if_fail(!max_pool2 || relu, NULL);
  return conv(tape, "conv2d", FALSE, x, w, b, stride, pad, relu, max_pool2);
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
