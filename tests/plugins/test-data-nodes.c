/* Lethe — the data source nodes (idx-source, wfdb-source, csv-source)
 * through the check harness, on the real files: the frame they emit,
 * what each parameter does, and the errors bad input gives.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <glib/gstdio.h>
#include <lethe/check.h>
#include <lethe/lethe.h>
#include <math.h>

#define P(...) ((const char *[]){__VA_ARGS__, NULL})

/* Runs a source node to its end and returns its one frame, or NULL with
 * @error set.  The stream must end after that frame. */
static LetheFrame *
run_source(const char *type, const char *const *params, GError **error)
{
  g_autoptr(LetheCheck) h = lethe_check_new_from_registry(NULL, type, params, error);
  if (h == NULL)
    return NULL;
  if (!lethe_check_run_source(h, 4, error))
    return NULL;
  const char *port = "data";
  LetheFrame *f = lethe_check_pull(h, port);
  CU_ASSERT_PTR_NOT_NULL(f);
  CU_ASSERT_EQUAL(lethe_check_get_n_pending(h, port), 0);
  CU_ASSERT_TRUE(lethe_check_is_eos(h, port));
  CU_ASSERT_EQUAL(lethe_check_get_n_firings(h), 1);
  return f;
}

static LetheFrame *
must_run(const char *type, const char *const *params)
{
  GError *err = NULL;
  LetheFrame *f = run_source(type, params, &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  return f;
}

/* Fails with @needle (and the node's name) in the message. */
static void
expect_error(const char *type, const char *const *params, gint code, const char *needle)
{
  GError *err = NULL;
  LetheFrame *f = run_source(type, params, &err);
  CU_ASSERT_PTR_NULL(f);
  if (f)
    lethe_frame_unref(f);
  CU_ASSERT_PTR_NOT_NULL_FATAL(err);
  CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "check"));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, code, needle);
}

static LetheTensor *
tensor(LetheFrame *f, const char *name, LetheDType dtype, guint rank)
{
  LetheTensor *t = lethe_frame_get_tensor(f, name);
  CU_ASSERT_PTR_NOT_NULL_FATAL(t);
  CU_ASSERT_EQUAL(t->dtype, dtype);
  CU_ASSERT_EQUAL_FATAL(t->rank, rank);
  return t;
}

/* The strings of a strv metadata key, or NULL. */
static const char **
meta_strv(LetheFrame *f, const char *key, gsize *n)
{
  GVariant *v = lethe_frame_get_meta(f, key);
  CU_ASSERT_PTR_NOT_NULL_FATAL(v);
  CU_ASSERT_TRUE_FATAL(g_variant_is_of_type(v, G_VARIANT_TYPE_STRING_ARRAY));
  return g_variant_get_strv(v, n);
}

static char *
shared(const char *rel)
{
  const char *d = lethe_test_shared_data();
  return d ? g_build_filename(d, "ecg", rel, NULL) : NULL;
}

static char *
param(const char *key, const char *value)
{
  return g_strdup_printf("%s=%s", key, value);
}

/* ---- idx-source ---------------------------------------------------------- */

static gboolean
have_fmnist(void)
{
  if (g_file_test(LETHE_FMNIST_DIR "/train-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS))
    return TRUE;
  CU_FAIL("Fashion-MNIST is missing: install the Debian package dataset-fashion-mnist");
  return FALSE;
}

static void
test_idx_source_emits_fashion_mnist_with_its_class_names(void)
{
  if (!have_fmnist())
    return;
  g_autoptr(LetheFrame) f = must_run("idx-source", P("limit=100"));
  LetheTensor *x = tensor(f, "x", LETHE_DTYPE_F32, 4);
  LetheTensor *y = tensor(f, "y", LETHE_DTYPE_I32, 1);
  LetheTensor *ids = tensor(f, "ids", LETHE_DTYPE_I64, 1);
  CU_ASSERT_TRUE(x->shape[0] == 100 && x->shape[1] == 1 && x->shape[2] == 28 && x->shape[3] == 28);
  CU_ASSERT_EQUAL(y->shape[0], 100);
  CU_ASSERT_EQUAL(ids->shape[0], 100);
  /* The first training labels of Fashion-MNIST, and its first image's
   * pixel sum (76247) and centre pixel (217), read with Python's gzip. */
  const gint32 first[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
  for (int i = 0; i < 10; i++)
    CU_ASSERT_EQUAL(lethe_tensor_i32(y)[i], first[i]);
  double sum = 0;
  float mx = 0;
  for (int i = 0; i < 784; i++) {
    sum += lethe_tensor_f32(x)[i];
    mx = MAX(mx, lethe_tensor_f32(x)[i]);
  }
  CU_ASSERT_DOUBLE_EQUAL(sum, 76247.0 / 255.0, 1e-3);
  CU_ASSERT_DOUBLE_EQUAL(mx, 1.0, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(x)[14 * 28 + 14], 217.0f / 255.0f, 1e-7);
  for (int i = 0; i < 100; i++)
    CU_ASSERT_EQUAL(lethe_tensor_i64(ids)[i], i);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(f, "dataset", ""), "fashion-mnist");
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(f, "split", ""), "train");
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(f, "n-classes", 0), 10);
  gsize n = 0;
  g_autofree const char **names = meta_strv(f, "class-names", &n);
  CU_ASSERT_EQUAL_FATAL(n, 10);
  CU_ASSERT_STRING_EQUAL(names[0], "T-shirt/top");
  CU_ASSERT_STRING_EQUAL(names[9], "Ankle boot");
  CU_ASSERT_PTR_NOT_NULL(
      strstr(lethe_frame_get_meta_string(f, "source", ""), "train-images-idx3-ubyte.gz"));
}

