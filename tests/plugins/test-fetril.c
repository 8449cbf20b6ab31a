/* Lethe — the fetril learner and model kind on a Fashion-MNIST subset:
 * invariants, FeTrIL against its baselines, SSD on a FeTrIL model, and the
 * errors for bad input.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <math.h>

#include <lethe/check.h>
#include <lethe/metrics.h>
#include <lethe/model.h>

#include "lethe-test.h"

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})
/* A small extractor keeps the suite fast; the pipeline uses the CNN. */
#define SMALL_ARCH "flatten linear(784,128) relu linear(128,10)"

static LetheFrame *
load(const char *split, gint64 limit)
{
  GError *error = NULL;
  g_autofree char *sp = g_strdup_printf("split=%s", split);
  g_autofree char *lim = g_strdup_printf("limit=%" G_GINT64_FORMAT, limit);
  LetheCheck *h = lethe_check_new_from_registry(NULL, "idx-source", P(sp, lim), &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_TRUE(lethe_check_run_source(h, 0, &error));
  LETHE_ASSERT_NO_ERROR(error);
  LetheFrame *f = lethe_check_pull(h, "data");
  lethe_check_free(h);
  return f;
}

/* The learn request of the classes @cls: rows of @data, metadata as
 * class-incremental sets it. */
static LetheFrame *
request(const LetheFrame *data, const gint32 *cls, guint n_cls, gint64 task)
{
  LetheTensor *x = lethe_frame_get_tensor(data, "x"), *y = lethe_frame_get_tensor(data, "y");
  const gint64 n = x->shape[0], per = lethe_tensor_n_elements(x) / n;
  gint64 m = 0;
  for (gint64 i = 0; i < n; i++)
    for (guint c = 0; c < n_cls; c++)
      m += lethe_tensor_i32(y)[i] == cls[c];
  gint64 shape[4] = {m, x->shape[1], x->shape[2], x->shape[3]};
  LetheTensor *xs = lethe_tensor_new(LETHE_DTYPE_F32, x->rank, shape);
  LetheTensor *ys = lethe_tensor_new_1d(LETHE_DTYPE_I32, m);
  for (gint64 i = 0, j = 0; i < n; i++)
    for (guint c = 0; c < n_cls; c++)
      if (lethe_tensor_i32(y)[i] == cls[c]) {
        memcpy(lethe_tensor_f32(xs) + j * per, lethe_tensor_f32(x) + i * per, sizeof(float) * per);
        lethe_tensor_i32(ys)[j++] = cls[c];
      }
  LetheFrame *f = lethe_frame_new();
  lethe_frame_take_tensor(f, "x", xs);
  lethe_frame_take_tensor(f, "y", ys);
  lethe_frame_set_meta_string(f, "event", "learn");
  lethe_frame_set_meta_int(f, "task", task);
  lethe_frame_set_meta_int(f, "n-classes", 10);
  lethe_frame_set_meta(f, "classes",
                       g_variant_new_fixed_array(G_VARIANT_TYPE_INT32, cls, n_cls, sizeof(gint32)));
  return f;
}

/* Accuracy of @model on the test rows whose class is among the first
 * @n_cls of @order. */
static double
accuracy_on(const LetheFrame *model, const LetheFrame *test, const gint32 *order, guint n_cls)
{
  GError *error = NULL;
  g_autoptr(LetheTensor) logits = NULL;
  CU_ASSERT_TRUE(lethe_model_forward(model, lethe_frame_get_tensor(test, "x"), &logits, &error));
  LETHE_ASSERT_NO_ERROR(error);
  if (logits == NULL)
    return NAN;
  const gint32 *y = lethe_tensor_i32(lethe_frame_get_tensor(test, "y"));
  gint64 right = 0, total = 0;
  for (gint64 i = 0; i < logits->shape[0]; i++) {
    gboolean in = FALSE;
    for (guint c = 0; c < n_cls; c++)
      in |= y[i] == order[c];
    if (!in)
      continue;
    const float *row = lethe_tensor_f32(logits) + i * logits->shape[1];
    gint64 best = 0;
    for (gint64 c = 1; c < logits->shape[1]; c++)
      if (row[c] > row[best])
        best = c;
    right += best == y[i];
    total++;
  }
  return (double)right / (double)total;
}

static const gint32 order[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
static const guint split_4_3x2[4] = {4, 2, 2, 2};
static const char *const outs[5] = {"model", "ncm", "upper-bound", "deesil", "finetune"};

static void
test_fetril_beats_its_baselines_on_split_fmnist(void)
{
  g_autoptr(LetheFrame) train = load("train", 12000);
  g_autoptr(LetheFrame) test = load("test", 3000);
  GError *error = NULL;
  LetheCheck *h = lethe_check_new_from_registry(
      NULL, "fetril", P("arch=" SMALL_ARCH, "epochs=3", "baselines=true"), &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_PTR_NOT_NULL_FATAL(h);
  double aia[5] = {0}, final_old = 0;
  guint first = 0;
  g_autoptr(LetheFrame) last = NULL;
  for (guint t = 0; t < 4; t++) {
    gint64 t0 = g_get_monotonic_time();
    CU_ASSERT_TRUE_FATAL(
        lethe_check_push(h, "input", request(train, order + first, split_4_3x2[t], t), &error));
    LETHE_ASSERT_NO_ERROR(error);
    if (t > 0) /* features, translation and SVMs of every output, well under a minute */
      CU_ASSERT((g_get_monotonic_time() - t0) / 1e6 < 60);
    first += split_4_3x2[t];
    for (guint o = 0; o < 5; o++) {
      g_autoptr(LetheFrame) m = lethe_check_pull(h, outs[o]);
      CU_ASSERT_PTR_NOT_NULL_FATAL(m);
      CU_ASSERT_EQUAL(lethe_frame_get_meta_int(m, "task", -1), t);
      aia[o] += accuracy_on(m, test, order, first) / 4;
      if (o == 0 && t == 3) {
        final_old = accuracy_on(m, test, order, split_4_3x2[0]);
        last = lethe_frame_ref(m);
      }
    }
  }
  fprintf(stderr,
          "\n  AIA fetril %.3f ncm %.3f upper %.3f deesil %.3f finetune %.3f; "
          "final old-class acc %.3f\n",
          aia[0], aia[1], aia[2], aia[3], aia[4], final_old);
  CU_ASSERT(aia[0] >= aia[3] + 0.05); /* pseudo-features matter */
  CU_ASSERT(aia[0] >= aia[2] - 0.08); /* close to the ceiling of a frozen F */
  CU_ASSERT(aia[0] > aia[4]);         /* fine-tuning forgets */
  CU_ASSERT(final_old >= 0.60);       /* the state-0 classes survive */

  /* Every state's pseudo-features kept their centroid. */
  GPtrArray *metrics = lethe_check_get_metrics(h);
  guint n_err = 0;
  for (guint i = 0; i < metrics->len; i++) {
    const LetheMetric *m = g_ptr_array_index(metrics, i);
    if (g_strcmp0(m->name, "translation_mean_error") == 0) {
      CU_ASSERT(m->value <= 1e-5);
      n_err++;
    }
  }
  CU_ASSERT_EQUAL(n_err, 4);

  /* The model frame: kind, seen classes, unseen classes never predicted. */
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(last, "model-kind", ""), "fetril");
  gsize ns = 0;
  g_variant_get_fixed_array(lethe_frame_get_meta(last, "seen-classes"), &ns, sizeof(gint32));
  CU_ASSERT_EQUAL(ns, 10);
  CU_ASSERT_TRUE(lethe_check_teardown(h, &error));
  LETHE_ASSERT_NO_ERROR(error);
}

static void
test_ssd_unlearns_from_a_fetril_model_and_refuses_unseen_classes(void)
{
  g_autoptr(LetheFrame) train = load("train", 3000);
  GError *error = NULL;
  LetheCheck *h =
      lethe_check_new_from_registry(NULL, "fetril", P("arch=" SMALL_ARCH, "epochs=1"), &error);
  CU_ASSERT_TRUE_FATAL(lethe_check_push(h, "input", request(train, order, 5, 0), &error));
  g_autoptr(LetheFrame) model = lethe_check_pull(h, "model");
  CU_ASSERT_PTR_NOT_NULL_FATAL(model);
  lethe_check_free(h);

  /* Forget class 1: only the SVM head has a gradient; the extractor stays. */
  const gint32 one = 1;
  LetheCheck *s = lethe_check_new_from_registry(NULL, "ssd", P("alpha=1", "lambda=1"), &error);
  lethe_check_push(s, "data", request(train, order, 5, 0), &error);
  lethe_check_push(s, "forget", request(train, &one, 1, 0), &error);
  CU_ASSERT_TRUE(lethe_check_push(s, "model", lethe_frame_ref(model), &error));
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheFrame) out = lethe_check_pull(s, "model");
  CU_ASSERT_PTR_NOT_NULL_FATAL(out);
  CU_ASSERT(lethe_frame_get_meta_int(out, "ssd-selected", 0) > 0);
  LetheTensor *e0 = lethe_frame_get_tensor(model, "extractor/1.weight");
  LetheTensor *e1 = lethe_frame_get_tensor(out, "extractor/1.weight");
  CU_ASSERT_PTR_NOT_NULL_FATAL(e1);
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_f32(e0), lethe_tensor_f32(e1), lethe_tensor_n_bytes(e0)), 0);
  lethe_check_free(s);

  /* Class 8 was never learned by this state-0 model. */
  const gint32 eight = 8;
  s = lethe_check_new_from_registry(NULL, "ssd", NULL, &error);
  lethe_check_push(s, "data", request(train, order, 5, 0), &error);
  g_autoptr(LetheFrame) all = load("train", 3000);
  LetheFrame *f8 = request(all, &eight, 1, 0);
  lethe_check_push(s, "forget", f8, &error);
  CU_ASSERT_FALSE(lethe_check_push(s, "model", lethe_frame_ref(model), &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "class 8, which the model never learned (it has learned classes 0,1,2,3,4)");
  lethe_check_free(s);
}

