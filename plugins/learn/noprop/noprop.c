/* Lethe — noprop: NoProp-DT, training without back-propagation through
 * the network (Li, Teh & Pascanu 2025, arXiv:2503.24322).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [learn]
 *   plugin = noprop
 *   input = train              # dataset frames (learn requests)
 *   test = test                # optional: records test_acc over eval-seeds
 *   T = 10
 *   epochs = 10
 *   image-arch = flatten linear(784,256) relu
 *
 * T blocks each learn, on their own, to recover a class embedding u_y from
 * the image x and a noisy z_{t−1} ~ q(z_{t−1} | y) = N(√ᾱ_{t−1}·u_y,
 * (1 − ᾱ_{t−1})·I).  No activation or gradient passes between blocks.
 * Inference runs the denoising chain from z_0 ~ N(0, I) through the T
 * blocks and classifies z_T with a linear head.
 *
 * A block: the image path (any `sequential` arch ending in [N, H]),
 * an embedding path d → z-hidden → z-hidden with a residual around the
 * second layer, both concatenated into a fused MLP (H + z-hidden) →
 * fused-hidden → K logits.  Its prediction of u_y is
 * softmax(logits)·W_emb.  The default image path is the card's CPU setup
 * (784 → 256, ReLU); the paper's CNN path is
 * `conv2d(1,32,3,pad=1) relu maxpool(2) dropout(0.2) conv2d(32,64,3,pad=1)
 * relu dropout(0.2) conv2d(64,128,3,pad=1) relu maxpool(2) dropout(0.2)
 * flatten linear(6272,256) batchnorm(256)`, about 70× the multiply-adds.
 *
 * Schedule: the cosine schedule of Nichol & Dhariwal (s = 0.008) flipped so
 * that ᾱ_0 ≈ 0 and ᾱ_T ≈ 1, clamped to [1e-5, 1 − 1e-5].
 *
 * Loss of block t (one pass of Algorithm 1 per block per epoch):
 *   CE(head(z_T), y) with a fresh z_T ~ q(z_T | y)
 *   + ½[ᾱ_0‖u_y‖² + d(1 − ᾱ_0) − d − d·log(1 − ᾱ_0)]   (KL of q(z_0|y) to N(0, I))
 *   + (T/2)·η·(SNR(t) − SNR(t−1))·‖û_t(z_{t−1}, x) − u_y‖²
 * updating block t, the head and a learned embedding.
 *
 * Inference: z_t = a_t·û_t(z_{t−1}, x) + b_t·z_{t−1} + √c_t·ε with α =
 * ᾱ_{t−1}/ᾱ_t, a_t = √ᾱ_t(1 − α)/(1 − ᾱ_{t−1}), b_t = √α(1 − ᾱ_t)/(1 −
 * ᾱ_{t−1}), c_t = (1 − ᾱ_t)(1 − α)/(1 − ᾱ_{t−1}) — the DDPM posterior
 * re-indexed from noise to signal (not the off-by-one reading of one
 * public implementation).  The `noprop` model kind runs this chain, its
 * noise seeded by the frame's "noprop-seed", row i from stream i, so a
 * prediction does not depend on batching.
 *
 * Readings chosen where the method card marks something as inferred or
 * leaves it open:
 * - SNR cap: the SNRs entering the loss weights are min(SNR, snr-cap)
 *   (default 100); the chain's coefficients use the clamped ᾱ as is.
 * - The embedding path has no batch norm (the card's CPU setup); the
 *   residual adds the second layer's output to the first's.
 * - Learned embeddings have d = K unless embedding-dim is set, rows
 *   orthonormal at init; prototype embeddings have d = the size of one
 *   sample and start as the class-mean images scaled to unit norm (the
 *   paper's exact prototype choice was not readable).
 * - Blocks are trained in block-order (forward, reverse, random: one
 *   permutation from the seed, or a list such as 10,9,8,…); each pass has
 *   its own minibatch order and noise streams, indexed by (epoch, t), so a
 *   block's training does not depend on when it runs.
 * - parallel-blocks trains the T blocks on threads at once, then the head
 *   (and a learned embedding) on the same streams.  With one-hot
 *   embeddings this gives bit-identical blocks and head to the sequential
 *   run; with a learned embedding the blocks see the embedding as it was at
 *   the start of the epoch and the embedding learns from the CE and KL
 *   terms only.
 * - NoProp-CT and NoProp-FM are not provided: the CT schedule network is
 *   only partly specified and FM is reconstructed from memory in the card.
 *
 * Metrics: train_loss and epoch_seconds per epoch; with `test`
 * connected, test_acc_epoch per epoch (inference seed 0) and, after each
 * request, test_acc (mean over eval-seeds inference seeds), test_acc_std,
 * test_acc_min, test_acc_max.
 */
