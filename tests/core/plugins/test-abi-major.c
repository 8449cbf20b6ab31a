/* A plugin built for ABI major 2, which this core must refuse.
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
    .name = "test-abi-major-node",
    .kind = LETHE_NODE_TRANSFORM,
    .description = "never listed",
    .vtable = &vtable,
};
static const LetheNodeType *const node_types[] = {&abi_type, NULL};

static const LethePluginInfo info = {
    .abi_major = 2,
    .abi_minor = 0,
    .name = "test-abi-major",
    .version = "1.0",
    .license = "LGPL-2.1-or-later",
    .description = "wrong ABI",
    .node_types = node_types,
};

LETHE_PLUGIN_DEFINE(info)
