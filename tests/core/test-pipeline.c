/* Tests: pipeline files, the builder, validation, overrides, output.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <lethe/lethe.h>
#include <lethe/pipeline.h>

/* ---- Test node types, registered statically ------------------------------ */

static gboolean
noop_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  return TRUE;
}

static const LetheNodeVTable noop_vtable = {.process = noop_process};

static const LethePortSpec src_outputs[] = {
    {.name = "data", .schema = "dataset", .doc = "samples"},
    {NULL},
};
static const LetheParamSpec src_params[] = {
    {.name = "count",
     .type = LETHE_PARAM_INT,
     .default_value = "10",
     .min = 1,
     .max = 100,
     .doc = "how many frames"},
    {NULL},
};
static const LetheNodeType src_type = {.name = "test-source",
                                       .kind = LETHE_NODE_SOURCE,
                                       .description = "emits datasets",
                                       .outputs = src_outputs,
                                       .params = src_params,
                                       .vtable = &noop_vtable};

static const LethePortSpec learner_inputs[] = {
    {.name = "input", .schema = "dataset", .doc = "tasks"},
    {NULL},
};
static const LethePortSpec learner_outputs[] = {
    {.name = "model", .schema = "model"},
    {.name = "metrics", .schema = "metrics"},
    {NULL},
};
static const char *const learner_modes[] = {"sgd", "adam", NULL};
static const LetheParamSpec learner_params[] = {
    {.name = "epochs", .type = LETHE_PARAM_INT, .default_value = "5", .min = 1, .max = 1000},
    {.name = "lr", .type = LETHE_PARAM_DOUBLE, .default_value = "0.1", .min = 0, .max = 10},
    {.name = "optimizer",
     .type = LETHE_PARAM_ENUM,
     .default_value = "sgd",
     .choices = learner_modes},
    {.name = "verbose", .type = LETHE_PARAM_BOOL, .default_value = "false"},
    {.name = "checkpoint", .type = LETHE_PARAM_PATH, .default_value = "model.safetensors"},
    {.name = "classes", .type = LETHE_PARAM_INT_LIST, .default_value = "", .min = 0, .max = 9},
    {.name = "tasks",
     .type = LETHE_PARAM_INT,
     .default_value = NULL,
     .min = 1,
     .max = 50,
     .doc = "number of tasks"},
    {NULL},
};
static const LetheNodeType learner_type = {.name = "test-learner",
                                           .kind = LETHE_NODE_LEARNER,
                                           .description = "learns",
                                           .inputs = learner_inputs,
                                           .outputs = learner_outputs,
                                           .params = learner_params,
                                           .vtable = &noop_vtable};

static const LethePortSpec eval_inputs[] = {
    {.name = "model", .schema = "model"},
    {.name = "data", .schema = "dataset", .flags = LETHE_PORT_STICKY},
    {.name = "extra", .schema = "any", .flags = LETHE_PORT_OPTIONAL},
    {NULL},
};
static const LethePortSpec eval_outputs[] = {
    {.name = "metrics", .schema = "metrics"},
    {NULL},
};
static const LetheNodeType eval_type = {.name = "test-evaluator",
                                        .kind = LETHE_NODE_EVALUATOR,
                                        .description = "evaluates",
                                        .inputs = eval_inputs,
                                        .outputs = eval_outputs,
                                        .vtable = &noop_vtable};

static const LethePortSpec sink_inputs[] = {
    {.name = "input", .schema = "any"},
    {NULL},
};
static const LetheNodeType sink_type = {.name = "test-sink",
                                        .kind = LETHE_NODE_SINK,
                                        .description = "drops",
                                        .inputs = sink_inputs,
                                        .vtable = &noop_vtable};

static const LetheNodeType *const test_types[] = {&src_type, &learner_type, &eval_type, &sink_type,
                                                  NULL};
static const LethePluginInfo test_plugin = {.abi_major = LETHE_ABI_MAJOR,
                                            .abi_minor = LETHE_ABI_MINOR,
                                            .name = "test-pipeline",
                                            .version = "1.0",
                                            .license = "LGPL-2.1-or-later",
                                            .description = "pipeline test types",
                                            .node_types = test_types};

/* A registry holding only the test types: the plugin search path is an
 * empty folder. */
static LetheRegistry *
test_registry(void)
{
  static char *empty = NULL;
  g_autoptr(GError) error = NULL;

  if (!empty) {
    empty = g_dir_make_tmp("lethe-pipeline-XXXXXX", NULL);
    g_setenv("LETHE_PLUGIN_SYSTEM_PATH", empty, TRUE);
    g_unsetenv("LETHE_PLUGIN_PATH");
  }
  LetheRegistry *registry = lethe_registry_new(NULL, &error);
  LETHE_ASSERT_NO_ERROR(error);
  lethe_registry_register_static(registry, &test_plugin);
  return registry;
}

