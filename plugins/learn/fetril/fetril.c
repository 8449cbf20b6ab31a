/* Lethe — FeTrIL: exemplar-free class-incremental learning by feature
 * translation (Petit et al., WACV 2023).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [tasks]
 *   plugin = class-incremental
 *   input = train
 *   classes-per-task = 5,1,1,1,1,1
 *
 *   [learn]
 *   plugin = fetril
 *   input = tasks
 *   baselines = true             # also emit ncm, upper-bound, deesil, finetune
 *
 * State 0: trains `arch` (a `sequential` network whose last layer is
 * linear(d, K)) with cross-entropy on the first state's classes and
 * freezes everything but that last layer as the feature extractor F.
 * Every state s: computes F(x) of the new classes and stores their
 * centroids μ_c (raw features); for every past class p picks the new class
 * n* nearest to μ_p (Euclidean, raw features, only this state's new classes
 * are candidates) and makes pseudo-features f − μ_n* + μ_p from every real
 * feature f of n*; then refits from scratch one-vs-rest linear SVMs for all
 * seen classes on the real features of the new classes plus the
 * pseudo-features of the past ones, every row L2-normalised
 * (liblinear's L2R_L2LOSS_SVC in the primal, C = 1, tol 1e-4, bias 1 as a
 * regularised constant feature: scikit-learn's LinearSVC(dual=False)).
 *
 * Readings chosen where the method card marks a bug or an inference:
 * - the reference forgets to L2-normalise the first 512-row chunk of
 *   features; here every row is normalised;
 * - the reference's AugMix fine-tuning of the initial network (and its
 *   learning-rate function that resets every epoch) is not reproduced: F is
 *   the `arch` network trained with cross-entropy for `epochs` epochs;
 * - with two classes liblinear fits one hyperplane and the second class
 *   scores its negation, as LinearSVC does.
 *
 * The model frames (kind "fetril") hold the extractor's tensors under
 * "extractor/", the SVMs as "svm/weight" [K, d] and "svm/bias" [K] over all
 * K classes of the stream, and metadata "extractor-arch", "classifier"
 * ("svm" or "ncm") and "seen-classes"; classes not seen yet score −1e9.
 * The kind's backward is the cross-entropy gradient of the SVM scores in
 * svm/weight and svm/bias (the extractor is frozen), so SSD can unlearn
 * from a FeTrIL model.
 *
 * With `baselines = true` the same extractor also yields, on their own
 * outputs: `ncm` (nearest class mean of normalised features), `upper-bound`
 * (SVMs on the real features of every seen class: not exemplar-free, the
 * ceiling for a frozen F), `deesil` (each state's SVMs fitted on that
 * state's classes only and frozen afterwards: no pseudo-features; a state
 * of one class fits it against nothing, every row positive) and `finetune`
 * (the whole network trained on each state's data in turn, a sequential
 * model).  Metrics per state: `state_seconds` (features + translation +
 * SVMs), `translation_mean_error` (max |mean of pseudo-features − μ_p|).
 */
#include <math.h>
#include <string.h>

#include <lethe/metrics.h>
#include <lethe/model.h>
#include <lethe/nn-model.h>
#include <lethe/plugin.h>

#include "fetril-math.h"

#define DEFAULT_ARCH                                                                               \
  "conv2d(1,16,3,pad=1) relu maxpool(2) conv2d(16,32,3,pad=1) relu maxpool(2) flatten "            \
  "linear(1568,128) relu linear(128,10)"
#define EXTRACTOR_PREFIX "extractor/"
#define UNSEEN_SCORE     -1e9f
#define FEATURE_BATCH    512

enum { OUT_MODEL, OUT_NCM, OUT_UPPER, OUT_DEESIL, OUT_FINETUNE };

typedef struct {
  gboolean seen;
  gint64 n;
  double *mu;   /* [d] centroid of raw features */
  float *feats; /* [n, d] raw features (source of pseudo-features, upper bound) */
  float *ncm;   /* [d] mean of normalised features */
} ClassState;

typedef struct {
  LetheSequential *net; /* the state-0 network, then the fine-tuning baseline */
  LetheSequential *extractor;
  LetheFrame *extractor_frame; /* "extractor/<name>" tensors, shared by every model frame */
  char *extractor_arch;
  gint64 d, k;
  ClassState *cls;
  float *w, *b;               /* FeTrIL SVMs [k, d], [k] */
  float *w_deesil, *b_deesil; /* DeeSIL-like SVMs, frozen per state */
  gint64 task;
  LetheRng rng;
} Fetril;

