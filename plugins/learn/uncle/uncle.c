/* Lethe — UnCLe: hypernetwork continual learning with data-free unlearning
 * (Adhikari, Kumaravelu & Srijith, arXiv:2509.17530), the instruction
 * sequences that drive it, and their evaluator.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [seq]
 *   plugin = task-sequence
 *   input = tasks                  # a task-incremental stream
 *   sequence = L0,L1,U0,L2,L3,U2,L4,L0
 *   counterfactuals = true         # also the runs without each unlearned task
 *
 *   [uncle]
 *   plugin = uncle-learn
 *   input = seq
 *
 *   [report]
 *   plugin = sequence-metrics
 *   model = uncle
 *   test = test
 *
 * A chunked hypernetwork H(e; φ) generates every weight and bias of a
 * target MLP (784-100-100-2 by default) from a task embedding e_t and chunk
 * embeddings c_k: chunk k of the flat parameter vector is the head's output
 * for [e_t ; c_k] through an MLP (32→64→128, ReLU) and a 128→1000 head; the
 * concatenation is cut at the target's size and sliced into its layers.
 * Generated weights are tape values, so the task loss reaches φ through
 * them.
 *
 * - Learning task t (uncle-learn, a "learn" request): Adam on φ and e_t
 *   (and the chunk embeddings during the very first task, frozen after),
 *   CE + β/T_max·Σ_{t'∈A, t'≠t}‖H(e_t'; φ*) − H(e_t'; φ)‖², φ* the
 *   hypernetwork after the previous operation; then t joins A.
 * - Unlearning task u (an "unlearn" request to uncle-learn, or the
 *   uncle-unlearn node, which has no data port): data-free, Adam on φ
 *   only, 1/|A∖u|·Σ_{t'∈A∖u}‖H(e_t'; φ*) − H(e_t'; φ)‖² +
 *   γ/S·Σ_s‖H(e_u; φ) − ε_s‖² with fresh ε_s ~ N(0, I) each step, for
 *   100·0.9^k steps (k = unlearning requests so far); then u leaves A.
 *   Every embedding stays bit-identical.
 *
 * Readings chosen where the card infers or leaves open (docs/uncle.md):
 * - Learning and unlearning share φ, so one node answers both kinds of
 *   request of a sequence (the graph has no cycles); uncle-unlearn is the
 *   same unlearning step for a model frame coming from elsewhere.
 * - One flat head generates all layers (the card's Fashion-MNIST setup),
 *   so hyperfan-in is applied once: the head's weights are uniform with
 *   the variance that gives the generated parameters the target's mean
 *   1/fan-in, E[h²] of the last hidden layer measured at initialisation;
 *   the head's bias starts at 0.
 * - The S noise draws enter the gradient only through their mean, which is
 *   drawn directly as N(0, I/S); the reported loss omits the constant.
 * - Norms are sums of squares (as von Oswald's regulariser); the
 *   remembrance term is averaged over the remembered tasks.
 * - StepLR(25, 0.5) per epoch and gradient-norm clipping at 1.0 in both
 *   phases, as the reference code.
 * - The `uncle-hypernet` model kind's forward runs every task whose
 *   classes it knows and writes each task's outputs into the columns of
 *   its classes (a multi-head network), so task-IL evaluators need no task
 *   id; a model frame with metadata "eval-task" runs that task alone and
 *   returns its raw outputs.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include <lethe/model.h>
#include <lethe/plugin.h>

#include "eval-ops.h"
#include "stream-ops.h"
#include "uncle-hnet.h"
#include "uncle-sequence.h"

#define DEFAULT_TARGET "784,100,100,2"
#define DEFAULT_HIDDEN "64,128"

/* ---- The model kind ------------------------------------------------------ */

static gboolean
kind_forward(const LetheFrame *model, LetheTensor *x, LetheTensor **out, GError **error)
{
  g_autoptr(UncleHnet) h = uncle_hnet_from_frame(model, error);
  if (h == NULL)
    return FALSE;
  *out = uncle_hnet_forward_all(h, x, lethe_frame_get_meta_int(model, "eval-task", -1),
                                lethe_frame_get_meta_int(model, "n-classes", 0), error);
  return *out != NULL;
}

static const LetheModelKind uncle_kind = {
    "uncle-hypernet",
    "a chunked hypernetwork generating one MLP per task from task embeddings (UnCLe)",
    kind_forward,
    NULL,
};

/* ---- Shared by the learn and unlearn nodes ------------------------------ */

static void
read_config(LetheNode *node, UncleConfig *c, gboolean learning)
{
  uncle_config_init(c);
  if (learning) {
    c->epochs = (guint)lethe_node_get_int(node, "epochs");
    c->batch = lethe_node_get_int(node, "batch");
    c->lr = lethe_node_get_double(node, "lr");
    c->lr_step = (guint)lethe_node_get_int(node, "lr-step");
    c->lr_gamma = lethe_node_get_double(node, "lr-gamma");
    c->beta = lethe_node_get_double(node, "beta");
  }
  c->clip = lethe_node_get_double(node, "clip");
  c->unlearn_steps = (guint)lethe_node_get_int(node, "unlearn-steps");
  c->unlearn_decay = lethe_node_get_double(node, "unlearn-decay");
  c->gamma = lethe_node_get_double(node, "gamma");
  c->noise_samples = (guint)lethe_node_get_int(node, "noise-samples");
  c->unlearn_lr = lethe_node_get_double(node, "unlearn-lr");
}

static guint64
base_seed(LetheNode *node)
{
  return lethe_node_param_is_set(node, "seed") ? (guint64)lethe_node_get_int(node, "seed")
                                               : lethe_node_get_seed(node);
}

