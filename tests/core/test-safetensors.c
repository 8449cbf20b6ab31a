/* Lethe — safetensors checkpoints.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <lethe/error.h>
#include <lethe/safetensors.h>

#include <glib/gstdio.h>

static char *tmp_dir;

static char *
tmp_path(const char *name)
{
  if (!tmp_dir)
    tmp_dir = g_dir_make_tmp("lethe-safetensors-XXXXXX", NULL);
  return g_build_filename(tmp_dir, name, NULL);
}

/* A frame with every dtype, odd sizes (so alignment matters), a strided
 * view, and metadata of several types. */
static LetheFrame *
sample_frame(void)
{
  LetheFrame *f = lethe_frame_new();
  LetheTensor *u = lethe_tensor_new_1d(LETHE_DTYPE_U8, 5);
  for (int i = 0; i < 5; i++)
    lethe_tensor_u8(u)[i] = (guint8)(250 + i);
  lethe_frame_take_tensor(f, "mask", u);
  LetheTensor *w = lethe_tensor_new_2d(LETHE_DTYPE_F32, 3, 4);
  for (int i = 0; i < 12; i++)
    lethe_tensor_f32(w)[i] = (float)i * 0.25f - 1.0f;
  lethe_frame_take_tensor(f, "fc.weight", w);
  LetheTensor *b = lethe_tensor_new_1d(LETHE_DTYPE_F64, 3);
  lethe_tensor_f64(b)[0] = 1.0 / 3.0;
  lethe_tensor_f64(b)[1] = -1e300;
  lethe_tensor_f64(b)[2] = 5e-324;
  lethe_frame_take_tensor(f, "fc.bias", b);
  LetheTensor *y = lethe_tensor_new_1d(LETHE_DTYPE_I32, 2);
  lethe_tensor_i32(y)[0] = -2147483647;
  lethe_tensor_i32(y)[1] = 42;
  lethe_frame_take_tensor(f, "y", y);
  LetheTensor *ids = lethe_tensor_new_1d(LETHE_DTYPE_I64, 2);
  lethe_tensor_i64(ids)[0] = G_GINT64_CONSTANT(1) << 50;
  lethe_tensor_i64(ids)[1] = -3;
  lethe_frame_take_tensor(f, "ids", ids);
  LetheTensor *s = lethe_tensor_new_1d(LETHE_DTYPE_I8, 3);
  lethe_tensor_u8(s)[0] = (guint8)-128;
  lethe_tensor_u8(s)[1] = 0;
  lethe_tensor_u8(s)[2] = 127;
  lethe_frame_take_tensor(f, "signs", s);
  /* The transpose of fc.weight: written as its contiguous copy. */
  const gint64 shape[2] = {4, 3}, strides[2] = {1, 4};
  lethe_frame_take_tensor(
      f, "fc.weight.T",
      lethe_tensor_new_from_buffer(w->buffer, LETHE_DTYPE_F32, 2, shape, strides, 0, NULL));
  lethe_frame_take_tensor(f, "scalar", lethe_tensor_new_scalar_f64(2.5));
  lethe_frame_set_meta_string(f, "arch", "linear(4,3)");
  lethe_frame_set_meta_string(f, "model-kind", "sequential");
  lethe_frame_set_meta_int(f, "version", 7);
  lethe_frame_set_meta_int(f, "big", G_GINT64_CONSTANT(1) << 40);
  lethe_frame_set_meta_double(f, "lr", 0.001);
  const gint32 classes[3] = {0, 3, 9};
  lethe_frame_set_meta(f, "classes",
                       g_variant_new_fixed_array(G_VARIANT_TYPE_INT32, classes, 3, sizeof(gint32)));
  lethe_frame_set_meta_string(f, "note", "3"); /* a string that looks like a number */
  return f;
}

