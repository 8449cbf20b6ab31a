/* Lethe — tests of analytic learning (ACIL) and exact unlearning (ACU):
 * the recursive statistics against the ridge solution from scratch, on
 * Fashion-MNIST subsets with the identity backbone (raw pixels).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <math.h>

#include <lethe/error.h>
#include <lethe/nn-linalg.h>
#include <lethe/nn-rng.h>

#include "analytic.h"
#include "idx-parse.h"

#define FMNIST  "/usr/share/datasets/fashion-mnist/"
#define D_F     784
#define WIDTH   512
#define GAMMA   1.0
#define N_TRAIN 3000
#define N_TEST  2000
#define SEED    20220
#define EXACT   1e-8

typedef struct {
  float *x;
  gint32 *y;
  gint64 *ids;
  gsize n;
} Data;

static Data train, test;

static void
load(const char *images, const char *labels, gsize n, Data *d)
{
  GError *err = NULL;
  g_autoptr(IdxReader) ri = idx_reader_open(images, 1u << 30, &err);
  LETHE_ASSERT_NO_ERROR(err);
  g_autoptr(IdxReader) rl = idx_reader_open(labels, 1u << 30, &err);
  LETHE_ASSERT_NO_ERROR(err);
  d->n = n;
  d->x = g_new(float, n *D_F);
  d->y = g_new(gint32, n);
  d->ids = g_new(gint64, n);
  CU_ASSERT_TRUE_FATAL(idx_reader_read_f32(ri, n, 1.0f / 255.0f, d->x, &err));
  CU_ASSERT_TRUE_FATAL(idx_reader_read_i32(rl, n, d->y, &err));
  for (gsize i = 0; i < n; i++)
    d->ids[i] = (gint64)i;
}

static void
ensure_data(void)
{
  if (train.n > 0)
    return;
  load(FMNIST "train-images-idx3-ubyte.gz", FMNIST "train-labels-idx1-ubyte.gz", N_TRAIN, &train);
  load(FMNIST "t10k-images-idx3-ubyte.gz", FMNIST "t10k-labels-idx1-ubyte.gz", N_TEST, &test);
}

/* The rows of @d selected by @rows (indices), as a batch over copies. */
typedef struct {
  AcilBatch b;
  float *x;
  gint32 *y;
  gint64 *ids;
} Owned;

static void
owned_clear(Owned *o)
{
  g_free(o->x);
  g_free(o->y);
  g_free(o->ids);
}

static Owned
gather(const Data *d, const gint64 *rows, gsize n)
{
  Owned o = {
      {0}, g_new(float, MAX(n, 1) * D_F), g_new(gint32, MAX(n, 1)), g_new(gint64, MAX(n, 1))};
  for (gsize i = 0; i < n; i++) {
    memcpy(o.x + i * D_F, d->x + rows[i] * D_F, D_F * sizeof(float));
    o.y[i] = d->y[rows[i]];
    o.ids[i] = d->ids[rows[i]];
  }
  o.b = (AcilBatch){o.x, o.y, o.ids, n};
  return o;
}

/* The training rows the state holds now. */
static Owned
retained(const AcilState *s, const Data *d)
{
  g_autoptr(GArray) rows = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (gsize i = 0; i < d->n; i++)
    if (acil_state_is_learned(s, d->ids[i]))
      g_array_append_val(rows, i);
  return gather(d, (gint64 *)rows->data, rows->len);
}

static gboolean *
active_mask(const AcilState *s)
{
  gint64 k = acil_state_n_classes(s);
  gboolean *m = g_new(gboolean, MAX(k, 1));
  for (gint64 c = 0; c < k; c++)
    m[c] = acil_state_class_active(s, c);
  return m;
}

static void
argmax_rows(const float *logits, gsize n, gint64 k, gint32 *out)
{
  for (gsize i = 0; i < n; i++) {
    gint32 best = 0;
    for (gint64 c = 1; c < k; c++)
      if (logits[i * k + c] > logits[i * k + best])
        best = (gint32)c;
    out[i] = best;
  }
}

/* Compares the state's W with the ridge solution from scratch on the
 * retained rows; returns the relative error and sets *agree to the
 * fraction of test predictions that match. */
