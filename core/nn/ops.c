/* Lethe — dense ops: matmul, linear, elementwise, reductions, softmax, shapes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The kernels are written once over a type NN_T: this file includes itself
 * twice, once for float and once for double (F(name) gives name_f32 or
 * name_f64).  The untyped part below checks shapes, records the variable
 * and dispatches on the dtype.
 */
#ifndef NN_T
#include "nn-private.h"

#include <tgmath.h>

#define NN_T    float
#define F(name) name##_f32
#include "ops.c"
#undef NN_T
#undef F
#define NN_T    double
#define F(name) name##_f64
#include "ops.c"
#undef NN_T
#undef F

enum { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV };
enum { UN_RELU, UN_GELU, UN_TANH, UN_SIGMOID, UN_SIGN, UN_EXP, UN_LOG, UN_SQUARE };

#else /* typed kernels */

static void
F(add_into)(NN_T *dst, const NN_T *src, gint64 n)
{
  for (gint64 i = 0; i < n; i++)
    dst[i] += src[i];
}

/* Broadcast iteration: out index k ↔ a[ia], b[ib], with per-dimension
 * strides sa/sb (0 where an operand is broadcast); the last dimension is the
 * inner loop. */
#define BCAST_LOOP(BODY)                                                                           \
  do {                                                                                             \
    const gint64 r = v->iarg[1], inner = shape[r - 1], sai = sa[r - 1], sbi = sb[r - 1];           \
    gint64 idx[LETHE_TENSOR_MAX_RANK] = {0}, ia = 0, ib = 0;                                       \
    for (gint64 k = 0; k < v->n; k += inner) {                                                     \
      for (gint64 j = 0; j < inner; j++) {                                                         \
        const gint64 o = k + j, pa = ia + j * sai, pb = ib + j * sbi;                              \
        BODY;                                                                                      \
      }                                                                                            \
      for (gint64 d = r - 2; d >= 0; d--) {                                                        \
        idx[d]++;                                                                                  \
        ia += sa[d];                                                                               \
        ib += sb[d];                                                                               \
        if (idx[d] < shape[d])                                                                     \
          break;                                                                                   \
        ia -= sa[d] * shape[d];                                                                    \
        ib -= sb[d] * shape[d];                                                                    \
        idx[d] = 0;                                                                                \
      }                                                                                            \
    }                                                                                              \
  } while (0)

static void
F(binary_fwd)(LetheVar *v)
{
  const NN_T *a = v->in[0]->data, *b = v->in[1]->data;
  NN_T *y = v->data;
  const gint64 *sa = v->aux, *sb = sa + LETHE_TENSOR_MAX_RANK, *shape = sb + LETHE_TENSOR_MAX_RANK;
  if (v->iarg[2]) { /* same shapes: flat loops */
    switch (v->iarg[0]) {
    case 0:
      for (gint64 i = 0; i < v->n; i++)
        y[i] = a[i] + b[i];
      return;
    case 1:
      for (gint64 i = 0; i < v->n; i++)
        y[i] = a[i] - b[i];
      return;
    case 2:
      for (gint64 i = 0; i < v->n; i++)
        y[i] = a[i] * b[i];
      return;
    default:
      for (gint64 i = 0; i < v->n; i++)
        y[i] = a[i] / b[i];
      return;
    }
  }
  switch (v->iarg[0]) {
  case 0:
    BCAST_LOOP(y[o] = a[pa] + b[pb]);
    break;
  case 1:
    BCAST_LOOP(y[o] = a[pa] - b[pb]);
    break;
  case 2:
    BCAST_LOOP(y[o] = a[pa] * b[pb]);
    break;
  default:
    BCAST_LOOP(y[o] = a[pa] / b[pb]);
    break;
  }
}

static void
F(binary_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *A = v->in[0], *B = v->in[1];
  const NN_T *a = A->data, *b = B->data, *g = v->grad;
  NN_T *ga = nn_need_grad(A) ? nn_grad(tape, A) : NULL;
  NN_T *gb = nn_need_grad(B) ? nn_grad(tape, B) : NULL;
  const gint64 *sa = v->aux, *sb = sa + LETHE_TENSOR_MAX_RANK, *shape = sb + LETHE_TENSOR_MAX_RANK;
  switch (v->iarg[0]) {
  case 0:
    BCAST_LOOP({
      if (ga)
        ga[pa] += g[o];
      if (gb)
        gb[pb] += g[o];
    });
    break;
  case 1:
    BCAST_LOOP({
      if (ga)
        ga[pa] += g[o];
      if (gb)
        gb[pb] -= g[o];
    });
    break;
  case 2:
    BCAST_LOOP({
      if (ga)
        ga[pa] += g[o] * b[pb];
      if (gb)
        gb[pb] += g[o] * a[pa];
    });
    break;
  default:
    BCAST_LOOP({
      if (ga)
        ga[pa] += g[o] / b[pb];
      if (gb)
        gb[pb] -= g[o] * a[pa] / (b[pb] * b[pb]);
    });
    break;
  }
}

static void
F(unary_fwd)(LetheVar *v)
{
  const NN_T *x = v->in[0]->data;
  NN_T *y = v->data;
  const gint64 n = v->n;
  switch (v->op) {
  case OP_RELU:
    for (gint64 i = 0; i < n; i++)
      y[i] = x[i] < 0 ? 0 : x[i]; /* NaN passes through, as in PyTorch */
    break;
  case OP_GELU:
    for (gint64 i = 0; i < n; i++)
      y[i] = (NN_T)0.5 * x[i] * (1 + erf(x[i] * (NN_T)M_SQRT1_2));
    break;
  case OP_TANH:
    for (gint64 i = 0; i < n; i++)
      y[i] = tanh(x[i]);
    break;
  case OP_SIGMOID:
    for (gint64 i = 0; i < n; i++)
      y[i] = 1 / (1 + exp(-x[i]));
    break;
  case OP_SIGN:
    for (gint64 i = 0; i < n; i++)
      y[i] = (NN_T)((x[i] > 0) - (x[i] < 0));
    break;
  case OP_EXP:
    for (gint64 i = 0; i < n; i++)
      y[i] = exp(x[i]);
    break;
  case OP_LOG:
    for (gint64 i = 0; i < n; i++)
      y[i] = log(x[i]);
    break;
  case OP_SQUARE:
    for (gint64 i = 0; i < n; i++)
      y[i] = x[i] * x[i];
    break;
  case OP_SCALE: {
    const NN_T al = (NN_T)v->farg[0], be = (NN_T)v->farg[1];
    for (gint64 i = 0; i < n; i++)
      y[i] = al * x[i] + be;
    break;
  }
  default:
    g_assert_not_reached();
  }
}

