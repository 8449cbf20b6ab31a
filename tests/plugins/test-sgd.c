/* Tests of the sgd-train learner, through the lethe/check.h harness.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <lethe/check.h>
#include <lethe/lethe.h>
#include <lethe/nn.h>
#include <math.h>

#define ARCH   "arch=linear(4,16) relu linear(16,4)"
#define P(...) ((const char *const[]){__VA_ARGS__, NULL})

/* A learn request of @n samples of the classes @c0 and @c1: class c sits
 * around the corner 3·e_c of R^4, so a small MLP separates them. */
static LetheFrame *
make_task(gint64 task, gint32 c0, gint32 c1, gint64 n, gint64 first_id)
{
  LetheFrame *f = lethe_frame_new();
  LetheTensor *x = lethe_tensor_new_2d(LETHE_DTYPE_F32, n, 4);
  LetheTensor *y = lethe_tensor_new_1d(LETHE_DTYPE_I32, n);
  LetheTensor *index = lethe_tensor_new_1d(LETHE_DTYPE_I64, n);
  LetheRng rng;
  lethe_rng_init_stream(&rng, 5, (guint64)task);
  for (gint64 i = 0; i < n; i++) {
    gint32 c = i % 2 ? c1 : c0;
    for (int j = 0; j < 4; j++)
      lethe_tensor_f32(x)[i * 4 + j] =
          (j == c ? 3.0f : 0.0f) + 0.3f * (float)lethe_rng_normal(&rng);
    lethe_tensor_i32(y)[i] = c;
    lethe_tensor_i64(index)[i] = first_id + i;
  }
  lethe_frame_take_tensor(f, "x", x);
  lethe_frame_take_tensor(f, "y", y);
  lethe_frame_take_tensor(f, "index", index);
  lethe_frame_set_meta_string(f, "event", "learn");
  lethe_frame_set_meta_int(f, "task", task);
  lethe_frame_set_meta_int(f, "n-tasks", 2);
  gint32 classes[2] = {c0, c1};
  lethe_frame_set_meta(f, "classes",
                       g_variant_new_fixed_array(G_VARIANT_TYPE_INT32, classes, 2, sizeof(gint32)));
  return f;
}

static LetheCheck *
harness(const char *const *params)
{
  GError *error = NULL;
  LetheCheck *h = lethe_check_new_from_registry(NULL, "sgd-train", params, &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_PTR_NOT_NULL_FATAL(h);
  return h;
}

/* Accuracy of @model on the samples of @data. */
static double
accuracy(LetheFrame *model, LetheFrame *data)
{
  GError *error = NULL;
  LetheTensor *out = NULL;
  CU_ASSERT_TRUE_FATAL(lethe_model_forward(model, lethe_frame_get_tensor(data, "x"), &out, &error));
  const gint32 *y = lethe_tensor_i32(lethe_frame_get_tensor(data, "y"));
  gint64 n = out->shape[0], k = out->shape[1], right = 0;
  for (gint64 i = 0; i < n; i++) {
    gint64 best = 0;
    for (gint64 c = 1; c < k; c++)
      if (lethe_tensor_f32(out)[i * k + c] > lethe_tensor_f32(out)[i * k + best])
        best = c;
    right += best == y[i];
  }
  lethe_tensor_unref(out);
  return (double)right / n;
}

static void
test_finetune_answers_each_task_and_copies_its_metadata(void)
{
  GError *error = NULL;
  LetheCheck *h = harness(P(ARCH, "epochs=20", "batch=16", "lr=0.05"));
  lethe_check_track_frames(h, TRUE);
  LetheFrame *t0 = make_task(0, 0, 1, 200, 0), *t1 = make_task(1, 2, 3, 200, 200);
  lethe_frame_set_tensor(t1, "x", lethe_frame_get_tensor(t0, "x"));
  lethe_frame_ref(t0);
  lethe_frame_ref(t1);
  CU_ASSERT_TRUE(lethe_check_push(h, "input", t0, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_TRUE(lethe_check_push(h, "input", t1, &error));
  LETHE_ASSERT_NO_ERROR(error);
  LetheFrame *m0 = lethe_check_pull(h, "model"), *m1 = lethe_check_pull(h, "model");
  CU_ASSERT_PTR_NOT_NULL_FATAL(m0);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m1);
  CU_ASSERT_PTR_NULL(lethe_check_pull(h, "model"));

  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(m1, "model-kind", ""), "sequential");
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(m1, "event", ""), "learn");
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(m0, "task", -1), 0);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(m1, "task", -1), 1);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(m0, "version", -1), 1);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(m1, "version", -1), 2);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(m1, "train-samples", -1), 200);
  CU_ASSERT_TRUE(lethe_frame_get_meta_double(m1, "train-seconds", -1) >= 0);
  gsize n_classes = 0;
  const gint32 *classes =
      g_variant_get_fixed_array(lethe_frame_get_meta(m1, "classes"), &n_classes, sizeof(gint32));
  CU_ASSERT_EQUAL(n_classes, 2);
  CU_ASSERT_EQUAL(classes[0], 2);
  CU_ASSERT_EQUAL(classes[1], 3);

  /* each model learned its task; fine-tuning on task 1 forgot task 0 */
  CU_ASSERT_TRUE(accuracy(m0, t0) > 0.95);
  CU_ASSERT_TRUE(accuracy(m1, t1) > 0.95);
  /* task 1 relabels task 0's inputs, so learning it overwrites task 0 */
  CU_ASSERT_TRUE(accuracy(m1, t0) < 0.05);
  /* the metric of the last epoch's loss */
  GPtrArray *metrics = lethe_check_get_metrics(h);
  CU_ASSERT_EQUAL(metrics->len, 2);
  lethe_frame_unref(m0);
  lethe_frame_unref(m1);
  lethe_frame_unref(t0);
  lethe_frame_unref(t1);
  CU_ASSERT_TRUE(lethe_check_teardown(h, &error));
  LETHE_ASSERT_NO_ERROR(error);
}

