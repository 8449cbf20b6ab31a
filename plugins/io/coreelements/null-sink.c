/* null-sink — drops every frame.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Ends a branch whose frames nobody needs.  With expect-frames set it
 * checks, at end-of-stream, that exactly that many frames arrived (handy in
 * tests of pipelines).
 *
 *   [drop]
 *   plugin = null-sink
 *   input = pass
 */
#include "coreelements.h"

#define DEFAULT_EXPECT_FRAMES "-1"

static const LethePortSpec inputs[] = {
    {.name = "input", .schema = "any", .doc = "any frame"},
    {NULL},
};

static const LetheParamSpec params[] = {
    {.name = "expect-frames",
     .type = LETHE_PARAM_INT,
     .default_value = DEFAULT_EXPECT_FRAMES,
     .min = -1,
     .max = G_MAXINT64,
     .doc = "fail at end-of-stream unless exactly this many frames arrived (-1: any number)"},
    {NULL},
};

static gboolean
null_sink_init(LetheNode *node, GError **error)
{
  lethe_node_set_private(node, g_new0(gint64, 1), g_free);
  return TRUE;
}

static gboolean
null_sink_process(LetheNode *node, LetheFrame **in, GError **error)
{
  gint64 *count = lethe_node_get_private(node);
  (*count)++;
  return TRUE;
}

static gboolean
null_sink_flush(LetheNode *node, GError **error)
{
  gint64 *count = lethe_node_get_private(node);
  gint64 expect = lethe_node_get_int(node, "expect-frames");

  if (expect >= 0 && *count != expect)
    goto wrong_count;
  return TRUE;

  /* ERRORS */
wrong_count : {
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_FAILED,
              "received %" G_GINT64_FORMAT " frames, expected %" G_GINT64_FORMAT, *count, expect);
  return FALSE;
}
}

static const LetheNodeVTable vtable = {
    .init = null_sink_init,
    .process = null_sink_process,
    .flush = null_sink_flush,
};

const LetheNodeType lethe_null_sink_type = {
    .name = "null-sink",
    .kind = LETHE_NODE_SINK,
    .description = "Drops every frame (optionally checking how many arrived)",
    .inputs = inputs,
    .outputs = NULL,
    .params = params,
    .vtable = &vtable,
};
