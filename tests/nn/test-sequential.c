/* Lethe — the sequential model: training, reproducibility, hooks, frames, errors.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <lethe/lethe.h>
#include <lethe/nn.h>
#include <math.h>

#define MLP_ARCH "flatten linear(2,16) relu linear(16,16) relu linear(16,4)"

/* Four Gaussian blobs in 2-D, one per class. */
static void
make_blobs(guint64 seed, gint64 n, LetheTensor **x, LetheTensor **y)
{
  static const float centres[4][2] = {{2, 2}, {-2, 2}, {-2, -2}, {2, -2}};
  LetheRng rng;
  lethe_rng_init(&rng, seed);
  *x = lethe_tensor_new_2d(LETHE_DTYPE_F32, n, 2);
  *y = lethe_tensor_new_1d(LETHE_DTYPE_I32, n);
  for (gint64 i = 0; i < n; i++) {
    gint32 c = lethe_rng_below(&rng, 4);
    lethe_tensor_i32(*y)[i] = c;
    lethe_tensor_f32(*x)[2 * i] = centres[c][0] + 0.7f * lethe_rng_normal(&rng);
    lethe_tensor_f32(*x)[2 * i + 1] = centres[c][1] + 0.7f * lethe_rng_normal(&rng);
  }
}

static double
accuracy(LetheSequential *seq, LetheTensor *x, LetheTensor *y)
{
  g_autoptr(LetheTensor) out = lethe_sequential_predict(seq, x, 64, NULL);
  g_assert(out != NULL);
  gint64 n = x->shape[0], k = out->shape[1], right = 0;
  for (gint64 i = 0; i < n; i++) {
    gint64 best = 0;
    for (gint64 j = 1; j < k; j++)
      if (lethe_tensor_f32(out)[i * k + j] > lethe_tensor_f32(out)[i * k + best])
        best = j;
    right += best == lethe_tensor_i32(y)[i];
  }
  return (double)right / n;
}

static LetheSequential *
train_mlp(guint64 seed, guint epochs, double *final_loss)
{
  g_autoptr(LetheTensor) x = NULL;
  g_autoptr(LetheTensor) y = NULL;
  make_blobs(1, 512, &x, &y);
  GError *error = NULL;
  LetheSequential *seq = lethe_sequential_new(MLP_ARCH, seed, &error);
  LETHE_ASSERT_NO_ERROR(error);
  LetheOptimConfig cfg;
  lethe_optim_config_init(&cfg, LETHE_OPTIM_ADAM, 1e-2);
  LetheOptimizer *opt = lethe_optimizer_new(lethe_sequential_get_params(seq), &cfg);
  LetheRng rng;
  lethe_rng_init(&rng, seed);
  for (guint e = 0; e < epochs; e++) {
    gboolean ok = lethe_sequential_train_epoch(seq, opt, x, y, 32, &rng, NULL, NULL, NULL,
                                               final_loss, &error);
    LETHE_ASSERT_NO_ERROR(error);
    CU_ASSERT_TRUE(ok);
  }
  lethe_optimizer_free(opt);
  return seq;
}

static void
test_sequential_mlp_learns_blobs(void)
{
  double loss = 0;
  LetheSequential *seq = train_mlp(5, 10, &loss);
  g_autoptr(LetheTensor) x = NULL;
  g_autoptr(LetheTensor) y = NULL;
  make_blobs(2, 512, &x, &y); /* held-out draw */
  double acc = accuracy(seq, x, y);
  if (acc < 0.9)
    fprintf(stderr, "\n  accuracy %.3f, final loss %.4f\n", acc, loss);
  CU_ASSERT_TRUE(acc >= 0.9);
  CU_ASSERT_TRUE(loss < 0.4);
  lethe_sequential_free(seq);
}

static void
test_sequential_training_is_bit_identical_for_a_seed(void)
{
  double l1, l2, l3;
  LetheSequential *a = train_mlp(11, 2, &l1), *b = train_mlp(11, 2, &l2),
                  *c = train_mlp(12, 2, &l3);
  g_autoptr(LetheTensor) fa = lethe_params_flat_values(lethe_sequential_get_params(a));
  g_autoptr(LetheTensor) fb = lethe_params_flat_values(lethe_sequential_get_params(b));
  g_autoptr(LetheTensor) fc = lethe_params_flat_values(lethe_sequential_get_params(c));
  CU_ASSERT_EQUAL(lethe_tensor_n_bytes(fa), lethe_tensor_n_bytes(fb));
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_data(fa), lethe_tensor_data(fb), lethe_tensor_n_bytes(fa)),
                  0);
  CU_ASSERT_EQUAL(l1, l2);
  CU_ASSERT_NOT_EQUAL(
      memcmp(lethe_tensor_data(fa), lethe_tensor_data(fc), lethe_tensor_n_bytes(fa)), 0);
  lethe_sequential_free(a);
  lethe_sequential_free(b);
  lethe_sequential_free(c);
}

