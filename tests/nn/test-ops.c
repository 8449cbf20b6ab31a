/* Lethe — ops, pooling and losses on hand-computed cases; op errors.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <lethe/lethe.h>
#include <lethe/nn-ops.h>
#include <math.h>

static LetheTape *tape;

/* An f64 leaf holding @vals, with a gradient buffer. */
static LetheVar *
var(guint rank, const gint64 *shape, const double *vals)
{
  gint64 n = 1;
  for (guint i = 0; i < rank; i++)
    n *= shape[i];
  LetheVar *v = lethe_tape_new_leaf(tape, LETHE_DTYPE_F64, rank, shape, TRUE);
  memcpy(v->data, vals, n * sizeof(double));
  return v;
}

#define VAR(rank, shape_list, ...) var(rank, (gint64[])shape_list, (double[]){__VA_ARGS__})
#define SHAPE(...)                                                                                 \
  {                                                                                                \
    __VA_ARGS__                                                                                    \
  }

static void
assert_values(const LetheVar *v, const double *want, gint64 n, double tol)
{
  CU_ASSERT_PTR_NOT_NULL_FATAL(v);
  CU_ASSERT_EQUAL_FATAL(v->n, n);
  for (gint64 i = 0; i < n; i++) {
    if (fabs(lethe_var_get(v, i) - want[i]) > tol)
      fprintf(stderr, "\n  element %" G_GINT64_FORMAT ": %.9g, expected %.9g\n", i,
              lethe_var_get(v, i), want[i]);
    CU_ASSERT_DOUBLE_EQUAL(lethe_var_get(v, i), want[i], tol);
  }
}

#define ASSERT_VALUES(v, tol, ...)                                                                 \
  do {                                                                                             \
    const double w_[] = {__VA_ARGS__};                                                             \
    assert_values((v), w_, G_N_ELEMENTS(w_), (tol));                                               \
  } while (0)

static void
setup(void)
{
  if (!tape)
    tape = lethe_tape_new();
  lethe_tape_reset(tape);
}

