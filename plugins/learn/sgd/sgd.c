/* Lethe — sgd-train: the plain-training baseline of continual learning
 * and the retrained oracle of unlearning.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [learn]
 *   plugin = sgd-train
 *   input = tasks
 *   arch = flatten linear(784,256) relu linear(256,256) relu linear(256,10)
 *   mode = finetune            # or joint, retrain
 *   epochs = 5
 *   optimizer = sgd
 *   lr = 0.01
 *   momentum = 0.9
 *
 * Trains a `sequential` model on each request of its input stream and
 * pushes a `model` frame after it, carrying the request's task, classes and
 * event (docs/streams.md) and its training time in "train-seconds".
 *
 * - learn, mode=finetune: go on training the same model on the new data
 *   only (the lower bound of continual learning);
 * - learn, mode=joint: train a fresh model on all data seen so far (the
 *   upper bound);
 * - learn, mode=retrain: train a fresh model on this frame alone;
 * - retain (a forget request's retain set): a fresh model on it;
 * - forget: a fresh model on everything seen but the forget set's sample
 *   ids: the retrained oracle of unlearning.
 *
 * With seeds = N it trains N models per request (their initialisation and
 * minibatch order from N streams of the seed) and pushes N frames, with
 * metadata "member" and "n-members", for metrics that need an ensemble.
 * See docs/baselines.md.
 *
 * Resuming (lethe run --resume): a model frame holds all the state that
 * carries from one request to the next (the optimizer starts afresh on
 * each request, and the minibatch order comes from the request's own
 * stream), so a request whose model was checkpointed is answered by
 * taking that model back instead of training it.
 */
#include <math.h>
#include <string.h>

#include <lethe/nn.h>
#include <lethe/plugin.h>

#include "stream-ops.h"

#define DEFAULT_ARCH "flatten linear(784,256) relu linear(256,256) relu linear(256,10)"

typedef struct {
  GPtrArray *seen;    /* the training data so far (learn frames, or a retain set) */
  GPtrArray *members; /* LetheSequential*, one per seed, carried across requests */
  guint64 n_requests;
} SgdState;

static void
sgd_state_free(gpointer p)
{
  SgdState *st = p;
  g_ptr_array_unref(st->seen);
  g_ptr_array_unref(st->members);
  g_free(st);
}

static gboolean
sgd_init(LetheNode *node, GError **error)
{
  /* Parse the arch once, so a typo fails before any data is read. */
  g_autoptr(GError) local = NULL;
  LetheSequential *probe = lethe_sequential_new(lethe_node_get_string(node, "arch"), 0, &local);
  if (probe == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "%s: parameter 'arch': %s",
                lethe_node_get_name(node), local->message);
    return FALSE;
  }
  lethe_sequential_free(probe);
  SgdState *st = g_new0(SgdState, 1);
  st->seen = g_ptr_array_new_with_free_func((GDestroyNotify)lethe_frame_unref);
  st->members = g_ptr_array_new_with_free_func((GDestroyNotify)lethe_sequential_free);
  lethe_node_set_private(node, st, sgd_state_free);
  return TRUE;
}

static guint64
base_seed(LetheNode *node)
{
  return lethe_node_param_is_set(node, "seed") ? (guint64)lethe_node_get_int(node, "seed")
                                               : lethe_node_get_seed(node);
}

/* ---- What to train on ------------------------------------------------ */

