/* Lethe — tests of analytic learning (ACIL) and exact unlearning (ACU):
 * the recursive statistics against the ridge solution from scratch, on
 * Fashion-MNIST subsets with the identity backbone (raw pixels).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <math.h>

#include <lethe/check.h>
#include <lethe/error.h>
#include <lethe/model.h>
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
  AcilBatch all = {train.x, train.y, train.ids, train.n};
  g_autofree double *w_ref = g_new(double, WIDTH *k);
  GError *err = NULL;
  CU_ASSERT_TRUE(acil_ridge_from_scratch(lethe_tensor_f64(s->w_b), D_F, WIDTH, GAMMA, k, &all, 1, s,
                                         w_ref, &err));
  LETHE_ASSERT_NO_ERROR(err);
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
                                         acil_state_n_classes(back), &rest, 1, NULL, w_ref, &err));
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

/* ---- The acil and acu nodes ----------------------------------------------- */

#define P(...) ((const char *[]){__VA_ARGS__, NULL})

/* A dataset frame of training rows [first, first + n) (those of @only_class
 * when >= 0), samples @side × @side (28 is the real shape). */
static LetheFrame *
dataset_frame(gsize first, gsize n, gint32 only_class, const char *event, gint64 side)
{
  g_autoptr(GArray) rows = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (gsize i = first; i < first + n; i++)
    if (only_class < 0 || train.y[i] == only_class)
      g_array_append_val(rows, i);
  gint64 m = rows->len, shape[3] = {m, side, side};
  LetheTensor *x = lethe_tensor_new(LETHE_DTYPE_F32, 3, shape);
  LetheTensor *y = lethe_tensor_new_1d(LETHE_DTYPE_I32, m);
  LetheTensor *ids = lethe_tensor_new_1d(LETHE_DTYPE_I64, m);
  for (gint64 i = 0; i < m; i++) {
    gint64 r = g_array_index(rows, gint64, i);
    if (side * side == D_F)
      memcpy(lethe_tensor_f32(x) + i * D_F, train.x + r * D_F, D_F * sizeof(float));
    lethe_tensor_i32(y)[i] = train.y[r];
    lethe_tensor_i64(ids)[i] = train.ids[r];
  }
  LetheFrame *f = lethe_frame_new();
  lethe_frame_take_tensor(f, "x", x);
  lethe_frame_take_tensor(f, "y", y);
  lethe_frame_take_tensor(f, "index", ids);
  lethe_frame_set_meta_string(f, "event", event);
  lethe_frame_set_meta_int(f, "n-classes", 10);
  if (only_class >= 0)
    lethe_frame_set_meta(
        f, "forget-classes",
        g_variant_new_fixed_array(G_VARIANT_TYPE_INT32, &only_class, 1, sizeof(gint32)));
  return f;
}

