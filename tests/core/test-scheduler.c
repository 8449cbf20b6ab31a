/* Tests of the scheduler: firing rules, fan-out sharing, sticky ports,
 * end-of-stream ordering, back-pressure, parallel firing, failures and
 * cancellation.  Graphs are built directly with the core's internal graph
 * API and node types defined here.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"
#include "node-private.h"

#include <lethe/lethe.h>
#include <lethe/nn-rng.h>
#include <string.h>

/* ---- node types used by the tests ------------------------------------ */

/* Frames each node saw, by node name (tests run one after another). */
static GHashTable *seen;

static GPtrArray *
seen_by(const char *node)
{
  GPtrArray *a = g_hash_table_lookup(seen, node);
  if (a == NULL) {
    a = g_ptr_array_new_with_free_func((GDestroyNotify)lethe_frame_unref);
    g_hash_table_insert(seen, g_strdup(node), a);
  }
  return a;
}

static void
reset_seen(void)
{
  g_clear_pointer(&seen, g_hash_table_unref);
  seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
}

typedef struct {
  gint64 emitted;
  gint in_process; /* atomic */
  gint max_in_process;
  guint max_queue;
  gint64 flushes;
} State;

static gboolean
state_init(LetheNode *node, GError **error)
{
  lethe_node_set_private(node, g_new0(State, 1), g_free);
  return TRUE;
}

static const LetheParamSpec src_params[] = {
    {.name = "frames", .type = LETHE_PARAM_INT, .default_value = "10", .min = 0, .max = 1e12},
    {.name = "sleep-us", .type = LETHE_PARAM_INT, .default_value = "0", .min = 0, .max = 1e7},
    {NULL},
};
static const LethePortSpec any_out[] = {{.name = "output", .schema = "any"}, {NULL}};
static const LethePortSpec two_out[] = {
    {.name = "a", .schema = "any"}, {.name = "b", .schema = "any"}, {NULL}};
static const LethePortSpec any_in[] = {{.name = "input", .schema = "any"}, {NULL}};

/* A source: frame k holds x = [k, k+1, k+2, k+3] plus 4 seeded randoms in r. */
static gboolean
src_process(LetheNode *node, LetheFrame **in, GError **error)
{
  State *s = lethe_node_get_private(node);
  gint64 n = lethe_node_get_int(node, "frames");
  if (s->emitted >= n) {
    lethe_node_end_stream(node);
    return TRUE;
  }
  if (lethe_node_get_int(node, "sleep-us"))
    g_usleep(lethe_node_get_int(node, "sleep-us"));
  LetheTensor *x = lethe_tensor_new_1d(LETHE_DTYPE_F32, 4);
  for (int i = 0; i < 4; i++)
    lethe_tensor_f32(x)[i] = (float)(s->emitted + i);
  LetheTensor *r = lethe_tensor_new_1d(LETHE_DTYPE_F64, 4);
  LetheRng rng;
  lethe_rng_init_stream(&rng, lethe_node_get_seed(node), (guint64)s->emitted);
  for (int i = 0; i < 4; i++)
    lethe_tensor_f64(r)[i] = lethe_rng_uniform(&rng);
  LetheFrame *f = lethe_frame_new();
  lethe_frame_take_tensor(f, "x", x);
  lethe_frame_take_tensor(f, "r", r);
  lethe_frame_set_meta_int(f, "step", s->emitted);
  s->emitted++;
  return lethe_node_push(node, 0, f);
}

static const LetheNodeVTable src_vt = {.init = state_init, .process = src_process};
static const LetheNodeType src_type = {.name = "src",
                                       .kind = LETHE_NODE_SOURCE,
                                       .outputs = any_out,
                                       .params = src_params,
                                       .vtable = &src_vt};

/* A source that pushes all its frames on "a", then all on "b". */
static gboolean
split_src_process(LetheNode *node, LetheFrame **in, GError **error)
{
  gint64 n = lethe_node_get_int(node, "frames");
  for (guint port = 0; port < 2; port++) {
    for (gint64 k = 0; k < n; k++) {
      LetheFrame *f = lethe_frame_new();
      lethe_frame_set_meta_int(f, "step", k);
      if (!lethe_node_push(node, port, f))
        return TRUE;
    }
  }
  lethe_node_end_stream(node);
  return TRUE;
}

static const LetheNodeVTable split_src_vt = {.process = split_src_process};
static const LetheNodeType split_src_type = {.name = "split-src",
                                             .kind = LETHE_NODE_SOURCE,
                                             .outputs = two_out,
                                             .params = src_params,
                                             .vtable = &split_src_vt};

static gboolean
pass_process(LetheNode *node, LetheFrame **in, GError **error)
{
  lethe_node_push(node, 0, lethe_frame_ref(in[0]));
  return TRUE;
}

