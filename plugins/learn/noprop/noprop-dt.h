/* Lethe — NoProp-DT: blocks that each learn to denoise a class embedding.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The arithmetic of the noprop plugin, free of node code so the tests
 * compile it in: the flipped cosine schedule, the inference coefficients,
 * the denoising chain, one block's forward pass, a training pass over one
 * block and the conversion to and from `model` frames of kind "noprop".
 */
#ifndef LETHE_NOPROP_DT_H
#define LETHE_NOPROP_DT_H

#include <lethe/nn.h>

G_BEGIN_DECLS

/* Where ᾱ is clamped: ᾱ_0 ≈ 0 and ᾱ_T ≈ 1 without dividing by zero. */
#define NOPROP_ALPHA_MIN 1e-5
#define NOPROP_ALPHA_MAX (1.0 - 1e-5)

typedef enum {
  NOPROP_EMBED_ONE_HOT,   /* d = K, fixed */
  NOPROP_EMBED_LEARNED,   /* learned, orthonormal rows at init */
  NOPROP_EMBED_PROTOTYPE, /* learned, rows start as the class means of the images */
} NopropEmbedding;

const char *noprop_embedding_name(NopropEmbedding e);
gboolean noprop_embedding_from_name(const char *name, NopropEmbedding *e);

typedef struct {
  guint T;             /* blocks = steps of the chain */
  gint64 n_classes;    /* K */
  gint64 dim;          /* d, the embedding dimension */
  char *image_arch;    /* the image path, a `sequential` arch ending in [N, H] */
  gint64 z_hidden;     /* width of the embedding path */
  gint64 fused_hidden; /* width of the fused MLP */
  NopropEmbedding embedding;
  double eta;     /* η, weight of the denoising term */
  double snr_cap; /* SNR used by the loss weights is min(SNR, cap) */
} NopropConfig;

/* ---- schedule and chain --------------------------------------------- */

/**
 * noprop_cosine_schedule:
 * @alpha_bar: (out): T+1 values ᾱ_0 … ᾱ_T
 *
 * The cosine schedule of Nichol & Dhariwal (s = 0.008) read backwards, so
 * that ᾱ rises from ≈ 0 (pure noise, t = 0) to ≈ 1 (clean, t = T), clamped
 * to [NOPROP_ALPHA_MIN, NOPROP_ALPHA_MAX].
 */
void noprop_cosine_schedule(guint T, double *alpha_bar);
/** noprop_snr: min(ᾱ_t / (1 − ᾱ_t), @cap). */
double noprop_snr(const double *alpha_bar, guint t, double cap);
/**
 * noprop_chain_coefficients:
 * For step t ≥ 1, with α := ᾱ_{t−1}/ᾱ_t: a = √ᾱ_t (1 − α)/(1 − ᾱ_{t−1}),
 * b = √α (1 − ᾱ_t)/(1 − ᾱ_{t−1}), c = (1 − ᾱ_t)(1 − α)/(1 − ᾱ_{t−1}).
 */
void noprop_chain_coefficients(const double *alpha_bar, guint t, double *a, double *b, double *c);

/**
 * NopropPredictFn:
 * @t: the step, 1 … T
 * @z: n × d values of z_{t−1}
 * @uhat: (out): n × d predictions of the clean embedding
 *
 * What the chain asks of block t (a trained block, or an oracle in tests).
 */
typedef gboolean (*NopropPredictFn)(guint t, const float *z, gint64 n, float *uhat,
                                    gpointer user_data, GError **error);

/**
 * noprop_chain_run:
 * @row0: the index of the first row: row i draws its noise from stream
 *   (@seed, @row0 + i), so the result does not depend on batching
 * @z: (out): n × d, z_T
 *
 * z_0 ~ N(0, I), then z_t = a_t·û_t(z_{t−1}) + b_t·z_{t−1} + √c_t·ε_t.
 */
gboolean noprop_chain_run(const double *alpha_bar, guint T, gint64 d, gint64 n, guint64 seed,
                          gint64 row0, NopropPredictFn predict, gpointer user_data, float *z,
                          GError **error);

/* ---- the model ------------------------------------------------------ */

/* The parameters of one block besides its image path, in this order. */
enum {
  NOPROP_Z0_W,
  NOPROP_Z0_B,
  NOPROP_Z1_W,
  NOPROP_Z1_B,
  NOPROP_F0_W,
  NOPROP_F0_B,
  NOPROP_F1_W,
  NOPROP_F1_B,
  NOPROP_N_OWN
};
/* The shared parameters, in this order. */
enum { NOPROP_EMBED, NOPROP_HEAD_W, NOPROP_HEAD_B, NOPROP_N_SHARED };

typedef struct {
  LetheSequential *image; /* image path */
  LetheParams *own;       /* embedding path and fused MLP */
} NopropBlock;