static void
test_idx_source_normalize_shape_and_split(void)
{
  if (!have_fmnist())
    return;
  g_autoptr(LetheFrame) a = must_run("idx-source", P("limit=50"));
  g_autoptr(LetheFrame) raw = must_run("idx-source", P("limit=50", "normalize=false"));
  g_autoptr(LetheFrame) flat = must_run("idx-source", P("limit=50", "shape=flat"));
  LetheTensor *xa = lethe_frame_get_tensor(a, "x");
  LetheTensor *xr = tensor(raw, "x", LETHE_DTYPE_F32, 4);
  LetheTensor *xf = tensor(flat, "x", LETHE_DTYPE_F32, 2);
  CU_ASSERT_TRUE(xf->shape[0] == 50 && xf->shape[1] == 784);
  guint mismatches = 0, non_integer = 0;
  for (gint64 i = 0; i < 50 * 784; i++) {
    float va = lethe_tensor_f32(xa)[i], vr = lethe_tensor_f32(xr)[i];
    mismatches += fabsf(va * 255.0f - vr) > 1e-3f || lethe_tensor_f32(xf)[i] != va;
    non_integer += vr != floorf(vr) || vr < 0 || vr > 255;
  }
  CU_ASSERT_EQUAL(mismatches, 0);
  CU_ASSERT_EQUAL(non_integer, 0);

  /* The test split: all 10,000 images, its own first labels. */
  g_autoptr(LetheFrame) t = must_run("idx-source", P("split=test"));
  LetheTensor *yt = tensor(t, "y", LETHE_DTYPE_I32, 1);
  CU_ASSERT_EQUAL(yt->shape[0], 10000);
  CU_ASSERT_EQUAL(lethe_frame_get_tensor(t, "x")->shape[0], 10000);
  const gint32 first[5] = {9, 2, 1, 1, 6};
  for (int i = 0; i < 5; i++)
    CU_ASSERT_EQUAL(lethe_tensor_i32(yt)[i], first[i]);
  gint64 count[10] = {0};
  for (gint64 i = 0; i < 10000; i++)
    count[lethe_tensor_i32(yt)[i]]++;
  for (int c = 0; c < 10; c++)
    CU_ASSERT_EQUAL(count[c], 1000);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(t, "split", ""), "test");
}

static void
test_idx_source_with_explicit_files_names_them(void)
{
  if (!have_fmnist())
    return;
  g_autoptr(LetheFrame) f =
      must_run("idx-source", P("images=" LETHE_FMNIST_DIR "/t10k-images-idx3-ubyte.gz",
                               "labels=" LETHE_FMNIST_DIR "/t10k-labels-idx1-ubyte.gz", "limit=7"));
  CU_ASSERT_EQUAL(lethe_frame_get_tensor(f, "x")->shape[0], 7);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(f, "dataset", ""),
                         "t10k-images-idx3-ubyte.gz");
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(f, "split", "?"), "");
  /* Labels 9 2 1 1 6 1 4: largest + 1. */
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(f, "n-classes", 0), 10);
  CU_ASSERT_PTR_NULL(lethe_frame_get_meta(f, "class-names"));
}

static void
test_idx_source_bad_files_are_named(void)
{
  if (!have_fmnist())
    return;
  expect_error("idx-source",
               P("images=" LETHE_FMNIST_DIR "/train-images-idx3-ubyte.gz",
                 "labels=" LETHE_FMNIST_DIR "/t10k-labels-idx1-ubyte.gz"),
               LETHE_ERROR_INVALID, "holds 60000 images but " LETHE_FMNIST_DIR);
  expect_error("idx-source",
               P("images=" LETHE_FMNIST_DIR "/train-labels-idx1-ubyte.gz",
                 "labels=" LETHE_FMNIST_DIR "/train-labels-idx1-ubyte.gz"),
               LETHE_ERROR_INVALID,
               "images file " LETHE_FMNIST_DIR "/train-labels-idx1-ubyte.gz has rank 1");
  /* The test labels start 9, 2, 1: item 0, right after the 8-byte header. */
  expect_error("idx-source", P("split=test", "classes=5"), LETHE_ERROR_INVALID,
               "t10k-labels-idx1-ubyte.gz: label 9 of item 0 (byte offset 8) is outside [0, 5)");

  /* A truncated gzip copy and a file that is not IDX at all. */
  g_autofree char *dir = g_dir_make_tmp("lethe-idx-XXXXXX", NULL);
  g_autofree char *contents = NULL;
  gsize len = 0;
  CU_ASSERT_TRUE_FATAL(
      g_file_get_contents(LETHE_FMNIST_DIR "/t10k-images-idx3-ubyte.gz", &contents, &len, NULL));
  g_autofree char *cut = g_build_filename(dir, "cut-images.gz", NULL);
  g_autofree char *junk = g_build_filename(dir, "junk-labels", NULL);
  CU_ASSERT_TRUE_FATAL(g_file_set_contents(cut, contents, (gssize)(len / 2), NULL));
  CU_ASSERT_TRUE_FATAL(g_file_set_contents(junk, "not an IDX file at all", -1, NULL));
  g_autofree char *p_cut = param("images", cut);
  g_autofree char *p_junk = param("labels", junk);
  g_autofree char *p_labels = param("labels", LETHE_FMNIST_DIR "/t10k-labels-idx1-ubyte.gz");
  expect_error("idx-source", P(p_cut, p_labels), LETHE_ERROR_PARSE, cut);
  expect_error("idx-source", P(p_cut, p_labels), LETHE_ERROR_PARSE,
               "corrupt or truncated data near byte");
  g_autofree char *p_images = param("images", LETHE_FMNIST_DIR "/t10k-images-idx3-ubyte.gz");
  expect_error("idx-source", P(p_images, p_junk), LETHE_ERROR_PARSE, junk);
  expect_error("idx-source", P("images=/nonexistent/images.gz", p_labels), LETHE_ERROR_NOT_FOUND,
               "/nonexistent/images.gz");
  g_unlink(cut);
  g_unlink(junk);
  g_rmdir(dir);
}

/* ---- wfdb-source --------------------------------------------------------- */

#define LUDB_12 "records=1,2,3,4,5,6,7,8,9,10,11,12"