static LethePipeline *
parse(const char *text)
{
  g_autoptr(LetheRegistry) registry = test_registry();
  g_autoptr(GError) error = NULL;
  LethePipeline *pipeline = lethe_pipeline_new_from_data(text, -1, "t.lethe", registry, &error);
  LETHE_ASSERT_NO_ERROR(error);
  return pipeline;
}

/* Validates @text and returns its problems joined by newlines as
 * lethe_problem_to_string() writes them ("" when valid). */
static char *
problems_of(const char *text)
{
  g_autoptr(LethePipeline) pipeline = parse(text);
  g_autoptr(GPtrArray) problems = lethe_pipeline_validate(pipeline);
  g_autoptr(GString) all = g_string_new(NULL);
  for (guint i = 0; i < problems->len; i++) {
    g_autofree char *s = lethe_problem_to_string(g_ptr_array_index(problems, i));
    g_string_append_printf(all, "%s\n", s);
  }
  return g_string_free(g_steal_pointer(&all), FALSE);
}

#define ASSERT_CONTAINS(haystack, needle)                                                          \
  do {                                                                                             \
    if (!strstr((haystack), (needle)))                                                             \
      fprintf(stderr, "\n  \"%s\" lacks \"%s\"\n", (haystack), (needle));                          \
    CU_ASSERT_PTR_NOT_NULL(strstr((haystack), (needle)));                                          \
  } while (0)

static const char *const good_file = "# a small, valid pipeline\n"
                                     "[pipeline]\n"
                                     "description = test run\n"
                                     "seed = 7\n"
                                     "\n"
                                     "[report]\n"
                                     "plugin = test-evaluator\n"
                                     "model = learn.model\n"
                                     "data = train\n"
                                     "\n"
                                     "[learn]\n"
                                     "plugin = test-learner\n"
                                     "input = train\n"
                                     "tasks = 5\n"
                                     "epochs = 3\n"
                                     "\n"
                                     "[train]\n"
                                     "plugin = test-source\n"
                                     "\n"
                                     "[out]\n"
                                     "plugin = test-sink\n"
                                     "input = report\n";

/* ---- The builder and the graph readers ------------------------------------ */

static void
test_pipeline_builder_orders_nodes_topologically(void)
{
  g_autoptr(LetheRegistry) registry = test_registry();
  g_autoptr(LethePipeline) p = lethe_pipeline_new(registry);
  g_autoptr(GError) error = NULL;
  guint from_node = 99, from_port = 99;

  /* Added downstream first, so the order must come from the links. */
  CU_ASSERT_TRUE(lethe_pipeline_add_node(p, "sink", "test-sink", &error));
  CU_ASSERT_TRUE(lethe_pipeline_add_node(p, "learn", "test-learner", &error));
  CU_ASSERT_TRUE(lethe_pipeline_add_node(p, "src", "test-source", &error));
  CU_ASSERT_TRUE(lethe_pipeline_link(p, "src", NULL, "learn", "input", &error));
  CU_ASSERT_TRUE(lethe_pipeline_link(p, "learn", "metrics", "sink", NULL, &error));
  CU_ASSERT_TRUE(lethe_pipeline_set_param(p, "learn", "tasks", "4", &error));
  CU_ASSERT_TRUE(lethe_pipeline_set_param(p, "src", "count", "20", &error));
  LETHE_ASSERT_NO_ERROR(error);

  g_autoptr(GPtrArray) problems = lethe_pipeline_validate(p);
  CU_ASSERT_EQUAL(problems->len, 0);
  CU_ASSERT_EQUAL(lethe_pipeline_get_n_nodes(p), 3);
  CU_ASSERT_EQUAL(lethe_pipeline_get_n_links(p), 2);
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_name(p, 0), "src");
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_name(p, 1), "learn");
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_name(p, 2), "sink");
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_type(p, 1), "test-learner");
  CU_ASSERT_PTR_EQUAL(lethe_pipeline_node_get_type(p, 1), &learner_type);
  CU_ASSERT_EQUAL(lethe_pipeline_find_node(p, "sink"), 2);
  CU_ASSERT_EQUAL(lethe_pipeline_find_node(p, "nope"), -1);

  CU_ASSERT_TRUE(lethe_pipeline_node_input(p, 2, 0, &from_node, &from_port));
  CU_ASSERT_EQUAL(from_node, 1);
  CU_ASSERT_EQUAL(from_port, 1); /* learn.metrics */
  CU_ASSERT_TRUE(lethe_pipeline_node_input(p, 1, 0, &from_node, &from_port));
  CU_ASSERT_EQUAL(from_node, 0);
  CU_ASSERT_EQUAL(from_port, 0);
  CU_ASSERT_FALSE(lethe_pipeline_node_input(p, 1, 1, &from_node, &from_port));

  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_param(p, 1, "tasks"), "4");
  CU_ASSERT_TRUE(lethe_pipeline_node_param_is_set(p, 1, "tasks"));
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_param(p, 1, "epochs"), "5"); /* default */
  CU_ASSERT_FALSE(lethe_pipeline_node_param_is_set(p, 1, "epochs"));
  CU_ASSERT_PTR_NULL(lethe_pipeline_node_param(p, 1, "input")); /* a port, not a param */
  CU_ASSERT_PTR_NULL(lethe_pipeline_node_param(p, 1, "no-such"));
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_param(p, 0, "count"), "20");
}

