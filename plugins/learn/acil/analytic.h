/* Lethe — analytic class-incremental learning (ACIL) and exact analytic
 * unlearning (ACU): the statistics, their updates and downdates, in float64.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A frozen backbone gives features f(x) of d_f values.  A random expansion
 * W_B (width × d_f, Kaiming-uniform, never trained) maps them to
 * x_e = ReLU(f(x) W_Bᵀ).  The head is the ridge solution
 *
 *   W = A⁻¹ Q,   A = Σ x_eᵀ x_e + γ I,   Q = Σ x_eᵀ y   (y one-hot),
 *
 * over every sample learned and not unlearned.  The state keeps A, its upper
 * Cholesky factor U (A = Uᵀ U), Q and W.  Learning adds a batch to A and Q,
 * unlearning subtracts it; U follows by Givens rank-k updates/downdates for
 * small batches and by refactoring A for large ones, whichever costs less.
 * Both are exact to rounding: W equals the ridge solution computed from
 * scratch on the retained samples.
 *
 * Columns of Q and W are class labels 0..K−1.  A class is active while at
 * least one of its samples is learned; when its last sample is unlearned
 * its column of Q is set to exactly 0 (so W's column is exactly 0) and the
 * class is dropped from the outputs (its logit is −inf).
 */
#ifndef LETHE_ACIL_ANALYTIC_H
#define LETHE_ACIL_ANALYTIC_H

#include <lethe/frame.h>

G_BEGIN_DECLS

/** ACIL_MODEL_KIND: the "model-kind" of the model frames this state makes. */
#define ACIL_MODEL_KIND "acil"

/**
 * AcilBatch:
 * @x: n × d_f features (f(x), already through the backbone), row-major
 * @y: n class labels
 * @ids: n sample ids (unique)
 * @n: number of samples
 */
typedef struct {
  const float *x;
  const gint32 *y;
  const gint64 *ids;
  gsize n;
} AcilBatch;

/**
 * AcilState:
 * @d_f: feature size the backbone gives
 * @width: expansion width d_B
 * @gamma: ridge regulariser γ > 0
 * @w_b: f64 [width, d_f], the random expansion
 * @a: f64 [width, width], Σ x_eᵀ x_e + γ I
 * @u: f64 [width, width], the upper Cholesky factor of @a
 * @q: f64 [width, K], Σ x_eᵀ y
 * @w: f64 [width, K], A⁻¹ Q
 * @counts: gint64 per class: how many of its samples are learned
 * @learned: sample id (gint64 *) → label + 1, the samples learned
 * @n_givens: how many batches took the Givens path (for tests)
 * @n_refactor: how many batches refactored A (for tests)
 *
 * The tensors may be shared with model frames already pushed; every update
 * makes them writable first (copying only when shared).
 */
typedef struct {
  gint64 d_f;
  gint64 width;
  double gamma;
  LetheTensor *w_b;
  LetheTensor *a;
  LetheTensor *u;
  LetheTensor *q;
  LetheTensor *w;
  GArray *counts;
  GHashTable *learned;
  guint n_givens;
  guint n_refactor;
} AcilState;

/**
 * acil_state_new:
 * An empty state: A = γI, U = √γ I, no classes, W_B drawn from
 * U(−1/√d_f, 1/√d_f) with @seed.  The draws are float32 values widened to
 * float64, so W_B is exactly representable in either precision.
 */
AcilState *acil_state_new(gint64 d_f, gint64 width, double gamma, guint64 seed);
void acil_state_free(AcilState *state);

/** acil_state_n_classes: K, the number of columns (largest label seen + 1). */
gint64 acil_state_n_classes(const AcilState *state);
/** acil_state_class_active: %TRUE while class @c has learned samples. */
gboolean acil_state_class_active(const AcilState *state, gint64 c);
/** acil_state_n_learned: how many samples are learned. */
gsize acil_state_n_learned(const AcilState *state);
/** acil_state_is_learned: whether sample @id is learned. */
gboolean acil_state_is_learned(const AcilState *state, gint64 id);

