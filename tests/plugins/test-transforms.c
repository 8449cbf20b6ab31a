/* Tests of the dataset transforms (subset, shuffle, normalize,
 * train-val-split, window, batch), through the lethe/check.h harness.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <lethe/check.h>
#include <lethe/lethe.h>
#include <math.h>

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})

/* n samples of d features, x[i][j] = i + j / 10, y[i] = i % n_classes,
 * subject[i] = i / 4. */
static LetheFrame *
make_dataset(gint64 n, gint64 d, gint32 n_classes)
{
  LetheFrame *f = lethe_frame_new();
  LetheTensor *x = lethe_tensor_new_2d(LETHE_DTYPE_F32, n, d);
  LetheTensor *y = lethe_tensor_new_1d(LETHE_DTYPE_I32, n);
  LetheTensor *subject = lethe_tensor_new_1d(LETHE_DTYPE_I64, n);
  for (gint64 i = 0; i < n; i++) {
    for (gint64 j = 0; j < d; j++)
      lethe_tensor_f32(x)[i * d + j] = (float)i + (float)j / 10.0f;
    lethe_tensor_i32(y)[i] = (gint32)(i % n_classes);
    lethe_tensor_i64(subject)[i] = i / 4;
  }
  lethe_frame_take_tensor(f, "x", x);
  lethe_frame_take_tensor(f, "y", y);
  lethe_frame_take_tensor(f, "subject", subject);
  lethe_frame_set_meta_int(f, "task", 3);
  return f;
}

static LetheCheck *
harness(const char *type, const char *const *params)
{
  GError *error = NULL;
  LetheCheck *h = lethe_check_new_from_registry(NULL, type, params, &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_PTR_NOT_NULL_FATAL(h);
  return h;
}

/* Pushes @in (transfer full) and returns the one frame on @port. */
static LetheFrame *
run_one(LetheCheck *h, LetheFrame *in, const char *port)
{
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_check_push(h, "input", in, &error));
  LETHE_ASSERT_NO_ERROR(error);
  LetheFrame *out = lethe_check_pull(h, port);
  CU_ASSERT_PTR_NOT_NULL_FATAL(out);
  return out;
}

static gint64
count_label(const LetheFrame *f, gint32 label)
{
  LetheTensor *y = lethe_frame_get_tensor(f, "y");
  gint64 c = 0;
  for (gint64 i = 0; i < y->shape[0]; i++)
    c += lethe_tensor_i32(y)[i] == label;
  return c;
}

static void
test_subset_is_stratified_ordered_and_keeps_ids(void)
{
  LetheCheck *h = harness("subset", P("fraction=0.25"));
  g_autoptr(LetheFrame) out = run_one(h, make_dataset(400, 3, 4), "output");
  LetheTensor *x = lethe_frame_get_tensor(out, "x");
  CU_ASSERT_EQUAL(x->shape[0], 100);
  for (gint32 c = 0; c < 4; c++)
    CU_ASSERT_EQUAL(count_label(out, c), 25);
  const gint64 *ids = lethe_tensor_i64(lethe_frame_get_tensor(out, "index"));
  for (gint64 i = 0; i < 100; i++) {
    /* the rows are the source rows their ids name, in ascending order */
    CU_ASSERT_EQUAL(lethe_tensor_f32(x)[i * 3], (float)ids[i]);
    CU_ASSERT_EQUAL(lethe_tensor_i32(lethe_frame_get_tensor(out, "y"))[i], ids[i] % 4);
    if (i > 0)
      CU_ASSERT_TRUE(ids[i] > ids[i - 1]);
  }
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(out, "task", -1), 3);
  lethe_check_free(h);
}

static void
test_subset_count_and_seed_make_it_reproducible(void)
{
  LetheCheck *a = harness("subset", P("count=60"));
  LetheCheck *b = harness("subset", P("count=60"));
  LetheCheck *c = harness("subset", P("count=60"));
  lethe_check_set_seed(c, 7);
  g_autoptr(LetheFrame) oa = run_one(a, make_dataset(300, 2, 3), "output");
  g_autoptr(LetheFrame) ob = run_one(b, make_dataset(300, 2, 3), "output");
  g_autoptr(LetheFrame) oc = run_one(c, make_dataset(300, 2, 3), "output");
  LetheTensor *ia = lethe_frame_get_tensor(oa, "index");
  LetheTensor *ib = lethe_frame_get_tensor(ob, "index");
  LetheTensor *ic = lethe_frame_get_tensor(oc, "index");
  CU_ASSERT_EQUAL(ia->shape[0], 60);
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_data(ia), lethe_tensor_data(ib), 60 * sizeof(gint64)), 0);
  CU_ASSERT_NOT_EQUAL(memcmp(lethe_tensor_data(ia), lethe_tensor_data(ic), 60 * sizeof(gint64)), 0);
  lethe_check_free(a);
  lethe_check_free(b);
  lethe_check_free(c);
}