static void
test_wfdb_source_reads_ludb_from_its_zip(void)
{
  g_autofree char *zip = shared("ludb-1.0.1.zip");
  if (zip == NULL) {
    CU_FAIL("the shared data folder (LUDB) is missing");
    return;
  }
  g_autofree char *p = param("path", zip);
  g_autoptr(LetheFrame) f = must_run("wfdb-source", P(p, LUDB_12, "labels-from=header:Rhythm"));
  LetheTensor *x = tensor(f, "x", LETHE_DTYPE_F32, 3);
  CU_ASSERT_TRUE(x->shape[0] == 12 && x->shape[1] == 12 && x->shape[2] == 5000);
  CU_ASSERT_DOUBLE_EQUAL(lethe_frame_get_meta_double(f, "fs", 0), 500, 0);
  CU_ASSERT_DOUBLE_EQUAL(lethe_frame_get_meta_double(f, "window", 0), 10, 1e-12);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(f, "dataset", ""), "ludb-1.0.1.zip");
  gsize n = 0;
  g_autofree const char **leads = meta_strv(f, "leads", &n);
  CU_ASSERT_EQUAL_FATAL(n, 12);
  CU_ASSERT_STRING_EQUAL(leads[0], "i");
  CU_ASSERT_STRING_EQUAL(leads[11], "v6");
  g_autofree const char **records = meta_strv(f, "records", &n);
  CU_ASSERT_EQUAL_FATAL(n, 12);
  CU_ASSERT_STRING_EQUAL(records[0], "1");
  CU_ASSERT_STRING_EQUAL(records[9], "10"); /* natural order */
  /* Rhythms of records 1–12 in their headers: sorted class names. */
  g_autofree const char **classes = meta_strv(f, "class-names", &n);
  CU_ASSERT_EQUAL_FATAL(n, 3);
  CU_ASSERT_STRING_EQUAL(classes[0], "Atrial fibrillation");
  CU_ASSERT_STRING_EQUAL(classes[1], "Sinus bradycardia");
  CU_ASSERT_STRING_EQUAL(classes[2], "Sinus rhythm");
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(f, "n-classes", 0), 3);
  const gint32 want[12] = {1, 2, 2, 2, 2, 1, 2, 0, 2, 2, 2, 1};
  LetheTensor *y = tensor(f, "y", LETHE_DTYPE_I32, 1);
  for (int i = 0; i < 12; i++) {
    CU_ASSERT_EQUAL(lethe_tensor_i32(y)[i], want[i]);
    CU_ASSERT_EQUAL(lethe_tensor_i64(tensor(f, "ids", LETHE_DTYPE_I64, 1))[i], i);
    CU_ASSERT_EQUAL(lethe_tensor_i64(tensor(f, "subject", LETHE_DTYPE_I64, 1))[i], i);
    CU_ASSERT_EQUAL(lethe_tensor_i64(tensor(f, "record", LETHE_DTYPE_I64, 1))[i], i);
    CU_ASSERT_EQUAL(lethe_tensor_i64(tensor(f, "start", LETHE_DTYPE_I64, 1))[i], 0);
    CU_ASSERT_EQUAL(lethe_tensor_i32(tensor(f, "group", LETHE_DTYPE_I32, 1))[i], 0);
  }
  /* Record 1's first samples, from its header's "initial value" column:
   * lead i 1716(6)/mV, initial −120; lead v6 1457(1)/mV, initial −25. */
  const float *d = lethe_tensor_f32(x);
  CU_ASSERT_DOUBLE_EQUAL(d[0], (-120.0 - 6.0) / 1716.0, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(d[11 * 5000], (-25.0 - 1.0) / 1457.0, 1e-6);
  /* Record 2 is another person's signal. */
  CU_ASSERT_NOT_EQUAL(memcmp(d, d + 12 * 5000, 5000 * sizeof(float)), 0);
}

static void
test_wfdb_source_labels_from_ludb_csv_agree_with_the_headers(void)
{
  g_autofree char *zip = shared("ludb-1.0.1.zip");
  if (zip == NULL) {
    CU_FAIL("the shared data folder (LUDB) is missing");
    return;
  }
  g_autofree char *p = param("path", zip);
  const char *const recs = "records=1,2,3,4,5,6,7,8,9,10,11,12,109,140";
  g_autoptr(LetheFrame) h =
      must_run("wfdb-source", P(p, recs, "leads=ii", "labels-from=header:Rhythm"));
  g_autoptr(LetheFrame) c = must_run(
      "wfdb-source", P(p, recs, "leads=ii", "labels-from=csv:ludb.csv", "label-column=Rhythms"));
  gsize nh = 0, nc = 0;
  g_autofree const char **ch = meta_strv(h, "class-names", &nh);
  g_autofree const char **cc = meta_strv(c, "class-names", &nc);
  LetheTensor *yh = lethe_frame_get_tensor(h, "y"), *yc = lethe_frame_get_tensor(c, "y");
  CU_ASSERT_EQUAL_FATAL(yh->shape[0], 14);
  CU_ASSERT_EQUAL_FATAL(yc->shape[0], 14);
  /* The first 12 rows: the same text.  109 and 140 carry a second line
   * in ludb.csv ("…\nWandering atrial pacemaker", "…\nAberrant conduction")
   * that their headers do not have. */
  for (int i = 0; i < 12; i++)
    CU_ASSERT_STRING_EQUAL(ch[lethe_tensor_i32(yh)[i]], cc[lethe_tensor_i32(yc)[i]]);
  CU_ASSERT_STRING_EQUAL(ch[lethe_tensor_i32(yh)[12]], "Atrial fibrillation");
  CU_ASSERT_STRING_EQUAL(cc[lethe_tensor_i32(yc)[12]], "Atrial fibrillation\nAberrant conduction");
  CU_ASSERT_STRING_EQUAL(ch[lethe_tensor_i32(yh)[13]], "Sinus rhythm");
  CU_ASSERT_EQUAL(nh, 3);
  CU_ASSERT_EQUAL(nc, 5);
  /* Subjects are the CSV's ID column. */
  CU_ASSERT_EQUAL(lethe_tensor_i64(lethe_frame_get_tensor(c, "subject"))[0], 1);
  CU_ASSERT_EQUAL(lethe_tensor_i64(lethe_frame_get_tensor(c, "subject"))[13], 140);
  CU_ASSERT_EQUAL(lethe_tensor_i64(lethe_frame_get_tensor(h, "subject"))[13], 13);

  /* Binary labels: 1 when the rhythm names sinus rhythm. */
  g_autoptr(LetheFrame) b =
      must_run("wfdb-source",
               P(p, recs, "leads=ii", "labels-from=header:Rhythm", "label-match=Sinus rhythm"));
  g_autofree const char **cb = meta_strv(b, "class-names", &nc);
  CU_ASSERT_EQUAL_FATAL(nc, 2);
  CU_ASSERT_STRING_EQUAL(cb[0], "other");
  CU_ASSERT_STRING_EQUAL(cb[1], "Sinus rhythm");
  const gint32 want[14] = {0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 0, 0, 1};
  for (int i = 0; i < 14; i++)
    CU_ASSERT_EQUAL(lethe_tensor_i32(lethe_frame_get_tensor(b, "y"))[i], want[i]);

  /* "Irregular sinus rhythm" (108, 132) contains the text but is not it. */
  g_autoptr(LetheFrame) contains =
      must_run("wfdb-source", P(p, "records=2,8,108,132", "leads=ii", "labels-from=header:Rhythm",
                                "label-match=sinus rhythm"));
  g_autoptr(LetheFrame) exact =
      must_run("wfdb-source", P(p, "records=2,8,108,132", "leads=ii", "labels-from=header:Rhythm",
                                "label-match=sinus rhythm", "label-match-mode=exact"));
  const gint32 want_contains[4] = {1, 0, 1, 1}, want_exact[4] = {1, 0, 0, 0};
  for (int i = 0; i < 4; i++) {
    CU_ASSERT_EQUAL(lethe_tensor_i32(lethe_frame_get_tensor(contains, "y"))[i], want_contains[i]);
    CU_ASSERT_EQUAL(lethe_tensor_i32(lethe_frame_get_tensor(exact, "y"))[i], want_exact[i]);
  }

  expect_error("wfdb-source", P(p, "records=1", "labels-from=header:Nothing"),
               LETHE_ERROR_NOT_FOUND, "record '1' has no '# Nothing:' comment");
  expect_error("wfdb-source", P(p, "records=1", "labels-from=csv:missing.csv"),
               LETHE_ERROR_NOT_FOUND, "no file 'missing.csv'");
  expect_error("wfdb-source", P(p, "records=1", "labels-from=csv:ludb.csv", "label-column=Nothing"),
               LETHE_ERROR_NOT_FOUND, "ludb.csv has no column 'Nothing'");
  expect_error("wfdb-source", P(p, "records=1", "label-match=Sinus"), LETHE_ERROR_INVALID,
               "label-match needs labels-from");
}

