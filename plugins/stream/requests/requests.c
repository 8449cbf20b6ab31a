/* Lethe — forget requests inserted into a stream.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [request]
 *   plugin = forget-request
 *   input = tasks
 *   classes = 3              # or fraction = 0.1, ids = 4,8,15, key = subject + value = 7
 *   after-task = 4           # default: after the last frame
 *
 * Learn frames pass through on `output`.  After the frame whose "task" is
 * `after-task` (or at the end of the stream) the node gathers every sample
 * seen so far, picks the forget set, and pushes a frame with event
 * "forget" on `output` and on `forget`, and the retain set (everything
 * else, event "retain") on `retain`.  Forget frames from a request
 * upstream pass through, and their samples are no longer candidates (nor
 * part of the retain set), so requests chain.  See docs/streams.md.
 */
#include <math.h>
#include <string.h>

#include <lethe/plugin.h>

#include "stream-ops.h"

typedef struct {
  GPtrArray *seen;       /* learn frames so far */
  GHashTable *forgotten; /* ids of forget frames from upstream requests */
  gboolean done;
} RequestState;

static void
request_state_free(gpointer p)
{
  RequestState *st = p;
  g_ptr_array_unref(st->seen);
  g_hash_table_unref(st->forgotten);
  g_free(st);
}

static gboolean
request_init(LetheNode *node, GError **error)
{
  gsize n_classes = 0, n_ids = 0;
  lethe_node_get_int_list(node, "classes", &n_classes);
  lethe_node_get_int_list(node, "ids", &n_ids);
  gboolean by_fraction = lethe_node_get_double(node, "fraction") > 0.0;
  gboolean by_key = lethe_node_get_string(node, "key")[0] != '\0';
  int kinds = (n_classes > 0) + (n_ids > 0) + by_fraction + by_key;
  if (kinds != 1) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: say what to forget with exactly one of 'classes', 'fraction', 'ids' or "
                "'key' (+ 'value'); %d given",
                lethe_node_get_name(node), kinds);
    return FALSE;
  }
  RequestState *st = g_new0(RequestState, 1);
  st->seen = g_ptr_array_new_with_free_func((GDestroyNotify)lethe_frame_unref);
  st->forgotten = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
  lethe_node_set_private(node, st, request_state_free);
  return TRUE;
}

/* Marks the rows to forget; fails when the request names nothing present. */
static gboolean
pick_forget_rows(LetheNode *node, const LetheFrame *all, gint64 n, gboolean *forget, GError **error)
{
  const char *name = lethe_node_get_name(node);
  gsize n_classes = 0, n_ids = 0;
  const gint64 *classes = lethe_node_get_int_list(node, "classes", &n_classes);
  const gint64 *ids = lethe_node_get_int_list(node, "ids", &n_ids);
  double fraction = lethe_node_get_double(node, "fraction");
  const char *key = lethe_node_get_string(node, "key");
  memset(forget, 0, (gsize)n * sizeof(gboolean));

  if (n_classes > 0) {
    g_autoptr(LetheTensor) y = stream_labels(all, name, 0, error);
    if (y == NULL)
      return FALSE;
    const gint32 *labels = lethe_tensor_i32(y);
    for (gsize c = 0; c < n_classes; c++) {
      gint64 hits = 0;
      for (gint64 i = 0; i < n; i++)
        if (labels[i] == classes[c])
          forget[i] = TRUE, hits++;
      if (hits == 0) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                    "%s: the forget request names class %" G_GINT64_FORMAT
                    ", which does not exist in the %" G_GINT64_FORMAT
                    " samples seen so far (labels 0..%d); name a class that was learned",
                    name, classes[c], n, stream_max_label(y));
        return FALSE;
      }
    }
  } else if (n_ids > 0) {
    g_autoptr(LetheTensor) index = stream_index_ids(all);
    const gint64 *iv = lethe_tensor_i64(index);
    g_autoptr(GHashTable) row_of = g_hash_table_new(g_int64_hash, g_int64_equal);
    for (gint64 i = 0; i < n; i++)
      g_hash_table_insert(row_of, (gpointer)&iv[i], GINT_TO_POINTER(1));
    for (gsize k = 0; k < n_ids; k++)
      if (!g_hash_table_contains(row_of, &ids[k])) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                    "%s: the forget request names sample id %" G_GINT64_FORMAT
                    ", which is not among the samples seen so far",
                    name, ids[k]);
        return FALSE;
      }
    g_autoptr(GHashTable) wanted = g_hash_table_new(g_int64_hash, g_int64_equal);
    for (gsize k = 0; k < n_ids; k++)
      g_hash_table_add(wanted, (gpointer)&ids[k]);
    for (gint64 i = 0; i < n; i++)
      forget[i] = g_hash_table_contains(wanted, &iv[i]);
  } else if (fraction > 0.0) {
    LetheRng rng;
    lethe_rng_init(&rng, lethe_node_get_seed(node));
    g_autoptr(LetheTensor) y = NULL;
    if (lethe_node_get_bool(node, "stratified") && !(y = stream_labels(all, name, 0, error)))
      return FALSE;
    if (stream_stratified_pick(y ? lethe_tensor_i32(y) : NULL, n, fraction, &rng, forget) == 0) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s: a fraction of %g of %" G_GINT64_FORMAT
                  " samples is an empty forget set; raise 'fraction'",
                  name, fraction, n);
      return FALSE;
    }
  } else {
    LetheTensor *k = lethe_frame_get_tensor(all, key);
    if (k == NULL || k->rank != 1 || k->shape[0] != n ||
        (k->dtype != LETHE_DTYPE_I32 && k->dtype != LETHE_DTYPE_I64)) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                  "%s: the data has no integer per-sample tensor '%s'; set 'key' to the "
                  "subject or record field",
                  name, key);
      return FALSE;
    }
    gint64 value = lethe_node_get_int(node, "value"), hits = 0;
    for (gint64 i = 0; i < n; i++)
      if ((gint64)lethe_tensor_get_f64(k, i) == value)
        forget[i] = TRUE, hits++;
    if (hits == 0) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s: no sample has %s = %" G_GINT64_FORMAT "; name a %s present in the data",
                  name, key, value, key);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
