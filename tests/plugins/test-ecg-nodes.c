/* Lethe — the fda and stdm nodes through the check harness: outputs,
 * reproducibility and bad input.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <lethe/check.h>
#include <lethe/lethe.h>
#include <math.h>

#define P(...) ((const char *[]){__VA_ARGS__, NULL})

static const char *const std_leads[12] = {"I",  "II", "III", "aVR", "aVL", "aVF",
                                          "V1", "V2", "V3",  "V4",  "V5",  "V6"};

/* R records of @n_leads synthetic leads (the first 12 standard names), n samples at @fs. */
static LetheFrame *
ecg_frame(gint64 R, gint64 n_leads, gint64 n, double fs)
{
  LetheFrame *f = lethe_frame_new();
  gint64 shape[3] = {R, n_leads, n};
  LetheTensor *x = lethe_tensor_new(LETHE_DTYPE_F32, 3, shape);
  float *d = lethe_tensor_f32(x);
  for (gint64 r = 0; r < R; r++)
    for (gint64 l = 0; l < n_leads; l++)
      for (gint64 t = 0; t < n; t++) {
        double ph = 2 * G_PI * 1.2 * t / fs;
        d[(r * n_leads + l) * n + t] = (float)((1 + 0.1 * l) * pow(fmax(0, sin(ph)), 20) +
                                               0.1 * sin(ph / 3 + l) + 0.01 * sin(0.9 * t + r));
      }
  lethe_frame_take_tensor(f, "x", x);
  LetheTensor *y = lethe_tensor_new_1d(LETHE_DTYPE_I32, R);
  lethe_frame_take_tensor(f, "y", y);
  lethe_frame_set_meta_double(f, "fs", fs);
  lethe_frame_set_meta(f, "leads", g_variant_new_strv(std_leads, n_leads));
  return f;
}

static LetheCheck *
harness(const char *type, const char *const *params)
{
  GError *err = NULL;
  LetheCheck *h = lethe_check_new_from_registry(NULL, type, params, &err);
  LETHE_ASSERT_NO_ERROR(err);
  return h;
}

static void
test_fda_node_emits_two_views_beside_the_raw_signal(void)
{
  GError *err = NULL;
  LetheFrame *outs[3];
  for (int k = 0; k < 3; k++) {
    g_autoptr(LetheCheck) h = harness("fda", P("crop=1.2"));
    lethe_check_set_seed(h, k < 2 ? 5 : 6);
    CU_ASSERT_TRUE_FATAL(lethe_check_push(h, "input", ecg_frame(3, 12, 1000, 500), &err));
    outs[k] = lethe_check_pull(h, "output");
    CU_ASSERT_PTR_NOT_NULL_FATAL(outs[k]);
  }
  LetheTensor *x = lethe_frame_get_tensor(outs[0], "x");
  LetheTensor *x1 = lethe_frame_get_tensor(outs[0], "x1");
  LetheTensor *x2 = lethe_frame_get_tensor(outs[0], "x2");
  CU_ASSERT_PTR_NOT_NULL_FATAL(x1);
  CU_ASSERT_PTR_NOT_NULL_FATAL(x2);
  CU_ASSERT_EQUAL(x->shape[2], 600);
  CU_ASSERT_TRUE(lethe_tensor_same_shape(x, x1) && lethe_tensor_same_shape(x, x2));
  CU_ASSERT_EQUAL(lethe_frame_get_tensor(outs[0], "crop-start")->shape[0], 3);
  gsize n = (gsize)lethe_tensor_n_elements(x);
  guint finite = 0, differ = 0;
  for (gsize i = 0; i < n; i++) {
    finite += isfinite(lethe_tensor_f32(x1)[i]) && isfinite(lethe_tensor_f32(x2)[i]);
    differ += lethe_tensor_f32(x1)[i] != lethe_tensor_f32(x2)[i];
  }
  CU_ASSERT_EQUAL(finite, n);
  CU_ASSERT(differ > n / 2);
  /* Same seed, same views; another seed, other views. */
  CU_ASSERT_EQUAL(
      memcmp(lethe_tensor_f32(x1), lethe_tensor_f32(lethe_frame_get_tensor(outs[1], "x1")), n * 4),
      0);
  CU_ASSERT_NOT_EQUAL(
      memcmp(lethe_tensor_f32(x1), lethe_tensor_f32(lethe_frame_get_tensor(outs[2], "x1")), n * 4),
      0);
  for (int k = 0; k < 3; k++)
    lethe_frame_unref(outs[k]);
}