static void
test_wfdb_source_leads_are_a_required_set_in_order(void)
{
  g_autofree char *zip = shared("ludb-1.0.1.zip");
  if (zip == NULL) {
    CU_FAIL("the shared data folder (LUDB) is missing");
    return;
  }
  g_autofree char *p = param("path", zip);
  g_autoptr(LetheFrame) all = must_run("wfdb-source", P(p, "records=2"));
  g_autoptr(LetheFrame) two = must_run("wfdb-source", P(p, "records=2", "leads=V6,II"));
  LetheTensor *xa = lethe_frame_get_tensor(all, "x"), *x2 = lethe_frame_get_tensor(two, "x");
  CU_ASSERT_TRUE_FATAL(x2->shape[0] == 1 && x2->shape[1] == 2 && x2->shape[2] == 5000);
  gsize n = 0;
  g_autofree const char **leads = meta_strv(two, "leads", &n);
  CU_ASSERT_STRING_EQUAL(leads[0], "V6");
  CU_ASSERT_STRING_EQUAL(leads[1], "II");
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_f32(x2), lethe_tensor_f32(xa) + 11 * 5000, 5000 * 4), 0);
  CU_ASSERT_EQUAL(memcmp(lethe_tensor_f32(x2) + 5000, lethe_tensor_f32(xa) + 1 * 5000, 5000 * 4),
                  0);
  expect_error("wfdb-source", P(p, "records=2", "leads=i,ii,x1,v7"), LETHE_ERROR_NOT_FOUND,
               "record '2': 2 of the 4 required leads are missing: x1, v7 (the record has 12 "
               "signals: i, ii, iii, avr, avl, avf, v1, v2, v3, v4, v5, v6)");
  expect_error("wfdb-source", P(p, "records=999*"), LETHE_ERROR_NOT_FOUND, "no WFDB record");
}

/* Pearson correlation of a[i] and b[i * step]. */
static double
correlation(const float *a, const float *b, gint64 n, gint64 step)
{
  double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (gint64 i = 0; i < n; i++) {
    double u = a[i], v = b[i * step];
    sa += u, sb += v, saa += u * u, sbb += v * v, sab += u * v;
  }
  double cov = sab / n - sa / n * sb / n;
  return cov / sqrt((saa / n - sa / n * sa / n) * (sbb / n - sb / n * sb / n));
}

static void
test_wfdb_source_resamples_filters_and_cuts_windows(void)
{
  g_autofree char *zip = shared("ludb-1.0.1.zip");
  if (zip == NULL) {
    CU_FAIL("the shared data folder (LUDB) is missing");
    return;
  }
  g_autofree char *p = param("path", zip);
  g_autoptr(LetheFrame) raw = must_run("wfdb-source", P(p, "records=2,8", "leads=ii"));
  const float *r = lethe_tensor_f32(lethe_frame_get_tensor(raw, "x"));

  /* Resampling to 250 Hz keeps the waveform: every other sample. */
  g_autoptr(LetheFrame) rs =
      must_run("wfdb-source", P(p, "records=2,8", "leads=ii", "resample=250"));
  LetheTensor *xs = lethe_frame_get_tensor(rs, "x");
  CU_ASSERT_TRUE_FATAL(xs->shape[0] == 2 && xs->shape[2] == 2500);
  CU_ASSERT_DOUBLE_EQUAL(lethe_frame_get_meta_double(rs, "fs", 0), 250, 0);
  double c = correlation(lethe_tensor_f32(xs), r, 2500, 2);
  CU_ASSERT(c > 0.99);

  /* The band-pass removes the baseline: the mean of each lead goes to 0,
   * while the QRS complexes stay. */
  g_autoptr(LetheFrame) bp =
      must_run("wfdb-source", P(p, "records=2,8", "leads=ii", "bandpass=0.5,40"));
  const float *b = lethe_tensor_f32(lethe_frame_get_tensor(bp, "x"));
  for (int rec = 0; rec < 2; rec++) {
    double mean_raw = 0, mean_bp = 0;
    for (int i = 0; i < 5000; i++)
      mean_raw += r[rec * 5000 + i] / 5000.0, mean_bp += b[rec * 5000 + i] / 5000.0;
    CU_ASSERT(fabs(mean_bp) < 0.01);
    CU_ASSERT(fabs(mean_bp) < fabs(mean_raw));
    CU_ASSERT(correlation(b + rec * 5000, r + rec * 5000, 5000, 1) > 0.8);
  }
  CU_ASSERT_NOT_EQUAL(memcmp(b, r, 10000 * 4), 0);
  expect_error("wfdb-source", P(p, "records=2", "bandpass=40,0.5"), LETHE_ERROR_INVALID,
               "bandpass takes two frequencies LOW,HIGH");

  /* Windows of 2 s every 1 s: 9 per 10 s record, slices of the record. */
  g_autoptr(LetheFrame) w =
      must_run("wfdb-source", P(p, "records=2,8", "leads=ii", "window=2", "stride=1"));
  LetheTensor *xw = tensor(w, "x", LETHE_DTYPE_F32, 3);
  CU_ASSERT_TRUE_FATAL(xw->shape[0] == 18 && xw->shape[1] == 1 && xw->shape[2] == 1000);
  CU_ASSERT_DOUBLE_EQUAL(lethe_frame_get_meta_double(w, "window", 0), 2, 0);
  for (int row = 0; row < 18; row++) {
    gint64 rec = lethe_tensor_i64(lethe_frame_get_tensor(w, "record"))[row];
    gint64 start = lethe_tensor_i64(lethe_frame_get_tensor(w, "start"))[row];
    CU_ASSERT_EQUAL(rec, row / 9);
    CU_ASSERT_EQUAL(start, (row % 9) * 500);
    CU_ASSERT_EQUAL(lethe_tensor_i64(lethe_frame_get_tensor(w, "ids"))[row], row);
    CU_ASSERT_EQUAL(memcmp(lethe_tensor_f32(xw) + row * 1000, r + rec * 5000 + start, 4000), 0);
  }
  /* Without a stride the windows do not overlap. */
  g_autoptr(LetheFrame) w2 = must_run("wfdb-source", P(p, "records=2", "leads=ii", "window=2.5"));
  CU_ASSERT_EQUAL(lethe_frame_get_tensor(w2, "x")->shape[0], 4);
  CU_ASSERT_EQUAL(lethe_tensor_i64(lethe_frame_get_tensor(w2, "start"))[3], 3750);
  expect_error("wfdb-source", P(p, "records=2", "window=11"), LETHE_ERROR_INVALID,
               "window of 11 s (5500 samples) is longer than record '2'");
  expect_error("wfdb-source", P(p, "records=2", "window=1", "stride=0.0001"), LETHE_ERROR_INVALID,
               "stride");
  expect_error("wfdb-source", P(p, "records=2", "window=0.0001"), LETHE_ERROR_INVALID, "window");
}

