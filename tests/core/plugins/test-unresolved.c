/* A plugin that needs a symbol nothing provides: opening it with every
 * symbol resolved must fail and name the symbol.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/plugin.h>

void lethe_test_symbol_nobody_defines(void);

static gboolean
call_missing(LetheNode *node, LetheFrame **inputs, GError **error)
{
  lethe_test_symbol_nobody_defines();
  return TRUE;
}

static const LetheNodeVTable vtable = {.process = call_missing};
static const LetheNodeType unresolved_type = {
    .name = "test-unresolved-node",
    .kind = LETHE_NODE_TRANSFORM,
    .description = "never listed",
    .vtable = &vtable,
};
static const LetheNodeType *const node_types[] = {&unresolved_type, NULL};

static const LethePluginInfo info = {
    .abi_major = LETHE_ABI_MAJOR,
    .abi_minor = LETHE_ABI_MINOR,
    .name = "test-unresolved",
    .version = "1.0",
    .license = "LGPL-2.1-or-later",
    .description = "unresolved symbol",
    .node_types = node_types,
};

LETHE_PLUGIN_DEFINE(info)