static void
test_subset_refuses_an_empty_result(void)
{
  LetheCheck *h = harness("subset", P("fraction=0.01"));
  GError *error = NULL;
  CU_ASSERT_FALSE(lethe_check_push(h, "input", make_dataset(20, 2, 4), &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "subset of 0.01 of 20 samples");
  lethe_check_free(h);
}

static void
test_shuffle_permutes_rows_with_their_labels(void)
{
  LetheCheck *h = harness("shuffle", NULL);
  lethe_check_track_frames(h, TRUE);
  LetheFrame *out = run_one(h, make_dataset(50, 2, 5), "output");
  LetheTensor *x = lethe_frame_get_tensor(out, "x");
  const gint64 *ids = lethe_tensor_i64(lethe_frame_get_tensor(out, "index"));
  gboolean seen[50] = {FALSE}, moved = FALSE;
  for (gint64 i = 0; i < 50; i++) {
    CU_ASSERT_FALSE(seen[ids[i]]);
    seen[ids[i]] = TRUE;
    moved |= ids[i] != i;
    CU_ASSERT_EQUAL(lethe_tensor_f32(x)[2 * i + 1], (float)ids[i] + 0.1f);
    CU_ASSERT_EQUAL(lethe_tensor_i32(lethe_frame_get_tensor(out, "y"))[i], ids[i] % 5);
    CU_ASSERT_EQUAL(lethe_tensor_i64(lethe_frame_get_tensor(out, "subject"))[i], ids[i] / 4);
  }
  CU_ASSERT_TRUE(moved);
  lethe_frame_unref(out);
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_check_teardown(h, &error));
  LETHE_ASSERT_NO_ERROR(error);
}

static void
test_normalize_standardises_each_feature_of_the_first_frame(void)
{
  LetheCheck *h = harness("normalize", NULL);
  g_autoptr(LetheFrame) out = run_one(h, make_dataset(10, 2, 2), "output");
  LetheTensor *x = lethe_frame_get_tensor(out, "x");
  /* feature j is i + j/10 for i = 0..9: mean 4.5 + j/10, variance 8.25 */
  for (int j = 0; j < 2; j++) {
    double sum = 0, sum2 = 0;
    for (int i = 0; i < 10; i++) {
      double v = lethe_tensor_f32(x)[2 * i + j];
      sum += v;
      sum2 += v * v;
    }
    CU_ASSERT_DOUBLE_EQUAL(sum / 10, 0.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(sum2 / 10, 1.0, 1e-5);
  }
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(x)[0], -4.5 / sqrt(8.25), 1e-6);
  /* a second frame reuses the first frame's statistics */
  g_autoptr(LetheFrame) out2 = run_one(h, make_dataset(1, 2, 2), "output");
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(lethe_frame_get_tensor(out2, "x"))[1], -4.5 / sqrt(8.25),
                         1e-6);
  lethe_check_free(h);
}

static void
test_normalize_uses_the_reference_and_fixed_values(void)
{
  GError *error = NULL;
  LetheCheck *h = harness("normalize", P("method=minmax", "over=global"));
  CU_ASSERT_TRUE(lethe_check_push(h, "reference", make_dataset(11, 1, 2), &error));
  g_autoptr(LetheFrame) out = run_one(h, make_dataset(3, 1, 2), "output");
  /* the reference spans [0, 10]: 2 ↦ 0.2 */
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(lethe_frame_get_tensor(out, "x"))[2], 0.2, 1e-6);
  lethe_check_free(h);

  h = harness("normalize", P("mean=1", "std=2"));
  g_autoptr(LetheFrame) fixed = run_one(h, make_dataset(4, 1, 2), "output");
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(lethe_frame_get_tensor(fixed, "x"))[3], 1.0, 1e-6);
  lethe_check_free(h);

  h = lethe_check_new_from_registry(NULL, "normalize", P("mean=1,2"), &error);
  CU_ASSERT_TRUE(h == NULL || !lethe_check_start(h, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "give 'mean' and 'std' together");
  g_clear_pointer(&h, lethe_check_free);
}

