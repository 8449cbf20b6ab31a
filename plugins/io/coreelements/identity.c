/* identity — passes every frame through untouched.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Pushes the very frame it received (one more reference, no copy), so it
 * costs one function call per frame.  Useful to test and measure the
 * scheduler, and as a placeholder while building a pipeline.
 *
 *   [pass]
 *   plugin = identity
 *   input = source
 */
#include "coreelements.h"

static const LethePortSpec inputs[] = {
    {.name = "input", .schema = "any", .doc = "any frame"},
    {NULL},
};

static const LethePortSpec outputs[] = {
    {.name = "output", .schema = "any", .doc = "the same frame"},
    {NULL},
};

static gboolean
identity_process(LetheNode *node, LetheFrame **in, GError **error)
{
  lethe_node_push(node, 0, lethe_frame_ref(in[0]));
  return TRUE;
}

static const LetheNodeVTable vtable = {
    .process = identity_process,
};

const LetheNodeType lethe_identity_type = {
    .name = "identity",
    .kind = LETHE_NODE_TRANSFORM,
    .description = "Passes every frame through untouched (no copy)",
    .inputs = inputs,
    .outputs = outputs,
    .params = NULL,
    .vtable = &vtable,
};
