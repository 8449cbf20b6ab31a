/* Lethe — the `sequential` model kind: a layer list described by a string.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_NN_MODEL_H
#define LETHE_NN_MODEL_H

#include <gio/gio.h>
#include <lethe/frame.h>
#include <lethe/model.h>
#include <lethe/nn-ops.h>
#include <lethe/nn-optim.h>
#include <lethe/nn-rng.h>
#include <lethe/nn-tape.h>

G_BEGIN_DECLS

/**
 * LetheSequential:
 *
 * A feed-forward model given by an `arch` string such as
 * `conv2d(1,16,3,pad=1) relu maxpool(2) flatten linear(3136,10)` (grammar
 * and layers in docs/models.md) and its parameters, named as PyTorch's
 * nn.Sequential names them ("0.weight", "0.bias", "3.running_mean"…), in
 * PyTorch's layouts, so checkpoints move between the two.
 *
 * Not thread-safe: one thread uses a model at a time (clone it for more).
 */
typedef struct _LetheSequential LetheSequential;

/**
 * lethe_sequential_new:
 * @arch: the layer list
 * @seed: initialises the parameters as PyTorch does (uniform ±1/√fan_in for
 *   weights and biases of linear and conv layers; norms at 1 and 0), from a
 *   Philox stream of @seed
 *
 * Returns: (transfer full) the model, or %NULL with a %LETHE_ERROR_PARSE
 * error naming the token and its position when @arch is not valid.
 */
LetheSequential *lethe_sequential_new(const char *arch, guint64 seed, GError **error);
/**
 * lethe_sequential_new_from_frame:
 * @model: a `model` frame: metadata "arch" and one tensor per parameter
 *
 * The parameters are used in place (not copied) until training makes
 * them flat.  Returns: (transfer full) the model, or %NULL with an error
 * naming the missing, extra or misshapen tensor when the frame does not fit
 * its arch.
 */
LetheSequential *lethe_sequential_new_from_frame(const LetheFrame *model, GError **error);
void lethe_sequential_free(LetheSequential *seq);
/** lethe_sequential_clone: (transfer full) a deep copy (teacher, oracle, anchor θ*). */
LetheSequential *lethe_sequential_clone(const LetheSequential *seq);
/**
 * lethe_sequential_to_frame:
 * A snapshot: a new `model` frame holding copies of the parameters, with
 * metadata "model-kind" = "sequential", "arch" and "version" = @version.
 * Returns: (transfer full)
 */
LetheFrame *lethe_sequential_to_frame(const LetheSequential *seq, gint64 version);
const char *lethe_sequential_get_arch(const LetheSequential *seq);
/** lethe_sequential_get_params: (transfer none) */
LetheParams *lethe_sequential_get_params(LetheSequential *seq);
guint lethe_sequential_get_n_layers(const LetheSequential *seq);
/** lethe_sequential_get_layer_name: the layer's token, e.g. "linear(784,256)". */
const char *lethe_sequential_get_layer_name(const LetheSequential *seq, guint layer);

/**
 * LetheForwardHook:
 * @activation: the output of layer @layer
 *
 * Called during the forward pass after layer @layer.  Return @activation to
 * only read it, or a new variable of the same shape recorded on @tape to
 * replace it (gradients flow through whatever the hook records).  Return
 * %NULL after lethe_tape_set_error() to stop the pass.
 */
typedef LetheVar *(*LetheForwardHook)(LetheSequential *seq, guint layer, LetheTape *tape,
                                      LetheVar *activation, gpointer user_data);
/** lethe_sequential_set_hook: installs (or with %NULL removes) the hook of @layer. */
void lethe_sequential_set_hook(LetheSequential *seq, guint layer, LetheForwardHook hook,
                               gpointer user_data);

/**
 * lethe_sequential_forward:
 * @training: dropout on, batch norm with batch statistics (and updating its
 *   running statistics)
 *
 * Records the model on @tape.  Returns: (transfer none) the output, or
 * %NULL when the input does not fit (the tape's error names the layer, its
 * token and where it is in the arch string).
 */
LetheVar *lethe_sequential_forward(LetheSequential *seq, LetheTape *tape, LetheVar *x,
                                   gboolean training);
/**
 * lethe_sequential_predict:
 * Runs @x ([N, …], f32) in inference mode, @batch samples at a time.
 * Returns: (transfer full) the [N, K] outputs, or %NULL with @error set.
 */
LetheTensor *lethe_sequential_predict(LetheSequential *seq, LetheTensor *x, gint64 batch,
                                      GError **error);
/**
 * lethe_sequential_loss_grad:
 * Mean softmax cross-entropy on (@x, @y) (labels i32 or i64), its
 * gradient accumulated into the model's #LetheParams gradients (zeroed
 * first).  Returns %FALSE with @error set on a shape or label problem.
 */
gboolean lethe_sequential_loss_grad(LetheSequential *seq, LetheTensor *x, LetheTensor *y,
                                    double *loss, GError **error);
/**
 * lethe_sequential_per_sample_grads:
 * Returns: (transfer full) an f32 [N, P] tensor: row i is the gradient of
 * sample i's cross-entropy for all P trainable entries (lethe_params_flat_grads()
 * order), or %NULL with @error set.
 */
LetheTensor *lethe_sequential_per_sample_grads(LetheSequential *seq, LetheTensor *x, LetheTensor *y,
                                               GError **error);
/**
 * lethe_sequential_fisher_diagonal:
 * @fisher: (inout): f32 [P]; the empirical Fisher diagonal
 *   (1/N)·Σ_i g_i² of (@x, @y) is added into it, so it accumulates over
 *   calls (online EWC)
 */
gboolean lethe_sequential_fisher_diagonal(LetheSequential *seq, LetheTensor *x, LetheTensor *y,
                                          LetheTensor *fisher, GError **error);

/**
 * LetheTrainProgress:
 * Called after each step with the step within the epoch, the number of
 * steps of the epoch and the step's loss.
 */
typedef void (*LetheTrainProgress)(guint64 step, guint64 n_steps, double loss, gpointer user_data);

/**
 * lethe_sequential_train_epoch:
 * @opt: an optimizer over lethe_sequential_get_params(@seq)
 * @x: f32 [N, …]   @y: i32 or i64 [N] labels
 * @batch: samples per step (the last step takes what is left)
 * @rng: draws the shuffle and the dropout masks (advanced)
 * @cancellable: (nullable): polled between steps
 * @progress: (nullable) (scope call)
 * @mean_loss: (out) (optional): mean training loss of the epoch
 *
 * One epoch of softmax cross-entropy training.  The tape and every buffer
 * are reused across steps.  Stops with %LETHE_ERROR_NUMERIC, naming the
 * step and the first non-finite tensor, when a NaN or infinity appears, and
 * with %LETHE_ERROR_CANCELLED when @cancellable fires.
 */
gboolean lethe_sequential_train_epoch(LetheSequential *seq, LetheOptimizer *opt, LetheTensor *x,
                                      LetheTensor *y, gint64 batch, LetheRng *rng,
                                      GCancellable *cancellable, LetheTrainProgress progress,
                                      gpointer user_data, double *mean_loss, GError **error);

/** lethe_sequential_get_kind: (transfer none) the "sequential" #LetheModelKind. */
const LetheModelKind *lethe_sequential_get_kind(void);

G_END_DECLS

#endif /* LETHE_NN_MODEL_H */
