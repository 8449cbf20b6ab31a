/* Lethe — reverse-mode autograd: the tape, its variables, parameter sets.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_NN_TAPE_H
#define LETHE_NN_TAPE_H

#include <glib.h>
#include <lethe/tensor.h>

G_BEGIN_DECLS

/**
 * LetheTape:
 *
 * Records the ops of one forward pass so that lethe_tape_backward() can run
 * them in reverse.  Ops compute eagerly (define-by-run) into memory taken from
 * the tape's arena; lethe_tape_reset() forgets every variable but keeps the
 * memory, so a training loop that reuses one tape allocates nothing after
 * its first step.  A tape is used by one thread at a time.
 *
 * Errors are sticky, as in cairo: an op that fails (shape mismatch, wrong
 * dtype) returns %NULL and stores the error in the tape; every later op
 * given a %NULL input also returns %NULL.  Check once with
 * lethe_tape_check() (lethe_tape_backward() checks too).
 */
typedef struct _LetheTape LetheTape;

/**
 * LetheVar:
 * @dtype: %LETHE_DTYPE_F32 or %LETHE_DTYPE_F64 (every op works on both; the
 *   gradient check runs in f64)
 * @rank: number of dimensions
 * @shape: extents, NumPy order
 * @n: number of elements
 * @data: the values, C-contiguous
 * @grad: (nullable): the gradient, same layout as @data, once
 *   lethe_tape_backward() has reached this variable
 * @requires_grad: whether the gradient flows to this variable
 *
 * A value recorded on a tape.  Owned by the tape: valid until
 * lethe_tape_reset() or lethe_tape_free().  Read the fields directly.
 */
typedef struct _LetheVar LetheVar;
struct _LetheVar {
  LetheDType dtype;
  guint rank;
  gint64 shape[LETHE_TENSOR_MAX_RANK];
  gint64 n;
  gpointer data;
  gpointer grad;
  gboolean requires_grad;
  /*< private >*/
  guint op;
  guint index;
  guint flags;
  LetheVar *in[4];
  gint64 iarg[8];
  double farg[4];
  gpointer aux;
  gpointer aux2;
  gpointer _lethe_reserved[2];
};

LetheTape *lethe_tape_new(void);
void lethe_tape_free(LetheTape *tape);
/** lethe_tape_reset: forgets all variables and the error; keeps the memory. */
void lethe_tape_reset(LetheTape *tape);
/**
 * lethe_tape_set_grad_enabled:
 * With %FALSE (inference), ops save nothing for backward and no variable
 * requires a gradient.  Default %TRUE.
 */
void lethe_tape_set_grad_enabled(LetheTape *tape, gboolean enabled);
gboolean lethe_tape_get_grad_enabled(const LetheTape *tape);
/** lethe_tape_check: %FALSE, with a copy of the tape's first error, if an op failed. */
gboolean lethe_tape_check(LetheTape *tape, GError **error);
/** lethe_tape_set_error: records an error (the first one wins); for op implementers. */
void lethe_tape_set_error(LetheTape *tape, GError *error);
/** lethe_tape_get_n_vars: number of variables recorded since the last reset. */
guint lethe_tape_get_n_vars(const LetheTape *tape);
/** lethe_tape_get_arena_size: bytes of arena memory held (for tests of reuse). */
gsize lethe_tape_get_arena_size(const LetheTape *tape);
/** lethe_tape_alloc: 64-byte aligned scratch memory living until the next reset. */
gpointer lethe_tape_alloc(LetheTape *tape, gsize size);

/**
 * lethe_tape_input:
 * @tensor: (transfer none): an f32 or f64 tensor; the tape keeps a
 *   reference until reset and reads it in place when it is contiguous
 * @requires_grad: %TRUE to get the gradient for the input (adversarial
 *   examples, saliency)
 *
 * Returns: (transfer none) a leaf variable.
 */
LetheVar *lethe_tape_input(LetheTape *tape, LetheTensor *tensor, gboolean requires_grad);
/**
 * lethe_tape_new_leaf:
 * A leaf whose values the caller fills in (uninitialised).
 * Returns: (transfer none)
 */
LetheVar *lethe_tape_new_leaf(LetheTape *tape, LetheDType dtype, guint rank, const gint64 *shape,
                              gboolean requires_grad);
/**
 * lethe_tape_wrap:
 * @data: values, C-contiguous, living until the tape is reset
 * @grad: (nullable): where the gradient is accumulated (+=); %NULL for a
 *   constant
 *
 * A leaf on memory owned by the caller.  Returns: (transfer none)
 */
LetheVar *lethe_tape_wrap(LetheTape *tape, LetheDType dtype, guint rank, const gint64 *shape,
                          gpointer data, gpointer grad);

/**
 * lethe_tape_backward:
 * @loss: a variable of one element
 *
 * Accumulates d@loss/dv into the gradient of every variable @loss depends
 * on that requires a gradient (parameters: into their #LetheParams gradient
 * buffers, which are not zeroed first).  Returns %FALSE with @error set when
 * an op failed earlier or @loss is not a scalar.
 */
gboolean lethe_tape_backward(LetheTape *tape, LetheVar *loss, GError **error);
/**
 * lethe_tape_backward_from:
 * @seed: d(objective)/d@out, @out->n values of @out's dtype
 *
 * Like lethe_tape_backward() for a non-scalar @out (vector-Jacobian product).
 */
