/* Lethe — the stream plugins' row selection and split plans.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/error.h>

#include "lethe-test.h"
#include "stream-ops.h"

/* n samples, x[i] = (i, 10 i), y[i] = labels[i]. */
static LetheFrame *
make_dataset(const gint32 *labels, gint64 n)
{
  LetheFrame *f = lethe_frame_new();
  LetheTensor *x = lethe_tensor_new_2d(LETHE_DTYPE_F32, n, 2);
  LetheTensor *y = lethe_tensor_new_1d(LETHE_DTYPE_I32, n);
  for (gint64 i = 0; i < n; i++) {
    lethe_tensor_f32(x)[2 * i] = (float)i;
    lethe_tensor_f32(x)[2 * i + 1] = 10.0f * i;
    lethe_tensor_i32(y)[i] = labels[i];
  }
  lethe_frame_take_tensor(f, "x", x);
  lethe_frame_take_tensor(f, "y", y);
  lethe_frame_set_meta_string(f, "dataset", "toy");
  return f;
}

static const gint32 toy_labels[8] = {0, 1, 2, 3, 0, 1, 2, 3};

static void
test_take_rows_of_a_run_is_a_view(void)
{
  g_autoptr(LetheFrame) src = make_dataset(toy_labels, 8);
  const gint64 rows[3] = {2, 3, 4};
  g_autoptr(LetheFrame) sub = stream_take_rows(src, rows, 3);
  LetheTensor *x = lethe_frame_get_tensor(sub, "x");
  CU_ASSERT_EQUAL(x->shape[0], 3);
  CU_ASSERT_PTR_EQUAL(x->buffer, lethe_frame_get_tensor(src, "x")->buffer);
  CU_ASSERT_EQUAL(lethe_tensor_f32(x)[0], 2.0f);
  CU_ASSERT_EQUAL(lethe_tensor_i64(lethe_frame_get_tensor(sub, "index"))[2], 4);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(sub, "dataset", ""), "toy");
}

static void
test_take_rows_gathers_scattered_rows_and_keeps_ids(void)
{
  g_autoptr(LetheFrame) src = make_dataset(toy_labels, 8);
  const gint64 rows[3] = {7, 1, 4};
  g_autoptr(LetheFrame) sub = stream_take_rows(src, rows, 3);
  LetheTensor *x = lethe_frame_get_tensor(sub, "x");
  CU_ASSERT_PTR_NOT_EQUAL(x->buffer, lethe_frame_get_tensor(src, "x")->buffer);
  CU_ASSERT_EQUAL(lethe_tensor_f32(x)[0], 7.0f);
  CU_ASSERT_EQUAL(lethe_tensor_f32(x)[3], 10.0f);
  CU_ASSERT_EQUAL(lethe_tensor_i32(lethe_frame_get_tensor(sub, "y"))[2], 0);
  /* ids are the original rows, and survive a second selection */
  const gint64 again[2] = {2, 0};
  g_autoptr(LetheFrame) sub2 = stream_take_rows(sub, again, 2);
  const gint64 *ids = lethe_tensor_i64(lethe_frame_get_tensor(sub2, "index"));
  CU_ASSERT_EQUAL(ids[0], 4);
  CU_ASSERT_EQUAL(ids[1], 7);
  /* the source is untouched and not shared more than it was */
  CU_ASSERT_EQUAL(lethe_frame_get_refcount(src), 1);
}

