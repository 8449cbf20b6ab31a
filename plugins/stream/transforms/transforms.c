/* Lethe — dataset transforms: subset, shuffle, normalize, train/validation
 * split, signal windows and minibatches.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [small]
 *   plugin = subset
 *   input = train
 *   fraction = 0.1            # or count = 6000; stratified by class
 *
 *   [scaled]
 *   plugin = normalize
 *   input = small
 *   reference = small         # statistics of this frame (else: the first input)
 *
 *   [split]
 *   plugin = train-val-split
 *   input = scaled
 *   fraction = 0.2
 *   group = subject           # optional: whole subjects go to one side
 *
 *   [even]
 *   plugin = balance
 *   input = split.train
 *   method = oversample       # every class as many rows as the largest
 *
 * Every node works on `dataset` frames one at a time and keeps their
 * metadata.  Selections keep each row's sample id ("index", see
 * docs/streams.md) and are views of the input when the rows are
 * consecutive.  The random choices of a node come from its seed: frame i is
 * drawn from stream i, so the result does not depend on scheduling.
 * See docs/transforms.md.
 */
#include <math.h>
#include <string.h>

#include <lethe/plugin.h>

#include "stream-ops.h"

#define DEFAULT_FRACTION     "0.1"
#define DEFAULT_VAL_FRACTION "0.2"

/* How many frames a node has processed: the RNG stream of the next one. */
typedef struct {
  guint64 n_frames;
} Counter;

static gboolean
counter_init(LetheNode *node, GError **error)
{
  lethe_node_set_private(node, g_new0(Counter, 1), g_free);
  return TRUE;
}

static void
next_rng(LetheNode *node, LetheRng *rng)
{
  Counter *c = lethe_node_get_private(node);
  lethe_rng_init_stream(rng, lethe_node_get_seed(node), c->n_frames++);
}

/* The rows flagged in @picked (or not), ascending. */
static GArray *
flagged_rows(const gboolean *picked, gint64 n, gboolean want)
{
  GArray *rows = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (gint64 i = 0; i < n; i++)
    if (!picked[i] == !want)
      g_array_append_val(rows, i);
  return rows;
}

/* ---- subset ---------------------------------------------------------- */

static gboolean
subset_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  const char *name = lethe_node_get_name(node);
  gint64 n;
  if (!stream_dataset_rows(inputs[0], name, &n, error))
    return FALSE;
  double fraction = lethe_node_get_double(node, "fraction");
  gint64 count = lethe_node_get_int(node, "count");
  if (count > 0)
    fraction = n > 0 ? MIN(1.0, (double)count / (double)n) : 0.0;
  g_autoptr(LetheTensor) y = NULL;
  if (lethe_node_get_bool(node, "stratified") && !(y = stream_labels(inputs[0], name, 0, error)))
    return FALSE;

  LetheRng rng;
  next_rng(node, &rng);
  g_autofree gboolean *picked = g_new(gboolean, MAX(n, 1));
  if (stream_stratified_pick(y ? lethe_tensor_i32(y) : NULL, n, fraction, &rng, picked) == 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: a subset of %g of %" G_GINT64_FORMAT " samples is empty; raise 'fraction' "
                "or 'count'",
                name, fraction, n);
    return FALSE;
  }
  g_autoptr(GArray) rows = flagged_rows(picked, n, TRUE);
  lethe_node_push(node, 0, stream_take_rows(inputs[0], (gint64 *)rows->data, rows->len));
  return TRUE;
}

/* ---- shuffle --------------------------------------------------------- */

static gboolean
shuffle_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  gint64 n;
  if (!stream_dataset_rows(inputs[0], lethe_node_get_name(node), &n, error))
    return FALSE;
  LetheRng rng;
  next_rng(node, &rng);
  g_autofree gint64 *perm = g_new(gint64, MAX(n, 1));
  lethe_rng_permutation(&rng, perm, (gsize)n);
  lethe_node_push(node, 0, stream_take_rows(inputs[0], perm, (gsize)n));
  return TRUE;
}

/* ---- normalize ------------------------------------------------------- */

/* Statistics per group of elements: a feature, a channel, or everything. */
typedef struct {
  gint64 n_groups;
  gint64 inner; /* consecutive elements of one group within a row */
  gint64 row;   /* elements per sample */
  gint64 shape[LETHE_TENSOR_MAX_RANK];
  guint rank;
  double *shift;
  double *scale;
} NormStats;