static void
test_wfdb_source_reads_annotations_at_the_output_rate(void)
{
  g_autofree char *zip = shared("ludb-1.0.1.zip");
  if (zip == NULL) {
    CU_FAIL("the shared data folder (LUDB) is missing");
    return;
  }
  g_autofree char *p = param("path", zip);
  g_autoptr(LetheFrame) a =
      must_run("wfdb-source", P(p, "records=2,8", "leads=ii", "annotations=ii,v1"));
  g_autoptr(LetheFrame) h =
      must_run("wfdb-source", P(p, "records=2,8", "leads=ii", "annotations=ii,v1", "resample=250"));
  LetheTensor *rec = tensor(a, "ann-record", LETHE_DTYPE_I64, 1);
  LetheTensor *lead = tensor(a, "ann-lead", LETHE_DTYPE_I32, 1);
  LetheTensor *smp = tensor(a, "ann-sample", LETHE_DTYPE_I64, 1);
  LetheTensor *code = tensor(a, "ann-code", LETHE_DTYPE_I32, 1);
  gint64 k = rec->shape[0];
  CU_ASSERT(k > 40);
  CU_ASSERT_EQUAL_FATAL(lethe_frame_get_tensor(h, "ann-sample")->shape[0], k);
  gsize n = 0;
  g_autofree const char **al = meta_strv(a, "annotation-leads", &n);
  CU_ASSERT_TRUE(n == 2 && strcmp(al[0], "ii") == 0 && strcmp(al[1], "v1") == 0);
  guint qrs[2][2] = {{0}}, out_of_range = 0, bad_rate = 0, bad_code = 0;
  for (gint64 i = 0; i < k; i++) {
    gint64 r = lethe_tensor_i64(rec)[i];
    gint32 l = lethe_tensor_i32(lead)[i], c = lethe_tensor_i32(code)[i];
    gint64 s = lethe_tensor_i64(smp)[i];
    out_of_range += r < 0 || r > 1 || l < 0 || l > 1 || s < 0 || s >= 5000;
    bad_code += c != 1 && c != 24 && c != 27 && c != 39 && c != 40;
    if (c == 1)
      qrs[r][l]++;
    gint64 s250 = lethe_tensor_i64(lethe_frame_get_tensor(h, "ann-sample"))[i];
    bad_rate += s250 != (gint64)llround(s / 2.0);
  }
  CU_ASSERT_EQUAL(out_of_range, 0);
  CU_ASSERT_EQUAL(bad_code, 0);
  CU_ASSERT_EQUAL(bad_rate, 0);
  /* Every beat of a 10 s record is annotated in both leads, the same count
   * in each (record 2, sinus rhythm; record 8, atrial fibrillation). */
  for (int r = 0; r < 2; r++) {
    CU_ASSERT(qrs[r][0] >= 6 && qrs[r][0] <= 20);
    CU_ASSERT_EQUAL(qrs[r][0], qrs[r][1]);
  }
  expect_error("wfdb-source", P(p, "records=2", "annotations=xyz"), LETHE_ERROR_NOT_FOUND,
               "record '2': no annotation file");
}