#include <math.h>
#include <string.h>

#include <lethe/nn.h>
#include <lethe/plugin.h>

#include "noprop-dt.h"
#include "stream-ops.h"

#define DEFAULT_T            "10"
#define DEFAULT_EPOCHS       "10"
#define DEFAULT_BATCH        "128"
#define DEFAULT_LR           "0.001"
#define DEFAULT_WD           "0.001"
#define DEFAULT_ETA          "0.1"
#define DEFAULT_SNR_CAP      "100"
#define DEFAULT_IMAGE_ARCH   "flatten linear(784,256) relu"
#define DEFAULT_Z_HIDDEN     "64"
#define DEFAULT_FUSED_HIDDEN "128"
#define DEFAULT_EVAL_SEEDS   "5"

typedef struct {
  NopropModel *model;
  NopropTrainer *trainer;
  guint *order;      /* the blocks of a sequential epoch, 1 … T */
  guint epochs_done; /* over all requests: selects the pass streams */
  gint64 n_requests;
} NopropState;

static void
noprop_state_free(gpointer p)
{
  NopropState *st = p;
  noprop_trainer_free(st->trainer);
  noprop_model_free(st->model);
  g_free(st->order);
  g_free(st);
}

static guint64
base_seed(LetheNode *node)
{
  return lethe_node_param_is_set(node, "seed") ? (guint64)lethe_node_get_int(node, "seed")
                                               : lethe_node_get_seed(node);
}

static guint64
inference_seed(LetheNode *node)
{
  gint64 s = lethe_node_get_int(node, "inference-seed");
  return s >= 0 ? (guint64)s : lethe_rng_derive_seed(base_seed(node), "inference");
}

/* block-order: forward, reverse, random, or every block 1 … T once. */
static guint *
parse_order(const char *text, guint T, guint64 seed, GError **error)
{
  g_autofree guint *order = g_new(guint, T);
  for (guint i = 0; i < T; i++)
    order[i] = i + 1;
  if (g_str_equal(text, "forward"))
    return g_steal_pointer(&order);
  if (g_str_equal(text, "reverse")) {
    for (guint i = 0; i < T; i++)
      order[i] = T - i;
    return g_steal_pointer(&order);
  }
  if (g_str_equal(text, "random")) {
    g_autofree gint64 *perm = g_new(gint64, T);
    LetheRng rng;
    lethe_rng_init_stream(&rng, lethe_rng_derive_seed(seed, "block-order"), 0);
    lethe_rng_permutation(&rng, perm, T);
    for (guint i = 0; i < T; i++)
      order[i] = (guint)perm[i] + 1;
    return g_steal_pointer(&order);
  }
  g_auto(GStrv) parts = g_strsplit(text, ",", -1);
  g_autofree gboolean *seen = g_new0(gboolean, T + 1);
  guint n = g_strv_length(parts);
  if (n != T)
    goto bad;
  for (guint i = 0; i < n; i++) {
    guint64 v;
    if (!g_ascii_string_to_unsigned(g_strstrip(parts[i]), 10, 1, T, &v, NULL) || seen[v])
      goto bad;
    seen[v] = TRUE;
    order[i] = (guint)v;
  }
  return g_steal_pointer(&order);

  /* ERRORS */
bad:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "parameter 'block-order' is '%s'; use forward, reverse, random, or a list of "
              "every block 1…%u once (e.g. %u,…,1)",
              text, T, T);
  return NULL;
}