static void
norm_stats_free(gpointer p)
{
  NormStats *s = p;
  if (s == NULL)
    return;
  g_free(s->shift);
  g_free(s->scale);
  g_free(s);
}

typedef struct {
  NormStats *fitted; /* from the first frame or the reference */
  LetheFrame *reference;
} NormState;

static void
norm_state_free(gpointer p)
{
  NormState *st = p;
  norm_stats_free(st->fitted);
  g_clear_pointer(&st->reference, lethe_frame_unref);
  g_free(st);
}

static gboolean
normalize_init(LetheNode *node, GError **error)
{
  gsize n_mean = 0, n_std = 0;
  lethe_node_get_double_list(node, "mean", &n_mean);
  const double *std = lethe_node_get_double_list(node, "std", &n_std);
  if ((n_mean > 0) != (n_std > 0) || n_mean != n_std) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: give 'mean' and 'std' together, with as many values each (%zu and %zu "
                "given)",
                lethe_node_get_name(node), n_mean, n_std);
    return FALSE;
  }
  if (n_mean > 0 && lethe_node_get_bool(node, "per-sample")) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: per-sample scales each sample by its own statistics; drop 'mean' and 'std' "
                "or set per-sample = false",
                lethe_node_get_name(node));
    return FALSE;
  }
  for (gsize i = 0; i < n_std; i++)
    if (!(std[i] > 0.0)) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s: 'std' value %zu is %g; standard deviations must be positive",
                  lethe_node_get_name(node), i, std[i]);
      return FALSE;
    }
  lethe_node_set_private(node, g_new0(NormState, 1), norm_state_free);
  return TRUE;
}

static gboolean
get_x(const char *name, const LetheFrame *frame, const char *which, LetheTensor **x, GError **error)
{
  *x = lethe_frame_get_tensor(frame, "x");
  if (*x == NULL || (*x)->dtype != LETHE_DTYPE_F32 || (*x)->rank < 2) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s: the %s frame needs f32 inputs 'x' with one row per sample (rank 2 to 5)", name,
                which);
    return FALSE;
  }
  return TRUE;
}

/* The grouping of @x's elements that the node's `over` asks for. */
static NormStats *
norm_layout(LetheNode *node, const LetheTensor *x)
{
  const char *over = lethe_node_get_string(node, "over");
  NormStats *s = g_new0(NormStats, 1);
  s->rank = x->rank;
  memcpy(s->shape, x->shape, sizeof s->shape);
  s->row = 1;
  for (guint i = 1; i < x->rank; i++)
    s->row *= x->shape[i];
  if (g_str_equal(over, "auto"))
    over = x->rank >= 3 ? "channel" : "feature";
  if (g_str_equal(over, "global")) {
    s->n_groups = 1;
    s->inner = s->row;
  } else if (g_str_equal(over, "channel")) {
    s->n_groups = x->shape[1];
    s->inner = s->n_groups ? s->row / s->n_groups : 0;
  } else {
    s->n_groups = s->row;
    s->inner = 1;
  }
  s->shift = g_new0(double, MAX(s->n_groups, 1));
  s->scale = g_new0(double, MAX(s->n_groups, 1));
  return s;
}

/* Fits shift and scale so that (v − shift) · scale is standardised or in
 * [0, 1].  A constant group gets scale 1 (it maps to 0). */
static void
norm_fit(LetheNode *node, NormStats *s, const LetheTensor *x)
{
  gboolean minmax = g_str_equal(lethe_node_get_string(node, "method"), "minmax");
  gint64 n = x->shape[0];
  const float *v = lethe_tensor_f32(x);
  for (gint64 g = 0; g < s->n_groups; g++) {
    double sum = 0, sum2 = 0, lo = INFINITY, hi = -INFINITY;
    for (gint64 i = 0; i < n; i++) {
      const float *p = v + i * s->row + g * s->inner;
      for (gint64 k = 0; k < s->inner; k++) {
        sum += p[k];
        sum2 += (double)p[k] * p[k];
        lo = MIN(lo, p[k]);
        hi = MAX(hi, p[k]);
      }
    }
    double m = (double)n * s->inner;
    if (minmax) {
      s->shift[g] = m > 0 ? lo : 0.0;
      s->scale[g] = m > 0 && hi > lo ? 1.0 / (hi - lo) : 1.0;
    } else {
      double mean = m > 0 ? sum / m : 0.0;
      double var = m > 0 ? MAX(0.0, sum2 / m - mean * mean) : 0.0;
      s->shift[g] = mean;
      s->scale[g] = var > 0 ? 1.0 / sqrt(var) : 1.0;
    }
  }
}

