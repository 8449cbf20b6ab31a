/* Lethe — core-ecg: contrastive + reconstructive self-supervised
 * pretraining of a 12-lead ECG encoder (CoRe-ECG, reconstructed).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [pretrain]
 *   plugin = core-ecg
 *   input = ludb              # x f32 [records, 12, samples], metadata fs, leads
 *   epochs = 30
 *   variant = full            # contrastive | reconstruction | naive
 *
 * Each step takes `batch` records, one random `crop` per record, each
 * window standardised (per-lead mean removed, one deviation for all leads).
 * Two views per window: FDA draws (rank mapping) masked by STDM (limb
 * leads as a group), re-drawn every step.  The window is cut into
 * `patch`-sample patches per lead (12·N tokens), embedded linearly with
 * learned lead and time embeddings; a pre-norm transformer encoder sees
 * the visible tokens plus a global token g.  A light decoder rebuilds the
 * hidden patches of each view (target: the un-augmented window, each patch
 * standardised) from the visible tokens, mask tokens and one extra token
 * made from the *other* view's g (the card's reading (ii); conditioning =
 * within uses the view's own g).  Loss: L_rec(v1) + L_rec(v2) + λ·NT-Xent
 * on projected globals (τ = 0.1).  AdamW (weight decay 0.05), 5 % linear
 * warm-up then cosine decay, gradients clipped at norm 1.
 *
 * Ablations: contrastive (no decoder loss), reconstruction (λ = 0, no g
 * conditioning), naive (Gaussian-noise views and random masking at the
 * same ratio).  epochs = 0 emits the randomly initialised encoder, the
 * baseline of the probes.
 *
 * Emits one `model` frame of model kind "core-ecg" holding the encoder
 * (tensors enc.*); lethe_model_forward() on x [records, 12, samples] (the
 * standard lead order, at the training rate) returns g averaged over the
 * record's non-overlapping windows, [records, dim].  Choices: docs/ecg.md.
 */
#include <math.h>
#include <string.h>

#include <lethe/model.h>
#include <lethe/nn-optim.h>
#include <lethe/plugin.h>

#include "ecg-frame.h"
#include "ecg-net.h"
#include "fda-ops.h"
#include "stdm-ops.h"

typedef enum { VARIANT_FULL, VARIANT_CONTRASTIVE, VARIANT_RECONSTRUCTION, VARIANT_NAIVE } Variant;

static const char *const variant_choices[] = {"full", "contrastive", "reconstruction", "naive",
                                              NULL};

typedef struct {
  EcgArch arch;
  Variant variant;
  gboolean cross;
} Learner;

static gboolean
learner_init(LetheNode *node, GError **error)
{
  Learner *st = g_new0(Learner, 1);
  const char *v = lethe_node_get_string(node, "variant");
  for (guint k = 0; variant_choices[k]; k++)
    if (g_str_equal(v, variant_choices[k]))
      st->variant = (Variant)k;
  st->cross = g_str_equal(lethe_node_get_string(node, "conditioning"), "cross");
  EcgArch *a = &st->arch;
  a->leads = ECG_N_LEADS;
  a->patch = (guint)lethe_node_get_int(node, "patch");
  a->dim = (guint)lethe_node_get_int(node, "dim");
  a->depth = (guint)lethe_node_get_int(node, "depth");
  a->heads = (guint)lethe_node_get_int(node, "heads");
  a->mlp = 2 * a->dim;
  a->dec_dim = (guint)lethe_node_get_int(node, "dec-dim");
  a->dec_depth = (guint)lethe_node_get_int(node, "dec-depth");
  a->dec_heads = 2;
  a->proj_dim = 64;
  lethe_node_set_private(node, st, g_free);
  if (a->dim % a->heads != 0 || a->heads > 16) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: dim = %u is not a multiple of heads = %u (at most 16 heads)",
                lethe_node_get_name(node), a->dim, a->heads);
    return FALSE;
  }
  return TRUE;
}