static void
fetril_free(gpointer p)
{
  Fetril *f = p;
  g_clear_pointer(&f->net, lethe_sequential_free);
  g_clear_pointer(&f->extractor, lethe_sequential_free);
  g_clear_pointer(&f->extractor_frame, lethe_frame_unref);
  g_free(f->extractor_arch);
  for (gint64 c = 0; f->cls && c < f->k; c++) {
    g_free(f->cls[c].mu);
    g_free(f->cls[c].feats);
    g_free(f->cls[c].ncm);
  }
  g_free(f->cls);
  g_free(f->w), g_free(f->b), g_free(f->w_deesil), g_free(f->b_deesil);
  g_free(f);
}

/* ---- The "fetril" model kind ------------------------------------------- */

/* The extractor as a sequential model frame: the "extractor/" tensors. */
static LetheFrame *
extractor_subframe(const LetheFrame *model, GError **error)
{
  const char *arch = lethe_frame_get_meta_string(model, "extractor-arch", NULL);
  if (arch == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "fetril model: no \"extractor-arch\" metadata; the frame was not made by fetril");
    return NULL;
  }
  LetheFrame *sub = lethe_frame_new();
  for (guint i = 0; i < lethe_frame_get_n_tensors(model); i++) {
    const char *name;
    LetheTensor *t = lethe_frame_get_nth(model, i, &name);
    if (g_str_has_prefix(name, EXTRACTOR_PREFIX))
      lethe_frame_set_tensor(sub, name + strlen(EXTRACTOR_PREFIX), t);
  }
  lethe_frame_set_meta_string(sub, "model-kind", "sequential");
  lethe_frame_set_meta_string(sub, "arch", arch);
  return sub;
}

/* L2-normalised features of @x: [n, d] f32.  Returns: (transfer full) */
static LetheTensor *
normalized_features(LetheSequential *extractor, LetheTensor *x, GError **error)
{
  LetheTensor *f = lethe_sequential_predict(extractor, x, FEATURE_BATCH, error);
  if (f == NULL)
    return NULL;
  fetril_l2_normalize_rows(lethe_tensor_f32(f), f->shape[0], f->shape[1]);
  return f;
}

static gboolean
head_tensors(const LetheFrame *model, LetheTensor **w, LetheTensor **b, gint64 d, GError **error)
{
  *w = lethe_frame_get_tensor(model, "svm/weight");
  *b = lethe_frame_get_tensor(model, "svm/bias");
  if (*w == NULL || *b == NULL || (*w)->rank != 2 || (*w)->shape[1] != d || (*b)->rank != 1 ||
      (*b)->shape[0] != (*w)->shape[0] || (*w)->dtype != LETHE_DTYPE_F32 ||
      (*b)->dtype != LETHE_DTYPE_F32) {
    g_set_error(
        error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
        "fetril model: svm/weight must be f32 [K, %" G_GINT64_FORMAT "] and svm/bias f32 [K]", d);
    return FALSE;
  }
  return TRUE;
}

/* Scores of every class for features @f; unseen classes get UNSEEN_SCORE. */
static LetheTensor *
scores(const LetheFrame *model, LetheTensor *f, GError **error)
{
  const gint64 n = f->shape[0], d = f->shape[1];
  const char *classifier = lethe_frame_get_meta_string(model, "classifier", "svm");
  LetheTensor *out = NULL;
  gint64 k;
  if (g_strcmp0(classifier, "ncm") == 0) {
    LetheTensor *m = lethe_frame_get_tensor(model, "ncm/means");
    if (m == NULL || m->rank != 2 || m->shape[1] != d || m->dtype != LETHE_DTYPE_F32) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                  "fetril model: ncm/means must be f32 [K, %" G_GINT64_FORMAT "]", d);
      return NULL;
    }
    g_autoptr(LetheTensor) mc = lethe_tensor_contiguous(m);
    k = m->shape[0];
    out = lethe_tensor_new_2d(LETHE_DTYPE_F32, n, k);
    fetril_ncm_scores(lethe_tensor_f32(f), n, d, lethe_tensor_f32(mc), k, lethe_tensor_f32(out));
  } else {
    LetheTensor *w, *b;
    if (!head_tensors(model, &w, &b, d, error))
      return NULL;
    g_autoptr(LetheTensor) wc = lethe_tensor_contiguous(w);
    g_autoptr(LetheTensor) bc = lethe_tensor_contiguous(b);
    k = w->shape[0];
    out = lethe_tensor_new_2d(LETHE_DTYPE_F32, n, k);
    fetril_linear_scores(lethe_tensor_f32(f), n, d, lethe_tensor_f32(wc), lethe_tensor_f32(bc), k,
                         lethe_tensor_f32(out));
  }
  GVariant *seen = lethe_frame_get_meta(model, "seen-classes");
  if (seen && g_variant_is_of_type(seen, G_VARIANT_TYPE("ai"))) {
    gsize ns;
    const gint32 *sc = g_variant_get_fixed_array(seen, &ns, sizeof(gint32));
    g_autofree gboolean *mask = g_new0(gboolean, k);
    for (gsize i = 0; i < ns; i++)
      if (sc[i] >= 0 && sc[i] < k)
        mask[sc[i]] = TRUE;
    for (gint64 i = 0; i < n; i++)
      for (gint64 c = 0; c < k; c++)
        if (!mask[c])
          lethe_tensor_f32(out)[i * k + c] = UNSEEN_SCORE;
  }
  return out;
}