static gboolean
norm_fits(const char *name, const NormStats *s, const LetheTensor *x, GError **error)
{
  gboolean same = s->rank == x->rank;
  for (guint i = 1; same && i < x->rank; i++)
    same = s->shape[i] == x->shape[i];
  if (same)
    return TRUE;
  g_autofree char *got = lethe_tensor_shape_string(x);
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
              "%s: 'x' is %s but the statistics were fitted on samples of %" G_GINT64_FORMAT
              " elements in rank %u; normalize data of one shape per node",
              name, got, s->row, s->rank);
  return FALSE;
}

/* The statistics for this firing: given, from the reference, or the first frame's. */
static NormStats *
norm_stats_for(LetheNode *node, LetheFrame *reference, const LetheTensor *x, GError **error)
{
  const char *name = lethe_node_get_name(node);
  NormState *st = lethe_node_get_private(node);
  gsize n_mean = 0, n_std = 0;
  const double *mean = lethe_node_get_double_list(node, "mean", &n_mean);
  const double *std = lethe_node_get_double_list(node, "std", &n_std);

  if (reference != NULL && reference != st->reference) {
    LetheTensor *rx;
    if (!get_x(name, reference, "reference", &rx, error))
      return NULL;
    g_autoptr(LetheTensor) c = lethe_tensor_contiguous(rx);
    g_clear_pointer(&st->fitted, norm_stats_free);
    g_clear_pointer(&st->reference, lethe_frame_unref);
    st->fitted = norm_layout(node, c);
    norm_fit(node, st->fitted, c);
    st->reference = lethe_frame_ref(reference);
  }
  if (st->fitted == NULL) {
    st->fitted = norm_layout(node, x);
    if (n_mean > 0) {
      if (n_mean != 1 && (gint64)n_mean != st->fitted->n_groups) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                    "%s: %zu 'mean' values given for %" G_GINT64_FORMAT " groups (over = %s); "
                    "give one value, or one per group",
                    name, n_mean, st->fitted->n_groups, lethe_node_get_string(node, "over"));
        g_clear_pointer(&st->fitted, norm_stats_free);
        return NULL;
      }
      for (gint64 g = 0; g < st->fitted->n_groups; g++) {
        st->fitted->shift[g] = mean[n_mean == 1 ? 0 : g];
        st->fitted->scale[g] = 1.0 / std[n_std == 1 ? 0 : g];
      }
    } else {
      norm_fit(node, st->fitted, x);
    }
  }
  if (!norm_fits(name, st->fitted, x, error))
    return NULL;
  return st->fitted;
}

/* per-sample: each row scaled by its own statistics, per channel for
 * [N, C, …] (over=auto or channel), else over the whole row. */
static LetheTensor *
normalize_each_sample(LetheNode *node, const LetheTensor *src)
{
  gboolean minmax = g_str_equal(lethe_node_get_string(node, "method"), "minmax");
  gboolean channels = src->rank >= 3 && !g_str_equal(lethe_node_get_string(node, "over"), "global");
  gint64 n = src->shape[0], row = 1;
  for (guint i = 1; i < src->rank; i++)
    row *= src->shape[i];
  gint64 n_groups = channels ? src->shape[1] : 1, inner = n_groups ? row / n_groups : 0;
  LetheTensor *dst = lethe_tensor_new_uninit(LETHE_DTYPE_F32, src->rank, src->shape);
  for (gint64 i = 0; i < n * n_groups; i++) {
    const float *v = lethe_tensor_f32(src) + i * inner;
    float *o = lethe_tensor_f32(dst) + i * inner;
    double sum = 0, sum2 = 0, lo = INFINITY, hi = -INFINITY, shift, scale;
    for (gint64 k = 0; k < inner; k++) {
      sum += v[k];
      sum2 += (double)v[k] * v[k];
      lo = MIN(lo, v[k]);
      hi = MAX(hi, v[k]);
    }
    if (minmax) {
      shift = inner > 0 ? lo : 0.0;
      scale = hi > lo ? 1.0 / (hi - lo) : 1.0;
    } else {
      double mean = inner > 0 ? sum / inner : 0.0;
      double var = inner > 0 ? MAX(0.0, sum2 / inner - mean * mean) : 0.0;
      shift = mean;
      scale = var > 0 ? 1.0 / sqrt(var) : 1.0;
    }
    for (gint64 k = 0; k < inner; k++)
      o[k] = (float)((v[k] - shift) * scale);
  }
  return dst;
}