static void
test_fda_node_refuses_nan_long_crops_and_rate_changes(void)
{
  GError *err = NULL;
  {
    g_autoptr(LetheCheck) h = harness("fda", NULL);
    LetheFrame *f = ecg_frame(2, 12, 500, 500);
    lethe_tensor_f32(lethe_frame_get_tensor(f, "x"))[(1 * 12 + 4) * 500 + 17] = NAN;
    CU_ASSERT_FALSE(lethe_check_push(h, "input", f, &err));
    LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID,
                       "holds NaN at record 1, lead aVL, sample 17");
  }
  {
    g_autoptr(LetheCheck) h = harness("fda", P("crop=2.5"));
    CU_ASSERT_FALSE(lethe_check_push(h, "input", ecg_frame(1, 12, 1000, 500), &err));
    LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID,
                       "crop = 2.5 s is 1250 samples at 500 Hz, but the records hold 1000");
  }
  {
    g_autoptr(LetheCheck) h = harness("fda", NULL);
    CU_ASSERT_TRUE(lethe_check_push(h, "input", ecg_frame(1, 12, 1000, 500), &err));
    CU_ASSERT_FALSE(lethe_check_push(h, "input", ecg_frame(1, 12, 1000, 250), &err));
    LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID,
                       "sampling rate 250 Hz differs from the stream's 500 Hz");
  }
  {
    g_autoptr(LetheCheck) h = harness("fda", P("rate-mismatch=resample"));
    CU_ASSERT_TRUE(lethe_check_push(h, "input", ecg_frame(1, 12, 1000, 500), &err));
    CU_ASSERT_TRUE(lethe_check_push(h, "input", ecg_frame(1, 12, 500, 250), &err));
    lethe_frame_unref(lethe_check_pull(h, "output"));
    g_autoptr(LetheFrame) out = lethe_check_pull(h, "output");
    /* The same span at 500 Hz: floor(499 × 2) + 1 samples. */
    CU_ASSERT_EQUAL(lethe_frame_get_tensor(out, "x1")->shape[2], 999);
    CU_ASSERT_DOUBLE_EQUAL(lethe_frame_get_meta_double(out, "fs", 0), 500, 0);
  }
}

static void
test_stdm_node_masks_both_views_without_limb_shortcut(void)
{
  GError *err = NULL;
  g_autoptr(LetheCheck) h = harness("stdm", P("patch=50"));
  g_autoptr(LetheCheck) f = harness("fda", NULL);
  CU_ASSERT_TRUE_FATAL(lethe_check_push(f, "input", ecg_frame(4, 12, 1000, 500), &err));
  CU_ASSERT_TRUE_FATAL(lethe_check_push(h, "input", lethe_check_pull(f, "output"), &err));
  g_autoptr(LetheFrame) out = lethe_check_pull(h, "output");
  CU_ASSERT_PTR_NOT_NULL_FATAL(out);
  for (int v = 0; v < 2; v++) {
    LetheTensor *m = lethe_frame_get_tensor(out, v ? "mask2" : "mask1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(m->shape[0], 4);
    CU_ASSERT_EQUAL(m->shape[1], 12);
    CU_ASSERT_EQUAL(m->shape[2], 20);
    const guint8 *d = lethe_tensor_u8(m);
    for (int r = 0; r < 4; r++) {
      guint hidden = 0, bad_columns = 0;
      for (int t = 0; t < 240; t++)
        hidden += d[r * 240 + t];
      for (int j = 0; j < 20; j++) {
        guint vis = 0;
        for (int l = 0; l < 6; l++)
          vis += !d[r * 240 + l * 20 + j];
        bad_columns += vis > 1;
      }
      CU_ASSERT_EQUAL(hidden, 180);
      CU_ASSERT_EQUAL(bad_columns, 0);
    }
  }
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(out, "n-patches", 0), 20);
  CU_ASSERT_PTR_NULL(lethe_frame_get_tensor(out, "mask"));
}