static gboolean
kind_features(const LetheFrame *model, LetheTensor *x, LetheTensor **f, GError **error)
{
  g_autoptr(LetheFrame) sub = extractor_subframe(model, error);
  if (sub == NULL)
    return FALSE;
  LetheSequential *ex = lethe_sequential_new_from_frame(sub, error);
  if (ex == NULL)
    return FALSE;
  *f = normalized_features(ex, x, error);
  lethe_sequential_free(ex);
  return *f != NULL;
}

static gboolean
kind_forward(const LetheFrame *model, LetheTensor *x, LetheTensor **out, GError **error)
{
  g_autoptr(LetheTensor) f = NULL;
  if (!kind_features(model, x, &f, error))
    return FALSE;
  *out = scores(model, f, error);
  return *out != NULL;
}

/* Mean softmax cross-entropy of the SVM scores; gradients for svm/weight
 * and svm/bias only (the extractor is frozen). */
static gboolean
kind_loss_grad(const LetheFrame *model, LetheTensor *x, LetheTensor *y, LetheFrame **grads,
               double *loss, GError **error)
{
  if (g_strcmp0(lethe_frame_get_meta_string(model, "classifier", "svm"), "svm") != 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED,
                "fetril model: the nearest-class-mean classifier has no trainable parameters, so "
                "no gradient");
    return FALSE;
  }
  g_autoptr(LetheTensor) f = NULL;
  if (!kind_features(model, x, &f, error))
    return FALSE;
  g_autoptr(LetheTensor) s = scores(model, f, error);
  if (s == NULL)
    return FALSE;
  const gint64 n = f->shape[0], d = f->shape[1], k = s->shape[1];
  g_autoptr(LetheTensor) yi = lethe_tensor_to_dtype(y, LETHE_DTYPE_I32);
  if (yi->rank != 1 || yi->shape[0] != n) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "fetril model: labels must be [%" G_GINT64_FORMAT "]", n);
    return FALSE;
  }
  LetheTensor *gw = lethe_tensor_new_2d(LETHE_DTYPE_F32, k, d);
  LetheTensor *gb = lethe_tensor_new_1d(LETHE_DTYPE_F32, k);
  g_autofree double *p = g_new(double, k);
  double total = 0;
  for (gint64 i = 0; i < n; i++) {
    const gint32 label = lethe_tensor_i32(yi)[i];
    if (label < 0 || label >= k) {
      lethe_tensor_unref(gw), lethe_tensor_unref(gb);
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "fetril model: label %d of row %" G_GINT64_FORMAT
                  " is not among its %" G_GINT64_FORMAT " classes",
                  label, i, k);
      return FALSE;
    }
    lethe_metrics_softmax(lethe_tensor_f32(s) + i * k, k, p);
    total += -log(MAX(p[label], 1e-300));
    for (gint64 c = 0; c < k; c++) {
      const double g = (p[c] - (c == label)) / (double)n;
      lethe_tensor_f32(gb)[c] += (float)g;
      for (gint64 j = 0; j < d; j++)
        lethe_tensor_f32(gw)[c * d + j] += (float)(g * lethe_tensor_f32(f)[i * d + j]);
    }
  }
  *grads = lethe_frame_new();
  lethe_frame_take_tensor(*grads, "svm/weight", gw);
  lethe_frame_take_tensor(*grads, "svm/bias", gb);
  if (loss)
    *loss = total / (double)MAX(n, 1);
  return TRUE;
}