/* The randomness of an operation depends on the task and how often it was
 * learned before, not on the operation's position, so a counterfactual run
 * without some task draws the same minibatches and noise for the rest. */
static guint64
op_seed(guint64 base, char kind, gint64 task, gint64 occurrence)
{
  char name[64];
  g_snprintf(name, sizeof name, "%c%" G_GINT64_FORMAT "#%" G_GINT64_FORMAT, kind, task, occurrence);
  return lethe_rng_derive_seed(base, name);
}

/* CPU time of this thread: the cost of an operation on a shared machine,
 * where wall time also counts other processes. */
static double
thread_cpu_seconds(void)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    return 0.0;
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
  LetheNode *node;
  char what[96];
} Progress;

static void
on_step(guint64 done, guint64 total, double loss, gpointer user_data)
{
  Progress *p = user_data;
  char text[160];
  g_snprintf(text, sizeof text, "%s loss %.4f", p->what, loss);
  lethe_node_progress(p->node, text, (double)done / (double)total);
}

static const char *const copied_meta[] = {
    "task", "classes", "n-tasks", "n-classes", "scenario", "op", "op-index", "run", "sequence",
};

static gboolean
unlearn_task(LetheNode *node, UncleHnet *h, gint64 task, double *seconds, GError **error)
{
  UncleConfig config;
  read_config(node, &config, FALSE);
  Progress progress = {node};
  g_snprintf(progress.what, sizeof progress.what, "unlearn task %" G_GINT64_FORMAT, task);
  gint64 occurrence = task >= 0 && task < h->arch.n_tasks ? h->learned[task] - 1 : 0;
  double loss = NAN;
  gint64 start = g_get_monotonic_time();
  double cpu_start = thread_cpu_seconds();
  if (!uncle_unlearn(h, &config, task, op_seed(base_seed(node), 'U', task, occurrence),
                     lethe_node_get_cancellable(node), on_step, &progress, &loss, error)) {
    g_prefix_error(error, "%s: ", lethe_node_get_name(node));
    return FALSE;
  }
  *seconds = (g_get_monotonic_time() - start) / 1e6;
  double cpu = thread_cpu_seconds() - cpu_start;
  g_message("%s: unlearned task %" G_GINT64_FORMAT
            " in %.3f s (%.3f s of CPU; data-free, %" G_GINT64_FORMAT
            " earlier unlearning requests)",
            lethe_node_get_name(node), task, *seconds, cpu, h->n_unlearned - 1);
  lethe_node_metric(node, "unlearn_loss", task, loss, NULL);
  lethe_node_metric(node, "unlearn_cpu_seconds", task, cpu, NULL);
  return TRUE;
}

/* ---- uncle-learn ----------------------------------------------------------- */

typedef struct {
  UncleHnet *h;
  guint64 n_ops;
} LearnState;

static void
learn_state_free(gpointer p)
{
  LearnState *st = p;
  uncle_hnet_free(st->h);
  g_free(st);
}

static gboolean
learn_init(LetheNode *node, GError **error)
{
  lethe_node_set_private(node, g_new0(LearnState, 1), learn_state_free);
  return TRUE;
}

static void
int_list_string(GString *s, const char *key, const gint64 *v, gsize n)
{
  g_string_append_printf(s, " %s=", key);
  for (gsize i = 0; i < n; i++)
    g_string_append_printf(s, "%s%" G_GINT64_FORMAT, i ? "," : "", v[i]);
}

/* The hypernetwork of the node's parameters, for a stream of @n_tasks. */
static UncleHnet *
create_hnet(LetheNode *node, const LetheFrame *request, GError **error)
{
  gint64 n_tasks = lethe_node_get_int(node, "tasks");
  if (n_tasks == 0)
    n_tasks = lethe_frame_get_meta_int(request, "n-tasks", 0);
  if (n_tasks <= 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: the number of tasks is unknown (the request has no 'n-tasks'); set 'tasks'",
                lethe_node_get_name(node));
    return NULL;
  }
  gsize n_target = 0, n_hidden = 0;
  const gint64 *target = lethe_node_get_int_list(node, "target", &n_target);
  const gint64 *hidden = lethe_node_get_int_list(node, "hidden", &n_hidden);
  g_autoptr(GString) text = g_string_new(NULL);
  int_list_string(text, "target", target, n_target);
  int_list_string(text, "hidden", hidden, n_hidden);
  g_string_append_printf(
      text, " emb=%" G_GINT64_FORMAT " chunk=%" G_GINT64_FORMAT " tasks=%" G_GINT64_FORMAT,
      lethe_node_get_int(node, "embedding"), lethe_node_get_int(node, "chunk"), n_tasks);
  UncleArch arch;
  if (!uncle_arch_parse(text->str, &arch, error)) {
    g_prefix_error(error, "%s: ", lethe_node_get_name(node));
    return NULL;
  }
  UncleHnet *h = uncle_hnet_new(&arch, lethe_rng_derive_seed(base_seed(node), "init"));
  /* Every task's classes, so the model runs tasks not learned yet too. */
  GVariant *all = lethe_frame_get_meta(request, "task-classes");
  if (all && g_variant_is_of_type(all, G_VARIANT_TYPE("aai"))) {
    gint64 out = arch.target[arch.n_target - 1];
    for (gsize t = 0; t < g_variant_n_children(all) && (gint64)t < n_tasks; t++) {
      g_autoptr(GVariant) row = g_variant_get_child_value(all, t);
      gsize n = 0;
      const gint32 *c = g_variant_get_fixed_array(row, &n, sizeof(gint32));
      for (gsize i = 0; i < n && (gint64)i < out; i++)
        h->task_classes[t * out + i] = c[i];
    }
  }
  return h;
}