/* Everything seen so far but the samples whose ids @forget names. */
static LetheFrame *
retain_of(LetheNode *node, const LetheFrame *forget, GError **error)
{
  SgdState *st = lethe_node_get_private(node);
  const char *name = lethe_node_get_name(node);
  if (st->seen->len == 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: a forget request arrived before any data to forget it from; connect the "
                "learner to the forget-request's 'output' (learn frames, then the request)",
                name);
    return NULL;
  }
  g_autoptr(LetheFrame) all = stream_concat(st->seen, error);
  if (all == NULL)
    return NULL;
  g_autoptr(LetheTensor) seen_ids = stream_index_ids(all);
  g_autoptr(LetheTensor) forget_ids = stream_index_ids(forget);
  gint64 n = seen_ids->shape[0];
  const gint64 *sv = lethe_tensor_i64(seen_ids), *fv = lethe_tensor_i64(forget_ids);
  g_autoptr(GHashTable) gone = g_hash_table_new(g_int64_hash, g_int64_equal);
  for (gint64 i = 0; i < forget_ids->shape[0]; i++)
    g_hash_table_add(gone, (gpointer)&fv[i]);
  g_autoptr(GArray) keep = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (gint64 i = 0; i < n; i++)
    if (!g_hash_table_contains(gone, &sv[i]))
      g_array_append_val(keep, i);
  gint64 removed = n - (gint64)keep->len;
  if (removed != forget_ids->shape[0]) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: the forget request names %" G_GINT64_FORMAT
                " samples but only %" G_GINT64_FORMAT
                " of them were learned; connect the learner to the stream the request was cut "
                "from",
                name, forget_ids->shape[0], removed);
    return NULL;
  }
  return stream_take_rows(all, (gint64 *)keep->data, keep->len);
}

/* The data of this request, and whether to start from fresh models. */
static LetheFrame *
training_data(LetheNode *node, LetheFrame *request, const char *event, gboolean *fresh,
              GError **error)
{
  SgdState *st = lethe_node_get_private(node);
  const char *mode = lethe_node_get_string(node, "mode");
  if (g_str_equal(event, "learn")) {
    g_ptr_array_add(st->seen, lethe_frame_ref(request));
    *fresh = !g_str_equal(mode, "finetune");
    if (g_str_equal(mode, "joint"))
      return stream_concat(st->seen, error);
    return lethe_frame_ref(request);
  }
  if (g_str_equal(event, "retain") || g_str_equal(event, "forget")) {
    LetheFrame *data =
        g_str_equal(event, "retain") ? lethe_frame_ref(request) : retain_of(node, request, error);
    if (data == NULL)
      return NULL;
    /* What follows builds on the retain set: the forgotten samples are gone. */
    g_ptr_array_set_size(st->seen, 0);
    g_ptr_array_add(st->seen, lethe_frame_ref(data));
    *fresh = TRUE;
    return data;
  }
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "%s: request %" G_GUINT64_FORMAT " has event '%s'; sgd-train answers learn, "
              "retain and forget requests",
              lethe_node_get_name(node), st->n_requests, event);
  return NULL;
}

/* Checks that @data fits @seq: x runs through it, labels below its outputs. */
static gboolean
check_data(LetheNode *node, LetheSequential *seq, const LetheFrame *data, gint64 task,
           LetheTensor **labels, GError **error)
{
  const char *name = lethe_node_get_name(node);
  gint64 n;
  if (!stream_dataset_rows(data, name, &n, error))
    return FALSE;
  if (n == 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: task %" G_GINT64_FORMAT " has no samples to train on; check the split "
                "upstream (its classes or its subset)",
                name, task);
    return FALSE;
  }
  LetheTensor *x = lethe_frame_get_tensor(data, "x");
  g_autoptr(LetheTensor) first = lethe_tensor_slice(x, 0, 1);
  g_autoptr(GError) local = NULL;
  g_autoptr(LetheTensor) out = lethe_sequential_predict(seq, first, 1, &local);
  if (out == NULL || out->rank != 2) {
    g_autofree char *shape = lethe_tensor_shape_string(x);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s: the samples of task %" G_GINT64_FORMAT " (x %s) do not fit the model "
                "'%s': %s; make the first layer take the data's shape",
                name, task, shape, lethe_sequential_get_arch(seq),
                local ? local->message : "its output is not [N, classes]");
    return FALSE;
  }
  gint64 k = out->shape[1];
  g_autoptr(LetheTensor) y = stream_labels(data, name, 0, error);
  if (y == NULL)
    return FALSE;
  gint32 top = stream_max_label(y);
  if (top >= k) {
    const gint32 *v = lethe_tensor_i32(y);
    gint64 at = 0;
    while (v[at] != top)
      at++;
    g_autoptr(LetheTensor) ids = stream_index_ids(data);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: label %d of sample %" G_GINT64_FORMAT " (id %" G_GINT64_FORMAT
                ") of task %" G_GINT64_FORMAT " is out of range for a model with %" G_GINT64_FORMAT
                " outputs; give the last layer of 'arch' as many outputs as there are classes",
                name, top, at, lethe_tensor_i64(ids)[at], task, k);
    return FALSE;
  }
  *labels = g_steal_pointer(&y);
  return TRUE;
}