static const LetheModelKind fetril_kind = {
    "fetril",
    "a frozen feature extractor with linear SVMs (or class means) on normalised features",
    kind_forward,
    kind_loss_grad,
};

/* ---- The learner ------------------------------------------------------- */

static gboolean
fetril_init(LetheNode *node, GError **error)
{
  Fetril *f = g_new0(Fetril, 1);
  lethe_rng_init(&f->rng, lethe_node_get_seed(node));
  lethe_node_set_private(node, f, fetril_free);
  return TRUE;
}

static gboolean
train_epochs(LetheNode *node, LetheSequential *net, LetheTensor *x, LetheTensor *y, Fetril *f,
             const char *what, GError **error)
{
  LetheOptimConfig cfg;
  gboolean adam = g_strcmp0(lethe_node_get_string(node, "optimizer"), "adam") == 0;
  lethe_optim_config_init(&cfg, adam ? LETHE_OPTIM_ADAM : LETHE_OPTIM_SGD,
                          lethe_node_get_double(node, "lr"));
  if (!adam)
    cfg.momentum = 0.9;
  LetheOptimizer *opt = lethe_optimizer_new(lethe_sequential_get_params(net), &cfg);
  const gint64 epochs = lethe_node_get_int(node, "epochs");
  gboolean ok = TRUE;
  for (gint64 e = 0; e < epochs && ok; e++) {
    g_autofree char *msg =
        g_strdup_printf("%s: epoch %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT, what, e + 1, epochs);
    lethe_node_progress(node, msg, (double)e / (double)epochs);
    ok = lethe_sequential_train_epoch(net, opt, x, y, lethe_node_get_int(node, "batch"), &f->rng,
                                      lethe_node_get_cancellable(node), NULL, NULL, NULL, error);
  }
  lethe_optimizer_free(opt);
  return ok;
}

/* Splits the trained network into the extractor (every layer but the last,
 * which must be linear(d, K)). */
static gboolean
make_extractor(Fetril *f, const char *name, GError **error)
{
  g_autoptr(LetheFrame) all = NULL;
  g_autoptr(LetheFrame) sub = NULL;
  g_autofree char *head_prefix = NULL;
  const guint n_layers = lethe_sequential_get_n_layers(f->net);
  const char *last = lethe_sequential_get_layer_name(f->net, n_layers - 1);
  if (n_layers < 2 || g_ascii_strncasecmp(last, "linear", 6) != 0)
    goto bad_arch;
  GString *arch = g_string_new(NULL);
  for (guint i = 0; i + 1 < n_layers; i++)
    g_string_append_printf(arch, "%s%s", i ? " " : "", lethe_sequential_get_layer_name(f->net, i));
  f->extractor_arch = g_string_free(arch, FALSE);
  all = lethe_sequential_to_frame(f->net, 0);
  sub = lethe_frame_new();
  f->extractor_frame = lethe_frame_new();
  head_prefix = g_strdup_printf("%u.", n_layers - 1);
  for (guint i = 0; i < lethe_frame_get_n_tensors(all); i++) {
    const char *tname;
    LetheTensor *t = lethe_frame_get_nth(all, i, &tname);
    if (g_str_has_prefix(tname, head_prefix))
      continue;
    lethe_frame_set_tensor(sub, tname, t);
    g_autofree char *key = g_strconcat(EXTRACTOR_PREFIX, tname, NULL);
    lethe_frame_set_tensor(f->extractor_frame, key, t);
  }
  lethe_frame_set_meta_string(sub, "arch", f->extractor_arch);
  f->extractor = lethe_sequential_new_from_frame(sub, error);
  return f->extractor != NULL;

  /* ERRORS */
bad_arch:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "%s (fetril): the last layer of 'arch' is '%s'; it must be the classification "
              "layer linear(d, K), whose input d is the feature size",
              name, last);
  return FALSE;
}

static void
set_classes_meta(LetheFrame *frame, const char *key, const gint32 *classes, gsize n)
{
  lethe_frame_set_meta(frame, key,
                       g_variant_new_fixed_array(G_VARIANT_TYPE_INT32, classes, n, sizeof(gint32)));
}

