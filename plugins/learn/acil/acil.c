/* acil — analytic class-incremental learning (ACIL) with exact analytic
 * unlearning (ACU).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Learns a stream of requests with a frozen backbone, a random ReLU
 * expansion and a ridge-regression head updated recursively in float64
 * (Zhuang et al., "ACIL: Analytic Class-Incremental Learning with Absolute
 * Memorization and Privacy Protection", NeurIPS 2022), and forgets samples
 * or whole classes exactly, without the remaining data (Tang et al., "ACU:
 * Analytic Continual Unlearning for Efficient and Exact Forgetting with
 * Privacy Preservation", arXiv:2505.12239v1).
 *
 *   [tasks]
 *   plugin = class-incremental
 *   input = train
 *   tasks = 5
 *
 *   [request]
 *   plugin = forget-request
 *   input = tasks
 *   classes = 3
 *
 *   [learn]
 *   plugin = acil
 *   data = request           # learn frames, then the forget frame
 *   width = 2048
 *   gamma = 1
 *
 * Frames with event "learn" (or none) are learned, and so are "retain"
 * frames (so a node fed a retain set is the retrained oracle); frames with event
 * "forget" are unlearned, and with metadata "forget-classes" they must
 * hold every learned sample of those classes.  After each request the
 * node emits a `model` frame of kind "acil" that carries the statistics
 * (W_B, A, U, Q, W, the class counts and the learned sample ids), so the
 * `acu` node can unlearn from it downstream.
 *
 * Readings chosen (see docs/acil.md):
 * - The card's recursion keeps R = A⁻¹ and applies Woodbury's identity;
 *   here A = Σ x_eᵀx_e + γI and its upper Cholesky factor are kept instead,
 *   updated by Givens rank-k updates and downdates (refactoring A when a
 *   batch is large), and W = A⁻¹Q is re-solved after every request.  The
 *   cheap Woodbury form drifts (1e-5 after a class removal at width 2048);
 *   this stays at rounding level (about 1e-13).
 * - ACU's update is the exact least-squares downdate A −= X_uᵀX_u,
 *   Q −= X_uᵀY_u (derived; no ACU code was published).
 * - Removing a class: when its last sample goes, its column of Q is set to
 *   exactly 0 (so W's is exactly 0) and the class is dropped from the
 *   outputs: its logit is −inf, so it can never win the argmax.
 * - Only ids learned can be unlearned; the error lists the others.
 */
#include "acil-node.h"

#include <math.h>
#include <string.h>

#define DEFAULT_WIDTH    "2048"
#define DEFAULT_GAMMA    "1"
#define DEFAULT_SEED     "-1"
#define DEFAULT_BACKBONE "identity"
#define DEFAULT_VERIFY   "false"
#define DEFAULT_CLASSES  "0"

enum { IN_DATA, IN_BACKBONE };

typedef struct {
  AcilState *state;
  GArray *kept;          /* AcilData of every learn request, with verify */
  GHashTable *learnt_by; /* with verify: sample id → index in kept + 1 */
  gint64 version;
  guint n_requests;
} AcilNode;

static void
acil_node_free(gpointer p)
{
  AcilNode *st = p;
  acil_state_free(st->state);
  for (guint i = 0; st->kept && i < st->kept->len; i++)
    acil_data_clear(&g_array_index(st->kept, AcilData, i));
  g_clear_pointer(&st->kept, g_array_unref);
  g_clear_pointer(&st->learnt_by, g_hash_table_unref);
  g_free(st);
}

static gboolean
acil_init(LetheNode *node, GError **error)
{
  AcilNode *st = g_new0(AcilNode, 1);
  st->kept = g_array_new(FALSE, FALSE, sizeof(AcilData));
  st->learnt_by = g_hash_table_new(g_int64_hash, g_int64_equal);
  lethe_node_set_private(node, st, acil_node_free);
  return TRUE;
}

/* The retained rows of the learn requests kept, each sample from the
 * request that learned it last: views when a whole request is retained. */
