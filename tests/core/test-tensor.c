/* Lethe — LetheTensor: shapes, views, copy-on-write.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <lethe/error.h>
#include <lethe/tensor.h>

#include <glib/gstdio.h>

static LetheTensor *
iota_f32(gint64 rows, gint64 cols)
{
  LetheTensor *t = lethe_tensor_new_2d(LETHE_DTYPE_F32, rows, cols);
  for (gint64 i = 0; i < rows * cols; i++)
    lethe_tensor_f32(t)[i] = (float)i;
  return t;
}

static void
test_tensor_dtype_names_and_sizes(void)
{
  static const char *names[] = {"f32", "f64", "i32", "i64", "u8", "i8"};
  static const gsize sizes[] = {4, 8, 4, 8, 1, 1};
  for (guint i = 0; i < LETHE_N_DTYPES; i++) {
    LetheDType d = LETHE_N_DTYPES;
    CU_ASSERT_STRING_EQUAL(lethe_dtype_name((LetheDType)i), names[i]);
    CU_ASSERT_EQUAL(lethe_dtype_size((LetheDType)i), sizes[i]);
    CU_ASSERT_TRUE(lethe_dtype_from_name(names[i], &d));
    CU_ASSERT_EQUAL(d, (LetheDType)i);
  }
  CU_ASSERT_FALSE(lethe_dtype_from_name("float32", NULL));
}

static void
test_tensor_new_is_contiguous_and_zeroed(void)
{
  const gint64 shape[3] = {2, 3, 4};
  LetheTensor *t = lethe_tensor_new(LETHE_DTYPE_F64, 3, shape);
  CU_ASSERT_EQUAL(t->rank, 3);
  CU_ASSERT_EQUAL(t->strides[0], 12);
  CU_ASSERT_EQUAL(t->strides[1], 4);
  CU_ASSERT_EQUAL(t->strides[2], 1);
  CU_ASSERT_EQUAL(t->offset, 0);
  CU_ASSERT_EQUAL(lethe_tensor_n_elements(t), 24);
  CU_ASSERT_EQUAL(lethe_tensor_n_bytes(t), 192);
  CU_ASSERT_TRUE(lethe_tensor_is_contiguous(t));
  CU_ASSERT_EQUAL((guintptr)lethe_tensor_data(t) % LETHE_BUFFER_ALIGN, 0);
  CU_ASSERT_EQUAL(lethe_tensor_f64(t)[23], 0.0);
  g_autofree char *s = lethe_tensor_shape_string(t);
  CU_ASSERT_STRING_EQUAL(s, "[2, 3, 4]");
  lethe_tensor_unref(t);

  LetheTensor *scalar = lethe_tensor_new_scalar_f64(2.5);
  CU_ASSERT_EQUAL(scalar->rank, 0);
  CU_ASSERT_EQUAL(lethe_tensor_n_elements(scalar), 1);
  CU_ASSERT_EQUAL(lethe_tensor_get_f64(scalar, 0), 2.5);
  g_autofree char *ss = lethe_tensor_shape_string(scalar);
  CU_ASSERT_STRING_EQUAL(ss, "[]");
  lethe_tensor_unref(scalar);
}

static void
test_tensor_try_new_refuses_absurd_sizes(void)
{
  GError *error = NULL;
  const gint64 huge[3] = {G_GINT64_CONSTANT(1) << 40, G_GINT64_CONSTANT(1) << 40, 4};
  CU_ASSERT_PTR_NULL(lethe_tensor_try_new(LETHE_DTYPE_F32, 3, huge, TRUE, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_LIMIT, "too large");

  const gint64 nearly[1] = {G_MAXINT64 / 4};
  CU_ASSERT_PTR_NULL(lethe_tensor_try_new(LETHE_DTYPE_F64, 1, nearly, FALSE, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_LIMIT, "too large");

  const gint64 negative[2] = {3, -1};
  CU_ASSERT_PTR_NULL(lethe_tensor_try_new(LETHE_DTYPE_F32, 2, negative, TRUE, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "dimension 1 has a negative extent (-1)");

  const gint64 zero[2] = {0, 5};
  LetheTensor *t = lethe_tensor_try_new(LETHE_DTYPE_I8, 2, zero, TRUE, &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(lethe_tensor_n_bytes(t), 0);
  lethe_tensor_unref(t);
}

static void
test_tensor_make_writable_returns_same_when_sole_owner(void)
{
  LetheTensor *t = iota_f32(3, 4);
  CU_ASSERT_TRUE(lethe_tensor_is_writable(t));
  LetheTensor *w = lethe_tensor_make_writable(t);
  CU_ASSERT_PTR_EQUAL(w, t);
  CU_ASSERT_EQUAL(lethe_tensor_get_refcount(w), 1);
  lethe_tensor_unref(w);
}

static void
test_tensor_make_writable_copies_when_shared(void)
{
  LetheTensor *t = iota_f32(3, 4);
  LetheTensor *other = lethe_tensor_ref(t); /* e.g. a second consumer */
  CU_ASSERT_FALSE(lethe_tensor_is_writable(t));
  LetheTensor *w = lethe_tensor_make_writable(t);
  CU_ASSERT_PTR_NOT_EQUAL(w, other);
  CU_ASSERT_PTR_NOT_EQUAL(w->buffer, other->buffer);
  CU_ASSERT_EQUAL(lethe_tensor_get_refcount(other), 1); /* our reference was dropped */
  CU_ASSERT_TRUE(lethe_tensor_is_writable(w));
  CU_ASSERT_EQUAL(lethe_tensor_f32(w)[7], 7.0f);
  lethe_tensor_f32(w)[7] = -1.0f;
  CU_ASSERT_EQUAL(lethe_tensor_f32(other)[7], 7.0f); /* original untouched */
  lethe_tensor_unref(w);
  lethe_tensor_unref(other);
}