static void
test_fetril_refuses_bad_requests(void)
{
  g_autoptr(LetheFrame) train = load("train", 2000);
  GError *error = NULL;
  /* An arch without a final linear layer has no feature layer to cut at. */
  LetheCheck *h = lethe_check_new_from_registry(
      NULL, "fetril", P("arch=flatten linear(784,10) relu", "epochs=1"), &error);
  CU_ASSERT_FALSE(lethe_check_push(h, "input", request(train, order, 2, 0), &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "the last layer of 'arch' is 'relu'");
  lethe_check_free(h);

  h = lethe_check_new_from_registry(NULL, "fetril", P("arch=" SMALL_ARCH, "epochs=1"), &error);
  CU_ASSERT_TRUE(lethe_check_push(h, "input", request(train, order, 2, 0), &error));
  LETHE_ASSERT_NO_ERROR(error);
  /* The same class again. */
  CU_ASSERT_FALSE(lethe_check_push(h, "input", request(train, order + 1, 2, 1), &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "already learned");
  lethe_check_free(h);

  /* A forget request: FeTrIL only learns. */
  h = lethe_check_new_from_registry(NULL, "fetril", P("arch=" SMALL_ARCH, "epochs=1"), &error);
  LetheFrame *fr = request(train, order + 5, 1, 2);
  lethe_frame_set_meta_string(fr, "event", "forget");
  CU_ASSERT_FALSE(lethe_check_push(h, "input", fr, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED, "FeTrIL only learns");
  lethe_check_free(h);
}

LETHE_TEST_MAIN("fetril", LETHE_TEST(test_fetril_beats_its_baselines_on_split_fmnist),
                LETHE_TEST(test_ssd_unlearns_from_a_fetril_model_and_refuses_unseen_classes),
                LETHE_TEST(test_fetril_refuses_bad_requests))
