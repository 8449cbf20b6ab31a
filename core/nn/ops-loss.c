/* Lethe — losses: cross-entropy, BCE, MSE, Huber, KL, cosine, NT-Xent, hinge.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each loss is one op with a hand-written backward (cheaper than composing
 * it from elementwise ops).  Typed kernels: see ops.c.
 */
#ifndef NN_T
#include "nn-private.h"

#include <tgmath.h>

#define NN_T    float
#define F(name) name##_f32
#include "ops-loss.c"
#undef NN_T
#undef F
#define NN_T    double
#define F(name) name##_f64
#include "ops-loss.c"
#undef NN_T
#undef F

#else

/* Log-softmax of one row into @out (may alias nothing); returns nothing. */
static void
F(row_log_softmax)(const NN_T *x, NN_T *out, gint64 k, NN_T scale)
{
  NN_T m = x[0] * scale;
  for (gint64 j = 1; j < k; j++)
    m = x[j] * scale > m ? x[j] * scale : m;
  NN_T s = 0;
  for (gint64 j = 0; j < k; j++)
    s += exp(x[j] * scale - m);
  NN_T lse = m + log(s);
  for (gint64 j = 0; j < k; j++)
    out[j] = x[j] * scale - lse;
}

/* aux: softmax probabilities [N, K]. */
static void
F(ce_fwd)(LetheVar *v)
{
  LetheVar *X = v->in[0];
  const gint64 n = X->shape[0], k = X->shape[1];
  const gint32 *y = v->aux2;
  const double eps = v->farg[0];
  NN_T *p = v->aux;
  double total = 0;
  for (gint64 i = 0; i < n; i++) {
    NN_T *pr = p + i * k;
    F(row_log_softmax)((const NN_T *)X->data + i * k, pr, k, 1);
    double sum_lp = 0;
    for (gint64 j = 0; j < k; j++)
      sum_lp += pr[j];
    total += -(1 - eps) * pr[y[i]] - eps / k * sum_lp;
    for (gint64 j = 0; j < k; j++)
      pr[j] = exp(pr[j]);
  }
  ((NN_T *)v->data)[0] = (NN_T)(total / n);
}

static void
F(ce_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *X = v->in[0];
  if (!nn_need_grad(X))
    return;
  const gint64 n = X->shape[0], k = X->shape[1];
  const gint32 *y = v->aux2;
  const NN_T eps = (NN_T)v->farg[0], g = ((NN_T *)v->grad)[0] / n, *p = v->aux;
  NN_T *gx = nn_grad(tape, X);
  for (gint64 i = 0; i < n; i++) {
    for (gint64 j = 0; j < k; j++)
      gx[i * k + j] += g * (p[i * k + j] - eps / k);
    gx[i * k + y[i]] -= g * (1 - eps);
  }
}

static void
F(hinge_fwd)(LetheVar *v)
{
  LetheVar *X = v->in[0];
  const gint64 n = X->shape[0], k = X->shape[1];
  const gint32 *y = v->aux2;
  const NN_T *x = X->data, m = (NN_T)v->farg[0];
  double total = 0;
  for (gint64 i = 0; i < n; i++)
    for (gint64 j = 0; j < k; j++) {
      NN_T t = m - x[i * k + y[i]] + x[i * k + j];
      if (j != y[i] && t > 0)
        total += t;
    }
  ((NN_T *)v->data)[0] = (NN_T)(total / (n * k));
}

static void
F(hinge_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *X = v->in[0];
  if (!nn_need_grad(X))
    return;
  const gint64 n = X->shape[0], k = X->shape[1];
  const gint32 *y = v->aux2;
  const NN_T *x = X->data, m = (NN_T)v->farg[0], g = ((NN_T *)v->grad)[0] / (n * k);
  NN_T *gx = nn_grad(tape, X);
  for (gint64 i = 0; i < n; i++)
    for (gint64 j = 0; j < k; j++) {
      if (j != y[i] && m - x[i * k + y[i]] + x[i * k + j] > 0) {
        gx[i * k + j] += g;
        gx[i * k + y[i]] -= g;
      }
    }
}

