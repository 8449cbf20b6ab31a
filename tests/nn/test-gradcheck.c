/* Lethe — every op's backward against central finite differences in f64.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each row of the table builds one op (or loss) from random f64 inputs.  The
 * objective is L = Σ r·y for a fixed random r (so that every output element
 * matters); the tape's dL/dinput is compared with (L(x+h) − L(x−h)) / 2h for
 * up to 40 coordinates of every input.
 */
#include "lethe-test.h"

#include <lethe/lethe.h>
#include <lethe/nn-ops.h>
#include <math.h>

#define MAX_IN 4

typedef LetheVar *(*BuildFn)(LetheTape *tape, LetheVar **in);

typedef struct {
  const char *name;
  guint n_in;
  gint64 shapes[MAX_IN][5]; /* rank, extents */
  BuildFn build;
  double lo, hi; /* input range */
} GradCase;

static const gint32 labels4[4] = {2, 0, 1, 2};

/* clang-format off */
static LetheVar *b_matmul(LetheTape *t, LetheVar **in) { return lethe_op_matmul(t, in[0], in[1], FALSE, FALSE); }
static LetheVar *b_matmul_tt(LetheTape *t, LetheVar **in) { return lethe_op_matmul(t, in[0], in[1], TRUE, TRUE); }
static LetheVar *b_matmul_tn(LetheTape *t, LetheVar **in) { return lethe_op_matmul(t, in[0], in[1], TRUE, FALSE); }
static LetheVar *b_matmul_nt(LetheTape *t, LetheVar **in) { return lethe_op_matmul(t, in[0], in[1], FALSE, TRUE); }
static LetheVar *b_bmm(LetheTape *t, LetheVar **in) { return lethe_op_bmm(t, in[0], in[1]); }
static LetheVar *b_linear(LetheTape *t, LetheVar **in) { return lethe_op_linear(t, in[0], in[1], in[2], FALSE); }
static LetheVar *b_linear_relu(LetheTape *t, LetheVar **in) { return lethe_op_linear(t, in[0], in[1], in[2], TRUE); }
static LetheVar *b_add(LetheTape *t, LetheVar **in) { return lethe_op_add(t, in[0], in[1]); }
static LetheVar *b_sub(LetheTape *t, LetheVar **in) { return lethe_op_sub(t, in[0], in[1]); }
static LetheVar *b_mul(LetheTape *t, LetheVar **in) { return lethe_op_mul(t, in[0], in[1]); }
static LetheVar *b_div(LetheTape *t, LetheVar **in) { return lethe_op_div(t, in[0], in[1]); }
static LetheVar *b_scale(LetheTape *t, LetheVar **in) { return lethe_op_scale(t, in[0], -1.5, 0.25); }
static LetheVar *b_relu(LetheTape *t, LetheVar **in) { return lethe_op_relu(t, in[0]); }
static LetheVar *b_gelu(LetheTape *t, LetheVar **in) { return lethe_op_gelu(t, in[0]); }
static LetheVar *b_tanh(LetheTape *t, LetheVar **in) { return lethe_op_tanh(t, in[0]); }
static LetheVar *b_sigmoid(LetheTape *t, LetheVar **in) { return lethe_op_sigmoid(t, in[0]); }
static LetheVar *b_sign_ste(LetheTape *t, LetheVar **in) { return lethe_op_mul(t, lethe_op_sign(t, in[0], FALSE), in[1]); }
static LetheVar *b_exp(LetheTape *t, LetheVar **in) { return lethe_op_exp(t, in[0]); }
static LetheVar *b_log(LetheTape *t, LetheVar **in) { return lethe_op_log(t, in[0]); }
static LetheVar *b_square(LetheTape *t, LetheVar **in) { return lethe_op_square(t, in[0]); }
static LetheVar *b_sum(LetheTape *t, LetheVar **in) { return lethe_op_sum(t, in[0]); }
static LetheVar *b_mean(LetheTape *t, LetheVar **in) { return lethe_op_mean(t, in[0]); }
static LetheVar *b_sum_axis(LetheTape *t, LetheVar **in) { return lethe_op_sum_axis(t, in[0], 1); }
static LetheVar *b_softmax(LetheTape *t, LetheVar **in) { return lethe_op_softmax(t, in[0]); }
static LetheVar *b_log_softmax(LetheTape *t, LetheVar **in) { return lethe_op_log_softmax(t, in[0]); }
static LetheVar *b_logsumexp(LetheTape *t, LetheVar **in) { return lethe_op_logsumexp(t, in[0]); }
static LetheVar *b_l2n(LetheTape *t, LetheVar **in) { return lethe_op_l2_normalize(t, in[0], 1e-12); }
static LetheVar *b_reshape(LetheTape *t, LetheVar **in) { gint64 s[2] = {-1, 6}; return lethe_op_square(t, lethe_op_reshape(t, in[0], 2, s)); }
static LetheVar *b_flatten(LetheTape *t, LetheVar **in) { return lethe_op_square(t, lethe_op_flatten(t, in[0])); }
static LetheVar *b_concat(LetheTape *t, LetheVar **in) { return lethe_op_square(t, lethe_op_concat(t, in, 2, 1)); }
static LetheVar *b_slice(LetheTape *t, LetheVar **in) { return lethe_op_square(t, lethe_op_slice(t, in[0], 1, 1, 3)); }
static LetheVar *b_conv2d(LetheTape *t, LetheVar **in) { return lethe_op_conv2d(t, in[0], in[1], in[2], 1, 1); }
static LetheVar *b_conv2d_s2(LetheTape *t, LetheVar **in) { return lethe_op_conv2d(t, in[0], in[1], NULL, 2, 0); }
static LetheVar *b_conv1d(LetheTape *t, LetheVar **in) { return lethe_op_conv1d(t, in[0], in[1], in[2], 2, 1); }
static LetheVar *b_conv2d_chunked(LetheTape *t, LetheVar **in) { return lethe_op_conv2d(t, in[0], in[1], in[2], 1, 1); }
static LetheVar *b_conv_relu(LetheTape *t, LetheVar **in) { return lethe_op_conv2d_fused(t, in[0], in[1], in[2], 1, 1, TRUE, FALSE); }
static LetheVar *b_conv_relu_pool(LetheTape *t, LetheVar **in) { return lethe_op_conv2d_fused(t, in[0], in[1], in[2], 1, 0, TRUE, TRUE); }
static LetheVar *b_maxpool2d(LetheTape *t, LetheVar **in) { return lethe_op_max_pool2d(t, in[0], 2, 2); }
static LetheVar *b_avgpool2d(LetheTape *t, LetheVar **in) { return lethe_op_avg_pool2d(t, in[0], 3, 1); }
static LetheVar *b_maxpool1d(LetheTape *t, LetheVar **in) { return lethe_op_max_pool1d(t, in[0], 3, 2); }
static LetheVar *b_avgpool1d(LetheTape *t, LetheVar **in) { return lethe_op_avg_pool1d(t, in[0], 2, 2); }
static LetheVar *b_gap(LetheTape *t, LetheVar **in) { return lethe_op_global_avg_pool(t, in[0]); }
static LetheVar *b_gmp(LetheTape *t, LetheVar **in) { return lethe_op_global_max_pool(t, in[0]); }
static LetheVar *b_upsample(LetheTape *t, LetheVar **in) { return lethe_op_upsample_nearest(t, in[0], 2); }
static LetheVar *b_layer_norm(LetheTape *t, LetheVar **in) { return lethe_op_layer_norm(t, in[0], in[1], in[2], 1e-5); }
static LetheVar *b_batch_norm(LetheTape *t, LetheVar **in) { return lethe_op_batch_norm(t, in[0], in[1], in[2], NULL, NULL, TRUE, 0.1, 1e-5); }
static LetheVar *b_batch_norm_frozen(LetheTape *t, LetheVar **in)
{
  static double rm[3] = {0.1, -0.2, 0.3}, rv[3] = {0.5, 1.5, 2.0};
  return lethe_op_batch_norm(t, in[0], in[1], in[2], rm, rv, FALSE, 0.1, 1e-5);
}
static LetheVar *b_dropout(LetheTape *t, LetheVar **in) { LetheRng r; lethe_rng_init(&r, 7); return lethe_op_dropout(t, in[0], 0.3, &r); }
static LetheVar *b_embedding(LetheTape *t, LetheVar **in) { static const gint64 ids[5] = {3, 0, 3, 1, 4}; return lethe_op_embedding(t, in[0], ids, 5); }
static LetheVar *b_lstm_h(LetheTape *t, LetheVar **in)
{
  LetheVar *h, *c;
  lethe_op_lstm_cell(t, in[0], in[1], in[2], in[3], in[3] ? lethe_op_slice(t, in[3], 1, 0, 2) : NULL, NULL, &h, &c);
  return lethe_op_add(t, h, lethe_op_scale(t, c, 0.5, 0));
}
static LetheVar *b_gru(LetheTape *t, LetheVar **in)
{
  return lethe_op_gru_cell(t, in[0], in[1], in[2], lethe_op_slice(t, in[2], 1, 0, 2), in[3],
                           lethe_op_scale(t, in[3], 0.5, 0.1));
}
static LetheVar *b_ce(LetheTape *t, LetheVar **in) { return lethe_op_cross_entropy(t, in[0], labels4, 0.0); }
static LetheVar *b_ce_smooth(LetheTape *t, LetheVar **in) { return lethe_op_cross_entropy(t, in[0], labels4, 0.1); }
static LetheVar *b_bce(LetheTape *t, LetheVar **in) { return lethe_op_bce_with_logits(t, in[0], in[1]); }
static LetheVar *b_mse(LetheTape *t, LetheVar **in) { return lethe_op_mse(t, in[0], in[1]); }
static LetheVar *b_huber(LetheTape *t, LetheVar **in) { return lethe_op_huber(t, in[0], in[1], 0.5); }
static LetheVar *b_kl(LetheTape *t, LetheVar **in) { return lethe_op_kl_div(t, in[0], in[1], 2.0); }
static LetheVar *b_cosine(LetheTape *t, LetheVar **in) { return lethe_op_cosine_loss(t, in[0], in[1]); }
static LetheVar *b_ntxent(LetheTape *t, LetheVar **in) { return lethe_op_nt_xent(t, in[0], 0.5); }
static LetheVar *b_hinge(LetheTape *t, LetheVar **in) { return lethe_op_hinge(t, in[0], labels4, 1.0); }
/* clang-format on */