/* A "fetril" model frame: shared extractor tensors plus a head. */
static LetheFrame *
model_frame(Fetril *f, const LetheFrame *request, const char *classifier, const float *w,
            const float *b, const gint32 *seen, gsize n_seen, double seconds)
{
  LetheFrame *m = lethe_frame_copy(f->extractor_frame);
  if (w) {
    LetheTensor *tw = lethe_tensor_new_2d(LETHE_DTYPE_F32, f->k, f->d);
    LetheTensor *tb = lethe_tensor_new_1d(LETHE_DTYPE_F32, f->k);
    memcpy(lethe_tensor_f32(tw), w, sizeof(float) * f->k * f->d);
    memcpy(lethe_tensor_f32(tb), b, sizeof(float) * f->k);
    lethe_frame_take_tensor(m, "svm/weight", tw);
    lethe_frame_take_tensor(m, "svm/bias", tb);
  } else {
    LetheTensor *tm = lethe_tensor_new_2d(LETHE_DTYPE_F32, f->k, f->d);
    for (gint64 c = 0; c < f->k; c++)
      if (f->cls[c].ncm)
        memcpy(lethe_tensor_f32(tm) + c * f->d, f->cls[c].ncm, sizeof(float) * f->d);
    lethe_frame_take_tensor(m, "ncm/means", tm);
  }
  lethe_frame_set_meta_string(m, "model-kind", "fetril");
  g_autofree char *arch = g_strdup_printf("fetril(%s) %s", f->extractor_arch, classifier);
  lethe_frame_set_meta_string(m, "arch", arch);
  lethe_frame_set_meta_string(m, "extractor-arch", f->extractor_arch);
  lethe_frame_set_meta_string(m, "classifier", w ? "svm" : "ncm");
  lethe_frame_set_meta_string(m, "method", classifier);
  lethe_frame_set_meta_int(m, "version", f->task + 1);
  lethe_frame_set_meta_int(m, "task", f->task);
  lethe_frame_set_meta_int(m, "n-classes", f->k);
  lethe_frame_set_meta_string(m, "event", "learn");
  lethe_frame_set_meta_double(m, "train-seconds", seconds);
  GVariant *cl = lethe_frame_get_meta(request, "classes");
  if (cl)
    lethe_frame_set_meta(m, "classes", cl);
  set_classes_meta(m, "seen-classes", seen, n_seen);
  return m;
}

/* The classes of a learn request: its "classes" metadata, else its labels. */
static GArray *
request_classes(const LetheFrame *frame, const gint32 *y, gint64 n, gint64 k)
{
  GArray *a = g_array_new(FALSE, FALSE, sizeof(gint32));
  GVariant *v = lethe_frame_get_meta(frame, "classes");
  if (v && g_variant_is_of_type(v, G_VARIANT_TYPE("ai"))) {
    gsize nc;
    const gint32 *c = g_variant_get_fixed_array(v, &nc, sizeof(gint32));
    g_array_append_vals(a, c, (guint)nc);
    return a;
  }
  g_autofree gboolean *present = g_new0(gboolean, k);
  for (gint64 i = 0; i < n; i++)
    present[y[i]] = TRUE;
  for (gint32 c = 0; c < k; c++)
    if (present[c])
      g_array_append_val(a, c);
  return a;
}

/* Rows of @src (raw [n, d]) of class @c, normalised, appended to @x/@y. */
static void
append_rows(GArray *x, GArray *y, const float *src, gint64 n, gint64 d, gint32 c)
{
  const guint start = x->len;
  g_array_append_vals(x, src, (guint)(n * d));
  fetril_l2_normalize_rows((float *)x->data + start, n, d);
  for (gint64 i = 0; i < n; i++)
    g_array_append_val(y, c);
}

static gboolean
fit(const GArray *x, const GArray *y, gint64 d, const gint32 *classes, guint n_classes, float *w,
    float *b, GError **error)
{
  FetrilSvmParams p;
  fetril_svm_params_init(&p);
  g_autofree float *wc = g_new(float, n_classes *d);
  g_autofree float *bc = g_new(float, n_classes);
  if (!fetril_svm_train((const float *)x->data, (const gint32 *)y->data, y->len, d, classes,
                        n_classes, &p, wc, bc, error))
    return FALSE;
  for (guint c = 0; c < n_classes; c++) {
    memcpy(w + classes[c] * d, wc + c * d, sizeof(float) * d);
    b[classes[c]] = bc[c];
  }
  return TRUE;
}