/* Pairwise losses on same-shaped a, b: mean over elements. */
static void
F(pair_fwd)(LetheVar *v)
{
  LetheVar *A = v->in[0], *B = v->in[1];
  const NN_T *a = A->data, *b = B->data;
  const gint64 n = A->n;
  const NN_T delta = (NN_T)v->farg[0];
  double total = 0;
  for (gint64 i = 0; i < n; i++) {
    if (v->op == OP_MSE) {
      total += (a[i] - b[i]) * (a[i] - b[i]);
    } else if (v->op == OP_HUBER) {
      NN_T d = fabs(a[i] - b[i]);
      total += d <= delta ? (NN_T)0.5 * d * d : delta * (d - (NN_T)0.5 * delta);
    } else { /* BCE with logits, a = logits, b = targets; stable form */
      NN_T x = a[i];
      total += (x > 0 ? x : 0) - x * b[i] + log1p(exp(-fabs(x)));
    }
  }
  ((NN_T *)v->data)[0] = (NN_T)(total / MAX(n, 1));
}

static void
F(pair_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *A = v->in[0], *B = v->in[1];
  const NN_T *a = A->data, *b = B->data;
  const gint64 n = A->n;
  const NN_T g = ((NN_T *)v->grad)[0] / MAX(n, 1), delta = (NN_T)v->farg[0];
  NN_T *ga = nn_need_grad(A) ? nn_grad(tape, A) : NULL;
  NN_T *gb = nn_need_grad(B) ? nn_grad(tape, B) : NULL;
  for (gint64 i = 0; i < n; i++) {
    NN_T da, db;
    if (v->op == OP_MSE) {
      da = 2 * (a[i] - b[i]);
      db = -da;
    } else if (v->op == OP_HUBER) {
      NN_T d = a[i] - b[i];
      da = fabs(d) <= delta ? d : (d > 0 ? delta : -delta);
      db = -da;
    } else {
      da = 1 / (1 + exp(-a[i])) - b[i];
      db = -a[i];
    }
    if (ga)
      ga[i] += g * da;
    if (gb)
      gb[i] += g * db;
  }
}

/* KL: aux = [log q_teacher | log p_student], both at temperature T. */
static void
F(kl_fwd)(LetheVar *v)
{
  LetheVar *S = v->in[0], *Tt = v->in[1];
  const gint64 n = S->shape[0], k = S->shape[1];
  const NN_T t = (NN_T)v->farg[0];
  NN_T *lq = v->aux, *lp = lq + n * k;
  double total = 0;
  for (gint64 i = 0; i < n; i++) {
    F(row_log_softmax)((const NN_T *)Tt->data + i * k, lq + i * k, k, 1 / t);
    F(row_log_softmax)((const NN_T *)S->data + i * k, lp + i * k, k, 1 / t);
    for (gint64 j = 0; j < k; j++)
      total += exp(lq[i * k + j]) * (lq[i * k + j] - lp[i * k + j]);
  }
  ((NN_T *)v->data)[0] = (NN_T)(total * t * t / n);
}

static void
F(kl_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *S = v->in[0], *Tt = v->in[1];
  const gint64 n = S->shape[0], k = S->shape[1];
  const NN_T t = (NN_T)v->farg[0], g = ((NN_T *)v->grad)[0] * t / n;
  const NN_T *lq = v->aux, *lp = lq + n * k;
  NN_T *gs = nn_need_grad(S) ? nn_grad(tape, S) : NULL;
  NN_T *gt = nn_need_grad(Tt) ? nn_grad(tape, Tt) : NULL;
  for (gint64 i = 0; i < n; i++) {
    const NN_T *q = lq + i * k, *p = lp + i * k;
    if (gs) /* d/ds = T·(p − q) */
      for (gint64 j = 0; j < k; j++)
        gs[i * k + j] += g * (exp(p[j]) - exp(q[j]));
    if (gt) { /* d/dt = T·q·((log q − log p) − KL_i) */
      NN_T kl = 0;
      for (gint64 j = 0; j < k; j++)
        kl += exp(q[j]) * (q[j] - p[j]);
      for (gint64 j = 0; j < k; j++)
        gt[i * k + j] += g * exp(q[j]) * ((q[j] - p[j]) - kl);
    }
  }
}