#define S2(a, b)                                                                                   \
  {                                                                                                \
    2, a, b                                                                                        \
  }
#define S1(a)                                                                                      \
  {                                                                                                \
    1, a                                                                                           \
  }
#define S3(a, b, c)                                                                                \
  {                                                                                                \
    3, a, b, c                                                                                     \
  }
#define S4(a, b, c, d)                                                                             \
  {                                                                                                \
    4, a, b, c, d                                                                                  \
  }

static const GradCase cases[] = {
    {"matmul", 2, {S2(3, 4), S2(4, 5)}, b_matmul, -1, 1},
    {"matmul_tt", 2, {S2(4, 3), S2(5, 4)}, b_matmul_tt, -1, 1},
    {"matmul_tn", 2, {S2(4, 3), S2(4, 5)}, b_matmul_tn, -1, 1},
    {"matmul_nt", 2, {S2(3, 4), S2(5, 4)}, b_matmul_nt, -1, 1},
    {"bmm", 2, {S3(2, 3, 4), S3(2, 4, 2)}, b_bmm, -1, 1},
    {"linear", 3, {S2(4, 5), S2(3, 5), S1(3)}, b_linear, -1, 1},
    {"linear_relu", 3, {S2(4, 5), S2(3, 5), S1(3)}, b_linear_relu, -1, 1},
    {"add_broadcast", 2, {S3(2, 3, 4), S2(1, 4)}, b_add, -1, 1},
    {"sub_broadcast", 2, {S2(3, 1), S3(2, 3, 4)}, b_sub, -1, 1},
    {"mul_same", 2, {S2(3, 4), S2(3, 4)}, b_mul, -1, 1},
    {"mul_scalar", 2, {S2(3, 4), S1(1)}, b_mul, -1, 1},
    {"div", 2, {S2(3, 4), S1(4)}, b_div, 0.5, 2},
    {"scale", 1, {S2(3, 4)}, b_scale, -1, 1},
    {"relu", 1, {S2(3, 5)}, b_relu, -1, 1},
    {"gelu", 1, {S2(3, 5)}, b_gelu, -2, 2},
    {"tanh", 1, {S2(3, 5)}, b_tanh, -2, 2},
    {"sigmoid", 1, {S2(3, 5)}, b_sigmoid, -3, 3},
    {"sign", 2, {S2(3, 5), S2(3, 5)}, b_sign_ste, -1, 1},
    {"exp", 1, {S2(3, 5)}, b_exp, -1, 1},
    {"log", 1, {S2(3, 5)}, b_log, 0.5, 3},
    {"square", 1, {S2(3, 5)}, b_square, -1, 1},
    {"sum", 1, {S3(2, 3, 2)}, b_sum, -1, 1},
    {"mean", 1, {S3(2, 3, 2)}, b_mean, -1, 1},
    {"sum_axis", 1, {S3(2, 3, 4)}, b_sum_axis, -1, 1},
    {"softmax", 1, {S2(3, 5)}, b_softmax, -2, 2},
    {"log_softmax", 1, {S2(3, 5)}, b_log_softmax, -2, 2},
    {"logsumexp", 1, {S3(2, 3, 5)}, b_logsumexp, -2, 2},
    {"l2_normalize", 1, {S2(3, 5)}, b_l2n, -1, 1},
    {"reshape", 1, {S3(2, 3, 2)}, b_reshape, -1, 1},
    {"flatten", 1, {S4(2, 2, 2, 2)}, b_flatten, -1, 1},
    {"concat", 2, {S3(2, 2, 3), S3(2, 3, 3)}, b_concat, -1, 1},
    {"slice", 1, {S3(2, 4, 3)}, b_slice, -1, 1},
    {"conv2d_pad1", 3, {S4(2, 2, 5, 4), S4(3, 2, 3, 3), S1(3)}, b_conv2d, -1, 1},
    {"conv2d_stride2", 2, {S4(2, 3, 6, 5), S4(2, 3, 2, 2)}, b_conv2d_s2, -1, 1},
    {"conv1d", 3, {S3(2, 3, 9), S3(4, 3, 3), S1(4)}, b_conv1d, -1, 1},
    /* per-sample columns of 147k values: one sample per im2col chunk */
    {"conv2d_chunked", 3, {S4(3, 16, 32, 32), S4(2, 16, 3, 3), S1(2)}, b_conv2d_chunked, -1, 1},
    {"conv2d_relu_fused", 3, {S4(2, 2, 5, 4), S4(3, 2, 3, 3), S1(3)}, b_conv_relu, -1, 1},
    {"conv2d_relu_pool_fused", 3, {S4(2, 2, 7, 6), S4(3, 2, 2, 2), S1(3)}, b_conv_relu_pool, -1, 1},
    {"max_pool2d", 1, {S4(2, 3, 4, 6)}, b_maxpool2d, -1, 1},
    {"avg_pool2d", 1, {S4(2, 2, 5, 4)}, b_avgpool2d, -1, 1},
    {"max_pool1d", 1, {S3(2, 3, 9)}, b_maxpool1d, -1, 1},
    {"avg_pool1d", 1, {S3(2, 3, 8)}, b_avgpool1d, -1, 1},
    {"global_avg_pool", 1, {S4(2, 3, 2, 3)}, b_gap, -1, 1},
    {"global_max_pool", 1, {S3(2, 3, 5)}, b_gmp, -1, 1},
    {"upsample_nearest", 1, {S4(1, 2, 2, 3)}, b_upsample, -1, 1},
    {"layer_norm", 3, {S3(2, 3, 6), S1(6), S1(6)}, b_layer_norm, -1, 1},
    {"batch_norm_2d", 3, {S4(3, 3, 2, 2), S1(3), S1(3)}, b_batch_norm, -1, 1},
    {"batch_norm_1d", 3, {S2(5, 3), S1(3), S1(3)}, b_batch_norm, -1, 1},
    {"batch_norm_frozen", 3, {S4(2, 3, 2, 2), S1(3), S1(3)}, b_batch_norm_frozen, -1, 1},
    {"dropout", 1, {S2(4, 6)}, b_dropout, -1, 1},
    {"embedding", 1, {S2(5, 3)}, b_embedding, -1, 1},
    {"lstm_cell", 4, {S2(3, 4), S2(3, 2), S2(3, 2), S2(8, 4)}, b_lstm_h, -1, 1},
    {"gru_cell", 4, {S2(3, 4), S2(3, 2), S2(6, 4), S1(6)}, b_gru, -1, 1},
    {"cross_entropy", 1, {S2(4, 3)}, b_ce, -2, 2},
    {"cross_entropy_smoothing", 1, {S2(4, 3)}, b_ce_smooth, -2, 2},
    {"bce_with_logits", 2, {S2(4, 3), S2(4, 3)}, b_bce, -2, 2},
    {"mse", 2, {S2(4, 3), S2(4, 3)}, b_mse, -1, 1},
    {"huber", 2, {S2(4, 3), S2(4, 3)}, b_huber, -1, 1},
    {"kl_div", 2, {S2(4, 5), S2(4, 5)}, b_kl, -2, 2},
    {"cosine_loss", 2, {S2(4, 5), S2(4, 5)}, b_cosine, -1, 1},
    {"nt_xent", 1, {S2(6, 4)}, b_ntxent, -1, 1},
    {"hinge", 1, {S2(4, 3)}, b_hinge, -1, 1},
};

