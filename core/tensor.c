/* Lethe — tensors: typed, shaped, strided views of one LetheBuffer.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/error.h>
#include <lethe/tensor.h>

#include <string.h>

static const struct {
  const char *name;
  gsize size;
} dtypes[LETHE_N_DTYPES] = {
    [LETHE_DTYPE_F32] = {"f32", 4}, [LETHE_DTYPE_F64] = {"f64", 8}, [LETHE_DTYPE_I32] = {"i32", 4},
    [LETHE_DTYPE_I64] = {"i64", 8}, [LETHE_DTYPE_U8] = {"u8", 1},   [LETHE_DTYPE_I8] = {"i8", 1},
};

gsize
lethe_dtype_size(LetheDType dtype)
{
  g_return_val_if_fail((guint)dtype < LETHE_N_DTYPES, 0);
  return dtypes[dtype].size;
}

const char *
lethe_dtype_name(LetheDType dtype)
{
  g_return_val_if_fail((guint)dtype < LETHE_N_DTYPES, "invalid");
  return dtypes[dtype].name;
}

gboolean
lethe_dtype_from_name(const char *name, LetheDType *dtype)
{
  g_return_val_if_fail(name != NULL, FALSE);
  for (guint i = 0; i < LETHE_N_DTYPES; i++) {
    if (strcmp(name, dtypes[i].name) == 0) {
      if (dtype)
        *dtype = (LetheDType)i;
      return TRUE;
    }
  }
  return FALSE;
}

gboolean
lethe_shape_n_elements(guint rank, const gint64 *shape, gsize elem_size, gint64 *n_elements,
                       GError **error)
{
  gint64 n = 1, bytes;

  if (rank > LETHE_TENSOR_MAX_RANK) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "rank %u is above the maximum of %d dimensions", rank, LETHE_TENSOR_MAX_RANK);
    return FALSE;
  }
  for (guint d = 0; d < rank; d++) {
    if (shape[d] < 0) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "dimension %u has a negative extent (%" G_GINT64_FORMAT ")", d, shape[d]);
      return FALSE;
    }
    if (__builtin_mul_overflow(n, shape[d], &n))
      goto too_large;
  }
  if (__builtin_mul_overflow(n, (gint64)MAX(elem_size, 1), &bytes) ||
      (guint64)bytes > (guint64)(G_MAXSSIZE / 2))
    goto too_large;
  if (n_elements)
    *n_elements = n;
  return TRUE;

too_large:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_LIMIT,
              "a tensor of rank %u with these extents is too large to address", rank);
  return FALSE;
}

static void
set_contiguous_strides(LetheTensor *t)
{
  gint64 s = 1;
  for (guint d = t->rank; d-- > 0;) {
    t->strides[d] = s;
    s *= MAX(t->shape[d], 1);
  }
}

static LetheTensor *
tensor_alloc(LetheDType dtype, guint rank, const gint64 *shape, LetheBuffer *buffer, gsize offset)
{
  LetheTensor *t = g_new0(LetheTensor, 1);
  t->ref_count = 1;
  t->dtype = dtype;
  t->rank = rank;
  if (rank)
    memcpy(t->shape, shape, rank * sizeof(gint64));
  t->offset = offset;
  t->buffer = buffer;
  return t;
}

LetheTensor *
lethe_tensor_try_new(LetheDType dtype, guint rank, const gint64 *shape, gboolean zero,
                     GError **error)
{
  gint64 n;

  g_return_val_if_fail((guint)dtype < LETHE_N_DTYPES, NULL);
  g_return_val_if_fail(rank == 0 || shape != NULL, NULL);
  if (!lethe_shape_n_elements(rank, shape, dtypes[dtype].size, &n, error))
    return NULL;
  gsize bytes = (gsize)n * dtypes[dtype].size;
  LetheBuffer *buffer = zero ? lethe_buffer_new(bytes) : lethe_buffer_new_uninit(bytes);
  LetheTensor *t = tensor_alloc(dtype, rank, shape, buffer, 0);
  set_contiguous_strides(t);
  return t;
}

static LetheTensor *
tensor_new_or_warn(LetheDType dtype, guint rank, const gint64 *shape, gboolean zero)
{
  g_autoptr(GError) error = NULL;
  LetheTensor *t = lethe_tensor_try_new(dtype, rank, shape, zero, &error);
  if (t == NULL && error)
    g_critical("lethe_tensor_new: %s", error->message);
  return t;
}

LetheTensor *
lethe_tensor_new(LetheDType dtype, guint rank, const gint64 *shape)
{
  return tensor_new_or_warn(dtype, rank, shape, TRUE);
}

LetheTensor *
lethe_tensor_new_uninit(LetheDType dtype, guint rank, const gint64 *shape)
{
  return tensor_new_or_warn(dtype, rank, shape, FALSE);
}

LetheTensor *
lethe_tensor_new_1d(LetheDType dtype, gint64 n0)
{
  return lethe_tensor_new(dtype, 1, &n0);
}

LetheTensor *
lethe_tensor_new_2d(LetheDType dtype, gint64 n0, gint64 n1)
{
  const gint64 shape[2] = {n0, n1};
  return lethe_tensor_new(dtype, 2, shape);
}

LetheTensor *
lethe_tensor_new_scalar_f64(double value)
{
  LetheTensor *t = lethe_tensor_new_uninit(LETHE_DTYPE_F64, 0, NULL);
  *lethe_tensor_f64(t) = value;
  return t;
}

/* The lowest and highest element offsets a view reaches, relative to its
 * first element; %FALSE on overflow. */
