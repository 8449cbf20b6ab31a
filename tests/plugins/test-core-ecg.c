/* Lethe — the core-ecg learner on a few LUDB records: the loss decreases,
 * the encoder frame runs through lethe_model_forward(), the probe reads it,
 * and bad input is refused.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <lethe/check.h>
#include <lethe/lethe.h>
#include <math.h>

#define P(...) ((const char *[]){__VA_ARGS__, NULL})

static LetheFrame *
ludb_frame(const char *records, const char *extra)
{
  const char *d = g_getenv("LETHE_SHARED_DATA");
  g_autofree char *zip = d ? g_build_filename(d, "ecg", "ludb-1.0.1.zip", NULL) : NULL;
  if (zip == NULL || !g_file_test(zip, G_FILE_TEST_EXISTS)) {
    fprintf(stderr, "\n  SKIP: LETHE_SHARED_DATA/ecg/ludb-1.0.1.zip is missing\n");
    return NULL;
  }
  g_autofree char *path = g_strdup_printf("path=%s", zip);
  g_autofree char *rec = g_strdup_printf("records=%s", records);
  GError *err = NULL;
  g_autoptr(LetheCheck) h =
      lethe_check_new_from_registry(NULL, "wfdb-source",
                                    P(path, rec, "leads=i,ii,iii,avr,avl,avf,v1,v2,v3,v4,v5,v6",
                                      "bandpass=0.67,40", extra ? extra : "nan=refuse"),
                                    &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_TRUE_FATAL(lethe_check_run_source(h, 0, &err));
  return lethe_check_pull(h, "data");
}

static double
metric(LetheCheck *h, const char *name, gint64 step)
{
  GPtrArray *m = lethe_check_get_metrics(h);
  for (guint i = 0; i < m->len; i++) {
    LetheMetric *x = m->pdata[i];
    if (g_str_equal(x->name, name) && x->step == step)
      return x->value;
  }
  return NAN;
}

static void
test_core_ecg_loss_decreases_and_the_encoder_embeds(void)
{
  g_autoptr(LetheFrame) data = ludb_frame("1?,2?", NULL); /* 20 records */
  if (data == NULL) {
    CU_FAIL("LUDB missing");
    return;
  }
  GError *err = NULL;
  LetheFrame *models[2];
  for (int k = 0; k < 2; k++) {
    g_autoptr(LetheCheck) h = lethe_check_new_from_registry(
        NULL, "core-ecg", P("epochs=10", "batch=10", "dim=32", "dec-dim=32"), &err);
    LETHE_ASSERT_NO_ERROR(err);
    lethe_check_set_seed(h, 3);
    CU_ASSERT_TRUE_FATAL(lethe_check_push(h, "input", lethe_frame_ref(data), &err));
    models[k] = lethe_check_pull(h, "model");
    CU_ASSERT_PTR_NOT_NULL_FATAL(models[k]);
    if (k == 0) {
      double first = (metric(h, "loss", 0) + metric(h, "loss", 1)) / 2;
      double last = (metric(h, "loss", 8) + metric(h, "loss", 9)) / 2;
      printf("\n    loss: epochs 1-2 %.4f, epochs 9-10 %.4f (rec %.4f -> %.4f, con %.4f -> %.4f)",
             first, last, metric(h, "loss_rec", 0), metric(h, "loss_rec", 9),
             metric(h, "loss_con", 0), metric(h, "loss_con", 9));
      CU_ASSERT(isfinite(first) && isfinite(last));
      CU_ASSERT(last < first);
    }
  }
  LetheFrame *m = models[0];
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(m, "model-kind", ""), "core-ecg");
  CU_ASSERT_PTR_NOT_NULL(lethe_frame_get_tensor(m, "enc.patch.w"));
  CU_ASSERT_PTR_NULL(lethe_frame_get_tensor(m, "dec.out.w"));
  CU_ASSERT_PTR_NULL(lethe_frame_get_tensor(m, "proj.fc1.w"));

  LetheTensor *x = lethe_frame_get_tensor(data, "x");
  g_autoptr(LetheTensor) z = NULL, z2 = NULL;
  CU_ASSERT_TRUE_FATAL(lethe_model_forward(m, x, &z, &err));
  CU_ASSERT_TRUE_FATAL(lethe_model_forward(models[1], x, &z2, &err));
  CU_ASSERT_EQUAL(z->shape[0], x->shape[0]);
  CU_ASSERT_EQUAL(z->shape[1], 32);
  guint finite = 0;
  for (gint64 i = 0; i < lethe_tensor_n_elements(z); i++)
    finite += isfinite(lethe_tensor_f32(z)[i]) != 0;
  CU_ASSERT_EQUAL(finite, lethe_tensor_n_elements(z));
  /* Same seed, same encoder. */
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_f32(z), lethe_tensor_f32(z2), lethe_tensor_n_bytes(z)), 0);

  /* The probe embeds the data with the model and scores it. */
  g_autoptr(LetheCheck) p = lethe_check_new_from_registry(NULL, "probe", P("folds=2"), &err);
  LETHE_ASSERT_NO_ERROR(err);
  g_autoptr(LetheFrame) labelled = lethe_frame_copy(data);
  LetheTensor *y = lethe_tensor_new_1d(LETHE_DTYPE_I32, x->shape[0]);
  for (gint64 i = 0; i < x->shape[0]; i++)
    lethe_tensor_i32(y)[i] = (gint32)(i % 2);
  lethe_frame_take_tensor(labelled, "y", y);
  /* The model first: an optional input counts as connected from its first push. */
  CU_ASSERT_TRUE_FATAL(lethe_check_push(p, "model", lethe_frame_ref(m), &err));
  CU_ASSERT_TRUE_FATAL(lethe_check_push(p, "data", lethe_frame_ref(labelled), &err));
  g_autoptr(LetheFrame) scores = lethe_check_pull(p, "metrics");
  CU_ASSERT_PTR_NOT_NULL_FATAL(scores);
  double auroc = lethe_tensor_f64(lethe_frame_get_tensor(scores, "probe_auroc"))[0];
  CU_ASSERT(auroc >= 0 && auroc <= 1);
  lethe_frame_unref(models[0]);
  lethe_frame_unref(models[1]);
}