static void
test_normalize_refuses_data_of_another_shape(void)
{
  GError *error = NULL;
  LetheCheck *h = harness("normalize", NULL);
  lethe_frame_unref(run_one(h, make_dataset(5, 3, 2), "output"));
  CU_ASSERT_FALSE(lethe_check_push(h, "input", make_dataset(5, 4, 2), &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA, "'x' is [5, 4]");
  lethe_check_free(h);
}

static void
test_train_val_split_is_disjoint_and_stratified(void)
{
  LetheCheck *h = harness("train-val-split", P("fraction=0.2"));
  g_autoptr(LetheFrame) train = run_one(h, make_dataset(100, 2, 2), "train");
  g_autoptr(LetheFrame) val = lethe_check_pull(h, "validation");
  CU_ASSERT_PTR_NOT_NULL_FATAL(val);
  CU_ASSERT_EQUAL(count_label(val, 0), 10);
  CU_ASSERT_EQUAL(count_label(val, 1), 10);
  CU_ASSERT_EQUAL(count_label(train, 0), 40);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(val, "split", ""), "validation");
  gboolean seen[100] = {FALSE};
  for (int k = 0; k < 2; k++) {
    LetheTensor *ids = lethe_frame_get_tensor(k ? val : train, "index");
    for (gint64 i = 0; i < ids->shape[0]; i++) {
      CU_ASSERT_FALSE(seen[lethe_tensor_i64(ids)[i]]);
      seen[lethe_tensor_i64(ids)[i]] = TRUE;
    }
  }
  lethe_check_free(h);
}

