/* Tests of the coreelements plugin, through the lethe/check.h harness.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <lethe/check.h>
#include <lethe/lethe.h>
#include <math.h>

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})

static LetheFrame *
frame_with(const char *name, double a, double b, gint64 step)
{
  LetheFrame *f = lethe_frame_new();
  LetheTensor *t = lethe_tensor_new_1d(LETHE_DTYPE_F64, 2);
  lethe_tensor_f64(t)[0] = a;
  lethe_tensor_f64(t)[1] = b;
  lethe_frame_take_tensor(f, name, t);
  lethe_frame_set_meta_int(f, "step", step);
  return f;
}

static LetheCheck *
harness(const char *type, const char *const *params)
{
  GError *error = NULL;
  LetheCheck *h = lethe_check_new_from_registry(NULL, type, params, &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_PTR_NOT_NULL_FATAL(h);
  return h;
}

static void
test_identity_pushes_the_same_frame(void)
{
  LetheCheck *h = harness("identity", NULL);
  GError *error = NULL;
  LetheFrame *in = frame_with("x", 1, 2, 0);
  lethe_frame_ref(in); /* ours */
  CU_ASSERT_TRUE(lethe_check_push(h, "input", in, &error));
  LETHE_ASSERT_NO_ERROR(error);
  LetheFrame *out = lethe_check_pull(h, "output");
  CU_ASSERT_PTR_EQUAL(out, in);
  /* Ours plus the pulled one: the node kept nothing. */
  CU_ASSERT_EQUAL(lethe_frame_get_refcount(in), 2);
  CU_ASSERT_PTR_NULL(lethe_check_pull(h, "output"));
  CU_ASSERT_FALSE(lethe_check_is_eos(h, "output"));
  CU_ASSERT_TRUE(lethe_check_push_eos(h, NULL, &error));
  CU_ASSERT_TRUE(lethe_check_is_eos(h, "output"));
  CU_ASSERT_EQUAL(lethe_check_get_n_firings(h), 1);
  lethe_frame_unref(out);
  lethe_frame_unref(in);
  lethe_check_free(h);
}

static void
test_identity_leaks_nothing(void)
{
  LetheCheck *h = harness("identity", NULL);
  GError *error = NULL;
  lethe_check_track_frames(h, TRUE);
  for (int i = 0; i < 5; i++)
    CU_ASSERT_TRUE(lethe_check_push(h, "input", frame_with("x", i, i, i), &error));
  for (int i = 0; i < 3; i++)
    lethe_frame_unref(lethe_check_pull(h, "output"));
  CU_ASSERT_EQUAL(lethe_check_get_n_pending(h, "output"), 2);
  CU_ASSERT_TRUE(lethe_check_teardown(h, &error));
  LETHE_ASSERT_NO_ERROR(error);
}

/* A node that keeps a reference to every input and never drops it. */
static gboolean
leaky_process(LetheNode *node, LetheFrame **in, GError **error)
{
  GPtrArray *kept = lethe_node_get_private(node);
  if (kept == NULL) {
    kept = g_ptr_array_new();
    lethe_node_set_private(node, kept, NULL); /* the leak: nothing frees it */
  }
  g_ptr_array_add(kept, lethe_frame_ref(in[0]));
  return TRUE;
}

static const LethePortSpec leaky_in[] = {{.name = "input", .schema = "any"}, {NULL}};
static const LetheNodeVTable leaky_vt = {.process = leaky_process};
static const LetheNodeType leaky_type = {
    .name = "leaky", .kind = LETHE_NODE_SINK, .inputs = leaky_in, .vtable = &leaky_vt};