gboolean lethe_tape_backward_from(LetheTape *tape, LetheVar *out, gconstpointer seed,
                                  GError **error);

/** lethe_var_to_tensor: (transfer full) a copy of the values. */
LetheTensor *lethe_var_to_tensor(const LetheVar *var);
/** lethe_var_grad_to_tensor: (transfer full) (nullable) a copy of the gradient. */
LetheTensor *lethe_var_grad_to_tensor(const LetheVar *var);
/** lethe_var_get: element @i (flat, C order) as a double. */
double lethe_var_get(const LetheVar *var, gint64 i);

/**
 * LetheParams:
 *
 * The named parameter tensors of a model, f32, with one flat gradient
 * buffer for all of them (and, after lethe_params_make_flat(), one flat value
 * buffer), per-tensor freezing and gradient masks.  Non-trainable tensors
 * (batch-norm running statistics) are "buffers": saved with the model,
 * never given a gradient.
 */
typedef struct _LetheParams LetheParams;

LetheParams *lethe_params_new(void);
void lethe_params_free(LetheParams *params);
/**
 * lethe_params_add:
 * @value: (transfer none): an f32 tensor; a reference is taken and the
 *   tensor is used in place when contiguous (else copied)
 * @trainable: %FALSE for a buffer (running statistics)
 *
 * Returns: the index of the new tensor.  Add every tensor before asking for
 * gradients.
 */
guint lethe_params_add(LetheParams *params, const char *name, LetheTensor *value,
                       gboolean trainable);
guint lethe_params_get_n(const LetheParams *params);
/** lethe_params_find: the index of @name, or -1. */
gint lethe_params_find(const LetheParams *params, const char *name);
const char *lethe_params_get_name(const LetheParams *params, guint i);
/** lethe_params_get_value: (transfer none) */
LetheTensor *lethe_params_get_value(const LetheParams *params, guint i);
/** lethe_params_get_grad: (transfer none) a view into the flat gradient. */
LetheTensor *lethe_params_get_grad(LetheParams *params, guint i);
gboolean lethe_params_is_trainable(const LetheParams *params, guint i);
/** lethe_params_get_n_elements: total elements of the trainable tensors. */
gint64 lethe_params_get_n_elements(const LetheParams *params);
/** lethe_params_get_offset: where tensor @i starts in the flat vectors (-1 for a buffer). */
gint64 lethe_params_get_offset(const LetheParams *params, guint i);

/** lethe_params_set_frozen: a frozen tensor gets no gradient and no update. */
void lethe_params_set_frozen(LetheParams *params, guint i, gboolean frozen);
gboolean lethe_params_get_frozen(const LetheParams *params, guint i);
/**
 * lethe_params_set_mask:
 * @mask: (nullable) (transfer none): f32, same shape as the tensor, or %NULL
 *
 * Optimizers scale the gradient of tensor @i by @mask and leave entries
 * whose mask is 0 untouched (no decay, no momentum).
 */
void lethe_params_set_mask(LetheParams *params, guint i, LetheTensor *mask);
/** lethe_params_get_mask: (transfer none) (nullable) */
LetheTensor *lethe_params_get_mask(const LetheParams *params, guint i);
/** lethe_params_zero_grad: sets every gradient to 0. */
void lethe_params_zero_grad(LetheParams *params);
/**
 * lethe_params_make_flat:
 * Copies the trainable values into one flat buffer (once) and makes every
 * value tensor a view of it, so that lethe_params_flat_values() is free.
 */
void lethe_params_make_flat(LetheParams *params);
/**
 * lethe_params_flat_values:
 * Returns: (transfer full) an f32 [P] view of all trainable values in
 * order (makes the values flat first).  Writing into it changes the model.
 */
LetheTensor *lethe_params_flat_values(LetheParams *params);
/** lethe_params_flat_grads: (transfer full) an f32 [P] view of the gradients. */
LetheTensor *lethe_params_flat_grads(LetheParams *params);
/** lethe_params_copy: (transfer full) a deep copy (values, frozen flags, masks; zero gradients). */
LetheParams *lethe_params_copy(const LetheParams *params);
/**
 * lethe_params_check_finite:
 * Returns %FALSE with a %LETHE_ERROR_NUMERIC error naming the first tensor
 * (value or gradient) holding a NaN or an infinity.
 */
gboolean lethe_params_check_finite(LetheParams *params, gboolean grads, GError **error);
/**
 * lethe_params_clip_grad_norm:
 * Scales all gradients so that their global L2 norm is at most @max_norm.
 * Returns: the norm before clipping.
 */
double lethe_params_clip_grad_norm(LetheParams *params, double max_norm);
/** lethe_params_clip_grad_value: clamps every gradient entry to [-@limit, @limit]. */
void lethe_params_clip_grad_value(LetheParams *params, double limit);

/**
 * lethe_tape_param:
 * Returns: (transfer none) a leaf for tensor @i whose gradient accumulates
 * into @params' gradient buffer (no gradient when frozen or a buffer).
 */
LetheVar *lethe_tape_param(LetheTape *tape, LetheParams *params, guint i);

G_END_DECLS

#endif /* LETHE_NN_TAPE_H */
