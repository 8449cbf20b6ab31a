/* Lethe — LetheFrame: named tensors and metadata.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <lethe/frame.h>

static void
test_frame_keeps_tensor_order(void)
{
  LetheFrame *f = lethe_frame_new();
  LetheTensor *x = lethe_tensor_new_2d(LETHE_DTYPE_F32, 4, 3);
  LetheTensor *y = lethe_tensor_new_1d(LETHE_DTYPE_I32, 4);
  lethe_frame_set_tensor(f, "x", x);
  CU_ASSERT_EQUAL(lethe_tensor_get_refcount(x), 2);
  lethe_frame_take_tensor(f, "y", y);
  CU_ASSERT_EQUAL(lethe_tensor_get_refcount(y), 1);
  lethe_frame_take_tensor(f, "ids", lethe_tensor_new_1d(LETHE_DTYPE_I64, 4));
  CU_ASSERT_EQUAL(lethe_frame_get_n_tensors(f), 3);
  const char *name = NULL;
  CU_ASSERT_PTR_EQUAL(lethe_frame_get_nth(f, 1, &name), y);
  CU_ASSERT_STRING_EQUAL(name, "y");

  /* Replacing keeps the position and drops the old tensor. */
  LetheTensor *x2 = lethe_tensor_new_2d(LETHE_DTYPE_F32, 4, 5);
  lethe_frame_take_tensor(f, "x", x2);
  CU_ASSERT_EQUAL(lethe_tensor_get_refcount(x), 1);
  CU_ASSERT_PTR_EQUAL(lethe_frame_get_nth(f, 0, &name), x2);
  CU_ASSERT_STRING_EQUAL(name, "x");
  CU_ASSERT_PTR_EQUAL(lethe_frame_get_tensor(f, "x"), x2);

  CU_ASSERT_TRUE(lethe_frame_remove_tensor(f, "y"));
  CU_ASSERT_FALSE(lethe_frame_remove_tensor(f, "y"));
  CU_ASSERT_PTR_NULL(lethe_frame_get_tensor(f, "y"));
  CU_ASSERT_EQUAL(lethe_frame_get_n_tensors(f), 2);
  lethe_frame_get_nth(f, 1, &name);
  CU_ASSERT_STRING_EQUAL(name, "ids");
  lethe_tensor_unref(x);
  lethe_frame_unref(f);
}

static void
test_frame_holds_ten_thousand_tensors(void)
{
  LetheFrame *f = lethe_frame_new();
  LetheTensor *shared = lethe_tensor_new_1d(LETHE_DTYPE_F32, 1);
  for (int i = 0; i < 10000; i++) {
    char name[32];
    g_snprintf(name, sizeof name, "layer%d.weight", i);
    LetheTensor *t = lethe_tensor_new_1d(LETHE_DTYPE_I32, 1);
    lethe_tensor_i32(t)[0] = i;
    lethe_frame_take_tensor(f, name, t);
  }
  CU_ASSERT_EQUAL(lethe_frame_get_n_tensors(f), 10000);
  CU_ASSERT_TRUE(lethe_frame_remove_tensor(f, "layer5000.weight"));
  lethe_frame_set_tensor(f, "layer9999.weight", shared);
  int wrong = 0;
  for (int i = 0; i < 9999; i++) {
    char name[32];
    g_snprintf(name, sizeof name, "layer%d.weight", i);
    LetheTensor *t = lethe_frame_get_tensor(f, name);
    if (i == 5000)
      wrong += t != NULL;
    else
      wrong += t == NULL || lethe_tensor_i32(t)[0] != i;
  }
  CU_ASSERT_EQUAL(wrong, 0);
  CU_ASSERT_PTR_EQUAL(lethe_frame_get_tensor(f, "layer9999.weight"), shared);
  const char *name = NULL;
  CU_ASSERT_PTR_EQUAL(lethe_frame_get_nth(f, 9998, &name), shared);
  CU_ASSERT_STRING_EQUAL(name, "layer9999.weight");
  lethe_frame_get_nth(f, 5000, &name);
  CU_ASSERT_STRING_EQUAL(name, "layer5001.weight");

  LetheFrame *copy = lethe_frame_copy(f);
  CU_ASSERT_PTR_EQUAL(lethe_frame_get_tensor(copy, "layer1234.weight"),
                      lethe_frame_get_tensor(f, "layer1234.weight"));
  lethe_frame_unref(copy);
  lethe_frame_unref(f);
  CU_ASSERT_EQUAL(lethe_tensor_get_refcount(shared), 1);
  lethe_tensor_unref(shared);
}

static void
test_frame_metadata_keeps_insertion_order(void)
{
  LetheFrame *f = lethe_frame_new();
  lethe_frame_set_meta_string(f, "event", "learn");
  lethe_frame_set_meta_int(f, "task", 3);
  const gint32 classes[2] = {6, 7};
  lethe_frame_set_meta(f, "classes",
                       g_variant_new_fixed_array(G_VARIANT_TYPE_INT32, classes, 2, sizeof(gint32)));
  lethe_frame_set_meta_double(f, "lr", 0.5);
  lethe_frame_set_meta_int(f, "task", 4); /* replaced in place */
  lethe_frame_set_meta_int(f, "big", G_GINT64_CONSTANT(1) << 40);

  g_autoptr(GVariant) all = lethe_frame_get_metadata(f);
  g_autofree char *text = g_variant_print(all, TRUE);
  CU_ASSERT_STRING_EQUAL(text, "{'event': <'learn'>, 'task': <4>, 'classes': <[6, 7]>, "
                               "'lr': <0.5>, 'big': <int64 1099511627776>}");
  CU_ASSERT_TRUE(g_variant_is_of_type(lethe_frame_get_meta(f, "task"), G_VARIANT_TYPE_INT32));
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(f, "task", -1), 4);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(f, "big", -1), G_GINT64_CONSTANT(1) << 40);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(f, "event", -1), -1);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_double(f, "lr", 0), 0.5);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_double(f, "task", 0), 4.0);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(f, "event", NULL), "learn");
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(f, "task", "none"), "none");
  CU_ASSERT_PTR_NULL(lethe_frame_get_meta(f, "missing"));

  lethe_frame_set_meta(f, "event", NULL);
  g_autoptr(GPtrArray) keys = lethe_frame_get_meta_keys(f);
  CU_ASSERT_EQUAL(keys->len, 4);
  CU_ASSERT_STRING_EQUAL(keys->pdata[0], "task");
  CU_ASSERT_STRING_EQUAL(keys->pdata[3], "big");
  lethe_frame_unref(f);
}