static void
F(unary_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *X = v->in[0];
  if (!nn_need_grad(X))
    return;
  const NN_T *x = X->data, *y = v->data, *g = v->grad;
  NN_T *gx = nn_grad(tape, X);
  const gint64 n = v->n;
  switch (v->op) {
  case OP_RELU:
    for (gint64 i = 0; i < n; i++) {
      const NN_T gv = g[i];
      gx[i] += x[i] > 0 ? gv : 0;
    }
    break;
  case OP_GELU:
    for (gint64 i = 0; i < n; i++) {
      NN_T cdf = (NN_T)0.5 * (1 + erf(x[i] * (NN_T)M_SQRT1_2));
      NN_T pdf = exp((NN_T)-0.5 * x[i] * x[i]) * (NN_T)(0.5 * M_2_SQRTPI * M_SQRT1_2);
      gx[i] += g[i] * (cdf + x[i] * pdf);
    }
    break;
  case OP_TANH:
    for (gint64 i = 0; i < n; i++)
      gx[i] += g[i] * (1 - y[i] * y[i]);
    break;
  case OP_SIGMOID:
    for (gint64 i = 0; i < n; i++)
      gx[i] += g[i] * y[i] * (1 - y[i]);
    break;
  case OP_SIGN:
    if (v->iarg[0])
      for (gint64 i = 0; i < n; i++)
        gx[i] += g[i];
    break;
  case OP_EXP:
    for (gint64 i = 0; i < n; i++)
      gx[i] += g[i] * y[i];
    break;
  case OP_LOG:
    for (gint64 i = 0; i < n; i++)
      gx[i] += g[i] / x[i];
    break;
  case OP_SQUARE:
    for (gint64 i = 0; i < n; i++)
      gx[i] += 2 * g[i] * x[i];
    break;
  case OP_SCALE: {
    const NN_T al = (NN_T)v->farg[0];
    for (gint64 i = 0; i < n; i++)
      gx[i] += al * g[i];
    break;
  }
  default:
    g_assert_not_reached();
  }
}

/* y = x·wᵀ + b, optional fused ReLU. */
static void
F(linear_fwd)(LetheVar *v)
{
  LetheVar *X = v->in[0], *W = v->in[1], *B = v->in[2];
  const gint64 n = X->shape[0], in = X->shape[1], out = W->shape[0];
  NN_T *y = v->data;
  if (B) {
    const NN_T *b = B->data;
    for (gint64 i = 0; i < n; i++)
      memcpy(y + i * out, b, out * sizeof(NN_T));
  }
  nn_gemm(v->dtype, FALSE, TRUE, n, out, in, 1.0, X->data, in, W->data, in, B ? 1.0 : 0.0, y, out);
  if (v->iarg[0])
    for (gint64 i = 0; i < v->n; i++)
      y[i] = y[i] < 0 ? 0 : y[i];
}

static void
F(linear_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *X = v->in[0], *W = v->in[1], *B = v->in[2];
  const gint64 n = X->shape[0], in = X->shape[1], out = W->shape[0];
  const NN_T *g = v->grad;
  if (v->iarg[0]) { /* fold the ReLU mask into a scratch copy of the gradient */
    NN_T *gm = lethe_tape_alloc(tape, v->n * sizeof(NN_T));
    const NN_T *y = v->data;
    for (gint64 i = 0; i < v->n; i++) {
      const NN_T gv = g[i]; /* unconditional load: lets GCC vectorise */
      gm[i] = y[i] > 0 ? gv : 0;
    }
    g = gm;
  }
  if (nn_need_grad(W))
    nn_gemm(v->dtype, TRUE, FALSE, out, in, n, 1.0, g, out, X->data, in, 1.0, nn_grad(tape, W), in);
  if (nn_need_grad(B)) {
    NN_T *gb = nn_grad(tape, B);
    for (gint64 i = 0; i < n; i++)
      F(add_into)(gb, g + i * out, out);
  }
  if (nn_need_grad(X))
    nn_gemm(v->dtype, FALSE, FALSE, n, in, out, 1.0, g, out, W->data, in, 1.0, nn_grad(tape, X),
            in);
}

static void
F(sum_fwd)(LetheVar *v)
{
  const NN_T *x = v->in[0]->data;
  double s = 0;
  for (gint64 i = 0; i < v->in[0]->n; i++)
    s += x[i];
  ((NN_T *)v->data)[0] = (NN_T)(s * v->farg[0]);
}

static void
F(sum_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *X = v->in[0];
  if (!nn_need_grad(X))
    return;
  NN_T *gx = nn_grad(tape, X);
  const NN_T g = ((NN_T *)v->grad)[0] * (NN_T)v->farg[0];
  for (gint64 i = 0; i < X->n; i++)
    gx[i] += g;
}

/* (outer, d, inner) decomposition of the reduced axis. */
static void
F(sum_axis_fwd)(LetheVar *v)
{
  const NN_T *x = v->in[0]->data;
  NN_T *y = v->data;
  const gint64 outer = v->iarg[0], d = v->iarg[1], inner = v->iarg[2];
  memset(y, 0, v->n * sizeof(NN_T));
  for (gint64 o = 0; o < outer; o++)
    for (gint64 j = 0; j < d; j++)
      F(add_into)(y + o * inner, x + (o * d + j) * inner, inner);
}

static void
F(sum_axis_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *X = v->in[0];
  if (!nn_need_grad(X))
    return;
  NN_T *gx = nn_grad(tape, X);
  const NN_T *g = v->grad;
  const gint64 outer = v->iarg[0], d = v->iarg[1], inner = v->iarg[2];
  for (gint64 o = 0; o < outer; o++)
    for (gint64 j = 0; j < d; j++)
      F(add_into)(gx + (o * d + j) * inner, g + o * inner, inner);
}

