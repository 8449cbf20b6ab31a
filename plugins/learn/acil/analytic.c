/* Lethe — analytic learning and exact unlearning: the float64 statistics.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * See analytic.h for the model.  Why a Cholesky factor and not the inverse:
 * the textbook recursion keeps R = A⁻¹ and applies Woodbury's identity; its
 * cheap form drifts (about 1e-5 relative error at width 2048 after a class
 * is removed) and its stable form costs a width³ product per request.  A
 * factor of A updated by Givens rotations is backward stable and costs
 * O(k width²) for k samples; past a batch size where that exceeds one
 * refactorisation of A (O(width³/3) in LAPACK), A is refactored instead.
 */
#include "analytic.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include <lethe/error.h>
#include <lethe/nn-linalg.h>
#include <lethe/nn-rng.h>

/* Rows expanded at once: bounds the memory of a large batch to
 * CHUNK × width doubles (16 MB at width 2048). */
#define CHUNK 1024
/* Largest label accepted: K columns are allocated up to it. */
#define MAX_LABEL 1000000
/* Ids listed in an error message before "and N more". */
#define MAX_IDS_SHOWN 8

/* The Givens path handles batches up to width / GIVENS_*_DIVISOR samples;
 * larger batches refactor A.  Measured at width 2048, one thread: a rank-1
 * update costs 1/20 of a dpotrf of A and a batched one 1/70 per
 * sample; a downdate costs 1/20 per sample (it also solves a triangular
 * system per sample).  A's Gram update is paid on both paths. */
#define GIVENS_UPDATE_DIVISOR   32
#define GIVENS_DOWNDATE_DIVISOR 100

static gint64 *
id_key(gint64 id)
{
  gint64 *k = g_new(gint64, 1);
  *k = id;
  return k;
}

AcilState *
acil_state_new(gint64 d_f, gint64 width, double gamma, guint64 seed)
{
  g_return_val_if_fail(d_f > 0 && width > 0 && gamma > 0.0, NULL);
  AcilState *s = g_new0(AcilState, 1);
  s->d_f = d_f;
  s->width = width;
  s->gamma = gamma;

  s->w_b = lethe_tensor_new_2d(LETHE_DTYPE_F64, width, d_f);
  g_autofree float *draw = g_new(float, (gsize)(width * d_f));
  LetheRng rng;
  lethe_rng_init(&rng, seed);
  float bound = (float)(1.0 / sqrt((double)d_f));
  lethe_rng_fill_uniform_f32(&rng, draw, (gsize)(width * d_f), -bound, bound);
  double *wb = lethe_tensor_f64(s->w_b);
  for (gint64 i = 0; i < width * d_f; i++)
    wb[i] = draw[i];

  s->a = lethe_tensor_new_2d(LETHE_DTYPE_F64, width, width);
  s->u = lethe_tensor_new_2d(LETHE_DTYPE_F64, width, width);
  double *a = lethe_tensor_f64(s->a), *u = lethe_tensor_f64(s->u);
  for (gint64 i = 0; i < width; i++) {
    a[i * width + i] = gamma;
    u[i * width + i] = sqrt(gamma);
  }
  s->q = lethe_tensor_new_2d(LETHE_DTYPE_F64, width, 0);
  s->w = lethe_tensor_new_2d(LETHE_DTYPE_F64, width, 0);
  s->counts = g_array_new(FALSE, TRUE, sizeof(gint64));
  s->learned = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
  return s;
}

void
acil_state_free(AcilState *s)
{
  if (s == NULL)
    return;
  g_clear_pointer(&s->w_b, lethe_tensor_unref);
  g_clear_pointer(&s->a, lethe_tensor_unref);
  g_clear_pointer(&s->u, lethe_tensor_unref);
  g_clear_pointer(&s->q, lethe_tensor_unref);
  g_clear_pointer(&s->w, lethe_tensor_unref);
  g_clear_pointer(&s->counts, g_array_unref);
  g_clear_pointer(&s->learned, g_hash_table_unref);
  g_free(s);
}

gint64
acil_state_n_classes(const AcilState *s)
{
  return (gint64)s->counts->len;
}

