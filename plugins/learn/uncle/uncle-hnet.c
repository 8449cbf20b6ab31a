/* Lethe — UnCLe's chunked hypernetwork and its two phases.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "uncle-hnet.h"

#include <math.h>
#include <string.h>

#include <lethe/error.h>

/* ---- Architecture ------------------------------------------------------ */

gint64
uncle_arch_target_params(const gint64 *sizes, guint n_sizes)
{
  gint64 p = 0;
  for (guint l = 0; l + 1 < n_sizes; l++)
    p += sizes[l + 1] * sizes[l] + sizes[l + 1];
  return p;
}

static gboolean
parse_list(const char *key, const char *value, gint64 *out, guint max, guint *n, GError **error)
{
  g_auto(GStrv) parts = g_strsplit(value, ",", -1);
  *n = 0;
  for (guint i = 0; parts[i] != NULL; i++) {
    char *end = NULL;
    gint64 v = g_ascii_strtoll(g_strstrip(parts[i]), &end, 10);
    if (end == parts[i] || *end != '\0' || v < 1 || *n >= max) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "arch: '%s=%s': element %u '%s' is not a positive integer (at most %u "
                  "elements); write e.g. %s",
                  key, value, i + 1, parts[i], max,
                  g_str_equal(key, "target") ? "target=784,100,100,2" : "hidden=64,128");
      return FALSE;
    }
    out[(*n)++] = v;
  }
  return TRUE;
}

static gboolean
parse_int(const char *key, const char *value, gint64 *out, GError **error)
{
  char *end = NULL;
  gint64 v = g_ascii_strtoll(value, &end, 10);
  if (end == value || *end != '\0' || v < 1 || v > G_MAXINT32) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "arch: '%s=%s' is not a positive integer",
                key, value);
    return FALSE;
  }
  *out = v;
  return TRUE;
}

gboolean
uncle_arch_parse(const char *text, UncleArch *arch, GError **error)
{
  g_return_val_if_fail(text != NULL && arch != NULL, FALSE);
  memset(arch, 0, sizeof *arch);
  g_auto(GStrv) tokens = g_strsplit_set(text, " \t\n", -1);
  for (guint i = 0; tokens[i] != NULL; i++) {
    if (tokens[i][0] == '\0')
      continue;
    char *eq = strchr(tokens[i], '=');
    if (eq == NULL) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "arch: token '%s' is not KEY=VALUE; the keys are target, emb, chunk, chunks, "
                  "hidden and tasks",
                  tokens[i]);
      return FALSE;
    }
    *eq = '\0';
    const char *key = tokens[i], *value = eq + 1;
    gboolean ok;
    if (g_str_equal(key, "target"))
      ok = parse_list(key, value, arch->target, UNCLE_MAX_LAYERS + 1, &arch->n_target, error);
    else if (g_str_equal(key, "hidden"))
      ok = parse_list(key, value, arch->hidden, UNCLE_MAX_LAYERS, &arch->n_hidden, error);
    else if (g_str_equal(key, "emb"))
      ok = parse_int(key, value, &arch->emb, error);
    else if (g_str_equal(key, "chunk"))
      ok = parse_int(key, value, &arch->chunk, error);
    else if (g_str_equal(key, "chunks"))
      ok = parse_int(key, value, &arch->n_chunks, error);
    else if (g_str_equal(key, "tasks"))
      ok = parse_int(key, value, &arch->n_tasks, error);
    else {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "arch: unknown key '%s'; the keys are target, emb, chunk, chunks, hidden and "
                  "tasks",
                  key);
      return FALSE;
    }
    if (!ok)
      return FALSE;
  }
  const char *missing = arch->n_target < 2    ? "target (at least input and output sizes)"
                        : arch->n_hidden == 0 ? "hidden"
                        : arch->emb == 0      ? "emb"
                        : arch->chunk == 0    ? "chunk"
                        : arch->n_tasks == 0  ? "tasks"
                                              : NULL;
  if (missing) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "arch '%s': '%s' is missing", text,
                missing);
    return FALSE;
  }
  arch->n_params = uncle_arch_target_params(arch->target, arch->n_target);
  gint64 need = (arch->n_params + arch->chunk - 1) / arch->chunk;
  if (arch->n_chunks == 0)
    arch->n_chunks = need;
  if (arch->n_chunks != need) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "chunk layout does not match the target: %" G_GINT64_FORMAT
                " chunks of %" G_GINT64_FORMAT " values hold %" G_GINT64_FORMAT
                ", the target MLP needs %" G_GINT64_FORMAT
                " parameters, so chunks=%" G_GINT64_FORMAT "; fix 'chunks' or 'chunk' in the arch",
                arch->n_chunks, arch->chunk, arch->n_chunks * arch->chunk, arch->n_params, need);
    return FALSE;
  }
  return TRUE;
}