/**
 * acil_state_reserve_classes:
 * Widens the outputs to @k classes; the new ones stay inactive (−inf)
 * until they have samples.
 */
void acil_state_reserve_classes(AcilState *state, gint64 k);

/**
 * acil_learn:
 * @who: the node (or caller) named in errors
 *
 * Adds @batch to the statistics and re-solves W.  Fails, changing nothing,
 * on a negative label, or an id learned already or repeated in @batch.
 */
gboolean acil_learn(AcilState *state, const AcilBatch *batch, const char *who, GError **error);

/**
 * acil_unlearn:
 *
 * Removes @batch from the statistics (exact downdate) and re-solves W.
 * Fails, changing nothing, when an id was never learned (the error lists
 * them), was learned with another label, or is repeated.  A class whose
 * last sample goes is dropped: its column of Q and W becomes exactly 0.
 */
gboolean acil_unlearn(AcilState *state, const AcilBatch *batch, const char *who, GError **error);

/**
 * acil_check_forget_classes:
 *
 * Checks a request to forget whole classes before anything changes: every
 * class in @classes is active, and @batch holds exactly the learned samples
 * of those classes (no other label, none missing).
 */
gboolean acil_check_forget_classes(const AcilState *state, const gint64 *classes, gsize n_classes,
                                   const AcilBatch *batch, const char *who, GError **error);

/**
 * acil_expand:
 * x_e = ReLU(x W_Bᵀ) in float64 for @n rows of @x (n × d_f floats) into
 * @xe (n × width).
 */
void acil_expand(const double *w_b, gint64 d_f, gint64 width, const float *x, gsize n, double *xe);

/**
 * acil_predict:
 * @active: (nullable): per class, whether it is in the outputs
 * @logits: (out): n × K scores; classes not active are −inf
 *
 * Runs the expansion and the head on @n rows, in chunks (bounded memory).
 */
void acil_predict(const double *w_b, const double *w, const gboolean *active, gint64 d_f,
                  gint64 width, gint64 k, const float *x, gsize n, float *logits);

/**
 * acil_ridge_from_scratch:
 * @batches: the data, in @n_batches parts
 * @only_learned: (nullable): when set, only rows whose id @only_learned
 *   has learned count (the retained set of a state)
 * @w_out: (out): width × @k, the ridge solution on that data alone
 *
 * The closed form (Σ x_eᵀx_e + γI)⁻¹ Σ x_eᵀ y computed in one pass over
 * the data: the reference the recursive state must equal.
 */
gboolean acil_ridge_from_scratch(const double *w_b, gint64 d_f, gint64 width, double gamma,
                                 gint64 k, const AcilBatch *batches, gsize n_batches,
                                 const AcilState *only_learned, double *w_out, GError **error);

/** acil_rel_error: ‖W − W_ref‖_F / ‖W_ref‖_F (0 when both are 0). */
double acil_rel_error(const double *w, const double *w_ref, gsize n);

/**
 * acil_state_to_model:
 * Returns: (transfer full) a `model` frame of kind "acil" sharing the
 * state's tensors: W_B, A, U, Q, W (f64), classes (i32, the active ones),
 * class_counts (i64), learned_ids (i64, ascending) and learned_labels (i32).
 * Metadata: model-kind, arch ("acil d_f=784 width=2048 gamma=1"),
 * gamma, version.
 */
LetheFrame *acil_state_to_model(const AcilState *state, gint64 version);

/**
 * acil_state_from_model:
 * The state a `model` frame of kind "acil" carries, sharing its tensors.
 * Errors name @who and what is missing or inconsistent.
 */
AcilState *acil_state_from_model(const LetheFrame *model, const char *who, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(AcilState, acil_state_free)

G_END_DECLS

#endif /* LETHE_ACIL_ANALYTIC_H */