gboolean
acil_state_class_active(const AcilState *s, gint64 c)
{
  return c >= 0 && c < (gint64)s->counts->len && g_array_index(s->counts, gint64, c) > 0;
}

gsize
acil_state_n_learned(const AcilState *s)
{
  return g_hash_table_size(s->learned);
}

gboolean
acil_state_is_learned(const AcilState *s, gint64 id)
{
  return g_hash_table_contains(s->learned, &id);
}

/* ---- Expansion and prediction ------------------------------------------ */

void
acil_expand(const double *w_b, gint64 d_f, gint64 width, const float *x, gsize n, double *xe)
{
  if (n == 0)
    return;
  g_autofree double *x64 = g_new(double, n *(gsize)d_f);
  for (gsize i = 0; i < n * (gsize)d_f; i++)
    x64[i] = x[i];
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)width, (int)d_f, 1.0, x64,
              (int)d_f, w_b, (int)d_f, 0.0, xe, (int)width);
  for (gsize i = 0; i < n * (gsize)width; i++)
    xe[i] = xe[i] > 0.0 ? xe[i] : 0.0;
}

void
acil_predict(const double *w_b, const double *w, const gboolean *active, gint64 d_f, gint64 width,
             gint64 k, const float *x, gsize n, float *logits)
{
  if (n == 0 || k == 0)
    return;
  g_autofree double *xe = g_new(double, (gsize)CHUNK *(gsize)width);
  g_autofree double *out = g_new(double, (gsize)CHUNK *(gsize)k);
  for (gsize r0 = 0; r0 < n; r0 += CHUNK) {
    gsize m = MIN((gsize)CHUNK, n - r0);
    acil_expand(w_b, d_f, width, x + r0 * (gsize)d_f, m, xe);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)k, (int)width, 1.0, xe,
                (int)width, w, (int)k, 0.0, out, (int)k);
    for (gsize i = 0; i < m; i++)
      for (gint64 c = 0; c < k; c++)
        logits[(r0 + i) * (gsize)k + (gsize)c] =
            (active == NULL || active[c]) ? (float)out[i * (gsize)k + (gsize)c] : -INFINITY;
  }
}

/* A ← A + sign · XᵀX over both triangles, keeping A exactly symmetric.
 * A few rows go in as rank-1 dger updates (x_i x_j and x_j x_i are the same
 * product, so symmetry is exact, and each costs one pass over A); more rows
 * go through dsyrk on the upper triangle, then a tiled mirror, which costs
 * several dger passes. */
static void
gram_update(double *a, gint64 width, const double *xe, gsize m, double sign)
{
  enum { TILE = 64, MAX_DGER = 8 };
  if (m <= MAX_DGER) {
    for (gsize i = 0; i < m; i++)
      cblas_dger(CblasRowMajor, (int)width, (int)width, sign, xe + i * (gsize)width, 1,
                 xe + i * (gsize)width, 1, a, (int)width);
    return;
  }
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)width, (int)m, sign, xe, (int)width, 1.0,
              a, (int)width);
  for (gint64 i0 = 0; i0 < width; i0 += TILE)
    for (gint64 j0 = i0; j0 < width; j0 += TILE)
      for (gint64 i = i0; i < MIN(i0 + TILE, width); i++)
        for (gint64 j = MAX(j0, i + 1); j < MIN(j0 + TILE, width); j++)
          a[j * width + i] = a[i * width + j];
}

/* Q[:, y_i] += sign · x_e,i for each row of a chunk. */
static void
accumulate_q(double *q, gint64 k, gint64 width, const double *xe, const gint32 *y, gsize m,
             double sign)
{
  for (gsize i = 0; i < m; i++) {
    const double *row = xe + i * (gsize)width;
    double *col = q + y[i];
    for (gint64 j = 0; j < width; j++)
      col[j * k] += sign * row[j];
  }
}

