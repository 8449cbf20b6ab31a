/* Lethe — the ssd and ssd-importance node types: faithfulness to the
 * formulas on models whose gradients are known by hand, the cache, LFSSD,
 * and the errors for bad input.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <math.h>

#include <lethe/check.h>
#include <lethe/metrics.h>
#include <lethe/model.h>
#include <lethe/nn-model.h>

#include "lethe-test.h"
#include "ssd-math.h"

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- A toy model kind with a hand-written gradient ---------------------
 * One parameter tensor "w" [D]; outputs x·w for two "classes" (x·w, −x·w);
 * its loss is L = mean_i (w·x_i) (labels ignored), so ∂L/∂w = mean_i x_i:
 * every minibatch's gradient is the mean of its rows, known exactly. */
#define TOY_D 4

static gboolean
toy_forward(const LetheFrame *model, LetheTensor *x, LetheTensor **out, GError **error)
{
  const float *w = lethe_tensor_f32(lethe_frame_get_tensor(model, "w"));
  const gint64 n = x->shape[0];
  g_autoptr(LetheTensor) xc = lethe_tensor_contiguous(x);
  *out = lethe_tensor_new_2d(LETHE_DTYPE_F32, n, 2);
  for (gint64 i = 0; i < n; i++) {
    float s = 0;
    for (int j = 0; j < TOY_D; j++)
      s += w[j] * lethe_tensor_f32(xc)[i * TOY_D + j];
    lethe_tensor_f32(*out)[2 * i] = s;
    lethe_tensor_f32(*out)[2 * i + 1] = -s;
  }
  return TRUE;
}

static gboolean
toy_loss_grad(const LetheFrame *model, LetheTensor *x, LetheTensor *y, LetheFrame **grads,
              double *loss, GError **error)
{
  const gint64 n = x->shape[0];
  g_autoptr(LetheTensor) xc = lethe_tensor_contiguous(x);
  LetheTensor *g = lethe_tensor_new_1d(LETHE_DTYPE_F32, TOY_D);
  for (int j = 0; j < TOY_D; j++) {
    float s = 0;
    for (gint64 i = 0; i < n; i++)
      s += lethe_tensor_f32(xc)[i * TOY_D + j];
    lethe_tensor_f32(g)[j] = s / (float)n;
  }
  *grads = lethe_frame_new();
  lethe_frame_take_tensor(*grads, "w", g);
  *loss = 0;
  return TRUE;
}

static const LetheModelKind toy_kind = {"ssd-toy", "linear toy with a known gradient", toy_forward,
                                        toy_loss_grad};
static const LetheModelKind toy_forward_only = {"ssd-toy-forward-only", "no backward", toy_forward,
                                                NULL};

static LetheFrame *
toy_model(const char *kind, const float *w)
{
  LetheFrame *m = lethe_frame_new();
  LetheTensor *t = lethe_tensor_new_1d(LETHE_DTYPE_F32, TOY_D);
  memcpy(lethe_tensor_f32(t), w, sizeof(float) * TOY_D);
  lethe_frame_take_tensor(m, "w", t);
  lethe_frame_set_meta_string(m, "model-kind", kind);
  lethe_frame_set_meta_string(m, "arch", "toy");
  lethe_frame_set_meta_int(m, "version", 1);
  return m;
}

static LetheFrame *
dataset(const float *x, const gint32 *y, gint64 n, guint rank, const gint64 *sample)
{
  gint64 shape[4] = {n};
  gint64 per = 1;
  for (guint i = 1; i < rank; i++)
    per *= (shape[i] = sample[i - 1]);
  LetheFrame *f = lethe_frame_new();
  LetheTensor *xt = lethe_tensor_new(LETHE_DTYPE_F32, rank, shape);
  memcpy(lethe_tensor_f32(xt), x, sizeof(float) * n * per);
  LetheTensor *yt = lethe_tensor_new_1d(LETHE_DTYPE_I32, n);
  memcpy(lethe_tensor_i32(yt), y, sizeof(gint32) * n);
  lethe_frame_take_tensor(f, "x", xt);
  lethe_frame_take_tensor(f, "y", yt);
  return f;
}

