/* Lethe — tests of the noprop learner and the "noprop" model kind.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The reduced acceptance runs of CI: the coefficient oracle, block
 * locality, parallel blocks, the model kind, the refused T, and a short
 * Fashion-MNIST run beside a back-propagation baseline with the same image
 * path.  LETHE_NOPROP_FULL=1 runs the full acceptance instead (T = 10, all
 * 60 000 images, LETHE_NOPROP_EPOCHS epochs, 5 inference seeds); see the
 * NoProp section of docs/results.md.
 */
#include <math.h>
#include <string.h>

#include <lethe/check.h>
#include <lethe/nn.h>
#include <lethe/run.h>

#include "idx-parse.h"
#include "lethe-test.h"
#include "noprop-dt.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/"
#define PIXELS 784

/* ---- data ----------------------------------------------------------- */

typedef struct {
  LetheTensor *x; /* f32 [n, 784] */
  LetheTensor *y; /* i32 [n] */
} Data;

static void
load(const char *images, const char *labels, gsize n, Data *d)
{
  GError *err = NULL;
  g_autoptr(IdxReader) ri = idx_reader_open(images, 1u << 30, &err);
  LETHE_ASSERT_NO_ERROR(err);
  g_autoptr(IdxReader) rl = idx_reader_open(labels, 1u << 30, &err);
  LETHE_ASSERT_NO_ERROR(err);
  d->x = lethe_tensor_new_2d(LETHE_DTYPE_F32, n, PIXELS);
  d->y = lethe_tensor_new_1d(LETHE_DTYPE_I32, n);
  CU_ASSERT_TRUE_FATAL(idx_reader_read_f32(ri, n, 1.0f / 255.0f, lethe_tensor_f32(d->x), &err));
  CU_ASSERT_TRUE_FATAL(idx_reader_read_i32(rl, n, lethe_tensor_i32(d->y), &err));
}

static Data train_set, test_set;

static gboolean
full_run(void)
{
  return g_strcmp0(g_getenv("LETHE_NOPROP_FULL"), "1") == 0;
}

static void
ensure_data(void)
{
  if (train_set.x)
    return;
  gsize n_train = full_run() ? 60000 : 6000, n_test = full_run() ? 10000 : 2000;
  load(FMNIST "train-images-idx3-ubyte.gz", FMNIST "train-labels-idx1-ubyte.gz", n_train,
       &train_set);
  load(FMNIST "t10k-images-idx3-ubyte.gz", FMNIST "t10k-labels-idx1-ubyte.gz", n_test, &test_set);
}

static NopropConfig
card_config(guint T)
{
  NopropConfig c = {
      .T = T,
      .n_classes = 10,
      .dim = 10,
      .image_arch = (char *)"flatten linear(784,256) relu",
      .z_hidden = 64,
      .fused_hidden = 128,
      .embedding = NOPROP_EMBED_ONE_HOT,
      .eta = 0.1,
      .snr_cap = 100,
  };
  return c;
}

static NopropTrainConfig
card_train_config(guint64 seed)
{
  NopropTrainConfig tc = {.batch = 128, .seed = seed};
  lethe_optim_config_init(&tc.optim, LETHE_OPTIM_ADAMW, 1e-3);
  tc.optim.weight_decay = 1e-3;
  return tc;
}

static NopropModel *
new_model(guint T, guint64 seed)
{
  GError *err = NULL;
  NopropConfig c = card_config(T);
  NopropModel *m = noprop_model_new(&c, 1, (gint64[]){PIXELS}, seed, &err);
  LETHE_ASSERT_NO_ERROR(err);
  return m;
}

/* ---- schedule and coefficients ------------------------------------- */