static gboolean
noprop_init(LetheNode *node, GError **error)
{
  g_autoptr(GError) local = NULL;
  LetheSequential *probe =
      lethe_sequential_new(lethe_node_get_string(node, "image-arch"), 0, &local);
  if (probe == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "parameter 'image-arch': %s",
                local->message);
    return FALSE;
  }
  lethe_sequential_free(probe);
  guint T = (guint)lethe_node_get_int(node, "T");
  NopropState *st = g_new0(NopropState, 1);
  lethe_node_set_private(node, st, noprop_state_free);
  st->order = parse_order(lethe_node_get_string(node, "block-order"), T, base_seed(node), error);
  return st->order != NULL;
}

/* ---- training ------------------------------------------------------- */

typedef struct {
  NopropModel *model;
  NopropTrainer *trainer;
  LetheTensor *x;
  const gint32 *y;
  guint epoch;
  const guint *order;
  guint T;
  gint next;
  GCancellable *cancellable;
  GMutex lock;
  GError *error;
} ParallelEpoch;

static gpointer
parallel_worker(gpointer data)
{
  ParallelEpoch *job = data;
  for (;;) {
    gint i = g_atomic_int_add(&job->next, 1);
    if (i >= (gint)job->T)
      break;
    GError *err = NULL;
    if (!noprop_train_pass(job->model, job->trainer, job->order[i], job->epoch, job->x, job->y,
                           TRUE, FALSE, job->cancellable, NULL, &err)) {
      g_mutex_lock(&job->lock);
      if (job->error == NULL)
        job->error = err;
      else
        g_error_free(err);
      g_mutex_unlock(&job->lock);
      g_cancellable_cancel(job->cancellable);
      break;
    }
  }
  return NULL;
}

/* The blocks on @n_threads threads, BLAS single-threaded meanwhile. */
static gboolean
train_blocks_parallel(NopropState *st, LetheTensor *x, const gint32 *y, guint epoch,
                      guint n_threads, GCancellable *outer, GError **error)
{
  ParallelEpoch job = {st->model, st->trainer, x, y, epoch, st->order, st->model->config.T, 0};
  /* A private cancellable, so one failing block stops the others. */
  job.cancellable = g_cancellable_new();
  gulong handler = outer ? g_cancellable_connect(outer, G_CALLBACK(g_cancellable_cancel),
                                                 g_object_ref(job.cancellable), g_object_unref)
                         : 0;
  g_mutex_init(&job.lock);
  guint blas = lethe_nn_get_threads();
  lethe_nn_set_threads(1);
  n_threads = CLAMP(n_threads, 1, job.T);
  g_autofree GThread **threads = g_new(GThread *, n_threads);
  for (guint i = 0; i < n_threads; i++)
    threads[i] = g_thread_new("noprop-block", parallel_worker, &job);
  for (guint i = 0; i < n_threads; i++)
    g_thread_join(threads[i]);
  lethe_nn_set_threads(blas);
  if (outer)
    g_cancellable_disconnect(outer, handler);
  g_object_unref(job.cancellable);
  g_mutex_clear(&job.lock);
  if (job.error) {
    g_propagate_error(error, job.error);
    return FALSE;
  }
  return TRUE;
}