/* Cosine: aux = [dot, |a|, |b|] per row. */
static void
F(cos_fwd)(LetheVar *v)
{
  LetheVar *A = v->in[0], *B = v->in[1];
  const gint64 n = A->shape[0], d = A->n / n;
  const NN_T *a = A->data, *b = B->data;
  NN_T *st = v->aux;
  double total = 0;
  for (gint64 i = 0; i < n; i++) {
    NN_T ab = 0, aa = 0, bb = 0;
    for (gint64 j = 0; j < d; j++) {
      ab += a[i * d + j] * b[i * d + j];
      aa += a[i * d + j] * a[i * d + j];
      bb += b[i * d + j] * b[i * d + j];
    }
    st[3 * i] = ab;
    st[3 * i + 1] = fmax(sqrt(aa), (NN_T)1e-8);
    st[3 * i + 2] = fmax(sqrt(bb), (NN_T)1e-8);
    total += 1 - ab / (st[3 * i + 1] * st[3 * i + 2]);
  }
  ((NN_T *)v->data)[0] = (NN_T)(total / n);
}

static void
F(cos_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *A = v->in[0], *B = v->in[1];
  const gint64 n = A->shape[0], d = A->n / n;
  const NN_T *a = A->data, *b = B->data, *st = v->aux, g = -((NN_T *)v->grad)[0] / n;
  NN_T *ga = nn_need_grad(A) ? nn_grad(tape, A) : NULL;
  NN_T *gb = nn_need_grad(B) ? nn_grad(tape, B) : NULL;
  for (gint64 i = 0; i < n; i++) {
    const NN_T ab = st[3 * i], na = st[3 * i + 1], nb = st[3 * i + 2], c = ab / (na * nb);
    for (gint64 j = 0; j < d; j++) {
      const NN_T aj = a[i * d + j], bj = b[i * d + j];
      if (ga)
        ga[i * d + j] += g * (bj / (na * nb) - c * aj / (na * na));
      if (gb)
        gb[i * d + j] += g * (aj / (na * nb) - c * bj / (nb * nb));
    }
  }
}

/* NT-Xent over M = 2N rows.  aux: normalised rows u [M,D], norms [M],
 * softmax rows P [M,M] (diagonal excluded). */
static void
F(ntx_fwd)(LetheVar *v)
{
  LetheVar *Z = v->in[0];
  const gint64 m = Z->shape[0], d = Z->shape[1], half = m / 2;
  const NN_T *z = Z->data, t = (NN_T)v->farg[0];
  NN_T *u = v->aux, *norms = u + m * d, *P = norms + m;
  for (gint64 i = 0; i < m; i++) {
    NN_T s = 0;
    for (gint64 j = 0; j < d; j++)
      s += z[i * d + j] * z[i * d + j];
    norms[i] = fmax(sqrt(s), (NN_T)1e-8);
    for (gint64 j = 0; j < d; j++)
      u[i * d + j] = z[i * d + j] / norms[i];
  }
  nn_gemm(v->dtype, FALSE, TRUE, m, m, d, 1.0 / t, u, d, u, d, 0.0, P, m);
  double total = 0;
  for (gint64 i = 0; i < m; i++) {
    NN_T *r = P + i * m;
    const gint64 pos = i < half ? i + half : i - half;
    NN_T mx = -INFINITY;
    for (gint64 j = 0; j < m; j++)
      if (j != i && r[j] > mx)
        mx = r[j];
    NN_T s = 0;
    for (gint64 j = 0; j < m; j++)
      s += j == i ? 0 : exp(r[j] - mx);
    const NN_T lse = mx + log(s);
    total += lse - r[pos];
    for (gint64 j = 0; j < m; j++)
      r[j] = j == i ? 0 : exp(r[j] - lse);
  }
  ((NN_T *)v->data)[0] = (NN_T)(total / m);
}

static void
F(ntx_bwd)(LetheTape *tape, LetheVar *v)
{
  LetheVar *Z = v->in[0];
  if (!nn_need_grad(Z))
    return;
  const gint64 m = Z->shape[0], d = Z->shape[1], half = m / 2;
  const NN_T t = (NN_T)v->farg[0], g = ((NN_T *)v->grad)[0] / m;
  const NN_T *u = v->aux, *norms = u + m * d, *P = norms + m;
  /* dL/dS_ij = g·(P_ij − [j = pos(i)]) / t; S = u·uᵀ is symmetric in use. */
  NN_T *G = lethe_tape_alloc(tape, m * m * sizeof(NN_T));
  for (gint64 i = 0; i < m; i++) {
    const gint64 pos = i < half ? i + half : i - half;
    for (gint64 j = 0; j < m; j++)
      G[i * m + j] = g * (P[i * m + j] - (j == pos)) / t;
  }
  /* du = (G + Gᵀ)·u */
  NN_T *du = lethe_tape_alloc(tape, m * d * sizeof(NN_T));
  nn_gemm(v->dtype, FALSE, FALSE, m, d, m, 1.0, G, m, u, d, 0.0, du, d);
  nn_gemm(v->dtype, TRUE, FALSE, m, d, m, 1.0, G, m, u, d, 1.0, du, d);
  NN_T *gz = nn_grad(tape, Z);
  for (gint64 i = 0; i < m; i++) { /* through u = z/|z| */
    NN_T dot = 0;
    for (gint64 j = 0; j < d; j++)
      dot += du[i * d + j] * u[i * d + j];
    for (gint64 j = 0; j < d; j++)
      gz[i * d + j] += (du[i * d + j] - u[i * d + j] * dot) / norms[i];
  }
}

