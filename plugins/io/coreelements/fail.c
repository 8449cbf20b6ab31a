/* fail — passes frames through, then fails on purpose.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Forwards frames 1 … at-frame − 1 and fails on frame at-frame with
 * LETHE_ERROR_FAILED and the given message.  It exists to test how a run
 * reports a node that fails: the error names this node and its plugin, the
 * other nodes stop, and what was finished is still written.
 *
 *   [boom]
 *   plugin = fail
 *   input = source
 *   at-frame = 3
 */
#include "coreelements.h"

#define DEFAULT_AT_FRAME "1"
#define DEFAULT_MESSAGE  "failing on purpose"

static const LethePortSpec inputs[] = {
    {.name = "input", .schema = "any", .doc = "any frame"},
    {NULL},
};

static const LethePortSpec outputs[] = {
    {.name = "output", .schema = "any", .doc = "the frames before the failure"},
    {NULL},
};

static const LetheParamSpec params[] = {
    {.name = "at-frame",
     .type = LETHE_PARAM_INT,
     .default_value = DEFAULT_AT_FRAME,
     .min = 1,
     .max = G_MAXINT64,
     .doc = "the 1-based index of the frame that makes it fail"},
    {.name = "message",
     .type = LETHE_PARAM_STRING,
     .default_value = DEFAULT_MESSAGE,
     .doc = "the error message"},
    {NULL},
};

static gboolean
fail_init(LetheNode *node, GError **error)
{
  lethe_node_set_private(node, g_new0(gint64, 1), g_free);
  return TRUE;
}

static gboolean
fail_process(LetheNode *node, LetheFrame **in, GError **error)
{
  gint64 *count = lethe_node_get_private(node);
  gint64 at = lethe_node_get_int(node, "at-frame");

  if (++(*count) == at)
    goto failing;
  lethe_node_push(node, 0, lethe_frame_ref(in[0]));
  return TRUE;

  /* ERRORS */
failing : {
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_FAILED, "%s (frame %" G_GINT64_FORMAT ")",
              lethe_node_get_string(node, "message"), at);
  return FALSE;
}
}

static const LetheNodeVTable vtable = {
    .init = fail_init,
    .process = fail_process,
};

const LetheNodeType lethe_fail_type = {
    .name = "fail",
    .kind = LETHE_NODE_TRANSFORM,
    .description = "Passes frames through and fails at frame K (for testing error reports)",
    .inputs = inputs,
    .outputs = outputs,
    .params = params,
    .vtable = &vtable,
};
