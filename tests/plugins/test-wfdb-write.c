/* Lethe — the WFDB writer: round trips through the reader, and the
 * FDA/STDM preview pipeline writing LUDB views back as records.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <math.h>

#include <glib/gstdio.h>
#include <lethe/error.h>

#include "lethe-test.h"
#include "wfdb-record.h"
#include "wfdb-write.h"

static void
test_wfdb_write_round_trips_through_the_reader(void)
{
  g_autofree char *dir = g_dir_make_tmp("lethe-wfdbw-XXXXXX", NULL);
  gint64 n = 700;
  g_autofree float *x = g_new(float, 3 * n);
  for (gint64 t = 0; t < n; t++) {
    x[t] = (float)sin(t * 0.05);
    x[n + t] = (float)(2.5 * cos(t * 0.01));
    x[2 * n + t] = t == 5 ? 40.0f : -0.0004f * t; /* one sample beyond ±32.767 mV */
  }
  const char *leads[] = {"i", "ii", "v1"};
  const char *comments[] = {"made by a test", NULL};
  GError *err = NULL;
  gint64 clipped = -1;
  CU_ASSERT_TRUE(
      wfdb_write_record(dir, "rec_1", x, 3, n, 250, leads, 1000, comments, &clipped, &err));
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_EQUAL(clipped, 1);
  g_autofree char *hea = g_build_filename(dir, "rec_1.hea", NULL);
  g_autoptr(WfdbSource) src = wfdb_source_open(hea, NULL, &err);
  LETHE_ASSERT_NO_ERROR(err);
  /* wfdb_record_load checks the sample count and every checksum. */
  g_autoptr(WfdbRecord) r = wfdb_record_load(src, wfdb_source_get_records(src)->pdata[0], &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_EQUAL(r->header->n_signals, 3);
  CU_ASSERT_EQUAL(r->n_samples, n);
  CU_ASSERT_DOUBLE_EQUAL(r->header->fs, 250, 0);
  CU_ASSERT_STRING_EQUAL(r->header->signals[2].description, "v1");
  CU_ASSERT_STRING_EQUAL(r->header->comments->pdata[0], "made by a test");
  double worst = 0;
  for (gint64 i = 0; i < 3 * n; i++)
    if (i != 2 * n + 5)
      worst = MAX(worst, fabs(r->physical[i] - x[i]));
  CU_ASSERT(worst <= 0.0005 + 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(r->physical[2 * n + 5], 32.767, 1e-5);

  CU_ASSERT_FALSE(wfdb_write_record(dir, "bad name", x, 1, n, 250, NULL, 1000, NULL, NULL, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "letters, digits and '_' only");
}

static void
test_preview_pipeline_writes_views_and_masks_of_ludb(void)
{
  const char *root = g_getenv("LETHE_SOURCE_ROOT"), *build = g_getenv("LETHE_BUILD_ROOT");
  const char *shared = g_getenv("LETHE_SHARED_DATA");
  g_autofree char *zip = shared ? g_build_filename(shared, "ecg", "ludb-1.0.1.zip", NULL) : NULL;
  if (zip == NULL || !g_file_test(zip, G_FILE_TEST_EXISTS)) {
    fprintf(stderr, "\n  SKIP: LETHE_SHARED_DATA/ecg/ludb-1.0.1.zip is missing\n");
    CU_FAIL("LUDB missing");
    return;
  }
  g_autofree char *out = g_dir_make_tmp("lethe-preview-XXXXXX", NULL);
  g_autofree char *lethe = g_build_filename(build, "core", "tools", "lethe", NULL);
  g_autofree char *file = g_build_filename(root, "pipelines", "fda-stdm-preview.lethe", NULL);
  g_autofree char *path = g_strdup_printf("ludb.path=%s", zip);
  const char *argv[] = {lethe, "run", "-q", "-o", out, file, path, NULL};
  g_autofree char *so = NULL, *se = NULL;
  int status = -1;
  GError *err = NULL;
  CU_ASSERT_TRUE_FATAL(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &so,
                                    &se, &status, &err));
  if (status != 0)
    fprintf(stderr, "\n%s\n%s\n", so, se);
  CU_ASSERT_EQUAL_FATAL(status, 0);

  g_autofree char *dir = g_build_filename(out, "preview", NULL);
  g_autoptr(WfdbSource) src = wfdb_source_open(dir, NULL, &err);
  LETHE_ASSERT_NO_ERROR(err);
  /* 3 records × (x, x1, x2, x1 masked, x2 masked). */
  CU_ASSERT_EQUAL(wfdb_source_get_records(src)->len, 15);
  g_autoptr(WfdbRecord) raw = wfdb_record_load(src, "r0_1_x", &err);
  LETHE_ASSERT_NO_ERROR(err);
  g_autoptr(WfdbRecord) v1 = wfdb_record_load(src, "r0_1_x1", &err);
  g_autoptr(WfdbRecord) m1 = wfdb_record_load(src, "r0_1_x1_masked", &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_EQUAL(raw->header->n_signals, 12);
  CU_ASSERT_EQUAL(raw->n_samples, 2500); /* crop = 5 s at 500 Hz */
  CU_ASSERT_STRING_EQUAL(raw->header->signals[11].description, "v6");
  /* The masked view: whole 125-sample patches at 0, 75 % of them. */
  guint hidden = 0, tokens = 0, differ = 0;
  for (guint l = 0; l < 12; l++)
    for (guint j = 0; j < 20; j++) {
      gboolean zero = TRUE;
      for (guint t = 0; t < 125; t++) {
        gsize i = l * 2500 + j * 125 + t;
        zero &= m1->physical[i] == 0.0f;
      }
      hidden += zero;
      tokens++;
    }
  for (gsize i = 0; i < 12 * 2500; i++)
    differ += fabsf(v1->physical[i] - raw->physical[i]) > 0.002f;
  CU_ASSERT_EQUAL(hidden, 180);
  CU_ASSERT(differ > 1000);
  g_autofree char *cleanup = g_strdup_printf("rm -rf '%s'", out);
  CU_ASSERT_EQUAL(system(cleanup), 0);
}

LETHE_TEST_MAIN("wfdb-write", LETHE_TEST(test_wfdb_write_round_trips_through_the_reader),
                LETHE_TEST(test_preview_pipeline_writes_views_and_masks_of_ludb))