static void
test_noprop_schedule_is_flipped_cosine(void)
{
  double ab[11];
  noprop_cosine_schedule(10, ab);
  CU_ASSERT_DOUBLE_EQUAL(ab[0], NOPROP_ALPHA_MIN, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(ab[10], NOPROP_ALPHA_MAX, 1e-12);
  /* cos²((0.9 + s)/(1 + s)·π/2) / cos²(s/(1 + s)·π/2), s = 0.008, by hand. */
  CU_ASSERT_DOUBLE_EQUAL(ab[1], 0.024085, 1e-5);
  CU_ASSERT_DOUBLE_EQUAL(ab[9], 0.972093, 1e-5);
  for (guint t = 1; t <= 10; t++)
    CU_ASSERT_TRUE(ab[t] > ab[t - 1]);
  CU_ASSERT_DOUBLE_EQUAL(noprop_snr(ab, 10, 100), 100.0, 0);
  CU_ASSERT_DOUBLE_EQUAL(noprop_snr(ab, 9, 100), 0.972093 / (1 - 0.972093), 1e-2);
  double a, b, c;
  noprop_chain_coefficients(ab, 1, &a, &b, &c);
  /* The card's sanity values, approximate since ᾱ_0 and 1 − ᾱ_T are 1e-5, not 0. */
  CU_ASSERT_DOUBLE_EQUAL(a, sqrt(ab[1]), 1e-3);
  CU_ASSERT_DOUBLE_EQUAL(b, 0.0, 0.03);
  CU_ASSERT_DOUBLE_EQUAL(c, 1.0 - ab[1], 1e-3);
  noprop_chain_coefficients(ab, 10, &a, &b, &c);
  CU_ASSERT_DOUBLE_EQUAL(a, 1.0, 1e-3);
  CU_ASSERT_DOUBLE_EQUAL(b, 0.0, 1e-3);
  CU_ASSERT_DOUBLE_EQUAL(c, 0.0, 1e-4);
  /* The two identities that make the chain keep q(z_t | y). */
  for (guint t = 1; t <= 10; t++) {
    noprop_chain_coefficients(ab, t, &a, &b, &c);
    CU_ASSERT_DOUBLE_EQUAL(a + b * sqrt(ab[t - 1]), sqrt(ab[t]), 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(b * b * (1 - ab[t - 1]) + c, 1 - ab[t], 1e-12);
  }
}

typedef struct {
  gint64 d;
  const float *u;
  double *mean; /* [T+1][d] */
  double *var;
} Oracle;

static void
moments(const float *z, gint64 n, gint64 d, double *mean, double *var)
{
  for (gint64 j = 0; j < d; j++) {
    double s = 0, s2 = 0;
    for (gint64 i = 0; i < n; i++)
      s += z[i * d + j];
    double m = s / n;
    for (gint64 i = 0; i < n; i++)
      s2 += (z[i * d + j] - m) * (z[i * d + j] - m);
    mean[j] = m;
    var[j] = s2 / (n - 1);
  }
}

/* The oracle block: records the moments of z_{t−1}, predicts u_y exactly. */
static gboolean
oracle_predict(guint t, const float *z, gint64 n, float *uhat, gpointer user_data, GError **error)
{
  Oracle *o = user_data;
  moments(z, n, o->d, o->mean + (t - 1) * o->d, o->var + (t - 1) * o->d);
  for (gint64 i = 0; i < n; i++)
    memcpy(uhat + i * o->d, o->u, sizeof(float) * o->d);
  return TRUE;
}

static void
test_noprop_chain_oracle_keeps_the_marginals(void)
{
  const guint T = 10;
  const gint64 d = 10, n = 100000;
  double ab[T + 1];
  noprop_cosine_schedule(T, ab);
  float u[d];
  for (gint64 j = 0; j < d; j++)
    u[j] = (float)((j - 4.5) / 4.0); /* any embedding, not only one-hot */
  Oracle o = {d, u, g_new(double, (T + 1) * d), g_new(double, (T + 1) * d)};
  g_autofree float *z = g_new(float, n *d);
  GError *err = NULL;
  CU_ASSERT_TRUE(noprop_chain_run(ab, T, d, n, 7, 0, oracle_predict, &o, z, &err));
  LETHE_ASSERT_NO_ERROR(err);
  moments(z, n, d, o.mean + T * d, o.var + T * d);
  double worst_mean = 0, worst_var = 0;
  for (guint t = 0; t <= T; t++)
    for (gint64 j = 0; j < d; j++) {
      double em = fabs(o.mean[t * d + j] - sqrt(ab[t]) * u[j]);
      double ev = fabs(o.var[t * d + j] / (1 - ab[t]) - 1);
      worst_mean = MAX(worst_mean, em);
      worst_var = MAX(worst_var, ev);
      CU_ASSERT_TRUE(em <= 0.01);
      CU_ASSERT_TRUE(ev <= 0.02);
    }
  printf("\n  oracle, 1e5 draws: max |mean error| %.4f, max relative variance error %.4f\n",
         worst_mean, worst_var);
  g_free(o.mean);
  g_free(o.var);
}

/* ---- locality and parallel blocks ---------------------------------- */

/* All values of block t (image path and own parameters) as one array. */
static GByteArray *
block_bytes(NopropModel *m, guint t)
{
  GByteArray *out = g_byte_array_new();
  LetheParams *sets[2] = {lethe_sequential_get_params(m->blocks[t - 1].image),
                          m->blocks[t - 1].own};
  for (guint s = 0; s < 2; s++)
    for (guint i = 0; i < lethe_params_get_n(sets[s]); i++) {
      g_autoptr(LetheTensor) v = lethe_tensor_contiguous(lethe_params_get_value(sets[s], i));
      g_byte_array_append(out, lethe_tensor_data(v), lethe_tensor_n_bytes(v));
    }
  return out;
}

static GByteArray *
shared_bytes(NopropModel *m)
{
  GByteArray *out = g_byte_array_new();
  for (guint i = 0; i < NOPROP_N_SHARED; i++) {
    g_autoptr(LetheTensor) v = lethe_tensor_contiguous(lethe_params_get_value(m->shared, i));
    g_byte_array_append(out, lethe_tensor_data(v), lethe_tensor_n_bytes(v));
  }
  return out;
}

static gboolean
bytes_equal(GByteArray *a, GByteArray *b)
{
  return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static void
test_noprop_training_one_block_leaves_the_others_bit_identical(void)
{
  ensure_data();
  const guint T = 4;
  g_autoptr(NopropModel) m = new_model(T, 11);
  NopropTrainConfig tc = card_train_config(5);
  g_autoptr(NopropTrainer) tr = noprop_trainer_new(m, &tc);
  g_autoptr(LetheTensor) x = lethe_tensor_slice(train_set.x, 0, 1000);
  GByteArray *before[T + 1];
  for (guint t = 1; t <= T; t++)
    before[t] = block_bytes(m, t);
  GError *err = NULL;
  double loss;
  CU_ASSERT_TRUE(noprop_train_pass(m, tr, 3, 0, x, lethe_tensor_i32(train_set.y), TRUE, TRUE, NULL,
                                   &loss, &err));
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_TRUE(isfinite(loss) && loss > 0);
  for (guint t = 1; t <= T; t++) {
    g_autoptr(GByteArray) after = block_bytes(m, t);
    CU_ASSERT_EQUAL(bytes_equal(before[t], after), t != 3);
    g_byte_array_unref(before[t]);
  }
  /* A block-only pass (as parallel-blocks runs them) leaves the head too. */
  g_autoptr(GByteArray) shared = shared_bytes(m);
  g_autoptr(GByteArray) b1 = block_bytes(m, 1);
  CU_ASSERT_TRUE(noprop_train_pass(m, tr, 2, 0, x, lethe_tensor_i32(train_set.y), TRUE, FALSE, NULL,
                                   NULL, &err));
  LETHE_ASSERT_NO_ERROR(err);
  g_autoptr(GByteArray) shared_after = shared_bytes(m);
  g_autoptr(GByteArray) b1_after = block_bytes(m, 1);
  CU_ASSERT_TRUE(bytes_equal(shared, shared_after));
  CU_ASSERT_TRUE(bytes_equal(b1, b1_after));
}

static void
train_epochs(NopropModel *m, NopropTrainer *tr, LetheTensor *x, const gint32 *y, const guint *order,
             guint first, guint epochs)
{
  GError *err = NULL;
  for (guint e = first; e < first + epochs; e++)
    for (guint i = 0; i < m->config.T; i++) {
      CU_ASSERT_TRUE_FATAL(
          noprop_train_pass(m, tr, order[i], e, x, y, TRUE, TRUE, NULL, NULL, &err));
      LETHE_ASSERT_NO_ERROR(err);
    }
}

/* Through the node: parallel-blocks on 2 threads against the sequential
 * forward order; reverse order against forward. */
static LetheFrame *
dataset_frame(Data *d, gint64 n)
{
  LetheFrame *f = lethe_frame_new();
  lethe_frame_take_tensor(f, "x", lethe_tensor_slice(d->x, 0, n));
  lethe_frame_take_tensor(f, "y", lethe_tensor_slice(d->y, 0, n));
  return f;
}

static LetheFrame *
run_node(const char *const *params, Data *train, gint64 n, GPtrArray **metrics)
{
  GError *err = NULL;
  LetheCheck *h = lethe_check_new(&noprop_node_type, params, &err);
  LETHE_ASSERT_NO_ERROR(err);
  lethe_check_set_seed(h, 99);
  CU_ASSERT_TRUE(lethe_check_start(h, &err));
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_TRUE(lethe_check_push(h, "test", dataset_frame(&test_set, 1000), &err));
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_TRUE(lethe_check_push(h, "input", dataset_frame(train, n), &err));
  LETHE_ASSERT_NO_ERROR(err);
  LetheFrame *model = lethe_check_pull(h, "model");
  CU_ASSERT_PTR_NOT_NULL_FATAL(model);
  if (metrics) {
    *metrics = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *all = lethe_check_get_metrics(h);
    for (guint i = 0; i < all->len; i++) {
      LetheMetric *mt = g_ptr_array_index(all, i);
      g_ptr_array_add(
          *metrics, g_strdup_printf("%s %" G_GINT64_FORMAT " %.6f", mt->name, mt->step, mt->value));
    }
  }
  lethe_check_free(h);
  return model;
}

static double
metric_value(GPtrArray *metrics, const char *name)
{
  for (guint i = 0; i < metrics->len; i++) {
    const char *line = g_ptr_array_index(metrics, i);
    gsize len = strlen(name);
    if (strncmp(line, name, len) == 0 && line[len] == ' ')
      return g_ascii_strtod(strrchr(line, ' ') + 1, NULL);
  }
  return NAN;
}

static gboolean
frames_equal(LetheFrame *a, LetheFrame *b, const char *prefix)
{
  guint n = lethe_frame_get_n_tensors(a), compared = 0;
  for (guint i = 0; i < n; i++) {
    const char *name;
    LetheTensor *ta = lethe_frame_get_nth(a, i, &name);
    if (prefix && !g_str_has_prefix(name, prefix))
      continue;
    LetheTensor *tb = lethe_frame_get_tensor(b, name);
    if (tb == NULL || lethe_tensor_n_bytes(ta) != lethe_tensor_n_bytes(tb) ||
        memcmp(lethe_tensor_data(ta), lethe_tensor_data(tb), lethe_tensor_n_bytes(ta)) != 0)
      return FALSE;
    compared++;
  }
  return compared > 0;
}

static void
test_noprop_parallel_blocks_and_orders_give_the_same_blocks(void)
{
  ensure_data();
  guint threads = lethe_nn_get_threads();
  lethe_nn_set_threads(1); /* GEMM results are bit-identical per thread count */
  const char *seq[] = {"T=3", "epochs=2", "eval-seeds=1", "seed=4", NULL};
  const char *par[] = {"T=3",       "epochs=2", "eval-seeds=1", "seed=4", "parallel-blocks=true",
                       "threads=2", NULL};
  const char *rev[] = {"T=3", "epochs=2", "eval-seeds=1", "seed=4", "block-order=3,2,1", NULL};
  g_autoptr(GPtrArray) m_seq = NULL, m_rev = NULL;
  g_autoptr(LetheFrame) a = run_node(seq, &train_set, 4000, &m_seq);
  g_autoptr(LetheFrame) b = run_node(par, &train_set, 4000, NULL);
  g_autoptr(LetheFrame) c = run_node(rev, &train_set, 4000, &m_rev);
  lethe_nn_set_threads(threads);
  /* One-hot embeddings: a block's training depends on nothing else. */
  CU_ASSERT_TRUE(frames_equal(a, b, NULL));
  CU_ASSERT_TRUE(frames_equal(a, c, "block"));
  /* The head saw its passes in another order: close, not equal. */
  CU_ASSERT_FALSE(frames_equal(a, c, "head"));
  double acc_seq = metric_value(m_seq, "test_acc"), acc_rev = metric_value(m_rev, "test_acc");
  printf("\n  T=3, 4000 images, 2 epochs: test_acc forward %.4f, reverse %.4f\n", acc_seq, acc_rev);
  CU_ASSERT_TRUE(acc_seq > 0.3); /* chance is 0.1; 24 steps per block */
  CU_ASSERT_TRUE(fabs(acc_seq - acc_rev) <= 0.01);
}

/* ---- the model kind ------------------------------------------------- */

static void
test_noprop_model_kind_runs_the_chain_from_a_frame(void)
{
  ensure_data();
  lethe_model_kind_register(&noprop_model_kind);
  g_autoptr(NopropModel) m = new_model(3, 21);
  NopropTrainConfig tc = card_train_config(3);
  g_autoptr(NopropTrainer) tr = noprop_trainer_new(m, &tc);
  g_autoptr(LetheTensor) x = lethe_tensor_slice(train_set.x, 0, 500);
  train_epochs(m, tr, x, lethe_tensor_i32(train_set.y), (guint[]){1, 2, 3}, 0, 1);
  g_autoptr(LetheFrame) frame = noprop_model_to_frame(m, 1, 1234);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(frame, "model-kind", ""), "noprop");
  GError *err = NULL;
  g_autoptr(LetheTensor) xt = lethe_tensor_slice(test_set.x, 0, 300);
  g_autoptr(LetheTensor) direct = noprop_model_predict(m, xt, 1234, 1000, &err);
  LETHE_ASSERT_NO_ERROR(err);
  g_autoptr(LetheTensor) via_kind = NULL;
  CU_ASSERT_TRUE(lethe_model_forward(frame, xt, &via_kind, &err));
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_EQUAL(via_kind->shape[0], 300);
  CU_ASSERT_EQUAL(via_kind->shape[1], 10);
  /* The frame's seed: the same logits, bit for bit. */
  CU_ASSERT_EQUAL(
      memcmp(lethe_tensor_data(direct), lethe_tensor_data(via_kind), lethe_tensor_n_bytes(direct)),
      0);
  /* Other batching: each row has its own noise stream, so the same logits
   * up to GEMM rounding. */
  g_autoptr(LetheTensor) batched = noprop_model_predict(m, xt, 1234, 64, &err);
  LETHE_ASSERT_NO_ERROR(err);
  double worst = 0;
  for (gint64 i = 0; i < 3000; i++)
    worst = MAX(worst, fabs(lethe_tensor_f32(direct)[i] - lethe_tensor_f32(batched)[i]));
  CU_ASSERT_TRUE(worst < 1e-3);
  /* Another inference seed: other noise, other logits. */
  g_autoptr(LetheFrame) other = lethe_frame_copy(frame);
  lethe_frame_set_meta_int(other, "noprop-seed", 99);
  g_autoptr(LetheTensor) reseeded = NULL;
  CU_ASSERT_TRUE(lethe_model_forward(other, xt, &reseeded, &err));
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_NOT_EQUAL(
      memcmp(lethe_tensor_data(direct), lethe_tensor_data(reseeded), lethe_tensor_n_bytes(direct)),
      0);
}

static void
test_noprop_refuses_a_T_other_than_trained(void)
{
  lethe_model_kind_register(&noprop_model_kind);
  g_autoptr(NopropModel) m = new_model(10, 2);
  g_autoptr(LetheFrame) frame = noprop_model_to_frame(m, 1, 0);
  lethe_frame_set_meta_int(frame, "noprop-T", 5);
  g_autoptr(LetheTensor) x = lethe_tensor_new_2d(LETHE_DTYPE_F32, 4, PIXELS);
  g_autoptr(LetheTensor) out = NULL;
  GError *err = NULL;
  CU_ASSERT_FALSE(lethe_model_forward(frame, x, &out, &err));
  CU_ASSERT_PTR_NULL(out);
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "asked to run the chain with T = 5 steps (metadata 'noprop-T') but the "
                     "model was trained with T = 10 blocks");
  /* A block missing from the frame is the same mismatch seen from the other side. */
  lethe_frame_set_meta_int(frame, "noprop-T", 10);
  for (guint i = 0; i < NOPROP_N_OWN; i++) {
    static const char *const own[] = {"z0.weight", "z0.bias", "z1.weight", "z1.bias",
                                      "f0.weight", "f0.bias", "f1.weight", "f1.bias"};
    g_autofree char *name = g_strdup_printf("block10.%s", own[i]);
    lethe_frame_remove_tensor(frame, name);
  }
  CU_ASSERT_TRUE(lethe_frame_remove_tensor(frame, "block10.image.1.weight"));
  CU_ASSERT_TRUE(lethe_frame_remove_tensor(frame, "block10.image.1.bias"));
  CU_ASSERT_FALSE(lethe_model_forward(frame, x, &out, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "trained with T = 9 blocks");
  /* And the node refuses a block order that is not a permutation of 1…T. */
  LetheCheck *h = lethe_check_new(&noprop_node_type,
                                  (const char *const[]){"T=4", "block-order=1,2,2,4", NULL}, &err);
  if (h) {
    CU_ASSERT_FALSE(lethe_check_start(h, &err));
    lethe_check_free(h);
  }
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "every block 1…4 once");
}

/* ---- accuracy ------------------------------------------------------- */

G_DEFINE_AUTOPTR_CLEANUP_FUNC(LetheSequential, lethe_sequential_free)

/* The back-propagation baseline: the same image path plus a linear head,
 * trained end to end with the same optimizer, batch and epochs. */
static double
backprop_baseline(guint epochs, double *seconds)
{
  GError *err = NULL;
  g_autoptr(LetheSequential) net = (LetheSequential *)lethe_sequential_new(
      "flatten linear(784,256) relu linear(256,10)", 3, &err);
  LETHE_ASSERT_NO_ERROR(err);
  LetheOptimConfig oc;
  lethe_optim_config_init(&oc, LETHE_OPTIM_ADAMW, 1e-3);
  oc.weight_decay = 1e-3;
  LetheOptimizer *opt = lethe_optimizer_new(lethe_sequential_get_params(net), &oc);
  LetheRng rng;
  lethe_rng_init(&rng, 8);
  gint64 t0 = g_get_monotonic_time();
  for (guint e = 0; e < epochs; e++) {
    CU_ASSERT_TRUE(lethe_sequential_train_epoch(net, opt, train_set.x, train_set.y, 128, &rng, NULL,
                                                NULL, NULL, NULL, &err));
    LETHE_ASSERT_NO_ERROR(err);
  }
  *seconds = (g_get_monotonic_time() - t0) / 1e6;
  lethe_optimizer_free(opt);
  g_autoptr(LetheTensor) logits = lethe_sequential_predict(net, test_set.x, 1000, &err);
  LETHE_ASSERT_NO_ERROR(err);
  gint64 n = logits->shape[0], right = 0;
  const float *l = lethe_tensor_f32(logits);
  const gint32 *y = lethe_tensor_i32(test_set.y);
  for (gint64 i = 0; i < n; i++) {
    gint64 best = 0;
    for (gint64 k = 1; k < 10; k++)
      if (l[i * 10 + k] > l[i * 10 + best])
        best = k;
    right += best == y[i];
  }
  return (double)right / n;
}

static void
test_noprop_fmnist_accuracy_beside_backprop(void)
{
  ensure_data();
  gboolean full = full_run();
  guint T = full ? 10 : 5;
  guint epochs =
      full ? (guint)g_ascii_strtoull(g_getenv("LETHE_NOPROP_EPOCHS") ?: "10", NULL, 10) : 2;
  guint n_seeds = full ? 5 : 2;
  g_autoptr(NopropModel) m = new_model(T, 1);
  NopropTrainConfig tc = card_train_config(2);
  g_autoptr(NopropTrainer) tr = noprop_trainer_new(m, &tc);
  g_autofree guint *order = g_new(guint, T);
  for (guint t = 0; t < T; t++)
    order[t] = t + 1;
  GError *err = NULL;
  const gint32 *y = lethe_tensor_i32(test_set.y);
  for (guint e = 0; e < epochs; e++) {
    gint64 t0 = g_get_monotonic_time();
    train_epochs(m, tr, train_set.x, lethe_tensor_i32(train_set.y), order, e, 1);
    double secs = (g_get_monotonic_time() - t0) / 1e6, acc;
    CU_ASSERT_TRUE(noprop_accuracy(m, test_set.x, y, 0, &acc, &err));
    printf("\n  epoch %u: %.1f s, test_acc (seed 0) %.4f", e + 1, secs, acc);
    fflush(stdout);
  }
  double sum = 0, lo = 1, hi = 0;
  for (guint k = 0; k < n_seeds; k++) {
    double acc;
    CU_ASSERT_TRUE(noprop_accuracy(m, test_set.x, y, 100 + k, &acc, &err));
    LETHE_ASSERT_NO_ERROR(err);
    sum += acc;
    lo = MIN(lo, acc);
    hi = MAX(hi, acc);
  }
  double mean = sum / n_seeds, bp_seconds;
  double bp = backprop_baseline(epochs, &bp_seconds);
  printf("\n  NoProp-DT T=%u, %u epochs, %" G_GINT64_FORMAT " images: test_acc %.4f over %u "
         "inference seeds (min %.4f, max %.4f); back-propagation %.4f (%.1f s)\n",
         T, epochs, train_set.x->shape[0], mean, n_seeds, lo, hi, bp, bp_seconds);
  CU_ASSERT_TRUE(mean > 0.70); /* chance is 0.10 */
  CU_ASSERT_TRUE(hi - lo < 0.02);
  if (full) {
    CU_ASSERT_TRUE(mean >= 0.84);
    CU_ASSERT_TRUE(mean >= bp - 0.04);
  }
}

LETHE_TEST_MAIN("noprop", LETHE_TEST(test_noprop_schedule_is_flipped_cosine),
                LETHE_TEST(test_noprop_chain_oracle_keeps_the_marginals),
                LETHE_TEST(test_noprop_training_one_block_leaves_the_others_bit_identical),
                LETHE_TEST(test_noprop_parallel_blocks_and_orders_give_the_same_blocks),
                LETHE_TEST(test_noprop_model_kind_runs_the_chain_from_a_frame),
                LETHE_TEST(test_noprop_refuses_a_T_other_than_trained),
                LETHE_TEST(test_noprop_fmnist_accuracy_beside_backprop))