static void
test_harness_reports_leaked_frames(void)
{
  GError *error = NULL;
  LetheCheck *h = lethe_check_new(&leaky_type, NULL, &error);
  LETHE_ASSERT_NO_ERROR(error);
  lethe_check_track_frames(h, TRUE);
  CU_ASSERT_TRUE(lethe_check_push(h, "input", frame_with("x", 1, 1, 0), &error));
  CU_ASSERT_TRUE(lethe_check_push(h, "input", frame_with("x", 2, 2, 1), &error));
  GPtrArray *kept = lethe_node_get_private(lethe_check_get_node(h));
  CU_ASSERT_FALSE(lethe_check_teardown(h, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_FAILED,
                     "2 frame(s) still referenced after 'leaky' was finalized: input frame #1");
  g_ptr_array_set_free_func(kept, (GDestroyNotify)lethe_frame_unref);
  g_ptr_array_unref(kept);
}

static void
test_unknown_parameter_is_refused(void)
{
  GError *error = NULL;
  LetheCheck *h = lethe_check_new_from_registry(NULL, "identity", P("speed=3"), &error);
  CU_ASSERT_PTR_NULL(h);
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "node type 'identity' has no parameter 'speed'");
}

static GBytes *
source_bytes(guint64 seed, guint *n_frames)
{
  LetheCheck *h = harness("synthetic-source", P("frames=4", "shape=3,5", "dtype=f32"));
  GError *error = NULL;
  lethe_check_set_seed(h, seed);
  CU_ASSERT_TRUE(lethe_check_run_source(h, 0, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_TRUE(lethe_check_is_eos(h, "output"));
  GByteArray *bytes = g_byte_array_new();
  *n_frames = 0;
  LetheFrame *f;
  while ((f = lethe_check_pull(h, "output"))) {
    LetheTensor *x = lethe_frame_get_tensor(f, "x");
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_EQUAL(x->dtype, LETHE_DTYPE_F32);
    CU_ASSERT_EQUAL(x->rank, 2);
    CU_ASSERT_EQUAL(x->shape[0], 3);
    CU_ASSERT_EQUAL(x->shape[1], 5);
    CU_ASSERT_EQUAL(lethe_frame_get_meta_int(f, "step", -1), (gint64)*n_frames);
    for (int i = 0; i < 15; i++)
      CU_ASSERT_TRUE(lethe_tensor_f32(x)[i] >= 0 && lethe_tensor_f32(x)[i] < 1);
    g_byte_array_append(bytes, lethe_tensor_data(x), (guint)lethe_tensor_n_bytes(x));
    (*n_frames)++;
    lethe_frame_unref(f);
  }
  lethe_check_free(h);
  return g_byte_array_free_to_bytes(bytes);
}

static void
test_synthetic_source_is_seeded(void)
{
  guint n1, n2, n3;
  g_autoptr(GBytes) a = source_bytes(5, &n1);
  g_autoptr(GBytes) b = source_bytes(5, &n2);
  g_autoptr(GBytes) c = source_bytes(6, &n3);
  CU_ASSERT_EQUAL(n1, 4);
  CU_ASSERT_EQUAL(g_bytes_get_size(a), 4 * 15 * sizeof(float));
  CU_ASSERT_TRUE(g_bytes_equal(a, b));
  CU_ASSERT_FALSE(g_bytes_equal(a, c));
}

static void
test_synthetic_source_index_fill(void)
{
  LetheCheck *h = harness("synthetic-source",
                          P("frames=1", "shape=6", "dtype=i32", "fill=index", "tensor=ids"));
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_check_run_source(h, 0, &error));
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheFrame) f = lethe_check_pull(h, "output");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  LetheTensor *ids = lethe_frame_get_tensor(f, "ids");
  CU_ASSERT_PTR_NOT_NULL_FATAL(ids);
  for (int i = 0; i < 6; i++)
    CU_ASSERT_EQUAL(lethe_tensor_i32(ids)[i], i);
  lethe_check_free(h);
}

