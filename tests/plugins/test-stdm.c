/* Lethe — STDM's masks: exact ratios, exact column and row masks, and the
 * limb-lead shortcut it removes, measured on LUDB.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <cblas.h>
#include <math.h>

#include <lethe/error.h>
#include <lethe/nn-linalg.h>
#include <lethe/nn-rng.h>

#include "ecg-frame.h"
#include "ecg-ludb.h"
#include "stdm-ops.h"
#include "wfdb-filter.h"

static const gboolean limb12[12] = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0};

static void
test_stdm_masks_hold_columns_rows_and_the_ratio(void)
{
  StdmParams p;
  stdm_params_init(&p);
  guint N = 40, L = 12;
  guint8 mask[12 * 40];
  GError *err = NULL;
  for (guint64 s = 0; s < 50; s++) {
    LetheRng rng;
    lethe_rng_init(&rng, s);
    guint hidden = 0;
    CU_ASSERT_TRUE_FATAL(stdm_mask(&p, L, N, limb12, &rng, mask, &hidden, &err));
    guint count = 0, full_cols = 0, limb_rows = 0, max_visible_limb = 0;
    for (guint t = 0; t < L * N; t++)
      count += mask[t];
    CU_ASSERT_EQUAL(count, hidden);
    CU_ASSERT_EQUAL(hidden, 360); /* round(0.75 × 480) */
    for (guint j = 0; j < N; j++) {
      guint all = 1, vis_limb = 0;
      for (guint l = 0; l < L; l++) {
        all &= mask[l * N + j];
        vis_limb += l < 6 && !mask[l * N + j];
      }
      full_cols += all;
      max_visible_limb = MAX(max_visible_limb, vis_limb);
    }
    for (guint l = 0; l < 6; l++) {
      guint all = 1;
      for (guint j = 0; j < N; j++)
        all &= mask[l * N + j];
      limb_rows += all;
    }
    /* 20 columns hidden across all leads (the fill may complete a few more). */
    CU_ASSERT(full_cols >= 20);
    CU_ASSERT(limb_rows >= 5);
    CU_ASSERT(max_visible_limb <= 1);
    guint64 masked = 0, rec = 0;
    stdm_count_recoverable(mask, L, N, limb12, &masked, &rec);
    CU_ASSERT(masked > 0);
    CU_ASSERT_EQUAL(rec, 0);
  }
  /* The same stream gives the same mask. */
  guint8 a[12 * 40], b[12 * 40];
  LetheRng r1, r2;
  lethe_rng_init(&r1, 9);
  lethe_rng_init(&r2, 9);
  stdm_mask(&p, L, N, limb12, &r1, a, NULL, &err);
  stdm_mask(&p, L, N, limb12, &r2, b, NULL, &err);
  CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);

  /* Random masking: exactly the target, anywhere. */
  p.mode = STDM_MODE_RANDOM;
  p.ratio = 0.6;
  guint hidden = 0;
  CU_ASSERT_TRUE(stdm_mask(&p, L, N, limb12, &r1, a, &hidden, &err));
  CU_ASSERT_EQUAL(hidden, 288);
}