static void
append_list(GString *s, const gint64 *v, guint n)
{
  for (guint i = 0; i < n; i++)
    g_string_append_printf(s, "%s%" G_GINT64_FORMAT, i ? "," : "", v[i]);
}

char *
uncle_arch_to_string(const UncleArch *arch)
{
  GString *s = g_string_new("target=");
  append_list(s, arch->target, arch->n_target);
  g_string_append_printf(
      s, " emb=%" G_GINT64_FORMAT " chunk=%" G_GINT64_FORMAT " chunks=%" G_GINT64_FORMAT " hidden=",
      arch->emb, arch->chunk, arch->n_chunks);
  append_list(s, arch->hidden, arch->n_hidden);
  g_string_append_printf(s, " tasks=%" G_GINT64_FORMAT, arch->n_tasks);
  return g_string_free(s, FALSE);
}

/* ---- The hypernetwork --------------------------------------------------- */

static gint64
out_dim(const UncleArch *a)
{
  return a->target[a->n_target - 1];
}

/* Parameters with the right shapes, values zero. */
static UncleHnet *
hnet_alloc(const UncleArch *arch)
{
  UncleHnet *h = g_new0(UncleHnet, 1);
  h->arch = *arch;
  h->params = lethe_params_new();
  gint64 in = 2 * arch->emb;
  for (guint l = 0; l < arch->n_hidden; l++) {
    g_autofree char *w = g_strdup_printf("hnet.%u.weight", l);
    g_autofree char *b = g_strdup_printf("hnet.%u.bias", l);
    g_autoptr(LetheTensor) tw = lethe_tensor_new_2d(LETHE_DTYPE_F32, arch->hidden[l], in);
    g_autoptr(LetheTensor) tb = lethe_tensor_new_1d(LETHE_DTYPE_F32, arch->hidden[l]);
    lethe_params_add(h->params, w, tw, TRUE);
    lethe_params_add(h->params, b, tb, TRUE);
    in = arch->hidden[l];
  }
  g_autoptr(LetheTensor) hw = lethe_tensor_new_2d(LETHE_DTYPE_F32, arch->chunk, in);
  g_autoptr(LetheTensor) hb = lethe_tensor_new_1d(LETHE_DTYPE_F32, arch->chunk);
  lethe_params_add(h->params, "hnet.head.weight", hw, TRUE);
  lethe_params_add(h->params, "hnet.head.bias", hb, TRUE);
  h->n_phi = lethe_params_get_n(h->params);
  g_autoptr(LetheTensor) ce = lethe_tensor_new_2d(LETHE_DTYPE_F32, arch->n_chunks, arch->emb);
  h->chunk_param = lethe_params_add(h->params, "chunk-emb", ce, TRUE);
  h->task_param0 = lethe_params_get_n(h->params);
  for (gint64 t = 0; t < arch->n_tasks; t++) {
    g_autofree char *name = g_strdup_printf("task-emb.%" G_GINT64_FORMAT, t);
    g_autoptr(LetheTensor) te = lethe_tensor_new_2d(LETHE_DTYPE_F32, 1, arch->emb);
    lethe_params_add(h->params, name, te, TRUE);
  }
  h->active = g_new0(gint32, arch->n_tasks);
  h->learned = g_new0(gint32, arch->n_tasks);
  h->task_classes = g_new(gint32, arch->n_tasks * out_dim(arch));
  for (gint64 i = 0; i < arch->n_tasks * out_dim(arch); i++)
    h->task_classes[i] = -1;
  return h;
}

void
uncle_hnet_free(UncleHnet *h)
{
  if (h == NULL)
    return;
  lethe_params_free(h->params);
  g_free(h->active);
  g_free(h->learned);
  g_free(h->task_classes);
  g_free(h);
}

static float *
value_f32(UncleHnet *h, guint i)
{
  return lethe_tensor_f32(lethe_params_get_value(h->params, i));
}

/* The hidden activations of every (task, chunk) pair: [n·chunks, last hidden]. */
static LetheVar *
hnet_hidden(UncleHnet *h, LetheTape *tape, const gint64 *tasks, guint n)
{
  gint64 nc = h->arch.n_chunks;
  gint64 *zeros = lethe_tape_alloc(tape, (gsize)nc * sizeof(gint64));
  memset(zeros, 0, (gsize)nc * sizeof(gint64));
  LetheVar *chunks = lethe_tape_param(tape, h->params, h->chunk_param);
  LetheVar **rows = lethe_tape_alloc(tape, n * sizeof(LetheVar *));
  for (guint i = 0; i < n; i++) {
    LetheVar *e = lethe_tape_param(tape, h->params, h->task_param0 + (guint)tasks[i]);
    LetheVar *pair[2] = {lethe_op_embedding(tape, e, zeros, nc), chunks};
    rows[i] = lethe_op_concat(tape, pair, 2, 1);
  }
  LetheVar *x = n == 1 ? rows[0] : lethe_op_concat(tape, rows, n, 0);
  for (guint l = 0; l < h->arch.n_hidden; l++)
    x = lethe_op_linear(tape, x, lethe_tape_param(tape, h->params, 2 * l),
                        lethe_tape_param(tape, h->params, 2 * l + 1), TRUE);
  return x;
}