static LetheCheck *
harness(const char *type, const char *const *params)
{
  GError *err = NULL;
  LetheCheck *h = lethe_check_new_from_registry(NULL, type, params, &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(h);
  return h;
}

/* The last value of metric @name the node recorded (NAN if none). */
static double
last_metric(LetheCheck *h, const char *name, gint64 *step)
{
  GPtrArray *m = lethe_check_get_metrics(h);
  for (guint i = m->len; i-- > 0;) {
    LetheMetric *x = m->pdata[i];
    if (g_str_equal(x->name, name)) {
      if (step)
        *step = x->step;
      return x->value;
    }
  }
  return NAN;
}

static void
push_ok(LetheCheck *h, const char *port, LetheFrame *f)
{
  GError *err = NULL;
  CU_ASSERT_TRUE(lethe_check_push(h, port, f, &err));
  LETHE_ASSERT_NO_ERROR(err);
}

static void
test_acil_node_learns_forgets_a_class_and_verifies(void)
{
  ensure_data();
  g_autoptr(LetheCheck) h = harness("acil", P("width=64", "seed=5", "verify=true"));
  push_ok(h, "data", dataset_frame(0, 300, -1, "learn", 28));
  g_autoptr(LetheFrame) m1 = lethe_check_pull(h, "model");
  CU_ASSERT_PTR_NOT_NULL_FATAL(m1);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(m1, "model-kind", ""), "acil");
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(m1, "version", 0), 1);
  gint64 step = -1;
  CU_ASSERT_TRUE(last_metric(h, "retrain_rel_error", &step) <= EXACT);
  CU_ASSERT_EQUAL(step, 1);
  CU_ASSERT_TRUE(last_metric(h, "learn_seconds", NULL) >= 0.0);

  push_ok(h, "data", dataset_frame(300, 300, -1, "learn", 28));
  g_autoptr(LetheFrame) m2 = lethe_check_pull(h, "model");
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(m2, "version", 0), 2);
  CU_ASSERT_EQUAL(lethe_frame_get_tensor(m2, "learned_ids")->shape[0], 600);

  push_ok(h, "data", dataset_frame(0, 600, 3, "forget", 28));
  g_autoptr(LetheFrame) m3 = lethe_check_pull(h, "model");
  CU_ASSERT_PTR_NOT_NULL_FATAL(m3);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(m3, "event", ""), "forget");
  CU_ASSERT_TRUE(last_metric(h, "retrain_rel_error", &step) <= EXACT);
  CU_ASSERT_EQUAL(step, 3);
  CU_ASSERT_TRUE(last_metric(h, "unlearn_seconds", NULL) >= 0.0);
  LetheTensor *classes = lethe_frame_get_tensor(m3, "classes");
  CU_ASSERT_EQUAL(classes->shape[0], 9);
  for (gint64 i = 0; i < classes->shape[0]; i++)
    CU_ASSERT_NOT_EQUAL(lethe_tensor_i32(classes)[i], 3);
  LetheTensor *w = lethe_frame_get_tensor(m3, "W");
  for (gint64 j = 0; j < 64; j++)
    CU_ASSERT_EQUAL(lethe_tensor_f64(w)[j * 10 + 3], 0.0);

  /* the model kind runs the frame: class 3 is never predicted */
  g_autoptr(LetheFrame) probe = dataset_frame(1000, 50, -1, "learn", 28);
  g_autoptr(LetheTensor) logits = NULL;
  GError *err = NULL;
  CU_ASSERT_TRUE(lethe_model_forward(m3, lethe_frame_get_tensor(probe, "x"), &logits, &err));
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_EQUAL(logits->shape[1], 10);
  for (gint64 i = 0; i < logits->shape[0]; i++)
    CU_ASSERT_TRUE(isinf(lethe_tensor_f32(logits)[i * 10 + 3]));
  /* the model pushed before the request still answers for class 3 */
  g_autoptr(LetheTensor) before = NULL;
  CU_ASSERT_TRUE(lethe_model_forward(m2, lethe_frame_get_tensor(probe, "x"), &before, &err));
  CU_ASSERT_TRUE(isfinite(lethe_tensor_f32(before)[3]));

  /* ids never learned: refused, naming them */
  CU_ASSERT_FALSE(lethe_check_push(h, "data", dataset_frame(700, 3, -1, "forget", 28), &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "sample ids 700, 701, 702 were never");
}

static void
test_acu_node_unlearns_from_a_model_frame(void)
{
  ensure_data();
  g_autoptr(LetheCheck) learn = harness("acil", P("width=64", "seed=5"));
  push_ok(learn, "data", dataset_frame(0, 400, -1, "learn", 28));
  g_autoptr(LetheFrame) model = lethe_check_pull(learn, "model");
  LetheTensor *w_in = lethe_frame_get_tensor(model, "W");
  g_autofree double *w_before = g_memdup2(lethe_tensor_f64(w_in), lethe_tensor_n_bytes(w_in));

  g_autoptr(LetheCheck) h = harness("acu", P("verify=true"));
  push_ok(h, "forget", dataset_frame(0, 50, -1, "forget", 28));
  push_ok(h, "retain", dataset_frame(50, 350, -1, "retain", 28));
  push_ok(h, "model", lethe_frame_ref(model));
  CU_ASSERT_EQUAL(lethe_check_get_n_pending(h, "model"), 0); /* apply = last: at the end */
  GError *err = NULL;
  CU_ASSERT_TRUE(lethe_check_push_eos(h, NULL, &err));
  LETHE_ASSERT_NO_ERROR(err);
  g_autoptr(LetheFrame) out = lethe_check_pull(h, "model");
  CU_ASSERT_PTR_NOT_NULL_FATAL(out);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(out, "version", 0), 2);
  CU_ASSERT_EQUAL(lethe_frame_get_tensor(out, "learned_ids")->shape[0], 350);
  CU_ASSERT_TRUE(lethe_frame_get_meta_double(out, "unlearn-seconds", -1) >= 0.0);
  double rel = last_metric(h, "retrain_rel_error", NULL);
  printf("\n  acu node: rel %.3g", rel);
  CU_ASSERT_TRUE(rel <= EXACT);
  /* the input model is untouched: its statistics were copied on write */
  CU_ASSERT_PTR_NOT_EQUAL(lethe_frame_get_tensor(out, "U"), lethe_frame_get_tensor(model, "U"));
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_f64(w_in), w_before, lethe_tensor_n_bytes(w_in)), 0);
  CU_ASSERT_PTR_EQUAL(lethe_frame_get_tensor(out, "W_B"), lethe_frame_get_tensor(model, "W_B"));
}