/* Evaluates L = Σ r·y with the inputs' current values; no gradients. */
static double
objective(LetheTape *tape, const GradCase *c, double **x, const double *r)
{
  lethe_tape_reset(tape);
  lethe_tape_set_grad_enabled(tape, FALSE);
  LetheVar *in[MAX_IN] = {NULL};
  for (guint k = 0; k < c->n_in; k++)
    in[k] = lethe_tape_wrap(tape, LETHE_DTYPE_F64, c->shapes[k][0], &c->shapes[k][1], x[k], NULL);
  LetheVar *y = c->build(tape, in);
  g_assert(y != NULL);
  double s = 0;
  for (gint64 i = 0; i < y->n; i++)
    s += r[i] * ((double *)y->data)[i];
  return s;
}

static gboolean
check_case(const GradCase *c)
{
  LetheRng rng;
  lethe_rng_init(&rng, g_str_hash(c->name));
  LetheTape *tape = lethe_tape_new();
  double *x[MAX_IN] = {NULL}, *g[MAX_IN] = {NULL};
  gint64 n[MAX_IN] = {0};
  for (guint k = 0; k < c->n_in; k++) {
    n[k] = 1;
    for (gint64 d = 0; d < c->shapes[k][0]; d++)
      n[k] *= c->shapes[k][d + 1];
    x[k] = g_new(double, n[k]);
    g[k] = g_new0(double, n[k]);
    for (gint64 i = 0; i < n[k]; i++)
      x[k][i] = c->lo + (c->hi - c->lo) * lethe_rng_uniform(&rng);
  }
  /* Analytic gradients. */
  LetheVar *in[MAX_IN] = {NULL};
  for (guint k = 0; k < c->n_in; k++)
    in[k] = lethe_tape_wrap(tape, LETHE_DTYPE_F64, c->shapes[k][0], &c->shapes[k][1], x[k], g[k]);
  LetheVar *y = c->build(tape, in);
  GError *error = NULL;
  if (!y) {
    lethe_tape_check(tape, &error);
    fprintf(stderr, "\n  %s: forward failed: %s\n", c->name, error ? error->message : "?");
    g_clear_error(&error);
    lethe_tape_free(tape);
    return FALSE;
  }
  double *r = g_new(double, y->n);
  for (gint64 i = 0; i < y->n; i++)
    r[i] = lethe_rng_normal(&rng);
  gboolean ok = lethe_tape_backward_from(tape, y, r, &error);
  if (!ok)
    fprintf(stderr, "\n  %s: backward failed: %s\n", c->name, error->message);
  g_clear_error(&error);
  /* Central differences on up to 40 coordinates of each input. */
  const double h = 1e-6;
  for (guint k = 0; ok && k < c->n_in; k++) {
    const gint64 step = MAX(n[k] / 40, 1);
    for (gint64 i = 0; i < n[k]; i += step) {
      const double saved = x[k][i];
      x[k][i] = saved + h;
      const double fp = objective(tape, c, x, r);
      x[k][i] = saved - h;
      const double fm = objective(tape, c, x, r);
      x[k][i] = saved;
      const double num = (fp - fm) / (2 * h);
      if (fabs(num - g[k][i]) > 1e-6 + 1e-5 * fabs(num)) {
        fprintf(stderr, "\n  %s: input %u [%" G_GINT64_FORMAT "]: backward %.9g, numeric %.9g\n",
                c->name, k, i, g[k][i], num);
        ok = FALSE;
        break;
      }
    }
  }
  for (guint k = 0; k < c->n_in; k++) {
    g_free(x[k]);
    g_free(g[k]);
  }
  g_free(r);
  lethe_tape_free(tape);
  return ok;
}