/* Row-wise softmax family over the last axis: rows = n / cols. */
static void
F(softmax_rows)(const NN_T *x, NN_T *y, gint64 rows, gint64 cols, int mode, NN_T *lse_out)
{
  for (gint64 r = 0; r < rows; r++) {
    const NN_T *xr = x + r * cols;
    NN_T m = xr[0];
    for (gint64 j = 1; j < cols; j++)
      m = xr[j] > m ? xr[j] : m;
    NN_T s = 0;
    for (gint64 j = 0; j < cols; j++)
      s += exp(xr[j] - m);
    NN_T lse = m + log(s);
    if (lse_out)
      lse_out[r] = lse;
    if (mode == 0)
      for (gint64 j = 0; j < cols; j++)
        y[r * cols + j] = exp(xr[j] - lse);
    else if (mode == 1)
      for (gint64 j = 0; j < cols; j++)
        y[r * cols + j] = xr[j] - lse;
  }
}

static void
F(softmax_fwd)(LetheVar *v)
{
  LetheVar *X = v->in[0];
  const gint64 cols = X->shape[X->rank - 1], rows = X->n / cols;
  if (v->op == OP_LOGSUMEXP)
    F(softmax_rows)(X->data, NULL, rows, cols, 2, v->data);
  else
    F(softmax_rows)(X->data, v->data, rows, cols, v->op == OP_SOFTMAX ? 0 : 1, NULL);
}

static void
F(softmax_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *X = v->in[0];
  if (!nn_need_grad(X))
    return;
  const gint64 cols = X->shape[X->rank - 1], rows = X->n / cols;
  const NN_T *y = v->data, *g = v->grad, *x = X->data;
  NN_T *gx = nn_grad(tape, X);
  for (gint64 r = 0; r < rows; r++) {
    const NN_T *yr = y + r * cols, *gr = g + r * cols;
    NN_T *gxr = gx + r * cols;
    if (v->op == OP_SOFTMAX) {
      NN_T dot = 0;
      for (gint64 j = 0; j < cols; j++)
        dot += gr[j] * yr[j];
      for (gint64 j = 0; j < cols; j++)
        gxr[j] += yr[j] * (gr[j] - dot);
    } else if (v->op == OP_LOG_SOFTMAX) {
      NN_T s = 0;
      for (gint64 j = 0; j < cols; j++)
        s += gr[j];
      for (gint64 j = 0; j < cols; j++)
        gxr[j] += gr[j] - exp(yr[j]) * s;
    } else {
      const NN_T *xr = x + r * cols;
      for (gint64 j = 0; j < cols; j++)
        gxr[j] += g[r] * exp(xr[j] - y[r]);
    }
  }
}

static void
F(l2n_fwd)(LetheVar *v)
{
  LetheVar *X = v->in[0];
  const gint64 cols = X->shape[X->rank - 1], rows = X->n / cols;
  const NN_T *x = X->data;
  NN_T *y = v->data, *norms = v->aux;
  for (gint64 r = 0; r < rows; r++) {
    NN_T s = 0;
    for (gint64 j = 0; j < cols; j++)
      s += x[r * cols + j] * x[r * cols + j];
    NN_T nr = sqrt(s);
    norms[r] = nr;
    NN_T d = nr > (NN_T)v->farg[0] ? nr : (NN_T)v->farg[0];
    for (gint64 j = 0; j < cols; j++)
      y[r * cols + j] = x[r * cols + j] / d;
  }
}

static void
F(l2n_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *X = v->in[0];
  if (!nn_need_grad(X))
    return;
  const gint64 cols = X->shape[X->rank - 1], rows = X->n / cols;
  const NN_T *y = v->data, *g = v->grad, *norms = v->aux, eps = (NN_T)v->farg[0];
  NN_T *gx = nn_grad(tape, X);
  for (gint64 r = 0; r < rows; r++) {
    const NN_T *yr = y + r * cols, *gr = g + r * cols;
    if (norms[r] > eps) {
      NN_T dot = 0;
      for (gint64 j = 0; j < cols; j++)
        dot += yr[j] * gr[j];
      for (gint64 j = 0; j < cols; j++)
        gx[r * cols + j] += (gr[j] - yr[j] * dot) / norms[r];
    } else {
      for (gint64 j = 0; j < cols; j++)
        gx[r * cols + j] += gr[j] / eps;
    }
  }
}

static void
F(concat_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar **xs = v->aux2;
  const gint64 n = v->iarg[0], outer = v->iarg[2], inner = v->iarg[3];
  const NN_T *g = v->grad;
  const gint64 row = v->shape[v->iarg[1]] * inner;
  gint64 col = 0;
  for (gint64 k = 0; k < n; k++) {
    const gint64 len = xs[k]->shape[v->iarg[1]] * inner;
    if (nn_need_grad(xs[k])) {
      NN_T *gx = nn_grad(tape, xs[k]);
      for (gint64 o = 0; o < outer; o++)
        F(add_into)(gx + o * len, g + o * row + col, len);
    }
    col += len;
  }
}

static void
F(slice_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *X = v->in[0];
  if (!nn_need_grad(X))
    return;
  const gint64 outer = v->iarg[0], d = v->iarg[1], inner = v->iarg[2], start = v->iarg[3];
  const gint64 len = v->shape[v->iarg[4]] * inner;
  NN_T *gx = nn_grad(tape, X);
  const NN_T *g = v->grad;
  for (gint64 o = 0; o < outer; o++)
    F(add_into)(gx + o * d * inner + start * inner, g + o * len, len);
}

static void
F(embedding_fwd)(LetheVar *v)
{
  LetheVar *T = v->in[0];
  const gint64 *ids = v->aux, d = T->shape[1];
  for (gint64 i = 0; i < v->shape[0]; i++)
    memcpy((NN_T *)v->data + i * d, (const NN_T *)T->data + ids[i] * d, d * sizeof(NN_T));
}

static void
F(embedding_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *T = v->in[0];
  if (!nn_need_grad(T))
    return;
  const gint64 *ids = v->aux, d = T->shape[1];
  NN_T *gt = nn_grad(tape, T);
  for (gint64 i = 0; i < v->shape[0]; i++)
    F(add_into)(gt + ids[i] * d, (const NN_T *)v->grad + i * d, d);
}

static void
F(dropout_fwd)(LetheVar *v, LetheRng *rng, double p)
{
  const NN_T *x = v->in[0]->data;
  NN_T *y = v->data, *mask = v->aux;
  const NN_T keep = (NN_T)(1.0 / (1.0 - p));
  for (gint64 i = 0; i < v->n; i++) {
    mask[i] = lethe_rng_uniform(rng) < p ? 0 : keep;
    y[i] = x[i] * mask[i];
  }
}