static const LetheNodeVTable pass_vt = {.process = pass_process};
static const LetheNodeType pass_type = {.name = "pass",
                                        .kind = LETHE_NODE_TRANSFORM,
                                        .inputs = any_in,
                                        .outputs = any_out,
                                        .vtable = &pass_vt};

/* A sink that keeps every frame (and records queue depth and overlap). */
static const LetheParamSpec collect_params[] = {
    {.name = "sleep-us", .type = LETHE_PARAM_INT, .default_value = "0", .min = 0, .max = 1e7},
    {NULL},
};

static gboolean
collect_process(LetheNode *node, LetheFrame **in, GError **error)
{
  State *s = lethe_node_get_private(node);
  int now = g_atomic_int_add(&s->in_process, 1) + 1;
  s->max_in_process = MAX(s->max_in_process, now);
  g_mutex_lock(&node->lock);
  s->max_queue = MAX(s->max_queue, node->in[0].queue.len);
  g_mutex_unlock(&node->lock);
  if (s->flushes)
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_FAILED, "frame after flush");
  g_ptr_array_add(seen_by(lethe_node_get_name(node)), lethe_frame_ref(in[0]));
  if (lethe_node_get_int(node, "sleep-us"))
    g_usleep(lethe_node_get_int(node, "sleep-us"));
  g_atomic_int_add(&s->in_process, -1);
  return s->flushes == 0;
}

static gboolean
collect_flush(LetheNode *node, GError **error)
{
  State *s = lethe_node_get_private(node);
  s->flushes++;
  return TRUE;
}

static const LetheNodeVTable collect_vt = {
    .init = state_init, .process = collect_process, .flush = collect_flush};
static const LetheNodeType collect_type = {.name = "collect",
                                           .kind = LETHE_NODE_SINK,
                                           .inputs = any_in,
                                           .params = collect_params,
                                           .vtable = &collect_vt};

/* Takes its input and writes into it: x[0] = -1. */
static gboolean
writer_process(LetheNode *node, LetheFrame **in, GError **error)
{
  LetheFrame *orig = lethe_node_take_input(node, 0);
  LetheFrame *f = lethe_frame_make_writable(orig);
  LetheTensor *x = lethe_tensor_ref(lethe_frame_get_tensor(f, "x"));
  lethe_frame_remove_tensor(f, "x");
  LetheTensor *before = x;
  x = lethe_tensor_make_writable(x);
  lethe_tensor_f32(x)[0] = -1;
  lethe_frame_set_meta_int(f, "copied", (f != orig || x != before) ? 1 : 0);
  lethe_frame_take_tensor(f, "x", x);
  lethe_node_push(node, 0, f);
  return TRUE;
}

static const LetheNodeVTable writer_vt = {.process = writer_process};
static const LetheNodeType writer_type = {.name = "writer",
                                          .kind = LETHE_NODE_TRANSFORM,
                                          .inputs = any_in,
                                          .outputs = any_out,
                                          .vtable = &writer_vt};

/* Fires on a model stream with a sticky data input; pushes the pair. */
static const LethePortSpec eval_in[] = {
    {.name = "model", .schema = "any"},
    {.name = "data", .schema = "any", .flags = LETHE_PORT_STICKY},
    {NULL}};

static gboolean
eval_process(LetheNode *node, LetheFrame **in, GError **error)
{
  LetheFrame *f = lethe_frame_new();
  lethe_frame_set_meta_int(f, "model", lethe_frame_get_meta_int(in[0], "step", -1));
  lethe_frame_set_meta_int(f, "data", lethe_frame_get_meta_int(in[1], "step", -1));
  g_ptr_array_add(seen_by("eval-data"), lethe_frame_ref(in[1]));
  lethe_node_push(node, 0, f);
  return TRUE;
}

static const LetheNodeVTable eval_vt = {.process = eval_process};
static const LetheNodeType eval_type = {.name = "eval",
                                        .kind = LETHE_NODE_EVALUATOR,
                                        .inputs = eval_in,
                                        .outputs = any_out,
                                        .vtable = &eval_vt};

/* Only sticky inputs: fires on each update once both hold a frame. */
static const LethePortSpec latest_in[] = {
    {.name = "a", .schema = "any", .flags = LETHE_PORT_STICKY},
    {.name = "b", .schema = "any", .flags = LETHE_PORT_STICKY},
    {NULL}};

static gboolean
latest_process(LetheNode *node, LetheFrame **in, GError **error)
{
  State *s = lethe_node_get_private(node);
  int now = g_atomic_int_add(&s->in_process, 1) + 1;
  s->max_in_process = MAX(s->max_in_process, now);
  g_usleep(200);
  LetheFrame *f = lethe_frame_new();
  lethe_frame_set_meta_int(f, "a", lethe_frame_get_meta_int(in[0], "step", -1));
  lethe_frame_set_meta_int(f, "b", lethe_frame_get_meta_int(in[1], "step", -1));
  g_atomic_int_add(&s->in_process, -1);
  lethe_node_push(node, 0, f);
  return TRUE;
}