static void
test_wfdb_source_reads_cinc_mat_records_and_groups_hospitals(void)
{
  g_autofree char *zip = shared("cinc2021-sample.zip");
  if (zip == NULL) {
    CU_FAIL("the shared data folder (CinC 2021 sample) is missing");
    return;
  }
  g_autofree char *p = param("path", zip);
  g_autoptr(LetheFrame) f = must_run("wfdb-source", P(p, "labels-from=header:Dx", "leads=I,V6"));
  LetheTensor *x = tensor(f, "x", LETHE_DTYPE_F32, 3);
  CU_ASSERT_TRUE_FATAL(x->shape[0] == 50 && x->shape[1] == 2 && x->shape[2] == 5000);
  gsize n = 0;
  g_autofree const char **groups = meta_strv(f, "groups", &n);
  CU_ASSERT_EQUAL_FATAL(n, 3);
  CU_ASSERT_STRING_EQUAL(groups[0], "E");
  CU_ASSERT_STRING_EQUAL(groups[1], "HR");
  CU_ASSERT_STRING_EQUAL(groups[2], "JS");
  g_autofree const char **records = meta_strv(f, "records", &n);
  guint per_group[3] = {0};
  gint64 hr06009 = -1;
  for (gint64 i = 0; i < 50; i++) {
    gint32 g = lethe_tensor_i32(lethe_frame_get_tensor(f, "group"))[i];
    CU_ASSERT_FATAL(g >= 0 && g < 3);
    per_group[g]++;
    CU_ASSERT_TRUE(g_str_has_prefix(records[i], groups[g]));
    if (strcmp(records[i], "HR06009") == 0)
      hr06009 = i;
  }
  CU_ASSERT_TRUE(per_group[0] == 20 && per_group[1] == 10 && per_group[2] == 20);
  /* HR06009's header: gain 1000, initial values −5 (I) and 5 (V6); Dx 426783006. */
  CU_ASSERT_FATAL(hr06009 >= 0);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(x)[hr06009 * 2 * 5000], -0.005, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(x)[(hr06009 * 2 + 1) * 5000], 0.005, 1e-7);
  g_autofree const char **classes = meta_strv(f, "class-names", &n);
  gint32 y = lethe_tensor_i32(lethe_frame_get_tensor(f, "y"))[hr06009];
  CU_ASSERT_STRING_EQUAL(classes[y], "426783006");
  for (gsize c = 1; c < n; c++)
    CU_ASSERT(g_ascii_strcasecmp(classes[c - 1], classes[c]) < 0);

  g_autoptr(LetheFrame) hr = must_run("wfdb-source", P(p, "records=HR*", "leads=I"));
  CU_ASSERT_EQUAL(lethe_frame_get_tensor(hr, "x")->shape[0], 10);
}

static void
test_wfdb_source_reads_loose_records_across_signal_files(void)
{
  g_autofree char *dir = shared("records");
  if (dir == NULL) {
    CU_FAIL("the shared data folder (ECG records) is missing");
    return;
  }
  /* s0010_re: 12 leads in .dat, the Frank leads in .xyz, 1000 Hz, 38.4 s;
   * initial values v6 390, vz −18 at gain 2000. */
  g_autofree char *hea = g_build_filename(dir, "s0010_re.hea", NULL);
  g_autofree char *p = param("path", hea);
  g_autoptr(LetheFrame) f =
      must_run("wfdb-source", P(p, "leads=v6,vz", "labels-from=header:Reason for admission"));
  LetheTensor *x = tensor(f, "x", LETHE_DTYPE_F32, 3);
  CU_ASSERT_TRUE_FATAL(x->shape[0] == 1 && x->shape[1] == 2 && x->shape[2] == 38400);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(x)[0], 390.0 / 2000.0, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(x)[38400], -18.0 / 2000.0, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL(lethe_frame_get_meta_double(f, "fs", 0), 1000, 0);
  gsize n = 0;
  g_autofree const char **classes = meta_strv(f, "class-names", &n);
  CU_ASSERT_STRING_EQUAL(classes[0], "Myocardial infarction");

  /* The folder holds records at 100 and 1000 Hz: refused unless resampled. */
  g_autofree char *pd = param("path", dir);
  expect_error("wfdb-source", P(pd, "leads=v6"), LETHE_ERROR_INVALID,
               "record 's0010_re' is sampled at 1000 Hz, the first record at 100 Hz");
  g_autoptr(LetheFrame) both =
      must_run("wfdb-source", P(pd, "leads=v6", "resample=100", "window=10"));
  LetheTensor *xb = lethe_frame_get_tensor(both, "x");
  CU_ASSERT_TRUE(xb->shape[0] == 1 + 3 && xb->shape[2] == 1000);
  /* 00001_lr's v6 is untouched at its own rate: initial value −79 at gain 1000. */
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(xb)[0], -0.079, 1e-7);
}

/* Copies record 00001_lr into a fresh folder, with its .dat cut to
 * @dat_len bytes (-1: whole, 0: no .dat) and @from replaced by @to in its
 * header. */
static char *
broken_record(gssize dat_len, const char *from, const char *to)
{
  g_autofree char *src = shared("records");
  g_autofree char *hea_path = g_build_filename(src, "00001_lr.hea", NULL);
  g_autofree char *dat_path = g_build_filename(src, "00001_lr.dat", NULL);
  g_autofree char *hea = NULL, *dat = NULL;
  gsize dlen = 0;
  g_assert(g_file_get_contents(hea_path, &hea, NULL, NULL));
  g_assert(g_file_get_contents(dat_path, &dat, &dlen, NULL));
  char *dir = g_dir_make_tmp("lethe-wfdb-XXXXXX", NULL);
  g_autofree char *out_hea = g_build_filename(dir, "00001_lr.hea", NULL);
  g_autofree char *out_dat = g_build_filename(dir, "00001_lr.dat", NULL);
  g_autoptr(GString) h = g_string_new(hea);
  if (from)
    CU_ASSERT_EQUAL(g_string_replace(h, from, to, 1), 1);
  g_assert(g_file_set_contents(out_hea, h->str, (gssize)h->len, NULL));
  if (dat_len != 0)
    g_assert(g_file_set_contents(out_dat, dat, dat_len < 0 ? (gssize)dlen : dat_len, NULL));
  return dir;
}

static void
remove_record(char *dir)
{
  g_autofree char *hea = g_build_filename(dir, "00001_lr.hea", NULL);
  g_autofree char *dat = g_build_filename(dir, "00001_lr.dat", NULL);
  g_unlink(hea);
  g_unlink(dat);
  g_rmdir(dir);
  g_free(dir);
}