LetheVar *
uncle_hnet_generate(UncleHnet *h, LetheTape *tape, const gint64 *tasks, guint n_tasks)
{
  g_return_val_if_fail(h != NULL && tape != NULL && n_tasks > 0, NULL);
  LetheVar *x = hnet_hidden(h, tape, tasks, n_tasks);
  LetheVar *out = lethe_op_linear(tape, x, lethe_tape_param(tape, h->params, h->n_phi - 2),
                                  lethe_tape_param(tape, h->params, h->n_phi - 1), FALSE);
  gint64 shape[2] = {n_tasks, h->arch.n_chunks * h->arch.chunk};
  out = lethe_op_reshape(tape, out, 2, shape);
  if (shape[1] != h->arch.n_params)
    out = lethe_op_slice(tape, out, 1, 0, h->arch.n_params);
  return out;
}

LetheTensor *
uncle_hnet_generate_values(UncleHnet *h, gint64 task)
{
  LetheTape *tape = lethe_tape_new();
  lethe_tape_set_grad_enabled(tape, FALSE);
  LetheVar *theta = uncle_hnet_generate(h, tape, &task, 1);
  LetheTensor *out = NULL;
  if (theta != NULL) {
    gint64 p = h->arch.n_params;
    out = lethe_tensor_new_1d(LETHE_DTYPE_F32, p);
    memcpy(lethe_tensor_f32(out), theta->data, (gsize)p * sizeof(float));
  }
  lethe_tape_free(tape);
  return out;
}

LetheVar *
uncle_target_forward(const UncleArch *arch, LetheTape *tape, LetheVar *theta, LetheVar *x)
{
  if (theta == NULL || x == NULL)
    return NULL;
  if (theta->rank != 1) {
    gint64 p = arch->n_params;
    theta = lethe_op_reshape(tape, theta, 1, &p);
  }
  if (x->rank != 2)
    x = lethe_op_flatten(tape, x);
  gint64 off = 0;
  for (guint l = 0; l + 1 < arch->n_target; l++) {
    gint64 in = arch->target[l], out = arch->target[l + 1];
    gint64 wshape[2] = {out, in};
    LetheVar *w =
        lethe_op_reshape(tape, lethe_op_slice(tape, theta, 0, off, off + out * in), 2, wshape);
    off += out * in;
    LetheVar *b = lethe_op_slice(tape, theta, 0, off, off + out);
    off += out;
    x = lethe_op_linear(tape, x, w, b, l + 2 < arch->n_target);
  }
  return x;
}

/* Mean over the target's parameters of 1/fan-in: the variance the
 * generated parameters get at initialisation. */
static double
target_variance(const UncleArch *a)
{
  double s = 0.0;
  for (guint l = 0; l + 1 < a->n_target; l++)
    s += (double)(a->target[l + 1] * a->target[l] + a->target[l + 1]) / (double)a->target[l];
  return s / (double)a->n_params;
}

UncleHnet *
uncle_hnet_new(const UncleArch *arch, guint64 seed)
{
  g_return_val_if_fail(arch != NULL, NULL);
  UncleHnet *h = hnet_alloc(arch);
  LetheRng rng;
  lethe_rng_init_stream(&rng, seed, 0);
  gint64 in = 2 * arch->emb;
  for (guint l = 0; l < arch->n_hidden; l++) {
    float bound = (float)(1.0 / sqrt((double)in));
    lethe_rng_fill_uniform_f32(&rng, value_f32(h, 2 * l), (gsize)(arch->hidden[l] * in), -bound,
                               bound);
    lethe_rng_fill_uniform_f32(&rng, value_f32(h, 2 * l + 1), (gsize)arch->hidden[l], -bound,
                               bound);
    in = arch->hidden[l];
  }
  lethe_rng_fill_normal_f32(&rng, value_f32(h, h->chunk_param), (gsize)(arch->n_chunks * arch->emb),
                            0.0f, 1.0f);
  for (gint64 t = 0; t < arch->n_tasks; t++)
    lethe_rng_fill_normal_f32(&rng, value_f32(h, h->task_param0 + (guint)t), (gsize)arch->emb, 0.0f,
                              1.0f);

  /* Hyperfan-in for one flat head: Var(θ) = n_h·a²/3·E[h²] set to the
   * target's mean 1/fan-in, E[h²] measured over every (task, chunk). */
  LetheTape *tape = lethe_tape_new();
  lethe_tape_set_grad_enabled(tape, FALSE);
  gint64 *all = g_new(gint64, arch->n_tasks);
  for (gint64 t = 0; t < arch->n_tasks; t++)
    all[t] = t;
  LetheVar *hid = hnet_hidden(h, tape, all, (guint)arch->n_tasks);
  double m2 = 0.0;
  const float *hv = hid->data;
  for (gint64 i = 0; i < hid->n; i++)
    m2 += (double)hv[i] * hv[i];
  m2 = MAX(m2 / (double)hid->n, 1e-6);
  g_free(all);
  lethe_tape_free(tape);
  double a = sqrt(3.0 * target_variance(arch) / ((double)in * m2));
  lethe_rng_fill_uniform_f32(&rng, value_f32(h, h->n_phi - 2), (gsize)(arch->chunk * in), (float)-a,
                             (float)a);
  return h;
}