static const LetheNodeVTable latest_vt = {.init = state_init, .process = latest_process};
static const LetheNodeType latest_type = {.name = "latest",
                                          .kind = LETHE_NODE_TRANSFORM,
                                          .inputs = latest_in,
                                          .outputs = any_out,
                                          .vtable = &latest_vt};

/* Two non-sticky inputs; pushes one frame per pair. */
static const LethePortSpec pair_in[] = {
    {.name = "a", .schema = "any"}, {.name = "b", .schema = "any"}, {NULL}};

static gboolean
pair_process(LetheNode *node, LetheFrame **in, GError **error)
{
  LetheFrame *f = lethe_frame_new();
  lethe_frame_set_meta_int(f, "a", lethe_frame_get_meta_int(in[0], "step", -1));
  lethe_frame_set_meta_int(f, "b", lethe_frame_get_meta_int(in[1], "step", -1));
  lethe_node_push(node, 0, f);
  return TRUE;
}

static const LetheNodeVTable pair_vt = {.process = pair_process};
static const LetheNodeType pair_type = {.name = "pair",
                                        .kind = LETHE_NODE_TRANSFORM,
                                        .inputs = pair_in,
                                        .outputs = any_out,
                                        .vtable = &pair_vt};

/* Pushes each input, and at flush one frame with metadata flush = 1. */
static gboolean
flusher_flush(LetheNode *node, GError **error)
{
  LetheFrame *f = lethe_frame_new();
  lethe_frame_set_meta_int(f, "flush", 1);
  lethe_node_push(node, 0, f);
  return TRUE;
}

static const LetheNodeVTable flusher_vt = {.process = pass_process, .flush = flusher_flush};
static const LetheNodeType flusher_type = {.name = "flusher",
                                           .kind = LETHE_NODE_TRANSFORM,
                                           .inputs = any_in,
                                           .outputs = any_out,
                                           .vtable = &flusher_vt};

/* Fails at frame 5 with a domain of its own. */
#define TEST_ERROR (g_quark_from_static_string("test-error"))

static gboolean
boom_process(LetheNode *node, LetheFrame **in, GError **error)
{
  if (lethe_frame_get_meta_int(in[0], "step", -1) == 4) {
    g_set_error(error, TEST_ERROR, 42, "disk on fire");
    return FALSE;
  }
  lethe_node_push(node, 0, lethe_frame_ref(in[0]));
  return TRUE;
}

static const LetheNodeVTable boom_vt = {.process = boom_process};
static const LetheNodeType boom_type = {.name = "boom",
                                        .kind = LETHE_NODE_TRANSFORM,
                                        .inputs = any_in,
                                        .outputs = any_out,
                                        .vtable = &boom_vt};

/* ---- helpers --------------------------------------------------------- */

static const char *
lookup(gpointer data, const char *param, gboolean *is_set)
{
  const char *const *params = data;
  gsize len = strlen(param);
  for (const char *const *p = params; p && *p; p++) {
    if (strncmp(*p, param, len) == 0 && (*p)[len] == '=') {
      *is_set = TRUE;
      return *p + len + 1;
    }
  }
  *is_set = FALSE;
  return NULL;
}

static LetheNode *
add(LetheGraph *g, const char *name, const LetheNodeType *type, const char *const *params)
{
  GError *error = NULL;
  LetheNode *n = lethe_node_new_internal(name, type, "test-plugin", "1", lookup, (gpointer)params,
                                         NULL, &error);
  LETHE_ASSERT_NO_ERROR(error);
  lethe_graph_add(g, n);
  return n;
}

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})

static gboolean
run(LetheGraph *g, GError **error)
{
  gboolean ok = lethe_graph_run(g, error);
  lethe_graph_finalize_nodes(g);
  return ok;
}

/* ---- tests ----------------------------------------------------------- */