/* A small CNN trained with @threads threads; returns its flat parameters. */
static LetheTensor *
train_cnn(guint threads, guint64 seed)
{
  lethe_nn_set_threads(threads);
  GError *error = NULL;
  LetheSequential *seq = lethe_sequential_new(
      "conv2d(1,4,3,pad=1) relu maxpool(2) conv2d(4,6,3,pad=1) relu maxpool(2) flatten "
      "linear(294,16) relu dropout(0.2) linear(16,3)",
      seed, &error);
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheTensor) x = lethe_tensor_new(LETHE_DTYPE_F32, 4, (gint64[]){96, 1, 28, 28});
  g_autoptr(LetheTensor) y = lethe_tensor_new_1d(LETHE_DTYPE_I32, 96);
  LetheRng rng;
  lethe_rng_init(&rng, 77);
  lethe_rng_fill_normal_f32(&rng, lethe_tensor_f32(x), 96 * 784, 0, 1);
  for (int i = 0; i < 96; i++)
    lethe_tensor_i32(y)[i] = lethe_tensor_f32(x)[i * 784 + 400] > 0 ? 1 : (i % 2 ? 2 : 0);
  LetheOptimConfig cfg;
  lethe_optim_config_init(&cfg, LETHE_OPTIM_ADAMW, 3e-3);
  LetheOptimizer *opt = lethe_optimizer_new(lethe_sequential_get_params(seq), &cfg);
  lethe_rng_init(&rng, seed);
  for (int e = 0; e < 2; e++)
    CU_ASSERT_TRUE(
        lethe_sequential_train_epoch(seq, opt, x, y, 32, &rng, NULL, NULL, NULL, NULL, &error));
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheTensor) flat = lethe_params_flat_values(lethe_sequential_get_params(seq));
  LetheTensor *copy = lethe_tensor_copy(flat);
  lethe_optimizer_free(opt);
  lethe_sequential_free(seq);
  lethe_nn_set_threads(1);
  return copy;
}

static void
test_sequential_training_is_bit_identical_with_two_threads(void)
{
  g_autoptr(LetheTensor) a = train_cnn(2, 5);
  g_autoptr(LetheTensor) b = train_cnn(2, 5);
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_data(a), lethe_tensor_data(b), lethe_tensor_n_bytes(a)), 0);
  g_autoptr(LetheTensor) c = train_cnn(1, 5);
  g_autoptr(LetheTensor) d = train_cnn(1, 5);
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_data(c), lethe_tensor_data(d), lethe_tensor_n_bytes(c)), 0);
}

static void
test_sequential_parameters_have_pytorch_names_and_shapes(void)
{
  GError *error = NULL;
  LetheSequential *seq = lethe_sequential_new(
      "conv2d(1,16,3,pad=1) relu maxpool(2) conv2d(16,32,3,pad=1) relu maxpool(2) flatten "
      "linear(1568,128) relu linear(128,10)",
      1, &error);
  LETHE_ASSERT_NO_ERROR(error);
  LetheParams *p = lethe_sequential_get_params(seq);
  CU_ASSERT_EQUAL(lethe_params_get_n(p), 8);
  CU_ASSERT_STRING_EQUAL(lethe_params_get_name(p, 0), "0.weight");
  CU_ASSERT_STRING_EQUAL(lethe_params_get_name(p, 3), "3.bias");
  CU_ASSERT_STRING_EQUAL(lethe_params_get_name(p, 4), "7.weight");
  g_autofree char *s = lethe_tensor_shape_string(lethe_params_get_value(p, 4));
  CU_ASSERT_STRING_EQUAL(s, "[128, 1568]");
  CU_ASSERT_EQUAL(lethe_params_get_n_elements(p),
                  16 * 9 + 16 + 32 * 16 * 9 + 32 + 1568 * 128 + 128 + 1280 + 10);
  /* PyTorch's init bound 1/sqrt(fan_in). */
  LetheTensor *w = lethe_params_get_value(p, 0);
  float mx = 0;
  for (gint64 i = 0; i < lethe_tensor_n_elements(w); i++)
    mx = MAX(mx, fabsf(lethe_tensor_f32(w)[i]));
  CU_ASSERT_TRUE(mx <= 1 / 3.0f && mx > 0.25f);
  /* A forward pass gives [N, 10]. */
  g_autoptr(LetheTensor) x = lethe_tensor_new(LETHE_DTYPE_F32, 4, (gint64[]){3, 1, 28, 28});
  g_autoptr(LetheTensor) out = lethe_sequential_predict(seq, x, 2, &error);
  LETHE_ASSERT_NO_ERROR(error);
  g_autofree char *so = lethe_tensor_shape_string(out);
  CU_ASSERT_STRING_EQUAL(so, "[3, 10]");
  lethe_sequential_free(seq);
}