static gboolean
normalize_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  LetheTensor *x;
  if (!get_x(lethe_node_get_name(node), inputs[0], "input", &x, error))
    return FALSE;
  g_autoptr(LetheTensor) src = lethe_tensor_contiguous(x);
  if (lethe_node_get_bool(node, "per-sample")) {
    LetheFrame *out = lethe_frame_copy(inputs[0]);
    lethe_frame_take_tensor(out, "x", normalize_each_sample(node, src));
    lethe_node_push(node, 0, out);
    return TRUE;
  }
  NormStats *s = norm_stats_for(node, inputs[1], src, error);
  if (s == NULL)
    return FALSE;
  LetheTensor *dst = lethe_tensor_new_uninit(LETHE_DTYPE_F32, src->rank, src->shape);
  const float *v = lethe_tensor_f32(src);
  float *o = lethe_tensor_f32(dst);
  for (gint64 i = 0; i < src->shape[0]; i++)
    for (gint64 g = 0; g < s->n_groups; g++) {
      gint64 at = i * s->row + g * s->inner;
      float shift = (float)s->shift[g], scale = (float)s->scale[g];
      for (gint64 k = 0; k < s->inner; k++)
        o[at + k] = (v[at + k] - shift) * scale;
    }
  LetheFrame *out = lethe_frame_copy(inputs[0]);
  lethe_frame_take_tensor(out, "x", dst);
  lethe_node_push(node, 0, out);
  return TRUE;
}

/* ---- train-val-split ------------------------------------------------- */

/* Flags whole groups (values of the per-sample integer tensor @key) so that
 * about @fraction of the groups are picked. */
static gboolean
pick_groups(const char *name, const LetheFrame *frame, const char *key, gint64 n, double fraction,
            LetheRng *rng, gboolean *picked, GError **error)
{
  LetheTensor *k = lethe_frame_get_tensor(frame, key);
  if (k == NULL || k->rank != 1 || k->shape[0] != n ||
      (k->dtype != LETHE_DTYPE_I32 && k->dtype != LETHE_DTYPE_I64)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                "%s: the input has no integer per-sample tensor '%s' to group on; set 'group' "
                "to one of its tensors (e.g. subject)",
                name, key);
    return FALSE;
  }
  g_autoptr(LetheTensor) keys = lethe_tensor_to_dtype(k, LETHE_DTYPE_I64);
  const gint64 *kv = lethe_tensor_i64(keys);
  /* Distinct values in order of first appearance, so the draw does not
   * depend on hashing. */
  g_autoptr(GHashTable) slot = g_hash_table_new(g_int64_hash, g_int64_equal);
  g_autoptr(GArray) values = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (gint64 i = 0; i < n; i++)
    if (!g_hash_table_contains(slot, &kv[i])) {
      g_hash_table_insert(slot, (gpointer)&kv[i], GINT_TO_POINTER(values->len));
      g_array_append_val(values, kv[i]);
    }
  g_autofree gboolean *group_picked = g_new(gboolean, MAX(values->len, 1));
  stream_stratified_pick(NULL, values->len, fraction, rng, group_picked);
  for (gint64 i = 0; i < n; i++)
    picked[i] = group_picked[GPOINTER_TO_INT(g_hash_table_lookup(slot, &kv[i]))];
  return TRUE;
}

