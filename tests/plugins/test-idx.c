/* Lethe — tests of the IDX reader (plugins/data/idx/idx-parse.c).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include <lethe/error.h>

#include "idx-parse.h"
#include "lethe-test.h"

static char *tmpdir;

static char *
tmp_path(const char *name)
{
  if (tmpdir == NULL)
    tmpdir = g_dir_make_tmp("lethe-idx-XXXXXX", NULL);
  return g_build_filename(tmpdir, name, NULL);
}

/* An IDX u8 file of @n items of @h × @w with element i = (i * 7) % 256. */
static GByteArray *
make_idx_u8(guint32 n, guint32 h, guint32 w, guint rank)
{
  GByteArray *a = g_byte_array_new();
  guint8 magic[4] = {0, 0, 0x08, (guint8)rank};
  g_byte_array_append(a, magic, 4);
  guint32 dims[3] = {n, h, w};
  for (guint i = 0; i < rank; i++) {
    guint32 be = GUINT32_TO_BE(dims[i]);
    g_byte_array_append(a, (guint8 *)&be, 4);
  }
  guint64 total = rank == 1 ? n : (guint64)n * h * w;
  for (guint64 i = 0; i < total; i++) {
    guint8 v = (guint8)((i * 7) % 256);
    g_byte_array_append(a, &v, 1);
  }
  return a;
}

static char *
write_file(const char *name, const guint8 *data, gsize len)
{
  char *path = tmp_path(name);
  g_assert(g_file_set_contents(path, (const char *)data, (gssize)len, NULL));
  return path;
}

static GBytes *
gzip_bytes(const guint8 *data, gsize len)
{
  g_autoptr(GZlibCompressor) z = g_zlib_compressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
  g_autoptr(GInputStream) mem = g_memory_input_stream_new_from_data(data, (gssize)len, NULL);
  g_autoptr(GInputStream) conv = g_converter_input_stream_new(mem, G_CONVERTER(z));
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable();
  g_assert(g_output_stream_splice(out, conv, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, NULL) >= 0);
  return g_memory_output_stream_steal_as_bytes(G_MEMORY_OUTPUT_STREAM(out));
}

/* Decompresses a gzip file with GIO's zlib converter: a second,
 * independent path to the bytes libarchive must produce. */
static GBytes *
gunzip_file(const char *path)
{
  g_autoptr(GFile) f = g_file_new_for_path(path);
  g_autoptr(GFileInputStream) in = g_file_read(f, NULL, NULL);
  if (in == NULL)
    return NULL;
  g_autoptr(GZlibDecompressor) z = g_zlib_decompressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr(GInputStream) conv = g_converter_input_stream_new(G_INPUT_STREAM(in), G_CONVERTER(z));
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable();
  g_assert(g_output_stream_splice(out, conv, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, NULL) >= 0);
  return g_memory_output_stream_steal_as_bytes(G_MEMORY_OUTPUT_STREAM(out));
}

static void
test_idx_header_parses_dims_and_sizes(void)
{
  g_autoptr(GByteArray) a = make_idx_u8(3, 4, 5, 3);
  IdxHeader h;
  GError *err = NULL;
  CU_ASSERT_TRUE(idx_parse_header(a->data, a->len, "mem", &h, &err));
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_EQUAL(h.type, IDX_TYPE_U8);
  CU_ASSERT_EQUAL(h.rank, 3);
  CU_ASSERT_EQUAL(h.dims[0], 3);
  CU_ASSERT_EQUAL(h.dims[1], 4);
  CU_ASSERT_EQUAL(h.dims[2], 5);
  CU_ASSERT_EQUAL(h.header_size, 16);
  CU_ASSERT_EQUAL(h.n_elements, 60);
  CU_ASSERT_EQUAL(h.payload_size, 60);
}