static gboolean
fetril_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  Fetril *f = lethe_node_get_private(node);
  const char *name = lethe_node_get_name(node);
  const LetheFrame *req = inputs[0];
  const gboolean baselines = lethe_node_get_bool(node, "baselines");
  const char *event = lethe_frame_get_meta_string(req, "event", "learn");
  if (g_strcmp0(event, "learn") != 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED,
                "%s (fetril): got a '%s' request; FeTrIL only learns (put an unlearner such as ssd "
                "after it)",
                name, event);
    return FALSE;
  }
  LetheTensor *x = lethe_frame_get_tensor(req, "x");
  LetheTensor *yt = lethe_frame_get_tensor(req, "y");
  if (x == NULL || yt == NULL || x->shape[0] == 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s (fetril): a learn request needs non-empty 'x' and 'y'", name);
    return FALSE;
  }
  g_autoptr(LetheTensor) y = lethe_tensor_to_dtype(yt, LETHE_DTYPE_I32);
  const gint64 n = x->shape[0];
  const gint32 *lab = lethe_tensor_i32(y);

  if (f->net == NULL) {
    /* State 0: the extractor. */
    f->k = lethe_frame_get_meta_int(req, "n-classes", 0);
    if (lethe_node_param_is_set(node, "classes") || f->k <= 0)
      f->k = lethe_node_get_int(node, "classes");
    if (f->k <= 0) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s (fetril): the request has no \"n-classes\" metadata; set the 'classes' "
                  "parameter to the number of classes of the stream",
                  name);
      return FALSE;
    }
    if (!(f->net = lethe_sequential_new(lethe_node_get_string(node, "arch"),
                                        lethe_node_get_seed(node), error))) {
      g_prefix_error(error, "%s (fetril): ", name);
      return FALSE;
    }
    if (!train_epochs(node, f->net, x, y, f, "feature extractor", error) ||
        !make_extractor(f, name, error)) {
      g_prefix_error(error, "%s (fetril): ", name);
      return FALSE;
    }
    f->cls = g_new0(ClassState, f->k);
    f->task = 0;
  } else {
    f->task++;
  }
  for (gint64 i = 0; i < n; i++)
    if (lab[i] < 0 || lab[i] >= f->k) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s (fetril): label %d is outside 0..%" G_GINT64_FORMAT
                  "; raise the 'classes' parameter",
                  name, lab[i], f->k - 1);
      return FALSE;
    }

  gint64 t0 = g_get_monotonic_time();
  g_autoptr(LetheTensor) feats = lethe_sequential_predict(f->extractor, x, FEATURE_BATCH, error);
  if (feats == NULL) {
    g_prefix_error(error, "%s (fetril): ", name);
    return FALSE;
  }
  const gint64 d = f->d = feats->shape[1];
  if (f->b == NULL) {
    g_free(f->w);
    f->w = g_new0(float, f->k *d), f->b = g_new0(float, f->k);
    f->w_deesil = g_new0(float, f->k *d), f->b_deesil = g_new0(float, f->k);
  }
  g_autoptr(GArray) new_classes = request_classes(req, lab, n, f->k);
  const gint32 *nc = (const gint32 *)new_classes->data;
  for (guint c = 0; c < new_classes->len; c++) {
    if (nc[c] < 0 || nc[c] >= f->k || f->cls[nc[c]].seen) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s (fetril): task %" G_GINT64_FORMAT
                  " brings a class that an earlier state already learned (or one out of range); "
                  "FeTrIL needs disjoint class-incremental states",
                  name, f->task);
      return FALSE;
    }
  }

  /* Centroids and features of the new classes. */
  const float *fv = lethe_tensor_f32(feats);
  for (guint c = 0; c < new_classes->len; c++) {
    ClassState *cs = &f->cls[nc[c]];
    gint64 m = 0;
    for (gint64 i = 0; i < n; i++)
      m += lab[i] == nc[c];
    if (m == 0) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s (fetril): task %" G_GINT64_FORMAT " lists class %d, which has no sample",
                  name, f->task, nc[c]);
      return FALSE;
    }
    cs->feats = g_new(float, m *d);
    for (gint64 i = 0, j = 0; i < n; i++)
      if (lab[i] == nc[c])
        memcpy(cs->feats + (j++) * d, fv + i * d, sizeof(float) * d);
    cs->n = m;
    cs->mu = g_new(double, d);
    fetril_mean_rows(cs->feats, m, d, cs->mu);
    g_autofree float *nf = g_memdup2(cs->feats, sizeof(float) * m * d);
    fetril_l2_normalize_rows(nf, m, d);
    g_autofree double *nm = g_new(double, d);
    fetril_mean_rows(nf, m, d, nm);
    cs->ncm = g_new(float, d);
    for (gint64 j = 0; j < d; j++)
      cs->ncm[j] = (float)nm[j];
  }

  /* FeTrIL: real features of the new classes, pseudo-features of the past. */
  g_autoptr(GArray) tx = g_array_new(FALSE, FALSE, sizeof(float));
  g_autoptr(GArray) ty = g_array_new(FALSE, FALSE, sizeof(gint32));
  g_autoptr(GArray) seen = g_array_new(FALSE, FALSE, sizeof(gint32));
  g_autofree double *new_mu = g_new(double, new_classes->len *d);
  for (guint c = 0; c < new_classes->len; c++) {
    ClassState *cs = &f->cls[nc[c]];
    memcpy(new_mu + c * d, cs->mu, sizeof(double) * d);
    append_rows(tx, ty, cs->feats, cs->n, d, nc[c]);
  }
  double max_mean_err = 0;
  for (gint32 p = 0; p < f->k; p++) {
    if (!f->cls[p].seen)
      continue;
    g_array_append_val(seen, p);
    const guint src = fetril_nearest_centroid(f->cls[p].mu, new_mu, new_classes->len, d);
    const ClassState *s = &f->cls[nc[src]];
    g_autofree float *pseudo = g_new(float, s->n *d);
    fetril_translate(s->feats, s->n, d, s->mu, f->cls[p].mu, pseudo);
    g_autofree double *pm = g_new(double, d);
    fetril_mean_rows(pseudo, s->n, d, pm);
    for (gint64 j = 0; j < d; j++)
      max_mean_err = MAX(max_mean_err, fabs(pm[j] - f->cls[p].mu[j]));
    append_rows(tx, ty, pseudo, s->n, d, p);
  }
  for (guint c = 0; c < new_classes->len; c++) {
    f->cls[nc[c]].seen = TRUE;
    g_array_append_val(seen, nc[c]);
  }
  if (!fit(tx, ty, d, (const gint32 *)seen->data, seen->len, f->w, f->b, error)) {
    g_prefix_error(error, "%s (fetril): ", name);
    return FALSE;
  }
  const double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
  lethe_node_metric(node, "state_seconds", f->task, secs, NULL);
  lethe_node_metric(node, "translation_mean_error", f->task, max_mean_err, NULL);
  g_info("%s: state %" G_GINT64_FORMAT ": %u classes, %u SVM rows, %.2f s", name, f->task,
         seen->len, ty->len, secs);
  const gint32 *sv = (const gint32 *)seen->data;
  lethe_node_push(node, OUT_MODEL, model_frame(f, req, "fetril", f->w, f->b, sv, seen->len, secs));

  if (baselines) {
    lethe_node_push(node, OUT_NCM, model_frame(f, req, "ncm", NULL, NULL, sv, seen->len, secs));
    /* Upper bound: real features of every seen class. */
    g_autoptr(GArray) ux = g_array_new(FALSE, FALSE, sizeof(float));
    g_autoptr(GArray) uy = g_array_new(FALSE, FALSE, sizeof(gint32));
    for (guint i = 0; i < seen->len; i++)
      append_rows(ux, uy, f->cls[sv[i]].feats, f->cls[sv[i]].n, d, sv[i]);
    g_autofree float *uw = g_new0(float, f->k *d), *ub = g_new0(float, f->k);
    if (!fit(ux, uy, d, sv, seen->len, uw, ub, error)) {
      g_prefix_error(error, "%s (fetril): ", name);
      return FALSE;
    }
    lethe_node_push(node, OUT_UPPER, model_frame(f, req, "upper-bound", uw, ub, sv, seen->len, 0));
    /* DeeSIL-like: this state's classes on this state's data, then frozen. */
    g_autoptr(GArray) dx = g_array_new(FALSE, FALSE, sizeof(float));
    g_autoptr(GArray) dy = g_array_new(FALSE, FALSE, sizeof(gint32));
    for (guint c = 0; c < new_classes->len; c++)
      append_rows(dx, dy, f->cls[nc[c]].feats, f->cls[nc[c]].n, d, nc[c]);
    if (!fit(dx, dy, d, nc, new_classes->len, f->w_deesil, f->b_deesil, error)) {
      g_prefix_error(error, "%s (fetril): ", name);
      return FALSE;
    }
    lethe_node_push(node, OUT_DEESIL,
                    model_frame(f, req, "deesil", f->w_deesil, f->b_deesil, sv, seen->len, 0));
    /* Fine-tuning: the whole network on this state's data. */
    if (f->task > 0 && !train_epochs(node, f->net, x, y, f, "fine-tuning", error)) {
      g_prefix_error(error, "%s (fetril): ", name);
      return FALSE;
    }
    LetheFrame *ft = lethe_sequential_to_frame(f->net, f->task + 1);
    lethe_frame_set_meta_int(ft, "task", f->task);
    lethe_frame_set_meta_string(ft, "event", "learn");
    GVariant *cl = lethe_frame_get_meta(req, "classes");
    if (cl)
      lethe_frame_set_meta(ft, "classes", cl);
    set_classes_meta(ft, "seen-classes", sv, seen->len);
    lethe_node_push(node, OUT_FINETUNE, ft);
  }
  /* Past classes need only their centroids; the upper bound keeps features. */
  if (!baselines)
    for (guint c = 0; c < new_classes->len; c++)
      g_clear_pointer(&f->cls[nc[c]].feats, g_free);
  return TRUE;
}