static void
test_chain_delivers_every_frame_in_order(void)
{
  reset_seen();
  LetheGraph *g = lethe_graph_new(2, 1, NULL);
  LetheNode *s = add(g, "s", &src_type, P("frames=200"));
  LetheNode *prev = s;
  for (int i = 0; i < 5; i++) {
    g_autofree char *name = g_strdup_printf("p%d", i);
    LetheNode *p = add(g, name, &pass_type, NULL);
    lethe_graph_link(g, prev, 0, p, 0);
    prev = p;
  }
  LetheNode *c = add(g, "c", &collect_type, NULL);
  lethe_graph_link(g, prev, 0, c, 0);

  GError *error = NULL;
  CU_ASSERT_TRUE(run(g, &error));
  LETHE_ASSERT_NO_ERROR(error);
  GPtrArray *got = seen_by("c");
  CU_ASSERT_EQUAL_FATAL(got->len, 200);
  for (guint k = 0; k < got->len; k++)
    CU_ASSERT_EQUAL(lethe_frame_get_meta_int(got->pdata[k], "step", -1), (gint64)k);
  /* Only the collector still holds them: nothing leaked along the chain. */
  CU_ASSERT_EQUAL(lethe_frame_get_refcount(got->pdata[0]), 1);
  CU_ASSERT_EQUAL(lethe_frame_get_refcount(got->pdata[199]), 1);
  CU_ASSERT_EQUAL(((LetheNode *)lethe_graph_get_node(g, 3))->n_firings, 200);
  lethe_graph_free(g);
}

static void
test_fan_out_shares_one_frame(void)
{
  reset_seen();
  LetheGraph *g = lethe_graph_new(2, 1, NULL);
  LetheNode *s = add(g, "s", &src_type, P("frames=20"));
  LetheNode *a = add(g, "a", &collect_type, NULL);
  LetheNode *b = add(g, "b", &collect_type, NULL);
  lethe_graph_link(g, s, 0, a, 0);
  lethe_graph_link(g, s, 0, b, 0);

  GError *error = NULL;
  CU_ASSERT_TRUE(run(g, &error));
  LETHE_ASSERT_NO_ERROR(error);
  GPtrArray *ga = seen_by("a"), *gb = seen_by("b");
  CU_ASSERT_EQUAL_FATAL(ga->len, 20);
  CU_ASSERT_EQUAL_FATAL(gb->len, 20);
  for (guint k = 0; k < 20; k++) {
    CU_ASSERT_PTR_EQUAL(ga->pdata[k], gb->pdata[k]);
    LetheTensor *ta = lethe_frame_get_tensor(ga->pdata[k], "x");
    LetheTensor *tb = lethe_frame_get_tensor(gb->pdata[k], "x");
    CU_ASSERT_PTR_EQUAL(ta->buffer, tb->buffer);
    CU_ASSERT_PTR_EQUAL(lethe_tensor_data(ta), lethe_tensor_data(tb));
    /* One reference per consumer, none left in the core. */
    CU_ASSERT_EQUAL(lethe_frame_get_refcount(ga->pdata[k]), 2);
    CU_ASSERT_EQUAL(lethe_tensor_get_refcount(ta), 1);
  }
  lethe_graph_free(g);
}

static void
test_writer_copies_only_when_shared(void)
{
  /* Exclusive: the writer owns the frame and writes in place. */
  reset_seen();
  LetheGraph *g = lethe_graph_new(1, 1, NULL);
  LetheNode *s = add(g, "s", &src_type, P("frames=3"));
  LetheNode *w = add(g, "w", &writer_type, NULL);
  LetheNode *c = add(g, "c", &collect_type, NULL);
  lethe_graph_link(g, s, 0, w, 0);
  lethe_graph_link(g, w, 0, c, 0);
  GError *error = NULL;
  CU_ASSERT_TRUE(run(g, &error));
  LETHE_ASSERT_NO_ERROR(error);
  GPtrArray *out = seen_by("c");
  CU_ASSERT_EQUAL_FATAL(out->len, 3);
  for (guint k = 0; k < 3; k++) {
    CU_ASSERT_EQUAL(lethe_frame_get_meta_int(out->pdata[k], "copied", -1), 0);
    CU_ASSERT_EQUAL(lethe_tensor_f32(lethe_frame_get_tensor(out->pdata[k], "x"))[0], -1.0f);
  }
  lethe_graph_free(g);

  /* Shared with another consumer: the writer gets a copy, the other
   * consumer's frame is untouched. */
  reset_seen();
  g = lethe_graph_new(1, 1, NULL);
  s = add(g, "s", &src_type, P("frames=3"));
  w = add(g, "w", &writer_type, NULL);
  c = add(g, "c", &collect_type, NULL);
  LetheNode *keep = add(g, "keep", &collect_type, NULL);
  lethe_graph_link(g, s, 0, keep, 0);
  lethe_graph_link(g, s, 0, w, 0);
  lethe_graph_link(g, w, 0, c, 0);
  CU_ASSERT_TRUE(run(g, &error));
  LETHE_ASSERT_NO_ERROR(error);
  out = seen_by("c");
  GPtrArray *kept = seen_by("keep");
  CU_ASSERT_EQUAL_FATAL(out->len, 3);
  CU_ASSERT_EQUAL_FATAL(kept->len, 3);
  for (guint k = 0; k < 3; k++) {
    CU_ASSERT_EQUAL(lethe_frame_get_meta_int(out->pdata[k], "copied", -1), 1);
    CU_ASSERT_PTR_NOT_EQUAL(out->pdata[k], kept->pdata[k]);
    LetheTensor *orig = lethe_frame_get_tensor(kept->pdata[k], "x");
    CU_ASSERT_EQUAL(lethe_tensor_f32(orig)[0], (float)k);
    CU_ASSERT_EQUAL(lethe_tensor_f32(lethe_frame_get_tensor(out->pdata[k], "x"))[0], -1.0f);
    CU_ASSERT_EQUAL(lethe_frame_get_refcount(kept->pdata[k]), 1);
  }
  lethe_graph_free(g);
}