static gboolean
learn_one(LetheNode *node, UncleHnet *h, LetheFrame *request, gint64 task, double *seconds,
          gint64 *n_samples, GError **error)
{
  const char *name = lethe_node_get_name(node);
  g_autoptr(GArray) classes = stream_get_classes(request);
  LetheTensor *x = lethe_frame_get_tensor(request, "x");
  if (classes == NULL || x == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: learn request for task %" G_GINT64_FORMAT " has no %s; feed it a "
                "task-incremental stream (through task-sequence)",
                name, task, x == NULL ? "data 'x'" : "'classes' metadata");
    return FALSE;
  }
  g_autoptr(LetheTensor) y = stream_labels(request, name, 0, error);
  if (y == NULL)
    return FALSE;
  UncleConfig config;
  read_config(node, &config, TRUE);
  Progress progress = {node};
  g_snprintf(progress.what, sizeof progress.what, "learn task %" G_GINT64_FORMAT, task);
  double loss = NAN;
  gint64 start = g_get_monotonic_time();
  gint64 occurrence = task >= 0 && task < h->arch.n_tasks ? h->learned[task] : 0;
  if (!uncle_learn(h, &config, task, x, lethe_tensor_i32(y), (const gint32 *)classes->data,
                   classes->len, op_seed(base_seed(node), 'L', task, occurrence),
                   lethe_node_get_cancellable(node), on_step, &progress, &loss, error)) {
    if (!g_error_matches(*error, LETHE_ERROR, LETHE_ERROR_CANCELLED))
      g_prefix_error(error, "%s: ", name);
    return FALSE;
  }
  *seconds = (g_get_monotonic_time() - start) / 1e6;
  *n_samples = y->shape[0];
  lethe_node_metric(node, "train_loss", task, loss, NULL);
  return TRUE;
}

static LetheFrame *
model_frame(const UncleHnet *h, const LetheFrame *request, const char *event)
{
  LetheFrame *model = uncle_hnet_to_frame(h);
  for (gsize i = 0; request && i < G_N_ELEMENTS(copied_meta); i++) {
    GVariant *v = lethe_frame_get_meta(request, copied_meta[i]);
    if (v)
      lethe_frame_set_meta(model, copied_meta[i], g_variant_ref(v));
  }
  lethe_frame_set_meta_string(model, "event", event);
  return model;
}

static gboolean
learn_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  LearnState *st = lethe_node_get_private(node);
  const char *name = lethe_node_get_name(node);
  LetheFrame *request = inputs[0];
  const char *event = lethe_frame_get_meta_string(request, "event", "learn");
  gint64 task = lethe_frame_get_meta_int(request, "task", (gint64)st->n_ops);
  if (g_str_equal(event, "reset")) {
    /* The start of another run (a counterfactual): the same initial model. */
    g_clear_pointer(&st->h, uncle_hnet_free);
    st->n_ops = 0;
    return TRUE;
  }
  gboolean learn = g_str_equal(event, "learn");
  if (!learn && !g_str_equal(event, "unlearn")) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: request %" G_GUINT64_FORMAT " has event '%s'; uncle-learn answers learn, "
                "unlearn (data-free: a task id, no data) and reset requests%s",
                name, st->n_ops, event,
                g_str_equal(event, "forget") ? "; set task-sequence's unlearn-as=unlearn" : "");
    return FALSE;
  }
  if (st->h == NULL && (st->h = create_hnet(node, request, error)) == NULL)
    return FALSE;
  double seconds = 0.0;
  gint64 n_samples = 0;
  if (learn ? !learn_one(node, st->h, request, task, &seconds, &n_samples, error)
            : !unlearn_task(node, st->h, task, &seconds, error))
    return FALSE;
  LetheFrame *model = model_frame(st->h, request, event);
  lethe_frame_set_meta_double(model, learn ? "train-seconds" : "unlearn-seconds", seconds);
  if (learn)
    lethe_frame_set_meta_int(model, "train-samples", n_samples);
  else
    lethe_node_metric(node, "unlearn_seconds", (gint64)st->n_ops, seconds, NULL);
  st->n_ops++;
  lethe_node_push(node, 0, model);
  return TRUE;
}

/* ---- uncle-unlearn --------------------------------------------------------- */

typedef struct {
  LetheFrame *last;
} UnlearnState;

static void
unlearn_state_free(gpointer p)
{
  UnlearnState *st = p;
  g_clear_pointer(&st->last, lethe_frame_unref);
  g_free(st);
}

static gboolean
unlearn_init(LetheNode *node, GError **error)
{
  lethe_node_set_private(node, g_new0(UnlearnState, 1), unlearn_state_free);
  return TRUE;
}

static gboolean
unlearn_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  UnlearnState *st = lethe_node_get_private(node);
  g_clear_pointer(&st->last, lethe_frame_unref);
  st->last = lethe_frame_ref(inputs[0]);
  return TRUE;
}

static gboolean
unlearn_flush(LetheNode *node, GError **error)
{
  UnlearnState *st = lethe_node_get_private(node);
  if (st->last == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: no model arrived to unlearn from; connect an uncle-learn's model",
                lethe_node_get_name(node));
    return FALSE;
  }
  g_autoptr(UncleHnet) h = uncle_hnet_from_frame(st->last, error);
  if (h == NULL) {
    g_prefix_error(error, "%s: ", lethe_node_get_name(node));
    return FALSE;
  }
  gsize n = 0;
  const gint64 *tasks = lethe_node_get_int_list(node, "tasks", &n);
  for (gsize i = 0; i < n; i++) {
    double seconds = 0.0;
    if (!unlearn_task(node, h, tasks[i], &seconds, error))
      return FALSE;
    LetheFrame *model = model_frame(h, st->last, "unlearn");
    lethe_frame_set_meta_int(model, "task", tasks[i]);
    g_autofree char *op = g_strdup_printf("U%" G_GINT64_FORMAT, tasks[i]);
    lethe_frame_set_meta_string(model, "op", op);
    lethe_frame_set_meta_double(model, "unlearn-seconds", seconds);
    lethe_node_metric(node, "unlearn_seconds", tasks[i], seconds, NULL);
    if (!lethe_node_push(node, 0, model))
      return TRUE;
  }
  return TRUE;
}