static void
test_frame_make_writable_copies_when_shared(void)
{
  LetheFrame *f = lethe_frame_new();
  lethe_frame_take_tensor(f, "x", lethe_tensor_new_1d(LETHE_DTYPE_F32, 8));
  lethe_frame_set_meta_int(f, "version", 1);
  CU_ASSERT_TRUE(lethe_frame_is_writable(f));
  LetheFrame *same = lethe_frame_make_writable(f);
  CU_ASSERT_PTR_EQUAL(same, f);

  LetheFrame *other = lethe_frame_ref(f); /* fan-out: two consumers */
  CU_ASSERT_EQUAL(lethe_frame_get_refcount(f), 2);
  CU_ASSERT_FALSE(lethe_frame_is_writable(f));
  LetheFrame *w = lethe_frame_make_writable(f);
  CU_ASSERT_PTR_NOT_EQUAL(w, other);
  CU_ASSERT_EQUAL(lethe_frame_get_refcount(other), 1);
  CU_ASSERT_EQUAL(lethe_frame_get_refcount(w), 1);
  /* Shallow: the tensor is shared, so it is not writable in place. */
  LetheTensor *x = lethe_frame_get_tensor(w, "x");
  CU_ASSERT_PTR_EQUAL(x, lethe_frame_get_tensor(other, "x"));
  CU_ASSERT_EQUAL(lethe_tensor_get_refcount(x), 2);
  CU_ASSERT_FALSE(lethe_tensor_is_writable(x));

  lethe_frame_set_meta_int(w, "version", 2);
  lethe_frame_take_tensor(w, "y", lethe_tensor_new_1d(LETHE_DTYPE_I32, 8));
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(other, "version", 0), 1);
  CU_ASSERT_EQUAL(lethe_frame_get_n_tensors(other), 1);
  CU_ASSERT_EQUAL(lethe_frame_get_n_tensors(w), 2);
  lethe_frame_unref(w);
  CU_ASSERT_EQUAL(lethe_tensor_get_refcount(lethe_frame_get_tensor(other, "x")), 1);
  lethe_frame_unref(other);
}

static void
test_frame_set_meta_sinks_floating_values(void)
{
  LetheFrame *f = lethe_frame_new();
  GVariant *v = g_variant_ref_sink(g_variant_new_string("fetril"));
  lethe_frame_set_meta(f, "method", v);
  CU_ASSERT_PTR_EQUAL(lethe_frame_get_meta(f, "method"), v);
  lethe_frame_unref(f);
  /* Our own reference is still valid after the frame dropped its one. */
  CU_ASSERT_STRING_EQUAL(g_variant_get_string(v, NULL), "fetril");
  g_variant_unref(v);
}

static void
test_frame_make_tensor_writable_copies_only_shared_tensors(void)
{
  LetheFrame *f = lethe_frame_new();
  LetheTensor *own = lethe_tensor_new_1d(LETHE_DTYPE_F32, 4);
  LetheTensor *shared = lethe_tensor_new_1d(LETHE_DTYPE_F32, 4);
  lethe_frame_take_tensor(f, "own", own);
  lethe_frame_set_tensor(f, "shared", shared); /* we keep a reference too */
  lethe_frame_take_tensor(f, "last", lethe_tensor_new_1d(LETHE_DTYPE_U8, 1));
  CU_ASSERT_PTR_EQUAL(lethe_frame_make_tensor_writable(f, "own"), own);
  LetheTensor *w = lethe_frame_make_tensor_writable(f, "shared");
  CU_ASSERT_PTR_NOT_EQUAL(w, shared);
  CU_ASSERT_TRUE(lethe_tensor_is_writable(w));
  lethe_tensor_f32(w)[0] = 3.0f;
  CU_ASSERT_EQUAL(lethe_tensor_f32(shared)[0], 0.0f);
  CU_ASSERT_EQUAL(lethe_tensor_get_refcount(shared), 1);
  const char *name;
  CU_ASSERT_PTR_EQUAL(lethe_frame_get_nth(f, 1, &name), w);
  CU_ASSERT_STRING_EQUAL(name, "shared");
  CU_ASSERT_PTR_NULL(lethe_frame_make_tensor_writable(f, "missing"));
  lethe_tensor_unref(shared);
  lethe_frame_unref(f);
}

LETHE_TEST_MAIN("frame", LETHE_TEST(test_frame_make_tensor_writable_copies_only_shared_tensors),
                LETHE_TEST(test_frame_keeps_tensor_order),
                LETHE_TEST(test_frame_holds_ten_thousand_tensors),
                LETHE_TEST(test_frame_metadata_keeps_insertion_order),
                LETHE_TEST(test_frame_make_writable_copies_when_shared),
                LETHE_TEST(test_frame_set_meta_sinks_floating_values))