static void
test_sticky_input_keeps_latest_frame(void)
{
  reset_seen();
  LetheGraph *g = lethe_graph_new(2, 1, NULL);
  LetheNode *models = add(g, "models", &src_type, P("frames=6", "sleep-us=500"));
  LetheNode *data = add(g, "data", &src_type, P("frames=1"));
  LetheNode *e = add(g, "e", &eval_type, NULL);
  LetheNode *c = add(g, "c", &collect_type, NULL);
  lethe_graph_link(g, models, 0, e, 0);
  lethe_graph_link(g, data, 0, e, 1);
  lethe_graph_link(g, e, 0, c, 0);
  GError *error = NULL;
  CU_ASSERT_TRUE(run(g, &error));
  LETHE_ASSERT_NO_ERROR(error);
  GPtrArray *out = seen_by("c");
  GPtrArray *data_seen = seen_by("eval-data");
  /* One firing per model frame, each lent the one data frame. */
  CU_ASSERT_EQUAL_FATAL(out->len, 6);
  for (guint k = 0; k < 6; k++) {
    CU_ASSERT_EQUAL(lethe_frame_get_meta_int(out->pdata[k], "model", -1), (gint64)k);
    CU_ASSERT_EQUAL(lethe_frame_get_meta_int(out->pdata[k], "data", -1), 0);
    CU_ASSERT_PTR_EQUAL(data_seen->pdata[k], data_seen->pdata[0]);
  }
  lethe_graph_free(g);
}

static void
test_sticky_only_node_fires_on_updates(void)
{
  reset_seen();
  LetheGraph *g = lethe_graph_new(2, 1, NULL);
  LetheNode *a = add(g, "a", &src_type, P("frames=3", "sleep-us=300"));
  LetheNode *b = add(g, "b", &src_type, P("frames=4", "sleep-us=300"));
  LetheNode *l = add(g, "l", &latest_type, NULL);
  LetheNode *c = add(g, "c", &collect_type, NULL);
  lethe_graph_link(g, a, 0, l, 0);
  lethe_graph_link(g, b, 0, l, 1);
  lethe_graph_link(g, l, 0, c, 0);
  GError *error = NULL;
  CU_ASSERT_TRUE(run(g, &error));
  LETHE_ASSERT_NO_ERROR(error);
  GPtrArray *out = seen_by("c");
  /* At most one firing per arrival after both hold a frame (updates that
   * arrive while it runs coalesce), at least one, and the last firing
   * sees the last frame of each. */
  CU_ASSERT_TRUE(out->len >= 1 && out->len <= 6);
  LetheFrame *last = out->pdata[out->len - 1];
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(last, "a", -1), 2);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(last, "b", -1), 3);
  State *st = lethe_node_get_private(l);
  CU_ASSERT_PTR_NULL(st); /* freed by finalize */
  lethe_graph_free(g);
}

static void
test_flush_output_precedes_end_of_stream(void)
{
  reset_seen();
  LetheGraph *g = lethe_graph_new(2, 1, NULL);
  LetheNode *s = add(g, "s", &src_type, P("frames=7"));
  LetheNode *f = add(g, "f", &flusher_type, NULL);
  LetheNode *c = add(g, "c", &collect_type, NULL);
  lethe_graph_link(g, s, 0, f, 0);
  lethe_graph_link(g, f, 0, c, 0);
  GError *error = NULL;
  /* collect fails on any frame that arrives after its own flush. */
  CU_ASSERT_TRUE(lethe_graph_run(g, &error));
  LETHE_ASSERT_NO_ERROR(error);
  State *st = lethe_node_get_private(c);
  CU_ASSERT_EQUAL(st->flushes, 1);
  lethe_graph_finalize_nodes(g);
  GPtrArray *out = seen_by("c");
  CU_ASSERT_EQUAL_FATAL(out->len, 8);
  for (guint k = 0; k < 7; k++)
    CU_ASSERT_EQUAL(lethe_frame_get_meta_int(out->pdata[k], "step", -1), (gint64)k);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(out->pdata[7], "flush", 0), 1);
  lethe_graph_free(g);
}