/* ---- task-sequence ---------------------------------------------------------- */

typedef struct {
  GArray *ops;
  GPtrArray *tasks; /* task frames by index (NULL until seen) */
} SeqState;

static void
seq_state_free(gpointer p)
{
  SeqState *st = p;
  g_array_unref(st->ops);
  g_ptr_array_unref(st->tasks);
  g_free(st);
}

static gboolean
seq_init(LetheNode *node, GError **error)
{
  GArray *ops = uncle_sequence_parse(lethe_node_get_string(node, "sequence"), -1, error);
  if (ops == NULL) {
    g_prefix_error(error, "%s: parameter ", lethe_node_get_name(node));
    return FALSE;
  }
  SeqState *st = g_new0(SeqState, 1);
  st->ops = ops;
  st->tasks = g_ptr_array_new_with_free_func((GDestroyNotify)lethe_frame_unref);
  lethe_node_set_private(node, st, seq_state_free);
  return TRUE;
}

static gboolean
seq_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  SeqState *st = lethe_node_get_private(node);
  const char *event = lethe_frame_get_meta_string(inputs[0], "event", "learn");
  if (!g_str_equal(event, "learn"))
    return TRUE;
  gint64 task = lethe_frame_get_meta_int(inputs[0], "task", (gint64)st->tasks->len);
  if (task < 0 || task > 1000000) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: task %" G_GINT64_FORMAT " out of range", lethe_node_get_name(node), task);
    return FALSE;
  }
  if ((guint)task >= st->tasks->len)
    g_ptr_array_set_size(st->tasks, (guint)task + 1);
  g_clear_pointer(&g_ptr_array_index(st->tasks, task), lethe_frame_unref);
  g_ptr_array_index(st->tasks, task) = lethe_frame_ref(inputs[0]);
  return TRUE;
}

static gboolean
emit_run(LetheNode *node, GArray *ops, const char *run, GVariant *task_classes)
{
  SeqState *st = lethe_node_get_private(node);
  gboolean as_forget = g_str_equal(lethe_node_get_string(node, "unlearn-as"), "forget");
  g_autofree char *sequence = uncle_sequence_to_string(ops);
  for (guint i = 0; i < ops->len; i++) {
    UncleOp *op = &g_array_index(ops, UncleOp, i);
    LetheFrame *data = g_ptr_array_index(st->tasks, op->task);
    LetheFrame *req;
    if (op->kind == 'L' || as_forget) {
      req = lethe_frame_copy(data);
      lethe_frame_set_meta_string(req, "event", op->kind == 'L' ? "learn" : "forget");
    } else {
      req = lethe_frame_new();
      lethe_frame_set_meta_string(req, "event", "unlearn");
      GVariant *c = lethe_frame_get_meta(data, "classes");
      if (c)
        lethe_frame_set_meta(req, "classes", g_variant_ref(c));
    }
    char text[32];
    g_snprintf(text, sizeof text, "%c%" G_GINT64_FORMAT, op->kind, op->task);
    lethe_frame_set_meta_int(req, "task", op->task);
    lethe_frame_set_meta_int(req, "n-tasks", st->tasks->len);
    lethe_frame_set_meta_string(req, "op", text);
    lethe_frame_set_meta_int(req, "op-index", i);
    lethe_frame_set_meta_string(req, "run", run);
    lethe_frame_set_meta_string(req, "sequence", sequence);
    lethe_frame_set_meta(req, "task-classes", g_variant_ref(task_classes));
    if (!lethe_node_push(node, 0, req))
      return FALSE;
  }
  return TRUE;
}

static gboolean
seq_flush(LetheNode *node, GError **error)
{
  SeqState *st = lethe_node_get_private(node);
  const char *name = lethe_node_get_name(node);
  /* Now the number of tasks is known: check the tokens against it. */
  g_autoptr(GArray) checked =
      uncle_sequence_parse(lethe_node_get_string(node, "sequence"), st->tasks->len, error);
  if (checked == NULL) {
    g_prefix_error(error, "%s: parameter ", name);
    return FALSE;
  }
  GVariantBuilder b;
  g_variant_builder_init(&b, G_VARIANT_TYPE("aai"));
  for (guint t = 0; t < st->tasks->len; t++) {
    LetheFrame *f = g_ptr_array_index(st->tasks, t);
    g_autoptr(GArray) c = f ? stream_get_classes(f) : NULL;
    if (f == NULL || c == NULL) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s: task %u never arrived%s; feed a task-incremental stream", name, t,
                  f ? " with 'classes' metadata" : "");
      return FALSE;
    }
    g_variant_builder_add_value(
        &b, g_variant_new_fixed_array(G_VARIANT_TYPE_INT32, c->data, c->len, sizeof(gint32)));
  }
  g_autoptr(GVariant) classes = g_variant_ref_sink(g_variant_builder_end(&b));
  if (!emit_run(node, st->ops, "main", classes))
    return TRUE;
  if (!lethe_node_get_bool(node, "counterfactuals"))
    return TRUE;
  g_autoptr(GHashTable) done = g_hash_table_new(NULL, NULL);
  for (guint i = 0; i < st->ops->len; i++) {
    UncleOp *op = &g_array_index(st->ops, UncleOp, i);
    if (op->kind != 'U' || g_hash_table_contains(done, GINT_TO_POINTER((gint)op->task)))
      continue;
    g_hash_table_add(done, GINT_TO_POINTER((gint)op->task));
    g_autofree char *run = g_strdup_printf("without-%" G_GINT64_FORMAT, op->task);
    LetheFrame *reset = lethe_frame_new();
    lethe_frame_set_meta_string(reset, "event", "reset");
    lethe_frame_set_meta_string(reset, "run", run);
    lethe_frame_set_meta_int(reset, "task", op->task);
    if (!lethe_node_push(node, 0, reset))
      return TRUE;
    g_autoptr(GArray) without = uncle_sequence_without(st->ops, op->task);
    if (!emit_run(node, without, run, classes))
      return TRUE;
  }
  return TRUE;
}