/* ---- The two phases ---------------------------------------------------- */

void
uncle_config_init(UncleConfig *c)
{
  *c = (UncleConfig){
      .epochs = 5,
      .batch = 128,
      .lr = 1e-3,
      .lr_step = 25,
      .lr_gamma = 0.5,
      .beta = 0.1,
      .clip = 1.0,
      .unlearn_steps = 100,
      .unlearn_decay = 0.9,
      .gamma = 0.01,
      .noise_samples = 10,
      .unlearn_lr = 1e-3,
  };
}

/* Freezes everything but φ, plus the task embedding @task (or none for
 * -1) and the chunk embeddings when @chunks. */
static void
set_trainable(UncleHnet *h, gint64 task, gboolean chunks)
{
  lethe_params_set_frozen(h->params, h->chunk_param, !chunks);
  for (gint64 t = 0; t < h->arch.n_tasks; t++)
    lethe_params_set_frozen(h->params, h->task_param0 + (guint)t, t != task);
}

/* The active tasks but @except, in order. */
static GArray *
active_but(UncleHnet *h, gint64 except)
{
  GArray *a = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (gint64 t = 0; t < h->arch.n_tasks; t++)
    if (h->active[t] && t != except)
      g_array_append_val(a, t);
  return a;
}

/* H*(e_t') for @tasks, from the current φ: [n, P] floats. */
static float *
snapshot(UncleHnet *h, GArray *tasks)
{
  if (tasks->len == 0)
    return NULL;
  LetheTape *tape = lethe_tape_new();
  lethe_tape_set_grad_enabled(tape, FALSE);
  LetheVar *theta = uncle_hnet_generate(h, tape, (gint64 *)tasks->data, tasks->len);
  float *out = g_memdup2(theta->data, (gsize)theta->n * sizeof(float));
  lethe_tape_free(tape);
  return out;
}

/* (n_others + 1) tasks: @first, then @others. */
static gint64 *
task_list(gint64 first, GArray *others)
{
  gint64 *list = g_new(gint64, others->len + 1);
  list[0] = first;
  if (others->len > 0) /* an empty GArray's data may be NULL */
    memcpy(list + 1, others->data, others->len * sizeof(gint64));
  return list;
}

/* Σ over rows of ‖@theta[1:] − @target‖², scaled by @scale. */
static LetheVar *
drift(UncleHnet *h, LetheTape *tape, LetheVar *theta, const float *target, guint n, double scale)
{
  gint64 shape[2] = {n, h->arch.n_params};
  LetheVar *rows = lethe_op_slice(tape, theta, 0, 1, n + 1);
  LetheVar *t = lethe_tape_wrap(tape, LETHE_DTYPE_F32, 2, shape, (gpointer)target, NULL);
  return lethe_op_scale(tape, lethe_op_mse(tape, rows, t), scale * (double)n * h->arch.n_params,
                        0.0);
}

static gboolean
cancelled(GCancellable *c, GError **error)
{
  if (c && g_cancellable_is_cancelled(c)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_CANCELLED, "cancelled");
    return TRUE;
  }
  return FALSE;
}

