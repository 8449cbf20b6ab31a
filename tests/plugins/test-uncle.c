/* Tests of UnCLe: the hypernetwork and its phases (compiled in), the
 * instruction sequences, and the nodes through the lethe/check.h harness.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <math.h>

#include <lethe/check.h>
#include <lethe/lethe.h>
#include <lethe/model.h>
#include <lethe/nn.h>
#include <lethe/registry.h>

#include "uncle-hnet.h"
#include "uncle-sequence.h"

#define P(...)    ((const char *const[]){__VA_ARGS__, NULL})
#define TINY_ARCH "target=4,16,2 emb=4 chunk=20 hidden=16 tasks=3"
#define CARD_ARCH "target=784,100,100,2 emb=16 chunk=1000 hidden=64,128 tasks=5"

/* @n samples of classes @c0, @c1: class c sits around 3·e_c of R^4. */
static void
make_data(gint32 c0, gint32 c1, gint64 n, guint64 seed, LetheTensor **x, LetheTensor **y)
{
  *x = lethe_tensor_new_2d(LETHE_DTYPE_F32, n, 4);
  *y = lethe_tensor_new_1d(LETHE_DTYPE_I32, n);
  LetheRng rng;
  lethe_rng_init(&rng, seed);
  for (gint64 i = 0; i < n; i++) {
    gint32 c = i % 2 ? c1 : c0;
    for (int j = 0; j < 4; j++)
      lethe_tensor_f32(*x)[i * 4 + j] =
          (j == c ? 3.0f : 0.0f) + 0.3f * (float)lethe_rng_normal(&rng);
    lethe_tensor_i32(*y)[i] = c;
  }
}

static LetheFrame *
make_task_frame(gint64 task, gint32 c0, gint32 c1, gint64 n)
{
  LetheTensor *x, *y;
  make_data(c0, c1, n, 11 + (guint64)task, &x, &y);
  LetheFrame *f = lethe_frame_new();
  lethe_frame_take_tensor(f, "x", x);
  lethe_frame_take_tensor(f, "y", y);
  lethe_frame_set_meta_string(f, "event", "learn");
  lethe_frame_set_meta_int(f, "task", task);
  lethe_frame_set_meta_int(f, "n-tasks", 2);
  gint32 classes[2] = {c0, c1};
  lethe_frame_set_meta(f, "classes",
                       g_variant_new_fixed_array(G_VARIANT_TYPE_INT32, classes, 2, sizeof(gint32)));
  return f;
}

static UncleHnet *
tiny(void)
{
  UncleArch arch;
  GError *error = NULL;
  CU_ASSERT_TRUE_FATAL(uncle_arch_parse(TINY_ARCH, &arch, &error));
  return uncle_hnet_new(&arch, 3);
}

/* Task-IL accuracy of @task's generated network on (@x, @y). */
static double
task_accuracy(UncleHnet *h, gint64 task, LetheTensor *x, LetheTensor *y)
{
  GError *error = NULL;
  g_autoptr(LetheTensor) out = uncle_hnet_forward_all(h, x, -1, 0, &error);
  LETHE_ASSERT_NO_ERROR(error);
  gint64 k = out->shape[1], good = 0, n = x->shape[0];
  const gint32 *c = h->task_classes + task * 2;
  for (gint64 i = 0; i < n; i++) {
    const float *r = lethe_tensor_f32(out) + i * k;
    gint32 pred = r[c[0]] >= r[c[1]] ? c[0] : c[1];
    good += pred == lethe_tensor_i32(y)[i];
  }
  return (double)good / n;
}

static double
norm_of(const LetheTensor *t)
{
  double s = 0;
  for (gint64 i = 0; i < lethe_tensor_n_elements(t); i++)
    s += (double)lethe_tensor_f32(t)[i] * lethe_tensor_f32(t)[i];
  return sqrt(s);
}

/* ---- The architecture -------------------------------------------------- */