static void
assert_same_frames(const LetheFrame *a, const LetheFrame *b)
{
  CU_ASSERT_EQUAL_FATAL(lethe_frame_get_n_tensors(a), lethe_frame_get_n_tensors(b));
  for (guint i = 0; i < lethe_frame_get_n_tensors(a); i++) {
    const char *na, *nb;
    LetheTensor *ta = lethe_frame_get_nth(a, i, &na), *tb = lethe_frame_get_nth(b, i, &nb);
    CU_ASSERT_STRING_EQUAL(na, nb);
    CU_ASSERT_EQUAL(ta->dtype, tb->dtype);
    CU_ASSERT_TRUE(lethe_tensor_same_shape(ta, tb));
    int diff = 0;
    for (gint64 k = 0; k < lethe_tensor_n_elements(ta); k++)
      diff += lethe_tensor_get_f64(ta, k) != lethe_tensor_get_f64(tb, k);
    if (diff)
      fprintf(stderr, "\n  tensor '%s' differs in %d elements\n", na, diff);
    CU_ASSERT_EQUAL(diff, 0);
  }
  g_autoptr(GVariant) ma = lethe_frame_get_metadata(a);
  g_autoptr(GVariant) mb = lethe_frame_get_metadata(b);
  if (!g_variant_equal(ma, mb)) {
    g_autofree char *sa = g_variant_print(ma, TRUE), *sb = g_variant_print(mb, TRUE);
    fprintf(stderr, "\n  metadata %s\n        != %s\n", sa, sb);
  }
  CU_ASSERT_TRUE(g_variant_equal(ma, mb));
}

static void
test_safetensors_round_trip_is_zero_copy(void)
{
  GError *error = NULL;
  g_autofree char *path = tmp_path("model.safetensors");
  LetheFrame *f = sample_frame();
  CU_ASSERT_TRUE(lethe_safetensors_save(f, path, &error));
  LETHE_ASSERT_NO_ERROR(error);

  LetheFrame *back = lethe_safetensors_load(path, &error);
  LETHE_ASSERT_NO_ERROR(error);
  assert_same_frames(f, back);
  CU_ASSERT_TRUE(g_variant_is_of_type(lethe_frame_get_meta(back, "note"), G_VARIANT_TYPE_STRING));
  CU_ASSERT_EQUAL(lethe_frame_get_meta_int(back, "big", 0), G_GINT64_CONSTANT(1) << 40);

  /* Every tensor views the one file mapping, aligned for its dtype. */
  LetheBuffer *map = NULL;
  for (guint i = 0; i < lethe_frame_get_n_tensors(back); i++) {
    LetheTensor *t = lethe_frame_get_nth(back, i, NULL);
    CU_ASSERT_EQUAL(lethe_buffer_get_backing(t->buffer), LETHE_BUFFER_SUB);
    LetheBuffer *parent = lethe_buffer_get_parent(t->buffer);
    CU_ASSERT_EQUAL(lethe_buffer_get_backing(parent), LETHE_BUFFER_MAPPED_FILE);
    if (!map)
      map = parent;
    CU_ASSERT_PTR_EQUAL(parent, map);
    CU_ASSERT_EQUAL((guintptr)lethe_tensor_data(t) % lethe_dtype_size(t->dtype), 0);
    CU_ASSERT_FALSE(lethe_tensor_is_writable(t));
  }
  CU_ASSERT_EQUAL(lethe_buffer_get_refcount(map), 8);
  /* The data starts 64-byte aligned within the file, largest dtype first. */
  LetheTensor *w = lethe_frame_get_tensor(back, "fc.bias");
  CU_ASSERT_EQUAL(((guint8 *)lethe_tensor_data(w) - (guint8 *)lethe_buffer_get_data(map)) % 64, 0);
  lethe_frame_unref(back);
  lethe_frame_unref(f);
  g_unlink(path);
}