/* The encoder's tensors as a model frame. */
static LetheFrame *
model_frame(const Learner *st, LetheParams *params, double fs, gint64 version)
{
  LetheFrame *f = lethe_frame_new();
  for (guint i = 0; i < lethe_params_get_n(params); i++) {
    const char *name = lethe_params_get_name(params, i);
    if (g_str_has_prefix(name, "enc."))
      lethe_frame_take_tensor(f, name, lethe_tensor_copy(lethe_params_get_value(params, i)));
  }
  g_autofree char *arch = ecg_arch_to_string(&st->arch);
  lethe_frame_set_meta_string(f, "model-kind", "core-ecg");
  lethe_frame_set_meta_string(f, "arch", arch);
  lethe_frame_set_meta_int(f, "version", version);
  lethe_frame_set_meta_double(f, "fs", fs);
  lethe_frame_set_meta_string(f, "variant", variant_choices[st->variant]);
  lethe_frame_set_meta(f, "leads", g_variant_new_strv(ecg_standard_leads, ECG_N_LEADS));
  return f;
}

static gboolean
learner_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  Learner *st = lethe_node_get_private(node);
  EcgArch *a = &st->arch;
  const char *name = lethe_node_get_name(node);
  gint64 shape[3];
  g_autoptr(LetheTensor) x = ecg_frame_signal(inputs[0], "x", name, shape, error);
  if (x == NULL)
    return FALSE;
  g_auto(GStrv) leads = ecg_frame_lead_names(inputs[0]);
  guint index[ECG_N_LEADS];
  if (!ecg_match_leads((const char *const *)leads, (gsize)shape[1], name, index, error))
    return FALSE;
  double fs = lethe_frame_get_meta_double(inputs[0], "fs", 0);
  double crop = lethe_node_get_double(node, "crop");
  gint64 W = (gint64)llround(crop * fs), L = shape[2], R = shape[0];
  gint64 max_records = lethe_node_get_int(node, "max-records");
  if (max_records > 0)
    R = MIN(R, max_records);
  if (!(fs > 0) || W < a->patch || W % a->patch != 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: crop = %g s at %g Hz is %" G_GINT64_FORMAT " samples, not a positive "
                "multiple of patch = %u; choose crop and patch so that patch divides it",
                name, crop, fs, W, a->patch);
    return FALSE;
  }
  if (W > L) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: crop = %g s (%" G_GINT64_FORMAT
                " samples) is longer than the records (%" G_GINT64_FORMAT
                " samples, %g s); use a shorter crop",
                name, crop, W, L, L / fs);
    return FALSE;
  }
  a->n_patches = (guint)(W / a->patch);
  guint T = a->leads * a->n_patches;

  guint64 seed = lethe_node_get_seed(node);
  LetheParams *params = ecg_net_new_params(a, seed);
  guint epochs = (guint)lethe_node_get_int(node, "epochs");
  guint B = (guint)MIN(lethe_node_get_int(node, "batch"), R);
  double lambda = lethe_node_get_double(node, "lambda");
  double tau = lethe_node_get_double(node, "temperature");
  gboolean use_rec = st->variant != VARIANT_CONTRASTIVE;
  gboolean use_con = st->variant != VARIANT_RECONSTRUCTION && lambda > 0;
  gboolean use_cond = st->variant == VARIANT_FULL || st->variant == VARIANT_NAIVE;
  FdaParams fda;
  fda_params_init(&fda);
  StdmParams stdm;
  stdm_params_init(&stdm);
  stdm.ratio = lethe_node_get_double(node, "mask-ratio");
  stdm.time_ratio = lethe_node_get_double(node, "time-ratio");
  if (st->variant == VARIANT_NAIVE || g_str_equal(lethe_node_get_string(node, "masking"), "random"))
    stdm.mode = STDM_MODE_RANDOM;
  gboolean patch_norm = g_str_equal(lethe_node_get_string(node, "target"), "patch-norm");
  double noise = lethe_node_get_double(node, "noise");

  LetheOptimConfig oc;
  lethe_optim_config_init(&oc, LETHE_OPTIM_ADAMW, lethe_node_get_double(node, "lr"));
  oc.weight_decay = lethe_node_get_double(node, "weight-decay");
  LetheOptimizer *opt = lethe_optimizer_new(params, &oc);
  LetheTape *tape = lethe_tape_new();
  guint steps_per_epoch = (guint)((R + B - 1) / B);
  guint64 total = (guint64)epochs * steps_per_epoch, step = 0;
  guint64 warm = MAX(1, (guint64)ceil(0.05 * total));
  g_autofree float *win = g_new(float, ECG_N_LEADS *W * 3 * B);
  g_autofree guint8 *masks = g_new(guint8, 2 * T * B);
  g_autofree gint64 *order = g_new(gint64, R);
  gboolean ok = TRUE;
  LetheRng rng;
  lethe_rng_init_stream(&rng, seed, 1);
  g_autofree LetheVar **gs = g_new(LetheVar *, 2 * B);

  for (guint e = 0; e < epochs && ok; e++) {
    double sum_loss = 0, sum_rec = 0, sum_con = 0;
    lethe_rng_permutation(&rng, order, (gsize)R);
    for (guint s = 0; s < steps_per_epoch && ok; s++, step++) {
      if (lethe_node_is_cancelled(node)) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_CANCELLED, "%s: cancelled", name);
        ok = FALSE;
        break;
      }
      double lr =
          oc.lr * (step < warm ? (double)(step + 1) / warm
                               : 0.5 * (1 + cos(G_PI * (step - warm) / MAX(1, total - warm))));
      lethe_optimizer_set_lr(opt, lr);
      lethe_tape_reset(tape);
      lethe_params_zero_grad(params);
      EcgNet net;
      ecg_net_begin(&net, a, params, tape);
      guint nb = (guint)MIN((gint64)B, R - (gint64)s * B);
      if (nb < 2 && use_con)
        nb = 0; /* NT-Xent needs two samples */
      LetheVar *rec = NULL;
      for (guint b = 0; b < nb; b++) {
        gint64 r = order[(gint64)s * B + b];
        gint64 start = (gint64)lethe_rng_below(&rng, (guint64)(L - W + 1));
        float *xs = win + (gsize)b * 3 * ECG_N_LEADS * W, *v1 = xs + ECG_N_LEADS * W,
              *v2 = v1 + ECG_N_LEADS * W;
        /* Standard lead order, then one window. */
        g_autofree float *rows = g_new(float, ECG_N_LEADS *W);
        for (guint l = 0; l < ECG_N_LEADS; l++)
          memcpy(rows + l * W, lethe_tensor_f32(x) + (r * shape[1] + index[l]) * L + start,
                 (gsize)W * sizeof(float));
        ecg_standardize_window(rows, ECG_N_LEADS, (gsize)W, (gsize)W, xs);
        if (st->variant == VARIANT_NAIVE) {
          for (gsize i = 0; i < (gsize)ECG_N_LEADS * W; i++) {
            v1[i] = xs[i] + (float)(noise * lethe_rng_normal(&rng));
            v2[i] = xs[i] + (float)(noise * lethe_rng_normal(&rng));
          }
        } else {
          fda_apply(&fda, xs, ECG_N_LEADS, (gsize)W, &rng, v1);
          fda_apply(&fda, xs, ECG_N_LEADS, (gsize)W, &rng, v2);
        }
        static const gboolean limb[12] = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0};
        guint8 *m1 = masks + (gsize)2 * b * T, *m2 = m1 + T;
        if (!stdm_mask(&stdm, ECG_N_LEADS, a->n_patches, limb, &rng, m1, NULL, error) ||
            !stdm_mask(&stdm, ECG_N_LEADS, a->n_patches, limb, &rng, m2, NULL, error)) {
          g_prefix_error(error, "%s: ", name);
          ok = FALSE;
          break;
        }
        LetheVar *t1, *t2;
        gs[b] = ecg_net_encode(&net, v1, m1, &t1);
        gs[nb + b] = ecg_net_encode(&net, v2, m2, &t2);
        if (use_rec) {
          LetheVar *c1 = use_cond ? (st->cross ? gs[nb + b] : gs[b]) : NULL;
          LetheVar *c2 = use_cond ? (st->cross ? gs[b] : gs[nb + b]) : NULL;
          LetheVar *l1 = ecg_net_reconstruct_loss(&net, t1, m1, c1, xs, patch_norm);
          LetheVar *l2 = ecg_net_reconstruct_loss(&net, t2, m2, c2, xs, patch_norm);
          LetheVar *both = lethe_op_add(tape, l1, l2);
          rec = rec ? lethe_op_add(tape, rec, both) : both;
        }
      }
      if (nb == 0 || !ok) {
        ecg_net_end(&net);
        continue;
      }
      LetheVar *loss = NULL, *con = NULL;
      if (rec)
        loss = rec = lethe_op_scale(tape, rec, 1.0 / nb, 0);
      if (use_con) {
        LetheVar *z = ecg_net_project(&net, lethe_op_concat(tape, gs, 2 * nb, 0));
        con = lethe_op_nt_xent(tape, z, tau);
        LetheVar *w = lethe_op_scale(tape, con, lambda, 0);
        loss = loss ? lethe_op_add(tape, loss, w) : w;
      }
      ecg_net_end(&net);
      if (!lethe_tape_backward(tape, loss, error)) {
        g_prefix_error(error, "%s: ", name);
        ok = FALSE;
        break;
      }
      lethe_params_clip_grad_norm(params, 1.0);
      lethe_optimizer_step(opt);
      sum_loss += lethe_var_get(loss, 0) * nb;
      sum_rec += rec ? lethe_var_get(rec, 0) * nb : 0;
      sum_con += con ? lethe_var_get(con, 0) * nb : 0;
      lethe_node_progress(node, "pretraining", (double)(step + 1) / total);
    }
    if (!ok)
      break;
    if (!lethe_params_check_finite(params, FALSE, error)) {
      g_prefix_error(error, "%s: epoch %u: ", name, e + 1);
      ok = FALSE;
      break;
    }
    lethe_node_metric(node, "loss", e, sum_loss / R, NULL);
    if (use_rec)
      lethe_node_metric(node, "loss_rec", e, sum_rec / R, NULL);
    if (use_con)
      lethe_node_metric(node, "loss_con", e, sum_con / R, NULL);
  }
  lethe_tape_free(tape);
  lethe_optimizer_free(opt);
  if (ok)
    lethe_node_push(node, 0, model_frame(st, params, fs, epochs));
  lethe_params_free(params);
  return ok;
}