emit_request(LetheNode *node, GError **error)
{
  RequestState *st = lethe_node_get_private(node);
  st->done = TRUE;
  if (st->seen->len == 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: no data reached the node before the forget request",
                lethe_node_get_name(node));
    return FALSE;
  }
  g_autoptr(LetheFrame) all = stream_concat(st->seen, error);
  if (all == NULL)
    return FALSE;
  if (g_hash_table_size(st->forgotten) > 0) { /* an upstream request removed these */
    g_autoptr(LetheTensor) index = stream_index_ids(all);
    g_autoptr(GArray) kept = g_array_new(FALSE, FALSE, sizeof(gint64));
    for (gint64 i = 0; i < index->shape[0]; i++)
      if (!g_hash_table_contains(st->forgotten, &lethe_tensor_i64(index)[i]))
        g_array_append_val(kept, i);
    LetheFrame *remaining = stream_take_rows(all, (gint64 *)kept->data, kept->len);
    lethe_frame_unref(all);
    all = remaining;
  }
  gint64 n;
  if (!stream_dataset_rows(all, lethe_node_get_name(node), &n, error))
    return FALSE;
  g_autofree gboolean *forget = g_new(gboolean, MAX(n, 1));
  if (!pick_forget_rows(node, all, n, forget, error))
    return FALSE;

  g_autoptr(GArray) f_rows = g_array_new(FALSE, FALSE, sizeof(gint64));
  g_autoptr(GArray) r_rows = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (gint64 i = 0; i < n; i++)
    g_array_append_val(forget[i] ? f_rows : r_rows, i);
  LetheFrame *f = stream_take_rows(all, (gint64 *)f_rows->data, f_rows->len);
  LetheFrame *r = stream_take_rows(all, (gint64 *)r_rows->data, r_rows->len);
  lethe_frame_set_meta_string(f, "event", "forget");
  lethe_frame_set_meta_string(r, "event", "retain");
  lethe_frame_set_meta(f, "task", NULL);
  lethe_frame_set_meta(r, "task", NULL);
  gsize n_classes = 0;
  const gint64 *classes = lethe_node_get_int_list(node, "classes", &n_classes);
  if (n_classes > 0) {
    g_autofree gint32 *c32 = g_new(gint32, n_classes);
    for (gsize i = 0; i < n_classes; i++)
      c32[i] = (gint32)classes[i];
    lethe_frame_set_meta(
        f, "forget-classes",
        g_variant_new_fixed_array(G_VARIANT_TYPE_INT32, c32, n_classes, sizeof(gint32)));
    lethe_frame_set_meta(
        r, "forget-classes",
        g_variant_new_fixed_array(G_VARIANT_TYPE_INT32, c32, n_classes, sizeof(gint32)));
  }
  lethe_node_push_named(node, "output", lethe_frame_ref(f));
  lethe_node_push_named(node, "forget", f);
  lethe_node_push_named(node, "retain", r);
  return TRUE;
}