static gboolean
train_epoch(LetheNode *node, NopropState *st, LetheTensor *x, const gint32 *y, guint epoch,
            double *mean_loss, GError **error)
{
  guint T = st->model->config.T;
  GCancellable *cancellable = lethe_node_get_cancellable(node);
  double sum = 0, loss;
  if (lethe_node_get_bool(node, "parallel-blocks")) {
    guint n_threads = (guint)lethe_node_get_int(node, "threads");
    if (n_threads == 0)
      n_threads = MAX(lethe_node_get_threads(node), 1);
    if (!train_blocks_parallel(st, x, y, epoch, n_threads, cancellable, error))
      return FALSE;
    for (guint i = 0; i < T; i++) {
      if (!noprop_train_pass(st->model, st->trainer, st->order[i], epoch, x, y, FALSE, TRUE,
                             cancellable, &loss, error))
        return FALSE;
      sum += loss;
    }
  } else {
    for (guint i = 0; i < T; i++) {
      g_autofree char *what = g_strdup_printf("epoch %u, block %u", epoch + 1, st->order[i]);
      lethe_node_progress(node, what, -1.0);
      if (!noprop_train_pass(st->model, st->trainer, st->order[i], epoch, x, y, TRUE, TRUE,
                             cancellable, &loss, error))
        return FALSE;
      sum += loss;
    }
  }
  *mean_loss = sum / T;
  return TRUE;
}

/* ---- requests ------------------------------------------------------- */

static gboolean
create_model(LetheNode *node, NopropState *st, LetheTensor *x, LetheTensor *y,
             const LetheFrame *request, GError **error)
{
  NopropConfig c = {0};
  c.T = (guint)lethe_node_get_int(node, "T");
  c.n_classes = lethe_node_get_int(node, "classes");
  if (c.n_classes == 0)
    c.n_classes = lethe_frame_get_meta_int(request, "n-classes", 0);
  if (c.n_classes == 0)
    c.n_classes = stream_max_label(y) + 1;
  c.image_arch = (char *)lethe_node_get_string(node, "image-arch");
  c.z_hidden = lethe_node_get_int(node, "z-hidden");
  c.fused_hidden = lethe_node_get_int(node, "fused-hidden");
  noprop_embedding_from_name(lethe_node_get_string(node, "embedding"), &c.embedding);
  c.eta = lethe_node_get_double(node, "eta");
  c.snr_cap = lethe_node_get_double(node, "snr-cap");
  gint64 sample = lethe_tensor_n_elements(x) / MAX(x->shape[0], 1);
  c.dim = lethe_node_get_int(node, "embedding-dim");
  if (c.dim == 0)
    c.dim = c.embedding == NOPROP_EMBED_PROTOTYPE ? sample : c.n_classes;
  guint64 seed = base_seed(node);
  st->model =
      noprop_model_new(&c, x->rank - 1, x->shape + 1, lethe_rng_derive_seed(seed, "model"), error);
  if (st->model == NULL)
    return FALSE;
  if (c.embedding == NOPROP_EMBED_PROTOTYPE &&
      !noprop_model_set_prototypes(st->model, x, lethe_tensor_i32(y), error))
    return FALSE;
  NopropTrainConfig tc = {0};
  LetheOptimKind kind = g_str_equal(lethe_node_get_string(node, "optimizer"), "adam")
                            ? LETHE_OPTIM_ADAM
                            : LETHE_OPTIM_ADAMW;
  lethe_optim_config_init(&tc.optim, kind, lethe_node_get_double(node, "lr"));
  tc.optim.weight_decay = lethe_node_get_double(node, "weight-decay");
  tc.batch = lethe_node_get_int(node, "batch");
  tc.seed = lethe_rng_derive_seed(seed, "train");
  st->trainer = noprop_trainer_new(st->model, &tc);
  return TRUE;
}