static void
test_synthetic_source_refuses_empty_shape(void)
{
  LetheCheck *h = harness("synthetic-source", P("shape="));
  GError *error = NULL;
  CU_ASSERT_FALSE(lethe_check_fire_source(h, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "node 'check' (plugin coreelements) failed: shape has 0 dimensions");
  lethe_check_free(h);
}

static void
test_fan_in_forwards_in_port_order(void)
{
  LetheCheck *h = harness("fan-in", NULL);
  GError *error = NULL;
  LetheFrame *a = frame_with("a", 1, 1, 0), *b = frame_with("b", 2, 2, 0);
  CU_ASSERT_TRUE(lethe_check_push(h, "input-2", lethe_frame_ref(b), &error));
  CU_ASSERT_EQUAL(lethe_check_get_n_firings(h), 0); /* waits for input-1 */
  CU_ASSERT_TRUE(lethe_check_push(h, "input-1", lethe_frame_ref(a), &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(lethe_check_get_n_pending(h, "output"), 2);
  LetheFrame *o1 = lethe_check_pull(h, "output"), *o2 = lethe_check_pull(h, "output");
  CU_ASSERT_PTR_EQUAL(o1, a);
  CU_ASSERT_PTR_EQUAL(o2, b);
  lethe_frame_unref(o1);
  lethe_frame_unref(o2);
  lethe_frame_unref(a);
  lethe_frame_unref(b);
  lethe_check_free(h);
}

static void
test_fan_in_merges_tensors(void)
{
  LetheCheck *h = harness("fan-in", P("mode=merge"));
  GError *error = NULL;
  LetheFrame *a = frame_with("a", 1, 1, 7), *b = frame_with("b", 2, 2, 0);
  LetheTensor *tb = lethe_frame_get_tensor(b, "b");
  CU_ASSERT_TRUE(lethe_check_push(h, "input-1", a, &error));
  CU_ASSERT_TRUE(lethe_check_push(h, "input-2", b, &error));
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheFrame) m = lethe_check_pull(h, "output");
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  CU_ASSERT_EQUAL(lethe_frame_get_n_tensors(m), 2);
  CU_ASSERT_PTR_EQUAL(lethe_frame_get_tensor(m, "b"), tb); /* shared, not copied */
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(m, "step", -1), 7);

  /* The same name on two inputs is refused. */
  CU_ASSERT_TRUE(lethe_check_push(h, "input-1", frame_with("x", 1, 1, 0), &error));
  CU_ASSERT_FALSE(lethe_check_push(h, "input-2", frame_with("x", 2, 2, 0), &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "cannot merge: tensor 'x' arrives on input-2");
  lethe_check_free(h);
}

static void
test_null_sink_checks_frame_count(void)
{
  LetheCheck *h = harness("null-sink", P("expect-frames=3"));
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_check_push(h, "input", frame_with("x", 1, 1, 0), &error));
  CU_ASSERT_TRUE(lethe_check_push(h, "input", frame_with("x", 1, 1, 1), &error));
  CU_ASSERT_FALSE(lethe_check_push_eos(h, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_FAILED,
                     "node 'check' (plugin coreelements) failed: received 2 frames, expected 3");
  lethe_check_free(h);
}

static void
test_metrics_sink_records_scalars_and_lists(void)
{
  LetheCheck *h = harness("metrics-sink", NULL);
  GError *error = NULL;
  LetheFrame *f = lethe_frame_new();
  lethe_frame_take_tensor(f, "accuracy", lethe_tensor_new_scalar_f64(0.875));
  LetheTensor *v = lethe_tensor_new_1d(LETHE_DTYPE_F64, 3);
  lethe_tensor_f64(v)[0] = 0.5;
  lethe_tensor_f64(v)[1] = 0.25;
  lethe_tensor_f64(v)[2] = 1;
  lethe_frame_take_tensor(f, "per-task", v);
  lethe_frame_set_meta_int(f, "task", 3);
  CU_ASSERT_TRUE(lethe_check_push(h, "input", f, &error));
  LETHE_ASSERT_NO_ERROR(error);
  GPtrArray *m = lethe_check_get_metrics(h);
  CU_ASSERT_EQUAL_FATAL(m->len, 2);
  LetheMetric *acc = m->pdata[0], *per = m->pdata[1];
  CU_ASSERT_STRING_EQUAL(acc->name, "accuracy");
  CU_ASSERT_STRING_EQUAL(acc->plugin, "coreelements");
  CU_ASSERT_EQUAL(acc->step, 3);
  CU_ASSERT_DOUBLE_EQUAL(acc->value, 0.875, 1e-12);
  CU_ASSERT_PTR_NULL(acc->value_json);
  CU_ASSERT_STRING_EQUAL(per->name, "per-task");
  CU_ASSERT_STRING_EQUAL(per->value_json, "[0.5,0.25,1]");

  /* A frame that is not of the metrics schema is refused at the port. */
  LetheFrame *bad = lethe_frame_new();
  lethe_frame_take_tensor(bad, "accuracy", lethe_tensor_new_1d(LETHE_DTYPE_I32, 2));
  CU_ASSERT_FALSE(lethe_check_push(h, "input", bad, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA, "input 'input' of 'metrics-sink'");
  lethe_check_free(h);
}

static void
test_tensor_stats_summarises(void)
{
  LetheCheck *h = harness("tensor-stats", P("tensor=x"));
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_check_push(h, "input", frame_with("x", -1, 3, 9), &error));
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheFrame) s = lethe_check_pull(h, "metrics");
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f64(lethe_frame_get_tensor(s, "mean"))[0], 1.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f64(lethe_frame_get_tensor(s, "min"))[0], -1.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f64(lethe_frame_get_tensor(s, "max"))[0], 3.0, 1e-12);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(s, "step", -1), 9);

  CU_ASSERT_FALSE(lethe_check_push(h, "input", frame_with("y", 1, 1, 0), &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "the frame has no tensor 'x'");
  lethe_check_free(h);
}