#endif /* NN_T */

#ifndef NN_T

static LetheVar *
scalar_loss(LetheTape *tape, NnOp op, LetheVar *a, LetheVar *b)
{
  LetheVar *v = nn_var_new(tape, op, a->dtype, 0, NULL);
  v->in[0] = a;
  v->in[1] = b;
  v->requires_grad = (nn_need_grad(a) || nn_need_grad(b)) && nn_recording(tape);
  return v;
}

static gint32 *
copy_labels(LetheTape *tape, const char *op, LetheVar *logits, const gint32 *labels)
{
  if (logits->rank != 2) {
    g_autofree char *s = nn_shape_str(logits);
    nn_fail(tape, "%s: logits must be [N, K], got %s", op, s);
    return NULL;
  }
  const gint64 n = logits->shape[0], k = logits->shape[1];
  gint32 *y = lethe_tape_alloc(tape, MAX(n, 1) * sizeof(gint32));
  for (gint64 i = 0; i < n; i++) {
    if (labels[i] < 0 || labels[i] >= k) {
      nn_fail(tape,
              "%s: label %d of sample %" G_GINT64_FORMAT " is outside [0, %" G_GINT64_FORMAT
              "); the model has %" G_GINT64_FORMAT " outputs",
              op, labels[i], i, k, k);
      return NULL;
    }
    y[i] = labels[i];
  }
  return y;
}

LetheVar *
lethe_op_cross_entropy(LetheTape *tape, LetheVar *logits, const gint32 *labels,
                       double label_smoothing)
{
  g_return_val_if_fail(tape != NULL && labels != NULL, NULL);
  if (!logits)
    return NULL;
  gint32 *y = copy_labels(tape, "cross_entropy", logits, labels);
  if (!y)
    return NULL;
  if (!(label_smoothing >= 0 && label_smoothing < 1))
    return (nn_fail(tape, "cross_entropy: label smoothing %g is outside [0, 1)", label_smoothing),
            NULL);
  LetheVar *v = scalar_loss(tape, OP_CROSS_ENTROPY, logits, NULL);
  v->aux2 = y;
  v->farg[0] = label_smoothing;
  v->aux = lethe_tape_alloc(tape, MAX(logits->n, 1) * lethe_dtype_size(logits->dtype));
  DISPATCH(v, ce_fwd, v);
  return v;
}

LetheVar *
lethe_op_hinge(LetheTape *tape, LetheVar *logits, const gint32 *labels, double margin)
{
  g_return_val_if_fail(tape != NULL && labels != NULL, NULL);
  if (!logits)
    return NULL;
  gint32 *y = copy_labels(tape, "hinge", logits, labels);
  if (!y)
    return NULL;
  LetheVar *v = scalar_loss(tape, OP_HINGE, logits, NULL);
  v->aux2 = y;
  v->farg[0] = margin;
  DISPATCH(v, hinge_fwd, v);
  return v;
}

static LetheVar *
pair_loss(LetheTape *tape, NnOp op, const char *name, LetheVar *a, LetheVar *b, double delta)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!a || !b || !nn_same_dtype(tape, name, a, b))
    return NULL;
  if (a->n != b->n || a->rank != b->rank || memcmp(a->shape, b->shape, a->rank * sizeof(gint64))) {
    g_autofree char *sa = nn_shape_str(a), *sb = nn_shape_str(b);
    nn_fail(tape, "%s: the two operands must have the same shape, got %s and %s", name, sa, sb);
    return NULL;
  }
  LetheVar *v = scalar_loss(tape, op, a, b);
  v->farg[0] = delta;
  DISPATCH(v, pair_fwd, v);
  return v;
}