static LetheCheck *
harness(const char *type, const char *const *params)
{
  GError *error = NULL;
  LetheCheck *h = lethe_check_new_from_registry(NULL, type, params, &error);
  LETHE_ASSERT_NO_ERROR(error);
  return h;
}

/* Training set D: 5 rows (batches of 2: {0,1}, {2,3}, {4}); forget set: 2 rows. */
static const float toy_train_x[5 * TOY_D] = {1, 0, 0.5f, 2,     3, 0, 0.5f, 0, 0, 0.25f,
                                             1, 0, 0,    0.25f, 0, 0, 2,    1, 0, -1};
static const gint32 toy_train_y[5] = {0, 1, 0, 1, 0};
static const float toy_forget_x[2 * TOY_D] = {4, 1, 0.25f, 0, 2, 0, -0.25f, 0};
static const gint32 toy_forget_y[2] = {0, 0};
static const float toy_w[TOY_D] = {0.5f, -3, 2, 1.25f};
static const gint64 toy_sample[1] = {TOY_D};

/* The formulas, written out for this data. */
static void
toy_expected(float *imp_d, float *imp_f)
{
  /* Batch means of D: {(2,0,.5,1), (0,.25,.5,0), (2,1,0,-1)}. */
  const float bd[3][TOY_D] = {{2, 0, 0.5f, 1}, {0, 0.25f, 0.5f, 0}, {2, 1, 0, -1}};
  for (int j = 0; j < TOY_D; j++)
    imp_d[j] = (bd[0][j] * bd[0][j] + bd[1][j] * bd[1][j] + bd[2][j] * bd[2][j]) / 3;
  /* One batch of the forget set: its mean (3, .5, 0, 0). */
  const float bf[TOY_D] = {3, 0.5f, 0, 0};
  for (int j = 0; j < TOY_D; j++)
    imp_f[j] = bf[j] * bf[j];
}

static void
test_ssd_importance_and_dampening_equal_the_formulas(void)
{
  lethe_model_kind_register(&toy_kind);
  GError *error = NULL;
  float imp_d[TOY_D], imp_f[TOY_D];
  toy_expected(imp_d, imp_f);
  /* imp_d = (8/3, 1.0625/3, 0.5/3, 2/3); imp_f = (9, 0.25, 0, 0). */

  LetheCheck *hi = harness("ssd-importance", P("batch=2", "train-order=as-given"));
  CU_ASSERT_TRUE(
      lethe_check_push(hi, "data", dataset(toy_train_x, toy_train_y, 5, 2, toy_sample), &error));
  CU_ASSERT_TRUE(lethe_check_push(hi, "model", toy_model("ssd-toy", toy_w), &error));
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheFrame) cached = lethe_check_pull(hi, "model");
  CU_ASSERT_PTR_NOT_NULL_FATAL(cached);
  LetheTensor *it = lethe_frame_get_tensor(cached, "ssd-importance/w");
  CU_ASSERT_PTR_NOT_NULL_FATAL(it);
  for (int j = 0; j < TOY_D; j++)
    CU_ASSERT_EQUAL(lethe_tensor_f32(it)[j], imp_d[j]);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(cached, "ssd-importance-batches", 0), 3);
  lethe_check_free(hi);

  /* α = 2: select j where imp_f > 2·imp_d: j = 0 (9 > 16/3) only; j = 1
   * has 0.25 < 2.125/3. */
  LetheCheck *h = harness("ssd", P("batch=2", "alpha=2", "lambda=1"));
  CU_ASSERT_TRUE(
      lethe_check_push(h, "forget", dataset(toy_forget_x, toy_forget_y, 2, 2, toy_sample), &error));
  CU_ASSERT_TRUE(lethe_check_push(h, "model", lethe_frame_ref(cached), &error));
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheFrame) out = lethe_check_pull(h, "model");
  CU_ASSERT_PTR_NOT_NULL_FATAL(out);
  const float *w1 = lethe_tensor_f32(lethe_frame_get_tensor(out, "w"));
  float want[TOY_D];
  memcpy(want, toy_w, sizeof want);
  guint8 sel[TOY_D];
  gint64 n_sel = ssd_dampen(want, imp_d, imp_f, TOY_D, 2.0, 1.0, sel);
  CU_ASSERT_EQUAL(n_sel, 1);
  CU_ASSERT_EQUAL(sel[0], 1);
  CU_ASSERT_EQUAL(want[0], 0.5f * ((imp_d[0] * 1.0f) / imp_f[0]));
  for (int j = 0; j < TOY_D; j++) {
    CU_ASSERT_EQUAL(w1[j], want[j]);
    CU_ASSERT(fabsf(w1[j]) <= fabsf(toy_w[j]));
    if (!sel[j])
      CU_ASSERT_EQUAL(memcmp(&w1[j], &toy_w[j], sizeof(float)), 0);
  }
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(out, "ssd-selected", -1), 1);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(out, "version", 0), 2);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(out, "event", ""), "forget");
  CU_ASSERT(lethe_frame_get_meta_double(out, "unlearn-seconds", -1) >= 0);
  /* The input model is untouched (copy-on-write). */
  CU_ASSERT_EQUAL(lethe_tensor_f32(lethe_frame_get_tensor(cached, "w"))[0], toy_w[0]);
  lethe_check_free(h);

  /* Without the cache, with `data`: the same result, bit for bit. */
  h = harness("ssd", P("batch=2", "alpha=2", "lambda=1", "train-order=as-given"));
  CU_ASSERT_TRUE(
      lethe_check_push(h, "data", dataset(toy_train_x, toy_train_y, 5, 2, toy_sample), &error));
  CU_ASSERT_TRUE(
      lethe_check_push(h, "forget", dataset(toy_forget_x, toy_forget_y, 2, 2, toy_sample), &error));
  CU_ASSERT_TRUE(lethe_check_push(h, "model", toy_model("ssd-toy", toy_w), &error));
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheFrame) out2 = lethe_check_pull(h, "model");
  CU_ASSERT_PTR_NOT_NULL_FATAL(out2);
  CU_ASSERT_EQUAL(
      memcmp(lethe_tensor_f32(lethe_frame_get_tensor(out2, "w")), w1, sizeof(float) * TOY_D), 0);
  lethe_check_free(h);
}