gboolean
acil_ridge_from_scratch(const double *w_b, gint64 d_f, gint64 width, double gamma, gint64 k,
                        const AcilBatch *batches, gsize n_batches, const AcilState *only_learned,
                        double *w_out, GError **error)
{
  g_autofree double *a = g_new0(double, (gsize)(width * width));
  g_autofree double *xe = g_new(double, (gsize)CHUNK *(gsize)width);
  g_autofree float *x = g_new(float, (gsize)CHUNK *(gsize)d_f);
  g_autofree gint32 *y = g_new(gint32, CHUNK);
  for (gint64 i = 0; i < width; i++)
    a[i * width + i] = gamma;
  memset(w_out, 0, (gsize)(width * k) * sizeof(double));
  for (gsize bi = 0; bi < n_batches; bi++) {
    const AcilBatch *data = &batches[bi];
    for (gsize r = 0; r < data->n;) {
      gsize m = 0; /* gather up to CHUNK rows that count */
      for (; r < data->n && m < CHUNK; r++) {
        if (only_learned && !acil_state_is_learned(only_learned, data->ids[r]))
          continue;
        if (data->y[r] < 0 || data->y[r] >= k) {
          g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                      "sample id %" G_GINT64_FORMAT
                      " has label %d, outside the model's %" G_GINT64_FORMAT " classes",
                      data->ids[r], data->y[r], k);
          return FALSE;
        }
        memcpy(x + m * (gsize)d_f, data->x + r * (gsize)d_f, (gsize)d_f * sizeof(float));
        y[m++] = data->y[r];
      }
      acil_expand(w_b, d_f, width, x, m, xe);
      gram_update(a, width, xe, m, 1.0);
      accumulate_q(w_out, k, width, xe, y, m, 1.0);
    }
  }
  return lethe_linalg_solve_spd_f64(a, (gsize)width, (gsize)width, w_out, (gsize)k, (gsize)k,
                                    error);
}

double
acil_rel_error(const double *w, const double *w_ref, gsize n)
{
  double num = 0.0, den = 0.0;
  for (gsize i = 0; i < n; i++) {
    double d = w[i] - w_ref[i];
    num += d * d;
    den += w_ref[i] * w_ref[i];
  }
  if (den == 0.0)
    return num == 0.0 ? 0.0 : INFINITY;
  return sqrt(num / den);
}

/* ---- Validation ---------------------------------------------------------- */

/* "3, 17, 42 and 5 more" */
static char *
format_ids(GArray *ids)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < ids->len && i < MAX_IDS_SHOWN; i++)
    g_string_append_printf(s, "%s%" G_GINT64_FORMAT, i ? ", " : "", g_array_index(ids, gint64, i));
  if (ids->len > MAX_IDS_SHOWN)
    g_string_append_printf(s, " and %u more", ids->len - MAX_IDS_SHOWN);
  return g_string_free(s, FALSE);
}

static gboolean
check_labels_and_repeats(const AcilBatch *b, const char *who, const char *verb, GError **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash, g_int64_equal);
  g_autoptr(GArray) repeated = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (gsize i = 0; i < b->n; i++) {
    if (b->y[i] < 0 || b->y[i] > MAX_LABEL) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s: sample %zu (id %" G_GINT64_FORMAT ") to %s has label %d; labels must lie "
                  "in 0..%d",
                  who, i, b->ids[i], verb, b->y[i], MAX_LABEL);
      return FALSE;
    }
    if (!g_hash_table_add(seen, (gpointer)&b->ids[i]))
      g_array_append_val(repeated, b->ids[i]);
  }
  if (repeated->len > 0) {
    g_autofree char *list = format_ids(repeated);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: the samples to %s repeat sample ids (%s); every sample needs its own id", who,
                verb, list);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_learn(const AcilState *s, const AcilBatch *b, const char *who, GError **error)
{
  if (!check_labels_and_repeats(b, who, "learn", error))
    return FALSE;
  g_autoptr(GArray) again = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (gsize i = 0; i < b->n; i++)
    if (g_hash_table_contains(s->learned, &b->ids[i]))
      g_array_append_val(again, b->ids[i]);
  if (again->len > 0) {
    g_autofree char *list = format_ids(again);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: %u of the %zu samples to learn are learned already (ids %s); unlearn them "
                "first or give new samples new ids",
                who, again->len, b->n, list);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_unlearn(const AcilState *s, const AcilBatch *b, const char *who, GError **error)
{
  if (!check_labels_and_repeats(b, who, "unlearn", error))
    return FALSE;
  g_autoptr(GArray) unseen = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (gsize i = 0; i < b->n; i++) {
    gpointer v = g_hash_table_lookup(s->learned, &b->ids[i]);
    if (v == NULL) {
      g_array_append_val(unseen, b->ids[i]);
    } else if (GPOINTER_TO_INT(v) - 1 != b->y[i]) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s: sample id %" G_GINT64_FORMAT " was learned with label %d but the forget "
                  "set gives label %d; the forget set must hold the samples as they were learned",
                  who, b->ids[i], GPOINTER_TO_INT(v) - 1, b->y[i]);
      return FALSE;
    }
  }
  if (unseen->len > 0) {
    g_autofree char *list = format_ids(unseen);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: cannot unlearn %u of the %zu samples: sample id%s %s %s never learned (or "
                "%s unlearned already); exact unlearning removes only learned samples",
                who, unseen->len, b->n, unseen->len > 1 ? "s" : "", list,
                unseen->len > 1 ? "were" : "was", unseen->len > 1 ? "were" : "was");
    return FALSE;
  }
  return TRUE;
}

