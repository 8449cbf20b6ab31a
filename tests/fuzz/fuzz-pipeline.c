/* Lethe — fuzz target: pipeline files, parsed and validated against a
 * registry of static node types (every parameter type, sticky and
 * optional ports, several schemas), then written back and parsed again.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/lethe.h>
#include <lethe/pipeline.h>
#include <lethe/plugin.h>
#include <stdlib.h>

#include "fuzz-common.h"

static gboolean
never_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED, "fuzz node types do not run");
  return FALSE;
}

static const LetheNodeVTable vtable = {.process = never_process};
static const char *const choices[] = {"sgd", "adam", "adamw", NULL};

static const LethePortSpec src_out[] = {
    {.name = "data", .schema = "dataset"}, {.name = "requests", .schema = "request"}, {NULL}};
static const LetheParamSpec src_params[] = {
    {.name = "images", .type = LETHE_PARAM_PATH},
    {.name = "count", .type = LETHE_PARAM_INT, .default_value = "10", .min = 1, .max = 60000},
    {.name = "normalize", .type = LETHE_PARAM_BOOL, .default_value = "true"},
    {.name = "classes", .type = LETHE_PARAM_INT_LIST, .default_value = "0,1", .min = 0, .max = 9},
    {NULL}};
static const LetheNodeType src_type = {.name = "fz-source",
                                       .kind = LETHE_NODE_SOURCE,
                                       .outputs = src_out,
                                       .params = src_params,
                                       .vtable = &vtable};

static const LethePortSpec learn_in[] = {
    {.name = "input", .schema = "dataset"},
    {.name = "requests", .schema = "request", .flags = LETHE_PORT_OPTIONAL},
    {NULL}};
static const LethePortSpec learn_out[] = {
    {.name = "model", .schema = "model"}, {.name = "metrics", .schema = "metrics"}, {NULL}};
static const LetheParamSpec learn_params[] = {
    {.name = "lr", .type = LETHE_PARAM_DOUBLE, .default_value = "0.1", .min = 0, .max = 10},
    {.name = "optimizer", .type = LETHE_PARAM_ENUM, .default_value = "sgd", .choices = choices},
    {.name = "tag", .type = LETHE_PARAM_STRING, .default_value = ""},
    {.name = "weights", .type = LETHE_PARAM_DOUBLE_LIST, .default_value = "1", .min = 0, .max = 1},
    {.name = "epochs", .type = LETHE_PARAM_INT, .min = 1, .max = 1000},
    {NULL}};
static const LetheNodeType learn_type = {.name = "fz-learner",
                                         .kind = LETHE_NODE_LEARNER,
                                         .inputs = learn_in,
                                         .outputs = learn_out,
                                         .params = learn_params,
                                         .vtable = &vtable};

static const LethePortSpec eval_in[] = {
    {.name = "model", .schema = "model"},
    {.name = "data", .schema = "dataset", .flags = LETHE_PORT_STICKY},
    {NULL}};
static const LethePortSpec eval_out[] = {{.name = "metrics", .schema = "metrics"}, {NULL}};
static const LetheNodeType eval_type = {.name = "fz-eval",
                                        .kind = LETHE_NODE_EVALUATOR,
                                        .inputs = eval_in,
                                        .outputs = eval_out,
                                        .vtable = &vtable};

static const LethePortSpec sink_in[] = {{.name = "input", .schema = "any"}, {NULL}};
static const LetheParamSpec sink_params[] = {
    {.name = "path", .type = LETHE_PARAM_PATH, .default_value = "out.csv"}, {NULL}};
static const LetheNodeType sink_type = {.name = "fz-sink",
                                        .kind = LETHE_NODE_SINK,
                                        .inputs = sink_in,
                                        .params = sink_params,
                                        .vtable = &vtable};

static const LetheNodeType *const types[] = {&src_type, &learn_type, &eval_type, &sink_type, NULL};
static const LethePluginInfo fuzz_plugin = {.abi_major = LETHE_ABI_MAJOR,
                                            .abi_minor = LETHE_ABI_MINOR,
                                            .name = "fuzz-types",
                                            .version = "1.0",
                                            .license = "LGPL-2.1-or-later",
                                            .description = "node types for the pipeline fuzzer",
                                            .node_types = types};

static LetheRegistry *registry;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  fuzz_init();
  /* No plugin file: only the static types exist, and nothing is cached. */
  char *empty = g_dir_make_tmp("lethe-fuzz-XXXXXX", NULL);
  g_assert(empty != NULL);
  g_setenv("LETHE_PLUGIN_SYSTEM_PATH", empty, TRUE);
  g_unsetenv("LETHE_PLUGIN_PATH");
  g_autofree char *cache = g_build_filename(empty, "registry.bin", NULL);
  g_setenv("LETHE_REGISTRY", cache, TRUE);
  if (!g_getenv("LETHE_SCHEMA_PATH"))
    g_setenv("LETHE_SCHEMA_PATH", LETHE_FUZZ_SCHEMA_DIR, TRUE);
  g_autoptr(GError) error = NULL;
  registry = lethe_registry_new(NULL, &error);
  g_assert_no_error(error);
  lethe_registry_register_static(registry, &fuzz_plugin);
  g_free(empty);
  return 0;
}

static void
check_problems(GPtrArray *problems)
{
  for (guint i = 0; i < problems->len; i++) {
    const LetheProblem *p = problems->pdata[i];
    g_assert(p->message != NULL && p->message[0] != '\0');
    g_autofree char *s = lethe_problem_to_string(p);
    g_assert(s != NULL);
  }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LethePipeline) p =
      lethe_pipeline_new_from_data((const char *)data, size, "fuzz.lethe", registry, &error);
  g_assert((p == NULL) == (error != NULL));
  if (p == NULL)
    return 0;
  g_autoptr(GPtrArray) problems = lethe_pipeline_validate(p);
  g_assert(problems != NULL);
  check_problems(problems);
  g_autofree char *dot = lethe_pipeline_to_dot(p);
  g_assert(dot != NULL);

  /* What a run records as pipeline.lethe must read back as the same,
   * still valid graph.  (An invalid file is written back on a best-effort
   * basis: GKeyFile cannot write a group without keys.) */
  if (problems->len > 0)
    return 0;
  g_autofree char *text = lethe_pipeline_to_keyfile(p);
  g_assert(text != NULL);
  g_autoptr(GError) again_error = NULL;
  g_autoptr(LethePipeline) again =
      lethe_pipeline_new_from_data(text, -1, "fuzz-again.lethe", registry, &again_error);
  if (again == NULL) {
    g_printerr("written pipeline does not parse: %s\n---\n%s---\n", again_error->message, text);
    abort();
  }
  g_autoptr(GPtrArray) again_problems = lethe_pipeline_validate(again);
  if (again_problems->len > 0 ||
      lethe_pipeline_get_n_nodes(again) != lethe_pipeline_get_n_nodes(p) ||
      lethe_pipeline_get_n_links(again) != lethe_pipeline_get_n_links(p)) {
    g_autofree char *first =
        again_problems->len ? lethe_problem_to_string(again_problems->pdata[0]) : NULL;
    g_printerr("written pipeline differs (%s):\n---\n%s---\n", first ? first : "other graph", text);
    abort();
  }
  return 0;
}