typedef struct {
  NopropConfig config;
  gint64 image_dim;  /* H, the width of the image path's output */
  double *alpha_bar; /* T+1 */
  NopropBlock *blocks;
  LetheParams *shared; /* embedding [K, d], head.weight [K, d], head.bias [K] */
} NopropModel;

/**
 * noprop_model_new:
 * @sample_shape: the shape of one input sample (x without its first axis)
 *
 * Block t's parameters come from stream t of @seed, so a block does not
 * depend on T or on the other blocks.  The embedding is one-hot, or
 * orthonormal rows (Q of a Gaussian matrix); prototype embeddings start
 * orthonormal too until noprop_model_set_prototypes().
 */
NopropModel *noprop_model_new(const NopropConfig *config, guint sample_rank,
                              const gint64 *sample_shape, guint64 seed, GError **error);
/**
 * noprop_model_set_prototypes:
 * Sets embedding row k to the mean image of class k in (@x, @y), scaled to
 * unit norm; needs d = the number of values of one sample.
 */
gboolean noprop_model_set_prototypes(NopropModel *model, LetheTensor *x, const gint32 *y,
                                     GError **error);
void noprop_model_free(NopropModel *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NopropModel, noprop_model_free)

/**
 * noprop_block_logits:
 * @t: 1 … T
 * @x: [B, …] images   @z: [B, d] noisy embeddings
 *
 * Block t's K logits.  Its prediction of the clean embedding is
 * softmax(logits)·W_emb (noprop_block_predict()).
 */
LetheVar *noprop_block_logits(NopropModel *model, guint t, LetheTape *tape, LetheVar *x,
                              LetheVar *z, gboolean training);
LetheVar *noprop_block_predict(NopropModel *model, guint t, LetheTape *tape, LetheVar *x,
                               LetheVar *z, LetheVar *embedding, gboolean training);

/**
 * noprop_model_predict:
 * @x: f32 [N, …]
 * @seed: the inference noise (row i uses stream (@seed, i))
 *
 * Runs the denoising chain and the head.  Returns: (transfer full) f32
 * [N, K] logits, or %NULL with @error set.
 */
LetheTensor *noprop_model_predict(NopropModel *model, LetheTensor *x, guint64 seed, gint64 batch,
                                  GError **error);
/** noprop_accuracy: the fraction of @x predicted as @y. */
gboolean noprop_accuracy(NopropModel *model, LetheTensor *x, const gint32 *y, guint64 seed,
                         double *accuracy, GError **error);

/* ---- training ------------------------------------------------------- */

typedef struct {
  LetheOptimConfig optim;
  gint64 batch;
  guint64 seed; /* minibatch order and noise: stream (epoch, t) of it */
} NopropTrainConfig;

/* The optimizers: one pair per block, one for the shared parameters. */
typedef struct _NopropTrainer NopropTrainer;

NopropTrainer *noprop_trainer_new(NopropModel *model, const NopropTrainConfig *config);
void noprop_trainer_free(NopropTrainer *trainer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NopropTrainer, noprop_trainer_free)

/**
 * noprop_train_pass:
 * @t: the block, 1 … T
 * @epoch: with @t, selects the minibatch order and the noise
 * @train_block: update block t with the denoising term
 * @train_shared: update the head (and a learned embedding) with the
 *   cross-entropy on z_T ~ q(z_T | y) and the KL term
 * @mean_loss: (out) (optional): mean of the terms computed
 *
 * One pass over (@x, @y).  With both flags it is one step of Algorithm 1
 * per minibatch; the two halves draw from separate streams, so running
 * them apart (parallel blocks) gives the blocks the same bits.  Touches no
 * parameter of any other block.
 */
gboolean noprop_train_pass(NopropModel *model, NopropTrainer *trainer, guint t, guint epoch,
                           LetheTensor *x, const gint32 *y, gboolean train_block,
                           gboolean train_shared, GCancellable *cancellable, double *mean_loss,
                           GError **error);

/* ---- model frames --------------------------------------------------- */

/**
 * noprop_model_to_frame:
 * A snapshot (copies) as a `model` frame of kind "noprop", inference noise
 * seed @infer_seed.  Returns: (transfer full)
 */
LetheFrame *noprop_model_to_frame(NopropModel *model, gint64 version, guint64 infer_seed);
/**
 * noprop_model_new_from_frame:
 * Uses the frame's tensors in place.  Fails with %LETHE_ERROR_INVALID when
 * the frame's "noprop-T" differs from the number of blocks it holds.
 */
NopropModel *noprop_model_new_from_frame(const LetheFrame *frame, GError **error);

/** noprop_model_kind: the "noprop" #LetheModelKind. */
extern const LetheModelKind noprop_model_kind;
/** noprop_node_type: the "noprop" learner (noprop.c). */
extern const LetheNodeType noprop_node_type;

G_END_DECLS

#endif /* LETHE_NOPROP_DT_H */