static void
F(dropout_bwd)(LetheTape *tape, LetheVar *v)
{
  if (!nn_need_grad(v->in[0]))
    return;
  NN_T *gx = nn_grad(tape, v->in[0]);
  const NN_T *g = v->grad, *mask = v->aux;
  for (gint64 i = 0; i < v->n; i++)
    gx[i] += g[i] * mask[i];
}

static void
F(reshape_bwd)(LetheTape *tape, LetheVar *v)
{
  if (nn_need_grad(v->in[0]))
    F(add_into)(nn_grad(tape, v->in[0]), v->grad, v->n);
}

#endif /* NN_T */

#ifndef NN_OPS_UNTYPED_DONE
#ifndef NN_T
#define NN_OPS_UNTYPED_DONE

/* Sets requires_grad from the inputs; returns @v. */
static LetheVar *
finish(LetheTape *tape, LetheVar *v, guint n_in)
{
  gboolean rg = FALSE;
  for (guint i = 0; i < n_in; i++)
    rg |= nn_need_grad(v->in[i]);
  v->requires_grad = rg && nn_recording(tape);
  return v;
}

/* ---- matmul ---- */

LetheVar *
lethe_op_matmul(LetheTape *tape, LetheVar *a, LetheVar *b, gboolean trans_a, gboolean trans_b)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!a || !b || !nn_same_dtype(tape, "matmul", a, b))
    return NULL;
  if (a->rank != 2 || b->rank != 2)
    return (nn_fail(tape, "matmul: operands must be matrices, got rank %u and rank %u", a->rank,
                    b->rank),
            NULL);
  gint64 m = trans_a ? a->shape[1] : a->shape[0], k = trans_a ? a->shape[0] : a->shape[1];
  gint64 k2 = trans_b ? b->shape[1] : b->shape[0], n = trans_b ? b->shape[0] : b->shape[1];
  if (k != k2) {
    g_autofree char *sa = nn_shape_str(a), *sb = nn_shape_str(b);
    nn_fail(tape,
            "matmul: inner dimensions differ: %s%s × %s%s (%" G_GINT64_FORMAT " ≠ %" G_GINT64_FORMAT
            ")",
            sa, trans_a ? "ᵀ" : "", sb, trans_b ? "ᵀ" : "", k, k2);
    return NULL;
  }
  gint64 shape[2] = {m, n};
  LetheVar *v = nn_var_new(tape, OP_MATMUL, a->dtype, 2, shape);
  v->in[0] = a;
  v->in[1] = b;
  v->iarg[0] = trans_a;
  v->iarg[1] = trans_b;
  nn_gemm(a->dtype, trans_a, trans_b, m, n, k, 1.0, a->data, a->shape[1], b->data, b->shape[1], 0.0,
          v->data, n);
  return finish(tape, v, 2);
}

static void
matmul_bwd(LetheTape *tape, LetheVar *v)
{
  LetheVar *a = v->in[0], *b = v->in[1];
  const gboolean ta = v->iarg[0], tb = v->iarg[1];
  const gint64 m = v->shape[0], n = v->shape[1], k = ta ? a->shape[0] : a->shape[1];
  const int lda = a->shape[1], ldb = b->shape[1];
  if (nn_need_grad(a)) {
    if (!ta) /* ga[M,K] += g · op(b)ᵀ */
      nn_gemm(v->dtype, FALSE, !tb, m, k, n, 1.0, v->grad, n, b->data, ldb, 1.0, nn_grad(tape, a),
              lda);
    else /* ga[K,M] += op(b) · gᵀ */
      nn_gemm(v->dtype, tb, TRUE, k, m, n, 1.0, b->data, ldb, v->grad, n, 1.0, nn_grad(tape, a),
              lda);
  }
  if (nn_need_grad(b)) {
    if (!tb) /* gb[K,N] += op(a)ᵀ · g */
      nn_gemm(v->dtype, !ta, FALSE, k, n, m, 1.0, a->data, lda, v->grad, n, 1.0, nn_grad(tape, b),
              ldb);
    else /* gb[N,K] += gᵀ · op(a) */
      nn_gemm(v->dtype, TRUE, ta, n, k, m, 1.0, v->grad, n, a->data, lda, 1.0, nn_grad(tape, b),
              ldb);
  }
}

LetheVar *
lethe_op_bmm(LetheTape *tape, LetheVar *a, LetheVar *b)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!a || !b || !nn_same_dtype(tape, "bmm", a, b))
    return NULL;
  if (a->rank != 3 || b->rank != 3 || a->shape[0] != b->shape[0] || a->shape[2] != b->shape[1]) {
    g_autofree char *sa = nn_shape_str(a), *sb = nn_shape_str(b);
    nn_fail(tape, "bmm: expected [B,M,K] and [B,K,N], got %s and %s", sa, sb);
    return NULL;
  }
  gint64 shape[3] = {a->shape[0], a->shape[1], b->shape[2]};
  LetheVar *v = nn_var_new(tape, OP_BMM, a->dtype, 3, shape);
  v->in[0] = a;
  v->in[1] = b;
  const gint64 m = shape[1], n = shape[2], k = a->shape[2];
  const gsize es = lethe_dtype_size(a->dtype);
  for (gint64 i = 0; i < shape[0]; i++)
    nn_gemm(a->dtype, FALSE, FALSE, m, n, k, 1.0, (guint8 *)a->data + i * m * k * es, k,
            (guint8 *)b->data + i * k * n * es, n, 0.0, (guint8 *)v->data + i * m * n * es, n);
  return finish(tape, v, 2);
}

static void
bmm_bwd(LetheTape *tape, LetheVar *v)
{
  LetheVar *a = v->in[0], *b = v->in[1];
  const gint64 m = v->shape[1], n = v->shape[2], k = a->shape[2];
  const gsize es = lethe_dtype_size(a->dtype);
  for (gint64 i = 0; i < v->shape[0]; i++) {
    const guint8 *g = (guint8 *)v->grad + i * m * n * es;
    if (nn_need_grad(a))
      nn_gemm(v->dtype, FALSE, TRUE, m, k, n, 1.0, g, n, (guint8 *)b->data + i * k * n * es, n, 1.0,
              (guint8 *)nn_grad(tape, a) + i * m * k * es, k);
    if (nn_need_grad(b))
      nn_gemm(v->dtype, TRUE, FALSE, k, n, m, 1.0, (guint8 *)a->data + i * m * k * es, k, g, n, 1.0,
              (guint8 *)nn_grad(tape, b) + i * k * n * es, n);
  }
}

