/* A plugin with node types for the `lethe validate` and `lethe graph`
 * tests: their metadata is all these tests read, so nodes do nothing.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/plugin.h>

/* Never called: these tests only read metadata. */
static gboolean
toy_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED, "toy node types do not run");
  return FALSE;
}

static const LetheNodeVTable toy_vtable = {.process = toy_process};

static const LethePortSpec source_outputs[] = {
    {.name = "data", .schema = "dataset", .doc = "labelled samples"},
    {NULL},
};
static const LetheParamSpec source_params[] = {
    {.name = "images", .type = LETHE_PARAM_PATH, .default_value = NULL, .doc = "the images"},
    {.name = "count",
     .type = LETHE_PARAM_INT,
     .default_value = "100",
     .min = 1,
     .max = 60000,
     .doc = "how many samples"},
    {NULL},
};
static const LetheNodeType source_type = {.name = "toy-source",
                                          .kind = LETHE_NODE_SOURCE,
                                          .description = "labelled samples",
                                          .outputs = source_outputs,
                                          .params = source_params,
                                          .vtable = &toy_vtable};

static const LethePortSpec learner_inputs[] = {
    {.name = "input", .schema = "dataset", .doc = "what to learn"},
    {NULL},
};
static const LethePortSpec learner_outputs[] = {
    {.name = "model", .schema = "model", .doc = "the model after each task"},
    {.name = "metrics", .schema = "metrics", .doc = "training loss"},
    {NULL},
};
static const char *const optimizers[] = {"sgd", "adam", NULL};
static const LetheParamSpec learner_params[] = {
    {.name = "epochs",
     .type = LETHE_PARAM_INT,
     .default_value = "5",
     .min = 1,
     .max = 1000,
     .doc = "passes over each task"},
    {.name = "lr",
     .type = LETHE_PARAM_DOUBLE,
     .default_value = "0.01",
     .min = 0,
     .max = 10,
     .doc = "learning rate"},
    {.name = "optimizer",
     .type = LETHE_PARAM_ENUM,
     .default_value = "sgd",
     .choices = optimizers,
     .doc = "update rule"},
    {NULL},
};
static const LetheNodeType learner_type = {.name = "toy-learner",
                                           .kind = LETHE_NODE_LEARNER,
                                           .description = "learns tasks",
                                           .inputs = learner_inputs,
                                           .outputs = learner_outputs,
                                           .params = learner_params,
                                           .vtable = &toy_vtable};

static const LethePortSpec report_inputs[] = {
    {.name = "model", .schema = "model", .doc = "the model to evaluate"},
    {.name = "data", .schema = "dataset", .flags = LETHE_PORT_STICKY, .doc = "test set"},
    {NULL},
};
static const LethePortSpec report_outputs[] = {
    {.name = "metrics", .schema = "metrics"},
    {NULL},
};
static const LetheNodeType report_type = {.name = "toy-report",
                                          .kind = LETHE_NODE_EVALUATOR,
                                          .description = "accuracy",
                                          .inputs = report_inputs,
                                          .outputs = report_outputs,
                                          .vtable = &toy_vtable};

static const LethePortSpec sink_inputs[] = {
    {.name = "input", .schema = "any"},
    {NULL},
};
static const LetheNodeType sink_type = {.name = "toy-sink",
                                        .kind = LETHE_NODE_SINK,
                                        .description = "drops frames",
                                        .inputs = sink_inputs,
                                        .vtable = &toy_vtable};

static const LetheNodeType *const toy_types[] = {&source_type, &learner_type, &report_type,
                                                 &sink_type, NULL};
static const LethePluginInfo toy_plugin = {.abi_major = LETHE_ABI_MAJOR,
                                           .abi_minor = LETHE_ABI_MINOR,
                                           .name = "toy-types",
                                           .version = "1.0",
                                           .license = "LGPL-2.1-or-later",
                                           .description =
                                               "node types for the pipeline command tests",
                                           .node_types = toy_types};

LETHE_PLUGIN_DEFINE(toy_plugin)