gboolean
acil_check_forget_classes(const AcilState *s, const gint64 *classes, gsize n_classes,
                          const AcilBatch *b, const char *who, GError **error)
{
  g_autoptr(GHashTable) wanted = g_hash_table_new(g_int64_hash, g_int64_equal);
  for (gsize i = 0; i < n_classes; i++) {
    if (!acil_state_class_active(s, classes[i])) {
      GString *known = g_string_new(NULL);
      for (gint64 c = 0; c < acil_state_n_classes(s); c++)
        if (acil_state_class_active(s, c))
          g_string_append_printf(known, "%s%" G_GINT64_FORMAT, known->len ? ", " : "", c);
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s: cannot forget class %" G_GINT64_FORMAT
                  ": the model has not learned it (learned classes: %s)",
                  who, classes[i], known->len ? known->str : "none");
      g_string_free(known, TRUE);
      return FALSE;
    }
    g_hash_table_add(wanted, (gpointer)&classes[i]);
  }
  g_autofree gint64 *per_class = g_new0(gint64, (gsize)acil_state_n_classes(s));
  for (gsize i = 0; i < b->n; i++) {
    gint64 y = b->y[i];
    if (!g_hash_table_contains(wanted, &y)) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s: the forget set of a class request holds sample id %" G_GINT64_FORMAT
                  " of class %d, which the request does not name",
                  who, b->ids[i], b->y[i]);
      return FALSE;
    }
    per_class[y]++;
  }
  for (gsize i = 0; i < n_classes; i++) {
    gint64 c = classes[i], have = g_array_index(s->counts, gint64, c);
    if (per_class[c] != have) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s: forgetting class %" G_GINT64_FORMAT " needs all of its %" G_GINT64_FORMAT
                  " learned samples, but the forget set holds %" G_GINT64_FORMAT
                  "; connect the data the class was learned from",
                  who, c, have, per_class[c]);
      return FALSE;
    }
  }
  return TRUE;
}

/* ---- Updates ------------------------------------------------------------- */

/* Widens Q to @k columns (zeros for the new classes). */
static void
widen(AcilState *s, gint64 k)
{
  gint64 k_old = acil_state_n_classes(s);
  if (k <= k_old)
    return;
  LetheTensor *q = lethe_tensor_new_2d(LETHE_DTYPE_F64, s->width, k);
  const double *src = lethe_tensor_f64(s->q);
  double *dst = lethe_tensor_f64(q);
  for (gint64 j = 0; j < s->width; j++)
    memcpy(dst + j * k, src + j * k_old, (gsize)k_old * sizeof(double));
  lethe_tensor_unref(s->q);
  s->q = q;
  g_array_set_size(s->counts, (guint)k);
}

/* Makes every statistic writable (a copy only when a model frame still
 * shares it) and widens Q to @k columns. */