LetheVar *
lethe_op_linear(LetheTape *tape, LetheVar *x, LetheVar *w, LetheVar *b, gboolean relu)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!x || !w || !nn_same_dtype(tape, "linear", x, w) ||
      (b && !nn_same_dtype(tape, "linear", x, b)))
    return NULL;
  if (x->rank != 2 || w->rank != 2 || x->shape[1] != w->shape[1] ||
      (b && (b->rank != 1 || b->shape[0] != w->shape[0]))) {
    g_autofree char *sx = nn_shape_str(x), *sw = nn_shape_str(w);
    g_autofree char *sb = b ? nn_shape_str(b) : g_strdup("none");
    nn_fail(tape,
            "linear: input %s does not fit weight %s (expected [N, %" G_GINT64_FORMAT
            "]) and bias %s",
            sx, sw, w->rank == 2 ? w->shape[1] : -1, sb);
    return NULL;
  }
  gint64 shape[2] = {x->shape[0], w->shape[0]};
  LetheVar *v = nn_var_new(tape, OP_LINEAR, x->dtype, 2, shape);
  v->in[0] = x;
  v->in[1] = w;
  v->in[2] = b;
  v->iarg[0] = relu;
  DISPATCH(v, linear_fwd, v);
  return finish(tape, v, 3);
}

/* ---- elementwise ---- */

static LetheVar *
binary(LetheTape *tape, int kind, const char *name, LetheVar *a, LetheVar *b)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!a || !b || !nn_same_dtype(tape, name, a, b))
    return NULL;
  guint r = MAX(MAX(a->rank, b->rank), 1);
  gint64 *aux = lethe_tape_alloc(tape, 3 * LETHE_TENSOR_MAX_RANK * sizeof(gint64));
  gint64 *sa = aux, *sb = aux + LETHE_TENSOR_MAX_RANK, *shape = sb + LETHE_TENSOR_MAX_RANK;
  gint64 stra = 1, strb = 1;
  for (gint d = r - 1; d >= 0; d--) {
    gint da = d - (gint)(r - a->rank), db = d - (gint)(r - b->rank);
    gint64 ea = da >= 0 ? a->shape[da] : 1, eb = db >= 0 ? b->shape[db] : 1;
    if (ea != eb && ea != 1 && eb != 1) {
      g_autofree char *s1 = nn_shape_str(a), *s2 = nn_shape_str(b);
      nn_fail(tape,
              "%s: shapes %s and %s do not broadcast (dimension %d: %" G_GINT64_FORMAT
              " vs %" G_GINT64_FORMAT ")",
              name, s1, s2, d, ea, eb);
      return NULL;
    }
    shape[d] = MAX(ea, eb);
    sa[d] = ea == 1 ? 0 : stra;
    sb[d] = eb == 1 ? 0 : strb;
    stra *= ea;
    strb *= eb;
  }
  guint out_rank = MAX(a->rank, b->rank);
  LetheVar *v = nn_var_new(tape, OP_ADD + kind, a->dtype, out_rank, shape);
  v->in[0] = a;
  v->in[1] = b;
  v->aux = aux;
  v->iarg[0] = kind;
  v->iarg[1] = r;
  v->iarg[2] = a->n == b->n && a->n == v->n;
  DISPATCH(v, binary_fwd, v);
  return finish(tape, v, 2);
}

LetheVar *
lethe_op_add(LetheTape *tape, LetheVar *a, LetheVar *b)
{
  return binary(tape, BIN_ADD, "add", a, b);
}

LetheVar *
lethe_op_sub(LetheTape *tape, LetheVar *a, LetheVar *b)
{
  return binary(tape, BIN_SUB, "sub", a, b);
}

LetheVar *
lethe_op_mul(LetheTape *tape, LetheVar *a, LetheVar *b)
{
  return binary(tape, BIN_MUL, "mul", a, b);
}

LetheVar *
lethe_op_div(LetheTape *tape, LetheVar *a, LetheVar *b)
{
  return binary(tape, BIN_DIV, "div", a, b);
}

static LetheVar *
unary(LetheTape *tape, NnOp op, LetheVar *x, gint64 iarg, double f0, double f1)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!x)
    return NULL;
  LetheVar *v = nn_var_new(tape, op, x->dtype, x->rank, x->shape);
  v->in[0] = x;
  v->iarg[0] = iarg;
  v->farg[0] = f0;
  v->farg[1] = f1;
  DISPATCH(v, unary_fwd, v);
  return finish(tape, v, 1);
}

LetheVar *
lethe_op_scale(LetheTape *tape, LetheVar *x, double alpha, double beta)
{
  return unary(tape, OP_SCALE, x, 0, alpha, beta);
}

LetheVar *
lethe_op_relu(LetheTape *tape, LetheVar *x)
{
  return unary(tape, OP_RELU, x, 0, 0, 0);
}

LetheVar *
lethe_op_gelu(LetheTape *tape, LetheVar *x)
{
  return unary(tape, OP_GELU, x, 0, 0, 0);
}

LetheVar *
lethe_op_tanh(LetheTape *tape, LetheVar *x)
{
  return unary(tape, OP_TANH, x, 0, 0, 0);
}

LetheVar *
lethe_op_sigmoid(LetheTape *tape, LetheVar *x)
{
  return unary(tape, OP_SIGMOID, x, 0, 0, 0);
}

LetheVar *
lethe_op_sign(LetheTape *tape, LetheVar *x, gboolean straight_through)
{
  return unary(tape, OP_SIGN, x, straight_through, 0, 0);
}

LetheVar *
lethe_op_exp(LetheTape *tape, LetheVar *x)
{
  return unary(tape, OP_EXP, x, 0, 0, 0);
}

LetheVar *
lethe_op_log(LetheTape *tape, LetheVar *x)
{
  return unary(tape, OP_LOG, x, 0, 0, 0);
}

LetheVar *
lethe_op_square(LetheTape *tape, LetheVar *x)
{
  return unary(tape, OP_SQUARE, x, 0, 0, 0);
}

/* ---- reductions ---- */

static LetheVar *
sum_scaled(LetheTape *tape, LetheVar *x, gboolean mean)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!x)
    return NULL;
  LetheVar *v = nn_var_new(tape, OP_SUM, x->dtype, 0, NULL);
  v->in[0] = x;
  v->farg[0] = mean ? 1.0 / MAX(x->n, 1) : 1.0;
  DISPATCH(v, sum_fwd, v);
  return finish(tape, v, 1);
}