static GArray *
retained_batches(AcilNode *st, GPtrArray *owned)
{
  GArray *out = g_array_new(FALSE, FALSE, sizeof(AcilBatch));
  for (guint bi = 0; bi < st->kept->len; bi++) {
    const AcilBatch *b = &g_array_index(st->kept, AcilData, bi).b;
    g_autoptr(GArray) rows = g_array_new(FALSE, FALSE, sizeof(gsize));
    for (gsize r = 0; r < b->n; r++)
      if (acil_state_is_learned(st->state, b->ids[r]) &&
          GPOINTER_TO_UINT(g_hash_table_lookup(st->learnt_by, &b->ids[r])) == bi + 1)
        g_array_append_val(rows, r);
    if (rows->len == b->n) {
      g_array_append_val(out, *b);
      continue;
    }
    gsize d_f = (gsize)st->state->d_f, m = rows->len;
    float *x = g_new(float, MAX(m, 1) * d_f);
    gint32 *y = g_new(gint32, MAX(m, 1));
    gint64 *ids = g_new(gint64, MAX(m, 1));
    for (gsize i = 0; i < m; i++) {
      gsize r = g_array_index(rows, gsize, i);
      memcpy(x + i * d_f, b->x + r * d_f, d_f * sizeof(float));
      y[i] = b->y[r];
      ids[i] = b->ids[r];
    }
    g_ptr_array_add(owned, x);
    g_ptr_array_add(owned, y);
    g_ptr_array_add(owned, ids);
    AcilBatch sub = {x, y, ids, m};
    g_array_append_val(out, sub);
  }
  return out;
}

static gboolean
acil_process(LetheNode *node, LetheFrame **in, GError **error)
{
  AcilNode *st = lethe_node_get_private(node);
  LetheFrame *request = in[IN_DATA], *backbone = in[IN_BACKBONE];
  const char *event = lethe_frame_get_meta_string(request, "event", "learn");
  gboolean forget = g_str_equal(event, "forget");
  gboolean use_backbone = g_str_equal(lethe_node_get_string(node, "backbone"), "model");
  gboolean verify = lethe_node_get_bool(node, "verify");
  g_autofree char *what = NULL;
  AcilData d;

  st->n_requests++;
  if (!forget && !g_str_equal(event, "learn") && !g_str_equal(event, "retain"))
    goto bad_event;
  if (use_backbone != (backbone != NULL))
    goto bad_backbone;
  what = g_strdup_printf("%s request %u", event, st->n_requests);
  if (!acil_data_from_frame(request, backbone, st->state ? st->state->d_f : -1, what, &d, error))
    return FALSE;
  if (st->state == NULL) {
    if (forget)
      goto forget_first;
    gint64 seed = lethe_node_get_int(node, "seed");
    st->state = acil_state_new(d.x->shape[1], lethe_node_get_int(node, "width"),
                               lethe_node_get_double(node, "gamma"),
                               seed >= 0 ? (guint64)seed : lethe_node_get_seed(node));
  }

  gint64 t0 = g_get_monotonic_time();
  if (!(forget ? acil_forget(st->state, request, &d, what, error)
               : acil_learn(st->state, &d.b, what, error))) {
    acil_data_clear(&d);
    return FALSE;
  }
  acil_state_reserve_classes(st->state, MAX(lethe_node_get_int(node, "classes"),
                                            lethe_frame_get_meta_int(request, "n-classes", 0)));
  double seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
  st->version++;
  lethe_node_metric(node, forget ? "unlearn_seconds" : "learn_seconds", st->version, seconds, NULL);

  if (verify && !forget) {
    for (gsize i = 0; i < d.b.n; i++)
      g_hash_table_insert(st->learnt_by, (gpointer)&d.b.ids[i],
                          GUINT_TO_POINTER(st->kept->len + 1));
    g_array_append_val(st->kept, d); /* the ids the table points to live here */
  } else {
    acil_data_clear(&d);
  }
  if (verify) {
    g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) batches = retained_batches(st, owned);
    double rel;
    lethe_node_progress(node, "checking against the ridge solution from scratch", -1.0);
    if (!acil_retrain_rel_error(st->state, (AcilBatch *)batches->data, batches->len, &rel, error))
      return FALSE;
    lethe_node_metric(node, "retrain_rel_error", st->version, rel, NULL);
  }

  LetheFrame *model = acil_state_to_model(st->state, st->version);
  acil_model_finish(model, request, event, seconds);
  acil_model_attach_backbone(model, backbone);
  lethe_node_push_named(node, "model", model);
  return TRUE;

  /* ERRORS */