static gboolean
view_extent(guint rank, const gint64 *shape, const gint64 *strides, gint64 *lo, gint64 *hi)
{
  gint64 l = 0, h = 0, step;
  for (guint d = 0; d < rank; d++) {
    if (__builtin_mul_overflow(shape[d] - 1, strides[d], &step))
      return FALSE;
    if (step < 0 ? __builtin_add_overflow(l, step, &l) : __builtin_add_overflow(h, step, &h))
      return FALSE;
  }
  *lo = l;
  *hi = h;
  return TRUE;
}

LetheTensor *
lethe_tensor_new_from_buffer(LetheBuffer *buffer, LetheDType dtype, guint rank, const gint64 *shape,
                             const gint64 *strides, gsize offset, GError **error)
{
  gint64 n, lo, hi;

  g_return_val_if_fail(buffer != NULL, NULL);
  g_return_val_if_fail((guint)dtype < LETHE_N_DTYPES, NULL);
  g_return_val_if_fail(rank == 0 || shape != NULL, NULL);

  gsize esize = dtypes[dtype].size, size = lethe_buffer_get_size(buffer);
  if (!lethe_shape_n_elements(rank, shape, esize, &n, error))
    return NULL;

  LetheTensor *t = tensor_alloc(dtype, rank, shape, buffer, offset);
  if (strides)
    memcpy(t->strides, strides, rank * sizeof(gint64));
  else
    set_contiguous_strides(t);

  if (n == 0) {
    if (offset > size)
      goto outside;
  } else {
    if (!view_extent(rank, t->shape, t->strides, &lo, &hi))
      goto outside;
    /* Byte range [offset + lo*esize, offset + (hi+1)*esize) must lie in the buffer. */
    if (offset > size || (guint64)(-lo) > offset / esize || (guint64)hi >= (size - offset) / esize)
      goto outside;
  }
  t->buffer = lethe_buffer_ref(buffer);
  return t;

outside:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "a %s view of %" G_GINT64_FORMAT " elements at byte offset %" G_GSIZE_FORMAT
              " reaches outside its buffer of %" G_GSIZE_FORMAT " bytes",
              dtypes[dtype].name, n, offset, size);
  g_free(t);
  return NULL;
}

LetheTensor *
lethe_tensor_ref(LetheTensor *tensor)
{
  g_return_val_if_fail(tensor != NULL, NULL);
  g_atomic_int_inc(&tensor->ref_count);
  return tensor;
}