static void
test_joint_trains_on_everything_seen_and_keeps_old_tasks(void)
{
  GError *error = NULL;
  LetheCheck *h = harness(P(ARCH, "mode=joint", "epochs=20", "batch=16", "lr=0.05"));
  LetheFrame *t0 = make_task(0, 0, 1, 200, 0), *t1 = make_task(1, 2, 3, 200, 200);
  lethe_frame_ref(t0);
  lethe_frame_ref(t1);
  CU_ASSERT_TRUE(lethe_check_push(h, "input", t0, &error));
  CU_ASSERT_TRUE(lethe_check_push(h, "input", t1, &error));
  LETHE_ASSERT_NO_ERROR(error);
  lethe_frame_unref(lethe_check_pull(h, "model"));
  g_autoptr(LetheFrame) m1 = lethe_check_pull(h, "model");
  CU_ASSERT_PTR_NOT_NULL_FATAL(m1);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(m1, "train-samples", -1), 400);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(m1, "mode", ""), "joint");
  CU_ASSERT_TRUE(accuracy(m1, t0) > 0.95);
  CU_ASSERT_TRUE(accuracy(m1, t1) > 0.95);
  lethe_frame_unref(t0);
  lethe_frame_unref(t1);
  lethe_check_free(h);
}

/* The forget set of class 1: the rows of @task whose label is 1. */
static LetheFrame *
forget_class_one(LetheFrame *task)
{
  LetheTensor *y = lethe_frame_get_tensor(task, "y");
  GArray *rows = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (gint64 i = 0; i < y->shape[0]; i++)
    if (lethe_tensor_i32(y)[i] == 1)
      g_array_append_val(rows, i);
  LetheFrame *f = lethe_frame_new();
  LetheTensor *x = lethe_tensor_new_2d(LETHE_DTYPE_F32, rows->len, 4);
  LetheTensor *fy = lethe_tensor_new_1d(LETHE_DTYPE_I32, rows->len);
  LetheTensor *index = lethe_tensor_new_1d(LETHE_DTYPE_I64, rows->len);
  for (guint k = 0; k < rows->len; k++) {
    gint64 r = g_array_index(rows, gint64, k);
    memcpy(lethe_tensor_f32(x) + 4 * k, lethe_tensor_f32(lethe_frame_get_tensor(task, "x")) + 4 * r,
           4 * sizeof(float));
    lethe_tensor_i32(fy)[k] = 1;
    lethe_tensor_i64(index)[k] = lethe_tensor_i64(lethe_frame_get_tensor(task, "index"))[r];
  }
  lethe_frame_take_tensor(f, "x", x);
  lethe_frame_take_tensor(f, "y", fy);
  lethe_frame_take_tensor(f, "index", index);
  lethe_frame_set_meta_string(f, "event", "forget");
  g_array_unref(rows);
  return f;
}

