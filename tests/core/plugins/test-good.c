/* A well-formed test plugin: two node types, one using every parameter
 * type, and a model kind.  When LETHE_TEST_LOAD_MARKER names a file, loading
 * this plugin appends a line to it, so tests can prove it was not loaded.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/model.h>
#include <lethe/plugin.h>
#include <stdio.h>

__attribute__((constructor)) static void
mark_loaded(void)
{
  const char *marker = g_getenv("LETHE_TEST_LOAD_MARKER");
  if (marker) {
    FILE *f = fopen(marker, "a");
    if (f) {
      fputs("test-good loaded\n", f);
      fclose(f);
    }
  }
}

static gboolean
pass_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  return TRUE;
}

static const LetheNodeVTable vtable = {.process = pass_process};

static const char *const modes[] = {"fast", "slow", NULL};

static const LetheParamSpec source_params[] = {
    {"enabled", LETHE_PARAM_BOOL, "true", 0, 0, NULL, "whether it runs"},
    {"count", LETHE_PARAM_INT, "10", 1, 1000, NULL, "how many frames"},
    {"rate", LETHE_PARAM_DOUBLE, "0.5", 0.0, 1.0, NULL, "a fraction"},
    {"label", LETHE_PARAM_STRING, "hello", 0, -1, NULL, "free text"},
    {"mode", LETHE_PARAM_ENUM, "fast", 0, -1, modes, "how to go"},
    {"file", LETHE_PARAM_PATH, NULL, 0, -1, NULL, "a required file"},
    {"classes", LETHE_PARAM_INT_LIST, "1,2,3", 0, 9, NULL, "class indices"},
    {"weights", LETHE_PARAM_DOUBLE_LIST, "", 0, -1, NULL, "optional weights"},
    {NULL},
};

static const LethePortSpec source_outputs[] = {
    {"output", "dataset", LETHE_PORT_NONE, "the frames"},
    {NULL},
};

static const LetheNodeType test_source = {
    .name = "test-source",
    .kind = LETHE_NODE_SOURCE,
    .description = "Emits test frames",
    .outputs = source_outputs,
    .params = source_params,
    .vtable = &vtable,
    .doc = "A source used by the registry tests.",
};

static const LethePortSpec sink_inputs[] = {
    {"input", "dataset", LETHE_PORT_NONE, "frames to drop"},
    {"model", "model", LETHE_PORT_STICKY | LETHE_PORT_OPTIONAL, "a model to keep"},
    {NULL},
};

static const LetheNodeType test_sink = {
    .name = "test-sink",
    .kind = LETHE_NODE_SINK,
    .description = "Drops every frame",
    .inputs = sink_inputs,
    .vtable = &vtable,
};

static gboolean
test_forward(const LetheFrame *model, LetheTensor *x, LetheTensor **out, GError **error)
{
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED, "test-kind forward called");
  return FALSE;
}

static const LetheModelKind test_kind = {
    .name = "test-kind",
    .description = "A model kind of the test plugin",
    .forward = test_forward,
};

static const LetheNodeType *const node_types[] = {&test_source, &test_sink, NULL};
static const LetheModelKind *const model_kinds[] = {&test_kind, NULL};

static const LethePluginInfo info = {
    .abi_major = LETHE_ABI_MAJOR,
    .abi_minor = LETHE_ABI_MINOR,
    .name = "test-good",
    .version = "1.2.3",
    .license = "LGPL-2.1-or-later",
    .description = "Node types for the registry tests",
    .node_types = node_types,
    .model_kinds = model_kinds,
};

LETHE_PLUGIN_DEFINE(info)
