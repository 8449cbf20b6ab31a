/* Tests: `lethe validate` and `lethe graph` on good and bad pipeline files,
 * run as a user would run them.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

/* Runs the built `lethe` with the toy plugin folder; returns the exit
 * status, with what it wrote in @out and @err. */
static int
run_lethe(const char *const *args, char **out, char **err)
{
  const char *build = g_getenv("LETHE_BUILD_ROOT");
  g_autofree char *exe = g_build_filename(build, "core", "tools", "lethe", NULL);
  g_autofree char *plugins = g_build_filename(build, "tests", "pipelines", "plugins", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_autoptr(GError) error = NULL;
  int status = -1;

  g_ptr_array_add(argv, exe);
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add(argv, (gpointer)*a);
  g_ptr_array_add(argv, "--plugin-path");
  g_ptr_array_add(argv, plugins);
  g_ptr_array_add(argv, NULL);
  CU_ASSERT_TRUE_FATAL(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                    out, err, &status, &error));
  LETHE_ASSERT_NO_ERROR(error);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *
pipeline_file(const char *folder, const char *name)
{
  return g_build_filename(g_getenv("LETHE_SOURCE_ROOT"), "tests", "pipelines", folder, name, NULL);
}

#define ASSERT_CONTAINS(haystack, needle)                                                          \
  do {                                                                                             \
    if (!strstr((haystack), (needle)))                                                             \
      fprintf(stderr, "\n  \"%s\" lacks \"%s\"\n", (haystack), (needle));                          \
    CU_ASSERT_PTR_NOT_NULL(strstr((haystack), (needle)));                                          \
  } while (0)

/* Validates tests/pipelines/bad/@name, expects exit 2 and @expected (a
 * "name:LINE: message" fragment) on stderr. */
static void
expect_invalid(const char *name, const char *expected)
{
  g_autofree char *path = pipeline_file("bad", name);
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = {"validate", path, NULL};

  CU_ASSERT_EQUAL(run_lethe(args, &out, &err), 2);
  CU_ASSERT_STRING_EQUAL(out, "");
  ASSERT_CONTAINS(err, expected);
  /* Every line names the file it is about. */
  g_auto(GStrv) lines = g_strsplit(g_strchomp(err), "\n", -1);
  for (char **l = lines; *l; l++)
    CU_ASSERT_TRUE(g_str_has_prefix(*l, path));
}

static void
test_validate_valid_file_prints_summary(void)
{
  g_autofree char *path = pipeline_file("good", "small.lethe");
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = {"validate", path, NULL};

  CU_ASSERT_EQUAL(run_lethe(args, &out, &err), 0);
  g_autofree char *expected = g_strdup_printf("%s: valid, 5 nodes, 4 links\n", path);
  CU_ASSERT_STRING_EQUAL(out, expected);
  CU_ASSERT_STRING_EQUAL(err, "");
}

static void
test_validate_missing_file(void)
{
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = {"validate", "no-such-pipeline.lethe", NULL};
  CU_ASSERT_EQUAL(run_lethe(args, &out, &err), 2);
  CU_ASSERT_STRING_EQUAL(err, "no-such-pipeline.lethe: cannot read the pipeline file: Failed "
                              "to open file “no-such-pipeline.lethe”: No such file or "
                              "directory\n");
}

static void
test_validate_not_keyfile(void)
{
  expect_invalid("not-keyfile.lethe",
                 "not-keyfile.lethe:5: not a pipeline file: this line is not a [group] "
                 "header, a 'key = value' pair or a '#' comment");
}

static void
test_validate_node_without_plugin(void)
{
  expect_invalid("no-plugin.lethe", "no-plugin.lethe:2: node 'train' has no 'plugin' key at "
                                    "no-plugin.lethe:2; add 'plugin = NODE-TYPE'");
}

static void
test_validate_unknown_type_suggests(void)
{
  expect_invalid("unknown-type.lethe",
                 "unknown-type.lethe:3: unknown node type 'toy-sorce' for node 'train' at "
                 "unknown-type.lethe:3; did you mean 'toy-source'?\n");
}

static void
test_validate_unknown_parameter_suggests(void)
{
  expect_invalid("unknown-param.lethe",
                 "unknown-param.lethe:9: unknown parameter 'epoch' for node 'learn' "
                 "(toy-learner) at unknown-param.lethe:9; did you mean 'epochs'?\n");
}

static void
test_validate_bad_values_all_reported(void)
{
  expect_invalid("bad-values.lethe",
                 "bad-values.lethe:5: invalid value for parameter 'count' of node 'train' "
                 "(toy-source) at bad-values.lethe:5; 'lots' is not an integer; use an "
                 "integer in [1, 60000]\n");
  expect_invalid("bad-values.lethe",
                 "bad-values.lethe:10: invalid value for parameter 'epochs' of node 'learn' "
                 "(toy-learner) at bad-values.lethe:10; '0' is out of range [1, 1000]\n");
  expect_invalid("bad-values.lethe",
                 "bad-values.lethe:11: invalid value for parameter 'optimizer' of node "
                 "'learn' (toy-learner) at bad-values.lethe:11; 'adamw' is not one of: sgd, "
                 "adam; did you mean 'adam'?\n");
  expect_invalid("bad-values.lethe", "bad-values.lethe: invalid, 3 problems\n");
}

static void
test_validate_unknown_references_suggest(void)
{
  expect_invalid("unknown-ref.lethe",
                 "unknown-ref.lethe:8: input 'input' of node 'learn' (toy-learner) names "
                 "unknown node 'trian' at unknown-ref.lethe:8; did you mean 'train'?\n");
  expect_invalid("unknown-ref.lethe",
                 "unknown-ref.lethe:12: input 'model' of node 'report' (toy-report) names "
                 "unknown output port 'modl' of node 'learn' (toy-learner) at "
                 "unknown-ref.lethe:12; did you mean 'model'?\n");
}

static void
test_validate_unconnected_input(void)
{
  expect_invalid("unconnected.lethe",
                 "unconnected.lethe:10: input port 'data' of node 'report' (toy-report) is not "
                 "connected at unconnected.lethe:10; add 'data = NODE' or 'data = NODE.PORT' "
                 "(it takes 'dataset' frames)\n");
}

static void
test_validate_cycle(void)
{
  expect_invalid("cycle.lethe", "cycle.lethe:6: the pipeline has a cycle: learn → report → "
                                "learn at cycle.lethe:6; frames cannot flow back upstream");
}

static void
test_validate_schema_mismatch(void)
{
  expect_invalid("schema-mismatch.lethe",
                 "schema-mismatch.lethe:8: schemas do not match on link train.data → "
                 "report.model: node 'train' (toy-source) output 'data' gives 'dataset' "
                 "frames, node 'report' (toy-report) input 'model' takes 'model' frames; first "
                 "difference: ");
}

static void
test_validate_missing_required_parameter(void)
{
  expect_invalid("missing-param.lethe",
                 "missing-param.lethe:2: missing required parameter 'images' for node 'train' "
                 "(toy-source) at missing-param.lethe:2; add 'images = …' (a file name: the "
                 "images)\n");
}

static void
test_validate_overrides_apply_and_are_checked(void)
{
  g_autofree char *path = pipeline_file("good", "small.lethe");
  g_autofree char *out = NULL, *err = NULL;
  const char *ok[] = {"validate", path, "learn.epochs=7", "pipeline.seed=3", NULL};
  CU_ASSERT_EQUAL(run_lethe(ok, &out, &err), 0);
  g_clear_pointer(&out, g_free);
  g_clear_pointer(&err, g_free);

  const char *bad[] = {"validate", path, "learn.epoch=7", "lern.lr=1", "learn.lr=11", NULL};
  CU_ASSERT_EQUAL(run_lethe(bad, &out, &err), 2);
  ASSERT_CONTAINS(err, ": override 'learn.epoch=7': unknown parameter 'epoch' for node 'learn' "
                       "(toy-learner); did you mean 'epochs'?\n");
  ASSERT_CONTAINS(err, ": override 'lern.lr=1' names unknown node 'lern'; did you mean "
                       "'learn'?\n");
  ASSERT_CONTAINS(err, "'11' is out of range [0, 10]\n");
  ASSERT_CONTAINS(err, "small.lethe: invalid, 3 problems\n");
}

static void
test_graph_prints_dot(void)
{
  g_autofree char *path = pipeline_file("good", "small.lethe");
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = {"graph", path, NULL};

  CU_ASSERT_EQUAL(run_lethe(args, &out, &err), 0);
  CU_ASSERT_TRUE(g_str_has_prefix(out, "digraph \"small\" {\n"));
  ASSERT_CONTAINS(out, "  label=\"toy learner and report\";\n");
  ASSERT_CONTAINS(out, "  \"train\" [label=\"{train\\n(toy-source)|{<o0> data}}\"];\n");
  ASSERT_CONTAINS(out, "  \"learn\":o0 -> \"report\":i0 [label=\"model\"];\n");
  ASSERT_CONTAINS(out, "  \"test\":o0 -> \"report\":i1 [label=\"dataset\", style=dashed];\n");
  ASSERT_CONTAINS(out, "  \"report\":o0 -> \"sink\":i0 [label=\"metrics → any\"];\n");
  CU_ASSERT_STRING_EQUAL(err, "");
}

static void
test_graph_of_invalid_file_fails_but_draws(void)
{
  g_autofree char *path = pipeline_file("bad", "unconnected.lethe");
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = {"graph", path, NULL};

  CU_ASSERT_EQUAL(run_lethe(args, &out, &err), 2);
  ASSERT_CONTAINS(out, "  \"learn\":o0 -> \"report\":i0 [label=\"model\"];\n");
  ASSERT_CONTAINS(err, "unconnected.lethe:10: input port 'data'");
}

LETHE_TEST_MAIN("validate-cmd", LETHE_TEST(test_validate_valid_file_prints_summary),
                LETHE_TEST(test_validate_missing_file), LETHE_TEST(test_validate_not_keyfile),
                LETHE_TEST(test_validate_node_without_plugin),
                LETHE_TEST(test_validate_unknown_type_suggests),
                LETHE_TEST(test_validate_unknown_parameter_suggests),
                LETHE_TEST(test_validate_bad_values_all_reported),
                LETHE_TEST(test_validate_unknown_references_suggest),
                LETHE_TEST(test_validate_unconnected_input), LETHE_TEST(test_validate_cycle),
                LETHE_TEST(test_validate_schema_mismatch),
                LETHE_TEST(test_validate_missing_required_parameter),
                LETHE_TEST(test_validate_overrides_apply_and_are_checked),
                LETHE_TEST(test_graph_prints_dot),
                LETHE_TEST(test_graph_of_invalid_file_fails_but_draws))