/* ---- the "core-ecg" model kind: the encoder's forward pass ---- */

static gboolean
core_ecg_forward(const LetheFrame *model, LetheTensor *x, LetheTensor **out, GError **error)
{
  EcgArch a;
  if (!ecg_arch_parse(lethe_frame_get_meta_string(model, "arch", NULL), &a, error))
    return FALSE;
  gint64 W = (gint64)a.patch * a.n_patches;
  if (x->dtype != LETHE_DTYPE_F32 || x->rank != 3 || x->shape[1] != a.leads || x->shape[2] < W) {
    g_autofree char *s = lethe_tensor_shape_string(x);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "core-ecg: the encoder takes f32 [records, %u, >= %" G_GINT64_FORMAT
                "] (standard lead order, windows of %" G_GINT64_FORMAT " samples); got %s",
                a.leads, W, W, s);
    return FALSE;
  }
  LetheParams *params = lethe_params_new();
  for (guint i = 0; i < lethe_frame_get_n_tensors(model); i++) {
    const char *n;
    LetheTensor *t = lethe_frame_get_nth(model, i, &n);
    lethe_params_add(params, n, t, TRUE);
  }
  g_autoptr(LetheTensor) xc = lethe_tensor_contiguous(x);
  gint64 R = x->shape[0], L = x->shape[2], n_win = L / W;
  *out = lethe_tensor_new_2d(LETHE_DTYPE_F32, R, a.dim);
  LetheTape *tape = lethe_tape_new();
  lethe_tape_set_grad_enabled(tape, FALSE);
  g_autofree float *w = g_new(float, a.leads *W);
  gboolean ok = TRUE;
  for (gint64 r = 0; r < R && ok; r++) {
    float *o = lethe_tensor_f32(*out) + r * a.dim;
    for (gint64 k = 0; k < n_win; k++) {
      lethe_tape_reset(tape);
      EcgNet net;
      ecg_net_begin(&net, &a, params, tape);
      ecg_standardize_window(lethe_tensor_f32(xc) + r * a.leads * L + k * W, a.leads, (gsize)W,
                             (gsize)L, w);
      LetheVar *g = ecg_net_encode(&net, w, NULL, NULL);
      ecg_net_end(&net);
      if (!lethe_tape_check(tape, error)) {
        ok = FALSE;
        break;
      }
      for (guint d = 0; d < a.dim; d++)
        o[d] += (float)(lethe_var_get(g, d) / n_win);
    }
  }
  lethe_tape_free(tape);
  lethe_params_free(params);
  if (!ok)
    g_clear_pointer(out, lethe_tensor_unref);
  return ok;
}