/* ---- Type -------------------------------------------------------------- */

static const LethePortSpec fetril_inputs[] = {
    {"input", "dataset", LETHE_PORT_NONE, "learn requests: one frame per class-incremental state"},
    {NULL},
};

static const LethePortSpec fetril_outputs[] = {
    {"model", "model", LETHE_PORT_NONE, "FeTrIL's model after each state (kind fetril)"},
    {"ncm", "model", LETHE_PORT_NONE, "baseline: nearest class mean (with baselines = true)"},
    {"upper-bound", "model", LETHE_PORT_NONE,
     "baseline: SVMs on real features of every seen class (with baselines = true)"},
    {"deesil", "model", LETHE_PORT_NONE,
     "baseline: each state's SVMs on its own classes only (with baselines = true)"},
    {"finetune", "model", LETHE_PORT_NONE,
     "baseline: the whole network fine-tuned state by state (with baselines = true)"},
    {NULL},
};

static const char *const optimizer_choices[] = {"adam", "sgd", NULL};

static const LetheParamSpec fetril_params[] = {
    {"arch", LETHE_PARAM_STRING, DEFAULT_ARCH, 0, 0, NULL,
     "network trained on state 0; its last layer linear(d, K) is dropped to give F"},
    {"epochs", LETHE_PARAM_INT, "5", 1, 100000, NULL,
     "epochs of state-0 training (and fine-tuning)"},
    {"batch", LETHE_PARAM_INT, "128", 1, 1e9, NULL, "minibatch size of state-0 training"},
    {"optimizer", LETHE_PARAM_ENUM, "adam", 0, 0, optimizer_choices,
     "adam, or sgd with momentum 0.9"},
    {"lr", LETHE_PARAM_DOUBLE, "0.001", 0, 100, NULL, "learning rate of state-0 training"},
    {"classes", LETHE_PARAM_INT, "0", 0, 1 << 20, NULL,
     "number of classes of the stream (0: the requests' n-classes)"},
    {"baselines", LETHE_PARAM_BOOL, "false", 0, 0, NULL,
     "also emit the ncm, upper-bound, deesil and finetune models"},
    {NULL},
};

static const LetheNodeVTable fetril_vtable = {.init = fetril_init, .process = fetril_process};

static const LetheNodeType fetril_type = {
    "fetril",
    LETHE_NODE_LEARNER,
    "FeTrIL (Petit et al., WACV 2023): frozen features, pseudo-features by translation, "
    "linear SVMs",
    fetril_inputs,
    fetril_outputs,
    fetril_params,
    &fetril_vtable,
    "Exemplar-free class-incremental learning. SVMs: liblinear L2R_L2LOSS_SVC, C = 1, bias 1, "
    "L2-normalised features. Metrics: state_seconds, translation_mean_error.",
};

static const LetheNodeType *const node_types[] = {&fetril_type, NULL};
static const LetheModelKind *const model_kinds[] = {&fetril_kind, NULL};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR,
    LETHE_ABI_MINOR,
    "fetril",
    "0.1.0",
    "LGPL-2.1-or-later",
    "FeTrIL exemplar-free class-incremental learner and its baselines",
    node_types,
    model_kinds,
};

LETHE_PLUGIN_DEFINE(plugin_info)