static gboolean
split_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  const char *name = lethe_node_get_name(node);
  const char *group = lethe_node_get_string(node, "group");
  double fraction = lethe_node_get_double(node, "fraction");
  gint64 n;
  if (!stream_dataset_rows(inputs[0], name, &n, error))
    return FALSE;
  LetheRng rng;
  next_rng(node, &rng);
  g_autofree gboolean *val = g_new(gboolean, MAX(n, 1));
  if (group[0] != '\0') {
    if (!pick_groups(name, inputs[0], group, n, fraction, &rng, val, error))
      return FALSE;
  } else {
    g_autoptr(LetheTensor) y = NULL;
    if (lethe_node_get_bool(node, "stratified") && !(y = stream_labels(inputs[0], name, 0, error)))
      return FALSE;
    stream_stratified_pick(y ? lethe_tensor_i32(y) : NULL, n, fraction, &rng, val);
  }
  g_autoptr(GArray) train_rows = flagged_rows(val, n, FALSE);
  g_autoptr(GArray) val_rows = flagged_rows(val, n, TRUE);
  if (train_rows->len == 0 || val_rows->len == 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: a validation fraction of %g leaves the %s side empty (%" G_GINT64_FORMAT
                " samples%s%s); choose a fraction strictly between the two",
                name, fraction, train_rows->len == 0 ? "training" : "validation", n,
                group[0] ? ", grouped by " : "", group);
    return FALSE;
  }
  LetheFrame *train = stream_take_rows(inputs[0], (gint64 *)train_rows->data, train_rows->len);
  LetheFrame *valid = stream_take_rows(inputs[0], (gint64 *)val_rows->data, val_rows->len);
  lethe_frame_set_meta_string(train, "split", "train");
  lethe_frame_set_meta_string(valid, "split", "validation");
  if (lethe_node_push_named(node, "train", train))
    lethe_node_push_named(node, "validation", valid);
  else
    lethe_frame_unref(valid);
  return TRUE;
}

/* ---- window ---------------------------------------------------------- */

/* Checks the shape of 'x' against the window length. */
static gboolean
window_check(const char *name, const LetheTensor *x, gint64 length, GError **error)
{
  if (x->rank > 3) {
    g_autofree char *shape_str = lethe_tensor_shape_string(x);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s: 'x' is %s; windows cut signals given as [N, samples] or [N, channels, "
                "samples]",
                name, shape_str);
    return FALSE;
  }
  gint64 samples = x->shape[x->rank - 1];
  if (samples < length) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: the signals have %" G_GINT64_FORMAT " samples, fewer than one window of "
                "%" G_GINT64_FORMAT "; lower 'length'",
                name, samples, length);
    return FALSE;
  }
  return TRUE;
}

static gboolean
window_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  const char *name = lethe_node_get_name(node);
  gint64 length = lethe_node_get_int(node, "length");
  gint64 stride = lethe_node_get_int(node, "stride");
  LetheTensor *x;
  if (!get_x(name, inputs[0], "input", &x, error) || !window_check(name, x, length, error))
    return FALSE;
  if (stride <= 0)
    stride = length;
  gint64 n = x->shape[0], channels = x->rank == 3 ? x->shape[1] : 1;
  gint64 samples = x->shape[x->rank - 1];
  gint64 per_row = (samples - length) / stride + 1, m = n * per_row;

  /* Every per-sample tensor but x repeats once per window; x is cut. */
  g_autoptr(LetheFrame) rest = lethe_frame_copy(inputs[0]);
  lethe_frame_remove_tensor(rest, "x");
  g_autoptr(LetheTensor) ids = stream_index_ids(inputs[0]);
  lethe_frame_set_tensor(rest, "index", ids);
  LetheTensor *old_start = lethe_frame_get_tensor(inputs[0], "start");
  g_autoptr(LetheTensor) start0 = old_start && old_start->rank == 1 && old_start->shape[0] == n
                                      ? lethe_tensor_to_dtype(old_start, LETHE_DTYPE_I64)
                                      : NULL;
  g_autofree gint64 *rows = g_new(gint64, MAX(m, 1));
  for (gint64 k = 0; k < m; k++)
    rows[k] = k / per_row;
  LetheFrame *out = stream_take_rows(rest, rows, (gsize)m);

  gint64 shape[3] = {m, channels, length};
  LetheTensor *wx = x->rank == 3 ? lethe_tensor_new_uninit(LETHE_DTYPE_F32, 3, shape)
                                 : lethe_tensor_new_2d(LETHE_DTYPE_F32, m, length);
  LetheTensor *parent = lethe_tensor_new_1d(LETHE_DTYPE_I64, m);
  LetheTensor *index = lethe_tensor_new_1d(LETHE_DTYPE_I64, m);
  LetheTensor *start = lethe_tensor_new_1d(LETHE_DTYPE_I64, m);
  g_autoptr(LetheTensor) src = lethe_tensor_contiguous(x);
  const float *s = lethe_tensor_f32(src);
  float *o = lethe_tensor_f32(wx);
  for (gint64 k = 0; k < m; k++) {
    gint64 i = k / per_row, w = k % per_row;
    for (gint64 c = 0; c < channels; c++)
      memcpy(o + (k * channels + c) * length, s + (i * channels + c) * samples + w * stride,
             (gsize)length * sizeof(float));
    lethe_tensor_i64(parent)[k] = lethe_tensor_i64(ids)[i];
    lethe_tensor_i64(index)[k] = k;
    lethe_tensor_i64(start)[k] = (start0 ? lethe_tensor_i64(start0)[i] : 0) + w * stride;
  }
  lethe_frame_take_tensor(out, "x", wx);
  lethe_frame_take_tensor(out, "parent", parent);
  lethe_frame_take_tensor(out, "index", index);
  lethe_frame_take_tensor(out, "start", start);
  lethe_frame_set_meta_int(out, "window", length);
  lethe_node_push(node, 0, out);
  return TRUE;
}