gboolean
uncle_learn(UncleHnet *h, const UncleConfig *config, gint64 task, LetheTensor *x,
            const gint32 *labels, const gint32 *classes, guint n_classes, guint64 seed,
            GCancellable *cancellable, UncleProgress progress, gpointer user_data,
            double *last_loss, GError **error)
{
  g_return_val_if_fail(h != NULL && x != NULL && labels != NULL, FALSE);
  const UncleArch *a = &h->arch;
  if (task < 0 || task >= a->n_tasks) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "task %" G_GINT64_FORMAT " is out of range: the hypernetwork has %" G_GINT64_FORMAT
                " task embeddings; raise 'tasks'",
                task, a->n_tasks);
    return FALSE;
  }
  if (n_classes == 0 || (gint64)n_classes > out_dim(a)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "task %" G_GINT64_FORMAT
                " has %u classes but the target network has %" G_GINT64_FORMAT
                " outputs; make the last size of 'target' the classes per task",
                task, n_classes, out_dim(a));
    return FALSE;
  }
  g_autoptr(LetheTensor) xc = lethe_tensor_contiguous(x);
  gint64 n = xc->shape[0], in = lethe_tensor_n_elements(xc) / MAX(n, 1);
  if (in != a->target[0] || xc->dtype != LETHE_DTYPE_F32) {
    g_autofree char *shape = lethe_tensor_shape_string(xc);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "task %" G_GINT64_FORMAT ": samples %s %s do not fit the target network's input "
                "of %" G_GINT64_FORMAT
                " (f32); set the first size of 'target' to %" G_GINT64_FORMAT,
                task, lethe_dtype_name(xc->dtype), shape, a->target[0], in);
    return FALSE;
  }
  g_autofree gint32 *y = g_new(gint32, n);
  for (gint64 i = 0; i < n; i++) {
    guint c = 0;
    while (c < n_classes && classes[c] != labels[i])
      c++;
    if (c == n_classes) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "task %" G_GINT64_FORMAT ": sample %" G_GINT64_FORMAT " has label %d, which is "
                  "not one of the task's classes; check the request's 'classes'",
                  task, i, labels[i]);
      return FALSE;
    }
    y[i] = (gint32)c;
  }
  for (guint c = 0; c < n_classes; c++)
    h->task_classes[task * out_dim(a) + c] = classes[c];

  g_autoptr(GArray) others = active_but(h, task);
  g_autofree float *target = snapshot(h, others);
  g_autofree gint64 *tasks = task_list(task, others);
  set_trainable(h, task, !h->chunks_frozen);
  LetheOptimConfig oc;
  lethe_optim_config_init(&oc, LETHE_OPTIM_ADAM, config->lr);
  LetheOptimizer *opt = lethe_optimizer_new(h->params, &oc);
  LetheTape *tape = lethe_tape_new();
  LetheRng rng;
  lethe_rng_init(&rng, seed);
  g_autofree gint64 *perm = g_new(gint64, n);
  const float *xv = lethe_tensor_f32(xc);
  gint64 batch = MIN(config->batch, n);
  guint64 per_epoch = (guint64)((n + batch - 1) / batch), step = 0;
  double loss_value = NAN;
  gboolean ok = TRUE;
  for (guint e = 0; ok && e < config->epochs; e++) {
    lethe_optimizer_set_lr(opt, config->lr * pow(config->lr_gamma, (double)(e / config->lr_step)));
    lethe_rng_permutation(&rng, perm, (gsize)n);
    for (gint64 start = 0; ok && start < n; start += batch, step++) {
      if (cancelled(cancellable, error)) {
        ok = FALSE;
        break;
      }
      gint64 b = MIN(batch, n - start);
      lethe_tape_reset(tape);
      lethe_params_zero_grad(h->params);
      float *xb = lethe_tape_alloc(tape, (gsize)(b * in) * sizeof(float));
      gint32 *yb = lethe_tape_alloc(tape, (gsize)b * sizeof(gint32));
      for (gint64 i = 0; i < b; i++) {
        memcpy(xb + i * in, xv + perm[start + i] * in, (gsize)in * sizeof(float));
        yb[i] = y[perm[start + i]];
      }
      gint64 xshape[2] = {b, in};
      LetheVar *xvar = lethe_tape_wrap(tape, LETHE_DTYPE_F32, 2, xshape, xb, NULL);
      guint k = 1 + (config->beta > 0.0 ? others->len : 0);
      LetheVar *theta = uncle_hnet_generate(h, tape, tasks, k);
      LetheVar *logits = uncle_target_forward(a, tape, lethe_op_slice(tape, theta, 0, 0, 1), xvar);
      LetheVar *loss = lethe_op_cross_entropy(tape, logits, yb, 0.0);
      if (k > 1)
        loss = lethe_op_add(
            tape, loss, drift(h, tape, theta, target, k - 1, config->beta / (double)a->n_tasks));
      if (!lethe_tape_backward(tape, loss, error)) {
        ok = FALSE;
        break;
      }
      loss_value = lethe_var_get(loss, 0);
      if (!isfinite(loss_value)) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                    "task %" G_GINT64_FORMAT ", epoch %u: the loss is %g at step %" G_GUINT64_FORMAT
                    "; lower 'lr'",
                    task, e + 1, loss_value, step);
        ok = FALSE;
        break;
      }
      lethe_params_clip_grad_norm(h->params, config->clip);
      lethe_optimizer_step(opt);
      if (progress)
        progress(step + 1, per_epoch * config->epochs, loss_value, user_data);
    }
  }
  lethe_tape_free(tape);
  lethe_optimizer_free(opt);
  if (!ok)
    return FALSE;
  h->active[task] = 1;
  h->learned[task]++;
  h->chunks_frozen = TRUE;
  h->version++;
  if (last_loss)
    *last_loss = loss_value;
  return TRUE;
}