/* By default D is batched class by class, as the reference's loader walks
 * it: rows {0, 2}, {4, 1}, {3} (labels 0, 0 | 0, 1 | 1). */
static void
test_ssd_training_importance_batches_the_classes_in_turn(void)
{
  lethe_model_kind_register(&toy_kind);
  GError *error = NULL;
  LetheCheck *hi = harness("ssd-importance", P("batch=2"));
  lethe_check_push(hi, "data", dataset(toy_train_x, toy_train_y, 5, 2, toy_sample), &error);
  lethe_check_push(hi, "model", toy_model("ssd-toy", toy_w), &error);
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheFrame) cached = lethe_check_pull(hi, "model");
  CU_ASSERT_PTR_NOT_NULL_FATAL(cached);
  const float bd[3][TOY_D] = {
      {0.5f, 0.125f, 0.75f, 1}, {2.5f, 0.5f, 0.25f, -0.5f}, {0, 0.25f, 0, 0}};
  const float *imp = lethe_tensor_f32(lethe_frame_get_tensor(cached, "ssd-importance/w"));
  for (int j = 0; j < TOY_D; j++)
    CU_ASSERT_EQUAL(imp[j], (bd[0][j] * bd[0][j] + bd[1][j] * bd[1][j] + bd[2][j] * bd[2][j]) / 3);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(cached, "ssd-importance-order", ""),
                         "class-sorted");
  lethe_check_free(hi);
}

static void
test_ssd_with_large_lambda_changes_nothing(void)
{
  /* λ = 100: every β is capped at 1, so the selected parameter keeps its value. */
  lethe_model_kind_register(&toy_kind);
  GError *error = NULL;
  LetheCheck *h = harness("ssd", P("batch=2", "alpha=0.5", "lambda=100"));
  lethe_check_push(h, "data", dataset(toy_train_x, toy_train_y, 5, 2, toy_sample), &error);
  lethe_check_push(h, "forget", dataset(toy_forget_x, toy_forget_y, 2, 2, toy_sample), &error);
  lethe_check_push(h, "model", toy_model("ssd-toy", toy_w), &error);
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheFrame) out = lethe_check_pull(h, "model");
  CU_ASSERT_PTR_NOT_NULL_FATAL(out);
  CU_ASSERT(lethe_frame_get_meta_int(out, "ssd-selected", 0) >= 1);
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_f32(lethe_frame_get_tensor(out, "w")), toy_w, sizeof toy_w),
                  0);
  lethe_check_free(h);
}