void
lethe_tensor_unref(LetheTensor *tensor)
{
  g_return_if_fail(tensor != NULL);
  if (g_atomic_int_dec_and_test(&tensor->ref_count)) {
    lethe_buffer_unref(tensor->buffer);
    g_free(tensor);
  }
}

gint
lethe_tensor_get_refcount(const LetheTensor *tensor)
{
  g_return_val_if_fail(tensor != NULL, 0);
  return g_atomic_int_get(&tensor->ref_count);
}

gint64
lethe_tensor_n_elements(const LetheTensor *tensor)
{
  g_return_val_if_fail(tensor != NULL, 0);
  gint64 n = 1;
  for (guint d = 0; d < tensor->rank; d++)
    n *= tensor->shape[d];
  return n;
}

gsize
lethe_tensor_n_bytes(const LetheTensor *tensor)
{
  return (gsize)lethe_tensor_n_elements(tensor) * dtypes[tensor->dtype].size;
}

gboolean
lethe_tensor_is_contiguous(const LetheTensor *tensor)
{
  g_return_val_if_fail(tensor != NULL, FALSE);
  gint64 expect = 1;
  for (guint d = tensor->rank; d-- > 0;) {
    if (tensor->shape[d] == 0)
      return TRUE;
    if (tensor->shape[d] != 1 && tensor->strides[d] != expect)
      return FALSE;
    expect *= tensor->shape[d];
  }
  return TRUE;
}

gboolean
lethe_tensor_same_shape(const LetheTensor *a, const LetheTensor *b)
{
  g_return_val_if_fail(a != NULL && b != NULL, FALSE);
  return a->rank == b->rank && memcmp(a->shape, b->shape, a->rank * sizeof(gint64)) == 0;
}

char *
lethe_tensor_shape_string(const LetheTensor *tensor)
{
  g_return_val_if_fail(tensor != NULL, NULL);
  GString *s = g_string_new("[");
  for (guint d = 0; d < tensor->rank; d++)
    g_string_append_printf(s, d ? ", %" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, tensor->shape[d]);
  g_string_append_c(s, ']');
  return g_string_free(s, FALSE);
}

gboolean
lethe_tensor_is_writable(const LetheTensor *tensor)
{
  g_return_val_if_fail(tensor != NULL, FALSE);
  return g_atomic_int_get(&tensor->ref_count) == 1 && lethe_buffer_is_writable(tensor->buffer);
}

/* Copies the elements of @src, in C order, into the contiguous @dst. */
static void
copy_elements(guint8 *dst, const LetheTensor *src)
{
  gsize esize = dtypes[src->dtype].size;
  const guint8 *base = lethe_tensor_data(src);

  if (lethe_tensor_is_contiguous(src)) {
    memcpy(dst, base, lethe_tensor_n_bytes(src));
    return;
  }
  if (lethe_tensor_n_elements(src) == 0)
    return;

  /* Walk the outer dimensions with a counter; copy the innermost one in a
   * tight loop (a memcpy when its stride is 1). */
  guint rank = src->rank;
  gint64 idx[LETHE_TENSOR_MAX_RANK] = {0};
  gint64 inner = src->shape[rank - 1], istride = src->strides[rank - 1] * (gint64)esize;
  for (;;) {
    gint64 off = 0;
    for (guint d = 0; d + 1 < rank; d++)
      off += idx[d] * src->strides[d];
    const guint8 *p = base + off * (gint64)esize;
    if (istride == (gint64)esize) {
      memcpy(dst, p, inner * esize);
      dst += inner * esize;
    } else {
      for (gint64 i = 0; i < inner; i++, p += istride, dst += esize)
        memcpy(dst, p, esize);
    }
    guint d = rank - 1;
    while (d-- > 0) {
      if (++idx[d] < src->shape[d])
        break;
      idx[d] = 0;
    }
    if (d == G_MAXUINT)
      return;
  }
}