static void
test_wfdb_source_bad_records_name_the_file_and_record(void)
{
  if (lethe_test_shared_data() == NULL) {
    CU_FAIL("the shared data folder (ECG records) is missing");
    return;
  }
  /* The untouched copy reads, and its samples are the raw int16 / 1000. */
  char *dir = broken_record(-1, NULL, NULL);
  g_autofree char *p = param("path", dir);
  g_autoptr(LetheFrame) ok = must_run("wfdb-source", P(p));
  LetheTensor *x = lethe_frame_get_tensor(ok, "x");
  CU_ASSERT_TRUE(x->shape[0] == 1 && x->shape[1] == 12 && x->shape[2] == 1000);
  g_autofree char *dat_path = g_build_filename(dir, "00001_lr.dat", NULL);
  g_autofree char *dat = NULL;
  g_assert(g_file_get_contents(dat_path, &dat, NULL, NULL));
  guint wrong = 0;
  for (int k = 0; k < 1000; k++)
    for (int l = 0; l < 12; l++) {
      const guint8 *b = (const guint8 *)dat + (k * 12 + l) * 2;
      gint16 v = (gint16)(b[0] | b[1] << 8);
      wrong += fabsf(lethe_tensor_f32(x)[l * 1000 + k] - v / 1000.0f) > 1e-7f;
    }
  CU_ASSERT_EQUAL(wrong, 0);
  remove_record(dir);

  dir = broken_record(20000, NULL, NULL);
  g_free(p);
  p = param("path", dir);
  expect_error("wfdb-source", P(p), LETHE_ERROR_PARSE,
               "record '00001_lr': 00001_lr.hea declares 1000 samples per signal, but "
               "'00001_lr.dat' (20000 bytes, 12 signals, format 16, offset 0) holds 833 "
               "(truncated file, or the header lies)");
  remove_record(dir);

  dir = broken_record(-1, " 1508 0 I", " 1509 0 I");
  g_free(p);
  p = param("path", dir);
  expect_error("wfdb-source", P(p), LETHE_ERROR_PARSE,
               "record '00001_lr': signal 0 (I) in '00001_lr.dat': checksum of the samples is "
               "1508, 00001_lr.hea:2 says 1509");
  remove_record(dir);

  dir = broken_record(0, NULL, NULL);
  g_free(p);
  p = param("path", dir);
  expect_error("wfdb-source", P(p), LETHE_ERROR_NOT_FOUND,
               "signal file '00001_lr.dat' named at 00001_lr.hea:2 is missing");
  remove_record(dir);

  dir = broken_record(-1, "00001_lr 12 100 1000", "00001_lr 12 100 900");
  g_free(p);
  p = param("path", dir);
  expect_error("wfdb-source", P(p), LETHE_ERROR_PARSE, "the header lies about the length");
  remove_record(dir);

  expect_error("wfdb-source", P("path=/nonexistent/ecg"), LETHE_ERROR_NOT_FOUND,
               "/nonexistent/ecg: no such file or folder");
}

/* Appends one file to a POSIX ustar archive being built in @tar. */
static void
tar_add(GString *tar, const char *name, const char *data, gsize len)
{
  char h[512] = {0};
  g_strlcpy(h, name, 100);
  g_snprintf(h + 100, 8, "%07o", 0644);
  g_snprintf(h + 108, 8, "%07o", 0);
  g_snprintf(h + 116, 8, "%07o", 0);
  g_snprintf(h + 124, 12, "%011o", (unsigned)len);
  g_snprintf(h + 136, 12, "%011o", 0);
  memset(h + 148, ' ', 8);
  h[156] = '0';
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  unsigned sum = 0;
  for (int i = 0; i < 512; i++)
    sum += (unsigned char)h[i];
  g_snprintf(h + 148, 7, "%06o", sum);
  g_string_append_len(tar, h, 512);
  g_string_append_len(tar, data, (gssize)len);
  static const char zeros[512] = {0};
  g_string_append_len(tar, zeros, (gssize)((512 - len % 512) % 512));
}

/* An archive holding the copy of 00001_lr in @dir; its path. */
static char *
tar_record(const char *dir)
{
  g_autofree char *hea_path = g_build_filename(dir, "00001_lr.hea", NULL);
  g_autofree char *dat_path = g_build_filename(dir, "00001_lr.dat", NULL);
  g_autofree char *hea = NULL, *dat = NULL;
  gsize hlen = 0, dlen = 0;
  g_assert(g_file_get_contents(hea_path, &hea, &hlen, NULL));
  g_assert(g_file_get_contents(dat_path, &dat, &dlen, NULL));
  g_autoptr(GString) tar = g_string_new(NULL);
  tar_add(tar, "ptbxl/00001_lr.hea", hea, hlen);
  tar_add(tar, "ptbxl/00001_lr.dat", dat, dlen);
  static const char end[1024] = {0};
  g_string_append_len(tar, end, sizeof end);
  char *path = g_build_filename(dir, "record.tar", NULL);
  g_assert(g_file_set_contents(path, tar->str, (gssize)tar->len, NULL));
  return path;
}

static void
test_wfdb_source_bad_records_in_an_archive_name_the_archive(void)
{
  if (lethe_test_shared_data() == NULL) {
    CU_FAIL("the shared data folder (ECG records) is missing");
    return;
  }
  /* The intact record reads from the archive as from the folder. */
  char *dir = broken_record(-1, NULL, NULL);
  g_autofree char *tar = tar_record(dir);
  g_autofree char *p = param("path", tar);
  g_autoptr(LetheFrame) ok = must_run("wfdb-source", P(p, "leads=V6"));
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(lethe_frame_get_tensor(ok, "x"))[0], -0.079, 1e-7);
  g_unlink(tar);
  remove_record(dir);

  dir = broken_record(-1, " 1508 0 I", " 1509 0 I");
  g_free(tar);
  tar = tar_record(dir);
  g_free(p);
  p = param("path", tar);
  g_autofree char *want = g_strdup_printf(
      "%s: record '00001_lr': signal 0 (I) in '00001_lr.dat': checksum of the samples is 1508, "
      "ptbxl/00001_lr.hea:2 says 1509",
      tar);
  expect_error("wfdb-source", P(p), LETHE_ERROR_PARSE, want);
  g_unlink(tar);
  remove_record(dir);

  dir = broken_record(20000, NULL, NULL);
  g_free(tar);
  tar = tar_record(dir);
  g_free(p);
  p = param("path", tar);
  g_autofree char *want2 =
      g_strdup_printf("%s: record '00001_lr': ptbxl/00001_lr.hea declares 1000", tar);
  expect_error("wfdb-source", P(p), LETHE_ERROR_PARSE, want2);
  g_unlink(tar);
  remove_record(dir);
}

/* ---- csv-source ---------------------------------------------------------- */

static char *
write_csv(const char *dir, const char *name, const char *text)
{
  char *path = g_build_filename(dir, name, NULL);
  g_assert(g_file_set_contents(path, text, -1, NULL));
  return path;
}