static void
test_gradcheck_every_op_matches_finite_differences(void)
{
  guint failed = 0;
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
    if (!check_case(&cases[i]))
      failed++;
  CU_ASSERT_EQUAL(failed, 0);
}

/* Gradients also agree in f32, within f32 precision, for the training ops. */
static void
test_gradcheck_f32_linear_matches_f64(void)
{
  const gint64 xs[2] = {4, 5}, ws[2] = {3, 5}, bs[1] = {3};
  double xd[20], wd[15], bd[3], gxd[20] = {0}, gwd[15] = {0}, gbd[3] = {0};
  float xf[20], wf[15], bf[3], gxf[20] = {0}, gwf[15] = {0}, gbf[3] = {0};
  LetheRng rng;
  lethe_rng_init(&rng, 3);
  for (int i = 0; i < 20; i++)
    xf[i] = xd[i] = (float)lethe_rng_normal(&rng);
  for (int i = 0; i < 15; i++)
    wf[i] = wd[i] = (float)lethe_rng_normal(&rng);
  for (int i = 0; i < 3; i++)
    bf[i] = bd[i] = (float)lethe_rng_normal(&rng);
  LetheTape *t = lethe_tape_new();
  LetheVar *yd = lethe_op_linear(t, lethe_tape_wrap(t, LETHE_DTYPE_F64, 2, xs, xd, gxd),
                                 lethe_tape_wrap(t, LETHE_DTYPE_F64, 2, ws, wd, gwd),
                                 lethe_tape_wrap(t, LETHE_DTYPE_F64, 1, bs, bd, gbd), TRUE);
  CU_ASSERT_TRUE(lethe_tape_backward(t, lethe_op_cross_entropy(t, yd, labels4, 0), NULL));
  LetheVar *yf = lethe_op_linear(t, lethe_tape_wrap(t, LETHE_DTYPE_F32, 2, xs, xf, gxf),
                                 lethe_tape_wrap(t, LETHE_DTYPE_F32, 2, ws, wf, gwf),
                                 lethe_tape_wrap(t, LETHE_DTYPE_F32, 1, bs, bf, gbf), TRUE);
  CU_ASSERT_EQUAL(yf->dtype, LETHE_DTYPE_F32);
  CU_ASSERT_TRUE(lethe_tape_backward(t, lethe_op_cross_entropy(t, yf, labels4, 0), NULL));
  for (int i = 0; i < 15; i++)
    CU_ASSERT_DOUBLE_EQUAL(gwf[i], gwd[i], 1e-5);
  for (int i = 0; i < 20; i++)
    CU_ASSERT_DOUBLE_EQUAL(gxf[i], gxd[i], 1e-5);
  lethe_tape_free(t);
}

LETHE_TEST_MAIN("nn-gradcheck", LETHE_TEST(test_gradcheck_every_op_matches_finite_differences),
                LETHE_TEST(test_gradcheck_f32_linear_matches_f64))