/* ---- Training -------------------------------------------------------- */

typedef struct {
  LetheNode *node;
  guint member, n_members;
  guint epoch, epochs;
  gint64 task;
} Progress;

static void
on_step(guint64 step, guint64 n_steps, double loss, gpointer user_data)
{
  Progress *p = user_data;
  double done = ((double)p->member * p->epochs + p->epoch + (double)(step + 1) / n_steps) /
                ((double)p->n_members * p->epochs);
  char what[96];
  if (p->n_members > 1)
    g_snprintf(what, sizeof what, "task %" G_GINT64_FORMAT " model %u/%u epoch %u/%u loss %.4f",
               p->task, p->member + 1, p->n_members, p->epoch + 1, p->epochs, loss);
  else
    g_snprintf(what, sizeof what, "task %" G_GINT64_FORMAT " epoch %u/%u loss %.4f", p->task,
               p->epoch + 1, p->epochs, loss);
  lethe_node_progress(p->node, what, done);
}

static void
optim_config(LetheNode *node, LetheOptimConfig *config)
{
  const char *kind = lethe_node_get_string(node, "optimizer");
  LetheOptimKind k = g_str_equal(kind, "adam")    ? LETHE_OPTIM_ADAM
                     : g_str_equal(kind, "adamw") ? LETHE_OPTIM_ADAMW
                                                  : LETHE_OPTIM_SGD;
  lethe_optim_config_init(config, k, lethe_node_get_double(node, "lr"));
  config->momentum = lethe_node_get_double(node, "momentum");
  config->nesterov = lethe_node_get_bool(node, "nesterov");
  if (lethe_node_param_is_set(node, "weight-decay") || k != LETHE_OPTIM_ADAMW)
    config->weight_decay = lethe_node_get_double(node, "weight-decay");
}

static void
lr_schedule(LetheNode *node, LetheLrSchedule *s)
{
  const char *kind = lethe_node_get_string(node, "lr-schedule");
  *s = (LetheLrSchedule){
      .kind = g_str_equal(kind, "step")          ? LETHE_LR_STEP
              : g_str_equal(kind, "cosine")      ? LETHE_LR_COSINE
              : g_str_equal(kind, "exponential") ? LETHE_LR_EXPONENTIAL
                                                 : LETHE_LR_CONSTANT,
      .base_lr = lethe_node_get_double(node, "lr"),
      .step_size = (guint)lethe_node_get_int(node, "lr-step-size"),
      .gamma = lethe_node_get_double(node, "lr-gamma"),
      .t_max = (guint)lethe_node_get_int(node, "epochs"),
      .eta_min = lethe_node_get_double(node, "lr-min"),
  };
}

/* Trains @seq for the node's epochs on (@x, @y). */
static gboolean
train_member(LetheNode *node, LetheSequential *seq, LetheTensor *x, LetheTensor *y,
             Progress *progress, LetheRng *rng, double *last_loss, GError **error)
{
  LetheOptimConfig config;
  optim_config(node, &config);
  LetheLrSchedule schedule;
  lr_schedule(node, &schedule);
  LetheOptimizer *opt = lethe_optimizer_new(lethe_sequential_get_params(seq), &config);
  gint64 batch = lethe_node_get_int(node, "batch");
  gboolean ok = TRUE;
  for (guint e = 0; ok && e < progress->epochs; e++) {
    progress->epoch = e;
    lethe_optimizer_set_lr(opt, lethe_lr_schedule_at(&schedule, e));
    ok = lethe_sequential_train_epoch(seq, opt, x, y, batch, rng, lethe_node_get_cancellable(node),
                                      on_step, progress, last_loss, error);
    if (!ok && error && *error && !g_error_matches(*error, LETHE_ERROR, LETHE_ERROR_CANCELLED))
      g_prefix_error(error, "%s: task %" G_GINT64_FORMAT ", epoch %u: ", lethe_node_get_name(node),
                     progress->task, e + 1);
  }
  lethe_optimizer_free(opt);
  return ok;
}

