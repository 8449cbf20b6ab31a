/* Lethe — tensors: typed, shaped views of a LetheBuffer.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_TENSOR_H
#define LETHE_TENSOR_H

#include <glib.h>
#include <lethe/buffer.h>

G_BEGIN_DECLS

#define LETHE_TENSOR_MAX_RANK 8

/**
 * LetheDType:
 * Element types.  The names ("f32", "f64", "i32", "i64", "u8", "i8") are
 * used in schemas, files and messages; safetensors uses F32, F64, I32, I64,
 * U8, I8.
 */
typedef enum {
  LETHE_DTYPE_F32,
  LETHE_DTYPE_F64,
  LETHE_DTYPE_I32,
  LETHE_DTYPE_I64,
  LETHE_DTYPE_U8,
  LETHE_DTYPE_I8,
  LETHE_N_DTYPES
} LetheDType;

gsize lethe_dtype_size(LetheDType dtype);
const char *lethe_dtype_name(LetheDType dtype);
/** lethe_dtype_from_name: parses "f32"… ; returns %FALSE for an unknown name. */
gboolean lethe_dtype_from_name(const char *name, LetheDType *dtype);

/**
 * LetheTensor:
 * @dtype: element type
 * @rank: number of dimensions (0 for a scalar)
 * @shape: extent of each dimension, NumPy order (outermost first)
 * @strides: step of each dimension, in elements (not bytes)
 * @offset: byte offset of element [0,…,0] in @buffer
 * @buffer: the memory (the tensor holds one reference)
 *
 * The fields are public for reading, so that numeric code can index without
 * calls; change them only through the functions below.  Reference counted;
 * a tensor that has been pushed downstream is shared: to modify it call
 * lethe_tensor_make_writable() first.
 */
typedef struct _LetheTensor LetheTensor;
struct _LetheTensor {
  /*< private >*/
  gint ref_count;
  /*< public >*/
  LetheDType dtype;
  guint rank;
  gint64 shape[LETHE_TENSOR_MAX_RANK];
  gint64 strides[LETHE_TENSOR_MAX_RANK];
  gsize offset;
  LetheBuffer *buffer;
  /*< private >*/
  gpointer _lethe_reserved[4];
};

/** lethe_tensor_new: (transfer full) a contiguous, zero-filled tensor. */
LetheTensor *lethe_tensor_new(LetheDType dtype, guint rank, const gint64 *shape);
/** lethe_tensor_new_uninit: (transfer full) contiguous, contents undefined. */
LetheTensor *lethe_tensor_new_uninit(LetheDType dtype, guint rank, const gint64 *shape);
/**
 * lethe_tensor_try_new:
 * @zero: %TRUE to zero-fill
 *
 * Like lethe_tensor_new() for shapes that come from files or users: a
 * negative extent, a rank above %LETHE_TENSOR_MAX_RANK or a size that does
 * not fit in memory sets @error (%LETHE_ERROR_LIMIT or %LETHE_ERROR_INVALID)
 * instead of aborting.
 * Returns: (transfer full) (nullable)
 */
LetheTensor *lethe_tensor_try_new(LetheDType dtype, guint rank, const gint64 *shape, gboolean zero,
                                  GError **error);
/**
 * lethe_shape_n_elements:
 * Multiplies the extents of @shape, refusing negative extents and products
 * whose byte size (times @elem_size) overflows.  Returns: %TRUE and
 * @n_elements, or %FALSE with @error set.
 */
gboolean lethe_shape_n_elements(guint rank, const gint64 *shape, gsize elem_size,
                                gint64 *n_elements, GError **error);
/** lethe_tensor_new_1d/2d: shorthands for lethe_tensor_new(). */
LetheTensor *lethe_tensor_new_1d(LetheDType dtype, gint64 n0);
LetheTensor *lethe_tensor_new_2d(LetheDType dtype, gint64 n0, gint64 n1);
/** lethe_tensor_new_scalar_f64: (transfer full) a rank-0 f64 tensor holding @value. */
LetheTensor *lethe_tensor_new_scalar_f64(double value);
/**
 * lethe_tensor_new_from_buffer:
 * @buffer: (transfer none): memory to view (a reference is taken)
 * @strides: (nullable): element strides, or %NULL for C-contiguous
 *
 * Returns: (transfer full) a view, or %NULL with @error set when the view
 * would reach outside @buffer.
 */
