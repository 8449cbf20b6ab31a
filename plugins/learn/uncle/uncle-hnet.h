/* Lethe — UnCLe's chunked hypernetwork, its learning and data-free
 * unlearning phases, and the `uncle-hypernet` model frame.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Plain functions on an UncleHnet, apart from the node glue, so the suites
 * test them without a pipeline.  See uncle.c for the method's summary and
 * docs/uncle.md for the decisions.
 */
#ifndef LETHE_UNCLE_HNET_H
#define LETHE_UNCLE_HNET_H

#include <lethe/frame.h>
#include <lethe/nn.h>

G_BEGIN_DECLS

#define UNCLE_MAX_LAYERS 8

/**
 * UncleArch:
 * @target: sizes of the target MLP, input first ("784,100,100,2")
 * @n_target: number of sizes (layers + 1)
 * @emb: dimension of the task and chunk embeddings
 * @chunk: values one chunk generates (the head's width)
 * @n_chunks: number of chunk embeddings
 * @hidden: widths of the hypernetwork's hidden layers (its input is 2·@emb)
 * @n_hidden: number of hidden layers
 * @n_tasks: T_max, the number of task embeddings
 * @n_params: parameters of the target MLP (weights and biases)
 *
 * The text form, the model frame's "arch":
 * `target=784,100,100,2 emb=16 chunk=1000 chunks=89 hidden=64,128 tasks=5`.
 */
typedef struct {
  gint64 target[UNCLE_MAX_LAYERS + 1];
  guint n_target;
  gint64 emb;
  gint64 chunk;
  gint64 n_chunks;
  gint64 hidden[UNCLE_MAX_LAYERS];
  guint n_hidden;
  gint64 n_tasks;
  gint64 n_params;
} UncleArch;

/** uncle_arch_params: parameters of an MLP with these sizes. */
gint64 uncle_arch_target_params(const gint64 *sizes, guint n_sizes);
/**
 * uncle_arch_parse:
 * Reads the text form; fails naming the key and the fix when a value is
 * missing or out of range, or when the chunks do not cover the target
 * (the chunk layout must be ⌈P / chunk⌉ chunks).
 */
gboolean uncle_arch_parse(const char *text, UncleArch *arch, GError **error);
/** uncle_arch_to_string: (transfer full) the text form. */
char *uncle_arch_to_string(const UncleArch *arch);

/**
 * UncleHnet:
 * @params: φ (hypernetwork layers then the head), the chunk embeddings and
 *   one [1, emb] tensor per task embedding, in that order
 * @active: per task, 1 while learned and not unlearned (the set A)
 * @learned: per task, how many times it was learned
 * @task_classes: per task, the dataset classes of its outputs
 *   (@arch.target's last size of them; -1 unknown)
 * @chunks_frozen: the chunk embeddings train during the first task only
 * @n_unlearned: unlearning requests answered (E_u decays with it)
 */
typedef struct {
  UncleArch arch;
  LetheParams *params;
  guint n_phi;
  guint chunk_param;
  guint task_param0;
  gint32 *active;
  gint32 *learned;
  gint32 *task_classes;
  gboolean chunks_frozen;
  gint64 n_unlearned;
  gint64 version;
} UncleHnet;

/**
 * uncle_hnet_new:
 * A fresh hypernetwork: embeddings N(0, I), hidden layers PyTorch's
 * default, the head scaled so that the generated parameters have the
 * target's fan-in variance (hyperfan-in, see docs/uncle.md).
 */
UncleHnet *uncle_hnet_new(const UncleArch *arch, guint64 seed);
void uncle_hnet_free(UncleHnet *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(UncleHnet, uncle_hnet_free)

/**
 * uncle_hnet_generate:
 * @tasks: @n_tasks task ids
 * Records on @tape the generation of the target parameters of each task in
 * one batched pass: returns a [@n_tasks, P] variable (%NULL on a tape error).
 */
LetheVar *uncle_hnet_generate(UncleHnet *h, LetheTape *tape, const gint64 *tasks, guint n_tasks);
/** uncle_hnet_generate_values: (transfer full) the [P] f32 parameters of @task, no gradient. */
LetheTensor *uncle_hnet_generate_values(UncleHnet *h, gint64 task);
/**
 * uncle_target_forward:
 * @theta: [P] generated parameters (a row of uncle_hnet_generate())
 * @x: [N, in]
 * Records the target MLP (ReLU between layers) on @tape; returns [N, out].
 */
LetheVar *uncle_target_forward(const UncleArch *arch, LetheTape *tape, LetheVar *theta,
                               LetheVar *x);

/**
 * UncleConfig:
 * Hyper-parameters of both phases; uncle_config_init() fills the card's
 * Fashion-MNIST defaults.
 */
typedef struct {
  guint epochs;
  gint64 batch;
  double lr;
  guint lr_step;
  double lr_gamma;
  double beta;
  double clip;
  guint unlearn_steps;
  double unlearn_decay;
  double gamma;
  guint noise_samples;
  double unlearn_lr;
} UncleConfig;

void uncle_config_init(UncleConfig *config);

/** UncleProgress: called after each step with (done, total, loss). */
typedef void (*UncleProgress)(guint64 done, guint64 total, double loss, gpointer user_data);

/**
 * uncle_learn:
 * @x: [N, in] f32   @labels: N labels, each one of @classes
 * @classes: the task's dataset classes, in output order (at most the
 *   target's output size)
 * @stream: keys the minibatch order
 *
 * Minimises CE + β/T_max·Σ_{t'∈A, t'≠t}‖H(e_t') − H*(e_t')‖² over φ and e_t
 * (and the chunk embeddings on the first task), then adds @task to A.
 */
gboolean uncle_learn(UncleHnet *h, const UncleConfig *config, gint64 task, LetheTensor *x,
                     const gint32 *labels, const gint32 *classes, guint n_classes, guint64 seed,
                     GCancellable *cancellable, UncleProgress progress, gpointer user_data,
                     double *last_loss, GError **error);
/**
 * uncle_unlearn:
 * Data-free: minimises 1/|A∖u|·Σ‖H(e_t') − H*(e_t')‖² + γ/S·Σ_s‖H(e_u) − ε_s‖²
 * over φ only, for E_u = steps·decay^(requests so far) steps, then removes
 * @task from A.  Fails when @task is not active.
 */
gboolean uncle_unlearn(UncleHnet *h, const UncleConfig *config, gint64 task, guint64 seed,
                       GCancellable *cancellable, UncleProgress progress, gpointer user_data,
                       double *last_loss, GError **error);

/** uncle_hnet_to_frame: (transfer full) an `uncle-hypernet` model frame (copies). */
LetheFrame *uncle_hnet_to_frame(const UncleHnet *h);
/**
 * uncle_hnet_from_frame:
 * Reads a model frame back (copies), checking every tensor against the
 * arch, the chunk layout first.  Returns: (transfer full) (nullable)
 */
UncleHnet *uncle_hnet_from_frame(const LetheFrame *frame, GError **error);

/**
 * uncle_hnet_forward_all:
 * @x: [N, in]
 * @eval_task: -1, or the one task to run
 * With @eval_task = -1: [N, K] logits where each task whose classes are
 * known writes its generated network's outputs into the columns of its
 * classes (K = the largest class + 1, at least @n_classes); 0 elsewhere.
 * Otherwise [N, out]: that task's network's raw outputs.
 */
LetheTensor *uncle_hnet_forward_all(UncleHnet *h, LetheTensor *x, gint64 eval_task,
                                    gint64 n_classes, GError **error);

G_END_DECLS

#endif /* LETHE_UNCLE_HNET_H */