static void
test_tensor_make_writable_copies_when_buffer_shared(void)
{
  LetheTensor *t = iota_f32(4, 2);
  LetheTensor *view = lethe_tensor_slice(t, 1, 3);
  CU_ASSERT_EQUAL(lethe_tensor_get_refcount(view), 1);
  CU_ASSERT_FALSE(lethe_tensor_is_writable(view)); /* t still sees the memory */
  LetheTensor *w = lethe_tensor_make_writable(view);
  CU_ASSERT_PTR_NOT_EQUAL(w->buffer, t->buffer);
  CU_ASSERT_EQUAL(w->shape[0], 2);
  CU_ASSERT_EQUAL(lethe_tensor_f32(w)[0], 2.0f);
  CU_ASSERT_EQUAL(lethe_buffer_get_refcount(t->buffer), 1);
  lethe_tensor_unref(w);
  lethe_tensor_unref(t);
}

static void
test_tensor_mapped_file_is_copied_on_write(void)
{
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp("lethe-tensor-XXXXXX", &error);
  g_autofree char *path = g_build_filename(dir, "t.bin", NULL);
  const float values[4] = {1, 2, 3, 4};
  CU_ASSERT_TRUE_FATAL(g_file_set_contents(path, (const char *)values, sizeof values, &error));
  LetheBuffer *map = lethe_buffer_new_mapped_file(path, &error);
  LETHE_ASSERT_NO_ERROR(error);
  const gint64 shape[1] = {4};
  LetheTensor *t = lethe_tensor_new_from_buffer(map, LETHE_DTYPE_F32, 1, shape, NULL, 0, &error);
  LETHE_ASSERT_NO_ERROR(error);
  lethe_buffer_unref(map);
  CU_ASSERT_EQUAL(lethe_buffer_get_refcount(t->buffer), 1);
  CU_ASSERT_FALSE(lethe_tensor_is_writable(t));
  LetheTensor *w = lethe_tensor_make_writable(t);
  CU_ASSERT_EQUAL(lethe_buffer_get_backing(w->buffer), LETHE_BUFFER_HEAP);
  CU_ASSERT_EQUAL(lethe_tensor_f32(w)[3], 4.0f);
  lethe_tensor_unref(w);
  g_unlink(path);
  g_rmdir(dir);
}