/* test_acc over eval-seeds inference seeds: mean, sample std, min, max. */
static gboolean
evaluate(LetheNode *node, NopropState *st, const LetheFrame *test, GError **error)
{
  LetheTensor *x = lethe_frame_get_tensor(test, "x");
  g_autoptr(LetheTensor) y =
      stream_labels(test, "the test set", st->model->config.n_classes, error);
  if (y == NULL)
    return FALSE;
  if (x == NULL || x->shape[0] != y->shape[0]) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "the test set needs 'x' with one row per label");
    return FALSE;
  }
  guint n = (guint)lethe_node_get_int(node, "eval-seeds");
  guint64 seed = inference_seed(node);
  double sum = 0, sum2 = 0, lo = 1, hi = 0;
  for (guint k = 0; k < n; k++) {
    double acc;
    g_autofree char *what = g_strdup_printf("test accuracy, inference seed %u/%u", k + 1, n);
    lethe_node_progress(node, what, -1.0);
    if (!noprop_accuracy(st->model, x, lethe_tensor_i32(y), seed + k, &acc, error))
      return FALSE;
    lethe_node_metric(node, "test_acc_seed", k, acc, NULL);
    sum += acc;
    sum2 += acc * acc;
    lo = MIN(lo, acc);
    hi = MAX(hi, acc);
  }
  double mean = sum / n;
  double var = n > 1 ? MAX(sum2 - n * mean * mean, 0.0) / (n - 1) : 0.0;
  lethe_node_metric(node, "test_acc", -1, mean, NULL);
  lethe_node_metric(node, "test_acc_std", -1, sqrt(var), NULL);
  lethe_node_metric(node, "test_acc_min", -1, lo, NULL);
  lethe_node_metric(node, "test_acc_max", -1, hi, NULL);
  return TRUE;
}

static void
copy_meta(LetheFrame *model, const LetheFrame *request, const char *key)
{
  g_autoptr(GVariant) v = lethe_frame_get_meta(request, key);
  if (v)
    lethe_frame_set_meta(model, key, g_variant_ref(v));
}

static gboolean
noprop_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  NopropState *st = lethe_node_get_private(node);
  LetheFrame *request = inputs[0];
  const LetheFrame *test = inputs[1];
  const char *event = lethe_frame_get_meta_string(request, "event", "learn");
  if (!g_str_equal(event, "learn")) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "request %" G_GINT64_FORMAT " has event '%s'; noprop only learns (connect a "
                "dataset source or a stream of learn frames)",
                st->n_requests + 1, event);
    return FALSE;
  }
  LetheTensor *x0 = lethe_frame_get_tensor(request, "x");
  if (x0 == NULL || x0->rank < 2) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "the learn request has no 'x' with one row per sample; connect a dataset");
    return FALSE;
  }
  g_autoptr(LetheTensor) x = x0->dtype == LETHE_DTYPE_F32
                                 ? lethe_tensor_contiguous(x0)
                                 : lethe_tensor_to_dtype(x0, LETHE_DTYPE_F32);
  g_autoptr(LetheTensor) y = stream_labels(request, "the learn request",
                                           st->model ? st->model->config.n_classes : 0, error);
  if (y == NULL)
    return FALSE;
  if (y->shape[0] != x->shape[0])
    goto rows;
  if (st->model == NULL && !create_model(node, st, x, y, request, error))
    return FALSE;
  if (st->model->config.n_classes <= stream_max_label(y))
    goto label_range;

  guint epochs = (guint)lethe_node_get_int(node, "epochs");
  gint64 t0 = g_get_monotonic_time();
  for (guint e = 0; e < epochs; e++) {
    gint64 e0 = g_get_monotonic_time();
    double loss;
    if (!train_epoch(node, st, x, lethe_tensor_i32(y), st->epochs_done, &loss, error)) {
      g_prefix_error(error, "epoch %u: ", e + 1);
      return FALSE;
    }
    st->epochs_done++;
    lethe_node_metric(node, "train_loss", e + 1, loss, NULL);
    lethe_node_metric(node, "epoch_seconds", e + 1, (g_get_monotonic_time() - e0) / 1e6, NULL);
    if (test && lethe_node_get_bool(node, "eval-every-epoch")) {
      LetheTensor *tx = lethe_frame_get_tensor(test, "x");
      g_autoptr(LetheTensor) ty =
          stream_labels(test, "the test set", st->model->config.n_classes, error);
      double acc;
      if (ty == NULL || tx == NULL ||
          !noprop_accuracy(st->model, tx, lethe_tensor_i32(ty), inference_seed(node), &acc, error))
        return FALSE;
      lethe_node_metric(node, "test_acc_epoch", e + 1, acc, NULL);
    }
    lethe_node_progress(node, "training", (double)(e + 1) / epochs);
  }
  double seconds = (g_get_monotonic_time() - t0) / 1e6;
  st->n_requests++;

  LetheFrame *model = noprop_model_to_frame(st->model, st->n_requests, inference_seed(node));
  lethe_frame_set_meta_string(model, "event", "learn");
  copy_meta(model, request, "task");
  copy_meta(model, request, "classes");
  copy_meta(model, request, "n-tasks");
  copy_meta(model, request, "n-classes");
  copy_meta(model, request, "scenario");
  lethe_frame_set_meta_double(model, "train-seconds", seconds);
  if (!lethe_node_push_named(node, "model", model))
    return TRUE;
  if (test && !evaluate(node, st, test, error))
    return FALSE;
  return TRUE;

  /* ERRORS */