static void
test_forget_request_retrains_without_the_forget_set(void)
{
  GError *error = NULL;
  LetheCheck *h = harness(P(ARCH, "epochs=20", "batch=16", "lr=0.05"));
  LetheFrame *t0 = make_task(0, 0, 1, 200, 0), *t1 = make_task(1, 2, 3, 200, 200);
  lethe_frame_ref(t0);
  CU_ASSERT_TRUE(lethe_check_push(h, "input", t0, &error));
  CU_ASSERT_TRUE(lethe_check_push(h, "input", t1, &error));
  LetheFrame *forget = forget_class_one(t0);
  lethe_frame_ref(forget);
  CU_ASSERT_TRUE(lethe_check_push(h, "input", forget, &error));
  LETHE_ASSERT_NO_ERROR(error);
  lethe_frame_unref(lethe_check_pull(h, "model"));
  lethe_frame_unref(lethe_check_pull(h, "model"));
  g_autoptr(LetheFrame) oracle = lethe_check_pull(h, "model");
  CU_ASSERT_PTR_NOT_NULL_FATAL(oracle);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(oracle, "event", ""), "forget");
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(oracle, "version", -1), 3);
  /* 400 samples seen, 100 of class 1 forgotten; trained from scratch */
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(oracle, "train-samples", -1), 300);
  CU_ASSERT_DOUBLE_EQUAL(accuracy(oracle, forget), 0.0, 1e-12);

  /* forgotten samples are gone: forgetting them again is refused */
  CU_ASSERT_FALSE(lethe_check_push(h, "input", forget, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "names 100 samples but only 0 of them were learned");
  lethe_check_free(h);

  /* a forget set naming a sample never learned */
  h = harness(P(ARCH, "epochs=1"));
  lethe_frame_ref(t0);
  CU_ASSERT_TRUE(lethe_check_push(h, "input", t0, &error));
  LetheFrame *stranger = forget_class_one(t0);
  lethe_tensor_i64(lethe_frame_get_tensor(stranger, "index"))[0] = 99999;
  CU_ASSERT_FALSE(lethe_check_push(h, "input", stranger, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "only 99 of them were learned");
  lethe_frame_unref(t0);
  lethe_check_free(h);
}

static void
test_retrain_mode_and_seeds_give_fresh_models(void)
{
  GError *error = NULL;
  LetheCheck *h = harness(P(ARCH, "mode=retrain", "seeds=3", "epochs=1"));
  LetheFrame *retain = make_task(0, 0, 1, 64, 0);
  lethe_frame_set_meta_string(retain, "event", "retain");
  CU_ASSERT_TRUE(lethe_check_push(h, "input", retain, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(lethe_check_get_n_pending(h, "model"), 3);
  LetheFrame *m[3];
  for (int i = 0; i < 3; i++) {
    m[i] = lethe_check_pull(h, "model");
    CU_ASSERT_EQUAL(lethe_frame_get_meta_int(m[i], "member", -1), i);
    CU_ASSERT_EQUAL(lethe_frame_get_meta_int(m[i], "n-members", -1), 3);
    CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(m[i], "event", ""), "retain");
  }
  /* different seeds, different weights */
  LetheTensor *w0 = lethe_frame_get_tensor(m[0], "0.weight");
  LetheTensor *w1 = lethe_frame_get_tensor(m[1], "0.weight");
  CU_ASSERT_PTR_NOT_NULL_FATAL(w0);
  CU_ASSERT_NOT_EQUAL(lethe_tensor_f32(w0)[0], lethe_tensor_f32(w1)[0]);
  for (int i = 0; i < 3; i++)
    lethe_frame_unref(m[i]);
  lethe_check_free(h);
}

static void
test_same_seed_gives_the_same_model(void)
{
  GError *error = NULL;
  LetheFrame *m[2];
  for (int i = 0; i < 2; i++) {
    LetheCheck *h = harness(P(ARCH, "epochs=2", "seed=7"));
    CU_ASSERT_TRUE(lethe_check_push(h, "input", make_task(0, 0, 1, 100, 0), &error));
    m[i] = lethe_check_pull(h, "model");
    lethe_check_free(h);
  }
  LetheTensor *a = lethe_frame_get_tensor(m[0], "2.weight");
  LetheTensor *b = lethe_frame_get_tensor(m[1], "2.weight");
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_data(a), lethe_tensor_data(b), lethe_tensor_n_bytes(a)), 0);
  lethe_frame_unref(m[0]);
  lethe_frame_unref(m[1]);
}