/* ---- sequence-metrics -------------------------------------------------------- */

typedef struct {
  GPtrArray *models;
  LetheFrame *test;
} MetricsState;

static void
metrics_state_free(gpointer p)
{
  MetricsState *st = p;
  g_ptr_array_unref(st->models);
  g_clear_pointer(&st->test, lethe_frame_unref);
  g_free(st);
}

static gboolean
metrics_init(LetheNode *node, GError **error)
{
  MetricsState *st = g_new0(MetricsState, 1);
  st->models = g_ptr_array_new_with_free_func((GDestroyNotify)lethe_frame_unref);
  lethe_node_set_private(node, st, metrics_state_free);
  return TRUE;
}

static gboolean
metrics_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  MetricsState *st = lethe_node_get_private(node);
  g_ptr_array_add(st->models, lethe_frame_ref(inputs[0]));
  if (inputs[1] && st->test != inputs[1]) {
    g_clear_pointer(&st->test, lethe_frame_unref);
    st->test = lethe_frame_ref(inputs[1]);
  }
  return TRUE;
}

/* One run: its operations and, per operation, the accuracy of every task
 * and (for unlearning) the unlearning score. */
typedef struct {
  char *name;
  GArray *ops;   /* UncleOp */
  GArray *acc;   /* double, n_ops × n_tasks */
  GArray *score; /* double per op, NAN for learn ops */
} Run;

static void
run_free(gpointer p)
{
  Run *r = p;
  g_free(r->name);
  g_array_unref(r->ops);
  g_array_unref(r->acc);
  g_array_unref(r->score);
  g_free(r);
}

/* 1 − JS(softmax over the task's classes ‖ uniform), log base 2, averaged
 * over the task's test rows. */
static double
unlearning_score(const float *logits, gint64 n, gint64 k, const gint32 *labels, GArray *classes)
{
  guint m = classes->len;
  double sum = 0.0;
  gint64 count = 0;
  for (gint64 r = 0; r < n; r++) {
    gboolean mine = FALSE;
    for (guint c = 0; c < m; c++)
      mine |= labels[r] == g_array_index(classes, gint32, c);
    if (!mine)
      continue;
    double mx = -INFINITY, z = 0.0, p[64];
    for (guint c = 0; c < m && c < 64; c++)
      mx = MAX(mx, logits[r * k + g_array_index(classes, gint32, c)]);
    for (guint c = 0; c < m && c < 64; c++)
      z += p[c] = exp(logits[r * k + g_array_index(classes, gint32, c)] - mx);
    double js = 0.0, u = 1.0 / m;
    for (guint c = 0; c < m && c < 64; c++) {
      double pc = p[c] / z, mid = 0.5 * (pc + u);
      if (pc > 0)
        js += 0.5 * pc * log2(pc / mid);
      js += 0.5 * u * log2(u / mid);
    }
    sum += js;
    count++;
  }
  return count ? 1.0 - sum / count : NAN;
}

static Run *
run_for(GPtrArray *runs, const char *name)
{
  for (guint i = 0; i < runs->len; i++)
    if (g_str_equal(((Run *)runs->pdata[i])->name, name))
      return runs->pdata[i];
  Run *r = g_new0(Run, 1);
  r->name = g_strdup(name);
  r->ops = g_array_new(FALSE, FALSE, sizeof(UncleOp));
  r->acc = g_array_new(FALSE, FALSE, sizeof(double));
  r->score = g_array_new(FALSE, FALSE, sizeof(double));
  g_ptr_array_add(runs, r);
  return r;
}

static char *
matrix_json(GArray *acc, guint n_tasks)
{
  GString *s = g_string_new("[");
  for (guint i = 0; i < acc->len / MAX(n_tasks, 1); i++) {
    g_string_append(s, i ? ",[" : "[");
    for (guint t = 0; t < n_tasks; t++)
      g_string_append_printf(s, "%s%.4f", t ? "," : "", g_array_index(acc, double, i *n_tasks + t));
    g_string_append(s, "]");
  }
  g_string_append(s, "]");
  return g_string_free(s, FALSE);
}

static double
acc_at(Run *r, guint op, gint64 task, guint n_tasks)
{
  return g_array_index(r->acc, double, op *n_tasks + (guint)task);
}