static void
test_tensor_slices_share_the_buffer(void)
{
  LetheTensor *t = iota_f32(10, 3);
  LetheTensor *s = lethe_tensor_slice(t, 2, 7);
  CU_ASSERT_PTR_EQUAL(s->buffer, t->buffer);
  CU_ASSERT_EQUAL(lethe_buffer_get_refcount(t->buffer), 2);
  CU_ASSERT_EQUAL(s->shape[0], 5);
  CU_ASSERT_EQUAL(s->shape[1], 3);
  CU_ASSERT_EQUAL(s->offset, 2 * 3 * sizeof(float));
  CU_ASSERT_EQUAL(lethe_tensor_f32(s)[0], 6.0f);
  CU_ASSERT_TRUE(lethe_tensor_is_contiguous(s));
  LetheTensor *ss = lethe_tensor_slice(s, 1, 2);
  CU_ASSERT_EQUAL(lethe_tensor_f32(ss)[2], 11.0f);
  CU_ASSERT_EQUAL(lethe_buffer_get_refcount(t->buffer), 3);
  /* A write through the base is visible through the view: no copy. */
  lethe_tensor_f32(t)[9] = 100.0f;
  CU_ASSERT_EQUAL(lethe_tensor_get_f64(ss, 0), 100.0);
  lethe_tensor_unref(ss);
  lethe_tensor_unref(s);
  CU_ASSERT_EQUAL(lethe_buffer_get_refcount(t->buffer), 1);
  LetheTensor *empty = lethe_tensor_slice(t, 10, 10);
  CU_ASSERT_EQUAL(lethe_tensor_n_elements(empty), 0);
  lethe_tensor_unref(empty);
  lethe_tensor_unref(t);
}

static void
test_tensor_strided_view_copies_in_c_order(void)
{
  GError *error = NULL;
  LetheTensor *t = iota_f32(2, 3);                     /* [[0 1 2] [3 4 5]] */
  const gint64 shape[2] = {3, 2}, strides[2] = {1, 3}; /* its transpose */
  LetheTensor *tr =
      lethe_tensor_new_from_buffer(t->buffer, LETHE_DTYPE_F32, 2, shape, strides, 0, &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_FALSE(lethe_tensor_is_contiguous(tr));
  CU_ASSERT_EQUAL(lethe_tensor_get_f64(tr, 1), 3.0);
  CU_ASSERT_EQUAL(lethe_tensor_get_f64(tr, 4), 2.0);
  LetheTensor *c = lethe_tensor_contiguous(tr);
  CU_ASSERT_PTR_NOT_EQUAL(c->buffer, t->buffer);
  const float expect[6] = {0, 3, 1, 4, 2, 5};
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_f32(c), expect, sizeof expect), 0);
  LetheTensor *c2 = lethe_tensor_contiguous(c);
  CU_ASSERT_PTR_EQUAL(c2, c);
  CU_ASSERT_EQUAL(lethe_tensor_get_refcount(c), 2);
  lethe_tensor_unref(c2);
  lethe_tensor_unref(c);

  /* Reversed rows, through a negative stride. */
  const gint64 rshape[1] = {3}, rstride[1] = {-1};
  LetheTensor *rev = lethe_tensor_new_from_buffer(t->buffer, LETHE_DTYPE_F32, 1, rshape, rstride,
                                                  2 * sizeof(float), &error);
  LETHE_ASSERT_NO_ERROR(error);
  LetheTensor *rc = lethe_tensor_copy(rev);
  CU_ASSERT_EQUAL(lethe_tensor_f32(rc)[0], 2.0f);
  CU_ASSERT_EQUAL(lethe_tensor_f32(rc)[2], 0.0f);
  lethe_tensor_unref(rc);
  lethe_tensor_unref(rev);
  lethe_tensor_unref(tr);
  lethe_tensor_unref(t);
}