static void
test_sequential_arch_errors_name_token_and_position(void)
{
  GError *error = NULL;
  CU_ASSERT_PTR_NULL(lethe_sequential_new("flatten linear(4,8) relux linear(8,2)", 0, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_PARSE, "layer 2 'relux' at character 20");
  CU_ASSERT_PTR_NULL(lethe_sequential_new("flatten linear(4,8) relux", 0, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_PARSE, "known layers: linear, conv2d");
  CU_ASSERT_PTR_NULL(lethe_sequential_new("linear(784)", 0, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_PARSE, "missing argument 'out'");
  CU_ASSERT_PTR_NULL(lethe_sequential_new("conv2d(1,16,3,padding=1)", 0, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_PARSE, "takes no argument 'padding'");
  CU_ASSERT_PTR_NULL(lethe_sequential_new("linear(4,x)", 0, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_PARSE, "'x' is not a number");
  CU_ASSERT_PTR_NULL(lethe_sequential_new("linear(4,2", 0, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_PARSE, "missing ')'");
  CU_ASSERT_PTR_NULL(lethe_sequential_new("dropout(1.5)", 0, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_PARSE, "p = 1.5 must be in [0, 1)");
  CU_ASSERT_PTR_NULL(lethe_sequential_new("   ", 0, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_PARSE, "empty");
}

static void
test_sequential_shape_mismatch_names_the_layer(void)
{
  GError *error = NULL;
  LetheSequential *seq = lethe_sequential_new("flatten linear(5,3) relu linear(3,2)", 0, &error);
  g_autoptr(LetheTensor) x = lethe_tensor_new_2d(LETHE_DTYPE_F32, 4, 6);
  CU_ASSERT_PTR_NULL(lethe_sequential_predict(seq, x, 0, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                     "layer 1 'linear(5,3)' (character 8 of the arch): linear: input [4, 6]");
  lethe_sequential_free(seq);
  seq = lethe_sequential_new("linear(6,3)", 0, &error);
  g_autoptr(LetheTensor) x3 = lethe_tensor_new(LETHE_DTYPE_F32, 3, (gint64[]){2, 2, 3});
  CU_ASSERT_PTR_NULL(lethe_sequential_predict(seq, x3, 0, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC, "put 'flatten' before it");
  lethe_sequential_free(seq);
}

static void
test_sequential_frame_round_trip_through_the_model_kind(void)
{
  GError *error = NULL;
  LetheSequential *seq = lethe_sequential_new(MLP_ARCH, 3, &error);
  g_autoptr(LetheTensor) x = NULL;
  g_autoptr(LetheTensor) y = NULL;
  make_blobs(4, 40, &x, &y);
  g_autoptr(LetheFrame) frame = lethe_sequential_to_frame(seq, 7);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(frame, "model-kind", ""), "sequential");
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(frame, "arch", ""), MLP_ARCH);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(frame, "version", -1), 7);
  g_autoptr(LetheTensor) direct = lethe_sequential_predict(seq, x, 16, &error);
  LetheTensor *via = NULL;
  CU_ASSERT_TRUE(lethe_model_forward(frame, x, &via, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(
      memcmp(lethe_tensor_data(direct), lethe_tensor_data(via), lethe_tensor_n_bytes(direct)), 0);
  lethe_tensor_unref(via);
  /* loss_grad through the core equals the model's own. */
  LetheFrame *grads = NULL;
  double loss1 = 0, loss2 = 0;
  CU_ASSERT_TRUE(lethe_model_loss_grad(frame, x, y, &grads, &loss1, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_TRUE(lethe_sequential_loss_grad(seq, x, y, &loss2, &error));
  CU_ASSERT_DOUBLE_EQUAL(loss1, loss2, 1e-6);
  CU_ASSERT_TRUE(loss1 > 0.5); /* untrained on 4 classes: about ln 4 */
  LetheParams *p = lethe_sequential_get_params(seq);
  LetheTensor *g0 = lethe_frame_get_tensor(grads, "1.weight");
  CU_ASSERT_PTR_NOT_NULL_FATAL(g0);
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_data(g0), lethe_tensor_data(lethe_params_get_grad(p, 0)),
                         lethe_tensor_n_bytes(g0)),
                  0);
  lethe_frame_unref(grads);
  lethe_sequential_free(seq);
}

static void
test_sequential_frame_that_does_not_fit_its_arch_is_refused(void)
{
  GError *error = NULL;
  LetheSequential *seq = lethe_sequential_new(MLP_ARCH, 3, &error);
  g_autoptr(LetheFrame) f = lethe_sequential_to_frame(seq, 1);
  lethe_frame_remove_tensor(f, "3.bias");
  CU_ASSERT_PTR_NULL(lethe_sequential_new_from_frame(f, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "tensor '3.bias' (layer 3 'linear(16,16)', shape [16]) is missing");
  lethe_frame_take_tensor(f, "3.bias", lethe_tensor_new_1d(LETHE_DTYPE_F32, 15));
  CU_ASSERT_PTR_NULL(lethe_sequential_new_from_frame(f, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "tensor '3.bias' has shape [15] but layer 3 'linear(16,16)' needs [16]");
  lethe_frame_take_tensor(f, "3.bias", lethe_tensor_new_1d(LETHE_DTYPE_F32, 16));
  lethe_frame_take_tensor(f, "9.weight", lethe_tensor_new_1d(LETHE_DTYPE_F32, 16));
  CU_ASSERT_PTR_NULL(lethe_sequential_new_from_frame(f, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "tensor '9.weight' is not a parameter");
  lethe_frame_remove_tensor(f, "9.weight");
  LetheSequential *ok = lethe_sequential_new_from_frame(f, &error);
  LETHE_ASSERT_NO_ERROR(error);
  lethe_sequential_free(ok);
  lethe_sequential_free(seq);
}

/* A model made from a frame reads the frame's tensors in place, but
 * training never writes into them (they may be shared downstream). */
static void
test_sequential_training_does_not_write_into_the_source_frame(void)
{
  GError *error = NULL;
  LetheSequential *src = lethe_sequential_new(MLP_ARCH, 3, &error);
  g_autoptr(LetheFrame) f = lethe_sequential_to_frame(src, 1);
  g_autoptr(LetheFrame) keep = lethe_sequential_to_frame(src, 1);
  LetheSequential *seq = lethe_sequential_new_from_frame(f, &error);
  LETHE_ASSERT_NO_ERROR(error);
  LetheTensor *w = lethe_frame_get_tensor(f, "1.weight");
  CU_ASSERT_EQUAL(lethe_tensor_data(lethe_params_get_value(lethe_sequential_get_params(seq), 0)),
                  lethe_tensor_data(w)); /* zero-copy until training */
  LetheOptimConfig cfg;
  lethe_optim_config_init(&cfg, LETHE_OPTIM_SGD, 0.5);
  LetheOptimizer *opt = lethe_optimizer_new(lethe_sequential_get_params(seq), &cfg);
  g_autoptr(LetheTensor) x = NULL;
  g_autoptr(LetheTensor) y = NULL;
  make_blobs(4, 64, &x, &y);
  LetheRng rng;
  lethe_rng_init(&rng, 1);
  CU_ASSERT_TRUE(
      lethe_sequential_train_epoch(seq, opt, x, y, 16, &rng, NULL, NULL, NULL, NULL, &error));
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_data(w),
                         lethe_tensor_data(lethe_frame_get_tensor(keep, "1.weight")),
                         lethe_tensor_n_bytes(w)),
                  0);
  CU_ASSERT_NOT_EQUAL(
      memcmp(lethe_tensor_data(w),
             lethe_tensor_data(lethe_params_get_value(lethe_sequential_get_params(seq), 0)),
             lethe_tensor_n_bytes(w)),
      0);
  lethe_optimizer_free(opt);
  lethe_sequential_free(seq);
  lethe_sequential_free(src);
}

static void
test_sequential_nan_stops_training_naming_step_and_tensor(void)
{
  GError *error = NULL;
  LetheSequential *seq = lethe_sequential_new(MLP_ARCH, 3, &error);
  LetheParams *p = lethe_sequential_get_params(seq);
  lethe_tensor_f32(lethe_params_get_value(p, 2))[5] = NAN; /* 3.weight */
  g_autoptr(LetheTensor) x = NULL;
  g_autoptr(LetheTensor) y = NULL;
  make_blobs(4, 64, &x, &y);
  LetheOptimConfig cfg;
  lethe_optim_config_init(&cfg, LETHE_OPTIM_SGD, 0.1);
  LetheOptimizer *opt = lethe_optimizer_new(p, &cfg);
  LetheRng rng;
  lethe_rng_init(&rng, 1);
  CU_ASSERT_FALSE(
      lethe_sequential_train_epoch(seq, opt, x, y, 16, &rng, NULL, NULL, NULL, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                     "diverged at step 1 (step 1 of 4 in this epoch)");
  CU_ASSERT_FALSE(
      lethe_sequential_train_epoch(seq, opt, x, y, 16, &rng, NULL, NULL, NULL, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC, "parameter '3.weight'");
  /* A huge learning rate diverges later, and names where. */
  lethe_optimizer_free(opt);
  lethe_sequential_free(seq);
}

static void
count_steps(guint64 step, guint64 n_steps, double loss, gpointer data)
{
  GCancellable *c = data;
  if (step == 2)
    g_cancellable_cancel(c);
}

static void
test_sequential_training_rejects_bad_labels_and_stops_when_cancelled(void)
{
  GError *error = NULL;
  LetheSequential *seq = lethe_sequential_new(MLP_ARCH, 3, &error);
  g_autoptr(LetheTensor) x = NULL;
  g_autoptr(LetheTensor) y = NULL;
  make_blobs(4, 64, &x, &y);
  LetheOptimConfig cfg;
  lethe_optim_config_init(&cfg, LETHE_OPTIM_SGD, 0.1);
  LetheOptimizer *opt = lethe_optimizer_new(lethe_sequential_get_params(seq), &cfg);
  LetheRng rng;
  lethe_rng_init(&rng, 1);
  lethe_tensor_i32(y)[10] = 7; /* the model has 4 outputs */
  CU_ASSERT_FALSE(
      lethe_sequential_train_epoch(seq, opt, x, y, 64, &rng, NULL, NULL, NULL, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC, "label 7 of sample");
  lethe_tensor_i32(y)[10] = 1;
  g_autoptr(LetheTensor) short_y = lethe_tensor_new_1d(LETHE_DTYPE_I32, 63);
  CU_ASSERT_FALSE(
      lethe_sequential_train_epoch(seq, opt, x, short_y, 64, &rng, NULL, NULL, NULL, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "labels must be i32 or i64 of shape [64]");
  g_autoptr(GCancellable) cancel = g_cancellable_new();
  CU_ASSERT_FALSE(lethe_sequential_train_epoch(seq, opt, x, y, 8, &rng, cancel, count_steps, cancel,
                                               NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_CANCELLED, "training cancelled at step 3");
  CU_ASSERT_EQUAL(lethe_optimizer_get_n_steps(opt), 2);
  lethe_optimizer_free(opt);
  lethe_sequential_free(seq);
}

static LetheVar *
zero_hook(LetheSequential *seq, guint layer, LetheTape *tape, LetheVar *a, gpointer data)
{
  (*(int *)data)++;
  return lethe_op_scale(tape, a, 0.0, 0.0);
}

static void
test_sequential_hook_replaces_a_layer_activation(void)
{
  GError *error = NULL;
  LetheSequential *seq = lethe_sequential_new(MLP_ARCH, 3, &error);
  g_autoptr(LetheTensor) x = NULL;
  g_autoptr(LetheTensor) y = NULL;
  make_blobs(4, 8, &x, &y);
  int calls = 0;
  lethe_sequential_set_hook(seq, 4, zero_hook, &calls); /* the second relu */
  g_autoptr(LetheTensor) out = lethe_sequential_predict(seq, x, 3, &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(calls, 3);
  /* With its input zeroed, the last layer returns its bias. */
  LetheParams *p = lethe_sequential_get_params(seq);
  const float *bias = lethe_tensor_f32(lethe_params_get_value(p, lethe_params_find(p, "5.bias")));
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 4; j++)
      CU_ASSERT_EQUAL(lethe_tensor_f32(out)[i * 4 + j], bias[j]);
  /* Gradients flow around it: layer 1 gets none, layer 5 does. */
  double loss;
  CU_ASSERT_TRUE(lethe_sequential_loss_grad(seq, x, y, &loss, &error));
  CU_ASSERT_EQUAL(lethe_nn_norm2(lethe_params_get_grad(p, 0)), 0.0);
  CU_ASSERT_TRUE(lethe_nn_norm2(lethe_params_get_grad(p, 5)) > 0);
  lethe_sequential_set_hook(seq, 4, NULL, NULL);
  g_autoptr(LetheTensor) out2 = lethe_sequential_predict(seq, x, 3, &error);
  CU_ASSERT_NOT_EQUAL(lethe_tensor_f32(out2)[0], bias[0]);
  lethe_sequential_free(seq);
}

static LetheVar *
identity_hook(LetheSequential *seq, guint layer, LetheTape *tape, LetheVar *a, gpointer data)
{
  return a;
}

/* conv+relu+maxpool and linear+relu run fused unless a hook needs the
 * intermediate activation; both paths give the same numbers. */
static void
test_sequential_fused_layers_match_unfused(void)
{
  GError *error = NULL;
  LetheSequential *seq = lethe_sequential_new(
      "conv2d(1,4,3,pad=1) relu maxpool(2) conv2d(4,4,3) relu maxpool(2) flatten linear(100,8) "
      "relu linear(8,3)",
      4, &error);
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheTensor) x = lethe_tensor_new(LETHE_DTYPE_F32, 4, (gint64[]){5, 1, 24, 24});
  g_autoptr(LetheTensor) y = lethe_tensor_new_1d(LETHE_DTYPE_I32, 5);
  LetheRng rng;
  lethe_rng_init(&rng, 2);
  lethe_rng_fill_normal_f32(&rng, lethe_tensor_f32(x), 5 * 24 * 24, 0, 1);
  for (int i = 0; i < 5; i++)
    lethe_tensor_i32(y)[i] = i % 3;
  LetheParams *p = lethe_sequential_get_params(seq);
  g_autoptr(LetheTensor) fused = lethe_sequential_predict(seq, x, 2, &error);
  double l1, l2;
  CU_ASSERT_TRUE(lethe_sequential_loss_grad(seq, x, y, &l1, &error));
  g_autoptr(LetheTensor) gv = lethe_params_flat_grads(p);
  g_autoptr(LetheTensor) g1 = lethe_tensor_copy(gv);
  for (guint layer = 0; layer < 8; layer++)
    lethe_sequential_set_hook(seq, layer, identity_hook, NULL);
  g_autoptr(LetheTensor) plain = lethe_sequential_predict(seq, x, 2, &error);
  CU_ASSERT_TRUE(lethe_sequential_loss_grad(seq, x, y, &l2, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(
      memcmp(lethe_tensor_data(fused), lethe_tensor_data(plain), lethe_tensor_n_bytes(fused)), 0);
  CU_ASSERT_EQUAL(l1, l2);
  for (gint64 i = 0; i < lethe_tensor_n_elements(g1); i++)
    CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(g1)[i], lethe_tensor_f32(gv)[i], 1e-6);
  lethe_sequential_free(seq);
}

static void
test_sequential_clone_is_independent(void)
{
  double l;
  LetheSequential *seq = train_mlp(3, 1, &l);
  LetheSequential *c = lethe_sequential_clone(seq);
  g_autoptr(LetheTensor) a = lethe_params_flat_values(lethe_sequential_get_params(seq));
  g_autoptr(LetheTensor) b = lethe_params_flat_values(lethe_sequential_get_params(c));
  CU_ASSERT_NOT_EQUAL(lethe_tensor_data(a), lethe_tensor_data(b));
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_data(a), lethe_tensor_data(b), lethe_tensor_n_bytes(a)), 0);
  lethe_tensor_f32(b)[0] += 1;
  CU_ASSERT_NOT_EQUAL(lethe_tensor_f32(a)[0], lethe_tensor_f32(b)[0]);
  lethe_sequential_free(c);
  lethe_sequential_free(seq);
}

static void
test_sequential_per_sample_grads_average_to_the_batch_gradient(void)
{
  GError *error = NULL;
  LetheSequential *seq = lethe_sequential_new(MLP_ARCH, 8, &error);
  g_autoptr(LetheTensor) x = NULL;
  g_autoptr(LetheTensor) y = NULL;
  make_blobs(9, 6, &x, &y);
  g_autoptr(LetheTensor) ps = lethe_sequential_per_sample_grads(seq, x, y, &error);
  LETHE_ASSERT_NO_ERROR(error);
  LetheParams *p = lethe_sequential_get_params(seq);
  const gint64 n = lethe_params_get_n_elements(p);
  CU_ASSERT_EQUAL(ps->shape[0], 6);
  CU_ASSERT_EQUAL(ps->shape[1], n);
  double loss;
  CU_ASSERT_TRUE(lethe_sequential_loss_grad(seq, x, y, &loss, &error));
  g_autoptr(LetheTensor) gv = lethe_params_flat_grads(p);
  g_autoptr(LetheTensor) g = lethe_tensor_copy(gv); /* the Fisher pass reuses the buffer */
  g_autoptr(LetheTensor) fisher = lethe_tensor_new_1d(LETHE_DTYPE_F32, n);
  CU_ASSERT_TRUE(lethe_sequential_fisher_diagonal(seq, x, y, fisher, &error));
  for (gint64 j = 0; j < n; j++) {
    double mean = 0, sq = 0;
    for (int i = 0; i < 6; i++) {
      mean += lethe_tensor_f32(ps)[i * n + j] / 6;
      sq += pow(lethe_tensor_f32(ps)[i * n + j], 2) / 6;
    }
    CU_ASSERT_DOUBLE_EQUAL(mean, lethe_tensor_f32(g)[j], 1e-5);
    CU_ASSERT_DOUBLE_EQUAL(sq, lethe_tensor_f32(fisher)[j], 1e-5);
  }
  lethe_sequential_free(seq);
}

static void
test_sequential_frozen_and_masked_entries_do_not_move(void)
{
  GError *error = NULL;
  LetheSequential *seq = lethe_sequential_new(MLP_ARCH, 8, &error);
  LetheParams *p = lethe_sequential_get_params(seq);
  lethe_params_set_frozen(p, 0, TRUE);
  g_autoptr(LetheTensor) mask = lethe_tensor_new_1d(LETHE_DTYPE_F32, 16);
  for (int i = 0; i < 8; i++)
    lethe_tensor_f32(mask)[i] = 1; /* entries 8..15 of 3.bias stay */
  lethe_params_set_mask(p, 3, mask);
  g_autoptr(LetheTensor) w0 = lethe_tensor_copy(lethe_params_get_value(p, 0));
  g_autoptr(LetheTensor) b3 = lethe_tensor_copy(lethe_params_get_value(p, 3));
  g_autoptr(LetheTensor) w2 = lethe_tensor_copy(lethe_params_get_value(p, 2));
  g_autoptr(LetheTensor) x = NULL;
  g_autoptr(LetheTensor) y = NULL;
  make_blobs(4, 64, &x, &y);
  LetheOptimConfig cfg;
  lethe_optim_config_init(&cfg, LETHE_OPTIM_ADAMW, 1e-2);
  LetheOptimizer *opt = lethe_optimizer_new(p, &cfg);
  LetheRng rng;
  lethe_rng_init(&rng, 1);
  CU_ASSERT_TRUE(
      lethe_sequential_train_epoch(seq, opt, x, y, 16, &rng, NULL, NULL, NULL, NULL, &error));
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_data(w0), lethe_tensor_data(lethe_params_get_value(p, 0)),
                         lethe_tensor_n_bytes(w0)),
                  0);
  const float *nb = lethe_tensor_f32(lethe_params_get_value(p, 3));
  for (int i = 0; i < 16; i++) {
    if (i < 8)
      CU_ASSERT_NOT_EQUAL(nb[i], lethe_tensor_f32(b3)[i]);
    if (i >= 8)
      CU_ASSERT_EQUAL(nb[i], lethe_tensor_f32(b3)[i]);
  }
  CU_ASSERT_NOT_EQUAL(memcmp(lethe_tensor_data(w2), lethe_tensor_data(lethe_params_get_value(p, 2)),
                             lethe_tensor_n_bytes(w2)),
                      0);
  lethe_optimizer_free(opt);
  lethe_sequential_free(seq);
}

static void
test_tape_reuse_allocates_no_new_arena_after_the_first_step(void)
{
  GError *error = NULL;
  LetheSequential *seq = lethe_sequential_new(
      "conv2d(1,4,3,pad=1) relu maxpool(2) flatten linear(784,32) relu linear(32,10)", 1, &error);
  LetheParams *p = lethe_sequential_get_params(seq);
  LetheTape *tape = lethe_tape_new();
  g_autoptr(LetheTensor) x = lethe_tensor_new(LETHE_DTYPE_F32, 4, (gint64[]){64, 1, 28, 28});
  static gint32 labels[64];
  gsize sizes[3];
  for (int step = 0; step < 3; step++) {
    lethe_tape_reset(tape);
    LetheVar *out = lethe_sequential_forward(seq, tape, lethe_tape_input(tape, x, FALSE), TRUE);
    LetheVar *loss = lethe_op_cross_entropy(tape, out, labels, 0.1);
    lethe_params_zero_grad(p);
    CU_ASSERT_TRUE(lethe_tape_backward(tape, loss, &error));
    sizes[step] = lethe_tape_get_arena_size(tape);
  }
  CU_ASSERT_EQUAL(sizes[1], sizes[2]);
  CU_ASSERT_EQUAL(lethe_tensor_get_refcount(x), 2); /* held by the tape until reset */
  lethe_tape_reset(tape);
  CU_ASSERT_EQUAL(lethe_tensor_get_refcount(x), 1);
  lethe_tape_free(tape);
  lethe_sequential_free(seq);
}

static void
test_optimizers_match_hand_computed_steps(void)
{
  LetheParams *p = lethe_params_new();
  g_autoptr(LetheTensor) w = lethe_tensor_new_1d(LETHE_DTYPE_F32, 2);
  lethe_tensor_f32(w)[0] = 1, lethe_tensor_f32(w)[1] = -2;
  lethe_params_add(p, "w", w, TRUE);
  LetheTensor *g = lethe_params_get_grad(p, 0);
  /* SGD momentum 0.9, Nesterov: v1 = g, step = g + 0.9·v1. */
  LetheOptimConfig c;
  lethe_optim_config_init(&c, LETHE_OPTIM_SGD, 0.1);
  c.momentum = 0.9;
  c.nesterov = TRUE;
  LetheOptimizer *o = lethe_optimizer_new(p, &c);
  lethe_tensor_f32(g)[0] = 0.5, lethe_tensor_f32(g)[1] = -1;
  lethe_optimizer_step(o);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(lethe_params_get_value(p, 0))[0], 1 - 0.1 * 0.95, 1e-6);
  lethe_optimizer_step(o); /* v2 = 0.9·0.5 + 0.5 = 0.95; step = 0.5 + 0.855 */
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(lethe_params_get_value(p, 0))[0], 1 - 0.095 - 0.1 * 1.355,
                         1e-6);
  lethe_optimizer_free(o);
  /* Adam's first step moves every entry by lr·sign(g) (bias-corrected). */
  lethe_optim_config_init(&c, LETHE_OPTIM_ADAM, 0.01);
  o = lethe_optimizer_new(p, &c);
  float before0 = lethe_tensor_f32(lethe_params_get_value(p, 0))[0];
  float before1 = lethe_tensor_f32(lethe_params_get_value(p, 0))[1];
  lethe_optimizer_step(o);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(lethe_params_get_value(p, 0))[0], before0 - 0.01, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(lethe_params_get_value(p, 0))[1], before1 + 0.01, 1e-6);
  lethe_optimizer_free(o);
  /* Gradient clipping by global norm. */
  lethe_tensor_f32(g)[0] = 3, lethe_tensor_f32(g)[1] = 4;
  CU_ASSERT_DOUBLE_EQUAL(lethe_params_clip_grad_norm(p, 1.0), 5.0, 1e-9);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(g)[0], 0.6, 1e-5);
  /* Schedules. */
  LetheLrSchedule s = {LETHE_LR_STEP, 0.1, 10, 0.5, 0, 0};
  CU_ASSERT_DOUBLE_EQUAL(lethe_lr_schedule_at(&s, 25), 0.025, 1e-12);
  s = (LetheLrSchedule){LETHE_LR_COSINE, 0.1, 0, 0, 10, 0.0};
  CU_ASSERT_DOUBLE_EQUAL(lethe_lr_schedule_at(&s, 5), 0.05, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(lethe_lr_schedule_at(&s, 10), 0.0, 1e-12);
  s = (LetheLrSchedule){LETHE_LR_EXPONENTIAL, 0.1, 0, 0.9, 0, 0};
  CU_ASSERT_DOUBLE_EQUAL(lethe_lr_schedule_at(&s, 2), 0.081, 1e-12);
  lethe_params_free(p);
}

LETHE_TEST_MAIN("nn-sequential", LETHE_TEST(test_sequential_mlp_learns_blobs),
                LETHE_TEST(test_sequential_training_is_bit_identical_for_a_seed),
                LETHE_TEST(test_sequential_training_is_bit_identical_with_two_threads),
                LETHE_TEST(test_sequential_parameters_have_pytorch_names_and_shapes),
                LETHE_TEST(test_sequential_arch_errors_name_token_and_position),
                LETHE_TEST(test_sequential_shape_mismatch_names_the_layer),
                LETHE_TEST(test_sequential_frame_round_trip_through_the_model_kind),
                LETHE_TEST(test_sequential_frame_that_does_not_fit_its_arch_is_refused),
                LETHE_TEST(test_sequential_training_does_not_write_into_the_source_frame),
                LETHE_TEST(test_sequential_nan_stops_training_naming_step_and_tensor),
                LETHE_TEST(test_sequential_training_rejects_bad_labels_and_stops_when_cancelled),
                LETHE_TEST(test_sequential_hook_replaces_a_layer_activation),
                LETHE_TEST(test_sequential_fused_layers_match_unfused),
                LETHE_TEST(test_sequential_clone_is_independent),
                LETHE_TEST(test_sequential_per_sample_grads_average_to_the_batch_gradient),
                LETHE_TEST(test_sequential_frozen_and_masked_entries_do_not_move),
                LETHE_TEST(test_tape_reuse_allocates_no_new_arena_after_the_first_step),
                LETHE_TEST(test_optimizers_match_hand_computed_steps))