static gboolean
metrics_flush(LetheNode *node, GError **error)
{
  MetricsState *st = lethe_node_get_private(node);
  const char *name = lethe_node_get_name(node);
  if (st->models->len == 0)
    return TRUE;
  if (st->test == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "%s: no test set arrived", name);
    return FALSE;
  }
  /* Every task's classes, from the requests the models answer. */
  g_autoptr(GPtrArray) task_classes = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
  for (guint i = 0; i < st->models->len; i++) {
    LetheFrame *m = st->models->pdata[i];
    gint64 t = lethe_frame_get_meta_int(m, "task", -1);
    GArray *c = stream_get_classes(m);
    if (t < 0 || c == NULL || t > 100000) {
      if (c)
        g_array_unref(c);
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s: model frame %u has no 'task' or 'classes' metadata; the learner must copy "
                  "them from the request it answers",
                  name, i);
      return FALSE;
    }
    if ((guint)t >= task_classes->len)
      g_ptr_array_set_size(task_classes, (guint)t + 1);
    if (g_ptr_array_index(task_classes, t) == NULL)
      g_ptr_array_index(task_classes, t) = c;
    else
      g_array_unref(c);
  }
  guint T = task_classes->len;
  for (guint t = 0; t < T; t++)
    if (g_ptr_array_index(task_classes, t) == NULL) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s: no model names the classes of task %u; every task must be learned once",
                  name, t);
      return FALSE;
    }
  LetheTensor *x = lethe_frame_get_tensor(st->test, "x");
  g_autoptr(LetheTensor) y = stream_labels(st->test, name, 0, error);
  if (x == NULL || y == NULL) {
    if (error && *error == NULL)
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA, "%s: the test frame has no 'x'", name);
    return FALSE;
  }
  g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func(run_free);
  g_autofree double *cil = g_new(double, T), *til = g_new(double, T);
  for (guint i = 0; i < st->models->len; i++) {
    if (lethe_node_is_cancelled(node)) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_CANCELLED, "cancelled");
      return FALSE;
    }
    lethe_node_progress(node, "evaluating", (double)i / st->models->len);
    LetheFrame *m = st->models->pdata[i];
    const char *event = lethe_frame_get_meta_string(m, "event", "learn");
    Run *r = run_for(runs, lethe_frame_get_meta_string(m, "run", "main"));
    UncleOp op = {g_str_equal(event, "learn") ? 'L' : 'U', lethe_frame_get_meta_int(m, "task", 0),
                  r->ops->len + 1, 0};
    g_array_append_val(r->ops, op);
    g_autoptr(LetheTensor) logits = NULL;
    if (!lethe_model_forward(m, x, &logits, error)) {
      g_prefix_error(error, "%s: model %u: ", name, i);
      return FALSE;
    }
    g_autoptr(LetheTensor) out = lethe_tensor_to_dtype(logits, LETHE_DTYPE_F32);
    if (!eval_task_accuracies(lethe_tensor_f32(out), out->shape[0], out->shape[1],
                              lethe_tensor_i32(y), NULL, task_classes, cil, til, NULL, error)) {
      g_prefix_error(error, "%s: ", name);
      return FALSE;
    }
    g_array_append_vals(r->acc, til, T);
    double score = op.kind == 'U' ? unlearning_score(lethe_tensor_f32(out), out->shape[0],
                                                     out->shape[1], lethe_tensor_i32(y),
                                                     g_ptr_array_index(task_classes, op.task))
                                  : NAN;
    g_array_append_val(r->score, score);
  }
  Run *main = run_for(runs, "main");
  LetheFrame *summary = lethe_frame_new();
  lethe_frame_set_meta_string(summary, "event", "metrics");
  g_autofree char *matrix = matrix_json(main->acc, T);
  g_autofree char *ops = uncle_sequence_to_string(main->ops);
  g_autofree char *ops_json = g_strdup_printf("\"%s\"", ops);
  lethe_node_metric(node, "sequence", -1, 0, ops_json);
  lethe_node_metric(node, "acc_matrix", -1, 0, matrix);
  lethe_frame_set_meta_string(summary, "acc_matrix", matrix);

  /* Per unlearning: forgetting right after it, its score; then relapse
   * (raw rise, and the excess over the run that never saw the task) until
   * the task is learned again.  Retention: every active task against its
   * accuracy right after it was learned. */
  double min_score = INFINITY, max_forget = -INFINITY, relapse_max = -INFINITY, raw_max = -INFINITY,
         retention = -INFINITY, relearn = -INFINITY;
  g_autofree double *learned_at = g_new(double, T), *first_learn = g_new(double, T);
  g_autofree gboolean *active = g_new0(gboolean, T);
  for (guint t = 0; t < T; t++)
    first_learn[t] = NAN;
  for (guint i = 0; i < main->ops->len; i++) {
    UncleOp *op = &g_array_index(main->ops, UncleOp, i);
    double a = acc_at(main, i, op->task, T);
    if (op->kind == 'L') {
      if (isnan(first_learn[op->task]))
        first_learn[op->task] = a;
      else {
        relearn = MAX(relearn, first_learn[op->task] - a);
        lethe_node_metric(node, "relearn_gap", op->task, first_learn[op->task] - a, NULL);
      }
      learned_at[op->task] = a;
      active[op->task] = TRUE;
    } else {
      active[op->task] = FALSE;
      double score = g_array_index(main->score, double, i);
      min_score = MIN(min_score, score);
      max_forget = MAX(max_forget, a);
      lethe_node_metric(node, "forget_acc", i, a, NULL);
      lethe_node_metric(node, "unlearning_score", i, score, NULL);
      g_autofree char *cf_name = g_strdup_printf("without-%" G_GINT64_FORMAT, op->task);
      Run *cf = NULL;
      for (guint k = 0; k < runs->len; k++)
        if (g_str_equal(((Run *)runs->pdata[k])->name, cf_name))
          cf = runs->pdata[k];
      double task_relapse = -INFINITY, task_raw = -INFINITY;
      guint cf_index = 0; /* operations of the counterfactual run done so far */
      for (guint j = 0; j <= i; j++)
        cf_index += g_array_index(main->ops, UncleOp, j).task != op->task;
      for (guint j = i + 1; j < main->ops->len; j++) {
        UncleOp *later = &g_array_index(main->ops, UncleOp, j);
        if (later->task == op->task)
          break; /* learned again */
        double now = acc_at(main, j, op->task, T);
        task_raw = MAX(task_raw, now - a);
        cf_index++;
        if (cf && cf_index >= 1 && cf_index <= cf->ops->len)
          task_relapse = MAX(task_relapse, now - acc_at(cf, cf_index - 1, op->task, T));
      }
      if (isfinite(task_raw)) {
        lethe_node_metric(node, "relapse_raw", op->task, task_raw, NULL);
        raw_max = MAX(raw_max, task_raw);
      }
      if (isfinite(task_relapse)) {
        lethe_node_metric(node, "relapse", op->task, task_relapse, NULL);
        relapse_max = MAX(relapse_max, task_relapse);
      }
      if (cf) {
        g_autofree char *cfm = matrix_json(cf->acc, T);
        g_autofree char *key = g_strdup_printf("acc_matrix_%s", cf_name);
        lethe_node_metric(node, key, -1, 0, cfm);
      }
    }
    for (guint t = 0; t < T; t++)
      if (active[t] && !(op->kind == 'L' && op->task == t))
        retention = MAX(retention, learned_at[t] - acc_at(main, i, t, T));
  }
  struct {
    const char *name;
    double value;
  } summaries[] = {
      {"unlearning_score", min_score},   {"forget_acc_max", max_forget},
      {"relapse_max", relapse_max},      {"relapse_raw_max", raw_max},
      {"retention_drop_max", retention}, {"relearn_gap_max", relearn},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(summaries); i++) {
    if (!isfinite(summaries[i].value))
      continue;
    lethe_node_metric(node, summaries[i].name, -1, summaries[i].value, NULL);
    lethe_frame_take_tensor(summary, summaries[i].name,
                            lethe_tensor_new_scalar_f64(summaries[i].value));
  }
  double final = 0.0;
  for (guint t = 0; t < T; t++)
    final += acc_at(main, main->ops->len - 1, t, T) / T;
  lethe_node_metric(node, "final_acc_task_il", -1, final, NULL);
  lethe_frame_take_tensor(summary, "final_acc_task_il", lethe_tensor_new_scalar_f64(final));
  lethe_node_progress(node, "done", 1.0);
  lethe_node_push(node, 0, summary);
  return TRUE;
}

