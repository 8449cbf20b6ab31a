/* Lethe — fda: Frequency Dynamic Augmentation of multi-lead ECG.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [views]
 *   plugin = fda
 *   input = ludb              # x f32 [records, leads, samples], metadata fs
 *   crop = 2.5                # optional: one random 2.5 s crop per record
 *   mapping = rank            # or linear (the literal card formula)
 *
 * For each record, two independent draws of FDA (CoRe-ECG, inferred from
 * the paper's abstract, see docs/ecg.md): rFFT of every lead; importance
 * I(f) = mean over leads of |X(f)|²; a strength s(f) that falls with
 * importance; each bin's amplitude scaled by 1 + s·n (n ~ N(0,1) clipped at
 * ±2) and its phase turned by π·s·u (u ~ U(−1,1)), or the bin dropped with
 * probability p·s/σ_max; inverse rFFT.  The frame goes on with x (the raw
 * record, cropped when `crop` is set) and the views x1 and x2, same shape.
 *
 * mapping = rank (default): the bins are ranked by importance; the smallest
 * set holding `band` (90 %) of the energy gets `band-strength` (0), and the
 * rest rises linearly (κ = 1) from there to σ_max as the energy held by more
 * important bins goes from 90 % to 100 %.  On LUDB this changes the 90 %
 * band by 0 % and the tail by 35 %; the literal mapping s = σ_max (1 −
 * I/max I) changes the band by 59 % and the tail only 1.7× more, because
 * most of the ~127 band bins have a small normalised importance.
 *
 * By default one draw per bin serves every lead, so a view is the same
 * linear filter applied to all leads and keeps Einthoven's and Goldberger's
 * identities (III = II − I…) exact; `per-lead = true` draws per lead.
 * Draws come from the node's seed, the firing and the record index:
 * the same seed gives the same views whatever the thread count.
 */
#include <math.h>
#include <string.h>

#include <lethe/nn-rng.h>
#include <lethe/plugin.h>

#include "ecg-frame.h"
#include "fda-ops.h"

#define DEFAULT_SIGMA_MAX "0.5"
#define DEFAULT_BAND      "0.9"

typedef struct {
  FdaParams params;
  double crop;
  EcgRatePolicy rate_policy;
  double first_fs;
  guint64 seed;
  guint64 firing;
} Fda;

static gboolean
fda_init(LetheNode *node, GError **error)
{
  Fda *st = g_new0(Fda, 1);
  fda_params_init(&st->params);
  FdaParams *p = &st->params;
  p->mapping =
      g_str_equal(lethe_node_get_string(node, "mapping"), "linear") ? FDA_MAP_LINEAR : FDA_MAP_RANK;
  p->mode =
      g_str_equal(lethe_node_get_string(node, "mode"), "drop") ? FDA_MODE_DROP : FDA_MODE_PERTURB;
  p->sigma_max = lethe_node_get_double(node, "sigma-max");
  p->kappa = lethe_node_get_double(node, "kappa");
  p->band = lethe_node_get_double(node, "band");
  p->band_strength = lethe_node_get_double(node, "band-strength");
  p->drop_prob = lethe_node_get_double(node, "drop-prob");
  p->smooth = (guint)lethe_node_get_int(node, "smooth");
  p->per_lead = lethe_node_get_bool(node, "per-lead");
  st->crop = lethe_node_get_double(node, "crop");
  st->rate_policy = g_str_equal(lethe_node_get_string(node, "rate-mismatch"), "resample")
                        ? ECG_RATE_RESAMPLE
                        : ECG_RATE_REFUSE;
  st->seed = lethe_node_get_seed(node);
  lethe_node_set_private(node, st, g_free);
  if (p->band_strength > p->sigma_max)
    goto bad_strength;
  return TRUE;

  /* ERRORS */
bad_strength:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "%s: band-strength %g exceeds sigma-max %g: the important band would be perturbed "
              "more than the tail; lower band-strength",
              lethe_node_get_name(node), p->band_strength, p->sigma_max);
  return FALSE;
}