static void
test_tensor_view_outside_buffer_is_refused(void)
{
  GError *error = NULL;
  LetheBuffer *b = lethe_buffer_new(40); /* 10 floats */
  const gint64 shape[2] = {2, 5};
  LetheTensor *ok = lethe_tensor_new_from_buffer(b, LETHE_DTYPE_F32, 2, shape, NULL, 0, &error);
  LETHE_ASSERT_NO_ERROR(error);
  lethe_tensor_unref(ok);
  CU_ASSERT_PTR_NULL(lethe_tensor_new_from_buffer(b, LETHE_DTYPE_F32, 2, shape, NULL, 4, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "a f32 view of 10 elements at byte offset 4 reaches outside its buffer of "
                     "40 bytes");
  const gint64 strides[2] = {6, 1};
  CU_ASSERT_PTR_NULL(
      lethe_tensor_new_from_buffer(b, LETHE_DTYPE_F32, 2, shape, strides, 0, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "reaches outside");
  const gint64 back[1] = {-1}, one[1] = {2};
  CU_ASSERT_PTR_NULL(lethe_tensor_new_from_buffer(b, LETHE_DTYPE_F32, 1, one, back, 0, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "reaches outside");
  const gint64 huge[2] = {G_MAXINT64 / 2, 3};
  CU_ASSERT_PTR_NULL(lethe_tensor_new_from_buffer(b, LETHE_DTYPE_F32, 2, huge, NULL, 0, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_LIMIT, "too large");
  CU_ASSERT_EQUAL(lethe_buffer_get_refcount(b), 1);
  lethe_buffer_unref(b);
}

static void
test_tensor_reshape_infers_one_extent(void)
{
  GError *error = NULL;
  LetheTensor *t = iota_f32(4, 6);
  const gint64 shape[3] = {2, -1, 3};
  LetheTensor *r = lethe_tensor_reshape(t, 3, shape, &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(r->shape[1], 4);
  CU_ASSERT_EQUAL(r->strides[0], 12);
  CU_ASSERT_PTR_EQUAL(r->buffer, t->buffer);
  CU_ASSERT_EQUAL(lethe_tensor_get_f64(r, 23), 23.0);
  lethe_tensor_unref(r);

  const gint64 bad[2] = {5, 5};
  CU_ASSERT_PTR_NULL(lethe_tensor_reshape(t, 2, bad, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "cannot reshape [4, 6] (24 elements) to a shape of 25 elements");
  const gint64 bad2[2] = {5, -1};
  CU_ASSERT_PTR_NULL(lethe_tensor_reshape(t, 2, bad2, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "cannot reshape [4, 6]");

  const gint64 tshape[2] = {6, 4}, tstrides[2] = {1, 6};
  LetheTensor *tr =
      lethe_tensor_new_from_buffer(t->buffer, LETHE_DTYPE_F32, 2, tshape, tstrides, 0, &error);
  const gint64 flat[1] = {24};
  CU_ASSERT_PTR_NULL(lethe_tensor_reshape(tr, 1, flat, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "not contiguous");
  lethe_tensor_unref(tr);
  lethe_tensor_unref(t);
}

static void
test_tensor_to_dtype_converts_values(void)
{
  LetheTensor *f = lethe_tensor_new_1d(LETHE_DTYPE_F32, 3);
  lethe_tensor_f32(f)[0] = 1.75f;
  lethe_tensor_f32(f)[1] = -2.5f;
  lethe_tensor_f32(f)[2] = 255.0f;
  LetheTensor *i = lethe_tensor_to_dtype(f, LETHE_DTYPE_I32);
  CU_ASSERT_EQUAL(i->dtype, LETHE_DTYPE_I32);
  CU_ASSERT_EQUAL(lethe_tensor_i32(i)[0], 1);
  CU_ASSERT_EQUAL(lethe_tensor_i32(i)[1], -2);
  CU_ASSERT_EQUAL(lethe_tensor_i32(i)[2], 255);
  LetheTensor *u = lethe_tensor_to_dtype(i, LETHE_DTYPE_U8);
  CU_ASSERT_EQUAL(lethe_tensor_u8(u)[2], 255);
  LetheTensor *l = lethe_tensor_new_1d(LETHE_DTYPE_I64, 1);
  lethe_tensor_i64(l)[0] = G_GINT64_CONSTANT(1) << 52;
  LetheTensor *d = lethe_tensor_to_dtype(l, LETHE_DTYPE_F64);
  CU_ASSERT_EQUAL(lethe_tensor_f64(d)[0], 4503599627370496.0);
  lethe_tensor_unref(d);
  lethe_tensor_unref(l);
  lethe_tensor_unref(u);
  lethe_tensor_unref(i);
  lethe_tensor_unref(f);
}

LETHE_TEST_MAIN("tensor", LETHE_TEST(test_tensor_dtype_names_and_sizes),
                LETHE_TEST(test_tensor_new_is_contiguous_and_zeroed),
                LETHE_TEST(test_tensor_try_new_refuses_absurd_sizes),
                LETHE_TEST(test_tensor_make_writable_returns_same_when_sole_owner),
                LETHE_TEST(test_tensor_make_writable_copies_when_shared),
                LETHE_TEST(test_tensor_make_writable_copies_when_buffer_shared),
                LETHE_TEST(test_tensor_mapped_file_is_copied_on_write),
                LETHE_TEST(test_tensor_slices_share_the_buffer),
                LETHE_TEST(test_tensor_strided_view_copies_in_c_order),
                LETHE_TEST(test_tensor_view_outside_buffer_is_refused),
                LETHE_TEST(test_tensor_reshape_infers_one_extent),
                LETHE_TEST(test_tensor_to_dtype_converts_values))
