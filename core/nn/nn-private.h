/* Lethe — internals shared by the files of core/nn.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_NN_PRIVATE_H
#define LETHE_NN_PRIVATE_H

#include <cblas.h>
#include <math.h>
#include <string.h>
#include <lethe/error.h>
#include <lethe/nn-ops.h>
#include <lethe/nn-tape.h>

/* One tag per op: lethe_tape_backward() switches on it (no function
 * pointers, no per-element calls). */
typedef enum {
  OP_LEAF,
  OP_MATMUL,
  OP_BMM,
  OP_LINEAR,
  OP_ADD,
  OP_SUB,
  OP_MUL,
  OP_DIV,
  OP_SCALE,
  OP_RELU,
  OP_GELU,
  OP_TANH,
  OP_SIGMOID,
  OP_SIGN,
  OP_EXP,
  OP_LOG,
  OP_SQUARE,
  OP_SUM,
  OP_SUM_AXIS,
  OP_SOFTMAX,
  OP_LOG_SOFTMAX,
  OP_LOGSUMEXP,
  OP_L2_NORMALIZE,
  OP_RESHAPE,
  OP_CONCAT,
  OP_SLICE,
  OP_CONV,
  OP_MAX_POOL,
  OP_AVG_POOL,
  OP_GLOBAL_AVG_POOL,
  OP_GLOBAL_MAX_POOL,
  OP_UPSAMPLE,
  OP_LAYER_NORM,
  OP_BATCH_NORM,
  OP_DROPOUT,
  OP_EMBEDDING,
  OP_CROSS_ENTROPY,
  OP_BCE_LOGITS,
  OP_MSE,
  OP_HUBER,
  OP_KL_DIV,
  OP_COSINE_LOSS,
  OP_NT_XENT,
  OP_HINGE,
  N_OPS
} NnOp;

/* Variables whose data is a view of an input's data (reshape). */
#define VAR_FLAG_VIEW 1u
/* Variables with more than 4 inputs keep the list in aux2 (concat). */

/* tape.c */
G_GNUC_INTERNAL LetheVar *nn_var_new(LetheTape *tape, NnOp op, LetheDType dtype, guint rank,
                                     const gint64 *shape);
/* A variable sharing @of's data (reshape). */
G_GNUC_INTERNAL LetheVar *nn_var_new_view(LetheTape *tape, NnOp op, LetheVar *of, guint rank,
                                          const gint64 *shape);
/* Grad of @v as a zero-filled buffer, allocated on first use. */
G_GNUC_INTERNAL gpointer nn_grad(LetheTape *tape, LetheVar *v);
G_GNUC_INTERNAL gboolean nn_fail(LetheTape *tape, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
G_GNUC_INTERNAL gboolean nn_same_dtype(LetheTape *tape, const char *op, LetheVar *a, LetheVar *b);
G_GNUC_INTERNAL char *nn_shape_str(const LetheVar *v);
G_GNUC_INTERNAL gboolean nn_need_grad(const LetheVar *v);
G_GNUC_INTERNAL gboolean nn_recording(const LetheTape *tape);

/* Backward functions, one per file. */
G_GNUC_INTERNAL void nn_backward_basic(LetheTape *tape, LetheVar *v);
G_GNUC_INTERNAL void nn_backward_conv(LetheTape *tape, LetheVar *v);
G_GNUC_INTERNAL void nn_backward_norm(LetheTape *tape, LetheVar *v);
G_GNUC_INTERNAL void nn_backward_loss(LetheTape *tape, LetheVar *v);

/* threads.c: runs fn(i, data) for i in [0, n) on the nn worker threads. */
G_GNUC_INTERNAL void nn_parallel_for(gint64 n, void (*fn)(gint64 begin, gint64 end, gpointer data),
                                     gpointer data);

#define NN_IS_F32(v) ((v)->dtype == LETHE_DTYPE_F32)

/* Calls name_f32 or name_f64, the typed kernels each ops*.c file
 * instantiates, after the dtype of @v. */
#define DISPATCH(v, name, ...)                                                                     \
  do {                                                                                             \
    if ((v)->dtype == LETHE_DTYPE_F32)                                                             \
      name##_f32(__VA_ARGS__);                                                                     \
    else                                                                                           \
      name##_f64(__VA_ARGS__);                                                                     \
  } while (0)

/* GEMM on either dtype; row-major. */
static inline void
nn_gemm(LetheDType dt, gboolean ta, gboolean tb, int m, int n, int k, double alpha, const void *a,
        int lda, const void *b, int ldb, double beta, void *c, int ldc)
{
  if (dt == LETHE_DTYPE_F32)
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
                k, (float)alpha, a, lda, b, ldb, (float)beta, c, ldc);
  else
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
                k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#endif /* LETHE_NN_PRIVATE_H */

/* ---- the sequential model (arch-parse.c, sequential.c) ---- */

typedef enum {
  L_LINEAR,
  L_CONV2D,
  L_CONV1D,
  L_RELU,
  L_GELU,
  L_TANH,
  L_SIGMOID,
  L_MAXPOOL,
  L_AVGPOOL,
  L_MAXPOOL1D,
  L_AVGPOOL1D,
  L_GLOBAL_AVG_POOL,
  L_GLOBAL_MAX_POOL,
  L_FLATTEN,
  L_DROPOUT,
  L_BATCHNORM,
  L_LAYERNORM,
  L_L2NORM,
  L_UPSAMPLE,
} NnLayerKind;

#define NN_LAYER_MAX_ARGS 6

typedef struct {
  NnLayerKind kind;
  double a[NN_LAYER_MAX_ARGS]; /* arguments in the order of the layer's spec */
  char *token;                 /* as written, for messages */
  gsize pos;                   /* character offset in the arch string */
  gint param[4];               /* weight, bias, running mean, running var; -1 when absent */
} NnLayer;

/* Parses @arch into an array of NnLayer (with a clear func). */
G_GNUC_INTERNAL GArray *nn_arch_parse(const char *arch, GError **error);

/* tape.c: prefixes the tape's error message. */
G_GNUC_INTERNAL void nn_prefix_error(LetheTape *tape, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