/* ---- balance --------------------------------------------------------- */

/* Every class to the same count: the largest class's (oversample, each row
 * of a smaller class repeated ⌊m/n_c⌋ or ⌈m/n_c⌉ times) or the smallest's
 * (undersample, a random choice of rows).  Which rows get the extra copy,
 * or are kept, is drawn from the node's seed; rows stay grouped in their
 * original order, so put a shuffle after it if the order matters. */
static gboolean
balance_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  const char *name = lethe_node_get_name(node);
  gboolean under = g_strcmp0(lethe_node_get_string(node, "method"), "undersample") == 0;
  gint64 n;
  if (!stream_dataset_rows(inputs[0], name, &n, error))
    return FALSE;
  g_autoptr(LetheTensor) y = stream_labels(inputs[0], name, 0, error);
  if (y == NULL)
    return FALSE;
  const gint32 *lab = lethe_tensor_i32(y);
  gint64 k = (gint64)stream_max_label(y) + 1;
  g_autofree gint64 *count = g_new0(gint64, MAX(k, 1));
  for (gint64 i = 0; i < n; i++)
    count[lab[i]]++;
  gint64 target = under ? G_MAXINT64 : 0;
  for (gint64 c = 0; c < k; c++)
    if (count[c] > 0)
      target = under ? MIN(target, count[c]) : MAX(target, count[c]);
  if (n == 0 || target <= 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: cannot balance an empty frame; check the node that feeds it", name);
    return FALSE;
  }

  LetheRng rng;
  next_rng(node, &rng);
  g_autoptr(GArray) rows = g_array_new(FALSE, FALSE, sizeof(gint64));
  g_autofree gint64 *members = g_new(gint64, MAX(n, 1));
  g_autofree gint64 *perm = g_new(gint64, MAX(n, 1));
  g_autofree gint64 *extra = g_new(gint64, MAX(n, 1));
  for (gint64 c = 0; c < k; c++) {
    gint64 m = 0;
    for (gint64 i = 0; i < n; i++)
      if (lab[i] == c)
        members[m++] = i;
    if (m == 0)
      continue;
    /* Member j: target / m copies, one more for the first target % m of a permutation. */
    lethe_rng_permutation(&rng, perm, (gsize)m);
    for (gint64 j = 0; j < m; j++)
      extra[j] = 0;
    for (gint64 q = 0; q < target % m; q++)
      extra[perm[q]] = 1;
    for (gint64 j = 0; j < m; j++)
      for (gint64 r = 0; r < target / m + extra[j]; r++)
        g_array_append_val(rows, members[j]);
  }
  LetheFrame *out = stream_take_rows(inputs[0], (gint64 *)rows->data, rows->len);
  lethe_frame_set_meta_int(out, "balanced-per-class", target);
  lethe_node_push(node, 0, out);
  return TRUE;
}

/* ---- batch ----------------------------------------------------------- */