static void
test_csv_source_emits_features_and_sorted_text_classes(void)
{
  g_autofree char *dir = g_dir_make_tmp("lethe-csv-XXXXXX", NULL);
  /* Eight distinct label texts, in an order far from sorted. */
  g_autofree char *path = write_csv(dir, "t.csv",
                                    "a,b,label\r\n"
                                    "1,2,zeta\r\n"
                                    "3,4.5,alpha\r\n"
                                    "\"5\",6,mu\r\n"
                                    "7,8,beta\r\n"
                                    "9,10,omega\r\n"
                                    "11,12,gamma\r\n"
                                    "13,14,kappa\r\n"
                                    "15,16,delta\r\n"
                                    "17,18,alpha\r\n");
  g_autofree char *p = param("path", path);
  g_autoptr(LetheFrame) f = must_run("csv-source", P(p));
  LetheTensor *x = tensor(f, "x", LETHE_DTYPE_F32, 2);
  LetheTensor *y = tensor(f, "y", LETHE_DTYPE_I32, 1);
  LetheTensor *ids = tensor(f, "ids", LETHE_DTYPE_I64, 1);
  CU_ASSERT_TRUE_FATAL(x->shape[0] == 9 && x->shape[1] == 2);
  CU_ASSERT_EQUAL(ids->shape[0], 9);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(x)[3], 4.5, 0);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(x)[4], 5, 0);
  gsize n = 0;
  g_autofree const char **names = meta_strv(f, "class-names", &n);
  const char *sorted[8] = {"alpha", "beta", "delta", "gamma", "kappa", "mu", "omega", "zeta"};
  CU_ASSERT_EQUAL_FATAL(n, 8);
  for (int i = 0; i < 8; i++)
    CU_ASSERT_STRING_EQUAL(names[i], sorted[i]);
  const char *rows[9] = {"zeta",  "alpha", "mu",    "beta", "omega",
                         "gamma", "kappa", "delta", "alpha"};
  for (int i = 0; i < 9; i++) {
    CU_ASSERT_STRING_EQUAL(names[lethe_tensor_i32(y)[i]], rows[i]);
    CU_ASSERT_EQUAL(lethe_tensor_i64(ids)[i], i);
  }
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(f, "n-classes", 0), 8);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(f, "dataset", ""), "t.csv");
  g_unlink(path);
  g_rmdir(dir);
}

static void
test_csv_source_label_column_delimiter_and_nan(void)
{
  g_autofree char *dir = g_dir_make_tmp("lethe-csv-XXXXXX", NULL);
  g_autofree char *path = write_csv(dir, "t.tsv", "cls\tu\tv\n2\t0.5\t\n0\t1.5\t-2\n");
  g_autofree char *p = param("path", path);
  g_autoptr(LetheFrame) f =
      must_run("csv-source", P(p, "delimiter=tab", "label-column=cls", "nan=zero"));
  LetheTensor *x = lethe_frame_get_tensor(f, "x"), *y = lethe_frame_get_tensor(f, "y");
  CU_ASSERT_TRUE_FATAL(x->shape[0] == 2 && x->shape[1] == 2);
  const float want[4] = {0.5f, 0.0f, 1.5f, -2.0f};
  for (int i = 0; i < 4; i++)
    CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(x)[i], want[i], 0);
  CU_ASSERT_EQUAL(lethe_tensor_i32(y)[0], 2);
  CU_ASSERT_EQUAL(lethe_tensor_i32(y)[1], 0);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(f, "n-classes", 0), 3);
  CU_ASSERT_PTR_NULL(lethe_frame_get_meta(f, "class-names"));

  /* By index; and a file without a header row. */
  g_autoptr(LetheFrame) g =
      must_run("csv-source", P(p, "delimiter=tab", "label-column=0", "nan=zero"));
  CU_ASSERT_EQUAL(lethe_tensor_i32(lethe_frame_get_tensor(g, "y"))[0], 2);
  g_autofree char *plain = write_csv(dir, "plain.csv", "1,2,1\n3,4,0\n5,6,1\n");
  g_autofree char *pp = param("path", plain);
  g_autoptr(LetheFrame) h = must_run("csv-source", P(pp, "header=false"));
  CU_ASSERT_EQUAL(lethe_frame_get_tensor(h, "x")->shape[0], 3);
  CU_ASSERT_DOUBLE_EQUAL(lethe_tensor_f32(lethe_frame_get_tensor(h, "x"))[0], 1, 0);
  CU_ASSERT_EQUAL(lethe_tensor_i32(lethe_frame_get_tensor(h, "y"))[2], 1);
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(h, "n-classes", 0), 2);

  expect_error("csv-source", P(p, "delimiter=tab", "label-column=cls"), LETHE_ERROR_PARSE, path);
  expect_error("csv-source", P(p, "delimiter=tab", "label-column=nope"), LETHE_ERROR_NOT_FOUND,
               "has no column 'nope'");
  expect_error("csv-source", P(p, "delimiter=;;"), LETHE_ERROR_INVALID,
               "delimiter ';;' must be one character");
  g_autofree char *bad = write_csv(dir, "bad.csv", "a,b,c\n1,2,0\n3,x4,1\n");
  g_autofree char *pb = param("path", bad);
  expect_error("csv-source", P(pb), LETHE_ERROR_PARSE,
               "bad.csv:3: column 'b': 'x4' is not a number");
  g_autofree char *ragged = write_csv(dir, "ragged.csv", "a,b\n1,2\n3\n");
  g_autofree char *pr = param("path", ragged);
  expect_error("csv-source", P(pr), LETHE_ERROR_PARSE, ragged);
  g_unlink(path);
  g_unlink(bad);
  g_unlink(ragged);
  g_unlink(plain);
  g_rmdir(dir);
}

LETHE_TEST_MAIN("data-nodes", LETHE_TEST(test_idx_source_emits_fashion_mnist_with_its_class_names),
                LETHE_TEST(test_idx_source_normalize_shape_and_split),
                LETHE_TEST(test_idx_source_with_explicit_files_names_them),
                LETHE_TEST(test_idx_source_bad_files_are_named),
                LETHE_TEST(test_wfdb_source_reads_ludb_from_its_zip),
                LETHE_TEST(test_wfdb_source_labels_from_ludb_csv_agree_with_the_headers),
                LETHE_TEST(test_wfdb_source_leads_are_a_required_set_in_order),
                LETHE_TEST(test_wfdb_source_resamples_filters_and_cuts_windows),
                LETHE_TEST(test_wfdb_source_reads_annotations_at_the_output_rate),
                LETHE_TEST(test_wfdb_source_reads_cinc_mat_records_and_groups_hospitals),
                LETHE_TEST(test_wfdb_source_reads_loose_records_across_signal_files),
                LETHE_TEST(test_wfdb_source_bad_records_name_the_file_and_record),
                LETHE_TEST(test_wfdb_source_bad_records_in_an_archive_name_the_archive),
                LETHE_TEST(test_csv_source_emits_features_and_sorted_text_classes),
                LETHE_TEST(test_csv_source_label_column_delimiter_and_nan))