static void
test_pipeline_builder_refuses_bad_names(void)
{
  g_autoptr(LetheRegistry) registry = test_registry();
  g_autoptr(LethePipeline) p = lethe_pipeline_new(registry);
  g_autoptr(GError) error = NULL;

  CU_ASSERT_FALSE(lethe_pipeline_add_node(p, "a", "test-lerner", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "did you mean 'test-learner'?");
  CU_ASSERT_FALSE(lethe_pipeline_add_node(p, "a.b", "test-learner", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "invalid node name 'a.b'");
  CU_ASSERT_TRUE(lethe_pipeline_add_node(p, "learn", "test-learner", &error));
  CU_ASSERT_FALSE(lethe_pipeline_add_node(p, "learn", "test-source", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "already has a node called 'learn'");
  CU_ASSERT_FALSE(lethe_pipeline_set_param(p, "learn", "epoch", "3", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "did you mean 'epochs'?");
  CU_ASSERT_FALSE(lethe_pipeline_set_param(p, "learn", "epochs", "0", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "'0' is out of range [1, 1000]");
  CU_ASSERT_FALSE(lethe_pipeline_set_param(p, "lern", "epochs", "3", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "did you mean 'learn'?");
  CU_ASSERT_TRUE(lethe_pipeline_add_node(p, "src", "test-source", &error));
  CU_ASSERT_FALSE(lethe_pipeline_link(p, "src", "dta", "learn", "input", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "has no output port 'dta'");
  CU_ASSERT_TRUE(lethe_pipeline_link(p, "src", "data", "learn", "input", &error));
  CU_ASSERT_FALSE(lethe_pipeline_link(p, "src", "data", "learn", "input", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "already linked");
}

static void
test_pipeline_file_reads_header_lines_and_links(void)
{
  g_autoptr(LethePipeline) p = parse(good_file);
  g_autoptr(GPtrArray) problems = lethe_pipeline_validate(p);
  guint from_node, from_port;

  CU_ASSERT_EQUAL(problems->len, 0);
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_get_description(p), "test run");
  CU_ASSERT_EQUAL(lethe_pipeline_get_seed(p), 7);
  CU_ASSERT_EQUAL(lethe_pipeline_get_n_nodes(p), 4);
  CU_ASSERT_EQUAL(lethe_pipeline_get_n_links(p), 4);
  /* Topological: train, learn, report, out (file order breaks ties). */
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_name(p, 0), "train");
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_name(p, 1), "learn");
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_name(p, 2), "report");
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_name(p, 3), "out");
  CU_ASSERT_EQUAL(lethe_pipeline_node_line(p, 0), 17);
  CU_ASSERT_EQUAL(lethe_pipeline_node_line(p, 2), 6);
  CU_ASSERT_TRUE(lethe_pipeline_node_input(p, 2, 1, &from_node, &from_port));
  CU_ASSERT_EQUAL(from_node, 0);
  CU_ASSERT_TRUE(lethe_pipeline_node_input(p, 2, 0, &from_node, &from_port));
  CU_ASSERT_EQUAL(from_node, 1);
  CU_ASSERT_EQUAL(from_port, 0);
  CU_ASSERT_FALSE(lethe_pipeline_node_input(p, 2, 2, &from_node, &from_port)); /* optional */
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_param(p, 1, "epochs"), "3");
}

static void
test_pipeline_seed_defaults_to_zero(void)
{
  g_autoptr(LethePipeline) p = parse("[train]\nplugin = test-source\n");
  CU_ASSERT_EQUAL(lethe_pipeline_get_seed(p), 0);
  CU_ASSERT_PTR_NULL(lethe_pipeline_get_description(p));
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_get_name(p), "pipeline");
}

/* ---- Every kind of problem, with its message -------------------------------- */

static void
test_pipeline_missing_file_fails_with_path(void)
{
  g_autoptr(LetheRegistry) registry = test_registry();
  g_autoptr(GError) error = NULL;
  LethePipeline *p = lethe_pipeline_new_from_file("no/such/file.lethe", registry, &error);
  CU_ASSERT_PTR_NULL(p);
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                     "no/such/file.lethe: cannot read the pipeline file");
}