rows:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
              "the learn request has %" G_GINT64_FORMAT " rows of 'x' but %" G_GINT64_FORMAT
              " labels",
              x->shape[0], y->shape[0]);
  return FALSE;
label_range:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "the learn request has label %d but the model has %" G_GINT64_FORMAT
              " classes; set 'classes' to the number of classes of the whole stream",
              stream_max_label(y), st->model->config.n_classes);
  return FALSE;
}

static const LethePortSpec noprop_inputs[] = {
    {"input", "dataset", LETHE_PORT_NONE, "learn requests: dataset frames (x, y)"},
    {"test", "dataset", LETHE_PORT_STICKY | LETHE_PORT_OPTIONAL,
     "held-out data: records test_acc over eval-seeds inference seeds"},
    {NULL},
};

static const LethePortSpec noprop_outputs[] = {
    {"model", "model", LETHE_PORT_NONE, "the model after each request (kind noprop)"},
    {NULL},
};

static const char *const embedding_choices[] = {"one-hot", "learned", "prototype", NULL};
static const char *const optimizer_choices[] = {"adamw", "adam", NULL};
static const char *const variant_choices[] = {"dt", NULL};

static const LetheParamSpec noprop_params[] = {
    {"variant", LETHE_PARAM_ENUM, "dt", 0, 0, variant_choices,
     "NoProp variant (discrete time; CT and FM are not provided)"},
    {"T", LETHE_PARAM_INT, DEFAULT_T, 1, 1000, NULL, "number of blocks = denoising steps"},
    {"epochs", LETHE_PARAM_INT, DEFAULT_EPOCHS, 0, 100000, NULL,
     "epochs per request; each epoch trains every block once"},
    {"batch", LETHE_PARAM_INT, DEFAULT_BATCH, 1, 1 << 20, NULL, "minibatch size"},
    {"optimizer", LETHE_PARAM_ENUM, "adamw", 0, 0, optimizer_choices, "optimizer"},
    {"lr", LETHE_PARAM_DOUBLE, DEFAULT_LR, 0, 10, NULL, "learning rate"},
    {"weight-decay", LETHE_PARAM_DOUBLE, DEFAULT_WD, 0, 10, NULL, "weight decay"},
    {"eta", LETHE_PARAM_DOUBLE, DEFAULT_ETA, 0, 1e6, NULL, "η, weight of the denoising term"},
    {"snr-cap", LETHE_PARAM_DOUBLE, DEFAULT_SNR_CAP, 1e-6, 1e12, NULL,
     "cap on the SNR in the loss weights"},
    {"embedding", LETHE_PARAM_ENUM, "one-hot", 0, 0, embedding_choices,
     "class embeddings: one-hot (fixed), learned (orthonormal init), prototype (class means)"},
    {"embedding-dim", LETHE_PARAM_INT, "0", 0, 1 << 20, NULL,
     "d (0: K for one-hot and learned, the sample size for prototype)"},
    {"classes", LETHE_PARAM_INT, "0", 0, 1 << 20, NULL,
     "number of classes K (0: the request's n-classes, else the largest label + 1)"},
    {"image-arch", LETHE_PARAM_STRING, DEFAULT_IMAGE_ARCH, 0, 0, NULL,
     "each block's image path, a sequential arch ending in [N, H]"},
    {"z-hidden", LETHE_PARAM_INT, DEFAULT_Z_HIDDEN, 1, 1 << 16, NULL,
     "width of the embedding path"},
    {"fused-hidden", LETHE_PARAM_INT, DEFAULT_FUSED_HIDDEN, 1, 1 << 16, NULL,
     "width of the fused MLP"},
    {"block-order", LETHE_PARAM_STRING, "forward", 0, 0, NULL,
     "order of the blocks in an epoch: forward, reverse, random, or a list 1…T"},
    {"parallel-blocks", LETHE_PARAM_BOOL, "false", 0, 0, NULL,
     "train the blocks of an epoch on separate threads at once"},
    {"threads", LETHE_PARAM_INT, "0", 0, 1024, NULL,
     "threads for parallel-blocks (0: the node's thread budget)"},
    {"seed", LETHE_PARAM_INT, "-1", -1, 4.6e18, NULL,
     "seed of initialisation, minibatch order and noise (-1: the node's seed)"},
    {"inference-seed", LETHE_PARAM_INT, "-1", -1, 4.6e18, NULL,
     "seed of the inference noise carried by the model frame (-1: derived from seed)"},
    {"eval-seeds", LETHE_PARAM_INT, DEFAULT_EVAL_SEEDS, 1, 1000, NULL,
     "inference seeds test_acc is averaged over"},
    {"eval-every-epoch", LETHE_PARAM_BOOL, "true", 0, 0, NULL,
     "with test connected, record test_acc_epoch after every epoch"},
    {NULL},
};