static void
test_ssd_refuses_a_model_kind_without_backward(void)
{
  lethe_model_kind_register(&toy_forward_only);
  GError *error = NULL;
  LetheCheck *h = harness("ssd", P("batch=2"));
  lethe_check_push(h, "data", dataset(toy_train_x, toy_train_y, 5, 2, toy_sample), &error);
  lethe_check_push(h, "forget", dataset(toy_forget_x, toy_forget_y, 2, 2, toy_sample), &error);
  CU_ASSERT_FALSE(lethe_check_push(h, "model", toy_model("ssd-toy-forward-only", toy_w), &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED,
                     "model kind 'ssd-toy-forward-only' has no backward");
  lethe_check_free(h);
}

static void
test_ssd_refuses_a_class_the_model_never_learned(void)
{
  lethe_model_kind_register(&toy_kind);
  GError *error = NULL;
  LetheCheck *h = harness("ssd", P("batch=2"));
  const gint32 never[2] = {7, 7};
  lethe_check_push(h, "data", dataset(toy_train_x, toy_train_y, 5, 2, toy_sample), &error);
  lethe_check_push(h, "forget", dataset(toy_forget_x, never, 2, 2, toy_sample), &error);
  LetheFrame *m = toy_model("ssd-toy", toy_w);
  const gint32 seen[2] = {0, 1};
  lethe_frame_set_meta(m, "seen-classes",
                       g_variant_new_fixed_array(G_VARIANT_TYPE_INT32, seen, 2, sizeof(gint32)));
  CU_ASSERT_FALSE(lethe_check_push(h, "model", m, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "class 7, which the model never learned (it has learned classes 0,1)");
  lethe_check_free(h);
}

static void
test_ssd_refuses_a_forget_set_of_another_shape(void)
{
  lethe_model_kind_register(&toy_kind);
  GError *error = NULL;
  /* Importance cached on [N, 4] samples; the forget set has [N, 2, 2]. */
  LetheCheck *hi = harness("ssd-importance", P("batch=2"));
  lethe_check_push(hi, "data", dataset(toy_train_x, toy_train_y, 5, 2, toy_sample), &error);
  lethe_check_push(hi, "model", toy_model("ssd-toy", toy_w), &error);
  LETHE_ASSERT_NO_ERROR(error);
  LetheFrame *cached = lethe_check_pull(hi, "model");
  lethe_check_free(hi);
  LetheCheck *h = harness("ssd", P("batch=2"));
  const gint64 other[2] = {2, 2};
  lethe_check_push(h, "forget", dataset(toy_forget_x, toy_forget_y, 2, 3, other), &error);
  CU_ASSERT_FALSE(lethe_check_push(h, "model", cached, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "the forget set's samples are 2x2 but the model was trained on 4 samples");
  lethe_check_free(h);
}

static void
test_ssd_needs_a_cached_importance_or_the_training_set(void)
{
  lethe_model_kind_register(&toy_kind);
  GError *error = NULL;
  LetheCheck *h = harness("ssd", NULL);
  lethe_check_push(h, "forget", dataset(toy_forget_x, toy_forget_y, 2, 2, toy_sample), &error);
  CU_ASSERT_FALSE(lethe_check_push(h, "model", toy_model("ssd-toy", toy_w), &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "carries no cached training-set importance");
  lethe_check_free(h);
}

/* ---- On a real `sequential` model --------------------------------------
 * linear(3,2): out = W x + b.  Cross-entropy: ∂L/∂W = (1/N) Σ (p_i − e_yi) x_iᵀ;
 * LFSSD's L = (1/N) Σ ‖out_i‖²: ∂L/∂W = (2/N) Σ out_i x_iᵀ, ∂L/∂b = (2/N) Σ out_i. */
static const float seq_x[3 * 3] = {1, 0.5f, -1, 0, 2, 1, -0.5f, 1, 0};
static const gint32 seq_y[3] = {0, 1, 1};
static const float seq_w[6] = {0.25f, -0.5f, 1, 0.5f, 0.75f, -0.25f};
static const float seq_b[2] = {0.1f, -0.2f};
static const gint64 seq_sample[1] = {3};

static LetheFrame *
seq_model(void)
{
  LetheFrame *m = lethe_frame_new();
  LetheTensor *w = lethe_tensor_new_2d(LETHE_DTYPE_F32, 2, 3);
  LetheTensor *b = lethe_tensor_new_1d(LETHE_DTYPE_F32, 2);
  memcpy(lethe_tensor_f32(w), seq_w, sizeof seq_w);
  memcpy(lethe_tensor_f32(b), seq_b, sizeof seq_b);
  lethe_frame_take_tensor(m, "0.weight", w);
  lethe_frame_take_tensor(m, "0.bias", b);
  lethe_frame_set_meta_string(m, "model-kind", "sequential");
  lethe_frame_set_meta_string(m, "arch", "linear(3,2)");
  lethe_frame_set_meta_int(m, "version", 1);
  return m;
}

/* Hand gradient of one batch (rows [s, e)) in double: [W (6), b (2)]. */
static void
seq_grad(gint64 s, gint64 e, gboolean label_free, double *g)
{
  memset(g, 0, sizeof(double) * 8);
  for (gint64 i = s; i < e; i++) {
    double out[2], d[2];
    for (int k = 0; k < 2; k++) {
      out[k] = seq_b[k];
      for (int j = 0; j < 3; j++)
        out[k] += (double)seq_w[k * 3 + j] * seq_x[i * 3 + j];
    }
    if (label_free) {
      d[0] = 2 * out[0], d[1] = 2 * out[1];
    } else {
      double m = MAX(out[0], out[1]);
      double z = exp(out[0] - m) + exp(out[1] - m);
      for (int k = 0; k < 2; k++)
        d[k] = exp(out[k] - m) / z - (seq_y[i] == k);
    }
    for (int k = 0; k < 2; k++) {
      for (int j = 0; j < 3; j++)
        g[k * 3 + j] += d[k] * seq_x[i * 3 + j] / (double)(e - s);
      g[6 + k] += d[k] / (double)(e - s);
    }
  }
}

static void
check_sequential_importance(gboolean label_free)
{
  GError *error = NULL;
  LetheCheck *h = harness("ssd-importance", label_free ? P("batch=2", "label-free=true")
                                                       : P("batch=2", "label-free=false"));
  lethe_check_push(h, "data", dataset(seq_x, seq_y, 3, 2, seq_sample), &error);
  lethe_check_push(h, "model", seq_model(), &error);
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheFrame) out = lethe_check_pull(h, "model");
  CU_ASSERT_PTR_NOT_NULL_FATAL(out);
  double g1[8], g2[8];
  seq_grad(0, 2, label_free, g1);
  seq_grad(2, 3, label_free, g2);
  LetheTensor *iw = lethe_frame_get_tensor(out, "ssd-importance/0.weight");
  LetheTensor *ib = lethe_frame_get_tensor(out, "ssd-importance/0.bias");
  CU_ASSERT_PTR_NOT_NULL_FATAL(iw);
  CU_ASSERT_PTR_NOT_NULL_FATAL(ib);
  for (int k = 0; k < 8; k++) {
    double want =
        label_free ? (fabs(g1[k]) + fabs(g2[k])) / 2 : (g1[k] * g1[k] + g2[k] * g2[k]) / 2;
    double got = k < 6 ? lethe_tensor_f32(iw)[k] : lethe_tensor_f32(ib)[k - 6];
    CU_ASSERT_DOUBLE_EQUAL(got, want, 1e-6 * MAX(1, fabs(want)));
  }
  /* The cache rides along and the model still runs. */
  g_autoptr(LetheTensor) x = lethe_tensor_new_2d(LETHE_DTYPE_F32, 1, 3);
  g_autoptr(LetheTensor) logits = NULL;
  CU_ASSERT_TRUE(lethe_model_forward(out, x, &logits, &error));
  LETHE_ASSERT_NO_ERROR(error);
  lethe_check_free(h);
}

static void
test_ssd_importance_of_a_sequential_model_is_the_cross_entropy_gradient(void)
{
  check_sequential_importance(FALSE);
}

static void
test_lfssd_importance_is_the_output_norm_gradient(void)
{
  check_sequential_importance(TRUE);
}

static void
test_lfssd_refuses_other_model_kinds(void)
{
  lethe_model_kind_register(&toy_kind);
  GError *error = NULL;
  LetheCheck *h = harness("ssd-importance", P("label-free=true"));
  lethe_check_push(h, "data", dataset(toy_train_x, toy_train_y, 5, 2, toy_sample), &error);
  CU_ASSERT_FALSE(lethe_check_push(h, "model", toy_model("ssd-toy", toy_w), &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED,
                     "label-free importance (LFSSD) needs a 'sequential' model, not 'ssd-toy'");
  lethe_check_free(h);
}

/* ---- On Fashion-MNIST (a CI-sized subset) ----------------------------- */

static LetheFrame *
load_fmnist(const char *split, gint64 limit)
{
  GError *error = NULL;
  g_autofree char *sp = g_strdup_printf("split=%s", split);
  g_autofree char *lim = g_strdup_printf("limit=%" G_GINT64_FORMAT, limit);
  LetheCheck *h =
      lethe_check_new_from_registry(NULL, "idx-source", P(sp, lim, "shape=flat"), &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_TRUE(lethe_check_run_source(h, 0, &error));
  LETHE_ASSERT_NO_ERROR(error);
  LetheFrame *f = lethe_check_pull(h, "data");
  lethe_check_free(h);
  return f;
}

/* Rows of @data whose label is (or with @keep FALSE, is not) @cls. */
static LetheFrame *
rows_of_class(const LetheFrame *data, gint32 cls, gboolean keep)
{
  LetheTensor *x = lethe_frame_get_tensor(data, "x"), *y = lethe_frame_get_tensor(data, "y");
  const gint64 n = x->shape[0], d = x->shape[1];
  g_autoptr(GArray) xs = g_array_new(FALSE, FALSE, sizeof(float));
  g_autoptr(GArray) ys = g_array_new(FALSE, FALSE, sizeof(gint32));
  for (gint64 i = 0; i < n; i++)
    if ((lethe_tensor_i32(y)[i] == cls) == keep) {
      g_array_append_vals(xs, lethe_tensor_f32(x) + i * d, (guint)d);
      g_array_append_val(ys, lethe_tensor_i32(y)[i]);
    }
  const gint64 sample[1] = {d};
  return dataset((const float *)xs->data, (const gint32 *)ys->data, ys->len, 2, sample);
}

static double
accuracy(const LetheFrame *model, const LetheFrame *data)
{
  g_autoptr(LetheTensor) logits = NULL;
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_model_forward(model, lethe_frame_get_tensor(data, "x"), &logits, &error));
  LETHE_ASSERT_NO_ERROR(error);
  LetheTensor *y = lethe_frame_get_tensor(data, "y");
  return lethe_metrics_accuracy(lethe_tensor_f32(logits), logits->shape[0], logits->shape[1],
                                lethe_tensor_i32(y), NULL);
}

static LetheFrame *
forget(const LetheFrame *cached, const LetheFrame *forget_set, const char *alpha,
       const char *lambda)
{
  GError *error = NULL;
  LetheCheck *h = harness("ssd", P(alpha, lambda));
  lethe_check_push(h, "forget", lethe_frame_ref((LetheFrame *)forget_set), &error);
  lethe_check_push(h, "model", lethe_frame_ref((LetheFrame *)cached), &error);
  LETHE_ASSERT_NO_ERROR(error);
  LetheFrame *out = lethe_check_pull(h, "model");
  lethe_check_free(h);
  return out;
}

/* The MLP of the acceptance run, trained briefly on a subset: with the
 * training set batched class by class, α = 10 selects almost nothing
 * (Trouser stays), while α = 1, λ = 0.5 forgets it at no retained cost;
 * no parameter grows and at most the selected ones change. */
static void
test_ssd_forgets_trouser_on_a_fashion_mnist_mlp(void)
{
  g_autoptr(LetheFrame) train = load_fmnist("train", 6000);
  g_autoptr(LetheFrame) test = load_fmnist("test", 2000);
  GError *error = NULL;
  LetheSequential *seq =
      lethe_sequential_new("linear(784,512) relu linear(512,256) relu linear(256,10)", 42, &error);
  LetheOptimConfig cfg;
  lethe_optim_config_init(&cfg, LETHE_OPTIM_ADAM, 1e-3);
  LetheOptimizer *opt = lethe_optimizer_new(lethe_sequential_get_params(seq), &cfg);
  LetheRng rng;
  lethe_rng_init(&rng, 43);
  gint64 t0 = g_get_monotonic_time();
  for (int e = 0; e < 2; e++)
    CU_ASSERT_TRUE(lethe_sequential_train_epoch(seq, opt, lethe_frame_get_tensor(train, "x"),
                                                lethe_frame_get_tensor(train, "y"), 128, &rng, NULL,
                                                NULL, NULL, NULL, &error));
  const double train_s = (double)(g_get_monotonic_time() - t0) / 1e6;
  lethe_optimizer_free(opt);
  LetheFrame *model = lethe_sequential_to_frame(seq, 1);
  lethe_sequential_free(seq);

  LetheCheck *hi = harness("ssd-importance", NULL);
  lethe_check_push(hi, "data", lethe_frame_ref(train), &error);
  lethe_check_push(hi, "model", model, &error);
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheFrame) cached = lethe_check_pull(hi, "model");
  lethe_check_free(hi);

  g_autoptr(LetheFrame) f_train = rows_of_class(train, 1, TRUE);
  g_autoptr(LetheFrame) f_test = rows_of_class(test, 1, TRUE);
  g_autoptr(LetheFrame) r_test = rows_of_class(test, 1, FALSE);
  const double f0 = accuracy(cached, f_test), r0 = accuracy(cached, r_test);
  CU_ASSERT(f0 > 0.9);

  g_autoptr(LetheFrame) strict = forget(cached, f_train, "alpha=10", "lambda=1");
  g_autoptr(LetheFrame) loose = forget(cached, f_train, "alpha=1", "lambda=0.5");
  const double f10 = accuracy(strict, f_test), f1 = accuracy(loose, f_test);
  const double r1 = accuracy(loose, r_test);
  fprintf(stderr,
          "\n  trouser: original %.3f, alpha=10 %.3f, alpha=1 %.3f; retained %.3f -> %.3f; "
          "unlearn %.2f s, training %.2f s\n",
          f0, f10, f1, r0, r1, lethe_frame_get_meta_double(loose, "unlearn-seconds", -1), train_s);
  CU_ASSERT(f10 >= 0.9);
  CU_ASSERT(f1 <= 0.05);
  CU_ASSERT(r1 >= r0 - 0.02);

  gint64 changed = 0;
  for (guint i = 0; i < lethe_frame_get_n_tensors(cached); i++) {
    const char *name;
    LetheTensor *p = lethe_frame_get_nth(cached, i, &name);
    if (strchr(name, '/'))
      continue;
    LetheTensor *q = lethe_frame_get_tensor(loose, name);
    for (gint64 k = 0; k < lethe_tensor_n_elements(p); k++) {
      const float a = lethe_tensor_f32(p)[k], b = lethe_tensor_f32(q)[k];
      CU_ASSERT_FATAL(fabsf(b) <= fabsf(a));
      changed += memcmp(&a, &b, sizeof a) != 0;
    }
  }
  CU_ASSERT(changed > 0);
  CU_ASSERT(changed <= lethe_frame_get_meta_int(loose, "ssd-selected", 0));
}

LETHE_TEST_MAIN("ssd", LETHE_TEST(test_ssd_importance_and_dampening_equal_the_formulas),
                LETHE_TEST(test_ssd_training_importance_batches_the_classes_in_turn),
                LETHE_TEST(test_ssd_with_large_lambda_changes_nothing),
                LETHE_TEST(test_ssd_refuses_a_model_kind_without_backward),
                LETHE_TEST(test_ssd_refuses_a_class_the_model_never_learned),
                LETHE_TEST(test_ssd_refuses_a_forget_set_of_another_shape),
                LETHE_TEST(test_ssd_needs_a_cached_importance_or_the_training_set),
                LETHE_TEST(test_ssd_importance_of_a_sequential_model_is_the_cross_entropy_gradient),
                LETHE_TEST(test_lfssd_importance_is_the_output_norm_gradient),
                LETHE_TEST(test_lfssd_refuses_other_model_kinds),
                LETHE_TEST(test_ssd_forgets_trouser_on_a_fashion_mnist_mlp))