static void
test_back_pressure_bounds_queues(void)
{
  reset_seen();
  LetheGraph *g = lethe_graph_new(2, 1, NULL);
  lethe_graph_set_queue_size(g, 4);
  LetheNode *s = add(g, "s", &src_type, P("frames=300"));
  LetheNode *fast = add(g, "fast", &collect_type, NULL);
  LetheNode *slow = add(g, "slow", &collect_type, P("sleep-us=200"));
  lethe_graph_link(g, s, 0, fast, 0);
  lethe_graph_link(g, s, 0, slow, 0);
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_graph_run(g, &error));
  LETHE_ASSERT_NO_ERROR(error);
  State *st = lethe_node_get_private(slow);
  /* The source waited for the slow consumer instead of queueing 300. */
  CU_ASSERT_TRUE(st->max_queue <= 4);
  CU_ASSERT_EQUAL(seen_by("slow")->len, 300);
  CU_ASSERT_EQUAL(seen_by("fast")->len, 300);
  lethe_graph_finalize_nodes(g);
  lethe_graph_free(g);
}

static void
test_unbalanced_diamond_does_not_deadlock(void)
{
  /* All of output a is pushed before any of b: the pair node starves on
   * b, so its queue on a must grow past the bound instead of blocking. */
  reset_seen();
  LetheGraph *g = lethe_graph_new(2, 1, NULL);
  lethe_graph_set_queue_size(g, 2);
  LetheNode *s = add(g, "s", &split_src_type, P("frames=50"));
  LetheNode *pa = add(g, "pa", &pass_type, NULL);
  LetheNode *pair = add(g, "pair", &pair_type, NULL);
  LetheNode *c = add(g, "c", &collect_type, NULL);
  lethe_graph_link(g, s, 0, pa, 0);
  lethe_graph_link(g, pa, 0, pair, 0);
  lethe_graph_link(g, s, 1, pair, 1);
  lethe_graph_link(g, pair, 0, c, 0);
  GError *error = NULL;
  CU_ASSERT_TRUE(run(g, &error));
  LETHE_ASSERT_NO_ERROR(error);
  GPtrArray *out = seen_by("c");
  CU_ASSERT_EQUAL_FATAL(out->len, 50);
  for (guint k = 0; k < 50; k++) {
    CU_ASSERT_EQUAL(lethe_frame_get_meta_int(out->pdata[k], "a", -1), (gint64)k);
    CU_ASSERT_EQUAL(lethe_frame_get_meta_int(out->pdata[k], "b", -1), (gint64)k);
  }
  lethe_graph_free(g);
}