static const LetheNodeVTable noprop_vtable = {.init = noprop_init, .process = noprop_process};

const LetheNodeType noprop_node_type = {
    .name = "noprop",
    .kind = LETHE_NODE_LEARNER,
    .description = "NoProp-DT: T blocks each trained alone to denoise a class embedding",
    .inputs = noprop_inputs,
    .outputs = noprop_outputs,
    .params = noprop_params,
    .vtable = &noprop_vtable,
    .doc = "Trains T blocks, each on its own, to predict the clean class embedding from the "
           "image and a noisy embedding (no back-propagation between blocks), and infers by "
           "the denoising chain.  Emits a model of kind 'noprop' after each learn request; "
           "metrics train_loss, epoch_seconds and, with 'test', test_acc_epoch, test_acc "
           "(mean over eval-seeds inference seeds), test_acc_std, test_acc_min, test_acc_max.",
};

static const LetheNodeType *const node_types[] = {&noprop_node_type, NULL};
static const LetheModelKind *const model_kinds[] = {&noprop_model_kind, NULL};

static const LethePluginInfo plugin_info = {
    .abi_major = LETHE_ABI_MAJOR,
    .abi_minor = LETHE_ABI_MINOR,
    .name = "noprop",
    .version = "0.1.0",
    .license = "LGPL-2.1-or-later",
    .description = "NoProp-DT: learning by block-local denoising of class embeddings",
    .node_types = node_types,
    .model_kinds = model_kinds,
};

LETHE_PLUGIN_DEFINE(plugin_info)