static void
append_expected(GString *s, const char *name, const char *dtype, const LetheTensor *t,
                gboolean last)
{
  g_string_append_printf(s, "{\"name\": \"%s\", \"dtype\": \"%s\", \"shape\": [", name, dtype);
  for (guint d = 0; d < t->rank; d++)
    g_string_append_printf(s, "%s%" G_GINT64_FORMAT, d ? ", " : "", t->shape[d]);
  g_string_append(s, "], \"values\": [");
  for (gint64 i = 0; i < lethe_tensor_n_elements(t); i++) {
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append_printf(s, "%s%s", i ? ", " : "",
                           g_ascii_dtostr(buf, sizeof buf, lethe_tensor_get_f64(t, i)));
  }
  g_string_append_printf(s, "]}%s", last ? "" : ", ");
}

static const char *
python(void)
{
  const char *p = g_getenv("LETHE_PYTHON");
  return p && p[0] ? p : NULL;
}

static void
test_safetensors_numpy_reads_lethe_checkpoints(void)
{
  static const char *const st[] = {"F32", "F64", "I32", "I64", "U8", "I8"};
  GError *error = NULL;
  if (!python()) {
    CU_FAIL("no python3 with numpy found at configure time (install python3-numpy)");
    return;
  }
  g_autofree char *path = tmp_path("check.safetensors");
  g_autofree char *expected = tmp_path("expected.json");
  LetheFrame *f = sample_frame();
  CU_ASSERT_TRUE(lethe_safetensors_save(f, path, &error));
  LETHE_ASSERT_NO_ERROR(error);

  GString *s = g_string_new("{\"tensors\": [");
  guint n = lethe_frame_get_n_tensors(f);
  for (guint i = 0; i < n; i++) {
    const char *name;
    LetheTensor *t = lethe_frame_get_nth(f, i, &name);
    append_expected(s, name, st[t->dtype], t, i + 1 == n);
  }
  g_string_append(s, "], \"metadata\": {\"arch\": \"linear(4,3)\", \"version\": \"7\", "
                     "\"big\": \"int64 1099511627776\", \"lr\": \"0.001\", "
                     "\"classes\": \"[0, 3, 9]\", \"note\": \"3\"}}");
  CU_ASSERT_TRUE(g_file_set_contents(expected, s->str, -1, NULL));
  g_string_free(s, TRUE);

  g_autofree char *script = g_build_filename(g_getenv("LETHE_SOURCE_ROOT"), "tests", "core",
                                             "safetensors-numpy.py", NULL);
  const char *argv[] = {python(), script, "check", path, expected, NULL};
  g_autofree char *out = NULL, *err = NULL;
  int status = -1;
  CU_ASSERT_TRUE_FATAL(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                                    &err, &status, &error));
  if (!g_spawn_check_wait_status(status, NULL))
    fprintf(stderr, "\n  python: %s%s\n", out, err);
  CU_ASSERT_STRING_EQUAL(out, "ok 8 tensors 8 metadata\n");
  CU_ASSERT_TRUE(g_spawn_check_wait_status(status, NULL));
  lethe_frame_unref(f);
  g_unlink(path);
  g_unlink(expected);
}

static void
test_safetensors_reads_files_of_other_writers(void)
{
  GError *error = NULL;
  if (!python()) {
    CU_FAIL("no python3 with numpy found at configure time (install python3-numpy)");
    return;
  }
  g_autofree char *path = tmp_path("other.safetensors");
  g_autofree char *script = g_build_filename(g_getenv("LETHE_SOURCE_ROOT"), "tests", "core",
                                             "safetensors-numpy.py", NULL);
  const char *argv[] = {python(), script, "write", path, NULL};
  int status = -1;
  CU_ASSERT_TRUE_FATAL(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                                    NULL, &status, &error));
  CU_ASSERT_TRUE_FATAL(g_spawn_check_wait_status(status, NULL));

  LetheFrame *f = lethe_safetensors_load(path, &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(lethe_frame_get_n_tensors(f), 3);
  CU_ASSERT_STRING_EQUAL(lethe_frame_get_meta_string(f, "format", NULL), "pt");
  LetheTensor *a = lethe_frame_get_tensor(f, "a_bytes");
  CU_ASSERT_EQUAL(lethe_tensor_u8(a)[4], 5);
  CU_ASSERT_EQUAL(lethe_buffer_get_backing(a->buffer), LETHE_BUFFER_SUB);
  /* Unaligned for f32 and i64 in that file: read through a copy. */
  LetheTensor *w = lethe_frame_get_tensor(f, "b_weight");
  CU_ASSERT_EQUAL(w->shape[0], 2);
  CU_ASSERT_EQUAL(lethe_tensor_f32(w)[0], 0.5f);
  CU_ASSERT_EQUAL(lethe_tensor_f32(w)[2], 2.25f);
  CU_ASSERT_EQUAL((guintptr)lethe_tensor_data(w) % 4, 0);
  LetheTensor *c = lethe_frame_get_tensor(f, "c_index");
  CU_ASSERT_EQUAL(lethe_tensor_i64(c)[0], -7);
  CU_ASSERT_EQUAL(lethe_tensor_i64(c)[1], G_GINT64_CONSTANT(1) << 40);
  lethe_frame_unref(f);
  g_unlink(path);
}