static void
test_max_memory_throttles_queues(void)
{
  /* Each frame is 48 bytes (x: 4 f32, r: 4 f64) on two edges: 96 bytes
   * per frame per edge pair, so 200 bytes leave room for 2 frames per
   * queue, below the queue size of 8. */
  reset_seen();
  LetheGraph *g = lethe_graph_new(2, 1, NULL);
  lethe_graph_set_queue_size(g, 8);
  lethe_graph_set_max_memory(g, 200);
  LetheNode *s = add(g, "s", &src_type, P("frames=300"));
  LetheNode *fast = add(g, "fast", &collect_type, NULL);
  LetheNode *slow = add(g, "slow", &collect_type, P("sleep-us=200"));
  lethe_graph_link(g, s, 0, fast, 0);
  lethe_graph_link(g, s, 0, slow, 0);
  CU_ASSERT_EQUAL(lethe_graph_get_queue_capacity(g), 8);
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_graph_run(g, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(lethe_graph_get_queue_capacity(g), 2);
  State *st = lethe_node_get_private(slow);
  CU_ASSERT_TRUE(st->max_queue <= 2);
  CU_ASSERT_EQUAL(seen_by("slow")->len, 300);
  CU_ASSERT_EQUAL(seen_by("fast")->len, 300);
  lethe_graph_finalize_nodes(g);
  lethe_graph_free(g);
}

static void
test_max_memory_refuses_a_queue_that_must_grow(void)
{
  /* The unbalanced diamond: under a budget the queue on 'a' may not grow
   * past its capacity while 'pair' starves on 'b'; the run stops, naming
   * both inputs, instead of exceeding the budget. */
  reset_seen();
  LetheGraph *g = lethe_graph_new(2, 1, NULL);
  lethe_graph_set_queue_size(g, 2);
  lethe_graph_set_max_memory(g, 1 << 20);
  LetheNode *s = add(g, "s", &split_src_type, P("frames=50"));
  LetheNode *pa = add(g, "pa", &pass_type, NULL);
  LetheNode *pair = add(g, "pair", &pair_type, NULL);
  LetheNode *c = add(g, "c", &collect_type, NULL);
  lethe_graph_link(g, s, 0, pa, 0);
  lethe_graph_link(g, pa, 0, pair, 0);
  lethe_graph_link(g, s, 1, pair, 1);
  lethe_graph_link(g, pair, 0, c, 0);
  GError *error = NULL;
  CU_ASSERT_FALSE(run(g, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_LIMIT,
                     "node 'pair' waits for a frame on its input 'b' while its input 'a' already "
                     "holds 2 frame(s), all that --max-memory allows");
  CU_ASSERT_STRING_EQUAL(lethe_node_get_name(lethe_graph_get_failed_node(g)), "pa");
  g_clear_error(&error);
  lethe_graph_free(g);
}

static void
test_parallel_firing_never_runs_a_node_twice(void)
{
  /* Two sources on two threads both feed one node (sticky inputs, so each
   * arrival may fire it): it must never run twice at once, while the two
   * slow collectors do run at the same time. */
  reset_seen();
  LetheGraph *g = lethe_graph_new(2, 1, NULL);
  LetheNode *a = add(g, "a", &src_type, P("frames=60", "sleep-us=100"));
  LetheNode *b = add(g, "b", &src_type, P("frames=60", "sleep-us=100"));
  LetheNode *l = add(g, "l", &latest_type, NULL);
  LetheNode *sink = add(g, "sink", &collect_type, NULL);
  lethe_graph_link(g, a, 0, l, 0);
  lethe_graph_link(g, b, 0, l, 1);
  lethe_graph_link(g, l, 0, sink, 0);
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_graph_run(g, &error));
  LETHE_ASSERT_NO_ERROR(error);
  State *st = lethe_node_get_private(l);
  CU_ASSERT_EQUAL(st->max_in_process, 1);
  CU_ASSERT_TRUE(l->n_firings >= 1);
  lethe_graph_finalize_nodes(g);
  lethe_graph_free(g);
}

static void
test_failure_is_attributed_and_stops_others(void)
{
  reset_seen();
  LetheGraph *g = lethe_graph_new(2, 1, NULL);
  LetheNode *s = add(g, "s", &src_type, P("frames=100"));
  LetheNode *x = add(g, "explode", &boom_type, NULL);
  LetheNode *c = add(g, "c", &collect_type, NULL);
  /* An independent branch that would run for minutes if not stopped. */
  LetheNode *endless = add(g, "endless", &src_type, P("frames=100000000", "sleep-us=100"));
  LetheNode *c2 = add(g, "c2", &collect_type, NULL);
  lethe_graph_link(g, s, 0, x, 0);
  lethe_graph_link(g, x, 0, c, 0);
  lethe_graph_link(g, endless, 0, c2, 0);
  GError *error = NULL;
  gint64 t0 = g_get_monotonic_time();
  CU_ASSERT_FALSE(run(g, &error));
  CU_ASSERT_TRUE(g_get_monotonic_time() - t0 < 10 * G_USEC_PER_SEC);
  CU_ASSERT_PTR_NOT_NULL_FATAL(error);
  CU_ASSERT_TRUE(g_error_matches(error, TEST_ERROR, 42));
  CU_ASSERT_STRING_EQUAL(error->message,
                         "node 'explode' (plugin test-plugin) failed: disk on fire");
  CU_ASSERT_PTR_EQUAL(lethe_graph_get_failed_node(g), x);
  /* Frames before the failing one went through. */
  CU_ASSERT_EQUAL(seen_by("c")->len, 4);
  CU_ASSERT_TRUE(lethe_graph_is_stopping(g));
  CU_ASSERT_TRUE(g_cancellable_is_cancelled(lethe_graph_get_cancellable(g)));
  g_clear_error(&error);
  lethe_graph_free(g);
}

static gpointer
cancel_later(gpointer data)
{
  g_usleep(50000);
  g_cancellable_cancel(data);
  return NULL;
}

static void
test_cancellation_stops_cleanly(void)
{
  reset_seen();
  g_autoptr(GCancellable) cancel = g_cancellable_new();
  LetheGraph *g = lethe_graph_new(2, 1, cancel);
  LetheNode *s = add(g, "s", &src_type, P("frames=100000000", "sleep-us=50"));
  LetheNode *c = add(g, "c", &collect_type, NULL);
  lethe_graph_link(g, s, 0, c, 0);
  GThread *t = g_thread_new("cancel", cancel_later, cancel);
  GError *error = NULL;
  CU_ASSERT_FALSE(run(g, &error));
  g_thread_join(t);
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_CANCELLED, "cancelled");
  CU_ASSERT_PTR_NULL(lethe_graph_get_failed_node(g));
  CU_ASSERT_TRUE(seen_by("c")->len > 0);
  lethe_graph_free(g);
}