static void
test_core_ecg_refuses_short_records_missing_leads_and_nan(void)
{
  g_autoptr(LetheFrame) data = ludb_frame("1,2,3", NULL);
  if (data == NULL) {
    CU_FAIL("LUDB missing");
    return;
  }
  GError *err = NULL;
  {
    g_autoptr(LetheCheck) h =
        lethe_check_new_from_registry(NULL, "core-ecg", P("epochs=1", "crop=12.5"), &err);
    CU_ASSERT_FALSE(lethe_check_push(h, "input", lethe_frame_ref(data), &err));
    LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID,
                       "crop = 12.5 s (6250 samples) is longer than the records (5000 samples");
  }
  {
    g_autoptr(LetheCheck) h = lethe_check_new_from_registry(NULL, "core-ecg", P("epochs=1"), &err);
    g_autoptr(LetheFrame) few = lethe_frame_copy(data);
    const char *leads[] = {"i",  "ii", "iii", "avr", "avl", "avf",
                           "v1", "v2", "v3",  "v4",  "v5",  "v7"};
    lethe_frame_set_meta(few, "leads", g_variant_new_strv(leads, 12));
    CU_ASSERT_FALSE(lethe_check_push(h, "input", lethe_frame_ref(few), &err));
    LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID,
                       "lacks lead(s) v6 of the standard 12 (it has i, ii");
  }
  {
    g_autoptr(LetheCheck) h = lethe_check_new_from_registry(NULL, "core-ecg", P("epochs=1"), &err);
    g_autoptr(LetheFrame) bad = lethe_frame_copy(data);
    LetheTensor *x = lethe_frame_make_tensor_writable(bad, "x");
    lethe_tensor_f32(x)[(2 * 12 + 1) * 5000 + 4321] = NAN;
    CU_ASSERT_FALSE(lethe_check_push(h, "input", lethe_frame_ref(bad), &err));
    LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID,
                       "holds NaN at record 2, lead ii, sample 4321");
  }
}

LETHE_TEST_MAIN("core-ecg", LETHE_TEST(test_core_ecg_loss_decreases_and_the_encoder_embeds),
                LETHE_TEST(test_core_ecg_refuses_short_records_missing_leads_and_nan))
