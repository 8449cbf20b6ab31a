/* A plugin that aborts as soon as it is loaded, before the registry can
 * read its descriptor: only the scanner process may die of it.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/plugin.h>
#include <stdlib.h>

__attribute__((constructor)) static void
crash_on_load(void)
{
  abort();
}

static gboolean
pass_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  return TRUE;
}

static const LetheNodeVTable vtable = {.process = pass_process};
static const LetheNodeType crash_type = {
    .name = "test-crash-node",
    .kind = LETHE_NODE_TRANSFORM,
    .description = "never listed",
    .vtable = &vtable,
};
static const LetheNodeType *const node_types[] = {&crash_type, NULL};

static const LethePluginInfo info = {
    .abi_major = LETHE_ABI_MAJOR,
    .abi_minor = LETHE_ABI_MINOR,
    .name = "test-crash",
    .version = "1.0",
    .license = "LGPL-2.1-or-later",
    .description = "crashes",
    .node_types = node_types,
};

LETHE_PLUGIN_DEFINE(info)