static const LetheModelKind core_ecg_kind = {
    "core-ecg",
    "CoRe-ECG encoder: 12-lead patches to a global representation (mean over windows)",
    core_ecg_forward,
    NULL,
};

static const char *const cond_choices[] = {"cross", "within", NULL};
static const char *const masking_choices[] = {"stdm", "random", NULL};
static const char *const target_choices[] = {"patch-norm", "window", NULL};

static const LetheParamSpec learner_params[] = {
    {"variant", LETHE_PARAM_ENUM, "full", 0, 0, variant_choices,
     "full, or an ablation: contrastive only, reconstruction only, naive augmentations + random "
     "masking"},
    {"epochs", LETHE_PARAM_INT, "30", 0, 100000, NULL,
     "passes over the records (0: random encoder)"},
    {"batch", LETHE_PARAM_INT, "32", 2, 4096, NULL, "records per step"},
    {"lr", LETHE_PARAM_DOUBLE, "0.001", 0, 1, NULL, "AdamW peak learning rate"},
    {"weight-decay", LETHE_PARAM_DOUBLE, "0.05", 0, 10, NULL, "AdamW decoupled weight decay"},
    {"lambda", LETHE_PARAM_DOUBLE, "1", 0, 100, NULL, "weight of the contrastive loss"},
    {"temperature", LETHE_PARAM_DOUBLE, "0.1", 0.001, 10, NULL, "NT-Xent temperature"},
    {"crop", LETHE_PARAM_DOUBLE, "2.5", 0.01, 3600, NULL, "seconds per training window"},
    {"patch", LETHE_PARAM_INT, "125", 1, 100000, NULL, "samples per patch (token)"},
    {"dim", LETHE_PARAM_INT, "64", 4, 4096, NULL, "encoder width"},
    {"depth", LETHE_PARAM_INT, "2", 1, 64, NULL, "encoder blocks"},
    {"heads", LETHE_PARAM_INT, "4", 1, 16, NULL, "attention heads"},
    {"dec-dim", LETHE_PARAM_INT, "32", 4, 4096, NULL, "decoder width"},
    {"dec-depth", LETHE_PARAM_INT, "1", 1, 64, NULL, "decoder blocks"},
    {"conditioning", LETHE_PARAM_ENUM, "cross", 0, 0, cond_choices,
     "the decoder of each view gets the other view's global (cross) or its own (within)"},
    {"mask-ratio", LETHE_PARAM_DOUBLE, "0.75", 0.05, 0.95, NULL, "STDM overall ratio"},
    {"time-ratio", LETHE_PARAM_DOUBLE, "0.5", 0, 0.95, NULL,
     "STDM: fraction of time columns hidden in all leads"},
    {"masking", LETHE_PARAM_ENUM, "stdm", 0, 0, masking_choices,
     "stdm, or random patch masking at mask-ratio (variant = naive always uses random)"},
    {"target", LETHE_PARAM_ENUM, "patch-norm", 0, 0, target_choices,
     "reconstruction target: each hidden patch standardised (patch-norm) or the standardised "
     "window as is"},
    {"noise", LETHE_PARAM_DOUBLE, "0.1", 0, 10, NULL,
     "variant = naive: Gaussian noise deviation (standardised units)"},
    {"max-records", LETHE_PARAM_INT, "0", 0, G_MAXINT32, NULL,
     "train on the first records only (0: all), for quick runs"},
    {NULL},
};
static const LethePortSpec learner_inputs[] = {
    {"input", "dataset", LETHE_PORT_NONE,
     "12-lead records x f32 [records, leads, samples], metadata fs and leads"},
    {NULL},
};
static const LethePortSpec learner_outputs[] = {
    {"model", "model", LETHE_PORT_NONE, "the encoder (model kind core-ecg)"},
    {NULL},
};
static const LetheNodeVTable learner_vtable = {.init = learner_init, .process = learner_process};

static const LetheNodeType learner_type = {
    "core-ecg",
    LETHE_NODE_LEARNER,
    "CoRe-ECG: contrastive + masked-reconstruction pretraining of a 12-lead ECG encoder",
    learner_inputs,
    learner_outputs,
    learner_params,
    &learner_vtable,
    "Metrics loss, loss_rec, loss_con per epoch.  Choices and measurements: docs/ecg.md.",
};

static const LetheNodeType *const node_types[] = {&learner_type, NULL};
static const LetheModelKind *const model_kinds[] = {&core_ecg_kind, NULL};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR, LETHE_ABI_MINOR,     "core-ecg",
    "0.1.0",         "LGPL-2.1-or-later", "CoRe-ECG self-supervised pretraining",
    node_types,      model_kinds,
};

LETHE_PLUGIN_DEFINE(plugin_info)