static void
prepare(AcilState *s, gint64 k)
{
  s->a = lethe_tensor_make_writable(s->a);
  s->u = lethe_tensor_make_writable(s->u);
  if (k > acil_state_n_classes(s))
    widen(s, k);
  else
    s->q = lethe_tensor_make_writable(s->q);
}

static gboolean
refactor(AcilState *s, GError **error)
{
  s->n_refactor++;
  memcpy(lethe_tensor_f64(s->u), lethe_tensor_f64(s->a),
         (gsize)(s->width * s->width) * sizeof(double));
  return lethe_linalg_cholesky_f64(lethe_tensor_f64(s->u), (gsize)s->width, (gsize)s->width, error);
}

/* W = A⁻¹ Q by two triangular solves with U. */
static void
solve_w(AcilState *s)
{
  gint64 k = acil_state_n_classes(s);
  if (s->w->shape[1] != k) {
    lethe_tensor_unref(s->w);
    s->w = lethe_tensor_new_2d(LETHE_DTYPE_F64, s->width, k);
  } else {
    s->w = lethe_tensor_make_writable(s->w);
  }
  memcpy(lethe_tensor_f64(s->w), lethe_tensor_f64(s->q), (gsize)(s->width * k) * sizeof(double));
  lethe_linalg_cholesky_solve_f64(lethe_tensor_f64(s->u), (gsize)s->width, (gsize)s->width,
                                  lethe_tensor_f64(s->w), (gsize)k, (gsize)k);
}

/* Adds (sign +1) or removes (−1) @b in A and Q, and in U on the Givens
 * path; returns FALSE only when a Givens downdate failed. */
static gboolean
apply_batch(AcilState *s, const AcilBatch *b, double sign, gboolean givens)
{
  gint64 width = s->width, k = acil_state_n_classes(s);
  double *a = lethe_tensor_f64(s->a), *u = lethe_tensor_f64(s->u), *q = lethe_tensor_f64(s->q);
  g_autofree double *xe = g_new(double, (gsize)MIN(b->n, CHUNK) * (gsize)width);
  gboolean ok = TRUE;
  for (gsize r0 = 0; r0 < b->n; r0 += CHUNK) {
    gsize m = MIN((gsize)CHUNK, b->n - r0);
    acil_expand(lethe_tensor_f64(s->w_b), s->d_f, width, b->x + r0 * (gsize)s->d_f, m, xe);
    gram_update(a, width, xe, m, sign);
    accumulate_q(q, k, width, xe, b->y + r0, m, sign);
    if (givens && sign > 0)
      lethe_cholesky_update_rank_k_f64(u, (gsize)width, (gsize)width, xe, m, (gsize)width);
    else if (givens && ok)
      ok = lethe_cholesky_downdate_rank_k_f64(u, (gsize)width, (gsize)width, xe, m, (gsize)width,
                                              NULL);
  }
  return ok;
}

void
acil_state_reserve_classes(AcilState *s, gint64 k)
{
  g_return_if_fail(s != NULL && k <= MAX_LABEL + 1);
  if (k <= acil_state_n_classes(s))
    return;
  widen(s, k);
  solve_w(s);
}

gboolean
acil_learn(AcilState *s, const AcilBatch *b, const char *who, GError **error)
{
  g_return_val_if_fail(s != NULL && b != NULL, FALSE);
  if (!check_learn(s, b, who, error))
    return FALSE;
  if (b->n == 0)
    return TRUE;
  gint64 k = acil_state_n_classes(s);
  for (gsize i = 0; i < b->n; i++)
    k = MAX(k, (gint64)b->y[i] + 1);
  prepare(s, k);

  gboolean givens = b->n * GIVENS_UPDATE_DIVISOR <= (gsize)s->width;
  apply_batch(s, b, 1.0, givens);
  if (givens) {
    s->n_givens++;
  } else if (!refactor(s, error)) {
    g_prefix_error(error, "%s: learning %zu samples: ", who, b->n);
    return FALSE;
  }
  for (gsize i = 0; i < b->n; i++) {
    g_array_index(s->counts, gint64, b->y[i])++;
    g_hash_table_insert(s->learned, id_key(b->ids[i]), GINT_TO_POINTER(b->y[i] + 1));
  }
  solve_w(s);
  return TRUE;
}