static void
test_card_arch_needs_89_chunks_of_1000(void)
{
  UncleArch arch;
  GError *error = NULL;
  CU_ASSERT_TRUE(uncle_arch_parse(CARD_ARCH, &arch, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(arch.n_params, 784 * 100 + 100 + 100 * 100 + 100 + 100 * 2 + 2);
  CU_ASSERT_EQUAL(arch.n_chunks, 89);
  g_autofree char *text = uncle_arch_to_string(&arch);
  CU_ASSERT_STRING_EQUAL(text, "target=784,100,100,2 emb=16 chunk=1000 chunks=89 hidden=64,128 "
                               "tasks=5");
}

static void
test_chunk_layout_not_matching_the_target_is_refused(void)
{
  UncleArch arch;
  GError *error = NULL;
  CU_ASSERT_FALSE(uncle_arch_parse(CARD_ARCH " chunks=80", &arch, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "80 chunks of 1000 values hold 80000, the target MLP needs 88802 "
                     "parameters, so chunks=89");
  CU_ASSERT_FALSE(
      uncle_arch_parse("target=784 emb=16 chunk=1000 hidden=64 tasks=5", &arch, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "'target");
  CU_ASSERT_FALSE(uncle_arch_parse(CARD_ARCH " depth=3", &arch, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "unknown key 'depth'");
}

static void
test_model_frame_with_wrong_chunk_layout_fails_clearly(void)
{
  g_autoptr(UncleHnet) h = tiny();
  GError *error = NULL;
  /* A round trip keeps every value. */
  g_autoptr(LetheFrame) good = uncle_hnet_to_frame(h);
  g_autoptr(UncleHnet) back = uncle_hnet_from_frame(good, &error);
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheTensor) a = uncle_hnet_generate_values(h, 1);
  g_autoptr(LetheTensor) b = uncle_hnet_generate_values(back, 1);
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_data(a), lethe_tensor_data(b), lethe_tensor_n_bytes(a)), 0);

  /* Chunk embeddings for 5 chunks where the arch needs 6. */
  g_autoptr(LetheFrame) bad = lethe_frame_copy(good);
  lethe_frame_take_tensor(bad, "chunk-emb", lethe_tensor_new_2d(LETHE_DTYPE_F32, 5, 4));
  CU_ASSERT_PTR_NULL(uncle_hnet_from_frame(bad, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "tensor 'chunk-emb' is f32 [5, 4] but the arch needs f32 [6, 4] (chunk "
                     "layout: 6 chunks of 20 generate the 114 parameters of the target)");
  /* A head that generates chunks of another size. */
  g_autoptr(LetheFrame) head = lethe_frame_copy(good);
  lethe_frame_take_tensor(head, "hnet.head.weight", lethe_tensor_new_2d(LETHE_DTYPE_F32, 25, 16));
  CU_ASSERT_PTR_NULL(uncle_hnet_from_frame(head, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA, "'hnet.head.weight' is f32 [25, 16]");
  /* An arch whose chunk count does not cover the target. */
  g_autoptr(LetheFrame) arch = lethe_frame_copy(good);
  lethe_frame_set_meta_string(arch, "arch",
                              "target=4,16,2 emb=4 chunk=20 chunks=5 hidden=16 tasks=3");
  CU_ASSERT_PTR_NULL(uncle_hnet_from_frame(arch, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA, "chunk layout does not match");

  /* The same through the model kind, as an evaluator would meet it. */
  g_autoptr(LetheTensor) x = lethe_tensor_new_2d(LETHE_DTYPE_F32, 3, 4);
  LetheTensor *out = NULL;
  CU_ASSERT_FALSE(lethe_model_forward(bad, x, &out, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA, "chunk layout");
}

/* ---- Gradients through the generated weights --------------------------- */

static double
loss_of(UncleHnet *h, LetheTensor *x, const gint32 *y, gboolean backward)
{
  LetheTape *tape = lethe_tape_new();
  gint64 task = 0;
  LetheVar *theta = uncle_hnet_generate(h, tape, &task, 1);
  LetheVar *logits = uncle_target_forward(&h->arch, tape, theta, lethe_tape_input(tape, x, FALSE));
  LetheVar *loss = lethe_op_cross_entropy(tape, logits, y, 0.0);
  GError *error = NULL;
  if (backward)
    CU_ASSERT_TRUE(lethe_tape_backward(tape, loss, &error));
  LETHE_ASSERT_NO_ERROR(error);
  double v = lethe_var_get(loss, 0);
  lethe_tape_free(tape);
  return v;
}

static void
test_task_loss_gradient_reaches_the_hypernetwork(void)
{
  g_autoptr(UncleHnet) h = tiny();
  g_autoptr(LetheTensor) x = NULL, y = NULL;
  make_data(0, 1, 16, 5, &x, &y);
  /* Output indices 0/1 are the classes themselves here. */
  lethe_params_zero_grad(h->params);
  loss_of(h, x, lethe_tensor_i32(y), TRUE);
  /* A hidden-layer weight, a head weight, a chunk and a task embedding. */
  guint checked[4] = {0, h->n_phi - 2, h->chunk_param, h->task_param0};
  for (guint c = 0; c < 4; c++) {
    LetheTensor *v = lethe_params_get_value(h->params, checked[c]);
    LetheTensor *g = lethe_params_get_grad(h->params, checked[c]);
    gint64 at = lethe_tensor_n_elements(v) / 3;
    float *w = lethe_tensor_f32(v) + at, keep = *w;
    double grad = lethe_tensor_f32(g)[at], eps = 1e-2;
    *w = keep + (float)eps;
    double up = loss_of(h, x, lethe_tensor_i32(y), FALSE);
    *w = keep - (float)eps;
    double down = loss_of(h, x, lethe_tensor_i32(y), FALSE);
    *w = keep;
    double fd = (up - down) / (2 * eps);
    if (fabs(fd - grad) > 1e-3 + 0.05 * fabs(fd))
      fprintf(stderr, "\n  %s[%" G_GINT64_FORMAT "]: tape %g, finite difference %g",
              lethe_params_get_name(h->params, checked[c]), at, grad, fd);
    CU_ASSERT_TRUE(fabs(fd - grad) <= 1e-3 + 0.05 * fabs(fd));
  }
  /* Not all zero: the gradient does flow. */
  g_autoptr(LetheTensor) all = lethe_params_flat_grads(h->params);
  CU_ASSERT_TRUE(norm_of(all) > 1e-4);
}

/* ---- Learning, unlearning ------------------------------------------------ */

static void
test_unlearning_is_data_free_and_keeps_embeddings_bit_identical(void)
{
  g_autoptr(UncleHnet) h = tiny();
  UncleConfig config;
  uncle_config_init(&config);
  config.epochs = 30;
  config.batch = 32;
  config.lr = 5e-3;
  GError *error = NULL;
  g_autoptr(LetheTensor) x0 = NULL, y0 = NULL, x1 = NULL, y1 = NULL;
  make_data(0, 1, 200, 1, &x0, &y0);
  make_data(2, 3, 200, 2, &x1, &y1);
  gint32 c0[2] = {0, 1}, c1[2] = {2, 3};
  CU_ASSERT_TRUE(uncle_learn(h, &config, 0, x0, lethe_tensor_i32(y0), c0, 2, 1, NULL, NULL, NULL,
                             NULL, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_TRUE(uncle_learn(h, &config, 1, x1, lethe_tensor_i32(y1), c1, 2, 2, NULL, NULL, NULL,
                             NULL, &error));
  LETHE_ASSERT_NO_ERROR(error);
  double acc0 = task_accuracy(h, 0, x0, y0), acc1 = task_accuracy(h, 1, x1, y1);
  CU_ASSERT_TRUE(acc0 > 0.95 && acc1 > 0.95);
  CU_ASSERT_TRUE(h->active[0] && h->active[1]);

  g_autoptr(LetheFrame) before = uncle_hnet_to_frame(h);
  g_autoptr(LetheTensor) theta0 = uncle_hnet_generate_values(h, 0);
  g_autoptr(LetheTensor) theta1 = uncle_hnet_generate_values(h, 1);
  config.unlearn_steps = 300;
  CU_ASSERT_TRUE(uncle_unlearn(h, &config, 0, 9, NULL, NULL, NULL, NULL, &error));
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheFrame) after = uncle_hnet_to_frame(h);

  /* Only φ changed. */
  const char *embeddings[] = {"task-emb", "chunk-emb"};
  for (int i = 0; i < 2; i++) {
    LetheTensor *a = lethe_frame_get_tensor(before, embeddings[i]);
    LetheTensor *b = lethe_frame_get_tensor(after, embeddings[i]);
    CU_ASSERT_EQUAL(memcmp(lethe_tensor_data(a), lethe_tensor_data(b), lethe_tensor_n_bytes(a)), 0);
  }
  LetheTensor *wa = lethe_frame_get_tensor(before, "hnet.head.weight");
  LetheTensor *wb = lethe_frame_get_tensor(after, "hnet.head.weight");
  CU_ASSERT_NOT_EQUAL(
      memcmp(lethe_tensor_data(wa), lethe_tensor_data(wb), lethe_tensor_n_bytes(wa)), 0);
  CU_ASSERT_FALSE(h->active[0]);
  CU_ASSERT_TRUE(h->active[1]);
  CU_ASSERT_EQUAL(h->n_unlearned, 1);

  /* Task 0's generated parameters are pulled toward 0; task 1's stay. */
  g_autoptr(LetheTensor) new0 = uncle_hnet_generate_values(h, 0);
  g_autoptr(LetheTensor) new1 = uncle_hnet_generate_values(h, 1);
  lethe_nn_axpy(-1.0, theta1, new1);
  printf("\n  |θ0| %.3f → %.3f, |Δθ1|/|θ1| %.4f, acc1 %.3f → %.3f", norm_of(theta0), norm_of(new0),
         norm_of(new1) / norm_of(theta1), acc1, task_accuracy(h, 1, x1, y1));
  CU_ASSERT_TRUE(norm_of(new0) < 0.5 * norm_of(theta0));
  CU_ASSERT_TRUE(norm_of(new1) < 0.05 * norm_of(theta1));
  CU_ASSERT_TRUE(task_accuracy(h, 1, x1, y1) >= acc1 - 0.02);

  /* Unlearning it again, or a task never learned, is refused. */
  CU_ASSERT_FALSE(uncle_unlearn(h, &config, 0, 9, NULL, NULL, NULL, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "cannot unlearn task 0: it is not learned (it was already unlearned; active "
                     "tasks: 1)");
  CU_ASSERT_FALSE(uncle_unlearn(h, &config, 2, 9, NULL, NULL, NULL, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "it was never learned");
}

static void
test_forward_writes_each_task_into_its_class_columns(void)
{
  g_autoptr(UncleHnet) h = tiny();
  h->task_classes[0] = 4;
  h->task_classes[1] = 1;
  h->task_classes[4] = 0;
  h->task_classes[5] = 2;
  g_autoptr(LetheTensor) x = NULL, y = NULL;
  make_data(0, 1, 5, 3, &x, &y);
  GError *error = NULL;
  g_autoptr(LetheTensor) all = uncle_hnet_forward_all(h, x, -1, 0, &error);
  g_autoptr(LetheTensor) t0 = uncle_hnet_forward_all(h, x, 0, 0, &error);
  g_autoptr(LetheTensor) t2 = uncle_hnet_forward_all(h, x, 2, 0, &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(all->shape[1], 5); /* the largest class + 1 */
  CU_ASSERT_EQUAL(t0->shape[1], 2);
  for (gint64 i = 0; i < 5; i++) {
    const float *r = lethe_tensor_f32(all) + i * 5;
    CU_ASSERT_EQUAL(r[4], lethe_tensor_f32(t0)[i * 2]);
    CU_ASSERT_EQUAL(r[1], lethe_tensor_f32(t0)[i * 2 + 1]);
    CU_ASSERT_EQUAL(r[0], lethe_tensor_f32(t2)[i * 2]);
    CU_ASSERT_EQUAL(r[2], lethe_tensor_f32(t2)[i * 2 + 1]);
    CU_ASSERT_EQUAL(r[3], 0.0f);
  }
  g_autoptr(LetheTensor) wrong = lethe_tensor_new_2d(LETHE_DTYPE_F32, 2, 7);
  CU_ASSERT_PTR_NULL(uncle_hnet_forward_all(h, wrong, -1, 0, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA, "input [2, 7] does not fit");
}

/* ---- Instruction sequences ------------------------------------------------ */

static void
test_sequence_reads_the_cards_instructions(void)
{
  GError *error = NULL;
  g_autoptr(GArray) ops = uncle_sequence_parse(" L0, l1,U0,L2,L3,U2,L4,L0 ", 5, &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL_FATAL(ops->len, 8);
  const char kinds[] = "LLULLULL";
  const gint64 tasks[] = {0, 1, 0, 2, 3, 2, 4, 0};
  for (guint i = 0; i < 8; i++) {
    CU_ASSERT_EQUAL(g_array_index(ops, UncleOp, i).kind, kinds[i]);
    CU_ASSERT_EQUAL(g_array_index(ops, UncleOp, i).task, tasks[i]);
  }
  g_autoptr(GArray) without = uncle_sequence_without(ops, 0);
  g_autofree char *text = uncle_sequence_to_string(without);
  CU_ASSERT_STRING_EQUAL(text, "L1,L2,L3,U2,L4");
}

static void
test_bad_sequences_name_the_token(void)
{
  GError *error = NULL;
  CU_ASSERT_PTR_NULL(uncle_sequence_parse("L0,X1,U0", -1, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "token 2 'X1' at character 4 is not L<task> or U<task>");
  CU_ASSERT_PTR_NULL(uncle_sequence_parse("L0,,L1", -1, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "token 2 '' at character 4");
  CU_ASSERT_PTR_NULL(uncle_sequence_parse("L0,L1x", -1, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "token 2 'L1x'");
  CU_ASSERT_PTR_NULL(uncle_sequence_parse("L0,L1,U3", -1, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "token 3 'U3' at character 7 unlearns task 3, which was never learned at "
                     "that point; learn it first (L3)");
  CU_ASSERT_PTR_NULL(uncle_sequence_parse("L0,U0,U0", -1, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "token 3 'U0' at character 7 unlearns task 0, which is already unlearned");
  CU_ASSERT_PTR_NULL(uncle_sequence_parse("L0,L7", 5, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "token 2 'L7' at character 4 names task 7, but the stream has 5 tasks");
}

/* ---- The nodes ----------------------------------------------------------- */

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
test_task_sequence_emits_requests_in_order_and_unlearn_carries_no_data(void)
{
  GError *error = NULL;
  LetheCheck *h = harness("task-sequence", P("sequence=L0,L1,U0,L0", "counterfactuals=true"));
  CU_ASSERT_TRUE(lethe_check_push(h, "input", make_task_frame(0, 0, 1, 10), &error));
  CU_ASSERT_TRUE(lethe_check_push(h, "input", make_task_frame(1, 2, 3, 10), &error));
  CU_ASSERT_TRUE(lethe_check_push_eos(h, NULL, &error));
  LETHE_ASSERT_NO_ERROR(error);
  /* The main run, then a reset and the run without task 0. */
  const char *events[] = {"learn", "learn", "unlearn", "learn", "reset", "learn"};
  const gint64 tasks[] = {0, 1, 0, 0, 0, 1};
  const char *runs[] = {"main", "main", "main", "main", "without-0", "without-0"};
  CU_ASSERT_EQUAL_FATAL(lethe_check_get_n_pending(h, "output"), 6);
  for (guint i = 0; i < 6; i++) {
    g_autoptr(LetheFrame) f = lethe_check_pull(h, "output");
    CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(f, "event", ""), events[i]);
    CU_ASSERT_EQUAL(lethe_frame_get_meta_int(f, "task", -1), tasks[i]);
    CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(f, "run", ""), runs[i]);
    gboolean has_data = lethe_frame_get_tensor(f, "x") != NULL;
    CU_ASSERT_EQUAL(has_data, g_str_equal(events[i], "learn"));
    if (i == 2)
      CU_ASSERT_EQUAL(lethe_frame_get_n_tensors(f), 0);
  }
  CU_ASSERT_TRUE(lethe_check_is_eos(h, "output"));
  lethe_check_free(h);

  /* A sequence naming a task the stream does not have, found at the end. */
  h = harness("task-sequence", P("sequence=L0,L2"));
  CU_ASSERT_TRUE(lethe_check_push(h, "input", make_task_frame(0, 0, 1, 10), &error));
  CU_ASSERT_FALSE(lethe_check_push_eos(h, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "token 2 'L2' at character 4 names task 2, but the stream has 1 tasks");
  lethe_check_free(h);

  /* A syntax error stops the node before any data. */
  h = harness("task-sequence", P("sequence=L0,U1"));
  CU_ASSERT_FALSE(lethe_check_start(h, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "token 2 'U1'");
  lethe_check_free(h);
}

static void
test_uncle_unlearn_takes_a_model_and_task_ids_only(void)
{
  GError *error = NULL;
  const LetheNodeType *type =
      lethe_registry_find_node_type(lethe_registry_get_default(), "uncle-unlearn", NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(type);
  CU_ASSERT_STRING_EQUAL(type->inputs[0].name, "model");
  CU_ASSERT_PTR_NULL(type->inputs[1].name); /* no data port */

  /* Learn two tasks with uncle-learn, then unlearn task 1 from its model. */
  LetheCheck *learn = harness("uncle-learn", P("target=4,16,2", "embedding=4", "chunk=20",
                                               "hidden=16", "epochs=10", "batch=32"));
  CU_ASSERT_TRUE(lethe_check_push(learn, "input", make_task_frame(0, 0, 1, 100), &error));
  CU_ASSERT_TRUE(lethe_check_push(learn, "input", make_task_frame(1, 2, 3, 100), &error));
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheFrame) m0 = lethe_check_pull(learn, "model");
  g_autoptr(LetheFrame) m1 = lethe_check_pull(learn, "model");
  CU_ASSERT_PTR_NOT_NULL_FATAL(m1);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(m1, "model-kind", ""), "uncle-hypernet");
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(m1, "version", -1), 2);
  lethe_check_free(learn);

  LetheCheck *h = harness("uncle-unlearn", P("tasks=1", "unlearn-steps=20"));
  CU_ASSERT_TRUE(lethe_check_push(h, "model", lethe_frame_ref(m1), &error));
  CU_ASSERT_TRUE(lethe_check_push_eos(h, NULL, &error));
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(LetheFrame) u = lethe_check_pull(h, "model");
  CU_ASSERT_PTR_NOT_NULL_FATAL(u);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(u, "event", ""), "unlearn");
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(u, "task", -1), 1);
  LetheTensor *act = lethe_frame_get_tensor(u, "uncle/active");
  CU_ASSERT_EQUAL(lethe_tensor_i32(act)[0], 1);
  CU_ASSERT_EQUAL(lethe_tensor_i32(act)[1], 0);
  LetheTensor *ea = lethe_frame_get_tensor(m1, "task-emb");
  LetheTensor *eb = lethe_frame_get_tensor(u, "task-emb");
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_data(ea), lethe_tensor_data(eb), lethe_tensor_n_bytes(ea)),
                  0);
  lethe_check_free(h);

  /* Asked for a task the model never learned. */
  h = harness("uncle-unlearn", P("tasks=0,0"));
  CU_ASSERT_TRUE(lethe_check_push(h, "model", lethe_frame_ref(m0), &error));
  CU_ASSERT_FALSE(lethe_check_push_eos(h, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "cannot unlearn task 0: it is not learned (it was already unlearned");
  lethe_check_free(h);
  h = harness("uncle-unlearn", P("tasks=1"));
  CU_ASSERT_TRUE(lethe_check_push(h, "model", lethe_frame_ref(m0), &error));
  CU_ASSERT_FALSE(lethe_check_push_eos(h, NULL, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "check: cannot unlearn task 1: it is not learned (it was never learned; "
                     "active tasks: 0)");
  lethe_check_free(h);
}

static void
test_same_seed_gives_the_same_model(void)
{
  GError *error = NULL;
  LetheFrame *models[2] = {NULL, NULL};
  for (int r = 0; r < 2; r++) {
    LetheCheck *h = harness("uncle-learn", P("target=4,16,2", "embedding=4", "chunk=20",
                                             "hidden=16", "epochs=2", "tasks=2"));
    CU_ASSERT_TRUE(lethe_check_push(h, "input", make_task_frame(0, 0, 1, 50), &error));
    LETHE_ASSERT_NO_ERROR(error);
    models[r] = lethe_check_pull(h, "model");
    lethe_check_free(h);
  }
  LetheTensor *a = lethe_frame_get_tensor(models[0], "hnet.head.weight");
  LetheTensor *b = lethe_frame_get_tensor(models[1], "hnet.head.weight");
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_data(a), lethe_tensor_data(b), lethe_tensor_n_bytes(a)), 0);
  lethe_frame_unref(models[0]);
  lethe_frame_unref(models[1]);
}

LETHE_TEST_MAIN("uncle", LETHE_TEST(test_card_arch_needs_89_chunks_of_1000),
                LETHE_TEST(test_chunk_layout_not_matching_the_target_is_refused),
                LETHE_TEST(test_model_frame_with_wrong_chunk_layout_fails_clearly),
                LETHE_TEST(test_task_loss_gradient_reaches_the_hypernetwork),
                LETHE_TEST(test_unlearning_is_data_free_and_keeps_embeddings_bit_identical),
                LETHE_TEST(test_forward_writes_each_task_into_its_class_columns),
                LETHE_TEST(test_sequence_reads_the_cards_instructions),
                LETHE_TEST(test_bad_sequences_name_the_token),
                LETHE_TEST(test_task_sequence_emits_requests_in_order_and_unlearn_carries_no_data),
                LETHE_TEST(test_uncle_unlearn_takes_a_model_and_task_ids_only),
                LETHE_TEST(test_same_seed_gives_the_same_model))