static void
test_acu_node_refuses_bad_forget_sets(void)
{
  ensure_data();
  g_autoptr(LetheCheck) learn = harness("acil", P("width=32", "seed=5"));
  push_ok(learn, "data", dataset_frame(0, 200, 0, "learn", 28)); /* class 0 only */
  g_autoptr(LetheFrame) model = lethe_check_pull(learn, "model");
  GError *err = NULL;

  /* another dataset's shape */
  g_autoptr(LetheCheck) h1 = harness("acu", P("apply=each"));
  push_ok(h1, "forget", dataset_frame(0, 10, -1, "forget", 32));
  CU_ASSERT_FALSE(lethe_check_push(h1, "model", lethe_frame_ref(model), &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "forget set (model version 1): its samples have shape [10, 32, 32], 1024 "
                     "features each, but the model was learned on 784 features");

  /* a class never learned */
  g_autoptr(LetheCheck) h2 = harness("acu", P("apply=each"));
  push_ok(h2, "forget", dataset_frame(0, 200, 3, "forget", 28));
  CU_ASSERT_FALSE(lethe_check_push(h2, "model", lethe_frame_ref(model), &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "cannot forget class 3: the model has not learned it (learned classes: 0)");

  /* samples never learned */
  g_autoptr(LetheCheck) h3 = harness("acu", P("apply=each"));
  push_ok(h3, "forget", dataset_frame(0, 3, -1, "forget", 28));
  CU_ASSERT_FALSE(lethe_check_push(h3, "model", lethe_frame_ref(model), &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "cannot unlearn 1 of the 3 samples: sample id 0 was never learned");

  /* a model of another kind */
  g_autoptr(LetheCheck) h4 = harness("acu", P("apply=each"));
  push_ok(h4, "forget", dataset_frame(0, 3, -1, "forget", 28));
  g_autoptr(LetheFrame) seq = lethe_frame_new();
  lethe_frame_set_meta_string(seq, "model-kind", "sequential");
  lethe_frame_set_meta_string(seq, "arch", "linear");
  CU_ASSERT_FALSE(lethe_check_push(h4, "model", lethe_frame_ref(seq), &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_SCHEMA, "not 'acil'");
}

LETHE_TEST_MAIN("acil", LETHE_TEST(test_acil_recursive_equals_joint_ridge),
                LETHE_TEST(test_acu_exact_unlearning_sequence),
                LETHE_TEST(test_acil_alternating_requests_stay_exact),
                LETHE_TEST(test_acil_accuracy_on_raw_pixels),
                LETHE_TEST(test_acil_model_frame_shares_and_copies_on_write),
                LETHE_TEST(test_acil_model_frame_of_other_kind_is_refused),
                LETHE_TEST(test_acu_refuses_ids_never_learned),
                LETHE_TEST(test_acu_refuses_class_never_learned),
                LETHE_TEST(test_acil_node_learns_forgets_a_class_and_verifies),
                LETHE_TEST(test_acu_node_unlearns_from_a_model_frame),
                LETHE_TEST(test_acu_node_refuses_bad_forget_sets))
