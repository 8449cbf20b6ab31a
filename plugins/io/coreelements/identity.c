/* identity — passes every frame through untouched.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Pushes the very frame it received (one more reference, no copy), so it
 * costs one function call per frame.  Useful to test and measure the
 * scheduler, and as a placeholder while building a pipeline.  With
 * sleep-time it first sleeps that many microseconds, without looking at
 * the cancellable: it stands for a node stuck in a long call (a BLAS
 * routine), to test how a run stops around one.
 *
 *   [pass]
 *   plugin = identity
 *   input = source
 *   sleep-time = 0
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

#define DEFAULT_SLEEP_TIME "0"

static const LetheParamSpec params[] = {
    {.name = "sleep-time",
     .type = LETHE_PARAM_INT,
     .default_value = DEFAULT_SLEEP_TIME,
     .min = 0,
     .max = G_MAXINT32,
     .doc = "microseconds to sleep before passing each frame on (not interruptible)"},
    {NULL},
};

/* The sleep is kept as the private pointer: no lookup by name per frame
 * on the path the dataflow benchmark measures. */
static gboolean
identity_init(LetheNode *node, GError **error)
{
  lethe_node_set_private(node, GSIZE_TO_POINTER((gsize)lethe_node_get_int(node, "sleep-time")),
                         NULL);
  return TRUE;
}

static gboolean
identity_process(LetheNode *node, LetheFrame **in, GError **error)
{
  gsize sleep_time = GPOINTER_TO_SIZE(lethe_node_get_private(node));
  if (G_UNLIKELY(sleep_time > 0))
    g_usleep((gulong)sleep_time);
  lethe_node_push(node, 0, lethe_frame_ref(in[0]));
  return TRUE;
}

static const LetheNodeVTable vtable = {
    .init = identity_init,
    .process = identity_process,
};

const LetheNodeType lethe_identity_type = {
    .name = "identity",
    .kind = LETHE_NODE_TRANSFORM,
    .description = "Passes every frame through untouched (no copy)",
    .inputs = inputs,
    .outputs = outputs,
    .params = params,
    .vtable = &vtable,
};