LetheTensor *
lethe_tensor_copy(const LetheTensor *tensor)
{
  g_return_val_if_fail(tensor != NULL, NULL);
  LetheTensor *copy = lethe_tensor_new_uninit(tensor->dtype, tensor->rank, tensor->shape);
  copy_elements(lethe_tensor_data(copy), tensor);
  return copy;
}

LetheTensor *
lethe_tensor_make_writable(LetheTensor *tensor)
{
  g_return_val_if_fail(tensor != NULL, NULL);
  if (lethe_tensor_is_writable(tensor))
    return tensor;
  LetheTensor *copy = lethe_tensor_copy(tensor);
  lethe_tensor_unref(tensor);
  return copy;
}

LetheTensor *
lethe_tensor_contiguous(LetheTensor *tensor)
{
  g_return_val_if_fail(tensor != NULL, NULL);
  if (lethe_tensor_is_contiguous(tensor))
    return lethe_tensor_ref(tensor);
  return lethe_tensor_copy(tensor);
}

LetheTensor *
lethe_tensor_slice(LetheTensor *tensor, gint64 start, gint64 end)
{
  g_return_val_if_fail(tensor != NULL, NULL);
  g_return_val_if_fail(tensor->rank >= 1, NULL);
  g_return_val_if_fail(0 <= start && start <= end && end <= tensor->shape[0], NULL);

  gint64 shift = start * tensor->strides[0] * (gint64)dtypes[tensor->dtype].size;
  LetheTensor *view =
      tensor_alloc(tensor->dtype, tensor->rank, tensor->shape, lethe_buffer_ref(tensor->buffer),
                   (gsize)((gint64)tensor->offset + shift));
  memcpy(view->strides, tensor->strides, tensor->rank * sizeof(gint64));
  view->shape[0] = end - start;
  return view;
}

LetheTensor *
lethe_tensor_reshape(LetheTensor *tensor, guint rank, const gint64 *shape, GError **error)
{
  gint64 shape2[LETHE_TENSOR_MAX_RANK], known = 1, n;
  int free_dim = -1;

  g_return_val_if_fail(tensor != NULL, NULL);
  g_return_val_if_fail(rank == 0 || shape != NULL, NULL);
  n = lethe_tensor_n_elements(tensor);

  g_autofree char *from = lethe_tensor_shape_string(tensor);
  if (rank > LETHE_TENSOR_MAX_RANK) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "cannot reshape %s to rank %u: the maximum rank is %d", from, rank,
                LETHE_TENSOR_MAX_RANK);
    return NULL;
  }
  for (guint d = 0; d < rank; d++) {
    shape2[d] = shape[d];
    if (shape[d] == -1 && free_dim < 0) {
      free_dim = (int)d;
      continue;
    }
    if (shape[d] < 0 || __builtin_mul_overflow(known, shape[d], &known)) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "cannot reshape %s: extent %" G_GINT64_FORMAT " of dimension %u is invalid "
                  "(only one extent may be -1)",
                  from, shape[d], d);
      return NULL;
    }
  }
  if (free_dim >= 0) {
    if (known == 0 || n % known != 0)
      goto mismatch;
    shape2[free_dim] = n / known;
    known = n;
  }
  if (known != n)
    goto mismatch;
  if (!lethe_tensor_is_contiguous(tensor)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "cannot reshape %s: the tensor is not contiguous "
                "(call lethe_tensor_contiguous() first)",
                from);
    return NULL;
  }
  LetheTensor *view =
      tensor_alloc(tensor->dtype, rank, shape2, lethe_buffer_ref(tensor->buffer), tensor->offset);
  set_contiguous_strides(view);
  return view;

mismatch:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "cannot reshape %s (%" G_GINT64_FORMAT " elements) to a shape of %" G_GINT64_FORMAT
              "%s elements",
              from, n, known, free_dim >= 0 ? "×k" : "");
  return NULL;
}