bad_event:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "request %u has event '%s'; acil learns 'learn' (and 'retain') frames and "
              "unlearns 'forget' frames (connect the output of a stream or forget-request node)",
              st->n_requests, event);
  return FALSE;
bad_backbone:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              use_backbone ? "backbone = model, but the 'backbone' input is not connected; "
                             "connect a frozen model (backbone = NODE.model) or set backbone = "
                             "identity"
                           : "the 'backbone' input is connected but backbone = identity; set "
                             "backbone = model");
  return FALSE;
forget_first:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "%s: nothing has been learned yet, so there is nothing to forget; put the forget "
              "request after the learn requests",
              what);
  acil_data_clear(&d);
  return FALSE;
}

static const LethePortSpec acil_inputs[] = {
    {"data", "dataset", LETHE_PORT_NONE,
     "requests: learn frames (event learn) and forget frames (event forget)"},
    {"backbone", "model", LETHE_PORT_STICKY | LETHE_PORT_OPTIONAL,
     "with backbone = model: the frozen feature extractor (any model kind)"},
    {NULL},
};

static const LethePortSpec acil_outputs[] = {
    {"model", "model", LETHE_PORT_NONE,
     "the model after each request (kind acil), with its statistics"},
    {NULL},
};

static const char *const backbone_choices[] = {"identity", "model", NULL};

static const LetheParamSpec acil_params[] = {
    {"width", LETHE_PARAM_INT, DEFAULT_WIDTH, 1, 65536, NULL,
     "width d_B of the random ReLU expansion"},
    {"gamma", LETHE_PARAM_DOUBLE, DEFAULT_GAMMA, 1e-12, 1e12, NULL, "ridge regulariser γ"},
    {"seed", LETHE_PARAM_INT, DEFAULT_SEED, -1, 4.6e18, NULL,
     "seed of the expansion W_B (-1: the node's seed from the pipeline seed)"},
    {"backbone", LETHE_PARAM_ENUM, DEFAULT_BACKBONE, 0, 0, backbone_choices,
     "identity: raw inputs flattened; model: run the 'backbone' input first"},
    {"verify", LETHE_PARAM_BOOL, DEFAULT_VERIFY, 0, 0, NULL,
     "after each request, record retrain_rel_error against ridge from scratch (keeps the data)"},
    {"classes", LETHE_PARAM_INT, DEFAULT_CLASSES, 0, 1000000, NULL,
     "output at least this many classes (0: the stream's n-classes, else labels seen)"},
    {NULL},
};

static const LetheNodeVTable acil_vtable = {.init = acil_init, .process = acil_process};

const LetheNodeType acil_node_type = {
    "acil",
    LETHE_NODE_LEARNER,
    "Analytic class-incremental learning with exact unlearning (ACIL + ACU), float64",
    acil_inputs,
    acil_outputs,
    acil_params,
    &acil_vtable,
    "Learns frames with event 'learn' and unlearns frames with event 'forget' (with "
    "'forget-classes': whole classes) exactly: after any sequence of requests the head equals the "
    "ridge solution on the retained samples.  Emits a model of kind 'acil' after each request; "
    "metrics learn_seconds, unlearn_seconds and, with verify, retrain_rel_error.",
};

static const LetheNodeType *const node_types[] = {&acil_node_type, &acu_node_type, NULL};
static const LetheModelKind *const model_kinds[] = {&acil_model_kind, NULL};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR,
    LETHE_ABI_MINOR,
    "acil",
    "0.1.0",
    "LGPL-2.1-or-later",
    "Analytic class-incremental learning (ACIL) and exact analytic unlearning (ACU)",
    node_types,
    model_kinds,
};

LETHE_PLUGIN_DEFINE(plugin_info)