gboolean
uncle_unlearn(UncleHnet *h, const UncleConfig *config, gint64 task, guint64 seed,
              GCancellable *cancellable, UncleProgress progress, gpointer user_data,
              double *last_loss, GError **error)
{
  g_return_val_if_fail(h != NULL && config != NULL, FALSE);
  const UncleArch *a = &h->arch;
  if (task < 0 || task >= a->n_tasks || !h->active[task]) {
    g_autoptr(GArray) act = active_but(h, -1);
    GString *list = g_string_new(NULL);
    for (guint i = 0; i < act->len; i++)
      g_string_append_printf(list, "%s%" G_GINT64_FORMAT, i ? ", " : "",
                             g_array_index(act, gint64, i));
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "cannot unlearn task %" G_GINT64_FORMAT ": it is not learned (%s; active tasks: "
                "%s); learn it before unlearning it",
                task,
                task >= 0 && task < a->n_tasks && h->learned[task] ? "it was already unlearned"
                                                                   : "it was never learned",
                list->len ? list->str : "none");
    g_string_free(list, TRUE);
    return FALSE;
  }
  g_autoptr(GArray) others = active_but(h, task);
  g_autofree float *target = snapshot(h, others);
  g_autofree gint64 *tasks = task_list(task, others);
  set_trainable(h, -1, FALSE);
  /* E_u shrinks by the decay after each request, truncated each time. */
  guint steps = config->unlearn_steps;
  for (gint64 i = 0; i < h->n_unlearned; i++)
    steps = (guint)floor(steps * config->unlearn_decay);
  steps = MAX(steps, 1u);
  LetheOptimConfig oc;
  lethe_optim_config_init(&oc, LETHE_OPTIM_ADAM, config->unlearn_lr);
  LetheOptimizer *opt = lethe_optimizer_new(h->params, &oc);
  LetheTape *tape = lethe_tape_new();
  LetheRng rng;
  lethe_rng_init(&rng, seed);
  gint64 p = a->n_params;
  /* The S fresh draws enter the gradient only through their mean, which
   * is itself N(0, I/S): draw it directly. */
  float sd = (float)(1.0 / sqrt((double)MAX(config->noise_samples, 1u)));
  double loss_value = NAN;
  gboolean ok = TRUE;
  for (guint s = 0; s < steps; s++) {
    if (cancelled(cancellable, error)) {
      ok = FALSE;
      break;
    }
    lethe_tape_reset(tape);
    lethe_params_zero_grad(h->params);
    LetheVar *theta = uncle_hnet_generate(h, tape, tasks, others->len + 1);
    gint64 shape[2] = {1, p};
    LetheVar *noise = lethe_tape_new_leaf(tape, LETHE_DTYPE_F32, 2, shape, FALSE);
    lethe_rng_fill_normal_f32(&rng, noise->data, (gsize)p, 0.0f, sd);
    LetheVar *loss =
        lethe_op_scale(tape, lethe_op_mse(tape, lethe_op_slice(tape, theta, 0, 0, 1), noise),
                       config->gamma * p, 0.0);
    if (others->len > 0)
      loss = lethe_op_add(tape, loss,
                          drift(h, tape, theta, target, others->len, 1.0 / (double)others->len));
    if (!lethe_tape_backward(tape, loss, error)) {
      ok = FALSE;
      break;
    }
    loss_value = lethe_var_get(loss, 0);
    lethe_params_clip_grad_norm(h->params, config->clip);
    lethe_optimizer_step(opt);
    if (progress)
      progress(s + 1, steps, loss_value, user_data);
  }
  lethe_tape_free(tape);
  lethe_optimizer_free(opt);
  if (!ok)
    return FALSE;
  h->active[task] = 0;
  h->n_unlearned++;
  h->version++;
  if (last_loss)
    *last_loss = loss_value;
  return TRUE;
}

/* ---- The model frame ---------------------------------------------------- */