static GBytes *
run_seeded(guint64 seed)
{
  reset_seen();
  LetheGraph *g = lethe_graph_new(2, seed, NULL);
  LetheNode *s = add(g, "s", &src_type, P("frames=5"));
  LetheNode *c = add(g, "c", &collect_type, NULL);
  lethe_graph_link(g, s, 0, c, 0);
  GError *error = NULL;
  CU_ASSERT_TRUE(run(g, &error));
  LETHE_ASSERT_NO_ERROR(error);
  GByteArray *bytes = g_byte_array_new();
  GPtrArray *out = seen_by("c");
  for (guint k = 0; k < out->len; k++) {
    LetheTensor *r = lethe_frame_get_tensor(out->pdata[k], "r");
    g_byte_array_append(bytes, lethe_tensor_data(r), (guint)lethe_tensor_n_bytes(r));
  }
  lethe_graph_free(g);
  return g_byte_array_free_to_bytes(bytes);
}

static void
test_same_seed_gives_same_frames(void)
{
  g_autoptr(GBytes) a = run_seeded(7);
  g_autoptr(GBytes) b = run_seeded(7);
  g_autoptr(GBytes) c = run_seeded(8);
  CU_ASSERT_EQUAL(g_bytes_get_size(a), 5 * 4 * sizeof(double));
  CU_ASSERT_TRUE(g_bytes_equal(a, b));
  CU_ASSERT_FALSE(g_bytes_equal(a, c));
}

static void
test_node_seed_derives_from_pipeline_seed_and_name(void)
{
  LetheGraph *g = lethe_graph_new(1, 99, NULL);
  LetheNode *a = add(g, "a", &src_type, NULL);
  LetheNode *b = add(g, "b", &src_type, NULL);
  CU_ASSERT_EQUAL(lethe_node_get_seed(a), lethe_rng_derive_seed(99, "a"));
  CU_ASSERT_NOT_EQUAL(lethe_node_get_seed(a), lethe_node_get_seed(b));
  lethe_graph_free(g);
}

static void
test_long_chain_deeper_than_inline_limit(void)
{
  reset_seen();
  LetheGraph *g = lethe_graph_new(2, 1, NULL);
  LetheNode *prev = add(g, "s", &src_type, P("frames=50"));
  for (int i = 0; i < 120; i++) {
    g_autofree char *name = g_strdup_printf("p%d", i);
    LetheNode *p = add(g, name, &pass_type, NULL);
    lethe_graph_link(g, prev, 0, p, 0);
    prev = p;
  }
  LetheNode *c = add(g, "c", &collect_type, NULL);
  lethe_graph_link(g, prev, 0, c, 0);
  GError *error = NULL;
  CU_ASSERT_TRUE(run(g, &error));
  LETHE_ASSERT_NO_ERROR(error);
  GPtrArray *out = seen_by("c");
  CU_ASSERT_EQUAL_FATAL(out->len, 50);
  for (guint k = 0; k < 50; k++)
    CU_ASSERT_EQUAL(lethe_frame_get_meta_int(out->pdata[k], "step", -1), (gint64)k);
  lethe_graph_free(g);
}

static void
test_bad_parameter_names_node_and_value(void)
{
  GError *error = NULL;
  LetheNode *n = lethe_node_new_internal("s", &src_type, "test-plugin", "1", lookup,
                                         (gpointer)P("frames=many"), NULL, &error);
  CU_ASSERT_PTR_NULL(n);
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "node 's' (test-plugin): parameter 'frames': 'many' is not an integer");
  n = lethe_node_new_internal("s", &src_type, "test-plugin", "1", lookup, (gpointer)P("frames=-3"),
                              NULL, &error);
  CU_ASSERT_PTR_NULL(n);
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "out of range");
}

LETHE_TEST_MAIN("scheduler", LETHE_TEST(test_chain_delivers_every_frame_in_order),
                LETHE_TEST(test_fan_out_shares_one_frame),
                LETHE_TEST(test_writer_copies_only_when_shared),
                LETHE_TEST(test_sticky_input_keeps_latest_frame),
                LETHE_TEST(test_sticky_only_node_fires_on_updates),
                LETHE_TEST(test_flush_output_precedes_end_of_stream),
                LETHE_TEST(test_back_pressure_bounds_queues),
                LETHE_TEST(test_unbalanced_diamond_does_not_deadlock),
                LETHE_TEST(test_max_memory_throttles_queues),
                LETHE_TEST(test_max_memory_refuses_a_queue_that_must_grow),
                LETHE_TEST(test_parallel_firing_never_runs_a_node_twice),
                LETHE_TEST(test_failure_is_attributed_and_stops_others),
                LETHE_TEST(test_cancellation_stops_cleanly),
                LETHE_TEST(test_same_seed_gives_same_frames),
                LETHE_TEST(test_node_seed_derives_from_pipeline_seed_and_name),
                LETHE_TEST(test_long_chain_deeper_than_inline_limit),
                LETHE_TEST(test_bad_parameter_names_node_and_value))