LetheVar *
lethe_op_sum(LetheTape *tape, LetheVar *x)
{
  return sum_scaled(tape, x, FALSE);
}

LetheVar *
lethe_op_mean(LetheTape *tape, LetheVar *x)
{
  return sum_scaled(tape, x, TRUE);
}

LetheVar *
lethe_op_sum_axis(LetheTape *tape, LetheVar *x, int axis)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!x)
    return NULL;
  int ax = axis < 0 ? axis + (int)x->rank : axis;
  if (ax < 0 || ax >= (int)x->rank) {
    g_autofree char *s = nn_shape_str(x);
    nn_fail(tape, "sum_axis: axis %d is out of range for shape %s", axis, s);
    return NULL;
  }
  gint64 shape[LETHE_TENSOR_MAX_RANK], outer = 1, inner = 1;
  guint r = 0;
  for (guint i = 0; i < x->rank; i++) {
    if ((int)i < ax)
      outer *= x->shape[i];
    if ((int)i > ax)
      inner *= x->shape[i];
    if ((int)i != ax)
      shape[r++] = x->shape[i];
  }
  LetheVar *v = nn_var_new(tape, OP_SUM_AXIS, x->dtype, r, shape);
  v->in[0] = x;
  v->iarg[0] = outer;
  v->iarg[1] = x->shape[ax];
  v->iarg[2] = inner;
  DISPATCH(v, sum_axis_fwd, v);
  return finish(tape, v, 1);
}

static LetheVar *
softmax_family(LetheTape *tape, NnOp op, LetheVar *x)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!x)
    return NULL;
  if (x->rank < 1 || x->shape[x->rank - 1] < 1)
    return (nn_fail(tape, "softmax: input needs a non-empty last axis"), NULL);
  LetheVar *v =
      nn_var_new(tape, op, x->dtype, op == OP_LOGSUMEXP ? x->rank - 1 : x->rank, x->shape);
  v->in[0] = x;
  DISPATCH(v, softmax_fwd, v);
  return finish(tape, v, 1);
}

LetheVar *
lethe_op_softmax(LetheTape *tape, LetheVar *x)
{
  return softmax_family(tape, OP_SOFTMAX, x);
}

LetheVar *
lethe_op_log_softmax(LetheTape *tape, LetheVar *x)
{
  return softmax_family(tape, OP_LOG_SOFTMAX, x);
}

LetheVar *
lethe_op_logsumexp(LetheTape *tape, LetheVar *x)
{
  return softmax_family(tape, OP_LOGSUMEXP, x);
}

LetheVar *
lethe_op_l2_normalize(LetheTape *tape, LetheVar *x, double eps)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!x)
    return NULL;
  if (x->rank < 1)
    return (nn_fail(tape, "l2_normalize: input needs at least one axis"), NULL);
  LetheVar *v = nn_var_new(tape, OP_L2_NORMALIZE, x->dtype, x->rank, x->shape);
  v->in[0] = x;
  v->farg[0] = eps;
  v->aux = lethe_tape_alloc(tape, (x->n / x->shape[x->rank - 1] + 1) * lethe_dtype_size(x->dtype));
  DISPATCH(v, l2n_fwd, v);
  return finish(tape, v, 1);
}

/* ---- shapes ---- */

LetheVar *
lethe_op_reshape(LetheTape *tape, LetheVar *x, guint rank, const gint64 *shape)
{
  g_return_val_if_fail(tape != NULL && rank <= LETHE_TENSOR_MAX_RANK, NULL);
  if (!x)
    return NULL;
  gint64 s[LETHE_TENSOR_MAX_RANK], known = 1;
  int infer = -1;
  for (guint i = 0; i < rank; i++) {
    s[i] = shape[i];
    if (s[i] == -1 && infer < 0)
      infer = i;
    else
      known *= s[i];
  }
  if (infer >= 0 && known > 0 && x->n % known == 0)
    s[infer] = x->n / known;
  gint64 total = 1;
  for (guint i = 0; i < rank; i++)
    total *= s[i];
  if (total != x->n || (infer >= 0 && known <= 0)) {
    g_autofree char *sx = nn_shape_str(x);
    nn_fail(tape,
            "reshape: cannot view %s (%" G_GINT64_FORMAT
            " elements) as %u dimensions of %" G_GINT64_FORMAT " elements",
            sx, x->n, rank, total);
    return NULL;
  }
  LetheVar *v = nn_var_new_view(tape, OP_RESHAPE, x, rank, s);
  v->in[0] = x;
  return finish(tape, v, 1);
}

LetheVar *
lethe_op_flatten(LetheTape *tape, LetheVar *x)
{
  if (!x)
    return NULL;
  gint64 shape[2] = {x->rank ? x->shape[0] : 1, -1};
  return lethe_op_reshape(tape, x, 2, shape);
}

LetheVar *
lethe_op_concat(LetheTape *tape, LetheVar *const *xs, guint n, int axis)
{
  g_return_val_if_fail(tape != NULL && n > 0, NULL);
  for (guint k = 0; k < n; k++)
    if (!xs[k] || !nn_same_dtype(tape, "concat", xs[0], xs[k]))
      return NULL;
  LetheVar *x0 = xs[0];
  int ax = axis < 0 ? axis + (int)x0->rank : axis;
  if (ax < 0 || ax >= (int)x0->rank)
    return (nn_fail(tape, "concat: axis %d is out of range for rank %u", axis, x0->rank), NULL);
  gint64 shape[LETHE_TENSOR_MAX_RANK];
  memcpy(shape, x0->shape, sizeof shape);
  shape[ax] = 0;
  for (guint k = 0; k < n; k++) {
    gboolean ok = xs[k]->rank == x0->rank;
    for (guint d = 0; ok && d < x0->rank; d++)
      ok = (int)d == ax || xs[k]->shape[d] == x0->shape[d];
    if (!ok) {
      g_autofree char *s0 = nn_shape_str(x0), *sk = nn_shape_str(xs[k]);
      nn_fail(tape, "concat: input %u has shape %s, which does not fit %s along axis %d", k, sk, s0,
              ax);
      return NULL;
    }
    shape[ax] += xs[k]->shape[ax];
  }
  gint64 outer = 1, inner = 1;
  for (int d = 0; d < ax; d++)
    outer *= x0->shape[d];
  for (guint d = ax + 1; d < x0->rank; d++)
    inner *= x0->shape[d];
  LetheVar *v = nn_var_new(tape, OP_CONCAT, x0->dtype, x0->rank, shape);
  LetheVar **list = lethe_tape_alloc(tape, n * sizeof(LetheVar *));
  memcpy(list, xs, n * sizeof(LetheVar *));
  v->aux2 = list;
  v->iarg[0] = n;
  v->iarg[1] = ax;
  v->iarg[2] = outer;
  v->iarg[3] = inner;
  const gsize es = lethe_dtype_size(x0->dtype), row = shape[ax] * inner * es;
  gsize col = 0;
  gboolean rg = FALSE;
  for (guint k = 0; k < n; k++) {
    const gsize len = xs[k]->shape[ax] * inner * es;
    for (gint64 o = 0; o < outer; o++)
      memcpy((guint8 *)v->data + o * row + col, (guint8 *)xs[k]->data + o * len, len);
    col += len;
    rg |= nn_need_grad(xs[k]);
  }
  v->requires_grad = rg && nn_recording(tape);
  return v;
}