static void
test_train_val_split_by_group_keeps_subjects_whole(void)
{
  LetheCheck *h = harness("train-val-split", P("fraction=0.25", "group=subject"));
  g_autoptr(LetheFrame) train = run_one(h, make_dataset(80, 2, 3), "train");
  g_autoptr(LetheFrame) val = lethe_check_pull(h, "validation");
  CU_ASSERT_PTR_NOT_NULL_FATAL(val);
  /* 20 subjects of 4 rows: 5 subjects held out */
  LetheTensor *vs = lethe_frame_get_tensor(val, "subject");
  LetheTensor *ts = lethe_frame_get_tensor(train, "subject");
  CU_ASSERT_EQUAL(vs->shape[0], 20);
  CU_ASSERT_EQUAL(ts->shape[0], 60);
  for (gint64 i = 0; i < vs->shape[0]; i++)
    for (gint64 j = 0; j < ts->shape[0]; j++)
      CU_ASSERT_NOT_EQUAL(lethe_tensor_i64(vs)[i], lethe_tensor_i64(ts)[j]);
  lethe_check_free(h);

  GError *error = NULL;
  h = harness("train-val-split", P("group=patient"));
  CU_ASSERT_FALSE(lethe_check_push(h, "input", make_dataset(8, 2, 2), &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "tensor 'patient'");
  lethe_check_free(h);
}

static void
test_train_val_split_refuses_an_empty_side(void)
{
  GError *error = NULL;
  LetheCheck *h = harness("train-val-split", P("fraction=0.05"));
  CU_ASSERT_FALSE(lethe_check_push(h, "input", make_dataset(6, 2, 2), &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "leaves the validation side empty");
  lethe_check_free(h);
}

static void
test_window_cuts_signals_and_repeats_labels(void)
{
  LetheCheck *h = harness("window", P("length=4", "stride=3"));
  /* 2 signals of 2 channels × 10 samples: x[i][c][t] = 100 i + 10 c + t */
  LetheFrame *in = lethe_frame_new();
  gint64 shape[3] = {2, 2, 10};
  LetheTensor *x = lethe_tensor_new(LETHE_DTYPE_F32, 3, shape);
  for (int i = 0; i < 2; i++)
    for (int c = 0; c < 2; c++)
      for (int t = 0; t < 10; t++)
        lethe_tensor_f32(x)[(i * 2 + c) * 10 + t] = 100 * i + 10 * c + t;
  LetheTensor *y = lethe_tensor_new_1d(LETHE_DTYPE_I32, 2);
  lethe_tensor_i32(y)[1] = 1;
  lethe_frame_take_tensor(in, "x", x);
  lethe_frame_take_tensor(in, "y", y);
  g_autoptr(LetheFrame) out = run_one(h, in, "output");
  LetheTensor *wx = lethe_frame_get_tensor(out, "x");
  /* windows start at 0, 3, 6: three per signal */
  CU_ASSERT_EQUAL(wx->shape[0], 6);
  CU_ASSERT_EQUAL(wx->shape[1], 2);
  CU_ASSERT_EQUAL(wx->shape[2], 4);
  const float *v = lethe_tensor_f32(wx);
  CU_ASSERT_EQUAL(v[(4 * 2 + 1) * 4 + 0], 100 + 10 + 3); /* window 4 = signal 1, start 3, ch 1 */
  CU_ASSERT_EQUAL(lethe_tensor_i32(lethe_frame_get_tensor(out, "y"))[4], 1);
  CU_ASSERT_EQUAL(lethe_tensor_i32(lethe_frame_get_tensor(out, "y"))[2], 0);
  CU_ASSERT_EQUAL(lethe_tensor_i64(lethe_frame_get_tensor(out, "start"))[5], 6);
  CU_ASSERT_EQUAL(lethe_tensor_i64(lethe_frame_get_tensor(out, "parent"))[3], 1);
  CU_ASSERT_EQUAL(lethe_tensor_i64(lethe_frame_get_tensor(out, "index"))[5], 5);
  lethe_check_free(h);

  GError *error = NULL;
  h = harness("window", P("length=11"));
  CU_ASSERT_FALSE(lethe_check_push(h, "input", make_dataset(3, 10, 2), &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "fewer than one window of 11");
  lethe_check_free(h);
}

static void
test_batch_emits_views_in_order(void)
{
  LetheCheck *h = harness("batch", P("size=4"));
  GError *error = NULL;
  LetheFrame *in = make_dataset(10, 2, 2);
  LetheBuffer *buf = lethe_frame_get_tensor(in, "x")->buffer;
  CU_ASSERT_TRUE(lethe_check_push(h, "input", in, &error));
  CU_ASSERT_EQUAL(lethe_check_get_n_pending(h, "output"), 3);
  for (int b = 0; b < 3; b++) {
    g_autoptr(LetheFrame) f = lethe_check_pull(h, "output");
    LetheTensor *x = lethe_frame_get_tensor(f, "x");
    CU_ASSERT_PTR_EQUAL(x->buffer, buf);
    CU_ASSERT_EQUAL(x->shape[0], b < 2 ? 4 : 2);
    CU_ASSERT_EQUAL(lethe_tensor_f32(x)[0], 4.0f * b);
    CU_ASSERT_EQUAL(lethe_frame_get_meta_int(f, "batch", -1), b);
    CU_ASSERT_EQUAL(lethe_frame_get_meta_int(f, "n-batches", -1), 3);
  }
  lethe_check_free(h);
  h = harness("batch", P("size=4", "drop-last=true"));
  CU_ASSERT_TRUE(lethe_check_push(h, "input", make_dataset(10, 2, 2), &error));
  CU_ASSERT_EQUAL(lethe_check_get_n_pending(h, "output"), 2);
  lethe_check_free(h);
}

/* 10 rows, classes 0 0 0 0 0 0 0 1 1 2 (7, 2, 1). */
static LetheFrame *
imbalanced(void)
{
  LetheFrame *f = make_dataset(10, 2, 1);
  const gint32 y[10] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 2};
  memcpy(lethe_tensor_i32(lethe_frame_get_tensor(f, "y")), y, sizeof y);
  return f;
}

static void
test_balance_repeats_or_drops_rows_per_class(void)
{
  g_autoptr(LetheCheck) h = harness("balance", NULL);
  g_autoptr(LetheFrame) out = run_one(h, imbalanced(), "output");
  LetheTensor *x = lethe_frame_get_tensor(out, "x");
  LetheTensor *idx = lethe_frame_get_tensor(out, "index");
  CU_ASSERT_EQUAL_FATAL(x->shape[0], 21);
  CU_ASSERT_EQUAL(count_label(out, 0), 7);
  CU_ASSERT_EQUAL(count_label(out, 1), 7);
  CU_ASSERT_EQUAL(count_label(out, 2), 7);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(out, "balanced-per-class", 0), 7);
  /* Rows travel whole; class 1's two rows appear 3 and 4 times. */
  guint copies[10] = {0}, mismatched = 0;
  for (gint64 i = 0; i < 21; i++) {
    gint64 id = lethe_tensor_i64(idx)[i];
    copies[id]++;
    mismatched += lethe_tensor_f32(x)[i * 2] != (float)id;
  }
  CU_ASSERT_EQUAL(mismatched, 0);
  CU_ASSERT_EQUAL(copies[0], 1);
  CU_ASSERT_TRUE((copies[7] == 3 && copies[8] == 4) || (copies[7] == 4 && copies[8] == 3));
  CU_ASSERT_EQUAL(copies[9], 7);

  g_autoptr(LetheCheck) u = harness("balance", P("method=undersample"));
  g_autoptr(LetheFrame) small = run_one(u, imbalanced(), "output");
  CU_ASSERT_EQUAL(lethe_frame_get_tensor(small, "y")->shape[0], 3);
  for (gint32 c = 0; c < 3; c++)
    CU_ASSERT_EQUAL(count_label(small, c), 1);
}

static void
test_normalize_per_sample_scales_each_row_and_channel_alone(void)
{
  /* 3 samples × 2 channels × 50: channel c of sample i is a sine of
   * amplitude (i + 1)(c + 1) around i − c. */
  LetheFrame *f = lethe_frame_new();
  gint64 shape[3] = {3, 2, 50};
  LetheTensor *x = lethe_tensor_new(LETHE_DTYPE_F32, 3, shape);
  for (gint64 i = 0; i < 3; i++)
    for (gint64 c = 0; c < 2; c++)
      for (gint64 t = 0; t < 50; t++)
        lethe_tensor_f32(x)[(i * 2 + c) * 50 + t] =
            (float)((i + 1) * (c + 1) * sin(t * 0.7) + (double)(i - c));
  lethe_frame_take_tensor(f, "x", x);
  lethe_frame_take_tensor(f, "y", lethe_tensor_new_1d(LETHE_DTYPE_I32, 3));
  g_autoptr(LetheCheck) h = harness("normalize", P("per-sample=true"));
  g_autoptr(LetheFrame) out = run_one(h, f, "output");
  const float *o = lethe_tensor_f32(lethe_frame_get_tensor(out, "x"));
  for (gint64 g = 0; g < 6; g++) {
    double m = 0, v = 0;
    for (gint64 t = 0; t < 50; t++)
      m += o[g * 50 + t] / 50.0;
    for (gint64 t = 0; t < 50; t++)
      v += (o[g * 50 + t] - m) * (o[g * 50 + t] - m) / 50.0;
    CU_ASSERT_DOUBLE_EQUAL(m, 0, 1e-5);
    CU_ASSERT_DOUBLE_EQUAL(v, 1, 1e-4);
  }
  /* Every row then holds the same standardised sine. */
  for (gint64 t = 0; t < 50; t++)
    CU_ASSERT_DOUBLE_EQUAL(o[5 * 50 + t], o[t], 1e-4);
  GError *error = NULL;
  g_autoptr(LetheCheck) bad = harness("normalize", P("per-sample=true", "mean=0", "std=1"));
  CU_ASSERT_FALSE(lethe_check_start(bad, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "drop 'mean' and 'std'");
}

LETHE_TEST_MAIN("transforms", LETHE_TEST(test_subset_is_stratified_ordered_and_keeps_ids),
                LETHE_TEST(test_subset_count_and_seed_make_it_reproducible),
                LETHE_TEST(test_subset_refuses_an_empty_result),
                LETHE_TEST(test_shuffle_permutes_rows_with_their_labels),
                LETHE_TEST(test_normalize_standardises_each_feature_of_the_first_frame),
                LETHE_TEST(test_normalize_uses_the_reference_and_fixed_values),
                LETHE_TEST(test_normalize_refuses_data_of_another_shape),
                LETHE_TEST(test_normalize_per_sample_scales_each_row_and_channel_alone),
                LETHE_TEST(test_train_val_split_is_disjoint_and_stratified),
                LETHE_TEST(test_train_val_split_by_group_keeps_subjects_whole),
                LETHE_TEST(test_train_val_split_refuses_an_empty_side),
                LETHE_TEST(test_window_cuts_signals_and_repeats_labels),
                LETHE_TEST(test_balance_repeats_or_drops_rows_per_class),
                LETHE_TEST(test_batch_emits_views_in_order))