/* ---- Node types ----------------------------------------------------------- */

#define UNLEARN_PARAMS                                                                             \
  {"unlearn-steps",                                                                                \
   LETHE_PARAM_INT,                                                                                \
   "100",                                                                                          \
   1,                                                                                              \
   1e7,                                                                                            \
   NULL,                                                                                           \
   "E_u: optimisation steps of the first unlearning request (no data involved)"},                  \
      {"unlearn-decay",                                                                            \
       LETHE_PARAM_DOUBLE,                                                                         \
       "0.9",                                                                                      \
       0,                                                                                          \
       1,                                                                                          \
       NULL,                                                                                       \
       "E_u is multiplied by this after each unlearning request"},                                 \
      {"gamma",                                                                                    \
       LETHE_PARAM_DOUBLE,                                                                         \
       "0.01",                                                                                     \
       0,                                                                                          \
       1e6,                                                                                        \
       NULL,                                                                                       \
       "weight of the alignment of the unlearned task's parameters with noise"},                   \
      {"noise-samples", LETHE_PARAM_INT, "10", 1, 1e6, NULL, "S: noise draws per step"},           \
      {"unlearn-lr", LETHE_PARAM_DOUBLE, "0.001", 0, 10, NULL, "Adam learning rate on φ"},         \
      {"clip", LETHE_PARAM_DOUBLE, "1.0", 0, 1e9, NULL, "gradient-norm clip (both phases)"},       \
  {                                                                                                \
    "seed", LETHE_PARAM_INT, "0", 0, 1e18, NULL,                                                   \
        "seed of initialisation, minibatches and noise (default: the node's)"                      \
  }

static const LethePortSpec learn_inputs[] = {
    {"input", "request", LETHE_PORT_NONE,
     "requests: learn (task data), unlearn (task id only), reset (start a run again)"},
    {NULL},
};
static const LethePortSpec model_outputs[] = {
    {"model", "model", LETHE_PORT_NONE, "the uncle-hypernet model after each operation"},
    {NULL},
};
static const LetheParamSpec learn_params[] = {
    {"target", LETHE_PARAM_INT_LIST, DEFAULT_TARGET, 1, 1e7, NULL,
     "sizes of the generated MLP, input first; the last is the outputs per task"},
    {"embedding", LETHE_PARAM_INT, "16", 1, 4096, NULL, "dimension of task and chunk embeddings"},
    {"chunk", LETHE_PARAM_INT, "1000", 1, 1e8, NULL, "parameters generated per chunk"},
    {"hidden", LETHE_PARAM_INT_LIST, DEFAULT_HIDDEN, 1, 1e6, NULL,
     "hidden widths of the hypernetwork (its input is 2·embedding)"},
    {"tasks", LETHE_PARAM_INT, "0", 0, 100000, NULL,
     "T_max, task embeddings (0: the stream's n-tasks)"},
    {"epochs", LETHE_PARAM_INT, "5", 1, 100000, NULL, "epochs per learn request"},
    {"batch", LETHE_PARAM_INT, "128", 1, 1e9, NULL, "minibatch size"},
    {"lr", LETHE_PARAM_DOUBLE, "0.001", 0, 10, NULL, "Adam learning rate on φ and e_t"},
    {"lr-step", LETHE_PARAM_INT, "25", 1, 1e9, NULL, "StepLR: epochs per decay"},
    {"lr-gamma", LETHE_PARAM_DOUBLE, "0.5", 0, 1, NULL, "StepLR: decay factor"},
    {"beta", LETHE_PARAM_DOUBLE, "0.1", 0, 1e9, NULL,
     "β, weight of the output regulariser over the other active tasks (0 turns it off)"},
    UNLEARN_PARAMS,
    {NULL},
};