static gboolean
fda_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  Fda *st = lethe_node_get_private(node);
  const char *name = lethe_node_get_name(node);
  gint64 shape[3];
  double fs;
  g_autoptr(LetheTensor) raw = NULL, v1 = NULL, v2 = NULL, starts = NULL;
  LetheTensor *x = ecg_frame_signal(inputs[0], "x", name, shape, error);
  if (x == NULL)
    return FALSE;
  if (!ecg_check_rate(inputs[0], &st->first_fs, st->rate_policy, name, &x, &fs, error)) {
    lethe_tensor_unref(x);
    return FALSE;
  }
  memcpy(shape, x->shape, sizeof shape);
  gint64 R = shape[0], L = shape[1], n = shape[2];
  gint64 m = st->crop > 0 ? (gint64)llround(st->crop * fs) : n;
  if (m > n || m < 2)
    goto bad_crop;

  gint64 out_shape[3] = {R, L, m};
  raw = lethe_tensor_new_uninit(LETHE_DTYPE_F32, 3, out_shape);
  v1 = lethe_tensor_new_uninit(LETHE_DTYPE_F32, 3, out_shape);
  v2 = lethe_tensor_new_uninit(LETHE_DTYPE_F32, 3, out_shape);
  starts = lethe_tensor_new_1d(LETHE_DTYPE_I64, R);
  const float *in = lethe_tensor_f32(x);
  for (gint64 r = 0; r < R; r++) {
    if (lethe_node_is_cancelled(node))
      goto cancelled;
    LetheRng rng;
    lethe_rng_init_stream(&rng, st->seed, (st->firing << 32) | (guint64)r);
    gint64 start = m < n ? (gint64)lethe_rng_below(&rng, (guint64)(n - m + 1)) : 0;
    float *xr = lethe_tensor_f32(raw) + r * L * m;
    for (gint64 l = 0; l < L; l++)
      memcpy(xr + l * m, in + (r * L + l) * n + start, (gsize)m * sizeof(float));
    lethe_tensor_i64(starts)[r] = start;
    fda_apply(&st->params, xr, (gsize)L, (gsize)m, &rng, lethe_tensor_f32(v1) + r * L * m);
    fda_apply(&st->params, xr, (gsize)L, (gsize)m, &rng, lethe_tensor_f32(v2) + r * L * m);
    if (R > 1 && (r & 31) == 0)
      lethe_node_progress(node, "augmenting", (double)r / R);
  }
  lethe_tensor_unref(x);
  st->firing++;

  LetheFrame *out = lethe_frame_copy(inputs[0]);
  lethe_frame_set_tensor(out, "x", raw);
  lethe_frame_set_tensor(out, "x1", v1);
  lethe_frame_set_tensor(out, "x2", v2);
  if (st->crop > 0) {
    lethe_frame_set_tensor(out, "crop-start", starts);
    lethe_frame_set_meta_double(out, "window", (double)m / fs);
  }
  lethe_frame_set_meta_double(out, "fs", fs);
  lethe_frame_set_meta_string(out, "augment", "fda");
  lethe_node_push(node, 0, out);
  return TRUE;

  /* ERRORS */
bad_crop:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "%s: crop = %g s is %" G_GINT64_FORMAT
              " samples at %g Hz, but the records hold %" G_GINT64_FORMAT
              " samples (%g s); use a crop of at most %g s",
              name, st->crop, m, fs, n, n / fs, n / fs);
  lethe_tensor_unref(x);
  return FALSE;
cancelled:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_CANCELLED, "%s: cancelled", name);
  lethe_tensor_unref(x);
  return FALSE;
}

static const char *const mapping_choices[] = {"rank", "linear", NULL};
static const char *const mode_choices[] = {"perturb", "drop", NULL};
static const char *const rate_choices[] = {"refuse", "resample", NULL};

static const LetheParamSpec fda_params[] = {
    {"mapping", LETHE_PARAM_ENUM, "rank", 0, 0, mapping_choices,
     "importance to strength: rank (cumulative energy, protects the 90% band) or linear "
     "(sigma-max (1 - I/max I)^kappa)"},
    {"mode", LETHE_PARAM_ENUM, "perturb", 0, 0, mode_choices,
     "perturb amplitude and phase, or drop bins with probability drop-prob * s / sigma-max"},
    {"sigma-max", LETHE_PARAM_DOUBLE, DEFAULT_SIGMA_MAX, 0, 1, NULL,
     "strength of the least important bins"},
    {"kappa", LETHE_PARAM_DOUBLE, "1", 0.1, 10, NULL, "exponent of the mapping"},
    {"band", LETHE_PARAM_DOUBLE, DEFAULT_BAND, 0.5, 0.999, NULL,
     "rank mapping: energy fraction of the protected band (smallest set of bins holding it)"},
    {"band-strength", LETHE_PARAM_DOUBLE, "0", 0, 1, NULL,
     "rank mapping: strength inside the protected band"},
    {"drop-prob", LETHE_PARAM_DOUBLE, "0.5", 0, 1, NULL, "mode = drop: p"},
    {"smooth", LETHE_PARAM_INT, "0", 0, 50, NULL, "average the importance over +-smooth bins"},
    {"per-lead", LETHE_PARAM_BOOL, "false", 0, 0, NULL,
     "independent draws per lead (breaks the limb-lead identities in the views)"},
    {"crop", LETHE_PARAM_DOUBLE, "0", 0, 3600, NULL,
     "seconds: one random crop per record before augmenting (0: whole records)"},
    {"rate-mismatch", LETHE_PARAM_ENUM, "refuse", 0, 0, rate_choices,
     "a frame whose fs differs from the first frame's: refuse it, or resample it"},
    {NULL},
};
static const LethePortSpec fda_inputs[] = {
    {"input", "dataset", LETHE_PORT_NONE, "records: x f32 [records, leads, samples], metadata fs"},
    {NULL},
};
static const LethePortSpec fda_outputs[] = {
    {"output", "dataset", LETHE_PORT_NONE, "the frame with x (raw or cropped), x1 and x2"},
    {NULL},
};
static const LetheNodeVTable fda_vtable = {.init = fda_init, .process = fda_process};

static const LetheNodeType fda_type = {
    "fda",
    LETHE_NODE_AUGMENTER,
    "Frequency Dynamic Augmentation: two spectral views per record, important bins kept",
    fda_inputs,
    fda_outputs,
    fda_params,
    &fda_vtable,
    "Emits x (raw), x1 and x2 (two independent draws), same shape.  Choices and measurements "
    "on LUDB: docs/ecg.md.",
};

static const LetheNodeType *const node_types[] = {&fda_type, NULL};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR,
    LETHE_ABI_MINOR,
    "fda",
    "0.1.0",
    "LGPL-2.1-or-later",
    "Frequency Dynamic Augmentation (CoRe-ECG)",
    node_types,
    NULL,
};

LETHE_PLUGIN_DEFINE(plugin_info)
