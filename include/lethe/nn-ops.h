/* Lethe — differentiable ops and losses recorded on a LetheTape.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_NN_OPS_H
#define LETHE_NN_OPS_H

#include <glib.h>
#include <lethe/nn-tape.h>
#include <lethe/nn-rng.h>

G_BEGIN_DECLS

/*
 * Every op takes its inputs as variables of one tape and returns a new
 * variable (transfer none, owned by the tape) of the same dtype, or %NULL
 * when an input is %NULL or the shapes do not fit (the error, naming the op
 * and both shapes, is kept by the tape: see lethe_tape_check()).  Shapes are
 * NumPy order; images are [N, C, H, W], sequences [N, C, L].
 */

/* ---- linear algebra ---- */

/** lethe_op_matmul: @a [M,K] (or [K,M] when @trans_a) times @b [K,N] (or [N,K]). */
LetheVar *lethe_op_matmul(LetheTape *tape, LetheVar *a, LetheVar *b, gboolean trans_a,
                          gboolean trans_b);
/** lethe_op_bmm: batched matmul, @a [B,M,K] times @b [B,K,N] → [B,M,N]. */
LetheVar *lethe_op_bmm(LetheTape *tape, LetheVar *a, LetheVar *b);
/**
 * lethe_op_linear:
 * @x: [N, in]   @w: [out, in] (PyTorch layout)   @b: (nullable) [out]
 * @relu: fuse a ReLU into the output
 *
 * x·wᵀ + b, in one GEMM.
 */
LetheVar *lethe_op_linear(LetheTape *tape, LetheVar *x, LetheVar *w, LetheVar *b, gboolean relu);

/* ---- elementwise, with NumPy broadcasting ---- */

LetheVar *lethe_op_add(LetheTape *tape, LetheVar *a, LetheVar *b);
LetheVar *lethe_op_sub(LetheTape *tape, LetheVar *a, LetheVar *b);
LetheVar *lethe_op_mul(LetheTape *tape, LetheVar *a, LetheVar *b);
LetheVar *lethe_op_div(LetheTape *tape, LetheVar *a, LetheVar *b);
/** lethe_op_scale: @alpha·@x + @beta. */
LetheVar *lethe_op_scale(LetheTape *tape, LetheVar *x, double alpha, double beta);

LetheVar *lethe_op_relu(LetheTape *tape, LetheVar *x);
/** lethe_op_gelu: the exact form x·Φ(x) (erf), as PyTorch's default. */
LetheVar *lethe_op_gelu(LetheTape *tape, LetheVar *x);
LetheVar *lethe_op_tanh(LetheTape *tape, LetheVar *x);
LetheVar *lethe_op_sigmoid(LetheTape *tape, LetheVar *x);
/**
 * lethe_op_sign:
 * @straight_through: %TRUE passes the gradient through unchanged (the
 *   straight-through estimator); %FALSE gives the true gradient, 0
 */
LetheVar *lethe_op_sign(LetheTape *tape, LetheVar *x, gboolean straight_through);
LetheVar *lethe_op_exp(LetheTape *tape, LetheVar *x);
/** lethe_op_log: natural logarithm (inputs must be positive). */
LetheVar *lethe_op_log(LetheTape *tape, LetheVar *x);
LetheVar *lethe_op_square(LetheTape *tape, LetheVar *x);

/* ---- reductions and normalisations over the last axis ---- */

/** lethe_op_sum: sum of all elements → a scalar. */
LetheVar *lethe_op_sum(LetheTape *tape, LetheVar *x);
/** lethe_op_mean: mean of all elements → a scalar. */
LetheVar *lethe_op_mean(LetheTape *tape, LetheVar *x);
/** lethe_op_sum_axis: sums out dimension @axis (negative counts from the end). */
LetheVar *lethe_op_sum_axis(LetheTape *tape, LetheVar *x, int axis);
LetheVar *lethe_op_softmax(LetheTape *tape, LetheVar *x);
LetheVar *lethe_op_log_softmax(LetheTape *tape, LetheVar *x);
/** lethe_op_logsumexp: over the last axis, which is removed. */
LetheVar *lethe_op_logsumexp(LetheTape *tape, LetheVar *x);
/** lethe_op_l2_normalize: x / max(‖x‖, @eps) along the last axis. */
LetheVar *lethe_op_l2_normalize(LetheTape *tape, LetheVar *x, double eps);

/* ---- shapes ---- */