static const LethePortSpec unlearn_inputs[] = {
    {"model", "model", LETHE_PORT_NONE,
     "an uncle-hypernet model (the last one received is unlearned); no data port: data-free"},
    {NULL},
};
static const LetheParamSpec unlearn_params[] = {
    {"tasks", LETHE_PARAM_INT_LIST, NULL, 0, 100000, NULL,
     "the task ids to unlearn, in order (one model pushed after each)"},
    UNLEARN_PARAMS,
    {NULL},
};

static const char *const unlearn_as_choices[] = {"unlearn", "forget", NULL};
static const LethePortSpec seq_inputs[] = {
    {"input", "dataset", LETHE_PORT_NONE, "one learn frame per task (task-incremental)"},
    {NULL},
};
static const LethePortSpec seq_outputs[] = {
    {"output", "any", LETHE_PORT_NONE,
     "requests in sequence order: learn frames with data, unlearn requests without"},
    {NULL},
};
static const LetheParamSpec seq_params[] = {
    {"sequence", LETHE_PARAM_STRING, NULL, 0, 0, NULL,
     "comma-separated operations: L<task> learns, U<task> unlearns (e.g. L0,L1,U0,L2)"},
    {"unlearn-as", LETHE_PARAM_ENUM, "unlearn", 0, 0, unlearn_as_choices,
     "unlearn: data-free request (task id); forget: the task's samples as a forget request "
     "(for learners that retrain, e.g. sgd-train)"},
    {"counterfactuals", LETHE_PARAM_BOOL, "false", 0, 0, NULL,
     "after the sequence, for each unlearned task a reset request and the sequence without that "
     "task (run 'without-<task>'), for honest relapse"},
    {NULL},
};

static const LethePortSpec metrics_inputs[] = {
    {"model", "model", LETHE_PORT_NONE, "the model after every operation (every run)"},
    {"test", "dataset", LETHE_PORT_STICKY, "the test set (all tasks)"},
    {NULL},
};
static const LethePortSpec metrics_outputs[] = {
    {"metrics", "metrics", LETHE_PORT_NONE, "one frame of the run's summary"},
    {NULL},
};

static const LetheNodeVTable learn_vtable = {.init = learn_init, .process = learn_process};
static const LetheNodeVTable unlearn_vtable = {
    .init = unlearn_init, .process = unlearn_process, .flush = unlearn_flush};
static const LetheNodeVTable seq_vtable = {
    .init = seq_init, .process = seq_process, .flush = seq_flush};
static const LetheNodeVTable metrics_vtable = {
    .init = metrics_init, .process = metrics_process, .flush = metrics_flush};

static const LetheNodeType uncle_learn_type = {
    "uncle-learn",
    LETHE_NODE_LEARNER,
    "UnCLe: a chunked hypernetwork learns tasks and unlearns them data-free",
    learn_inputs,
    model_outputs,
    learn_params,
    &learn_vtable,
    "Learn requests train φ and the task's embedding under β's output regulariser; unlearn "
    "requests (task id, no data) pull the task's generated parameters to noise while pinning the "
    "other active tasks.  Emits an uncle-hypernet model after each.  See docs/uncle.md.",
};
static const LetheNodeType uncle_unlearn_type = {
    "uncle-unlearn",
    LETHE_NODE_UNLEARNER,
    "UnCLe's data-free unlearning of task ids from an uncle-hypernet model",
    unlearn_inputs,
    model_outputs,
    unlearn_params,
    &unlearn_vtable,
    "Takes the last model of its input and the task ids of 'tasks'; no data.  Only φ changes: "
    "every task and chunk embedding stays bit-identical.",
};
static const LetheNodeType task_sequence_type = {
    "task-sequence",
    LETHE_NODE_TRANSFORM,
    "Learn and unlearn requests in the order of an instruction sequence (L0,L1,U0,…)",
    seq_inputs,
    seq_outputs,
    seq_params,
    &seq_vtable,
    "Collects the task frames of its input, then emits the sequence.  Requests carry 'op', "
    "'op-index', 'run', 'sequence' and 'task-classes' (aai).  Errors name the token.",
};
static const LetheNodeType sequence_metrics_type = {
    "sequence-metrics",
    LETHE_NODE_EVALUATOR,
    "Accuracy of every task after every learn/unlearn operation, unlearning score, relapse",
    metrics_inputs,
    metrics_outputs,
    NULL,
    &metrics_vtable,
    "acc_matrix (task-IL), unlearning_score (1 − JS to uniform, log2, worst unlearning), "
    "forget_acc_max, relapse_max (excess over the run without the task; needs counterfactuals), "
    "relapse_raw_max, retention_drop_max, relearn_gap_max.  See docs/uncle.md.",
};

static const LetheNodeType *const node_types[] = {
    &uncle_learn_type, &uncle_unlearn_type, &task_sequence_type, &sequence_metrics_type, NULL};
static const LetheModelKind *const model_kinds[] = {&uncle_kind, NULL};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR,
    LETHE_ABI_MINOR,
    "uncle",
    "0.1.0",
    "LGPL-2.1-or-later",
    "UnCLe hypernetwork continual learning with data-free unlearning, and instruction sequences",
    node_types,
    model_kinds,
};

LETHE_PLUGIN_DEFINE(plugin_info)