static void
test_conv2d_hand_computed(void)
{
  setup();
  LetheVar *x = VAR(4, SHAPE(1, 1, 3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9);
  LetheVar *w = VAR(4, SHAPE(1, 1, 2, 2), 1, 0, 0, -1);
  ASSERT_VALUES(lethe_op_conv2d(tape, x, w, NULL, 1, 0), 1e-12, -4, -4, -4, -4);
  LetheVar *ones = VAR(4, SHAPE(1, 1, 2, 2), 1, 1, 1, 1);
  LetheVar *b = VAR(1, SHAPE(1), 0.5);
  /* pad 1, stride 2: windows {1}, {2,3}, {4,7}, {5,6,8,9} */
  LetheVar *y = lethe_op_conv2d(tape, x, ones, b, 2, 1);
  ASSERT_VALUES(y, 1e-12, 1.5, 5.5, 11.5, 28.5);
  CU_ASSERT_EQUAL(y->shape[2], 2);
  /* d(sum y)/dx counts how many windows see each pixel. */
  CU_ASSERT_TRUE(lethe_tape_backward(tape, lethe_op_sum(tape, y), NULL));
  const double *gx = x->grad;
  const double want[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  for (int i = 0; i < 9; i++)
    CU_ASSERT_DOUBLE_EQUAL(gx[i], want[i], 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(((double *)b->grad)[0], 4, 1e-12);
}

static void
test_conv1d_hand_computed(void)
{
  setup();
  LetheVar *x = VAR(3, SHAPE(1, 1, 5), 1, 2, 3, 4, 5);
  LetheVar *w = VAR(3, SHAPE(1, 1, 3), 1, 2, 3);
  LetheVar *b = VAR(1, SHAPE(1), 1);
  ASSERT_VALUES(lethe_op_conv1d(tape, x, w, b, 1, 0), 1e-12, 15, 21, 27);
  ASSERT_VALUES(lethe_op_conv1d(tape, x, w, NULL, 2, 1), 1e-12, 8, 20, 14);
}

static void
test_pooling_hand_computed(void)
{
  setup();
  double v[16];
  for (int i = 0; i < 16; i++)
    v[i] = i + 1;
  LetheVar *x = var(4, (gint64[]){1, 1, 4, 4}, v);
  LetheVar *mx = lethe_op_max_pool2d(tape, x, 2, 2);
  ASSERT_VALUES(mx, 1e-12, 6, 8, 14, 16);
  ASSERT_VALUES(lethe_op_avg_pool2d(tape, x, 2, 2), 1e-12, 3.5, 5.5, 11.5, 13.5);
  ASSERT_VALUES(lethe_op_max_pool2d(tape, x, 3, 1), 1e-12, 11, 12, 15, 16);
  ASSERT_VALUES(lethe_op_global_avg_pool(tape, x), 1e-12, 8.5);
  ASSERT_VALUES(lethe_op_global_max_pool(tape, x), 1e-12, 16);
  LetheVar *s = VAR(3, SHAPE(1, 1, 6), 3, 1, 4, 1, 5, 9);
  ASSERT_VALUES(lethe_op_max_pool1d(tape, s, 2, 2), 1e-12, 3, 4, 9);
  ASSERT_VALUES(lethe_op_avg_pool1d(tape, s, 3, 3), 1e-12, 8.0 / 3, 5);
  CU_ASSERT_TRUE(lethe_tape_backward(tape, lethe_op_sum(tape, mx), NULL));
  const double *g = x->grad;
  for (int i = 0; i < 16; i++)
    CU_ASSERT_EQUAL(g[i], (i == 5 || i == 7 || i == 13 || i == 15) ? 1.0 : 0.0);
  LetheVar *u = VAR(4, SHAPE(1, 1, 1, 2), 1, 2);
  ASSERT_VALUES(lethe_op_upsample_nearest(tape, u, 2), 1e-12, 1, 1, 2, 2, 1, 1, 2, 2);
}

static void
test_losses_hand_computed(void)
{
  setup();
  const gint32 one[1] = {1}, zero[1] = {0};
  const double lse = log(exp(2.0) + 1);
  LetheVar *z = VAR(2, SHAPE(1, 2), 2, 0);
  ASSERT_VALUES(lethe_op_cross_entropy(tape, z, one, 0.0), 1e-12, lse);
  ASSERT_VALUES(lethe_op_cross_entropy(tape, z, one, 0.2), 1e-12,
                0.8 * lse + 0.1 * ((lse - 2) + lse));
  /* d CE / d logits = softmax − onehot */
  LetheVar *ce = lethe_op_cross_entropy(tape, z, zero, 0.0);
  CU_ASSERT_TRUE(lethe_tape_backward(tape, ce, NULL));
  const double p0 = exp(2.0) / (exp(2.0) + 1);
  CU_ASSERT_DOUBLE_EQUAL(((double *)z->grad)[0], p0 - 1, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(((double *)z->grad)[1], 1 - p0, 1e-12);

  LetheVar *a = VAR(1, SHAPE(3), 1, 2, 3), *b = VAR(1, SHAPE(3), 1, 0, 0);
  ASSERT_VALUES(lethe_op_mse(tape, a, b), 1e-12, 13.0 / 3);
  ASSERT_VALUES(lethe_op_huber(tape, a, b, 1.0), 1e-12, (0 + 1.5 + 2.5) / 3);
  LetheVar *lg = VAR(1, SHAPE(2), 0, 2), *t = VAR(1, SHAPE(2), 1, 0);
  ASSERT_VALUES(lethe_op_bce_with_logits(tape, lg, t), 1e-12, (log(2.0) + lse) / 2);

  LetheVar *st = VAR(2, SHAPE(1, 2), 0, 0), *te = VAR(2, SHAPE(1, 2), log(3.0), 0);
  ASSERT_VALUES(lethe_op_kl_div(tape, st, te, 1.0), 1e-12, 0.75 * log(1.5) + 0.25 * log(0.5));
  const double q0 = sqrt(3.0) / (sqrt(3.0) + 1), q1 = 1 - q0;
  ASSERT_VALUES(lethe_op_kl_div(tape, st, te, 2.0), 1e-12,
                4 * (q0 * log(2 * q0) + q1 * log(2 * q1)));
  ASSERT_VALUES(lethe_op_kl_div(tape, te, te, 3.0), 1e-12, 0);

  LetheVar *c1 = VAR(2, SHAPE(2, 2), 1, 0, 1, 1), *c2 = VAR(2, SHAPE(2, 2), 0, 1, 2, 2);
  ASSERT_VALUES(lethe_op_cosine_loss(tape, c1, c2), 1e-12, 0.5);

  const gint32 first[1] = {0};
  LetheVar *h = VAR(2, SHAPE(1, 3), 1, 0.5, -1);
  ASSERT_VALUES(lethe_op_hinge(tape, h, first, 1.0), 1e-12, 0.5 / 3);

  LetheVar *zz = VAR(2, SHAPE(4, 2), 1, 0, 0, 1, 1, 0, 0, 1);
  ASSERT_VALUES(lethe_op_nt_xent(tape, zz, 1.0), 1e-12, log(2 + exp(1.0)) - 1);
  ASSERT_VALUES(lethe_op_nt_xent(tape, zz, 0.5), 1e-12, log(2 + exp(2.0)) - 2);
}

static void
test_softmax_family_and_norms_hand_computed(void)
{
  setup();
  LetheVar *x = VAR(2, SHAPE(1, 2), 0, log(3.0));
  ASSERT_VALUES(lethe_op_logsumexp(tape, x), 1e-12, log(4.0));
  ASSERT_VALUES(lethe_op_softmax(tape, x), 1e-12, 0.25, 0.75);
  ASSERT_VALUES(lethe_op_log_softmax(tape, x), 1e-12, log(0.25), log(0.75));
  /* Large logits do not overflow. */
  LetheVar *big = VAR(2, SHAPE(1, 2), 1000, 1000);
  ASSERT_VALUES(lethe_op_logsumexp(tape, big), 1e-9, 1000 + log(2.0));
  LetheVar *r = VAR(2, SHAPE(1, 3), 1, 2, 3);
  const double s = sqrt(2.0 / 3);
  ASSERT_VALUES(lethe_op_layer_norm(tape, r, NULL, NULL, 1e-12), 1e-9, -1 / s, 0, 1 / s);
  ASSERT_VALUES(lethe_op_l2_normalize(tape, VAR(2, SHAPE(1, 2), 3, 4), 1e-12), 1e-12, 0.6, 0.8);
  double rm[1] = {0}, rv[1] = {1};
  LetheVar *bx = VAR(2, SHAPE(2, 1), 1, 3);
  ASSERT_VALUES(lethe_op_batch_norm(tape, bx, NULL, NULL, rm, rv, TRUE, 0.1, 1e-12), 1e-9, -1, 1);
  CU_ASSERT_DOUBLE_EQUAL(rm[0], 0.2, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(rv[0], 0.9 + 0.1 * 2, 1e-12); /* unbiased variance 2 */
  /* Frozen statistics: (x − 0.2)/√1.1 */
  ASSERT_VALUES(lethe_op_batch_norm(tape, bx, NULL, NULL, rm, rv, FALSE, 0.1, 0), 1e-9,
                0.8 / sqrt(1.1), 2.8 / sqrt(1.1));
  ASSERT_VALUES(lethe_op_gelu(tape, VAR(1, SHAPE(2), 0, 1)), 1e-9, 0, 0.5 * (1 + erf(M_SQRT1_2)));
  ASSERT_VALUES(lethe_op_sign(tape, VAR(1, SHAPE(3), -2, 0, 5), FALSE), 0, -1, 0, 1);
}

static void
test_shape_ops_hand_computed(void)
{
  setup();
  LetheVar *a = VAR(2, SHAPE(2, 2), 1, 2, 3, 4), *b = VAR(2, SHAPE(2, 1), 5, 6);
  LetheVar *parts[2] = {a, b};
  ASSERT_VALUES(lethe_op_concat(tape, parts, 2, 1), 0, 1, 2, 5, 3, 4, 6);
  ASSERT_VALUES(lethe_op_slice(tape, a, 1, 1, 2), 0, 2, 4);
  ASSERT_VALUES(lethe_op_add(tape, a, VAR(1, SHAPE(2), 10, 20)), 0, 11, 22, 13, 24);
  ASSERT_VALUES(lethe_op_mul(tape, a, b), 0, 5, 10, 18, 24);
  ASSERT_VALUES(lethe_op_sum_axis(tape, a, 0), 0, 4, 6);
  ASSERT_VALUES(lethe_op_matmul(tape, a, a, FALSE, TRUE), 1e-12, 5, 11, 11, 25);
  gint64 ids[3] = {1, 1, 0};
  ASSERT_VALUES(lethe_op_embedding(tape, a, ids, 3), 0, 3, 4, 3, 4, 1, 2);
}

static void
test_op_errors_name_the_op_and_shapes(void)
{
  setup();
  GError *error = NULL;
  LetheVar *a = VAR(2, SHAPE(2, 3), 1, 2, 3, 4, 5, 6), *b = VAR(1, SHAPE(4), 1, 2, 3, 4);
  CU_ASSERT_PTR_NULL(lethe_op_add(tape, a, b));
  /* Later ops given NULL keep returning NULL; the first error is kept. */
  CU_ASSERT_PTR_NULL(lethe_op_relu(tape, lethe_op_matmul(tape, NULL, a, FALSE, FALSE)));
  CU_ASSERT_FALSE(lethe_tape_check(tape, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                     "add: shapes [2, 3] and [4] do not broadcast");
  CU_ASSERT_FALSE(lethe_tape_backward(tape, a, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC, "do not broadcast");

  setup();
  a = VAR(2, SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
  CU_ASSERT_PTR_NULL(lethe_op_matmul(tape, a, a, FALSE, FALSE));
  CU_ASSERT_FALSE(lethe_tape_check(tape, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC, "matmul: inner dimensions differ");

  setup();
  a = VAR(2, SHAPE(2, 3), 1, 2, 3, 4, 5, 6);
  const gint32 bad[2] = {0, 3};
  CU_ASSERT_PTR_NULL(lethe_op_cross_entropy(tape, a, bad, 0));
  CU_ASSERT_FALSE(lethe_tape_check(tape, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                     "label 3 of sample 1 is outside [0, 3)");

  setup();
  LetheVar *img = VAR(4, SHAPE(1, 2, 2, 2), 1, 2, 3, 4, 5, 6, 7, 8);
  LetheVar *w = VAR(4, SHAPE(1, 3, 1, 1), 1, 1, 1);
  CU_ASSERT_PTR_NULL(lethe_op_conv2d(tape, img, w, NULL, 1, 0));
  CU_ASSERT_FALSE(lethe_tape_check(tape, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                     "conv2d: input [1, 2, 2, 2] and weight [1, 3, 1, 1] do not fit");

  setup();
  LetheVar *f = lethe_tape_new_leaf(tape, LETHE_DTYPE_F32, 1, (gint64[]){2}, TRUE);
  CU_ASSERT_PTR_NULL(lethe_op_add(tape, f, VAR(1, SHAPE(2), 1, 2)));
  CU_ASSERT_FALSE(lethe_tape_check(tape, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC, "different dtypes (f32 and f64)");

  setup();
  CU_ASSERT_FALSE(lethe_tape_backward(tape, VAR(1, SHAPE(2), 1, 2), &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "the loss must be a scalar");
}

static void
test_flat_vector_helpers(void)
{
  g_autoptr(LetheTensor) a = lethe_tensor_new_1d(LETHE_DTYPE_F32, 3);
  g_autoptr(LetheTensor) b = lethe_tensor_new_1d(LETHE_DTYPE_F32, 3);
  for (int i = 0; i < 3; i++) {
    lethe_tensor_f32(a)[i] = i + 1;
    lethe_tensor_f32(b)[i] = 2;
  }
  CU_ASSERT_DOUBLE_EQUAL(lethe_nn_dot(a, b), 12, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(lethe_nn_norm2(a), sqrt(14.0), 1e-6);
  lethe_nn_axpy(-0.5, b, a);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(a)[2], 2, 1e-12);
  lethe_nn_scale(a, 2);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(a)[0], 0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(a)[1], 2, 1e-12);
}

static void
test_input_gradients_for_adversarial_examples(void)
{
  setup();
  /* d/dx of CE(x·wᵀ) reaches the input leaf. */
  g_autoptr(LetheTensor) x = lethe_tensor_new_2d(LETHE_DTYPE_F64, 1, 2);
  lethe_tensor_f64(x)[0] = 1;
  lethe_tensor_f64(x)[1] = -1;
  LetheVar *xv = lethe_tape_input(tape, x, TRUE);
  LetheVar *w = VAR(2, SHAPE(2, 2), 1, 0, 0, 1);
  const gint32 y[1] = {0};
  LetheVar *loss = lethe_op_cross_entropy(tape, lethe_op_linear(tape, xv, w, NULL, FALSE), y, 0);
  CU_ASSERT_TRUE(lethe_tape_backward(tape, loss, NULL));
  const double p0 = exp(1.0) / (exp(1.0) + exp(-1.0));
  CU_ASSERT_DOUBLE_EQUAL(((double *)xv->grad)[0], p0 - 1, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(((double *)xv->grad)[1], 1 - p0, 1e-12);
}

LETHE_TEST_MAIN("nn-ops", LETHE_TEST(test_conv2d_hand_computed),
                LETHE_TEST(test_conv1d_hand_computed), LETHE_TEST(test_pooling_hand_computed),
                LETHE_TEST(test_losses_hand_computed),
                LETHE_TEST(test_softmax_family_and_norms_hand_computed),
                LETHE_TEST(test_shape_ops_hand_computed),
                LETHE_TEST(test_op_errors_name_the_op_and_shapes),
                LETHE_TEST(test_flat_vector_helpers),
                LETHE_TEST(test_input_gradients_for_adversarial_examples))