static void
test_pipeline_not_keyfile_names_the_line(void)
{
  g_autoptr(LetheRegistry) registry = test_registry();
  g_autoptr(GError) error = NULL;
  const char *text = "[a]\nplugin = test-source\n\nthis is not a key file\n";
  CU_ASSERT_PTR_NULL(lethe_pipeline_new_from_data(text, -1, "t.lethe", registry, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                     "t.lethe:4: not a pipeline file: this line is not a [group] header");
  CU_ASSERT_PTR_NULL(
      lethe_pipeline_new_from_data("key = before group\n[a]\n", -1, "t.lethe", registry, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_PARSE, "t.lethe:1: not a pipeline file");
  CU_ASSERT_PTR_NULL(
      lethe_pipeline_new_from_data("[a]\nx = \xff\xfe\n", -1, "t.lethe", registry, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                     "t.lethe:2: not a pipeline file: the "
                     "text is not valid UTF-8");
}

static void
test_pipeline_node_without_plugin(void)
{
  g_autofree char *all = problems_of("[train]\ncount = 3\n");
  CU_ASSERT_STRING_EQUAL(all, "t.lethe:1: node 'train' has no 'plugin' key at t.lethe:1; add "
                              "'plugin = NODE-TYPE' (`lethe inspect` lists them)\n");
}

static void
test_pipeline_unknown_node_type_suggests(void)
{
  g_autofree char *all = problems_of("[train]\n\nplugin = test-sorce\n");
  CU_ASSERT_STRING_EQUAL(all, "t.lethe:3: unknown node type 'test-sorce' for node 'train' at "
                              "t.lethe:3; did you mean 'test-source'?\n");
}

static void
test_pipeline_unknown_parameter_suggests(void)
{
  g_autofree char *all = problems_of("[train]\nplugin = test-source\n"
                                     "[learn]\nplugin = test-learner\ninput = train\ntasks = 2\n"
                                     "epoch = 3\n");
  CU_ASSERT_STRING_EQUAL(all, "t.lethe:7: unknown parameter 'epoch' for node 'learn' "
                              "(test-learner) at t.lethe:7; did you mean 'epochs'?\n");
  g_autofree char *far = problems_of("[train]\nplugin = test-source\nzzzzzz = 1\n");
  ASSERT_CONTAINS(far, "unknown parameter 'zzzzzz' for node 'train' (test-source) at t.lethe:3; "
                       "its parameters are: count");
}

static void
test_pipeline_bad_values_are_named(void)
{
  g_autofree char *all = problems_of("[train]\nplugin = test-source\n"
                                     "[learn]\nplugin = test-learner\ninput = train\n"
                                     "tasks = many\n"         /* 6: not an integer */
                                     "epochs = 0\n"           /* 7: out of range */
                                     "lr = fast\n"            /* 8: not a number */
                                     "optimizer = adan\n"     /* 9: not a choice */
                                     "verbose = maybe\n"      /* 10: not a boolean */
                                     "classes = 1, 2, 12\n"); /* 11: element out of range */
  ASSERT_CONTAINS(all, "t.lethe:6: invalid value for parameter 'tasks' of node 'learn' "
                       "(test-learner) at t.lethe:6; 'many' is not an integer; use an integer "
                       "in [1, 50]\n");
  ASSERT_CONTAINS(all, "t.lethe:7: invalid value for parameter 'epochs' of node 'learn' "
                       "(test-learner) at t.lethe:7; '0' is out of range [1, 1000]\n");
  ASSERT_CONTAINS(all, "t.lethe:8: invalid value for parameter 'lr' of node 'learn' "
                       "(test-learner) at t.lethe:8; 'fast' is not a finite number");
  ASSERT_CONTAINS(all, "t.lethe:9: invalid value for parameter 'optimizer' of node 'learn' "
                       "(test-learner) at t.lethe:9; 'adan' is not one of: sgd, adam; did you "
                       "mean 'adam'?\n");
  ASSERT_CONTAINS(all, "t.lethe:10: invalid value for parameter 'verbose'");
  ASSERT_CONTAINS(all, "'maybe' is not a boolean; use true or false\n");
  ASSERT_CONTAINS(all, "t.lethe:11: invalid value for parameter 'classes' of node 'learn' "
                       "(test-learner) at t.lethe:11; element 3 of the list: '12' is out of "
                       "range [0, 9]\n");
}

static void
test_pipeline_missing_required_parameter(void)
{
  g_autofree char *all = problems_of("[train]\nplugin = test-source\n"
                                     "[learn]\nplugin = test-learner\ninput = train\n");
  CU_ASSERT_STRING_EQUAL(all, "t.lethe:3: missing required parameter 'tasks' for node 'learn' "
                              "(test-learner) at t.lethe:3; add 'tasks = …' (an integer: "
                              "number of tasks)\n");
}

static void
test_pipeline_unknown_references_suggest(void)
{
  g_autofree char *all = problems_of("[train]\nplugin = test-source\n"
                                     "[learn]\nplugin = test-learner\ninput = trian\ntasks = 1\n"
                                     "[report]\nplugin = test-evaluator\nmodel = learn.modle\n"
                                     "data = train\n"
                                     "[out]\nplugin = test-sink\ninput = learn\n");
  ASSERT_CONTAINS(all, "t.lethe:5: input 'input' of node 'learn' (test-learner) names unknown "
                       "node 'trian' at t.lethe:5; did you mean 'train'?\n");
  ASSERT_CONTAINS(all, "t.lethe:9: input 'model' of node 'report' (test-evaluator) names "
                       "unknown output port 'modle' of node 'learn' (test-learner) at "
                       "t.lethe:9; did you mean 'model'?\n");
  ASSERT_CONTAINS(all, "t.lethe:13: input 'input' of node 'out' (test-sink) names node 'learn' "
                       "(test-learner), which has several output ports (model, metrics) at "
                       "t.lethe:13; write 'learn.model' or another of its ports\n");
}

static void
test_pipeline_unconnected_input(void)
{
  g_autofree char *all = problems_of("[train]\nplugin = test-source\n"
                                     "[learn]\nplugin = test-learner\ninput = train\ntasks = 1\n"
                                     "[report]\nplugin = test-evaluator\nmodel = learn.model\n");
  /* 'data' is required, 'extra' is optional. */
  CU_ASSERT_STRING_EQUAL(all, "t.lethe:7: input port 'data' of node 'report' (test-evaluator) "
                              "is not connected at t.lethe:7; add 'data = NODE' or 'data = "
                              "NODE.PORT' (it takes 'dataset' frames)\n");
}

static void
test_pipeline_cycle_names_its_nodes(void)
{
  g_autofree char *all = problems_of("[a]\nplugin = test-sink\ninput = c\n"
                                     "[b]\nplugin = test-evaluator\nmodel = a\ndata = src\n"
                                     "[src]\nplugin = test-source\n"
                                     "[c]\nplugin = test-evaluator\nmodel = b\ndata = src\n");
  /* test-sink has no outputs, so 'a' feeding 'b' is reported first;
   * then build a real cycle from evaluators chained model → metrics. */
  ASSERT_CONTAINS(all, "names node 'a' (test-sink), which has no output ports");

  g_autoptr(LetheRegistry) registry = test_registry();
  g_autoptr(LethePipeline) p = lethe_pipeline_new(registry);
  g_autoptr(GError) error = NULL;
  CU_ASSERT_TRUE(lethe_pipeline_add_node(p, "src", "test-source", &error));
  CU_ASSERT_TRUE(lethe_pipeline_add_node(p, "x", "test-learner", &error));
  CU_ASSERT_TRUE(lethe_pipeline_add_node(p, "y", "test-learner", &error));
  CU_ASSERT_TRUE(lethe_pipeline_add_node(p, "tail", "test-sink", &error));
  CU_ASSERT_TRUE(lethe_pipeline_set_param(p, "x", "tasks", "1", &error));
  CU_ASSERT_TRUE(lethe_pipeline_set_param(p, "y", "tasks", "1", &error));
  /* Schemas aside, x and y feed each other: model → input is a mismatch
   * too, but the cycle must be named. */
  CU_ASSERT_TRUE(lethe_pipeline_link(p, "y", "model", "x", "input", &error));
  CU_ASSERT_TRUE(lethe_pipeline_link(p, "x", "model", "y", "input", &error));
  CU_ASSERT_TRUE(lethe_pipeline_link(p, "y", "metrics", "tail", "input", &error));
  LETHE_ASSERT_NO_ERROR(error);
  g_autoptr(GPtrArray) problems = lethe_pipeline_validate(p);
  gboolean found = FALSE;
  for (guint i = 0; i < problems->len; i++) {
    LetheProblem *pr = g_ptr_array_index(problems, i);
    if (strstr(pr->message, "cycle")) {
      CU_ASSERT_STRING_EQUAL(pr->message,
                             "the pipeline has a cycle: x → y → x; frames cannot flow back "
                             "upstream; chain learners and unlearners through model frames "
                             "instead");
      CU_ASSERT_STRING_EQUAL(pr->node, "x");
      found = TRUE;
    }
  }
  CU_ASSERT_TRUE(found);
  /* Every node is still listed, the cycle and what hangs off it last. */
  CU_ASSERT_EQUAL(lethe_pipeline_get_n_nodes(p), 4);
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_name(p, 0), "src");
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_name(p, 3), "tail");
}

static void
test_pipeline_schema_mismatch_names_both_sides(void)
{
  g_autofree char *all = problems_of("[train]\nplugin = test-source\n"
                                     "[report]\nplugin = test-evaluator\ndata = train\n"
                                     "model = train\n");
  ASSERT_CONTAINS(all, "t.lethe:6: schemas do not match on link train.data → report.model: "
                       "node 'train' (test-source) output 'data' gives 'dataset' frames, node "
                       "'report' (test-evaluator) input 'model' takes 'model' frames; first "
                       "difference: ");
  ASSERT_CONTAINS(all, "; link 'model' to a port that gives 'model' frames\n");
}

static void
test_pipeline_every_problem_is_reported_in_line_order(void)
{
  g_autoptr(LethePipeline) p = parse("[pipeline]\nsed = 1\n"
                                     "[a]\nplugin = nothing-like-it\n"
                                     "[b]\n"
                                     "[c]\nplugin = test-source\ncount = -4\n"
                                     "[c]\n");
  g_autoptr(GPtrArray) problems = lethe_pipeline_validate(p);
  CU_ASSERT_EQUAL_FATAL(problems->len, 5);
  int lines[] = {2, 4, 5, 8, 9};
  for (guint i = 0; i < problems->len; i++) {
    LetheProblem *pr = g_ptr_array_index(problems, i);
    CU_ASSERT_EQUAL(pr->line, lines[i]);
    CU_ASSERT_STRING_EQUAL(pr->file, "t.lethe");
  }
  LetheProblem *first = g_ptr_array_index(problems, 0);
  CU_ASSERT_STRING_EQUAL(first->message,
                         "unknown key 'sed' in [pipeline] at t.lethe:2; did you mean 'seed'?");
  LetheProblem *last = g_ptr_array_index(problems, 4);
  CU_ASSERT_STRING_EQUAL(last->message, "node 'c' is defined twice (first at line 6) at "
                                        "t.lethe:9; give each node its own name");
  LetheProblem *range = g_ptr_array_index(problems, 3);
  CU_ASSERT_STRING_EQUAL(range->node, "c");
  CU_ASSERT_STRING_EQUAL(range->plugin, "test-source");
}

/* ---- Overrides, parameters, output ---------------------------------------- */

static void
test_pipeline_override_sets_and_checks(void)
{
  g_autoptr(LethePipeline) p = parse(good_file);
  g_autoptr(GError) error = NULL;

  CU_ASSERT_TRUE(lethe_pipeline_override(p, "learn.epochs=9", &error));
  CU_ASSERT_TRUE(lethe_pipeline_override(p, "pipeline.seed=123", &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_param(p, 1, "epochs"), "9");
  CU_ASSERT_EQUAL(lethe_pipeline_get_seed(p), 123);

  CU_ASSERT_FALSE(lethe_pipeline_override(p, "lern.epochs=9", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                     "override 'lern.epochs=9' names unknown node 'lern'; did you mean 'learn'?");
  CU_ASSERT_FALSE(lethe_pipeline_override(p, "learn.epoch=9", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                     "unknown parameter 'epoch' for node 'learn' (test-learner); did you mean "
                     "'epochs'?");
  CU_ASSERT_FALSE(lethe_pipeline_override(p, "learn.epochs=-1", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "'-1' is out of range [1, 1000]");
  CU_ASSERT_FALSE(lethe_pipeline_override(p, "learn.input=report", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "is an input port");
  CU_ASSERT_FALSE(lethe_pipeline_override(p, "epochs=3", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "not of the form node.param=value");
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_param(p, 1, "epochs"), "9");
}

static void
test_pipeline_param_values_parse_typed(void)
{
  g_autoptr(LethePipeline) p = parse("[train]\nplugin = test-source\n"
                                     "[learn]\nplugin = test-learner\ninput = train\n"
                                     "tasks = 5  \nlr = 2.5e-1\nverbose = yes\t\n"
                                     "classes = 3, 1,4\ncheckpoint = sub/m.st\n");
  LetheParamValue v;
  g_autoptr(GError) error = NULL;

  CU_ASSERT_TRUE(lethe_pipeline_node_param_value(p, 1, "tasks", &v, &error));
  CU_ASSERT_EQUAL(v.type, LETHE_PARAM_INT);
  CU_ASSERT_EQUAL(v.i, 5);
  /* Blanks after a value are invisible in an editor: ignored but in text. */
  static const LetheParamSpec text = {.name = "t", .type = LETHE_PARAM_STRING};
  CU_ASSERT_TRUE(lethe_param_value_parse(&text, " a b ", NULL, &v, &error));
  CU_ASSERT_STRING_EQUAL(v.s, " a b ");
  lethe_param_value_clear(&v);
  CU_ASSERT_TRUE(lethe_pipeline_node_param_value(p, 1, "lr", &v, &error));
  CU_ASSERT_DOUBLE_EQUAL(v.d, 0.25, 1e-15);
  CU_ASSERT_TRUE(lethe_pipeline_node_param_value(p, 1, "verbose", &v, &error));
  CU_ASSERT_TRUE(v.b);
  CU_ASSERT_TRUE(lethe_pipeline_node_param_value(p, 1, "classes", &v, &error));
  CU_ASSERT_EQUAL_FATAL(v.n, 3);
  CU_ASSERT_EQUAL(v.ints[0], 3);
  CU_ASSERT_EQUAL(v.ints[1], 1);
  CU_ASSERT_EQUAL(v.ints[2], 4);
  lethe_param_value_clear(&v);
  CU_ASSERT_PTR_NULL(v.ints);
  CU_ASSERT_TRUE(lethe_pipeline_node_param_value(p, 1, "optimizer", &v, &error));
  CU_ASSERT_STRING_EQUAL(v.s, "sgd"); /* the default */
  lethe_param_value_clear(&v);
  /* Relative paths resolve against the pipeline's folder. */
  CU_ASSERT_TRUE(lethe_pipeline_node_param_value(p, 1, "checkpoint", &v, &error));
  g_autofree char *expected = g_build_filename(lethe_pipeline_get_base_dir(p), "sub/m.st", NULL);
  CU_ASSERT_STRING_EQUAL(v.s, expected);
  lethe_param_value_clear(&v);
  LETHE_ASSERT_NO_ERROR(error);

  CU_ASSERT_FALSE(lethe_pipeline_node_param_value(p, 1, "nope", &v, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "has no parameter 'nope'");

  static const LetheParamSpec list = {
      .name = "l", .type = LETHE_PARAM_DOUBLE_LIST, .min = 1, .max = 0};
  CU_ASSERT_TRUE(lethe_param_value_parse(&list, "  ", NULL, &v, &error));
  CU_ASSERT_EQUAL(v.n, 0);
  CU_ASSERT_PTR_NULL(v.doubles);
  CU_ASSERT_TRUE(lethe_param_value_parse(&list, "1e300, -2", NULL, &v, &error));
  CU_ASSERT_EQUAL(v.n, 2);
  CU_ASSERT_DOUBLE_EQUAL(v.doubles[1], -2.0, 0);
  lethe_param_value_clear(&v);
  CU_ASSERT_FALSE(lethe_param_value_parse(&list, "1,,2", NULL, &v, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "element 2 of the list: '' is not a finite number");
  CU_ASSERT_FALSE(lethe_param_parse_check(&list, "1e999", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "'1e999' is not a finite number");
}

static void
test_pipeline_to_keyfile_round_trips_with_defaults(void)
{
  g_autoptr(LethePipeline) p = parse(good_file);
  g_autoptr(GError) error = NULL;
  CU_ASSERT_TRUE(lethe_pipeline_override(p, "learn.lr=0.5", &error));

  g_autofree char *text = lethe_pipeline_to_keyfile(p);
  ASSERT_CONTAINS(text, "seed=7\n");
  ASSERT_CONTAINS(text, "[learn]\nplugin=test-learner\ninput=train\nepochs=3\nlr=0.5\n"
                        "#optimizer=sgd\n#verbose=false\n#checkpoint=model.safetensors\n"
                        "#classes=\ntasks=5\n");
  ASSERT_CONTAINS(text, "[train]\nplugin=test-source\n#count=10\n");

  /* Reading it back gives the same pipeline: the same values, and the
   * same parameters set (a node may act on whether one was). */
  g_autoptr(LethePipeline) again = parse(text);
  g_autoptr(GPtrArray) problems = lethe_pipeline_validate(again);
  CU_ASSERT_EQUAL(problems->len, 0);
  CU_ASSERT_EQUAL(lethe_pipeline_get_seed(again), 7);
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_get_description(again), "test run");
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_param(again, 1, "lr"), "0.5");
  CU_ASSERT_FALSE(lethe_pipeline_node_param_is_set(again, 1, "optimizer"));
  CU_ASSERT_STRING_EQUAL(lethe_pipeline_node_param(again, 1, "optimizer"), "sgd");
  CU_ASSERT_TRUE(lethe_pipeline_node_param_is_set(again, 1, "lr"));
  g_autofree char *twice = lethe_pipeline_to_keyfile(again);
  CU_ASSERT_STRING_EQUAL(text, twice);
}

static void
test_pipeline_to_dot_draws_ports_and_schemas(void)
{
  g_autoptr(LethePipeline) p = parse(good_file);
  g_autofree char *dot = lethe_pipeline_to_dot(p);

  CU_ASSERT_TRUE(g_str_has_prefix(dot, "digraph \"pipeline\" {\n"));
  ASSERT_CONTAINS(dot, "  \"learn\" [label=\"{{<i0> input}|learn\\n(test-learner)|{<o0> "
                       "model|<o1> metrics}}\"];\n");
  ASSERT_CONTAINS(dot, "  \"learn\":o0 -> \"report\":i0 [label=\"model\"];\n");
  ASSERT_CONTAINS(dot, "  \"train\":o0 -> \"report\":i1 [label=\"dataset\", style=dashed];\n");
  ASSERT_CONTAINS(dot, "  \"report\":o0 -> \"out\":i0 [label=\"metrics → any\"];\n");
  CU_ASSERT_TRUE(g_str_has_suffix(dot, "}\n"));
}

/* What docs/security.md promises: the header holds only a description and
 * a seed, so a pipeline file cannot add plugin folders, load a library or
 * point the cache elsewhere; a plugin name is only ever looked up in the
 * registry, never opened as a path. */
static void
test_pipeline_file_cannot_choose_code_to_load(void)
{
  g_autofree char *header = problems_of("[pipeline]\nplugin-path = /tmp/evil\n"
                                        "[train]\nplugin = test-source\n");
  ASSERT_CONTAINS(header, "t.lethe:2: unknown key 'plugin-path' in [pipeline]");
  g_autofree char *by_path = problems_of("[train]\nplugin = /tmp/evil.so\n");
  ASSERT_CONTAINS(by_path, "unknown node type '/tmp/evil.so'");
}

LETHE_TEST_MAIN("pipeline", LETHE_TEST(test_pipeline_builder_orders_nodes_topologically),
                LETHE_TEST(test_pipeline_file_cannot_choose_code_to_load),
                LETHE_TEST(test_pipeline_builder_refuses_bad_names),
                LETHE_TEST(test_pipeline_file_reads_header_lines_and_links),
                LETHE_TEST(test_pipeline_seed_defaults_to_zero),
                LETHE_TEST(test_pipeline_missing_file_fails_with_path),
                LETHE_TEST(test_pipeline_not_keyfile_names_the_line),
                LETHE_TEST(test_pipeline_node_without_plugin),
                LETHE_TEST(test_pipeline_unknown_node_type_suggests),
                LETHE_TEST(test_pipeline_unknown_parameter_suggests),
                LETHE_TEST(test_pipeline_bad_values_are_named),
                LETHE_TEST(test_pipeline_missing_required_parameter),
                LETHE_TEST(test_pipeline_unknown_references_suggest),
                LETHE_TEST(test_pipeline_unconnected_input),
                LETHE_TEST(test_pipeline_cycle_names_its_nodes),
                LETHE_TEST(test_pipeline_schema_mismatch_names_both_sides),
                LETHE_TEST(test_pipeline_every_problem_is_reported_in_line_order),
                LETHE_TEST(test_pipeline_override_sets_and_checks),
                LETHE_TEST(test_pipeline_param_values_parse_typed),
                LETHE_TEST(test_pipeline_to_keyfile_round_trips_with_defaults),
                LETHE_TEST(test_pipeline_to_dot_draws_ports_and_schemas))