static gboolean
request_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  RequestState *st = lethe_node_get_private(node);
  if (g_strcmp0(lethe_frame_get_meta_string(inputs[0], "event", "learn"), "forget") == 0) {
    /* a forget request upstream: pass it on, and never pick its samples */
    g_autoptr(LetheTensor) ids = stream_index_ids(inputs[0]);
    for (gint64 i = 0; i < ids->shape[0]; i++)
      g_hash_table_add(st->forgotten, g_memdup2(&lethe_tensor_i64(ids)[i], sizeof(gint64)));
    lethe_node_push_named(node, "output", lethe_frame_ref(inputs[0]));
    return TRUE;
  }
  g_ptr_array_add(st->seen, lethe_frame_ref(inputs[0]));
  if (!lethe_node_push_named(node, "output", lethe_frame_ref(inputs[0])))
    return TRUE;
  gint64 after = lethe_node_get_int(node, "after-task");
  if (!st->done && after >= 0 && lethe_frame_get_meta_int(inputs[0], "task", -1) == after)
    return emit_request(node, error);
  return TRUE;
}

static gboolean
request_flush(LetheNode *node, GError **error)
{
  RequestState *st = lethe_node_get_private(node);
  if (st->done)
    return TRUE;
  gint64 after = lethe_node_get_int(node, "after-task");
  if (after >= 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: 'after-task' is %" G_GINT64_FORMAT " but the stream had no frame with that "
                "task (%u frames); use a task of the stream or -1 for its end",
                lethe_node_get_name(node), after, st->seen->len);
    return FALSE;
  }
  return emit_request(node, error);
}

static const LethePortSpec request_in[] = {
    {"input", "dataset", LETHE_PORT_NONE, "the stream of learn frames (or one dataset)"},
    {NULL},
};
static const LethePortSpec request_out[] = {
    {"output", "dataset", LETHE_PORT_NONE, "the learn frames, then the forget request"},
    {"forget", "dataset", LETHE_PORT_NONE, "the forget set"},
    {"retain", "dataset", LETHE_PORT_NONE, "the retain set: every sample seen but the forget set"},
    {NULL},
};
static const LetheParamSpec request_params[] = {
    {"classes", LETHE_PARAM_INT_LIST, "", 0, 1e9, NULL, "forget every sample of these classes"},
    {"fraction", LETHE_PARAM_DOUBLE, "0", 0, 1, NULL,
     "forget this fraction of the samples, drawn with the node's seed"},
    {"stratified", LETHE_PARAM_BOOL, "false", 0, 0, NULL,
     "with fraction: the same fraction of every class"},
    {"ids", LETHE_PARAM_INT_LIST, "", 0, 1e18, NULL, "forget the samples with these ids ('index')"},
    {"key", LETHE_PARAM_STRING, "", 0, 0, NULL,
     "per-sample field naming a subject or record (with 'value')"},
    {"value", LETHE_PARAM_INT, "0", -1e18, 1e18, NULL, "the subject or record to forget"},
    {"after-task", LETHE_PARAM_INT, "-1", -1, 1e9, NULL,
     "issue the request after this task's frame (-1: at the end of the stream)"},
    {NULL},
};
static const LetheNodeVTable request_vtable = {
    .init = request_init, .process = request_process, .flush = request_flush};

static const LetheNodeType forget_request = {
    "forget-request",
    LETHE_NODE_TRANSFORM,
    "Forget request: classes, a random fraction, chosen ids or one subject",
    request_in,
    request_out,
    request_params,
    &request_vtable,
    "The forget frame has event=forget, the rows to forget (x, y, index) and, for classes, "
    "forget-classes; the retain set is everything else seen so far.",
};

static const LetheNodeType *const node_types[] = {&forget_request, NULL};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR,     LETHE_ABI_MINOR,
    "requests",          "0.1.0",
    "LGPL-2.1-or-later", "Forget requests inserted into continual-learning streams",
    node_types,          NULL,
};

LETHE_PLUGIN_DEFINE(plugin_info)