LetheVar *
lethe_op_mse(LetheTape *tape, LetheVar *a, LetheVar *b)
{
  return pair_loss(tape, OP_MSE, "mse", a, b, 0);
}

LetheVar *
lethe_op_huber(LetheTape *tape, LetheVar *a, LetheVar *b, double delta)
{
  return pair_loss(tape, OP_HUBER, "huber", a, b, delta);
}

LetheVar *
lethe_op_bce_with_logits(LetheTape *tape, LetheVar *logits, LetheVar *targets)
{
  return pair_loss(tape, OP_BCE_LOGITS, "bce_with_logits", logits, targets, 0);
}

static gboolean
check_rows(LetheTape *tape, const char *name, LetheVar *a, LetheVar *b)
{
  if (a->rank == 2 && b->rank == 2 && a->shape[0] == b->shape[0] && a->shape[1] == b->shape[1])
    return TRUE;
  g_autofree char *sa = nn_shape_str(a), *sb = nn_shape_str(b);
  return nn_fail(tape, "%s: expected two [N, K] inputs of the same shape, got %s and %s", name, sa,
                 sb);
}

LetheVar *
lethe_op_kl_div(LetheTape *tape, LetheVar *student, LetheVar *teacher, double temperature)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!student || !teacher || !nn_same_dtype(tape, "kl_div", student, teacher) ||
      !check_rows(tape, "kl_div", student, teacher))
    return NULL;
  if (!(temperature > 0))
    return (nn_fail(tape, "kl_div: temperature %g must be positive", temperature), NULL);
  LetheVar *v = scalar_loss(tape, OP_KL_DIV, student, teacher);
  v->farg[0] = temperature;
  v->aux = lethe_tape_alloc(tape, 2 * student->n * lethe_dtype_size(student->dtype));
  DISPATCH(v, kl_fwd, v);
  return v;
}

LetheVar *
lethe_op_cosine_loss(LetheTape *tape, LetheVar *a, LetheVar *b)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!a || !b || !nn_same_dtype(tape, "cosine_loss", a, b) ||
      !check_rows(tape, "cosine_loss", a, b))
    return NULL;
  LetheVar *v = scalar_loss(tape, OP_COSINE_LOSS, a, b);
  v->aux = lethe_tape_alloc(tape, 3 * a->shape[0] * lethe_dtype_size(a->dtype));
  DISPATCH(v, cos_fwd, v);
  return v;
}

LetheVar *
lethe_op_nt_xent(LetheTape *tape, LetheVar *z, double temperature)
{
  g_return_val_if_fail(tape != NULL, NULL);
  if (!z)
    return NULL;
  if (z->rank != 2 || z->shape[0] < 2 || z->shape[0] % 2) {
    g_autofree char *s = nn_shape_str(z);
    nn_fail(tape, "nt_xent: expected [2N, D] embeddings (two views per sample), got %s", s);
    return NULL;
  }
  if (!(temperature > 0))
    return (nn_fail(tape, "nt_xent: temperature %g must be positive", temperature), NULL);
  const gint64 m = z->shape[0], d = z->shape[1];
  LetheVar *v = scalar_loss(tape, OP_NT_XENT, z, NULL);
  v->farg[0] = temperature;
  v->aux = lethe_tape_alloc(tape, (m * d + m + m * m) * lethe_dtype_size(z->dtype));
  DISPATCH(v, ntx_fwd, v);
  return v;
}

void
nn_backward_loss(LetheTape *tape, LetheVar *v)
{
  switch ((NnOp)v->op) {
  case OP_CROSS_ENTROPY:
    DISPATCH(v, ce_bwd, tape, v);
    break;
  case OP_HINGE:
    DISPATCH(v, hinge_bwd, tape, v);
    break;
  case OP_MSE:
  case OP_HUBER:
  case OP_BCE_LOGITS:
    DISPATCH(v, pair_bwd, tape, v);
    break;
  case OP_KL_DIV:
    DISPATCH(v, kl_bwd, tape, v);
    break;
  case OP_COSINE_LOSS:
    DISPATCH(v, cos_bwd, tape, v);
    break;
  case OP_NT_XENT:
    DISPATCH(v, ntx_bwd, tape, v);
    break;
  default:
    g_assert_not_reached();
  }
}

#endif