/** lethe_op_reshape: one extent may be -1.  Copies nothing on the forward pass. */
LetheVar *lethe_op_reshape(LetheTape *tape, LetheVar *x, guint rank, const gint64 *shape);
/** lethe_op_flatten: [N, …] → [N, rest]. */
LetheVar *lethe_op_flatten(LetheTape *tape, LetheVar *x);
/** lethe_op_concat: joins @n variables along @axis. */
LetheVar *lethe_op_concat(LetheTape *tape, LetheVar *const *xs, guint n, int axis);
/** lethe_op_slice: [@start, @end) of dimension @axis. */
LetheVar *lethe_op_slice(LetheTape *tape, LetheVar *x, int axis, gint64 start, gint64 end);

/* ---- layers ---- */

/**
 * lethe_op_conv2d:
 * @x: [N, C, H, W]   @w: [O, C, KH, KW]   @b: (nullable) [O]
 *
 * Cross-correlation (as every framework's "conv"), by im2col and one GEMM
 * per batch.  Output [N, O, (H+2·pad−KH)/stride+1, …].
 */
LetheVar *lethe_op_conv2d(LetheTape *tape, LetheVar *x, LetheVar *w, LetheVar *b, int stride,
                          int pad);
/**
 * lethe_op_conv2d_fused:
 * @relu: apply a ReLU to the output
 * @max_pool2: then a 2×2 max pooling with stride 2 (floor), as
 *   `maxpool(2)`; needs @relu
 *
 * lethe_op_conv2d() followed by a ReLU (and pooling) in one op: the
 * unpooled activation is never written out, which saves most of the memory
 * traffic of a small CNN.  Same values as the separate ops.
 */
LetheVar *lethe_op_conv2d_fused(LetheTape *tape, LetheVar *x, LetheVar *w, LetheVar *b, int stride,
                                int pad, gboolean relu, gboolean max_pool2);
/** lethe_op_conv1d: @x [N, C, L], @w [O, C, K], @b (nullable) [O]. */
LetheVar *lethe_op_conv1d(LetheTape *tape, LetheVar *x, LetheVar *w, LetheVar *b, int stride,
                          int pad);
/** lethe_op_max_pool2d: k×k windows, step @stride, no padding; [N,C,H,W]. */
LetheVar *lethe_op_max_pool2d(LetheTape *tape, LetheVar *x, int k, int stride);
LetheVar *lethe_op_avg_pool2d(LetheTape *tape, LetheVar *x, int k, int stride);
/** lethe_op_max_pool1d: windows of @k on [N, C, L]. */
LetheVar *lethe_op_max_pool1d(LetheTape *tape, LetheVar *x, int k, int stride);
LetheVar *lethe_op_avg_pool1d(LetheTape *tape, LetheVar *x, int k, int stride);
/** lethe_op_global_avg_pool: [N, C, …] → [N, C]. */
LetheVar *lethe_op_global_avg_pool(LetheTape *tape, LetheVar *x);
/** lethe_op_global_max_pool: [N, C, …] → [N, C]. */
LetheVar *lethe_op_global_max_pool(LetheTape *tape, LetheVar *x);
/** lethe_op_upsample_nearest: [N, C, H, W] → [N, C, H·@factor, W·@factor]. */
LetheVar *lethe_op_upsample_nearest(LetheTape *tape, LetheVar *x, int factor);
/**
 * lethe_op_layer_norm:
 * @gamma: (nullable) [D]   @beta: (nullable) [D]
 * Normalises the last axis (size D).
 */
LetheVar *lethe_op_layer_norm(LetheTape *tape, LetheVar *x, LetheVar *gamma, LetheVar *beta,
                              double eps);
/**
 * lethe_op_batch_norm:
 * @x: [N, C] or [N, C, …]
 * @gamma, @beta: (nullable) [C]
 * @running_mean, @running_var: (nullable) f32 or f64 [C] (same dtype as
 *   @x); updated with @momentum when @training, used as frozen statistics
 *   otherwise
 * @training: normalise with the batch statistics (unbiased variance goes
 *   into the running estimate, as PyTorch)
 */
LetheVar *lethe_op_batch_norm(LetheTape *tape, LetheVar *x, LetheVar *gamma, LetheVar *beta,
                              gpointer running_mean, gpointer running_var, gboolean training,
                              double momentum, double eps);
/**
 * lethe_op_dropout:
 * Zeroes each element with probability @p and scales the rest by 1/(1−@p)
 * (inverted dropout).  @rng: the stream to draw from (advanced).
 */
LetheVar *lethe_op_dropout(LetheTape *tape, LetheVar *x, double p, LetheRng *rng);
/**
 * lethe_op_embedding:
 * @ids: @n_ids row indices into @table [V, D]
 * Returns [@n_ids, D]; the gradient flows to @table only.
 */