#define CONVERT_LOOP(DT, ST)                                                                       \
  do {                                                                                             \
    DT *d = (DT *)dst;                                                                             \
    const ST *s = (const ST *)src;                                                                 \
    for (gint64 i = 0; i < n; i++)                                                                 \
      d[i] = (DT)s[i];                                                                             \
  } while (0)

#define CONVERT_FROM(DT)                                                                           \
  do {                                                                                             \
    switch (from) {                                                                                \
    case LETHE_DTYPE_F32:                                                                          \
      CONVERT_LOOP(DT, float);                                                                     \
      break;                                                                                       \
    case LETHE_DTYPE_F64:                                                                          \
      CONVERT_LOOP(DT, double);                                                                    \
      break;                                                                                       \
    case LETHE_DTYPE_I32:                                                                          \
      CONVERT_LOOP(DT, gint32);                                                                    \
      break;                                                                                       \
    case LETHE_DTYPE_I64:                                                                          \
      CONVERT_LOOP(DT, gint64);                                                                    \
      break;                                                                                       \
    case LETHE_DTYPE_U8:                                                                           \
      CONVERT_LOOP(DT, guint8);                                                                    \
      break;                                                                                       \
    case LETHE_DTYPE_I8:                                                                           \
      CONVERT_LOOP(DT, gint8);                                                                     \
      break;                                                                                       \
    default:                                                                                       \
      g_assert_not_reached();                                                                      \
    }                                                                                              \
  } while (0)

static void
convert(void *dst, LetheDType to, const void *src, LetheDType from, gint64 n)
{
  switch (to) {
  case LETHE_DTYPE_F32:
    CONVERT_FROM(float);
    break;
  case LETHE_DTYPE_F64:
    CONVERT_FROM(double);
    break;
  case LETHE_DTYPE_I32:
    CONVERT_FROM(gint32);
    break;
  case LETHE_DTYPE_I64:
    CONVERT_FROM(gint64);
    break;
  case LETHE_DTYPE_U8:
    CONVERT_FROM(guint8);
    break;
  case LETHE_DTYPE_I8:
    CONVERT_FROM(gint8);
    break;
  default:
    g_assert_not_reached();
  }
}

LetheTensor *
lethe_tensor_to_dtype(const LetheTensor *tensor, LetheDType dtype)
{
  g_return_val_if_fail(tensor != NULL, NULL);
  g_return_val_if_fail((guint)dtype < LETHE_N_DTYPES, NULL);

  if (tensor->dtype == dtype)
    return lethe_tensor_copy(tensor);
  g_autoptr(LetheTensor) src = lethe_tensor_contiguous((LetheTensor *)tensor);
  LetheTensor *out = lethe_tensor_new_uninit(dtype, tensor->rank, tensor->shape);
  convert(lethe_tensor_data(out), dtype, lethe_tensor_data(src), tensor->dtype,
          lethe_tensor_n_elements(tensor));
  return out;
}

double
lethe_tensor_get_f64(const LetheTensor *tensor, gint64 i)
{
  g_return_val_if_fail(tensor != NULL, 0.0);
  g_return_val_if_fail(i >= 0 && i < lethe_tensor_n_elements(tensor), 0.0);

  gint64 off = 0;
  for (guint d = tensor->rank; d-- > 0;) {
    off += (i % tensor->shape[d]) * tensor->strides[d];
    i /= tensor->shape[d];
  }
  const guint8 *p =
      (const guint8 *)lethe_tensor_data(tensor) + off * (gint64)dtypes[tensor->dtype].size;
  switch (tensor->dtype) {
  case LETHE_DTYPE_F32:
    return *(const float *)p;
  case LETHE_DTYPE_F64:
    return *(const double *)p;
  case LETHE_DTYPE_I32:
    return *(const gint32 *)p;
  case LETHE_DTYPE_I64:
    return (double)*(const gint64 *)p;
  case LETHE_DTYPE_U8:
    return *p;
  case LETHE_DTYPE_I8:
    return *(const gint8 *)p;
  default:
    g_return_val_if_reached(0.0);
  }
}