static void
test_stdm_node_refuses_missing_leads_full_masks_and_bad_patches(void)
{
  GError *err = NULL;
  {
    g_autoptr(LetheCheck) h = harness("stdm", NULL);
    CU_ASSERT_FALSE(lethe_check_push(h, "input", ecg_frame(1, 8, 1000, 500), &err));
    LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID,
                       "lacks lead(s) v3, v4, v5, v6 of the standard 12");
  }
  {
    g_autoptr(LetheCheck) h = harness("stdm", P("ratio=1"));
    CU_ASSERT_FALSE(lethe_check_push(h, "input", ecg_frame(1, 12, 1000, 500), &err));
    LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "would hide every one of the 240");
  }
  {
    g_autoptr(LetheCheck) h = harness("stdm", P("patch=75"));
    CU_ASSERT_FALSE(lethe_check_push(h, "input", ecg_frame(1, 12, 1000, 500), &err));
    LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID,
                       "1000 samples per lead, not a multiple of patch = 75");
  }
  {
    g_autoptr(LetheCheck) h = harness("stdm", P("patch=50"));
    CU_ASSERT_TRUE(lethe_check_push(h, "input", ecg_frame(1, 12, 1000, 500), &err));
    CU_ASSERT_FALSE(lethe_check_push(h, "input", ecg_frame(1, 12, 1000, 360), &err));
    LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "360 Hz differs");
  }
}

static void
test_probe_node_scores_embeddings_by_subject(void)
{
  GError *err = NULL;
  gint64 n = 120, d = 4;
  LetheFrame *f = lethe_frame_new();
  LetheTensor *z = lethe_tensor_new_2d(LETHE_DTYPE_F32, n, d);
  LetheTensor *y = lethe_tensor_new_1d(LETHE_DTYPE_I32, n);
  LetheTensor *s = lethe_tensor_new_1d(LETHE_DTYPE_I64, n);
  for (gint64 i = 0; i < n; i++) {
    lethe_tensor_i32(y)[i] = (gint32)(i % 2);
    lethe_tensor_i64(s)[i] = i / 3;
    for (gint64 j = 0; j < d; j++)
      lethe_tensor_f32(z)[i * d + j] =
          (float)(sin(i * 7.1 + j * 3.3) + (j == 0 ? 2.0 * (i % 2) : 0));
  }
  lethe_frame_take_tensor(f, "z", z);
  lethe_frame_take_tensor(f, "y", y);
  lethe_frame_take_tensor(f, "subject", s);
  {
    g_autoptr(LetheCheck) h = harness("probe", P("folds=4"));
    CU_ASSERT_TRUE_FATAL(lethe_check_push(h, "data", lethe_frame_ref(f), &err));
    g_autoptr(LetheFrame) out = lethe_check_pull(h, "metrics");
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    double auroc = lethe_tensor_f64(lethe_frame_get_tensor(out, "probe_auroc"))[0];
    double f1 = lethe_tensor_f64(lethe_frame_get_tensor(out, "probe_macro_f1"))[0];
    CU_ASSERT(auroc > 0.9 && auroc <= 1.0);
    CU_ASSERT(f1 > 0.8 && f1 <= 1.0);
    CU_ASSERT_EQUAL(lethe_check_get_metrics(h)->len, 2);
  }
  {
    g_autoptr(LetheCheck) h = harness("probe", P("folds=50"));
    CU_ASSERT_FALSE(lethe_check_push(h, "data", lethe_frame_ref(f), &err));
    LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "40 subjects cannot fill 50 folds");
  }
  lethe_frame_remove_tensor(f, "z");
  {
    g_autoptr(LetheCheck) h = harness("probe", NULL);
    CU_ASSERT_FALSE(lethe_check_push(h, "data", f, &err));
    LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_SCHEMA, "no features");
  }
}

LETHE_TEST_MAIN("ecg-nodes", LETHE_TEST(test_fda_node_emits_two_views_beside_the_raw_signal),
                LETHE_TEST(test_fda_node_refuses_nan_long_crops_and_rate_changes),
                LETHE_TEST(test_stdm_node_masks_both_views_without_limb_shortcut),
                LETHE_TEST(test_stdm_node_refuses_missing_leads_full_masks_and_bad_patches),
                LETHE_TEST(test_probe_node_scores_embeddings_by_subject))
