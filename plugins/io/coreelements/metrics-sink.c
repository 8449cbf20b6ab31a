/* metrics-sink — records every frame it receives as metrics.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each tensor of a `metrics` frame becomes one line of the run's
 * metrics.jsonl and one row of the results table: its name is the tensor's
 * name, its step the frame's "step" (else "task") metadata.  An unconnected
 * output of schema `metrics` is recorded the same way without this node;
 * use it to record a connected stream explicitly.
 *
 *   [record]
 *   plugin = metrics-sink
 *   input = evaluate.metrics
 */
#include "coreelements.h"

static const LethePortSpec inputs[] = {
    {.name = "input", .schema = "metrics", .doc = "frames of scalar (or small) tensors"},
    {NULL},
};

static gboolean
metrics_sink_process(LetheNode *node, LetheFrame **in, GError **error)
{
  lethe_node_metric_frame(node, in[0]);
  return TRUE;
}

static const LetheNodeVTable vtable = {
    .process = metrics_sink_process,
};

const LetheNodeType lethe_metrics_sink_type = {
    .name = "metrics-sink",
    .kind = LETHE_NODE_SINK,
    .description = "Records every tensor of every frame as a metric (metrics.jsonl)",
    .inputs = inputs,
    .outputs = NULL,
    .params = NULL,
    .vtable = &vtable,
};