static void
test_stdm_refuses_masks_that_hide_everything(void)
{
  StdmParams p;
  stdm_params_init(&p);
  guint8 mask[12 * 10];
  LetheRng rng;
  lethe_rng_init(&rng, 1);
  GError *err = NULL;
  p.ratio = 1.0;
  CU_ASSERT_FALSE(stdm_mask(&p, 12, 10, limb12, &rng, mask, NULL, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "would hide every one of the 120");
  p.ratio = 0.75;
  p.time_ratio = 1.0;
  CU_ASSERT_FALSE(stdm_mask(&p, 12, 10, limb12, &rng, mask, NULL, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "would hide every one");
  p.time_ratio = 0.5;
  p.rows = 12;
  p.limb_group = FALSE;
  CU_ASSERT_FALSE(stdm_mask(&p, 12, 10, limb12, &rng, mask, NULL, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "would hide every one");
  /* Columns 0.5 and 8 rows already hide 100 of 120 > 0.75 × 120 + 1. */
  p.limb_group = TRUE;
  p.rows = 8;
  CU_ASSERT_FALSE(stdm_mask(&p, 12, 10, limb12, &rng, mask, NULL, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "alone hide 100 of 120");
  /* A single token is one token too many to hide. */
  p.rows = 0;
  p.time_ratio = 0;
  p.ratio = 0.5;
  CU_ASSERT_FALSE(stdm_mask(&p, 1, 1, limb12 + 6, &rng, mask, NULL, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "would hide every one of the 1");
}

static void
test_ecg_leads_name_the_missing_ones(void)
{
  const char *names[] = {"I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", NULL};
  guint idx[12];
  GError *err = NULL;
  CU_ASSERT_FALSE(ecg_match_leads(names, 9, "aug", idx, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "lacks lead(s) v4, v5, v6");
  const char *other[] = {"v6",  "v5",  "v4",  "v3", "v2", "v1", "avf",
                         "avl", "avr", "iii", "ii", "i",  NULL};
  CU_ASSERT_TRUE(ecg_match_leads(other, 12, "aug", idx, &err));
  CU_ASSERT_EQUAL(idx[0], 11);
  CU_ASSERT_EQUAL(idx[6], 5);
  CU_ASSERT_FALSE(ecg_match_leads(NULL, 8, "aug", idx, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "has 8 leads and no 'leads' metadata");
}

/* ---- LUDB: the shortcut --------------------------------------------------- */

#define FS_OUT 250.0
#define PATCH  75 /* 0.3 s, as ST-MEM */
#define NP     33 /* patches in 10 s at 250 Hz */
#define NFEAT  (12 * PATCH + 12 + 1)

/* Records at 250 Hz, each lead's mean removed, one scale per record (so the
 * limb-lead identities hold exactly). */
static float *
prepare(const LudbRecord *r)
{
  gint64 n = signal_resample_length((gint64)r->n, r->fs, FS_OUT);
  g_assert(n >= NP * PATCH);
  float *x = g_new(float, 12 * NP * PATCH);
  g_autofree float *tmp = g_new(float, n);
  double ss = 0;
  for (guint l = 0; l < 12; l++) {
    signal_resample(r->x + l * r->n, (gint64)r->n, r->fs, FS_OUT, tmp, n);
    double mean = 0;
    for (gint64 t = 0; t < NP * PATCH; t++)
      mean += tmp[t];
    mean /= NP * PATCH;
    for (gint64 t = 0; t < NP * PATCH; t++) {
      x[l * NP * PATCH + t] = (float)(tmp[t] - mean);
      ss += (tmp[t] - mean) * (tmp[t] - mean);
    }
  }
  float scale = (float)(1.0 / sqrt(ss / (12.0 * NP * PATCH) + 1e-12));
  for (gsize i = 0; i < 12 * NP * PATCH; i++)
    x[i] *= scale;
  return x;
}

typedef struct {
  double *g[4], *b[4]; /* per target lead: XᵀX + λI, XᵀY */
  double sse, sst;
  guint64 masked_limb, recoverable, hidden, tokens;
} Shortcut;

/* The rows of one record for target lead @lead: its hidden patches, from
 * the visible patches of the same column (zero-filled) and the visibility
 * flags.  Returns the row count. */
static gsize
build_rows(const float *x, const guint8 *mask, guint lead, double *feat, double *target)
{
  gsize k = 0;
  for (guint j = 0; j < NP; j++) {
    if (!mask[lead * NP + j])
      continue;
    double *f = feat + k * NFEAT;
    for (guint l = 0; l < 12; l++) {
      gboolean vis = !mask[l * NP + j];
      for (guint t = 0; t < PATCH; t++)
        f[l * PATCH + t] = vis ? x[l * NP * PATCH + j * PATCH + t] : 0.0;
      f[12 * PATCH + l] = vis;
    }
    f[NFEAT - 1] = 1.0;
    for (guint t = 0; t < PATCH; t++)
      target[k * PATCH + t] = x[lead * NP * PATCH + j * PATCH + t];
    k++;
  }
  return k;
}

static void
measure_shortcut(GArray *recs, float **xs, const StdmParams *p, guint64 seed, Shortcut *s)
{
  guint R = recs->len, n_train = R * 4 / 5;
  g_autofree double *feat = g_new(double, NP *NFEAT);
  g_autofree double *target = g_new(double, NP *PATCH);
  g_autofree double *pred = g_new(double, NP *PATCH);
  guint8 masks[200][12 * NP];
  GError *err = NULL;
  for (guint i = 0; i < R; i++) {
    LetheRng rng;
    lethe_rng_init_stream(&rng, seed, i);
    guint hidden;
    g_assert(stdm_mask(p, 12, NP, limb12, &rng, masks[i], &hidden, &err));
    s->hidden += hidden;
    s->tokens += 12 * NP;
    stdm_count_recoverable(masks[i], 12, NP, limb12, &s->masked_limb, &s->recoverable);
  }
  for (guint q = 0; q < 4; q++) {
    guint lead = 2 + q; /* iii, avr, avl, avf */
    double *g = s->g[q] = g_new0(double, NFEAT *NFEAT);
    double *b = s->b[q] = g_new0(double, NFEAT *PATCH);
    for (guint i = 0; i < n_train; i++) {
      gsize k = build_rows(xs[i], masks[i], lead, feat, target);
      lethe_linalg_syrk_f64(g, NFEAT, NFEAT, feat, k, NFEAT, 1.0, 1.0);
      cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, NFEAT, PATCH, (int)k, 1.0, feat, NFEAT,
                  target, PATCH, 1.0, b, PATCH);
    }
    for (guint d = 0; d < NFEAT; d++)
      g[d * NFEAT + d] += 1.0; /* ridge λ = 1 (the data are standardised) */
    g_assert(lethe_linalg_solve_spd_f64(g, NFEAT, NFEAT, b, PATCH, PATCH, &err));
    /* Held-out subjects: SST about the held-out mean of this lead's patches. */
    double sum = 0, cnt = 0, sse = 0, ss = 0;
    for (guint i = n_train; i < R; i++) {
      gsize k = build_rows(xs[i], masks[i], lead, feat, target);
      for (gsize t = 0; t < k * PATCH; t++) {
        sum += target[t];
        ss += target[t] * target[t];
      }
      cnt += (double)(k * PATCH);
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)k, PATCH, NFEAT, 1.0, feat, NFEAT,
                  b, PATCH, 0.0, pred, PATCH);
      for (gsize t = 0; t < k * PATCH; t++)
        sse += (pred[t] - target[t]) * (pred[t] - target[t]);
    }
    s->sse += sse;
    s->sst += ss - sum * sum / MAX(cnt, 1);
    g_free(s->g[q]);
    g_free(s->b[q]);
  }
}

static void
test_stdm_on_ludb_leaves_no_limb_shortcut(void)
{
  g_autoptr(GArray) recs = ludb_load(0);
  if (recs == NULL) {
    CU_FAIL("LUDB missing");
    return;
  }
  guint R = recs->len;
  g_autofree float **xs = g_new(float *, R);
  for (guint i = 0; i < R; i++)
    xs[i] = prepare(&g_array_index(recs, LudbRecord, i));
  /* The limb leads span two dimensions in every record: each of III, aVR,
   * aVL, aVF is a least-squares combination of I and II with R² ≈ 1 (with
   * per-record coefficients: LUDB's header gains differ per lead). */
  double worst_r2 = 1, coef_iii[2] = {0, 0};
  for (guint i = 0; i < R; i++) {
    const float *x = xs[i], *l1 = x, *l2 = x + NP * PATCH;
    double s11 = 0, s22 = 0, s12 = 0;
    for (guint t = 0; t < NP * PATCH; t++) {
      s11 += (double)l1[t] * l1[t];
      s22 += (double)l2[t] * l2[t];
      s12 += (double)l1[t] * l2[t];
    }
    for (guint q = 2; q < 6; q++) {
      const float *y = x + q * NP * PATCH;
      double s1y = 0, s2y = 0, syy = 0, sse = 0;
      for (guint t = 0; t < NP * PATCH; t++) {
        s1y += (double)l1[t] * y[t];
        s2y += (double)l2[t] * y[t];
        syy += (double)y[t] * y[t];
      }
      double det = s11 * s22 - s12 * s12;
      double a1 = (s1y * s22 - s2y * s12) / det, a2 = (s2y * s11 - s1y * s12) / det;
      for (guint t = 0; t < NP * PATCH; t++) {
        double e = y[t] - a1 * l1[t] - a2 * l2[t];
        sse += e * e;
      }
      worst_r2 = MIN(worst_r2, 1 - sse / syy);
      if (i == 0 && q == 2) {
        coef_iii[0] = a1;
        coef_iii[1] = a2;
      }
    }
  }
  printf("\n    LUDB at 250 Hz, 12 x %d patches of %d samples; limb leads on I and II: worst R2 "
         "%.6f over 200 records x 4 leads; record 1: III = %.3f I + %.3f II",
         NP, PATCH, worst_r2, coef_iii[0], coef_iii[1]);
  CU_ASSERT(worst_r2 > 0.999);

  StdmParams random, dual, rows3;
  stdm_params_init(&random);
  random.mode = STDM_MODE_RANDOM;
  stdm_params_init(&dual);
  stdm_params_init(&rows3); /* the card's literal STDM: 50 % columns, 3 random rows */
  rows3.limb_group = FALSE;
  rows3.rows = 3;
  const char *names[3] = {"random patches 0.75", "STDM (limb group, default)",
                          "STDM, 3 random rows (card)"};
  const StdmParams *ps[3] = {&random, &dual, &rows3};
  Shortcut s[3] = {{{0}}};
  for (int c = 0; c < 3; c++) {
    measure_shortcut(recs, xs, ps[c], 11, &s[c]);
    printf(
        "\n    %-28s ratio %.4f  hidden limb patches exactly recoverable %.4f (%" G_GUINT64_FORMAT
        "/%" G_GUINT64_FORMAT ")  ridge R2 (held-out 40 subjects) %.4f",
        names[c], (double)s[c].hidden / s[c].tokens,
        (double)s[c].recoverable / MAX(s[c].masked_limb, 1), s[c].recoverable, s[c].masked_limb,
        1 - s[c].sse / s[c].sst);
  }
  printf("\n");
  double r2_random = 1 - s[0].sse / s[0].sst, r2_dual = 1 - s[1].sse / s[1].sst;
  double frac_random = (double)s[0].recoverable / s[0].masked_limb;
  CU_ASSERT(frac_random > 0.25 && frac_random < 0.45);
  CU_ASSERT_EQUAL(s[1].recoverable, 0);
  CU_ASSERT(fabs((double)s[1].hidden / s[1].tokens - 0.75) <= 0.05);
  CU_ASSERT(fabs((double)s[0].hidden / s[0].tokens - 0.75) <= 0.05);
  CU_ASSERT(r2_random > 0);
  CU_ASSERT(r2_dual <= 0.6 * r2_random);
  for (guint i = 0; i < R; i++)
    g_free(xs[i]);
}

LETHE_TEST_MAIN("stdm", LETHE_TEST(test_stdm_masks_hold_columns_rows_and_the_ratio),
                LETHE_TEST(test_stdm_refuses_masks_that_hide_everything),
                LETHE_TEST(test_ecg_leads_name_the_missing_ones),
                LETHE_TEST(test_stdm_on_ludb_leaves_no_limb_shortcut))