static gboolean
batch_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  gint64 n;
  if (!stream_dataset_rows(inputs[0], lethe_node_get_name(node), &n, error))
    return FALSE;
  gint64 size = lethe_node_get_int(node, "size");
  gint64 n_batches = lethe_node_get_bool(node, "drop-last") ? n / size : (n + size - 1) / size;
  for (gint64 b = 0; b < n_batches; b++) {
    LetheFrame *f = stream_take_range(inputs[0], b * size, MIN(n, (b + 1) * size));
    lethe_frame_set_meta_int(f, "batch", b);
    lethe_frame_set_meta_int(f, "n-batches", n_batches);
    if (!lethe_node_push(node, 0, f))
      return TRUE;
  }
  return TRUE;
}

/* ---- Node types ------------------------------------------------------ */

static const LethePortSpec data_in[] = {
    {"input", "dataset", LETHE_PORT_NONE, "dataset frames"},
    {NULL},
};
static const LethePortSpec data_out[] = {
    {"output", "dataset", LETHE_PORT_NONE, "the transformed frames, one per input frame"},
    {NULL},
};
static const LethePortSpec normalize_in[] = {
    {"input", "dataset", LETHE_PORT_NONE, "dataset frames to normalize"},
    {"reference", "dataset", LETHE_PORT_STICKY | LETHE_PORT_OPTIONAL,
     "the data whose statistics are used (e.g. the training set for the test set)"},
    {NULL},
};
static const LethePortSpec split_out[] = {
    {"train", "dataset", LETHE_PORT_NONE, "the rows kept for training"},
    {"validation", "dataset", LETHE_PORT_NONE, "the held-out rows"},
    {NULL},
};
static const LethePortSpec batch_out[] = {
    {"output", "dataset", LETHE_PORT_NONE, "consecutive minibatches of each input frame"},
    {NULL},
};

static const char *const method_choices[] = {"standard", "minmax", NULL};
static const char *const over_choices[] = {"auto", "feature", "channel", "global", NULL};

static const LetheParamSpec subset_params[] = {
    {"fraction", LETHE_PARAM_DOUBLE, DEFAULT_FRACTION, 0, 1, NULL, "share of the samples to keep"},
    {"count", LETHE_PARAM_INT, "0", 0, 1e12, NULL,
     "about this many samples instead of a fraction (0: use fraction)"},
    {"stratified", LETHE_PARAM_BOOL, "true", 0, 0, NULL,
     "keep the same share of every class (needs labels y)"},
    {NULL},
};
static const LetheParamSpec normalize_params[] = {
    {"method", LETHE_PARAM_ENUM, "standard", 0, 0, method_choices,
     "standard: zero mean, unit variance; minmax: into [0, 1]"},
    {"over", LETHE_PARAM_ENUM, "auto", 0, 0, over_choices,
     "statistics per feature, per channel (dimension 1) or global; auto: per channel for "
     "[N, C, …], per feature for [N, D]"},
    {"mean", LETHE_PARAM_DOUBLE_LIST, "", -1e30, 1e30, NULL,
     "fixed means (one, or one per group) instead of fitted ones"},
    {"std", LETHE_PARAM_DOUBLE_LIST, "", -1e30, 1e30, NULL, "fixed standard deviations"},
    {"per-sample", LETHE_PARAM_BOOL, "false", 0, 0, NULL,
     "scale each sample by its own statistics (per channel for [N, C, …] unless over=global); "
     "no reference, mean or std then"},
    {NULL},
};
static const LetheParamSpec split_params[] = {
    {"fraction", LETHE_PARAM_DOUBLE, DEFAULT_VAL_FRACTION, 0, 1, NULL,
     "share of the samples (or of the groups) held out for validation"},
    {"stratified", LETHE_PARAM_BOOL, "true", 0, 0, NULL,
     "hold out the same share of every class (without 'group')"},
    {"group", LETHE_PARAM_STRING, "", 0, 0, NULL,
     "per-sample integer tensor (subject, record): each group goes to one side only"},
    {NULL},
};
static const LetheParamSpec window_params[] = {
    {"length", LETHE_PARAM_INT, NULL, 1, 1e12, NULL, "window length in samples"},
    {"stride", LETHE_PARAM_INT, "0", 0, 1e12, NULL,
     "samples between window starts (0: length, no overlap)"},
    {NULL},
};
static const char *const balance_choices[] = {"oversample", "undersample", NULL};
static const LetheParamSpec balance_params[] = {
    {"method", LETHE_PARAM_ENUM, "oversample", 0, 0, balance_choices,
     "oversample: repeat rows up to the largest class; undersample: drop rows down to the "
     "smallest"},
    {NULL},
};
static const LetheParamSpec batch_params[] = {
    {"size", LETHE_PARAM_INT, "128", 1, 1e12, NULL, "samples per batch"},
    {"drop-last", LETHE_PARAM_BOOL, "false", 0, 0, NULL, "drop a last, smaller batch"},
    {NULL},
};