static const char *const copied_meta[] = {
    "event", "task", "classes", "n-tasks", "n-classes", "scenario", "domain", "forget-classes",
};

/* Member @m becomes the model of @restored, the checkpoint of this request
 * from an interrupted run; its train_loss is recorded again. */
static gboolean
restore_member(LetheNode *node, guint m, LetheFrame *restored, gint64 task, GError **error)
{
  SgdState *st = lethe_node_get_private(node);
  g_autoptr(GError) local = NULL;
  LetheSequential *seq = lethe_sequential_new_from_frame(restored, &local);
  if (seq == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: cannot resume from the checkpoint of request %" G_GUINT64_FORMAT ": %s",
                lethe_node_get_name(node), st->n_requests, local->message);
    lethe_frame_unref(restored);
    return FALSE;
  }
  if (st->members->len <= m) {
    g_ptr_array_add(st->members, seq);
  } else {
    lethe_sequential_free(g_ptr_array_index(st->members, m));
    g_ptr_array_index(st->members, m) = seq;
  }
  if (m == 0)
    lethe_node_metric(node, "train_loss", task,
                      lethe_frame_get_meta_double(restored, "train-loss", NAN), NULL);
  return TRUE;
}

static gboolean
sgd_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  SgdState *st = lethe_node_get_private(node);
  LetheFrame *request = inputs[0];
  const char *event = lethe_frame_get_meta_string(request, "event", "learn");
  gint64 task = lethe_frame_get_meta_int(request, "task", (gint64)st->n_requests);
  guint n_members = (guint)lethe_node_get_int(node, "seeds");
  gboolean fresh = TRUE;
  g_autoptr(LetheFrame) data = training_data(node, request, event, &fresh, error);
  if (data == NULL)
    return FALSE;
  st->n_requests++;

  Progress progress = {node, 0, n_members, 0, (guint)lethe_node_get_int(node, "epochs"), task};
  for (guint m = 0; m < n_members; m++) {
    guint64 seed = lethe_rng_derive_seed(base_seed(node), "model") + m;
    LetheFrame *restored = lethe_node_get_resume_frame(node, 0, (gint64)st->n_requests, m);
    if (restored) {
      if (!restore_member(node, m, restored, task, error))
        return FALSE;
      if (!lethe_node_push(node, 0, restored))
        return TRUE;
      continue;
    }
    if (fresh || st->members->len <= m) {
      LetheSequential *seq = lethe_sequential_new(lethe_node_get_string(node, "arch"), seed, error);
      if (seq == NULL)
        return FALSE;
      if (st->members->len <= m)
        g_ptr_array_add(st->members, seq);
      else {
        lethe_sequential_free(g_ptr_array_index(st->members, m));
        g_ptr_array_index(st->members, m) = seq;
      }
    }
    LetheSequential *seq = g_ptr_array_index(st->members, m);
    g_autoptr(LetheTensor) y = NULL;
    if (!check_data(node, seq, data, task, &y, error))
      return FALSE;

    /* One minibatch-order stream per request and member. */
    LetheRng rng;
    lethe_rng_init_stream(&rng, seed, st->n_requests);
    progress.member = m;
    double loss = NAN;
    gint64 start = g_get_monotonic_time();
    if (!train_member(node, seq, lethe_frame_get_tensor(data, "x"), y, &progress, &rng, &loss,
                      error))
      return FALSE;
    double seconds = (g_get_monotonic_time() - start) / 1e6;

    LetheFrame *model = lethe_sequential_to_frame(seq, (gint64)st->n_requests);
    for (gsize i = 0; i < G_N_ELEMENTS(copied_meta); i++) {
      GVariant *v = lethe_frame_get_meta(request, copied_meta[i]);
      if (v)
        lethe_frame_set_meta(model, copied_meta[i], g_variant_ref(v));
    }
    lethe_frame_set_meta_string(model, "event", event);
    lethe_frame_set_meta_double(model, "train-seconds", seconds);
    lethe_frame_set_meta_string(model, "mode", lethe_node_get_string(node, "mode"));
    lethe_frame_set_meta_int(model, "train-samples", y->shape[0]);
    lethe_frame_set_meta_double(model, "train-loss", loss);
    if (n_members > 1) {
      lethe_frame_set_meta_int(model, "member", m);
      lethe_frame_set_meta_int(model, "n-members", n_members);
    }
    if (m == 0)
      lethe_node_metric(node, "train_loss", task, loss, NULL);
    if (!lethe_node_push(node, 0, model))
      return TRUE; /* the pipeline is stopping */
  }
  return TRUE;
}