LetheVar *
lethe_op_slice(LetheTape *tape, LetheVar *x, int axis, gint64 start, gint64 end)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!x)
    return NULL;
  int ax = axis < 0 ? axis + (int)x->rank : axis;
  if (ax < 0 || ax >= (int)x->rank || start < 0 || end > x->shape[ax] || start >= end) {
    g_autofree char *s = nn_shape_str(x);
    nn_fail(tape,
            "slice: [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ") of axis %d is outside shape %s",
            start, end, axis, s);
    return NULL;
  }
  gint64 shape[LETHE_TENSOR_MAX_RANK], outer = 1, inner = 1;
  memcpy(shape, x->shape, sizeof shape);
  shape[ax] = end - start;
  for (int d = 0; d < ax; d++)
    outer *= x->shape[d];
  for (guint d = ax + 1; d < x->rank; d++)
    inner *= x->shape[d];
  LetheVar *v = nn_var_new(tape, OP_SLICE, x->dtype, x->rank, shape);
  v->in[0] = x;
  v->iarg[0] = outer;
  v->iarg[1] = x->shape[ax];
  v->iarg[2] = inner;
  v->iarg[3] = start;
  v->iarg[4] = ax;
  const gsize es = lethe_dtype_size(x->dtype), len = shape[ax] * inner * es;
  for (gint64 o = 0; o < outer; o++)
    memcpy((guint8 *)v->data + o * len, (guint8 *)x->data + (o * x->shape[ax] + start) * inner * es,
           len);
  return finish(tape, v, 1);
}

/* ---- layers without their own file ---- */

LetheVar *
lethe_op_embedding(LetheTape *tape, LetheVar *table, const gint64 *ids, gint64 n_ids)
{
  g_return_val_if_fail(tape != NULL && (ids != NULL || n_ids == 0), NULL);
  if (!table)
    return NULL;
  if (table->rank != 2)
    return (nn_fail(tape, "embedding: the table must be [V, D], got rank %u", table->rank), NULL);
  gint64 *copy = lethe_tape_alloc(tape, MAX(n_ids, 1) * sizeof(gint64));
  for (gint64 i = 0; i < n_ids; i++) {
    if (ids[i] < 0 || ids[i] >= table->shape[0]) {
      nn_fail(tape,
              "embedding: id %" G_GINT64_FORMAT " at position %" G_GINT64_FORMAT
              " is outside the table's %" G_GINT64_FORMAT " rows",
              ids[i], i, table->shape[0]);
      return NULL;
    }
    copy[i] = ids[i];
  }
  gint64 shape[2] = {n_ids, table->shape[1]};
  LetheVar *v = nn_var_new(tape, OP_EMBEDDING, table->dtype, 2, shape);
  v->in[0] = table;
  v->aux = copy;
  DISPATCH(v, embedding_fwd, v);
  return finish(tape, v, 1);
}

LetheVar *
lethe_op_dropout(LetheTape *tape, LetheVar *x, double p, LetheRng *rng)
{
  g_return_val_if_fail(tape != NULL && rng != NULL, NULL);
  if (!x)
    return NULL;
  if (!(p >= 0 && p < 1))
    return (nn_fail(tape, "dropout: probability %g is outside [0, 1)", p), NULL);
  LetheVar *v = nn_var_new(tape, OP_DROPOUT, x->dtype, x->rank, x->shape);
  v->in[0] = x;
  v->aux = lethe_tape_alloc(tape, MAX(x->n, 1) * lethe_dtype_size(x->dtype));
  DISPATCH(v, dropout_fwd, v, rng, p);
  return finish(tape, v, 1);
}

gboolean
lethe_op_lstm_cell(LetheTape *tape, LetheVar *x, LetheVar *h, LetheVar *c, LetheVar *w_ih,
                   LetheVar *w_hh, LetheVar *b, LetheVar **h_out, LetheVar **c_out)
{
  g_return_val_if_fail(tape != NULL && h_out != NULL && c_out != NULL, FALSE);
  *h_out = *c_out = NULL;
  if (!x || !h || !c || !w_ih || !w_hh)
    return FALSE;
  if (h->rank != 2 || c->rank != 2 || w_hh->rank != 2 || w_hh->shape[0] != 4 * h->shape[1] ||
      w_hh->shape[1] != h->shape[1] || c->shape[0] != h->shape[0] || c->shape[1] != h->shape[1]) {
    g_autofree char *sh = nn_shape_str(h), *sc = nn_shape_str(c), *sw = nn_shape_str(w_hh);
    nn_fail(tape, "lstm_cell: h %s, c %s and w_hh %s do not fit ([N,H], [N,H], [4H,H])", sh, sc,
            sw);
    return FALSE;
  }
  const gint64 H = h->shape[1];
  /* Composed from recorded ops, so its backward is theirs. */
  LetheVar *gates = lethe_op_add(tape, lethe_op_linear(tape, x, w_ih, b, FALSE),
                                 lethe_op_matmul(tape, h, w_hh, FALSE, TRUE));
  LetheVar *i = lethe_op_sigmoid(tape, lethe_op_slice(tape, gates, 1, 0, H));
  LetheVar *f = lethe_op_sigmoid(tape, lethe_op_slice(tape, gates, 1, H, 2 * H));
  LetheVar *g = lethe_op_tanh(tape, lethe_op_slice(tape, gates, 1, 2 * H, 3 * H));
  LetheVar *o = lethe_op_sigmoid(tape, lethe_op_slice(tape, gates, 1, 3 * H, 4 * H));
  LetheVar *c2 = lethe_op_add(tape, lethe_op_mul(tape, f, c), lethe_op_mul(tape, i, g));
  LetheVar *h2 = lethe_op_mul(tape, o, lethe_op_tanh(tape, c2));
  if (!c2 || !h2)
    return FALSE;
  *h_out = h2;
  *c_out = c2;
  return TRUE;
}