gboolean
acil_unlearn(AcilState *s, const AcilBatch *b, const char *who, GError **error)
{
  g_return_val_if_fail(s != NULL && b != NULL, FALSE);
  if (!check_unlearn(s, b, who, error))
    return FALSE;
  if (b->n == 0)
    return TRUE;
  prepare(s, acil_state_n_classes(s));

  gboolean givens = b->n * GIVENS_DOWNDATE_DIVISOR <= (gsize)s->width;
  gboolean ok = apply_batch(s, b, -1.0, givens);
  if (givens && ok) {
    s->n_givens++;
  } else if (!refactor(s, error)) {
    /* A − X_uᵀX_u is not positive definite: the forget set cannot be what
     * was learned under these ids.  Put the batch back. */
    apply_batch(s, b, 1.0, FALSE);
    refactor(s, NULL);
    solve_w(s);
    g_prefix_error(error,
                   "%s: the forget set's features do not match the learned samples of the "
                   "same ids (removing them leaves an indefinite Gram matrix): ",
                   who);
    return FALSE;
  }
  double *q = lethe_tensor_f64(s->q);
  gint64 k = acil_state_n_classes(s);
  for (gsize i = 0; i < b->n; i++) {
    gint64 *count = &g_array_index(s->counts, gint64, b->y[i]);
    if (--*count == 0) /* the class is gone: its column is exactly zero */
      for (gint64 j = 0; j < s->width; j++)
        q[j * k + b->y[i]] = 0.0;
    g_hash_table_remove(s->learned, &b->ids[i]);
  }
  solve_w(s);
  return TRUE;
}

/* ---- Model frames -------------------------------------------------------- */

static int
cmp_i64(gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
  return (x > y) - (x < y);
}

LetheFrame *
acil_state_to_model(const AcilState *s, gint64 version)
{
  LetheFrame *f = lethe_frame_new();
  gint64 k = acil_state_n_classes(s);
  lethe_frame_set_tensor(f, "W_B", s->w_b);
  lethe_frame_set_tensor(f, "A", s->a);
  lethe_frame_set_tensor(f, "U", s->u);
  lethe_frame_set_tensor(f, "Q", s->q);
  lethe_frame_set_tensor(f, "W", s->w);

  gint64 n_active = 0;
  for (gint64 c = 0; c < k; c++)
    n_active += acil_state_class_active(s, c);
  LetheTensor *classes = lethe_tensor_new_1d(LETHE_DTYPE_I32, n_active);
  LetheTensor *counts = lethe_tensor_new_1d(LETHE_DTYPE_I64, k);
  for (gint64 c = 0, at = 0; c < k; c++) {
    lethe_tensor_i64(counts)[c] = g_array_index(s->counts, gint64, c);
    if (acil_state_class_active(s, c))
      lethe_tensor_i32(classes)[at++] = (gint32)c;
  }
  lethe_frame_take_tensor(f, "classes", classes);
  lethe_frame_take_tensor(f, "class_counts", counts);

  gsize m = g_hash_table_size(s->learned);
  LetheTensor *ids = lethe_tensor_new_1d(LETHE_DTYPE_I64, (gint64)m);
  LetheTensor *labels = lethe_tensor_new_1d(LETHE_DTYPE_I32, (gint64)m);
  gint64 *iv = lethe_tensor_i64(ids);
  GHashTableIter it;
  gpointer key, value;
  gsize at = 0;
  g_hash_table_iter_init(&it, s->learned);
  while (g_hash_table_iter_next(&it, &key, &value))
    iv[at++] = *(gint64 *)key;
  qsort(iv, m, sizeof(gint64), cmp_i64);
  for (gsize i = 0; i < m; i++)
    lethe_tensor_i32(labels)[i] = GPOINTER_TO_INT(g_hash_table_lookup(s->learned, &iv[i])) - 1;
  lethe_frame_take_tensor(f, "learned_ids", ids);
  lethe_frame_take_tensor(f, "learned_labels", labels);

  g_autofree char *arch =
      g_strdup_printf("acil d_f=%" G_GINT64_FORMAT " width=%" G_GINT64_FORMAT " gamma=%g", s->d_f,
                      s->width, s->gamma);
  lethe_frame_set_meta_string(f, "model-kind", ACIL_MODEL_KIND);
  lethe_frame_set_meta_string(f, "arch", arch);
  lethe_frame_set_meta_double(f, "gamma", s->gamma);
  lethe_frame_set_meta_int(f, "version", version);
  return f;
}

