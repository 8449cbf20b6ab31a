/* Lethe — schemas: parsing, frame checks, link checks, lookup.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <lethe/error.h>
#include <lethe/schema.h>

#include <glib/gstdio.h>

static char *extra_dir;

static gpointer
lookup_dataset(gpointer unused)
{
  return (gpointer)lethe_schema_lookup("dataset", NULL);
}

/* Runs first: the search path is read once, at the first lookup. */
static void
test_schema_lookup_searches_path_first_once(void)
{
  GError *error = NULL;
  extra_dir = g_dir_make_tmp("lethe-schema-XXXXXX", &error);
  g_autofree char *over = g_build_filename(extra_dir, "tensor.schema", NULL);
  g_autofree char *custom = g_build_filename(extra_dir, "custom.schema", NULL);
  g_autofree char *broken = g_build_filename(extra_dir, "broken.schema", NULL);
  g_file_set_contents(
      over, "[schema]\ndescription = from the extra folder\nopen = true\nmin-tensors = 1\n", -1,
      &error);
  g_file_set_contents(custom, "[schema]\n[tensor w]\ndtype = f64\n", -1, &error);
  g_file_set_contents(broken, "[schema]\n[tensor w]\ndtype = float\n", -1, &error);
  LETHE_ASSERT_NO_ERROR(error);
  const char *orig = g_getenv("LETHE_SCHEMA_PATH");
  CU_ASSERT_PTR_NOT_NULL_FATAL(orig);
  g_autofree char *path = g_strdup_printf("%s:%s", extra_dir, orig);
  g_setenv("LETHE_SCHEMA_PATH", path, TRUE);

  GThread *threads[4];
  for (int i = 0; i < 4; i++)
    threads[i] = g_thread_new("lookup", lookup_dataset, NULL);
  gpointer first = g_thread_join(threads[0]);
  CU_ASSERT_PTR_NOT_NULL(first);
  for (int i = 1; i < 4; i++)
    CU_ASSERT_PTR_EQUAL(g_thread_join(threads[i]), first);

  const LetheSchema *t = lethe_schema_lookup("tensor", &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_STRING_EQUAL(lethe_schema_get_description(t), "from the extra folder");
  CU_ASSERT_PTR_NOT_NULL(lethe_schema_lookup("custom", &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_PTR_NULL(lethe_schema_lookup("broken", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                     "broken.schema: [tensor w]: unknown dtype in 'float'");
  CU_ASSERT_PTR_NULL(lethe_schema_lookup("datasets", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                     "unknown schema 'datasets' (known: any, custom, dataset, embedding, "
                     "metrics, model, request, signal, tensor; add folders with "
                     "LETHE_SCHEMA_PATH)");
  g_auto(GStrv) names = lethe_schema_list_names();
  CU_ASSERT_EQUAL(g_strv_length(names), 9);

  g_unlink(over);
  g_unlink(custom);
  g_unlink(broken);
  g_rmdir(extra_dir);
}

static LetheFrame *
dataset_frame(gint64 n, gint64 n_labels)
{
  LetheFrame *f = lethe_frame_new();
  lethe_frame_take_tensor(f, "x", lethe_tensor_new_2d(LETHE_DTYPE_F32, n, 784));
  lethe_frame_take_tensor(f, "y", lethe_tensor_new_1d(LETHE_DTYPE_I32, n_labels));
  return f;
}

static const LetheSchema *
schema(const char *name)
{
  GError *error = NULL;
  const LetheSchema *s = lethe_schema_lookup(name, &error);
  LETHE_ASSERT_NO_ERROR(error);
  return s;
}

static void
test_schema_dataset_accepts_valid_frames(void)
{
  GError *error = NULL;
  LetheFrame *f = dataset_frame(5, 5);
  CU_ASSERT_TRUE(lethe_schema_check_frame(schema("dataset"), f, &error));
  LETHE_ASSERT_NO_ERROR(error);
  lethe_frame_take_tensor(f, "ids", lethe_tensor_new_1d(LETHE_DTYPE_I64, 5));
  lethe_frame_take_tensor(f, "logits", lethe_tensor_new_2d(LETHE_DTYPE_F32, 5, 10));
  lethe_frame_set_meta_int(f, "task", 2);
  const gint32 classes[2] = {4, 5};
  lethe_frame_set_meta(f, "classes",
                       g_variant_new_fixed_array(G_VARIANT_TYPE_INT32, classes, 2, sizeof(gint32)));
  CU_ASSERT_TRUE(lethe_schema_check_frame(schema("dataset"), f, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_TRUE(lethe_schema_check_frame(schema("any"), f, &error));
  CU_ASSERT_TRUE(lethe_schema_check_frame(schema("tensor"), f, &error));
  LETHE_ASSERT_NO_ERROR(error);
  lethe_frame_unref(f);
}

static void
test_schema_check_names_the_field(void)
{
  GError *error = NULL;
  const LetheSchema *ds = schema("dataset");

  LetheFrame *f = dataset_frame(5, 4);
  CU_ASSERT_FALSE(lethe_schema_check_frame(ds, f, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "frame does not match schema 'dataset': tensor 'y' dimension 0 is 4 but "
                     "must equal dimension 0 of tensor 'x' (5)");
  lethe_frame_remove_tensor(f, "y");
  CU_ASSERT_FALSE(lethe_schema_check_frame(ds, f, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "frame does not match schema 'dataset': tensor 'y' is missing (expected "
                     "i32 rank 1, dim0 = x.0)");
  lethe_frame_take_tensor(f, "y", lethe_tensor_new_1d(LETHE_DTYPE_I64, 5));
  CU_ASSERT_FALSE(lethe_schema_check_frame(ds, f, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "frame does not match schema 'dataset': tensor 'y' has dtype i64, expected "
                     "i32");
  lethe_frame_take_tensor(f, "y", lethe_tensor_new_1d(LETHE_DTYPE_I32, 5));
  lethe_frame_take_tensor(f, "x", lethe_tensor_new_1d(LETHE_DTYPE_F32, 5));
  CU_ASSERT_FALSE(lethe_schema_check_frame(ds, f, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "frame does not match schema 'dataset': tensor 'x' has rank 1 (shape [5]), "
                     "expected rank 2..5");
  lethe_frame_take_tensor(f, "x", lethe_tensor_new_2d(LETHE_DTYPE_F32, 5, 3));
  lethe_frame_set_meta_string(f, "task", "two");
  CU_ASSERT_FALSE(lethe_schema_check_frame(ds, f, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "frame does not match schema 'dataset': metadata 'task' has type s, "
                     "expected i");
  /* Integers match by kind: a 64-bit task index is still a task index. */
  lethe_frame_set_meta(f, "task", g_variant_new_int64(3));
  CU_ASSERT_TRUE(lethe_schema_check_frame(ds, f, &error));
  LETHE_ASSERT_NO_ERROR(error);
  lethe_frame_unref(f);

  LetheFrame *m = lethe_frame_new();
  lethe_frame_take_tensor(m, "fc1.weight", lethe_tensor_new_2d(LETHE_DTYPE_F32, 3, 3));
  lethe_frame_set_meta_string(m, "model-kind", "sequential");
  CU_ASSERT_FALSE(lethe_schema_check_frame(schema("model"), m, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "frame does not match schema 'model': metadata 'arch' (s) is missing");
  lethe_frame_set_meta_string(m, "arch", "linear(3,3)");
  CU_ASSERT_TRUE(lethe_schema_check_frame(schema("model"), m, &error));
  LETHE_ASSERT_NO_ERROR(error);
  lethe_frame_unref(m);

  LetheFrame *e = lethe_frame_new();
  CU_ASSERT_FALSE(lethe_schema_check_frame(schema("tensor"), e, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "holds 0 tensors, expected at least 1");
  CU_ASSERT_FALSE(lethe_schema_check_frame(schema("request"), e, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA, "metadata 'event' (s) is missing");
  lethe_frame_set_meta_string(e, "event", "forget-class");
  CU_ASSERT_TRUE(lethe_schema_check_frame(schema("request"), e, &error));
  LETHE_ASSERT_NO_ERROR(error);
  lethe_frame_unref(e);
}

static void
test_schema_metrics_and_signal(void)
{
  GError *error = NULL;
  LetheFrame *f = lethe_frame_new();
  lethe_frame_take_tensor(f, "accuracy", lethe_tensor_new_scalar_f64(0.9));
  lethe_frame_take_tensor(f, "per-class", lethe_tensor_new_1d(LETHE_DTYPE_F64, 10));
  lethe_frame_set_meta_int(f, "step", 100);
  CU_ASSERT_TRUE(lethe_schema_check_frame(schema("metrics"), f, &error));
  LETHE_ASSERT_NO_ERROR(error);
  lethe_frame_take_tensor(f, "loss", lethe_tensor_new_1d(LETHE_DTYPE_F32, 1));
  CU_ASSERT_FALSE(lethe_schema_check_frame(schema("metrics"), f, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "frame does not match schema 'metrics': tensor 'loss' has dtype f32, "
                     "expected f64");
  lethe_frame_unref(f);

  LetheFrame *s = lethe_frame_new();
  const gint64 shape[3] = {2, 12, 5000};
  lethe_frame_take_tensor(s, "x", lethe_tensor_new(LETHE_DTYPE_F32, 3, shape));
  CU_ASSERT_FALSE(lethe_schema_check_frame(schema("signal"), s, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "frame does not match schema 'signal': metadata 'fs' (d) is missing");
  lethe_frame_set_meta_double(s, "fs", 500.0);
  CU_ASSERT_TRUE(lethe_schema_check_frame(schema("signal"), s, &error));
  LETHE_ASSERT_NO_ERROR(error);
  lethe_frame_unref(s);
}

static void
test_schema_closed_refuses_extra_tensors(void)
{
  GError *error = NULL;
  static const char text[] = "[schema]\nname = pair\n[tensor a]\n[tensor b]\nrequired = false\n";
  g_autoptr(LetheSchema) pair =
      lethe_schema_load_data(text, sizeof text - 1, "pair.schema", &error);
  LETHE_ASSERT_NO_ERROR(error);
  LetheFrame *f = lethe_frame_new();
  lethe_frame_take_tensor(f, "a", lethe_tensor_new_1d(LETHE_DTYPE_U8, 1));
  CU_ASSERT_TRUE(lethe_schema_check_frame(pair, f, &error));
  lethe_frame_take_tensor(f, "c", lethe_tensor_new_1d(LETHE_DTYPE_U8, 1));
  CU_ASSERT_FALSE(lethe_schema_check_frame(pair, f, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                     "frame does not match schema 'pair': unexpected tensor 'c' (the schema "
                     "holds only 'a', 'b')");
  lethe_frame_unref(f);
}

static void
test_schema_cached_check_forgets_on_change(void)
{
  GError *error = NULL;
  const LetheSchema *ds = schema("dataset");
  LetheFrame *f = dataset_frame(3, 3);
  CU_ASSERT_TRUE(lethe_frame_check_schema_cached(f, ds, &error));
  CU_ASSERT_TRUE(lethe_frame_check_schema_cached(f, ds, &error));
  LETHE_ASSERT_NO_ERROR(error);
  /* A shared frame is copied before it changes; the copy is checked anew. */
  LetheFrame *other = lethe_frame_ref(f);
  f = lethe_frame_make_writable(f);
  lethe_frame_take_tensor(f, "y", lethe_tensor_new_1d(LETHE_DTYPE_I32, 2));
  CU_ASSERT_FALSE(lethe_frame_check_schema_cached(f, ds, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_SCHEMA, "tensor 'y' dimension 0 is 2");
  CU_ASSERT_TRUE(lethe_frame_check_schema_cached(other, ds, &error));
  LETHE_ASSERT_NO_ERROR(error);
  lethe_frame_unref(other);
  lethe_frame_unref(f);
}

static LetheSchema *
load(const char *text)
{
  GError *error = NULL;
  LetheSchema *s = lethe_schema_load_data(text, strlen(text), "test.schema", &error);
  LETHE_ASSERT_NO_ERROR(error);
  return s;
}

static void
assert_link(const LetheSchema *p, const LetheSchema *c, const char *expect, int line)
{
  g_autofree char *diff = NULL;
  gboolean ok = lethe_schema_link_compatible(p, c, &diff);
  if (expect == NULL) {
    if (!ok)
      fprintf(stderr, "\n  line %d: unexpected difference: %s\n", line, diff);
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_PTR_NULL(diff);
    return;
  }
  CU_ASSERT_FALSE(ok);
  CU_ASSERT_PTR_NOT_NULL_FATAL(diff);
  if (strcmp(diff, expect) != 0)
    fprintf(stderr, "\n  line %d: difference \"%s\" != \"%s\"\n", line, diff, expect);
  CU_ASSERT_STRING_EQUAL(diff, expect);
}

#define ASSERT_LINK(p, c, expect) assert_link((p), (c), (expect), __LINE__)

static void
test_schema_link_names_first_difference(void)
{
  const LetheSchema *ds = schema("dataset"), *model = schema("model"), *any = schema("any");
  ASSERT_LINK(ds, ds, NULL);
  ASSERT_LINK(any, ds, NULL);
  ASSERT_LINK(ds, any, NULL);
  ASSERT_LINK(ds, model, "metadata 'model-kind': required here, the producer does not provide it");
  ASSERT_LINK(model, ds, "tensor 'x': required here, the producer does not provide it");
  ASSERT_LINK(schema("embedding"), ds,
              "tensor 'x': required here, the producer does not provide it");
  ASSERT_LINK(ds, schema("tensor"), NULL);

  g_autoptr(LetheSchema) f64 = load("[schema]\nopen = true\n[tensor x]\ndtype = f64\nrank = 2\n"
                                    "[tensor y]\ndtype = i32\nrank = 1\ndim0 = x.0\n");
  ASSERT_LINK(f64, ds, "tensor 'x': dtype f64 vs f32");
  g_autoptr(LetheSchema) wide = load("[schema]\nopen = true\n[tensor x]\ndtype = f32\nrank = 1..3\n"
                                     "[tensor y]\ndtype = i32\nrank = 1\ndim0 = x.0\n");
  ASSERT_LINK(wide, ds, "tensor 'x': rank 1..3 vs rank 2..5");
  g_autoptr(LetheSchema) untied = load("[schema]\nopen = true\n[tensor x]\ndtype = f32\nrank = 2\n"
                                       "[tensor y]\ndtype = i32\nrank = 1\n");
  ASSERT_LINK(untied, ds,
              "tensor 'y': dimension 0 must equal x.0, which the producer does not guarantee");
  g_autoptr(LetheSchema) opt = load("[schema]\nopen = true\n[tensor x]\ndtype = f32\nrank = 2\n"
                                    "[tensor y]\ndtype = i32\nrank = 1\ndim0 = x.0\n"
                                    "required = false\n");
  ASSERT_LINK(opt, ds, "tensor 'y': optional in the producer, required here");
  g_autoptr(LetheSchema) task_s =
      load("[schema]\nopen = true\n[tensor x]\ndtype = f32\nrank = 2\n[tensor y]\ndtype = i32\n"
           "rank = 1\ndim0 = x.0\n[meta task]\ntype = s\n");
  ASSERT_LINK(task_s, ds, "metadata 'task': type s vs i");
  ASSERT_LINK(f64, untied, "tensor 'x': dtype f64 vs f32");

  g_autoptr(LetheSchema) closed = load("[schema]\n[tensor x]\ndtype = f32\nrank = 2..5\n");
  ASSERT_LINK(ds, closed, "tensor 'y': not accepted here (the consumer's schema is closed)");
  g_autoptr(LetheSchema) scalars = load("[schema]\n[tensor *]\ndtype = f64\nrank = 0\n");
  ASSERT_LINK(schema("metrics"), scalars, "tensor '*': rank 0..1 vs rank 0");
}

static void
test_schema_parse_errors_name_file_and_group(void)
{
  static const struct {
    const char *text, *message;
  } cases[] = {
      {"[tensor x]\n", "bad.schema: no [schema] group"},
      {"not a key file", "bad.schema: not a schema file"},
      {"[schema]\n[tensor x]\ndtype = float32\n",
       "bad.schema: [tensor x]: unknown dtype in 'float32' (known: f32, f64, i32, i64, u8, i8, "
       "or any)"},
      {"[schema]\n[tensor x]\nrank = 5..2\n",
       "bad.schema: [tensor x]: rank '5..2' is not N or N..M with 0 <= N <= M <= 8"},
      {"[schema]\n[tensor x]\nranks = 2\n",
       "bad.schema: [tensor x]: unknown key 'ranks' (known keys: dtype, rank, required, dimN)"},
      {"[schema]\n[tensor y]\nrank = 1\ndim0 = x.0\n",
       "bad.schema: [tensor y]: dim0 = x.0 names an undeclared tensor"},
      {"[schema]\n[tensor y]\nrank = 1\ndim0 = many\n",
       "bad.schema: [tensor y]: 'dim0 = many' must name a tensor dimension"},
      {"[schema]\n[meta task]\ntype = int\n",
       "bad.schema: [meta task]: 'int' is not a GVariant type string"},
      {"[schema]\n[meta task]\nrequired = maybe\n",
       "bad.schema: [meta task]: 'required' must be true or false"},
      {"[schema]\n[tensors]\n", "bad.schema: unknown group [tensors]"},
      {"[schema]\nopen = yes\n", "bad.schema: [schema]: 'open' must be true or false"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    GError *error = NULL;
    CU_ASSERT_PTR_NULL(
        lethe_schema_load_data(cases[i].text, strlen(cases[i].text), "bad.schema", &error));
    LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_PARSE, cases[i].message);
  }
  GError *error = NULL;
  CU_ASSERT_PTR_NULL(lethe_schema_load_file("no-such-dir/none.schema", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "none.schema");
}

/* Found by fuzz-schema: a dimN or min-tensors value GKeyFile cannot read
 * was stripped as NULL, and dim1, dim01, dim001… overflowed the per-dimension
 * ties (at most one per dimension). */
static void
test_schema_refuses_unreadable_and_repeated_dims(void)
{
  static const struct {
    const char *text, *message;
  } cases[] = {
      {"[schema]\n[tensor x]\nrank = 1\n[tensor y]\nrank = 1\ndim0 = x\xff.0\n",
       "bad.schema: [tensor y]: cannot read 'dim0'"},
      {"[schema]\n[tensor x]\nrank = 1\n[tensor y]\nrank = 1\ndim0 = x.0\ndim00 = x.0\n",
       "bad.schema: [tensor y]: dimension 0 is tied twice ('dim00'); keep one dim0 key"},
      {"[schema]\n[tensor y]\ndim1 = 1\ndim01 = 1\ndim001 = 1\ndim0001 = 1\ndim00001 = 1\n"
       "dim000001 = 1\ndim0000001 = 1\ndim00000001 = 1\ndim000000001 = 1\n",
       "dimension 1 is tied twice"},
      {"[schema]\nmin-tensors = \xff\n",
       "bad.schema: [schema]: min-tensors '(unreadable text)' is not a count"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    GError *error = NULL;
    CU_ASSERT_PTR_NULL(
        lethe_schema_load_data(cases[i].text, strlen(cases[i].text), "bad.schema", &error));
    LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_PARSE, cases[i].message);
  }
}

static void
test_schema_to_string_summarises(void)
{
  g_autofree char *s = lethe_schema_to_string(schema("dataset"));
  CU_ASSERT_STRING_EQUAL(s, "dataset: x (f32 rank 2..5); y (i32 rank 1, dim0 = x.0); ids? (i64 "
                            "rank 1, dim0 = x.0); any other tensors; metadata task? (i), "
                            "classes? (ai)");
  g_autofree char *m = lethe_schema_to_string(schema("metrics"));
  CU_ASSERT_STRING_EQUAL(m,
                         "metrics: other tensors (f64 rank 0..1); metadata step? (i), task? (i)");
  CU_ASSERT_STRING_EQUAL(lethe_schema_get_name(schema("model")), "model");
}

LETHE_TEST_MAIN("schema", LETHE_TEST(test_schema_lookup_searches_path_first_once),
                LETHE_TEST(test_schema_dataset_accepts_valid_frames),
                LETHE_TEST(test_schema_check_names_the_field),
                LETHE_TEST(test_schema_metrics_and_signal),
                LETHE_TEST(test_schema_closed_refuses_extra_tensors),
                LETHE_TEST(test_schema_cached_check_forgets_on_change),
                LETHE_TEST(test_schema_link_names_first_difference),
                LETHE_TEST(test_schema_parse_errors_name_file_and_group),
                LETHE_TEST(test_schema_refuses_unreadable_and_repeated_dims),
                LETHE_TEST(test_schema_to_string_summarises))