static const LetheNodeVTable subset_vtable = {.init = counter_init, .process = subset_process};
static const LetheNodeVTable shuffle_vtable = {.init = counter_init, .process = shuffle_process};
static const LetheNodeVTable normalize_vtable = {.init = normalize_init,
                                                 .process = normalize_process};
static const LetheNodeVTable split_vtable = {.init = counter_init, .process = split_process};
static const LetheNodeVTable window_vtable = {.process = window_process};
static const LetheNodeVTable batch_vtable = {.process = batch_process};
static const LetheNodeVTable balance_vtable = {.init = counter_init, .process = balance_process};

static const LetheNodeType subset = {
    "subset",
    LETHE_NODE_TRANSFORM,
    "A random subset of each frame, stratified by class",
    data_in,
    data_out,
    subset_params,
    &subset_vtable,
    "Keeps round(fraction × n_c) samples of each class c (of all samples when not "
    "stratified), in their original order, with their sample ids.",
};
static const LetheNodeType shuffle = {
    "shuffle",
    LETHE_NODE_TRANSFORM,
    "The rows of each frame in a random order",
    data_in,
    data_out,
    NULL,
    &shuffle_vtable,
    "One permutation per frame from the node's seed; sample ids travel with their rows.",
};
static const LetheNodeType normalize = {
    "normalize",
    LETHE_NODE_TRANSFORM,
    "Standardise or min-max scale 'x' with fixed, reference or first-frame statistics",
    normalize_in,
    data_out,
    normalize_params,
    &normalize_vtable,
    "Statistics come from 'mean'/'std' when given, else from the 'reference' input when "
    "connected, else from the first input frame; later frames reuse them.  A constant "
    "group maps to 0.",
};
static const LetheNodeType train_val_split = {
    "train-val-split",
    LETHE_NODE_TRANSFORM,
    "Hold out a validation share of each frame, by class or by group (subject)",
    data_in,
    split_out,
    split_params,
    &split_vtable,
    "Both sides keep the input's row order and metadata, plus split = train | validation.  "
    "With 'group' the held-out share is of the groups, so no subject is on both sides.",
};
static const LetheNodeType window = {
    "window",
    LETHE_NODE_TRANSFORM,
    "Cut signals [N, C, L] into fixed-length windows",
    data_in,
    data_out,
    window_params,
    &window_vtable,
    "Each window is a new sample: per-sample tensors are repeated, 'parent' holds the id of "
    "the signal it came from, 'start' its first sample, 'index' new ids 0..M-1.",
};
static const LetheNodeType balance = {
    "balance",
    LETHE_NODE_TRANSFORM,
    "The same number of samples in every class, by repeating or dropping rows",
    data_in,
    data_out,
    balance_params,
    &balance_vtable,
    "Class-balanced sampling for a learner whose loss weighs every sample alike: each class "
    "is brought to the largest class's count (oversample) or the smallest's (undersample); "
    "rows keep their sample ids, so a repeated row repeats its id.  Metadata "
    "balanced-per-class.",
};
static const LetheNodeType batch = {
    "batch",
    LETHE_NODE_TRANSFORM,
    "Split each frame into minibatch frames (views)",
    data_in,
    batch_out,
    batch_params,
    &batch_vtable,
    "Consecutive rows, in order; metadata batch and n-batches.  Put a shuffle before it for "
    "random batches.",
};

static const LetheNodeType *const node_types[] = {
    &subset, &shuffle, &normalize, &train_val_split, &window, &balance, &batch, NULL,
};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR,
    LETHE_ABI_MINOR,
    "transforms",
    "0.1.0",
    "LGPL-2.1-or-later",
    "Dataset transforms: subset, shuffle, normalize, train/validation split, windows, class "
    "balance, batches",
    node_types,
    NULL,
};

LETHE_PLUGIN_DEFINE(plugin_info)