static void
test_fail_fails_at_the_given_frame(void)
{
  LetheCheck *h = harness("fail", P("at-frame=3", "message=out of coffee"));
  GError *error = NULL;
  CU_ASSERT_TRUE(lethe_check_push(h, "input", frame_with("x", 1, 1, 0), &error));
  CU_ASSERT_TRUE(lethe_check_push(h, "input", frame_with("x", 1, 1, 1), &error));
  CU_ASSERT_EQUAL(lethe_check_get_n_pending(h, "output"), 2);
  CU_ASSERT_FALSE(lethe_check_push(h, "input", frame_with("x", 1, 1, 2), &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_FAILED,
                     "node 'check' (plugin coreelements) failed: out of coffee (frame 3)");
  /* Once failed, the node takes nothing more. */
  CU_ASSERT_FALSE(lethe_check_push(h, "input", frame_with("x", 1, 1, 3), &error));
  g_clear_error(&error);
  CU_ASSERT_EQUAL(lethe_check_get_n_pending(h, "output"), 2);
  lethe_check_free(h);
}

LETHE_TEST_MAIN(
    "coreelements", LETHE_TEST(test_identity_pushes_the_same_frame),
    LETHE_TEST(test_identity_leaks_nothing), LETHE_TEST(test_harness_reports_leaked_frames),
    LETHE_TEST(test_unknown_parameter_is_refused), LETHE_TEST(test_synthetic_source_is_seeded),
    LETHE_TEST(test_synthetic_source_index_fill),
    LETHE_TEST(test_synthetic_source_refuses_empty_shape),
    LETHE_TEST(test_fan_in_forwards_in_port_order), LETHE_TEST(test_fan_in_merges_tensors),
    LETHE_TEST(test_null_sink_checks_frame_count),
    LETHE_TEST(test_metrics_sink_records_scalars_and_lists),
    LETHE_TEST(test_tensor_stats_summarises), LETHE_TEST(test_fail_fails_at_the_given_frame))