static double
compare_with_scratch(const AcilState *s, double *agree)
{
  gint64 k = acil_state_n_classes(s);
  Owned keep = retained(s, &train);
  g_autofree double *w_ref = g_new(double, WIDTH *k);
  GError *err = NULL;
  CU_ASSERT_TRUE(acil_ridge_from_scratch(lethe_tensor_f64(s->w_b), D_F, WIDTH, GAMMA, k, &keep.b,
                                         w_ref, &err));
  LETHE_ASSERT_NO_ERROR(err);
  owned_clear(&keep);
  double rel = acil_rel_error(lethe_tensor_f64(s->w), w_ref, WIDTH * k);

  g_autofree gboolean *active = active_mask(s);
  g_autofree float *l1 = g_new(float, test.n *k);
  g_autofree float *l2 = g_new(float, test.n *k);
  acil_predict(lethe_tensor_f64(s->w_b), lethe_tensor_f64(s->w), active, D_F, WIDTH, k, test.x,
               test.n, l1);
  acil_predict(lethe_tensor_f64(s->w_b), w_ref, active, D_F, WIDTH, k, test.x, test.n, l2);
  g_autofree gint32 *p1 = g_new(gint32, test.n);
  g_autofree gint32 *p2 = g_new(gint32, test.n);
  argmax_rows(l1, test.n, k, p1);
  argmax_rows(l2, test.n, k, p2);
  gsize same = 0;
  for (gsize i = 0; i < test.n; i++)
    same += p1[i] == p2[i];
  *agree = (double)same / (double)test.n;
  return rel;
}

static double
accuracy(const AcilState *s, const Data *d)
{
  gint64 k = acil_state_n_classes(s);
  g_autofree gboolean *active = active_mask(s);
  g_autofree float *l = g_new(float, d->n *k);
  g_autofree gint32 *p = g_new(gint32, d->n);
  acil_predict(lethe_tensor_f64(s->w_b), lethe_tensor_f64(s->w), active, D_F, WIDTH, k, d->x, d->n,
               l);
  argmax_rows(l, d->n, k, p);
  gsize hits = 0;
  for (gsize i = 0; i < d->n; i++)
    hits += p[i] == d->y[i];
  return (double)hits / (double)d->n;
}