LetheVar *
lethe_op_gru_cell(LetheTape *tape, LetheVar *x, LetheVar *h, LetheVar *w_ih, LetheVar *w_hh,
                  LetheVar *b_ih, LetheVar *b_hh)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!x || !h || !w_ih || !w_hh)
    return NULL;
  if (h->rank != 2 || w_hh->rank != 2 || w_hh->shape[0] != 3 * h->shape[1] ||
      w_hh->shape[1] != h->shape[1]) {
    g_autofree char *sh = nn_shape_str(h), *sw = nn_shape_str(w_hh);
    nn_fail(tape, "gru_cell: h %s and w_hh %s do not fit ([N,H] and [3H,H])", sh, sw);
    return NULL;
  }
  const gint64 H = h->shape[1];
  /* Composed from recorded ops, so its backward is theirs. */
  LetheVar *gi = lethe_op_linear(tape, x, w_ih, b_ih, FALSE);
  LetheVar *gh = lethe_op_linear(tape, h, w_hh, b_hh, FALSE);
  LetheVar *r = lethe_op_sigmoid(tape, lethe_op_add(tape, lethe_op_slice(tape, gi, 1, 0, H),
                                                    lethe_op_slice(tape, gh, 1, 0, H)));
  LetheVar *z = lethe_op_sigmoid(tape, lethe_op_add(tape, lethe_op_slice(tape, gi, 1, H, 2 * H),
                                                    lethe_op_slice(tape, gh, 1, H, 2 * H)));
  LetheVar *n = lethe_op_tanh(
      tape, lethe_op_add(tape, lethe_op_slice(tape, gi, 1, 2 * H, 3 * H),
                         lethe_op_mul(tape, r, lethe_op_slice(tape, gh, 1, 2 * H, 3 * H))));
  return lethe_op_add(tape, n, lethe_op_mul(tape, z, lethe_op_sub(tape, h, n)));
}

void
nn_backward_basic(LetheTape *tape, LetheVar *v)
{
  switch ((NnOp)v->op) {
  case OP_MATMUL:
    matmul_bwd(tape, v);
    break;
  case OP_BMM:
    bmm_bwd(tape, v);
    break;
  case OP_LINEAR:
    DISPATCH(v, linear_bwd, tape, v);
    break;
  case OP_ADD:
  case OP_SUB:
  case OP_MUL:
  case OP_DIV:
    DISPATCH(v, binary_bwd, tape, v);
    break;
  case OP_SCALE:
  case OP_RELU:
  case OP_GELU:
  case OP_TANH:
  case OP_SIGMOID:
  case OP_SIGN:
  case OP_EXP:
  case OP_LOG:
  case OP_SQUARE:
    DISPATCH(v, unary_bwd, tape, v);
    break;
  case OP_SUM:
    DISPATCH(v, sum_bwd, tape, v);
    break;
  case OP_SUM_AXIS:
    DISPATCH(v, sum_axis_bwd, tape, v);
    break;
  case OP_SOFTMAX:
  case OP_LOG_SOFTMAX:
  case OP_LOGSUMEXP:
    DISPATCH(v, softmax_bwd, tape, v);
    break;
  case OP_L2_NORMALIZE:
    DISPATCH(v, l2n_bwd, tape, v);
    break;
  case OP_RESHAPE:
    DISPATCH(v, reshape_bwd, tape, v);
    break;
  case OP_CONCAT:
    DISPATCH(v, concat_bwd, tape, v);
    break;
  case OP_SLICE:
    DISPATCH(v, slice_bwd, tape, v);
    break;
  case OP_EMBEDDING:
    DISPATCH(v, embedding_bwd, tape, v);
    break;
  case OP_DROPOUT:
    DISPATCH(v, dropout_bwd, tape, v);
    break;
  default:
    g_assert_not_reached();
  }
}

/* ---- flat vectors ---- */

static gboolean
flat_ok(const LetheTensor *t)
{
  return (t->dtype == LETHE_DTYPE_F32 || t->dtype == LETHE_DTYPE_F64) &&
         lethe_tensor_is_contiguous(t);
}

double
lethe_nn_dot(const LetheTensor *a, const LetheTensor *b)
{
  g_return_val_if_fail(a && b && flat_ok(a) && flat_ok(b) && a->dtype == b->dtype, NAN);
  gint64 n = lethe_tensor_n_elements(a);
  g_return_val_if_fail(n == lethe_tensor_n_elements(b), NAN);
  if (a->dtype == LETHE_DTYPE_F64)
    return cblas_ddot(n, lethe_tensor_f64(a), 1, lethe_tensor_f64(b), 1);
  return cblas_dsdot(n, lethe_tensor_f32(a), 1, lethe_tensor_f32(b), 1);
}

double
lethe_nn_norm2(const LetheTensor *a)
{
  g_return_val_if_fail(a && flat_ok(a), NAN);
  return sqrt(lethe_nn_dot(a, a));
}

void
lethe_nn_axpy(double alpha, const LetheTensor *x, LetheTensor *y)
{
  g_return_if_fail(x && y && flat_ok(x) && flat_ok(y) && x->dtype == y->dtype);
  gint64 n = lethe_tensor_n_elements(x);
  g_return_if_fail(n == lethe_tensor_n_elements(y));
  if (x->dtype == LETHE_DTYPE_F64)
    cblas_daxpy(n, alpha, lethe_tensor_f64(x), 1, lethe_tensor_f64(y), 1);
  else
    cblas_saxpy(n, (float)alpha, lethe_tensor_f32(x), 1, lethe_tensor_f32(y), 1);
}

void
lethe_nn_scale(LetheTensor *x, double alpha)
{
  g_return_if_fail(x && flat_ok(x));
  if (x->dtype == LETHE_DTYPE_F64)
    cblas_dscal(lethe_tensor_n_elements(x), alpha, lethe_tensor_f64(x), 1);
  else
    cblas_sscal(lethe_tensor_n_elements(x), (float)alpha, lethe_tensor_f32(x), 1);
}

#endif
#endif