LetheFrame *
uncle_hnet_to_frame(const UncleHnet *h)
{
  const UncleArch *a = &h->arch;
  LetheFrame *f = lethe_frame_new();
  for (guint i = 0; i < h->task_param0; i++) {
    LetheTensor *v = lethe_params_get_value(h->params, i);
    lethe_frame_take_tensor(f, lethe_params_get_name(h->params, i), lethe_tensor_copy(v));
  }
  LetheTensor *emb = lethe_tensor_new_2d(LETHE_DTYPE_F32, a->n_tasks, a->emb);
  for (gint64 t = 0; t < a->n_tasks; t++)
    memcpy(lethe_tensor_f32(emb) + t * a->emb,
           lethe_tensor_f32(lethe_params_get_value(h->params, h->task_param0 + (guint)t)),
           (gsize)a->emb * sizeof(float));
  lethe_frame_take_tensor(f, "task-emb", emb);
  LetheTensor *active = lethe_tensor_new_1d(LETHE_DTYPE_I32, a->n_tasks);
  LetheTensor *learned = lethe_tensor_new_1d(LETHE_DTYPE_I32, a->n_tasks);
  LetheTensor *classes = lethe_tensor_new_2d(LETHE_DTYPE_I32, a->n_tasks, out_dim(a));
  memcpy(lethe_tensor_i32(active), h->active, (gsize)a->n_tasks * sizeof(gint32));
  memcpy(lethe_tensor_i32(learned), h->learned, (gsize)a->n_tasks * sizeof(gint32));
  memcpy(lethe_tensor_i32(classes), h->task_classes,
         (gsize)(a->n_tasks * out_dim(a)) * sizeof(gint32));
  lethe_frame_take_tensor(f, "uncle/active", active);
  lethe_frame_take_tensor(f, "uncle/learned", learned);
  lethe_frame_take_tensor(f, "uncle/task-classes", classes);
  g_autofree char *arch = uncle_arch_to_string(a);
  lethe_frame_set_meta_string(f, "model-kind", "uncle-hypernet");
  lethe_frame_set_meta_string(f, "arch", arch);
  lethe_frame_set_meta_int(f, "version", h->version);
  lethe_frame_set_meta_int(f, "unlearn-requests", h->n_unlearned);
  lethe_frame_set_meta_int(f, "chunks-frozen", h->chunks_frozen);
  return f;
}

/* The tensor @name of @f with exactly @shape, or an error saying which. */
static LetheTensor *
expect(const LetheFrame *f, const char *name, LetheDType dtype, guint rank, const gint64 *shape,
       const char *why, GError **error)
{
  LetheTensor *t = lethe_frame_get_tensor(f, name);
  g_autoptr(LetheTensor) want = lethe_tensor_new_uninit(dtype, rank, shape);
  g_autofree char *ws = lethe_tensor_shape_string(want);
  if (t == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "uncle-hypernet model: tensor '%s' %s %s is missing (%s)", name,
                lethe_dtype_name(dtype), ws, why);
    return NULL;
  }
  if (t->dtype != dtype || !lethe_tensor_same_shape(t, want)) {
    g_autofree char *ts = lethe_tensor_shape_string(t);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "uncle-hypernet model: tensor '%s' is %s %s but the arch needs %s %s (%s)", name,
                lethe_dtype_name(t->dtype), ts, lethe_dtype_name(dtype), ws, why);
    return NULL;
  }
  return t;
}

static void
copy_into(LetheTensor *dst, LetheTensor *src)
{
  g_autoptr(LetheTensor) c = lethe_tensor_contiguous(src);
  memcpy(lethe_tensor_data(dst), lethe_tensor_data(c), lethe_tensor_n_bytes(dst));
}

UncleHnet *
uncle_hnet_from_frame(const LetheFrame *frame, GError **error)
{
  g_return_val_if_fail(frame != NULL, NULL);
  const char *kind = lethe_frame_get_meta_string(frame, "model-kind", "");
  if (!g_str_equal(kind, "uncle-hypernet")) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "the model frame is of kind '%s', not 'uncle-hypernet'; connect the output of "
                "uncle-learn",
                kind);
    return NULL;
  }
  UncleArch arch;
  if (!uncle_arch_parse(lethe_frame_get_meta_string(frame, "arch", ""), &arch, error)) {
    g_prefix_error(error, "uncle-hypernet model: ");
    return NULL;
  }
  /* The chunk layout first: the head's width and the chunk embeddings. */
  gint64 last = arch.hidden[arch.n_hidden - 1];
  gint64 head[2] = {arch.chunk, last}, chunks[2] = {arch.n_chunks, arch.emb};
  g_autofree char *why =
      g_strdup_printf("chunk layout: %" G_GINT64_FORMAT " chunks of %" G_GINT64_FORMAT
                      " generate the %" G_GINT64_FORMAT " parameters of the target",
                      arch.n_chunks, arch.chunk, arch.n_params);
  if (!expect(frame, "hnet.head.weight", LETHE_DTYPE_F32, 2, head, why, error) ||
      !expect(frame, "hnet.head.bias", LETHE_DTYPE_F32, 1, head, why, error) ||
      !expect(frame, "chunk-emb", LETHE_DTYPE_F32, 2, chunks, why, error))
    return NULL;
  g_autoptr(UncleHnet) h = hnet_alloc(&arch);
  for (guint i = 0; i < h->task_param0; i++) {
    LetheTensor *v = lethe_params_get_value(h->params, i);
    LetheTensor *t = expect(frame, lethe_params_get_name(h->params, i), LETHE_DTYPE_F32, v->rank,
                            v->shape, "hypernetwork layer sizes 2·emb, hidden…, chunk", error);
    if (t == NULL)
      return NULL;
    copy_into(v, t);
  }
  gint64 emb[2] = {arch.n_tasks, arch.emb}, per_task[2] = {arch.n_tasks, out_dim(&arch)};
  LetheTensor *te = expect(frame, "task-emb", LETHE_DTYPE_F32, 2, emb, "one row per task", error);
  LetheTensor *act =
      te ? expect(frame, "uncle/active", LETHE_DTYPE_I32, 1, emb, "the active set", error) : NULL;
  LetheTensor *lrn =
      act ? expect(frame, "uncle/learned", LETHE_DTYPE_I32, 1, emb, "learn counts", error) : NULL;
  LetheTensor *cls = lrn ? expect(frame, "uncle/task-classes", LETHE_DTYPE_I32, 2, per_task,
                                  "classes of each task's outputs", error)
                         : NULL;
  if (cls == NULL)
    return NULL;
  g_autoptr(LetheTensor) tec = lethe_tensor_contiguous(te);
  for (gint64 t = 0; t < arch.n_tasks; t++)
    memcpy(value_f32(h, h->task_param0 + (guint)t), lethe_tensor_f32(tec) + t * arch.emb,
           (gsize)arch.emb * sizeof(float));
  g_autoptr(LetheTensor) a2 = lethe_tensor_contiguous(act);
  g_autoptr(LetheTensor) l2 = lethe_tensor_contiguous(lrn);
  g_autoptr(LetheTensor) c2 = lethe_tensor_contiguous(cls);
  memcpy(h->active, lethe_tensor_data(a2), (gsize)arch.n_tasks * sizeof(gint32));
  memcpy(h->learned, lethe_tensor_data(l2), (gsize)arch.n_tasks * sizeof(gint32));
  memcpy(h->task_classes, lethe_tensor_data(c2),
         (gsize)(arch.n_tasks * out_dim(&arch)) * sizeof(gint32));
  h->version = lethe_frame_get_meta_int(frame, "version", 0);
  h->n_unlearned = lethe_frame_get_meta_int(frame, "unlearn-requests", 0);
  h->chunks_frozen = lethe_frame_get_meta_int(frame, "chunks-frozen", 1) != 0;
  return g_steal_pointer(&h);
}