static void
test_plan_equal_tasks_natural_order(void)
{
  GError *error = NULL;
  g_autoptr(StreamSplitPlan) plan = stream_plan_class_split(10, NULL, 0, 5, NULL, 0, NULL, &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(plan->n_tasks, 5);
  GArray *t2 = g_ptr_array_index(plan->task_classes, 2);
  CU_ASSERT_EQUAL(t2->len, 2);
  CU_ASSERT_EQUAL(g_array_index(t2, gint32, 0), 4);
  CU_ASSERT_EQUAL(g_array_index(t2, gint32, 1), 5);
}

static void
test_plan_uneven_first_task_and_order(void)
{
  GError *error = NULL;
  const gint64 order[10] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
  const gint64 per_task[6] = {5, 1, 1, 1, 1, 1};
  g_autoptr(StreamSplitPlan) plan =
      stream_plan_class_split(10, order, 10, 0, per_task, 6, NULL, &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(plan->n_tasks, 6);
  GArray *t0 = g_ptr_array_index(plan->task_classes, 0);
  GArray *t5 = g_ptr_array_index(plan->task_classes, 5);
  CU_ASSERT_EQUAL(t0->len, 5);
  CU_ASSERT_EQUAL(g_array_index(t0, gint32, 0), 9);
  CU_ASSERT_EQUAL(g_array_index(t5, gint32, 0), 0);
}

static void
test_plan_shuffled_order_is_seeded_permutation(void)
{
  GError *error = NULL;
  LetheRng a, b;
  lethe_rng_init(&a, 42);
  lethe_rng_init(&b, 42);
  g_autoptr(StreamSplitPlan) p1 = stream_plan_class_split(10, NULL, 0, 5, NULL, 0, &a, &error);
  g_autoptr(StreamSplitPlan) p2 = stream_plan_class_split(10, NULL, 0, 5, NULL, 0, &b, &error);
  LETHE_ASSERT_NO_ERROR(error);
  int seen = 0, moved = 0;
  for (guint i = 0; i < 10; i++) {
    gint32 c = g_array_index(p1->order, gint32, i);
    CU_ASSERT_EQUAL(c, g_array_index(p2->order, gint32, i));
    seen |= 1 << c;
    moved += c != (gint32)i;
  }
  CU_ASSERT_EQUAL(seen, 0x3ff);
  CU_ASSERT_TRUE(moved > 0);
}

static void
test_plan_rejects_bad_counts_and_classes(void)
{
  GError *error = NULL;
  CU_ASSERT_PTR_NULL(stream_plan_class_split(10, NULL, 0, 3, NULL, 0, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "cannot split 10 classes into 3");
  const gint64 per_task[2] = {5, 4};
  CU_ASSERT_PTR_NULL(stream_plan_class_split(10, NULL, 0, 0, per_task, 2, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "adds up to 9 classes");
  const gint64 empty[3] = {5, 0, 5};
  CU_ASSERT_PTR_NULL(stream_plan_class_split(10, NULL, 0, 0, empty, 3, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "an empty task");
  const gint64 order[2] = {1, 12};
  CU_ASSERT_PTR_NULL(stream_plan_class_split(10, order, 2, 1, NULL, 0, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "lists class 12");
  const gint64 twice[2] = {1, 1};
  CU_ASSERT_PTR_NULL(stream_plan_class_split(10, twice, 2, 1, NULL, 0, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "class 1 twice");
}

static void
test_labels_out_of_range_name_the_sample(void)
{
  const gint32 labels[3] = {0, 10, 1};
  g_autoptr(LetheFrame) f = make_dataset(labels, 3);
  GError *error = NULL;
  CU_ASSERT_PTR_NULL(stream_labels(f, "tasks", 10, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "label 10 of sample 1");
  const gint32 neg[2] = {0, -1};
  g_autoptr(LetheFrame) g = make_dataset(neg, 2);
  CU_ASSERT_PTR_NULL(stream_labels(g, "tasks", 0, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "is negative");
}

static void
test_split_by_task_makes_contiguous_views(void)
{
  g_autoptr(LetheFrame) src = make_dataset(toy_labels, 8);
  /* tasks {0,1} and {2,3}; class 3 left out */
  const gint32 task_of_row[8] = {0, 0, 1, -1, 0, 0, 1, -1};
  gint64 starts[3];
  g_autoptr(LetheFrame) sorted = stream_split_by_task(src, task_of_row, 8, 2, starts);
  CU_ASSERT_EQUAL(starts[0], 0);
  CU_ASSERT_EQUAL(starts[1], 4);
  CU_ASSERT_EQUAL(starts[2], 6);
  const gint64 *ids = lethe_tensor_i64(lethe_frame_get_tensor(sorted, "index"));
  const gint64 want[6] = {0, 1, 4, 5, 2, 6}; /* stable within each task */
  for (int i = 0; i < 6; i++)
    CU_ASSERT_EQUAL(ids[i], want[i]);
  g_autoptr(LetheFrame) t1 = stream_take_range(sorted, starts[1], starts[2]);
  LetheTensor *y1 = lethe_frame_get_tensor(t1, "y");
  CU_ASSERT_PTR_EQUAL(y1->buffer, lethe_frame_get_tensor(sorted, "y")->buffer);
  CU_ASSERT_EQUAL(lethe_tensor_i32(y1)[0], 2);
  CU_ASSERT_EQUAL(lethe_tensor_i32(y1)[1], 2);
}

static void
test_concat_joins_rows_and_ids(void)
{
  g_autoptr(LetheFrame) src = make_dataset(toy_labels, 8);
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func((GDestroyNotify)lethe_frame_unref);
  const gint64 a[2] = {5, 6}, b[1] = {0};
  g_ptr_array_add(parts, stream_take_rows(src, a, 2));
  g_ptr_array_add(parts, stream_take_rows(src, b, 1));
  GError *error = NULL;
  g_autoptr(LetheFrame) all = stream_concat(parts, &error);
  LETHE_ASSERT_NO_ERROR(error);
  LetheTensor *x = lethe_frame_get_tensor(all, "x");
  CU_ASSERT_EQUAL(x->shape[0], 3);
  CU_ASSERT_EQUAL(lethe_tensor_f32(x)[2 * 2 + 1], 0.0f);
  CU_ASSERT_EQUAL(lethe_tensor_f32(x)[1], 50.0f);
  const gint64 *ids = lethe_tensor_i64(lethe_frame_get_tensor(all, "index"));
  CU_ASSERT_EQUAL(ids[0], 5);
  CU_ASSERT_EQUAL(ids[2], 0);
}

static void
test_stratified_pick_takes_fraction_of_each_class(void)
{
  gint32 labels[40];
  for (int i = 0; i < 40; i++)
    labels[i] = i < 30 ? 0 : 1; /* 30 of class 0, 10 of class 1 */
  gboolean picked[40];
  LetheRng rng;
  lethe_rng_init(&rng, 7);
  CU_ASSERT_EQUAL(stream_stratified_pick(labels, 40, 0.2, &rng, picked), 8);
  int per_class[2] = {0, 0};
  for (int i = 0; i < 40; i++)
    per_class[labels[i]] += picked[i];
  CU_ASSERT_EQUAL(per_class[0], 6);
  CU_ASSERT_EQUAL(per_class[1], 2);
  CU_ASSERT_EQUAL(stream_stratified_pick(NULL, 40, 0.5, &rng, picked), 20);
}

LETHE_TEST_MAIN("stream", LETHE_TEST(test_take_rows_of_a_run_is_a_view),
                LETHE_TEST(test_take_rows_gathers_scattered_rows_and_keeps_ids),
                LETHE_TEST(test_plan_equal_tasks_natural_order),
                LETHE_TEST(test_plan_uneven_first_task_and_order),
                LETHE_TEST(test_plan_shuffled_order_is_seeded_permutation),
                LETHE_TEST(test_plan_rejects_bad_counts_and_classes),
                LETHE_TEST(test_labels_out_of_range_name_the_sample),
                LETHE_TEST(test_split_by_task_makes_contiguous_views),
                LETHE_TEST(test_concat_joins_rows_and_ids),
                LETHE_TEST(test_stratified_pick_takes_fraction_of_each_class))
