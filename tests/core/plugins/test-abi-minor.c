/* A plugin built for a newer ABI minor than the core's, which it must refuse.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/plugin.h>

static gboolean
pass_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  return TRUE;
}

static const LetheNodeVTable vtable = {.process = pass_process};
static const LetheNodeType abi_type = {
    .name = "test-abi-minor-node",
    .kind = LETHE_NODE_TRANSFORM,
    .description = "never listed",
    .vtable = &vtable,
};
static const LetheNodeType *const node_types[] = {&abi_type, NULL};

static const LethePluginInfo info = {
    .abi_major = LETHE_ABI_MAJOR,
    .abi_minor = LETHE_ABI_MINOR + 1,
    .name = "test-abi-minor",
    .version = "1.0",
    .license = "LGPL-2.1-or-later",
    .description = "wrong ABI",
    .node_types = node_types,
};

LETHE_PLUGIN_DEFINE(info)
