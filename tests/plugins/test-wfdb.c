/* Lethe — tests of the WFDB reader (plugins/data/wfdb/wfdb-*.c), on
 * hand-made records and on every record of the shared ECG data.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include <lethe/error.h>

#include "data-stream.h"
#include "lethe-test.h"
#include "wfdb-filter.h"
#include "wfdb-parse.h"
#include "wfdb-record.h"

static char *tmpdir;

static char *
tmp_file(const char *name, const void *data, gsize len)
{
  if (tmpdir == NULL)
    tmpdir = g_dir_make_tmp("lethe-wfdb-XXXXXX", NULL);
  char *path = g_build_filename(tmpdir, name, NULL);
  g_assert(g_file_set_contents(path, data, (gssize)len, NULL));
  return path;
}

static char *
shared_path(const char *rel)
{
  const char *d = lethe_test_shared_data();
  if (d == NULL) {
    fprintf(stderr, "\n  SKIP: LETHE_SHARED_DATA is not set or missing: no real ECG data\n");
    return NULL;
  }
  return g_build_filename(d, rel, NULL);
}

/* ---- Headers ------------------------------------------------------------ */

static void
test_wfdb_header_parses_fields_and_defaults(void)
{
  const char *text = "# a comment before the record line\n"
                     "rec1 3 360/10(2) 650000 13:05:00 25/4/1989\r\n"
                     "rec1.dat 212 200(1024)/uV 11 1024 995 -22131 0 MLII\n"
                     "rec1.dat 212 0 11 1024 1011 20052 0 V5 lead\n"
                     "rec1.mat 16x1+24\n"
                     "#<age>: 51\n"
                     "# Dx: 164889003,59118001\n";
  GError *err = NULL;
  g_autoptr(WfdbHeader) h = wfdb_header_parse(text, strlen(text), "rec1.hea", &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_STRING_EQUAL(h->name, "rec1");
  CU_ASSERT_EQUAL(h->n_signals, 3);
  CU_ASSERT_DOUBLE_EQUAL(h->fs, 360.0, 0);
  CU_ASSERT_EQUAL(h->n_samples, 650000);
  const WfdbSignal *s = h->signals;
  CU_ASSERT_STRING_EQUAL(s[0].file_name, "rec1.dat");
  CU_ASSERT_EQUAL(s[0].format, 212);
  CU_ASSERT_DOUBLE_EQUAL(s[0].gain, 200.0, 0);
  CU_ASSERT_EQUAL(s[0].baseline, 1024);
  CU_ASSERT_STRING_EQUAL(s[0].units, "uV");
  CU_ASSERT_EQUAL(s[0].adc_resolution, 11);
  CU_ASSERT_EQUAL(s[0].adc_zero, 1024);
  CU_ASSERT_EQUAL(s[0].initial_value, 995);
  CU_ASSERT_EQUAL(s[0].checksum, -22131);
  CU_ASSERT_STRING_EQUAL(s[0].description, "MLII");
  CU_ASSERT_EQUAL(s[0].line, 3);
  /* Gain 0 means uncalibrated: 200 assumed; baseline defaults to ADC zero. */
  CU_ASSERT_DOUBLE_EQUAL(s[1].gain, 200.0, 0);
  CU_ASSERT_FALSE(s[1].gain_given);
  CU_ASSERT_EQUAL(s[1].baseline, 1024);
  CU_ASSERT_STRING_EQUAL(s[1].description, "V5 lead");
  /* Only file and format given: every default. */
  CU_ASSERT_EQUAL(s[2].format, 16);
  CU_ASSERT_EQUAL(s[2].byte_offset, 24);
  CU_ASSERT_EQUAL(s[2].samples_per_frame, 1);
  CU_ASSERT_STRING_EQUAL(s[2].units, "mV");
  CU_ASSERT_FALSE(s[2].has_checksum);
  CU_ASSERT_STRING_EQUAL(s[2].description, "record rec1, signal 2");
  CU_ASSERT_STRING_EQUAL(wfdb_header_get_info(h, "age"), "51");
  CU_ASSERT_STRING_EQUAL(wfdb_header_get_info(h, "dx"), "164889003,59118001");
  CU_ASSERT_PTR_NULL(wfdb_header_get_info(h, "Rx"));

  const char *minimal = "r 0\n";
  g_autoptr(WfdbHeader) m = wfdb_header_parse(minimal, strlen(minimal), "r.hea", &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_DOUBLE_EQUAL(m->fs, 250.0, 0);
  CU_ASSERT_EQUAL(m->n_samples, 0);
}

static void
expect_header_error(const char *text, int code, const char *needle)
{
  GError *err = NULL;
  WfdbHeader *h = wfdb_header_parse(text, strlen(text), "bad.hea", &err);
  CU_ASSERT_PTR_NULL(h);
  wfdb_header_free(h);
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, code, needle);
}

static void
test_wfdb_header_errors_name_file_and_line(void)
{
  expect_header_error("", LETHE_ERROR_PARSE, "bad.hea: no record line");
  expect_header_error("r two 500\n", LETHE_ERROR_PARSE,
                      "bad.hea:1: record line: expected the number of signals");
  expect_header_error("r 1 -500\n", LETHE_ERROR_PARSE,
                      "bad.hea:1: record line: sampling frequency '-500'");
  expect_header_error("r 1 500 ten\n", LETHE_ERROR_PARSE, "bad.hea:1: record line: number of");
  expect_header_error("r 2 500 10\nr.dat 16\n", LETHE_ERROR_PARSE,
                      "bad.hea: the record line declares 2 signals but only 1 signal lines");
  expect_header_error("r/3 2 500\n", LETHE_ERROR_UNSUPPORTED, "multi-segment");
  expect_header_error("r 1 500 10\n\nr.dat 16q\n", LETHE_ERROR_PARSE,
                      "bad.hea:3: signal 0: format field '16q'");
  expect_header_error("r 1 500 10\nr.dat 311\n", LETHE_ERROR_UNSUPPORTED, "format 311");
  expect_header_error("r 1 500 10\nr.dat 16x2\n", LETHE_ERROR_UNSUPPORTED, "2 samples per frame");
  expect_header_error("r 1 500 10\nr.dat 16 200(x)/mV\n", LETHE_ERROR_PARSE,
                      "bad.hea:2: signal 0: gain field '200(x)/mV'");
  expect_header_error("r 1 500 10\nr.dat 16 200 12 0 0 sum\n", LETHE_ERROR_PARSE,
                      "bad.hea:2: signal 0: expected integers");
  expect_header_error("r 2 500 10\nr.dat 16\nr.dat 212\n", LETHE_ERROR_PARSE,
                      "bad.hea:3: signal 1 shares 'r.dat'");
  expect_header_error("r 3 500 10\na.dat 16\nb.dat 16\na.dat 16\n", LETHE_ERROR_PARSE,
                      "must be on consecutive lines");
  GError *err = NULL;
  CU_ASSERT_PTR_NULL(wfdb_header_parse("r\0 1\n", 5, "nul.hea", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "nul.hea: a header is text");
}

/* ---- Signal formats ------------------------------------------------------ */

static void
test_wfdb_decodes_formats_16_61_80_212(void)
{
  GError *err = NULL;
  gint32 out[6];
  gint64 invalid;
  /* Two signals, three frames, interleaved: (1,-2) (300,-32768) (-1,7). */
  const guint8 f16[12] = {1, 0, 0xfe, 0xff, 0x2c, 0x01, 0x00, 0x80, 0xff, 0xff, 7, 0};
  CU_ASSERT_TRUE(wfdb_decode_group(f16, 12, "f16", 16, 0, 2, 3, out, &invalid, &err));
  const gint32 want16[6] = {1, 300, -1, -2, -32768, 7};
  CU_ASSERT_EQUAL(memcmp(out, want16, sizeof want16), 0);
  CU_ASSERT_EQUAL(invalid, 1);
  const guint8 f61[4] = {0x01, 0x2c, 0xff, 0xfe};
  CU_ASSERT_TRUE(wfdb_decode_group(f61, 4, "f61", 61, 0, 1, 2, out, &invalid, &err));
  CU_ASSERT_EQUAL(out[0], 300);
  CU_ASSERT_EQUAL(out[1], -2);
  const guint8 f80[3] = {128, 0, 255};
  CU_ASSERT_TRUE(wfdb_decode_group(f80, 3, "f80", 80, 0, 1, 3, out, &invalid, &err));
  CU_ASSERT_EQUAL(out[0], 0);
  CU_ASSERT_EQUAL(out[1], -128);
  CU_ASSERT_EQUAL(out[2], 127);
  CU_ASSERT_EQUAL(invalid, 1);
  /* 212: samples 0x123 = 291 and 0x987 (-1657); then 0x7ff and a lone 0x801 (-2047). */
  const guint8 f212[3 + 2 + 4] = {0x00, 0x00, 0x00, 0x23, 0x91, 0x87, 0xff, 0x87, 0x01};
  CU_ASSERT_TRUE(wfdb_decode_group(f212 + 3, 5, "f212", 212, 0, 1, 3, out, &invalid, &err));
  CU_ASSERT_EQUAL(out[0], 291);
  CU_ASSERT_EQUAL(out[1], -1657);
  CU_ASSERT_EQUAL(out[2], 0x7ff);
  const guint8 lone[2] = {0x01, 0x08};
  CU_ASSERT_TRUE(wfdb_decode_group(lone, 2, "f212", 212, 0, 1, 1, out, &invalid, &err));
  CU_ASSERT_EQUAL(out[0], -2047);
  CU_ASSERT_EQUAL(wfdb_signal_file_frames(212, 1, 0, 5), 3);
  CU_ASSERT_EQUAL(wfdb_signal_file_frames(212, 2, 0, 6), 2);
  CU_ASSERT_EQUAL(wfdb_signal_file_frames(16, 12, 24, 120024), 5000);
  /* A byte offset skips a preamble. */
  CU_ASSERT_TRUE(wfdb_decode_group(f16, 12, "f16", 16, 4, 1, 4, out, &invalid, &err));
  CU_ASSERT_EQUAL(out[0], 300);
  CU_ASSERT_FALSE(wfdb_decode_group(f16, 12, "short.dat", 16, 0, 2, 4, out, &invalid, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE,
                     "short.dat: holds 12 bytes, but 4 samples of 2 signals in format 16 after a "
                     "0-byte preamble need 16");
}

static void
test_wfdb_checksum_wraps_modulo_65536(void)
{
  const gint32 s[3] = {30000, 30000, 10000}; /* 70000 = 4464 mod 65536 */
  CU_ASSERT_EQUAL(wfdb_checksum(s, 3), 4464);
  const gint32 n[2] = {-1, -2};
  CU_ASSERT_EQUAL(wfdb_checksum(n, 2), -3);
  CU_ASSERT_EQUAL((guint16)wfdb_checksum(n, 2), 65533);
}

/* ---- Annotations --------------------------------------------------------- */

static void
put_word(GByteArray *a, guint code, guint arg)
{
  guint16 w = GUINT16_TO_LE((guint16)(code << 10 | (arg & 0x3ff)));
  g_byte_array_append(a, (guint8 *)&w, 2);
}

static void
test_wfdb_annotations_decode_skip_aux_chan_num(void)
{
  g_autoptr(GByteArray) a = g_byte_array_new();
  put_word(a, 22, 0); /* "## time resolution" note at 0: dropped */
  put_word(a, 63, 4);
  g_byte_array_append(a, (const guint8 *)"## x", 4);
  put_word(a, 1, 100); /* N at 100 */
  put_word(a, 62, 2);  /* chan 2 */
  put_word(a, 59, 0);  /* skip 70000 = 0x00011170 */
  const guint8 skip[4] = {0x01, 0x00, 0x70, 0x11};
  g_byte_array_append(a, skip, 4);
  put_word(a, 5, 3); /* V at 70103, inherits chan 2 */
  put_word(a, 63, 3);
  g_byte_array_append(a, (const guint8 *)"(AF\0", 4);
  put_word(a, 61, 5); /* subtype 5 */
  put_word(a, 60, 7); /* num 7 */
  put_word(a, 0, 10); /* NOT-QRS placeholder: dropped, time still advances */
  put_word(a, 40, 1); /* ')' at 70114 */
  put_word(a, 0, 0);  /* end */
  GError *err = NULL;
  g_autoptr(GArray) anns = wfdb_annotations_parse(a->data, a->len, "x.atr", &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_EQUAL_FATAL(anns->len, 3);
  WfdbAnnotation *v = (WfdbAnnotation *)anns->data;
  CU_ASSERT_EQUAL(v[0].sample, 100);
  CU_ASSERT_EQUAL(v[0].code, 1);
  CU_ASSERT_EQUAL(v[0].chan, 2);
  CU_ASSERT_PTR_NULL(v[0].aux);
  CU_ASSERT_EQUAL(v[1].sample, 70103);
  CU_ASSERT_STRING_EQUAL(wfdb_annotation_symbol(v[1].code), "V");
  CU_ASSERT_EQUAL(v[1].chan, 2);
  CU_ASSERT_STRING_EQUAL(v[1].aux, "(AF");
  CU_ASSERT_EQUAL(v[1].subtype, 5);
  CU_ASSERT_EQUAL(v[1].num, 7);
  CU_ASSERT_EQUAL(v[2].sample, 70114);
  CU_ASSERT_STRING_EQUAL(wfdb_annotation_symbol(v[2].code), ")");
  CU_ASSERT_EQUAL(v[2].subtype, 0);
  CU_ASSERT_EQUAL(v[2].num, 7);
}

static void
test_wfdb_annotations_refuse_truncated_files(void)
{
  GError *err = NULL;
  g_autoptr(GByteArray) a = g_byte_array_new();
  put_word(a, 1, 5);
  put_word(a, 59, 0);
  g_byte_array_append(a, (const guint8 *)"\0", 1);
  CU_ASSERT_PTR_NULL(wfdb_annotations_parse(a->data, a->len, "t.i", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "t.i: 5 bytes");
  g_byte_array_append(a, (const guint8 *)"\0", 1);
  CU_ASSERT_PTR_NULL(wfdb_annotations_parse(a->data, a->len, "t.i", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE,
                     "t.i: byte offset 2: the file ends inside an annotation");
  g_byte_array_set_size(a, 0);
  put_word(a, 63, 40);
  CU_ASSERT_PTR_NULL(wfdb_annotations_parse(a->data, a->len, "t.i", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "t.i: byte offset 0: a modifier");
  g_byte_array_set_size(a, 0);
  put_word(a, 55, 1);
  CU_ASSERT_PTR_NULL(wfdb_annotations_parse(a->data, a->len, "t.i", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "annotation code 55 is reserved");
}

/* ---- Real records -------------------------------------------------------- */

/* Decodes sample @k of signal @sig straight from the format-16 bytes, the
 * way a reader of the spec would: an independent check of the loader. */
static double
raw16_physical(GBytes *dat, const WfdbSignal *sig, guint nsig, guint index, gint64 k)
{
  const guint8 *d = g_bytes_get_data(dat, NULL);
  gsize at = (gsize)sig->byte_offset + 2 * ((gsize)k * nsig + index);
  gint16 v = (gint16)(d[at] | d[at + 1] << 8);
  return ((double)v - (double)sig->baseline) / sig->gain;
}

/* Loads every record of @path; checks counts, headers and raw samples. */
static guint
check_every_record(const char *path, guint expect_records, guint expect_signals)
{
  GError *err = NULL;
  g_autoptr(WfdbSource) src = wfdb_source_open(path, NULL, &err);
  LETHE_ASSERT_NO_ERROR(err);
  GPtrArray *recs = wfdb_source_get_records(src);
  CU_ASSERT_EQUAL(recs->len, expect_records);
  guint loaded = 0, sample_mismatch = 0;
  for (guint i = 0; i < recs->len; i++) {
    g_autoptr(WfdbRecord) r = wfdb_record_load(src, recs->pdata[i], &err);
    if (r == NULL) {
      fprintf(stderr, "\n  %s\n", err->message);
      g_clear_error(&err);
      continue;
    }
    loaded++;
    const WfdbHeader *h = r->header;
    CU_ASSERT_EQUAL(r->n_samples, h->n_samples);
    if (expect_signals)
      CU_ASSERT_EQUAL(h->n_signals, expect_signals);
    CU_ASSERT_EQUAL(r->n_invalid, 0);
    /* Spot-check the first, a middle and the last sample of each signal
     * of the first file against the raw bytes. */
    g_autofree char *dir = g_path_get_dirname(r->key);
    g_autofree char *rel = strcmp(dir, ".") ? g_build_filename(dir, h->signals[0].file_name, NULL)
                                            : g_strdup(h->signals[0].file_name);
    g_autoptr(GBytes) dat = wfdb_source_get_file(src, rel, &err);
    LETHE_ASSERT_NO_ERROR(err);
    guint ngroup = 0;
    while (ngroup < h->n_signals &&
           strcmp(h->signals[ngroup].file_name, h->signals[0].file_name) == 0)
      ngroup++;
    const gint64 ks[3] = {0, r->n_samples / 2 + 17, r->n_samples - 1};
    for (guint s = 0; s < ngroup; s++)
      for (int q = 0; q < 3; q++) {
        double want = raw16_physical(dat, &h->signals[s], ngroup, s, ks[q]);
        double got = r->physical[(gsize)s * r->n_samples + ks[q]];
        sample_mismatch += fabs(want - got) > 1e-6 * MAX(1.0, fabs(want));
      }
  }
  CU_ASSERT_EQUAL(loaded, expect_records);
  CU_ASSERT_EQUAL(sample_mismatch, 0);
  return loaded;
}

static void
test_wfdb_reads_every_ludb_record(void)
{
  g_autofree char *zip = shared_path("ecg/ludb-1.0.1.zip");
  if (zip == NULL) {
    CU_FAIL("shared data missing");
    return;
  }
  CU_ASSERT_EQUAL(check_every_record(zip, 200, 12), 200);

  /* Record 1, cross-checked with NumPy reading 1.dat as '<i2' × 12:
   * ii[1000] = 0 → (0 − 2) / 1206 mV; v6[3000] = −22 → (−22 − 1) / 1457 mV. */
  GError *err = NULL;
  g_autoptr(WfdbSource) src = wfdb_source_open(zip, "1", &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_EQUAL_FATAL(wfdb_source_get_records(src)->len, 1);
  g_autoptr(WfdbRecord) r = wfdb_record_load(src, wfdb_source_get_records(src)->pdata[0], &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_STRING_EQUAL(r->name, "1");
  CU_ASSERT_DOUBLE_EQUAL(r->header->fs, 500.0, 0);
  CU_ASSERT_EQUAL(r->n_samples, 5000);
  CU_ASSERT_DOUBLE_EQUAL(r->physical[1 * 5000 + 1000], -2.0 / 1206.0, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL(r->physical[11 * 5000 + 3000], -23.0 / 1457.0, 1e-7);
  CU_ASSERT_STRING_EQUAL(wfdb_header_get_info(r->header, "Rhythm"), "Sinus bradycardia.");
  CU_ASSERT_STRING_EQUAL(wfdb_header_get_info(r->header, "age"), "51");

  /* The cardiologists' QRS peaks on lead ii (NumPy: codes 1 at these samples). */
  g_autoptr(GArray) anns = wfdb_record_load_annotations(src, r, "ii", &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_EQUAL(anns->len, 48);
  const gint64 qrs[6] = {662, 1342, 2000, 2642, 3314, 3969};
  guint nq = 0;
  for (guint i = 0; i < anns->len; i++) {
    WfdbAnnotation *a = &g_array_index(anns, WfdbAnnotation, i);
    if (a->code == 1) {
      CU_ASSERT(nq < 6 && a->sample == qrs[nq]);
      nq++;
    }
  }
  CU_ASSERT_EQUAL(nq, 6);
  g_autoptr(GArray) none = wfdb_record_load_annotations(src, r, "atr", &err);
  CU_ASSERT_PTR_NULL(none);
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "record '1': no annotation file");

  /* Every lead's annotation file of every record parses, in time order. */
  g_autoptr(WfdbSource) all = wfdb_source_open(zip, NULL, &err);
  static const char *const leads[12] = {"i",  "ii", "iii", "avr", "avl", "avf",
                                        "v1", "v2", "v3",  "v4",  "v5",  "v6"};
  guint files = 0, unordered = 0, qrs_total = 0;
  GPtrArray *recs = wfdb_source_get_records(all);
  for (guint i = 0; i < recs->len; i++) {
    WfdbRecord fake = {.key = recs->pdata[i], .name = recs->pdata[i]};
    for (int l = 0; l < 12; l++) {
      g_autoptr(GArray) a = wfdb_record_load_annotations(all, &fake, leads[l], &err);
      LETHE_ASSERT_NO_ERROR(err);
      files++;
      for (guint k = 0; k < a->len; k++) {
        WfdbAnnotation *x = &g_array_index(a, WfdbAnnotation, k);
        unordered += k > 0 && x->sample < g_array_index(a, WfdbAnnotation, k - 1).sample;
        unordered += x->sample >= 5000;
        qrs_total += x->code == 1;
      }
    }
  }
  CU_ASSERT_EQUAL(files, 2400);
  CU_ASSERT_EQUAL(unordered, 0);
  CU_ASSERT(qrs_total > 200 * 12 * 5);
}

static void
test_wfdb_reads_every_cinc_record(void)
{
  g_autofree char *zip = shared_path("ecg/cinc2021-sample.zip");
  if (zip == NULL) {
    CU_FAIL("shared data missing");
    return;
  }
  CU_ASSERT_EQUAL(check_every_record(zip, 50, 12), 50);
  GError *err = NULL;
  g_autoptr(WfdbSource) src = wfdb_source_open(zip, "E07500", &err);
  LETHE_ASSERT_NO_ERROR(err);
  g_autoptr(WfdbRecord) r = wfdb_record_load(src, wfdb_source_get_records(src)->pdata[0], &err);
  LETHE_ASSERT_NO_ERROR(err);
  /* NumPy, '<i2' from byte 24: V1 (signal 6) sample 2500 is −53, gain 1000. */
  CU_ASSERT_DOUBLE_EQUAL(r->physical[6 * 5000 + 2500], -0.053, 1e-7);
  CU_ASSERT_EQUAL(r->header->signals[0].byte_offset, 24);
  CU_ASSERT_STRING_EQUAL(wfdb_header_get_info(r->header, "Dx"), "67741000119109,426177001");
}

static void
test_wfdb_reads_loose_records_over_several_files(void)
{
  g_autofree char *dir = shared_path("ecg/records");
  if (dir == NULL) {
    CU_FAIL("shared data missing");
    return;
  }
  check_every_record(dir, 2, 0);
  GError *err = NULL;
  g_autofree char *hea = g_build_filename(dir, "s0010_re.hea", NULL);
  g_autoptr(WfdbSource) src = wfdb_source_open(hea, NULL, &err);
  LETHE_ASSERT_NO_ERROR(err);
  g_autoptr(WfdbRecord) r = wfdb_record_load(src, "s0010_re", &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_EQUAL(r->header->n_signals, 15);
  CU_ASSERT_EQUAL(r->n_samples, 38400);
  /* vz is in s0010_re.xyz: NumPy gives its last sample as 58, gain 2000, no unit → mV. */
  CU_ASSERT_DOUBLE_EQUAL(r->physical[14 * 38400 + 38399], 58.0 / 2000.0, 1e-7);
  CU_ASSERT_STRING_EQUAL(r->header->signals[14].units, "mV");
  const char *const twelve[12] = {"I",  "II", "III", "aVR", "aVL", "aVF",
                                  "V1", "V2", "V3",  "V4",  "V5",  "V6"};
  guint idx[12];
  CU_ASSERT_TRUE(wfdb_match_leads(r, twelve, 12, idx, &err));
  CU_ASSERT_EQUAL(idx[3], 3);
  CU_ASSERT_EQUAL(idx[11], 11);
  const char *const more[3] = {"ii", "V7", "aVX"};
  CU_ASSERT_FALSE(wfdb_match_leads(r, more, 3, idx, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                     "record 's0010_re': 2 of the 3 required leads are missing: V7, aVX (the "
                     "record has 15 signals: i, ii, iii");
  /* 00001_lr writes checksums unsigned (64758 for -778): accepted. */
  g_autoptr(WfdbSource) s2 = wfdb_source_open(dir, "00001*", &err);
  g_autoptr(WfdbRecord) r2 = wfdb_record_load(s2, "00001_lr", &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_DOUBLE_EQUAL(r2->header->fs, 100.0, 0);
}

/* ---- Bad records ----------------------------------------------------------- */

static void
write_record(const char *name, const char *hea, const gint16 *samples, gsize n)
{
  g_autofree char *h = g_strconcat(name, ".hea", NULL);
  g_autofree char *d = g_strconcat(name, ".dat", NULL);
  g_free(tmp_file(h, hea, strlen(hea)));
  if (samples)
    g_free(tmp_file(d, samples, n * 2));
}

static void
test_wfdb_refuses_records_that_lie(void)
{
  const gint16 s[8] = {1, 2, 3, 4, -5, 6, 7, 8}; /* 4 frames of 2 signals; sums 6 and 20 */
  GError *err = NULL;
  write_record(
      "good", "good 2 500 4\ngood.dat 16 100 16 0 1 6 0 i\ngood.dat 16 100 16 0 2 20 0 ii\n", s, 8);
  write_record(
      "long", "long 2 500 5\nlong.dat 16 100 16 0 1 6 0 i\nlong.dat 16 100 16 0 2 20 0 ii\n", s, 8);
  write_record("short",
               "short 2 500 3\nshort.dat 16 100 16 0 1 6 0 i\nshort.dat 16 100 16 0 2 20 0 ii\n", s,
               8);
  write_record("sum", "sum 2 500 4\nsum.dat 16 100 16 0 1 6 0 i\nsum.dat 16 100 16 0 2 21 0 ii\n",
               s, 8);
  write_record("nodat", "nodat 1 500 4\nnodat.dat 16 100 16 0 1 6 0 i\n", NULL, 0);
  const gint16 nan[2] = {5, G_MININT16};
  write_record("nan", "nan 1 500 2\nnan.dat 16 100(5)/mV 16 0 5 -32763 0 i\n", nan, 2);

  g_autoptr(WfdbSource) src = wfdb_source_open(tmpdir, NULL, &err);
  LETHE_ASSERT_NO_ERROR(err);
  g_autoptr(WfdbRecord) good = wfdb_record_load(src, "good", &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_DOUBLE_EQUAL(good->physical[4 + 2], 6.0 / 100.0, 1e-7); /* ii, frame 2 */
  CU_ASSERT_DOUBLE_EQUAL(good->physical[1], 3.0 / 100.0, 1e-7);     /* i, frame 1 */

  CU_ASSERT_PTR_NULL(wfdb_record_load(src, "long", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE,
                     "record 'long': long.hea declares 5 samples per signal, but 'long.dat' (16 "
                     "bytes, 2 signals, format 16, offset 0) holds 4 (truncated file, or the "
                     "header lies)");
  CU_ASSERT_PTR_NULL(wfdb_record_load(src, "short", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "the header lies about the length");
  CU_ASSERT_PTR_NULL(wfdb_record_load(src, "sum", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE,
                     "record 'sum': signal 1 (ii) in 'sum.dat': checksum of the samples is 20, "
                     "sum.hea:3 says 21");
  CU_ASSERT_PTR_NULL(wfdb_record_load(src, "nodat", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                     "record 'nodat': signal file 'nodat.dat' named at nodat.hea:2 is missing");
  g_autoptr(WfdbRecord) n = wfdb_record_load(src, "nan", &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_EQUAL(n->n_invalid, 1);
  CU_ASSERT_DOUBLE_EQUAL(n->physical[0], 0.0, 0);
  CU_ASSERT_TRUE(isnan(n->physical[1]));

  CU_ASSERT_PTR_NULL(wfdb_source_open(tmpdir, "zzz*", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "matches the record filter zzz*");
  CU_ASSERT_PTR_NULL(wfdb_source_open("/nonexistent/db.zip", NULL, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "/nonexistent/db.zip: no such");
}

static void
test_wfdb_refuses_truncated_and_corrupt_archives(void)
{
  g_autofree char *zip = shared_path("ecg/cinc2021-sample.zip");
  if (zip == NULL) {
    CU_FAIL("shared data missing");
    return;
  }
  gchar *data;
  gsize len;
  g_assert(g_file_get_contents(zip, &data, &len, NULL));
  GError *err = NULL;
  g_autofree char *cut = tmp_file("cut.zip", data, len / 3);
  WfdbSource *s = wfdb_source_open(cut, NULL, &err);
  CU_ASSERT_PTR_NULL(s);
  wfdb_source_free(s);
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "cut.zip: corrupt or truncated archive");
  /* Flip bytes inside the compressed data of an entry. */
  for (gsize i = len / 2; i < len / 2 + 64; i++)
    data[i] ^= 0x5a;
  g_autofree char *bad = tmp_file("bad.zip", data, len);
  s = wfdb_source_open(bad, NULL, &err);
  CU_ASSERT_PTR_NULL(s);
  wfdb_source_free(s);
  CU_ASSERT_PTR_NOT_NULL_FATAL(err);
  CU_ASSERT_PTR_NOT_NULL(
      strstr(err->message, "bad.zip: corrupt or truncated archive (while reading 'cinc/"));
  g_clear_error(&err);
  g_free(data);
}

/* ---- Filters ------------------------------------------------------------- */

static double
rms_tail(const float *x, gint64 from, gint64 n)
{
  double s = 0;
  for (gint64 i = from; i < n; i++)
    s += (double)x[i] * x[i];
  return sqrt(s / (double)(n - from));
}

static void
test_signal_bandpass_keeps_passband_and_cuts_stopband(void)
{
  const gint64 n = 5000;
  const double fs = 500;
  g_autofree float *pass = g_new(float, n);
  g_autofree float *low = g_new(float, n);
  g_autofree float *high = g_new(float, n);
  for (gint64 i = 0; i < n; i++) {
    double t = (double)i / fs;
    pass[i] = (float)(sin(2 * G_PI * 10 * t) + 3.0); /* 10 Hz plus DC */
    low[i] = (float)sin(2 * G_PI * 0.05 * t);
    high[i] = (float)sin(2 * G_PI * 150 * t);
  }
  signal_bandpass(pass, n, fs, 0.5, 40);
  signal_bandpass(low, n, fs, 0.5, 40);
  signal_bandpass(high, n, fs, 0.5, 40);
  /* Middle of the record, away from the edges. */
  CU_ASSERT_DOUBLE_EQUAL(rms_tail(pass, 1000, 4000), sqrt(0.5), 0.01);
  CU_ASSERT(rms_tail(low, 1000, 4000) < 0.01);
  if (rms_tail(high, 1000, 4000) >= 0.001)
    fprintf(stderr, "\n  150 Hz rms %g\n", rms_tail(high, 1000, 4000));
  CU_ASSERT(rms_tail(high, 1000, 4000) < 0.001);
}

static void
test_signal_resample_preserves_a_slow_sine(void)
{
  const gint64 n = 5000;
  g_autofree float *x = g_new(float, n);
  for (gint64 i = 0; i < n; i++)
    x[i] = (float)sin(2 * G_PI * 3 * (double)i / 500.0);
  gint64 m = signal_resample_length(n, 500, 100);
  CU_ASSERT_EQUAL(m, 1000);
  g_autofree float *y = g_new(float, m);
  signal_resample(x, n, 500, 100, y, m);
  double err = 0;
  for (gint64 j = 100; j < m - 100; j++)
    err = MAX(err, fabs(y[j] - sin(2 * G_PI * 3 * (double)j / 100.0)));
  CU_ASSERT(err < 0.01);
  CU_ASSERT_EQUAL(signal_resample_length(1000, 100, 500), 4996);
  g_autofree float *up = g_new(float, 4996);
  signal_resample(y, 1000, 100, 500, up, 4996);
  CU_ASSERT_DOUBLE_EQUAL(up[5], y[1], 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(up[7], 0.6 * y[1] + 0.4 * y[2], 1e-6);
}

/* Found by fuzz-wfdb-record: an empty signal file (NULL data) went
 * through pointer arithmetic, and an empty header through g_strndup(NULL). */
static void
test_wfdb_empty_header_and_empty_signal_file(void)
{
  GError *err = NULL;
  g_autoptr(WfdbHeader) none = wfdb_header_parse(NULL, 0, "e.hea", &err);
  CU_ASSERT_PTR_NULL(none);
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "e.hea: no record line");

  g_autoptr(GHashTable) entries =
      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
  const char hea[] = "r 1 250\nr.dat 212 200 12 0 0 0 0 i\n";
  g_hash_table_insert(entries, g_strdup("d/r.hea"), g_bytes_new(hea, sizeof hea - 1));
  g_hash_table_insert(entries, g_strdup("d/r.dat"), g_bytes_new(NULL, 0));
  g_hash_table_insert(entries, g_strdup("d/e.hea"), g_bytes_new(NULL, 0));
  g_autoptr(WfdbSource) src = wfdb_source_new_from_entries("mem.zip", entries);
  CU_ASSERT_EQUAL(wfdb_source_get_records(src)->len, 2);

  g_autoptr(WfdbRecord) r = wfdb_record_load(src, "d/r", &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_EQUAL(r->n_samples, 0);
  CU_ASSERT_EQUAL(r->n_invalid, 0);
  g_autoptr(WfdbRecord) e = wfdb_record_load(src, "d/e", &err);
  CU_ASSERT_PTR_NULL(e);
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "no record line");
}

/* Headers declaring sizes no file can hold: refused from the header and
 * the signal file's size, before anything that large is allocated (the
 * products overflow 64 bits if computed naively). */
static void
test_wfdb_refuses_absurd_sizes_before_allocating(void)
{
  const gint16 s[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  GError *err = NULL;
  write_record("huge",
               "huge 4 500 4611686018427387904\nhuge.dat 16 100 16 0 1 0 0 i\n"
               "huge.dat 16 100 16 0 2 0 0 ii\nhuge.dat 16 100 16 0 3 0 0 iii\n"
               "huge.dat 16 100 16 0 4 0 0 avr\n",
               s, 8);
  write_record("wide", "wide 100000000 500 4\nwide.dat 16\n", s, 8);
  g_autoptr(WfdbSource) src = wfdb_source_open(tmpdir, NULL, &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_PTR_NULL(wfdb_record_load(src, "huge", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE,
                     "huge.hea declares 4611686018427387904 samples per signal");
  g_clear_error(&err);
  CU_ASSERT_PTR_NULL(wfdb_record_load(src, "wide", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "expected the number of signals");
  g_clear_error(&err);
}

LETHE_TEST_MAIN("wfdb", LETHE_TEST(test_wfdb_header_parses_fields_and_defaults),
                LETHE_TEST(test_wfdb_refuses_absurd_sizes_before_allocating),
                LETHE_TEST(test_wfdb_empty_header_and_empty_signal_file),
                LETHE_TEST(test_wfdb_header_errors_name_file_and_line),
                LETHE_TEST(test_wfdb_decodes_formats_16_61_80_212),
                LETHE_TEST(test_wfdb_checksum_wraps_modulo_65536),
                LETHE_TEST(test_wfdb_annotations_decode_skip_aux_chan_num),
                LETHE_TEST(test_wfdb_annotations_refuse_truncated_files),
                LETHE_TEST(test_wfdb_reads_every_ludb_record),
                LETHE_TEST(test_wfdb_reads_every_cinc_record),
                LETHE_TEST(test_wfdb_reads_loose_records_over_several_files),
                LETHE_TEST(test_wfdb_refuses_records_that_lie),
                LETHE_TEST(test_wfdb_refuses_truncated_and_corrupt_archives),
                LETHE_TEST(test_signal_bandpass_keeps_passband_and_cuts_stopband),
                LETHE_TEST(test_signal_resample_preserves_a_slow_sine))