/* Learns or unlearns the rows @rows[0..n) of the training subset. */
static void
request(AcilState *s, const gint64 *rows, gsize n, gboolean learn)
{
  Owned o = gather(&train, rows, n);
  GError *err = NULL;
  gboolean ok = learn ? acil_learn(s, &o.b, "test", &err) : acil_unlearn(s, &o.b, "test", &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_TRUE(ok);
  owned_clear(&o);
}

static void
learn_all_in_random_minibatches(AcilState *s, LetheRng *rng)
{
  g_autofree gint64 *perm = g_new(gint64, train.n);
  lethe_rng_permutation(rng, perm, train.n);
  for (gsize at = 0; at < train.n;) {
    /* sizes from 1 (Givens path) to 600 (refactor path) */
    gsize cap = lethe_rng_below(rng, 2) ? 16 : 600;
    gsize m = 1 + lethe_rng_below(rng, cap);
    m = MIN(train.n - at, m);
    request(s, perm + at, m, TRUE);
    at += m;
  }
}

static void
test_acil_recursive_equals_joint_ridge(void)
{
  ensure_data();
  LetheRng rng;
  lethe_rng_init(&rng, SEED);
  for (int order = 0; order < 3; order++) {
    g_autoptr(AcilState) s = acil_state_new(D_F, WIDTH, GAMMA, SEED);
    learn_all_in_random_minibatches(s, &rng);
    CU_ASSERT_TRUE(s->n_givens > 0 && s->n_refactor > 0);
    CU_ASSERT_EQUAL(acil_state_n_learned(s), train.n);
    CU_ASSERT_EQUAL(acil_state_n_classes(s), 10);
    double agree, rel = compare_with_scratch(s, &agree);
    printf("\n  order %d: rel %.3g, agreement %.4f (%u Givens, %u refactor)", order, rel, agree,
           s->n_givens, s->n_refactor);
    CU_ASSERT_TRUE(rel <= EXACT);
    CU_ASSERT_EQUAL(agree, 1.0);
  }
}

static void
random_rows_of(const AcilState *s, LetheRng *rng, gboolean learned, gint32 not_label, gsize n,
               GArray *out)
{
  g_autofree gint64 *perm = g_new(gint64, train.n);
  lethe_rng_permutation(rng, perm, train.n);
  g_array_set_size(out, 0);
  for (gsize i = 0; i < train.n && out->len < n; i++)
    if (acil_state_is_learned(s, train.ids[perm[i]]) == learned && train.y[perm[i]] != not_label)
      g_array_append_val(out, perm[i]);
}

static void
check_exact(const AcilState *s, const char *step)
{
  double agree, rel = compare_with_scratch(s, &agree);
  printf("\n  %s: rel %.3g, agreement %.4f, test accuracy %.4f", step, rel, agree,
         accuracy(s, &test));
  CU_ASSERT_TRUE(rel <= EXACT);
  CU_ASSERT_EQUAL(agree, 1.0);
}

static void
test_acu_exact_unlearning_sequence(void)
{
  ensure_data();
  LetheRng rng;
  lethe_rng_init(&rng, SEED + 1);
  g_autoptr(AcilState) s = acil_state_new(D_F, WIDTH, GAMMA, SEED);
  g_autoptr(GArray) rows = g_array_new(FALSE, FALSE, sizeof(gint64));
  learn_all_in_random_minibatches(s, &rng);

  /* (a) 500 random samples, in requests of 1 to 64 */
  random_rows_of(s, &rng, TRUE, -1, 500, rows);
  for (guint at = 0; at < rows->len;) {
    guint m = 1 + (guint)lethe_rng_below(&rng, 64);
    m = MIN(rows->len - at, m);
    request(s, (gint64 *)rows->data + at, m, FALSE);
    at += m;
  }
  CU_ASSERT_EQUAL(acil_state_n_learned(s), train.n - 500);
  check_exact(s, "(a) 500 samples unlearned");

  /* (b) all of class 3, as a class request */
  g_array_set_size(rows, 0);
  for (gsize i = 0; i < train.n; i++)
    if (train.y[i] == 3 && acil_state_is_learned(s, train.ids[i]))
      g_array_append_val(rows, i);
  Owned cls = gather(&train, (gint64 *)rows->data, rows->len);
  gint64 three = 3;
  GError *err = NULL;
  CU_ASSERT_TRUE(acil_check_forget_classes(s, &three, 1, &cls.b, "test", &err));
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_TRUE(acil_unlearn(s, &cls.b, "test", &err));
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_FALSE(acil_state_class_active(s, 3));
  const double *w = lethe_tensor_f64(s->w);
  gsize nonzero = 0;
  for (gint64 j = 0; j < WIDTH; j++)
    nonzero += w[j * 10 + 3] != 0.0;
  CU_ASSERT_EQUAL(nonzero, 0);
  check_exact(s, "(b) class 3 unlearned");
  g_autofree float *logits = g_new(float, test.n * 10);
  g_autofree gint32 *pred = g_new(gint32, test.n);
  g_autofree gboolean *active = active_mask(s);
  acil_predict(lethe_tensor_f64(s->w_b), w, active, D_F, WIDTH, 10, test.x, test.n, logits);
  argmax_rows(logits, test.n, 10, pred);
  gsize said_three = 0;
  for (gsize i = 0; i < test.n; i++)
    said_three += pred[i] == 3;
  CU_ASSERT_EQUAL(said_three, 0);
  CU_ASSERT_TRUE(isinf(logits[3]) && logits[3] < 0);

  /* (c) class 3 back */
  CU_ASSERT_TRUE(acil_learn(s, &cls.b, "test", &err));
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_TRUE(acil_state_class_active(s, 3));
  check_exact(s, "(c) class 3 learned back");
  owned_clear(&cls);

  /* (d) 200 more, one request each (the rank-1 downdate path) */
  guint givens_before = s->n_givens;
  random_rows_of(s, &rng, TRUE, -1, 200, rows);
  for (guint i = 0; i < rows->len; i++)
    request(s, &g_array_index(rows, gint64, i), 1, FALSE);
  CU_ASSERT_EQUAL(s->n_givens - givens_before, 200);
  check_exact(s, "(d) 200 more unlearned one by one");
}

static void
test_acil_alternating_requests_stay_exact(void)
{
  ensure_data();
  LetheRng rng;
  lethe_rng_init(&rng, SEED + 2);
  g_autoptr(AcilState) s = acil_state_new(D_F, WIDTH, GAMMA, SEED);
  g_autoptr(GArray) rows = g_array_new(FALSE, FALSE, sizeof(gint64));
  random_rows_of(s, &rng, FALSE, -1, train.n / 2, rows);
  request(s, (gint64 *)rows->data, rows->len, TRUE);
  for (int r = 0; r < 200; r++) {
    gsize m = 1 + lethe_rng_below(&rng, 64);
    gboolean learn = r % 2 == 0;
    random_rows_of(s, &rng, !learn, -1, m, rows);
    request(s, (gint64 *)rows->data, rows->len, learn);
  }
  double agree, rel = compare_with_scratch(s, &agree);
  printf("\n  after 200 requests: rel %.3g, agreement %.4f (%u Givens, %u refactor)", rel, agree,
         s->n_givens, s->n_refactor);
  CU_ASSERT_TRUE(rel <= 1e-6);
  CU_ASSERT_EQUAL(agree, 1.0);

  /* A stays exactly symmetric and positive definite; U is its factor */
  const double *a = lethe_tensor_f64(s->a);
  double asym = 0.0;
  for (gint64 i = 0; i < WIDTH; i++)
    for (gint64 j = i + 1; j < WIDTH; j++)
      asym = MAX(asym, fabs(a[i * WIDTH + j] - a[j * WIDTH + i]));
  CU_ASSERT_TRUE(asym <= 1e-10);
  g_autofree double *copy = g_memdup2(a, WIDTH * WIDTH * sizeof(double));
  g_autofree double *eig = g_new(double, WIDTH);
  GError *err = NULL;
  CU_ASSERT_TRUE(lethe_linalg_eigh_f64(copy, WIDTH, WIDTH, eig, FALSE, &err));
  printf(", min eigenvalue of A %.4g", eig[0]);
  CU_ASSERT_TRUE(eig[0] >= GAMMA * (1 - 1e-9));
}

static void
test_acil_accuracy_on_raw_pixels(void)
{
  ensure_data();
  g_autoptr(AcilState) s = acil_state_new(D_F, WIDTH, GAMMA, SEED);
  g_autofree gint64 *all = g_new(gint64, train.n);
  for (gsize i = 0; i < train.n; i++)
    all[i] = (gint64)i;
  request(s, all, train.n, TRUE);
  double acc = accuracy(s, &test);
  printf("\n  test accuracy, %d samples, width %d: %.4f", N_TRAIN, WIDTH, acc);
  /* 3000 samples give a few points less than the full 60000 (>= 80%) */
  CU_ASSERT_TRUE(acc >= 0.78);
}

/* ---- Model frames -------------------------------------------------------- */

static void
test_acil_model_frame_shares_and_copies_on_write(void)
{
  ensure_data();
  g_autoptr(AcilState) s = acil_state_new(D_F, 64, GAMMA, SEED);
  gint64 first[100];
  for (int i = 0; i < 100; i++)
    first[i] = i;
  Owned o = gather(&train, first, 100);
  GError *err = NULL;
  CU_ASSERT_TRUE(acil_learn(s, &o.b, "test", &err));
  g_autoptr(LetheFrame) model = acil_state_to_model(s, 1);
  CU_ASSERT_PTR_EQUAL(lethe_frame_get_tensor(model, "U"), s->u);
  CU_ASSERT_EQUAL(lethe_tensor_get_refcount(s->u), 2);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(model, "model-kind", ""), "acil");
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(model, "arch", ""),
                         "acil d_f=784 width=64 gamma=1");
  LetheTensor *ids = lethe_frame_get_tensor(model, "learned_ids");
  CU_ASSERT_EQUAL(ids->shape[0], 100);
  CU_ASSERT_EQUAL(lethe_tensor_i64(ids)[99], 99);
  g_autofree double *w_before =
      g_memdup2(lethe_tensor_f64(s->w), (gsize)lethe_tensor_n_bytes(s->w));

  /* a state read back from the frame shares its tensors and unlearns exactly */
  g_autoptr(AcilState) back = acil_state_from_model(model, "test", &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_PTR_EQUAL(back->a, s->a);
  CU_ASSERT_EQUAL(acil_state_n_learned(back), 100);
  AcilBatch one = {o.x, o.y, o.ids, 1};
  CU_ASSERT_TRUE(acil_unlearn(back, &one, "test", &err));
  CU_ASSERT_PTR_NOT_EQUAL(back->u, s->u); /* shared: copied before the downdate */
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_f64(lethe_frame_get_tensor(model, "W")), w_before,
                         lethe_tensor_n_bytes(s->w)),
                  0);
  AcilBatch rest = {o.x + D_F, o.y + 1, o.ids + 1, 99};
  g_autofree double *w_ref = g_new(double, 64 * 10);
  CU_ASSERT_TRUE(acil_ridge_from_scratch(lethe_tensor_f64(back->w_b), D_F, 64, GAMMA,
                                         acil_state_n_classes(back), &rest, w_ref, &err));
  CU_ASSERT_TRUE(
      acil_rel_error(lethe_tensor_f64(back->w), w_ref, 64 * acil_state_n_classes(back)) <= EXACT);
  owned_clear(&o);
}