/* ---- Node type ------------------------------------------------------- */

static const LethePortSpec sgd_inputs[] = {
    {"input", "dataset", LETHE_PORT_NONE,
     "requests: learn frames (tasks), a retain set, or a forget set"},
    {NULL},
};
static const LethePortSpec sgd_outputs[] = {
    {"model", "model", LETHE_PORT_RESUMABLE, "the model after each request (one per seed)"},
    {NULL},
};

static const char *const mode_choices[] = {"finetune", "joint", "retrain", NULL};
static const char *const optimizer_choices[] = {"sgd", "adam", "adamw", NULL};
static const char *const schedule_choices[] = {"constant", "step", "cosine", "exponential", NULL};

static const LetheParamSpec sgd_params[] = {
    {"arch", LETHE_PARAM_STRING, DEFAULT_ARCH, 0, 0, NULL,
     "the sequential model's layers (docs/models.md)"},
    {"mode", LETHE_PARAM_ENUM, "finetune", 0, 0, mode_choices,
     "finetune: keep training on each task; joint: from scratch on all data so far; retrain: "
     "from scratch on each frame"},
    {"epochs", LETHE_PARAM_INT, "5", 1, 100000, NULL, "epochs per request"},
    {"batch", LETHE_PARAM_INT, "128", 1, 1e9, NULL, "minibatch size"},
    {"optimizer", LETHE_PARAM_ENUM, "sgd", 0, 0, optimizer_choices, "sgd, adam or adamw"},
    {"lr", LETHE_PARAM_DOUBLE, "0.01", 0, 1e3, NULL, "learning rate"},
    {"momentum", LETHE_PARAM_DOUBLE, "0.9", 0, 1, NULL, "SGD momentum"},
    {"nesterov", LETHE_PARAM_BOOL, "false", 0, 0, NULL, "Nesterov momentum (sgd)"},
    {"weight-decay", LETHE_PARAM_DOUBLE, "0", 0, 10, NULL,
     "L2 penalty (sgd, adam) or decoupled decay (adamw, default 0.01)"},
    {"lr-schedule", LETHE_PARAM_ENUM, "constant", 0, 0, schedule_choices,
     "learning rate over the epochs of a request"},
    {"lr-step-size", LETHE_PARAM_INT, "10", 1, 1e9, NULL, "step schedule: epochs per decay"},
    {"lr-gamma", LETHE_PARAM_DOUBLE, "0.1", 0, 1, NULL, "step, exponential: decay factor"},
    {"lr-min", LETHE_PARAM_DOUBLE, "0", 0, 1e3, NULL, "cosine: the final learning rate"},
    {"seed", LETHE_PARAM_INT, "0", 0, 1e18, NULL,
     "seed of initialisation and minibatch order (default: derived from the pipeline's)"},
    {"seeds", LETHE_PARAM_INT, "1", 1, 1000, NULL,
     "models trained per request, each from its own seed (an ensemble of oracles)"},
    {NULL},
};

static const LetheNodeVTable sgd_vtable = {.init = sgd_init, .process = sgd_process};

static const LetheNodeType sgd_train = {
    "sgd-train",
    LETHE_NODE_LEARNER,
    "Plain training of a sequential model: fine-tuning, joint training, retrained oracle",
    sgd_inputs,
    sgd_outputs,
    sgd_params,
    &sgd_vtable,
    "Each request yields a model frame with the request's task, classes and event, "
    "train-seconds and version.  A forget request retrains from scratch on everything seen "
    "but the forget set.  See docs/baselines.md.",
};

static const LetheNodeType *const node_types[] = {&sgd_train, NULL};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR,
    LETHE_ABI_MINOR,
    "sgd",
    "0.1.0",
    "LGPL-2.1-or-later",
    "Plain SGD/Adam training: the baselines of continual learning",
    node_types,
    NULL,
};

LETHE_PLUGIN_DEFINE(plugin_info)