static void
test_idx_header_refuses_wrong_magic(void)
{
  const guint8 png[8] = {0x89, 'P', 'N', 'G', 0, 0, 0, 1};
  const guint8 bad_type[8] = {0, 0, 0x07, 1, 0, 0, 0, 1};
  const guint8 rank0[8] = {0, 0, 0x08, 0, 0, 0, 0, 1};
  IdxHeader h;
  GError *err = NULL;
  CU_ASSERT_FALSE(idx_parse_header(png, 8, "x.idx", &h, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE,
                     "x.idx: not an IDX file: magic at offset 0 is 89 50 4e 47");
  CU_ASSERT_FALSE(idx_parse_header(bad_type, 8, "x.idx", &h, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "not an IDX file");
  CU_ASSERT_FALSE(idx_parse_header(rank0, 8, "x.idx", &h, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "not an IDX file");
  CU_ASSERT_FALSE(idx_parse_header(png, 3, "x.idx", &h, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "truncated IDX header: 3 bytes");
  const guint8 short_dims[10] = {0, 0, 0x08, 3, 0, 0, 0, 1, 0, 0};
  CU_ASSERT_FALSE(idx_parse_header(short_dims, 10, "x.idx", &h, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "rank 3 needs 16");
}

static void
test_idx_header_refuses_overflowing_dims(void)
{
  guint8 d[4 + 32] = {0, 0, 0x0E, 8};
  memset(d + 4, 0xff, 32);
  IdxHeader h;
  GError *err = NULL;
  CU_ASSERT_FALSE(idx_parse_header(d, sizeof d, "big.idx", &h, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_LIMIT, "big.idx: IDX extents overflow");
}

static void
test_idx_convert_handles_every_type(void)
{
  const guint8 i16[4] = {0xff, 0xfe, 0x01, 0x00}; /* -2, 256 */
  float f[2];
  idx_convert_f32(IDX_TYPE_I16, i16, 2, 0.5f, f);
  CU_ASSERT_DOUBLE_EQUAL(f[0], -1.0, 0);
  CU_ASSERT_DOUBLE_EQUAL(f[1], 128.0, 0);
  const guint8 f32be[4] = {0x40, 0x49, 0x0f, 0xdb}; /* pi */
  idx_convert_f32(IDX_TYPE_F32, f32be, 1, 1.0f, f);
  CU_ASSERT_DOUBLE_EQUAL(f[0], G_PI, 1e-6);
  const guint8 f64be[8] = {0xc0, 0x04, 0, 0, 0, 0, 0, 0}; /* -2.5 */
  idx_convert_f32(IDX_TYPE_F64, f64be, 1, 1.0f, f);
  CU_ASSERT_DOUBLE_EQUAL(f[0], -2.5, 0);
  gint32 l[2];
  const guint8 i8[2] = {0xff, 0x05};
  CU_ASSERT_TRUE(idx_convert_i32(IDX_TYPE_I8, i8, 2, l));
  CU_ASSERT_EQUAL(l[0], -1);
  CU_ASSERT_EQUAL(l[1], 5);
  CU_ASSERT_FALSE(idx_convert_i32(IDX_TYPE_F32, f32be, 1, l));
}

static void
check_synthetic_values(const float *x, guint64 n, float scale)
{
  for (guint64 i = 0; i < n; i++)
    if (x[i] != (float)((i * 7) % 256) * scale) {
      CU_FAIL("value differs from the bytes written");
      return;
    }
  CU_PASS("values match");
}

static void
test_idx_reader_reads_plain_and_gzip_alike(void)
{
  g_autoptr(GByteArray) a = make_idx_u8(10, 6, 7, 3);
  g_autofree char *plain = write_file("plain-idx3-ubyte", a->data, a->len);
  g_autoptr(GBytes) gz = gzip_bytes(a->data, a->len);
  g_autofree char *gzp =
      write_file("gz-idx3-ubyte.gz", g_bytes_get_data(gz, NULL), g_bytes_get_size(gz));
  const char *paths[2] = {plain, gzp};
  for (int k = 0; k < 2; k++) {
    GError *err = NULL;
    g_autoptr(IdxReader) r = idx_reader_open(paths[k], 1 << 20, &err);
    LETHE_ASSERT_NO_ERROR(err);
    const IdxHeader *h = idx_reader_get_header(r);
    CU_ASSERT_EQUAL(h->dims[0], 10);
    g_autofree float *x = g_new(float, 420);
    CU_ASSERT_TRUE(idx_reader_read_f32(r, 10, 1.0f / 255.0f, x, &err));
    LETHE_ASSERT_NO_ERROR(err);
    check_synthetic_values(x, 420, 1.0f / 255.0f);
  }
  /* A prefix of the items: no trailing-data check, values still exact. */
  GError *err = NULL;
  g_autoptr(IdxReader) r = idx_reader_open(gzp, 1 << 20, &err);
  g_autofree float *x = g_new(float, 84);
  CU_ASSERT_TRUE(idx_reader_read_f32(r, 2, 1.0f, x, &err));
  LETHE_ASSERT_NO_ERROR(err);
  check_synthetic_values(x, 84, 1.0f);
}

static void
test_idx_reader_refuses_lying_sizes(void)
{
  g_autoptr(GByteArray) a = make_idx_u8(10, 6, 7, 3);
  GError *err = NULL;

  /* Plain file one byte short: refused at open, before any allocation. */
  g_autofree char *short_path = write_file("short-idx3-ubyte", a->data, a->len - 1);
  CU_ASSERT_PTR_NULL(idx_reader_open(short_path, 1 << 20, &err));
  LETHE_ASSERT_ERROR(
      err, LETHE_ERROR, LETHE_ERROR_PARSE,
      "short-idx3-ubyte: IDX header (offset 4) declares [10, 6, 7] u8 elements = 420 bytes after "
      "the 16-byte header, but the file has 419 bytes there (truncated)");

  /* Plain file with trailing bytes. */
  g_byte_array_append(a, (const guint8 *)"xx", 2);
  g_autofree char *long_path = write_file("long-idx3-ubyte", a->data, a->len);
  CU_ASSERT_PTR_NULL(idx_reader_open(long_path, 1 << 20, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "(trailing data)");

  /* Gzip whose content is one item short: found while streaming. */
  g_autoptr(GBytes) gz = gzip_bytes(a->data, a->len - 2 - 42);
  g_autofree char *gzp =
      write_file("short-idx3-ubyte.gz", g_bytes_get_data(gz, NULL), g_bytes_get_size(gz));
  g_autoptr(IdxReader) r = idx_reader_open(gzp, 1 << 20, &err);
  LETHE_ASSERT_NO_ERROR(err);
  g_autofree float *x = g_new(float, 420);
  CU_ASSERT_FALSE(idx_reader_read_f32(r, 10, 1.0f, x, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE,
                     "short-idx3-ubyte.gz: truncated: the data ends at byte offset 394");

  /* Gzip with trailing data after the payload. */
  g_autoptr(GBytes) gz2 = gzip_bytes(a->data, a->len);
  g_autofree char *gzp2 =
      write_file("long-idx3-ubyte.gz", g_bytes_get_data(gz2, NULL), g_bytes_get_size(gz2));
  g_autoptr(IdxReader) r2 = idx_reader_open(gzp2, 1 << 20, &err);
  CU_ASSERT_FALSE(idx_reader_read_f32(r2, 10, 1.0f, x, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "trailing data after byte offset 436");
}

static void
test_idx_reader_refuses_absurd_sizes_before_allocating(void)
{
  /* A tiny gzip claiming 2^31 × 2^16 f64 elements. */
  guint8 d[16] = {0, 0, 0x0E, 3, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
  g_autoptr(GBytes) gz = gzip_bytes(d, sizeof d);
  g_autofree char *p = write_file("absurd.gz", g_bytes_get_data(gz, NULL), g_bytes_get_size(gz));
  GError *err = NULL;
  CU_ASSERT_PTR_NULL(idx_reader_open(p, G_MAXUINT64, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "more than a");
  CU_ASSERT_PTR_NULL(idx_reader_open(p, 1 << 20, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_LIMIT, "above the limit of 1048576 bytes");
}

static void
test_idx_reader_reports_corrupt_gzip(void)
{
  g_autoptr(GByteArray) a = make_idx_u8(200, 28, 28, 3);
  /* Make it incompressible-ish so the cut lands in the deflate data. */
  for (guint i = 16; i < a->len; i++)
    a->data[i] = (guint8)g_random_int();
  g_autoptr(GBytes) gz = gzip_bytes(a->data, a->len);
  gsize len;
  const guint8 *gzd = g_bytes_get_data(gz, &len);
  g_autofree char *cut = write_file("cut-idx3-ubyte.gz", gzd, len / 2);
  GError *err = NULL;
  g_autoptr(IdxReader) r = idx_reader_open(cut, 1 << 30, &err);
  LETHE_ASSERT_NO_ERROR(err);
  g_autofree float *x = g_new(float, 200 * 784);
  CU_ASSERT_FALSE(idx_reader_read_f32(r, 200, 1.0f, x, &err));
  CU_ASSERT_PTR_NOT_NULL_FATAL(err);
  CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "cut-idx3-ubyte.gz: "));
  CU_ASSERT_PTR_NOT_NULL(strstr(err->message, "byte"));
  g_clear_error(&err);

  g_autofree char *empty = write_file("empty.gz", (const guint8 *)"", 0);
  CU_ASSERT_PTR_NULL(idx_reader_open(empty, 1 << 20, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "empty.gz: the file is empty");
  CU_ASSERT_PTR_NULL(idx_reader_open("/nonexistent/labels.gz", 1 << 20, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "/nonexistent/labels.gz");
}

static void
test_idx_labels_out_of_range_name_item_and_offset(void)
{
  gint32 y[4] = {0, 9, 10, 3};
  IdxHeader h = {.type = IDX_TYPE_U8, .rank = 1, .elem_size = 1, .header_size = 8};
  GError *err = NULL;
  CU_ASSERT_TRUE(idx_check_labels(y, 2, 10, "l.gz", &h, &err));
  CU_ASSERT_FALSE(idx_check_labels(y, 4, 10, "l.gz", &h, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "l.gz: label 10 of item 2 (byte offset 10) is outside [0, 10)");
}

static void
test_idx_reads_fashion_mnist_like_zlib(void)
{
  const char *names[2] = {"t10k-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"};
  for (int k = 0; k < 2; k++) {
    g_autofree char *path = g_build_filename(LETHE_FMNIST_DIR, names[k], NULL);
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
      fprintf(stderr, "\n  SKIP: %s missing (install dataset-fashion-mnist)\n", path);
      CU_FAIL("Fashion-MNIST is not installed");
      return;
    }
    g_autoptr(GBytes) raw = gunzip_file(path);
    gsize raw_len;
    const guint8 *rd = g_bytes_get_data(raw, &raw_len);
    GError *err = NULL;
    g_autoptr(IdxReader) r = idx_reader_open(path, G_MAXUINT32, &err);
    LETHE_ASSERT_NO_ERROR(err);
    const IdxHeader *h = idx_reader_get_header(r);
    CU_ASSERT_EQUAL(h->header_size + h->payload_size, raw_len);
    if (k == 0) {
      CU_ASSERT_EQUAL(h->rank, 3);
      CU_ASSERT_EQUAL(h->dims[0], 10000);
      CU_ASSERT_EQUAL(h->dims[1], 28);
      CU_ASSERT_EQUAL(h->dims[2], 28);
      g_autofree float *x = g_new(float, h->n_elements);
      CU_ASSERT_TRUE(idx_reader_read_f32(r, h->dims[0], 1.0f / 255.0f, x, &err));
      LETHE_ASSERT_NO_ERROR(err);
      gsize bad = 0;
      for (guint64 i = 0; i < h->n_elements; i++)
        bad += x[i] != rd[16 + i] * (1.0f / 255.0f);
      CU_ASSERT_EQUAL(bad, 0);
    } else {
      CU_ASSERT_EQUAL(h->rank, 1);
      CU_ASSERT_EQUAL(h->dims[0], 60000);
      g_autofree gint32 *y = g_new(gint32, 60000);
      CU_ASSERT_TRUE(idx_reader_read_i32(r, 60000, y, &err));
      LETHE_ASSERT_NO_ERROR(err);
      CU_ASSERT_TRUE(idx_check_labels(y, 60000, 10, path, h, &err));
      /* Fashion-MNIST's training set is balanced: 6,000 images per class. */
      int counts[10] = {0};
      for (int i = 0; i < 60000; i++)
        counts[y[i]]++;
      for (int c = 0; c < 10; c++)
        CU_ASSERT_EQUAL(counts[c], 6000);
      CU_ASSERT_EQUAL(y[0], rd[8]);
      CU_ASSERT_EQUAL(y[59999], rd[8 + 59999]);
    }
  }
}

LETHE_TEST_MAIN("idx", LETHE_TEST(test_idx_header_parses_dims_and_sizes),
                LETHE_TEST(test_idx_header_refuses_wrong_magic),
                LETHE_TEST(test_idx_header_refuses_overflowing_dims),
                LETHE_TEST(test_idx_convert_handles_every_type),
                LETHE_TEST(test_idx_reader_reads_plain_and_gzip_alike),
                LETHE_TEST(test_idx_reader_refuses_lying_sizes),
                LETHE_TEST(test_idx_reader_refuses_absurd_sizes_before_allocating),
                LETHE_TEST(test_idx_reader_reports_corrupt_gzip),
                LETHE_TEST(test_idx_labels_out_of_range_name_item_and_offset),
                LETHE_TEST(test_idx_reads_fashion_mnist_like_zlib))