static void
test_bad_input_is_refused_with_clear_errors(void)
{
  GError *error = NULL;
  /* a label the model has no output for */
  LetheCheck *h = harness(P(ARCH));
  LetheFrame *t = make_task(0, 0, 1, 10, 0);
  lethe_tensor_i32(lethe_frame_get_tensor(t, "y"))[3] = 7;
  CU_ASSERT_FALSE(lethe_check_push(h, "input", t, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "label 7 of sample 3 (id 3) of task 0 is out of range for a model with 4 "
                     "outputs");
  lethe_check_free(h);

  /* an empty task */
  h = harness(P(ARCH));
  CU_ASSERT_FALSE(lethe_check_push(h, "input", make_task(2, 0, 1, 0, 0), &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "task 2 has no samples");
  lethe_check_free(h);

  /* data whose shape the model does not take */
  h = harness(P("arch=linear(5,3)"));
  CU_ASSERT_FALSE(lethe_check_push(h, "input", make_task(0, 0, 1, 10, 0), &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "check: the samples of task 0 (x [10, 4]) do not fit the model");
  lethe_check_free(h);

  /* a typo in the arch fails before any data */
  h = lethe_check_new_from_registry(NULL, "sgd-train", P("arch=linear(4,3) relux"), &error);
  CU_ASSERT_TRUE(h == NULL || !lethe_check_start(h, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "unknown layer 'relux'");
  g_clear_pointer(&h, lethe_check_free);

  /* a request it cannot answer */
  h = harness(P(ARCH));
  t = make_task(0, 0, 1, 10, 0);
  lethe_frame_set_meta_string(t, "event", "predict");
  CU_ASSERT_FALSE(lethe_check_push(h, "input", t, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "has event 'predict'");
  lethe_check_free(h);
}

static void
test_divergence_names_the_node_step_and_tensor(void)
{
  GError *error = NULL;
  LetheCheck *h = harness(P(ARCH));
  LetheFrame *t = make_task(0, 0, 1, 10, 0);
  lethe_tensor_f32(lethe_frame_get_tensor(t, "x"))[0] = INFINITY;
  CU_ASSERT_FALSE(lethe_check_push(h, "input", t, &error));
  CU_ASSERT_PTR_NOT_NULL_FATAL(error);
  CU_ASSERT_TRUE(g_error_matches(error, LETHE_ERROR, LETHE_ERROR_NUMERIC));
  CU_ASSERT_PTR_NOT_NULL(strstr(error->message, "check: task 0, epoch 1: "));
  CU_ASSERT_PTR_NOT_NULL(strstr(error->message, "at step 1"));
  if (!strstr(error->message, "input"))
    fprintf(stderr, "\n  %s\n", error->message);
  CU_ASSERT_PTR_NOT_NULL(strstr(error->message, "input"));
  g_clear_error(&error);
  lethe_check_free(h);
}

static void
test_cancellation_stops_training(void)
{
  GError *error = NULL;
  LetheCheck *h = harness(P(ARCH, "epochs=1000"));
  g_cancellable_cancel(lethe_node_get_cancellable(lethe_check_get_node(h)));
  gboolean ok = lethe_check_push(h, "input", make_task(0, 0, 1, 100, 0), &error);
  CU_ASSERT_FALSE(ok && lethe_check_get_n_pending(h, "model") > 0);
  g_clear_error(&error);
  lethe_check_free(h);
}

LETHE_TEST_MAIN("sgd-train", LETHE_TEST(test_finetune_answers_each_task_and_copies_its_metadata),
                LETHE_TEST(test_joint_trains_on_everything_seen_and_keeps_old_tasks),
                LETHE_TEST(test_forget_request_retrains_without_the_forget_set),
                LETHE_TEST(test_retrain_mode_and_seeds_give_fresh_models),
                LETHE_TEST(test_same_seed_gives_the_same_model),
                LETHE_TEST(test_bad_input_is_refused_with_clear_errors),
                LETHE_TEST(test_divergence_names_the_node_step_and_tensor),
                LETHE_TEST(test_cancellation_stops_training))