static void
test_acil_model_frame_of_other_kind_is_refused(void)
{
  g_autoptr(LetheFrame) f = lethe_frame_new();
  lethe_frame_set_meta_string(f, "model-kind", "sequential");
  GError *err = NULL;
  CU_ASSERT_PTR_NULL(acil_state_from_model(f, "forget", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "forget: the model frame is of kind "
                     "'sequential', not 'acil'");
}

/* ---- Bad requests -------------------------------------------------------- */

static void
test_acu_refuses_ids_never_learned(void)
{
  ensure_data();
  g_autoptr(AcilState) s = acil_state_new(D_F, 32, GAMMA, SEED);
  gint64 rows[20];
  for (int i = 0; i < 20; i++)
    rows[i] = i;
  Owned o = gather(&train, rows, 10);
  GError *err = NULL;
  CU_ASSERT_TRUE(acil_learn(s, &o.b, "learn", &err));
  owned_clear(&o);
  g_autofree double *w = g_memdup2(lethe_tensor_f64(s->w), lethe_tensor_n_bytes(s->w));

  o = gather(&train, rows + 8, 4); /* ids 8, 9 learned; 10, 11 not */
  CU_ASSERT_FALSE(acil_unlearn(s, &o.b, "forget", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "forget: cannot unlearn 2 of the 4 samples: sample ids 10, 11 were never "
                     "learned");
  CU_ASSERT_EQUAL(acil_state_n_learned(s), 10); /* nothing changed */
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_f64(s->w), w, lethe_tensor_n_bytes(s->w)), 0);

  /* learned under another label */
  o.y[0] = (o.y[0] + 1) % 10;
  o.b.n = 1;
  CU_ASSERT_FALSE(acil_unlearn(s, &o.b, "forget", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "sample id 8 was learned with label");
  owned_clear(&o);

  /* the same id twice in one request, and learning an id again */
  gint64 twice[2] = {3, 3};
  o = gather(&train, twice, 2);
  CU_ASSERT_FALSE(acil_unlearn(s, &o.b, "forget", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "repeat sample ids (3)");
  o.b.n = 1;
  CU_ASSERT_FALSE(acil_learn(s, &o.b, "learn", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "are learned already (ids 3)");
  owned_clear(&o);
}

static void
test_acu_refuses_class_never_learned(void)
{
  ensure_data();
  g_autoptr(AcilState) s = acil_state_new(D_F, 32, GAMMA, SEED);
  g_autoptr(GArray) rows = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (gsize i = 0; i < 200; i++)
    if (train.y[i] != 3)
      g_array_append_val(rows, i);
  Owned o = gather(&train, (gint64 *)rows->data, rows->len);
  GError *err = NULL;
  CU_ASSERT_TRUE(acil_learn(s, &o.b, "learn", &err));
  owned_clear(&o);

  gint64 three = 3, zero = 0;
  AcilBatch empty = {NULL, NULL, NULL, 0};
  CU_ASSERT_FALSE(acil_check_forget_classes(s, &three, 1, &empty, "forget", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "forget: cannot forget class 3: the model has not learned it (learned "
                     "classes: 0, 1, 2, 4, 5, 6, 7, 8, 9)");

  /* a class request with only part of the class */
  g_array_set_size(rows, 0);
  for (gsize i = 0; i < 200 && rows->len < 5; i++)
    if (train.y[i] == 0)
      g_array_append_val(rows, i);
  o = gather(&train, (gint64 *)rows->data, rows->len);
  gint64 n0 = 0;
  for (gsize i = 0; i < 200; i++)
    n0 += train.y[i] == 0;
  g_autofree char *want = g_strdup_printf("forgetting class 0 needs all of its %" G_GINT64_FORMAT
                                          " learned samples, but the forget set holds 5",
                                          n0);
  CU_ASSERT_FALSE(acil_check_forget_classes(s, &zero, 1, &o.b, "forget", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, want);
  owned_clear(&o);
}

LETHE_TEST_MAIN("acil", LETHE_TEST(test_acil_recursive_equals_joint_ridge),
                LETHE_TEST(test_acu_exact_unlearning_sequence),
                LETHE_TEST(test_acil_alternating_requests_stay_exact),
                LETHE_TEST(test_acil_accuracy_on_raw_pixels),
                LETHE_TEST(test_acil_model_frame_shares_and_copies_on_write),
                LETHE_TEST(test_acil_model_frame_of_other_kind_is_refused),
                LETHE_TEST(test_acu_refuses_ids_never_learned),
                LETHE_TEST(test_acu_refuses_class_never_learned))