LetheTensor *
uncle_hnet_forward_all(UncleHnet *h, LetheTensor *x, gint64 eval_task, gint64 n_classes,
                       GError **error)
{
  const UncleArch *a = &h->arch;
  gint64 out = out_dim(a), n = x->shape[0];
  if (x->rank < 2 || lethe_tensor_n_elements(x) / MAX(n, 1) != a->target[0]) {
    g_autofree char *shape = lethe_tensor_shape_string(x);
    g_set_error(
        error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
        "uncle-hypernet: input %s does not fit the target network's input of %" G_GINT64_FORMAT,
        shape, a->target[0]);
    return NULL;
  }
  if (eval_task >= a->n_tasks) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "uncle-hypernet: eval-task %" G_GINT64_FORMAT " is out of range (%" G_GINT64_FORMAT
                " tasks)",
                eval_task, a->n_tasks);
    return NULL;
  }
  g_autoptr(GArray) tasks = g_array_new(FALSE, FALSE, sizeof(gint64));
  gint64 k = n_classes;
  for (gint64 t = 0; t < a->n_tasks; t++) {
    if (eval_task >= 0 ? t != eval_task : h->task_classes[t * out] < 0)
      continue;
    g_array_append_val(tasks, t);
    for (gint64 c = 0; c < out; c++)
      k = MAX(k, (gint64)h->task_classes[t * out + c] + 1);
  }
  if (eval_task >= 0)
    k = out;
  LetheTensor *logits = lethe_tensor_new_2d(LETHE_DTYPE_F32, n, MAX(k, 1));
  if (tasks->len == 0)
    return logits;
  g_autoptr(LetheTensor) xf = lethe_tensor_to_dtype(x, LETHE_DTYPE_F32);
  LetheTape *tape = lethe_tape_new();
  lethe_tape_set_grad_enabled(tape, FALSE);
  LetheVar *theta = uncle_hnet_generate(h, tape, (gint64 *)tasks->data, tasks->len);
  LetheVar *xv = lethe_tape_input(tape, xf, FALSE);
  float *dst = lethe_tensor_f32(logits);
  for (guint i = 0; i < tasks->len; i++) {
    gint64 t = g_array_index(tasks, gint64, i);
    LetheVar *o = uncle_target_forward(a, tape, lethe_op_slice(tape, theta, 0, i, i + 1), xv);
    if (o == NULL)
      break;
    const float *src = o->data;
    for (gint64 r = 0; r < n; r++)
      for (gint64 c = 0; c < out; c++) {
        gint64 col = eval_task >= 0 ? c : h->task_classes[t * out + c];
        if (col >= 0)
          dst[r * k + col] = src[r * out + c];
      }
  }
  gboolean ok = lethe_tape_check(tape, error);
  lethe_tape_free(tape);
  if (!ok)
    g_clear_pointer(&logits, lethe_tensor_unref);
  return logits;
}