/* The tensor @name of @model with @dtype, rank 2 (or 1 when @cols < -1),
 * and the given extents (−1: any); a new reference, contiguous. */
static LetheTensor *
model_tensor(const LetheFrame *model, const char *name, LetheDType dtype, gint64 rows, gint64 cols,
             const char *who, GError **error)
{
  LetheTensor *t = lethe_frame_get_tensor(model, name);
  guint rank = cols < -1 ? 1 : 2;
  if (t == NULL || t->dtype != dtype || t->rank != rank || (rows >= 0 && t->shape[0] != rows) ||
      (rank == 2 && cols >= 0 && t->shape[1] != cols)) {
    g_autofree char *shape = t ? lethe_tensor_shape_string(t) : NULL;
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s: the acil model frame's tensor '%s' is %s%s%s; expected %s of rank %u "
                "(a model frame made by the acil learner)",
                who, name, t ? lethe_dtype_name(t->dtype) : "missing", t ? " " : "", t ? shape : "",
                lethe_dtype_name(dtype), rank);
    return NULL;
  }
  return lethe_tensor_contiguous(t);
}

AcilState *
acil_state_from_model(const LetheFrame *model, const char *who, GError **error)
{
  const char *kind = lethe_frame_get_meta_string(model, "model-kind", "");
  if (g_strcmp0(kind, ACIL_MODEL_KIND) != 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s: the model frame is of kind '%s', not '" ACIL_MODEL_KIND
                "'; analytic unlearning needs the statistics an acil learner keeps",
                who, kind);
    return NULL;
  }
  g_autoptr(AcilState) s = g_new0(AcilState, 1);
  s->counts = g_array_new(FALSE, TRUE, sizeof(gint64));
  s->learned = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
  s->gamma = lethe_frame_get_meta_double(model, "gamma", 0.0);
  if (!(s->gamma > 0.0)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s: the acil model frame has no positive 'gamma' metadata", who);
    return NULL;
  }
  if (!(s->w_b = model_tensor(model, "W_B", LETHE_DTYPE_F64, -1, -1, who, error)))
    return NULL;
  s->width = s->w_b->shape[0];
  s->d_f = s->w_b->shape[1];
  if (!(s->a = model_tensor(model, "A", LETHE_DTYPE_F64, s->width, s->width, who, error)) ||
      !(s->u = model_tensor(model, "U", LETHE_DTYPE_F64, s->width, s->width, who, error)) ||
      !(s->q = model_tensor(model, "Q", LETHE_DTYPE_F64, s->width, -1, who, error)))
    return NULL;
  gint64 k = s->q->shape[1];
  g_autoptr(LetheTensor) counts = NULL, ids = NULL, labels = NULL;
  if (!(s->w = model_tensor(model, "W", LETHE_DTYPE_F64, s->width, k, who, error)) ||
      !(counts = model_tensor(model, "class_counts", LETHE_DTYPE_I64, k, -2, who, error)) ||
      !(ids = model_tensor(model, "learned_ids", LETHE_DTYPE_I64, -1, -2, who, error)) ||
      !(labels =
            model_tensor(model, "learned_labels", LETHE_DTYPE_I32, ids->shape[0], -2, who, error)))
    return NULL;
  g_array_append_vals(s->counts, lethe_tensor_i64(counts), (guint)k);
  for (gint64 i = 0; i < ids->shape[0]; i++)
    g_hash_table_insert(s->learned, id_key(lethe_tensor_i64(ids)[i]),
                        GINT_TO_POINTER(lethe_tensor_i32(labels)[i] + 1));
  return g_steal_pointer(&s);
}