/* Writes a file with @json as its header and @data_len bytes of data. */
static char *
write_raw(const char *name, const char *json, gsize data_len, gint64 forced_len)
{
  g_autofree char *path = tmp_path(name);
  gsize jl = strlen(json);
  guint64 len = GUINT64_TO_LE(forced_len >= 0 ? (guint64)forced_len : jl);
  GString *s = g_string_new_len((const char *)&len, 8);
  g_string_append_len(s, json, (gssize)jl);
  for (gsize i = 0; i < data_len; i++)
    g_string_append_c(s, (char)i);
  g_file_set_contents(path, s->str, (gssize)s->len, NULL);
  g_string_free(s, TRUE);
  return g_steal_pointer(&path);
}

static void
test_safetensors_corrupt_files_error_cleanly(void)
{
  static const struct {
    const char *json;
    gsize data_len;
    gint64 forced_len;
    const char *message;
  } cases[] = {
      {"{}", 0, 1000, "the header length 1000 runs past the end of the file"},
      {"{}", 0, G_GINT64_CONSTANT(1) << 40, "is above the limit"},
      {"[1]", 0, -1, "does not start with a JSON object"},
      {"{\"x\": {\"dtype\": \"F32\", \"shape\": [2]", 0, -1, "the JSON header (bytes 8 to"},
      {"{\"x\": {\"dtype\": \"BF16\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 4, -1,
       "tensor 'x' has dtype 'BF16', which Lethe does not support"},
      {"{\"x\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8, -1,
       "tensor 'x' (F32 [3]) needs 12 bytes but data_offsets [0, 8] hold 8"},
      {"{\"x\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 6, -1,
       "tensor 'x' data_offsets [0, 8] run past the end of the data (6 bytes from byte offset"},
      {"{\"x\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}, "
       "\"y\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [2, 6]}}",
       6, -1, "tensors 'x' and 'y' overlap at data byte offset 2"},
      {"{\"x\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [2, 6]}}", 6, -1,
       "2 bytes at data byte offset 0 belong to no tensor (before 'x')"},
      {"{\"x\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 9, -1,
       "5 bytes after the last tensor's data"},
      {"{\"x\": {\"dtype\": \"U8\", \"shape\": [-4], \"data_offsets\": [0, 4]}}", 4, -1,
       "tensor 'x' shape[0] is not a non-negative integer"},
      {"{\"x\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904, 4], "
       "\"data_offsets\": [0, 4]}}",
       4, -1, "tensor 'x': a tensor of rank 2 with these extents is too large"},
      {"{\"x\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [1, 0]}}", 1, -1,
       "end before they begin"},
      {"{\"x\": {\"dtype\": \"U8\", \"shape\": [1], \"offsets\": [0, 1]}}", 1, -1,
       "tensor 'x' has an unknown field 'offsets'"},
      {"{\"x\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}}  [3]", 4, -1,
       "and byte 70 is not padding"},
      {"{\"__metadata__\": {\"k\": 3}}", 0, -1, "metadata 'k' is not a string"},
      {"{\"__metadata__\": {\"k\": \"[1,\", \"lethe:variant-keys\": \"['k']\"}}", 0, -1,
       "metadata 'k' = \"[1,\" is not a GVariant text"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    GError *error = NULL;
    g_autofree char *path =
        write_raw("bad.safetensors", cases[i].json, cases[i].data_len, cases[i].forced_len);
    CU_ASSERT_PTR_NULL(lethe_safetensors_load(path, &error));
    CU_ASSERT_PTR_NOT_NULL_FATAL(error);
    if (!strstr(error->message, path))
      fprintf(stderr, "\n  message \"%s\" lacks the file name\n", error->message);
    CU_ASSERT_PTR_NOT_NULL(strstr(error->message, path));
    CU_ASSERT_TRUE(error->domain == LETHE_ERROR);
    if (!strstr(error->message, cases[i].message))
      fprintf(stderr, "\n  case %u: \"%s\" lacks \"%s\"\n", i, error->message, cases[i].message);
    CU_ASSERT_PTR_NOT_NULL(strstr(error->message, cases[i].message));
    g_clear_error(&error);
    g_unlink(path);
  }

  /* Every truncation of a real checkpoint is refused, none crashes. */
  GError *error = NULL;
  g_autofree char *path = tmp_path("full.safetensors");
  LetheFrame *f = sample_frame();
  CU_ASSERT_TRUE(lethe_safetensors_save(f, path, &error));
  lethe_frame_unref(f);
  g_autofree char *data = NULL;
  gsize len = 0;
  CU_ASSERT_TRUE_FATAL(g_file_get_contents(path, &data, &len, NULL));
  g_autofree char *cut = tmp_path("cut.safetensors");
  guint refused = 0;
  for (gsize n = 0; n < len; n += 7) {
    g_file_set_contents(cut, data, (gssize)n, NULL);
    LetheFrame *bad = lethe_safetensors_load(cut, &error);
    refused += bad == NULL && g_error_matches(error, LETHE_ERROR, LETHE_ERROR_PARSE);
    if (bad)
      lethe_frame_unref(bad);
    g_clear_error(&error);
  }
  CU_ASSERT_EQUAL(refused, (len + 6) / 7);
  g_unlink(cut);
  g_unlink(path);

  CU_ASSERT_PTR_NULL(lethe_safetensors_load("no-such.safetensors", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "no-such.safetensors");
}

static void
test_safetensors_refuses_reserved_tensor_name(void)
{
  GError *error = NULL;
  g_autofree char *path = tmp_path("reserved.safetensors");
  LetheFrame *f = lethe_frame_new();
  lethe_frame_take_tensor(f, "__metadata__", lethe_tensor_new_1d(LETHE_DTYPE_F32, 1));
  CU_ASSERT_FALSE(lethe_safetensors_save(f, path, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "may not be called '__metadata__'");
  CU_ASSERT_FALSE(g_file_test(path, G_FILE_TEST_EXISTS));
  lethe_frame_unref(f);

  /* An empty frame is a valid, empty checkpoint. */
  LetheFrame *e = lethe_frame_new();
  CU_ASSERT_TRUE(lethe_safetensors_save(e, path, &error));
  LETHE_ASSERT_NO_ERROR(error);
  LetheFrame *back = lethe_safetensors_load(path, &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_EQUAL(lethe_frame_get_n_tensors(back), 0);
  lethe_frame_unref(back);
  lethe_frame_unref(e);
  g_unlink(path);
  g_rmdir(tmp_dir);
}

LETHE_TEST_MAIN("safetensors", LETHE_TEST(test_safetensors_round_trip_is_zero_copy),
                LETHE_TEST(test_safetensors_numpy_reads_lethe_checkpoints),
                LETHE_TEST(test_safetensors_reads_files_of_other_writers),
                LETHE_TEST(test_safetensors_corrupt_files_error_cleanly),
                LETHE_TEST(test_safetensors_refuses_reserved_tensor_name))