LetheVar *lethe_op_embedding(LetheTape *tape, LetheVar *table, const gint64 *ids, gint64 n_ids);
/**
 * lethe_op_lstm_cell:
 * @x: [N, I]  @h, @c: [N, H]  @w_ih: [4H, I]  @w_hh: [4H, H]  @b: (nullable) [4H]
 * @h_out: (out) (transfer none)  @c_out: (out) (transfer none)
 *
 * One LSTM step, gates in PyTorch's order (input, forget, cell, output).
 * Returns %FALSE when the shapes do not fit (the tape keeps the error).
 */
gboolean lethe_op_lstm_cell(LetheTape *tape, LetheVar *x, LetheVar *h, LetheVar *c, LetheVar *w_ih,
                            LetheVar *w_hh, LetheVar *b, LetheVar **h_out, LetheVar **c_out);

/**
 * lethe_op_gru_cell:
 * @x: [N, I]  @h: [N, H]  @w_ih: [3H, I]  @w_hh: [3H, H]
 * @b_ih, @b_hh: (nullable) [3H]
 *
 * One GRU step with PyTorch's gates (reset, update, new):
 * h' = (1 − z)·n + z·h, n = tanh(W_in·x + b_in + r·(W_hn·h + b_hn)).
 * Returns: (transfer none) h', or %NULL when the shapes do not fit.
 */
LetheVar *lethe_op_gru_cell(LetheTape *tape, LetheVar *x, LetheVar *h, LetheVar *w_ih,
                            LetheVar *w_hh, LetheVar *b_ih, LetheVar *b_hh);

/* ---- losses (each returns a scalar: the mean over the batch) ---- */

/**
 * lethe_op_cross_entropy:
 * @logits: [N, K]   @labels: N class indices in [0, K)
 * @label_smoothing: ε: the target is (1−ε)·onehot + ε/K
 */
LetheVar *lethe_op_cross_entropy(LetheTape *tape, LetheVar *logits, const gint32 *labels,
                                 double label_smoothing);
/** lethe_op_bce_with_logits: mean of −t·log σ(x) − (1−t)·log(1−σ(x)); @targets same shape. */
LetheVar *lethe_op_bce_with_logits(LetheTape *tape, LetheVar *logits, LetheVar *targets);
/** lethe_op_mse: mean of (a − b)². */
LetheVar *lethe_op_mse(LetheTape *tape, LetheVar *a, LetheVar *b);
/** lethe_op_huber: mean Huber loss with threshold @delta. */
LetheVar *lethe_op_huber(LetheTape *tape, LetheVar *a, LetheVar *b, double delta);
/**
 * lethe_op_kl_div:
 * @student, @teacher: logits [N, K]
 * T²·KL(softmax(teacher/T) ‖ softmax(student/T)) averaged over the batch
 * (Hinton et al. 2015); gradients flow to both.
 */
LetheVar *lethe_op_kl_div(LetheTape *tape, LetheVar *student, LetheVar *teacher,
                          double temperature);
/** lethe_op_cosine_loss: mean over rows of 1 − cos(a_i, b_i); [N, D]. */
LetheVar *lethe_op_cosine_loss(LetheTape *tape, LetheVar *a, LetheVar *b);
/**
 * lethe_op_nt_xent:
 * @z: [2N, D] embeddings, rows i and i+N are the two views of sample i
 * The SimCLR loss (Chen et al. 2020) on cosine similarities / @temperature.
 */
LetheVar *lethe_op_nt_xent(LetheTape *tape, LetheVar *z, double temperature);
/**
 * lethe_op_hinge:
 * Multi-class margin loss: mean over samples of Σ_{j≠y} max(0, @margin − x_y + x_j) / K
 * (the form of PyTorch's MultiMarginLoss).
 */
LetheVar *lethe_op_hinge(LetheTape *tape, LetheVar *logits, const gint32 *labels, double margin);

/* ---- flat vectors (parameters, gradients) ---- */

/** lethe_nn_dot: Σ a_i·b_i over two f32 or f64 tensors of equal size, in f64. */
double lethe_nn_dot(const LetheTensor *a, const LetheTensor *b);
/** lethe_nn_norm2: the L2 norm, in f64. */
double lethe_nn_norm2(const LetheTensor *a);
/** lethe_nn_axpy: @y += @alpha·@x (same dtype and size; @y must be writable). */
void lethe_nn_axpy(double alpha, const LetheTensor *x, LetheTensor *y);
/** lethe_nn_scale: @x *= @alpha. */
void lethe_nn_scale(LetheTensor *x, double alpha);

/* ---- threads ---- */

/**
 * lethe_nn_set_threads:
 * @n_threads: threads for BLAS and the library's own loops; 0 = all cores
 *
 * Results are bit-identical for the same seed and the same thread count.
 */
void lethe_nn_set_threads(guint n_threads);
guint lethe_nn_get_threads(void);

G_END_DECLS

#endif /* LETHE_NN_OPS_H */