LetheTensor *lethe_tensor_new_from_buffer(LetheBuffer *buffer, LetheDType dtype, guint rank,
                                          const gint64 *shape, const gint64 *strides, gsize offset,
                                          GError **error);

LetheTensor *lethe_tensor_ref(LetheTensor *tensor);
void lethe_tensor_unref(LetheTensor *tensor);
gint lethe_tensor_get_refcount(const LetheTensor *tensor);

/** lethe_tensor_data: pointer to element [0,…,0]. */
static inline gpointer
lethe_tensor_data(const LetheTensor *t)
{
  return (guint8 *)lethe_buffer_get_data(t->buffer) + t->offset;
}
#define lethe_tensor_f32(t) ((float *)lethe_tensor_data(t))
#define lethe_tensor_f64(t) ((double *)lethe_tensor_data(t))
#define lethe_tensor_i32(t) ((gint32 *)lethe_tensor_data(t))
#define lethe_tensor_i64(t) ((gint64 *)lethe_tensor_data(t))
#define lethe_tensor_u8(t)  ((guint8 *)lethe_tensor_data(t))

gint64 lethe_tensor_n_elements(const LetheTensor *tensor);
gsize lethe_tensor_n_bytes(const LetheTensor *tensor);
gboolean lethe_tensor_is_contiguous(const LetheTensor *tensor);
/** lethe_tensor_same_shape: %TRUE when ranks and every extent are equal. */
gboolean lethe_tensor_same_shape(const LetheTensor *a, const LetheTensor *b);
/** lethe_tensor_shape_string: (transfer full) e.g. "[60000, 784]". */
char *lethe_tensor_shape_string(const LetheTensor *tensor);

/** lethe_tensor_is_writable: tensor refcount 1 and its buffer writable. */
gboolean lethe_tensor_is_writable(const LetheTensor *tensor);
/**
 * lethe_tensor_make_writable:
 * @tensor: (transfer full)
 *
 * Returns: (transfer full) @tensor itself when writable, else a contiguous
 * copy (and the reference to @tensor is dropped).  Copy-on-write, like
 * gst_buffer_make_writable().
 */
LetheTensor *lethe_tensor_make_writable(LetheTensor *tensor);
/** lethe_tensor_copy: (transfer full) a contiguous deep copy in a new buffer. */
LetheTensor *lethe_tensor_copy(const LetheTensor *tensor);
/** lethe_tensor_contiguous: (transfer full) @tensor ref'd if contiguous, else a copy. */
LetheTensor *lethe_tensor_contiguous(LetheTensor *tensor);
/**
 * lethe_tensor_slice:
 * Rows [@start, @end) of dimension 0, sharing the buffer (no copy).
 * Returns: (transfer full)
 */
LetheTensor *lethe_tensor_slice(LetheTensor *tensor, gint64 start, gint64 end);
/**
 * lethe_tensor_reshape:
 * A view with a new shape and the same elements; one extent may be -1.
 * Returns: (transfer full) the view, or %NULL with @error set when the
 * element counts differ or @tensor is not contiguous.
 */
LetheTensor *lethe_tensor_reshape(LetheTensor *tensor, guint rank, const gint64 *shape,
                                  GError **error);
/** lethe_tensor_to_dtype: (transfer full) a contiguous copy converted to @dtype. */
LetheTensor *lethe_tensor_to_dtype(const LetheTensor *tensor, LetheDType dtype);
/** lethe_tensor_get_f64: element at flat C-order index @i, converted to double. */
double lethe_tensor_get_f64(const LetheTensor *tensor, gint64 i);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(LetheTensor, lethe_tensor_unref)

G_END_DECLS

#endif /* LETHE_TENSOR_H */
