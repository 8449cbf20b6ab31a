/* tensor-stats — summarises one tensor of each frame as metrics.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * For every frame, pushes a `metrics` frame holding the mean, minimum and
 * maximum of the named tensor, with the input's "step" metadata.  Left
 * unconnected, its output is recorded in metrics.jsonl by the core.
 *
 *   [stats]
 *   plugin = tensor-stats
 *   input = source
 *   tensor = x
 */
#include "coreelements.h"

#include <math.h>

#define DEFAULT_TENSOR "x"

static const LethePortSpec inputs[] = {
    {.name = "input", .schema = "any", .doc = "frames holding the tensor"},
    {NULL},
};

static const LethePortSpec outputs[] = {
    {.name = "metrics", .schema = "metrics", .doc = "mean, min and max per frame"},
    {NULL},
};

static const LetheParamSpec params[] = {
    {.name = "tensor",
     .type = LETHE_PARAM_STRING,
     .default_value = DEFAULT_TENSOR,
     .doc = "name of the tensor to summarise"},
    {NULL},
};

static gboolean
tensor_stats_process(LetheNode *node, LetheFrame **in, GError **error)
{
  const char *name = lethe_node_get_string(node, "tensor");
  LetheTensor *t = lethe_frame_get_tensor(in[0], name);

  if (t == NULL)
    goto missing;

  gint64 n = lethe_tensor_n_elements(t);
  double sum = 0, lo = INFINITY, hi = -INFINITY;
  for (gint64 i = 0; i < n; i++) {
    double v = lethe_tensor_get_f64(t, i);
    sum += v;
    lo = MIN(lo, v);
    hi = MAX(hi, v);
  }

  LetheFrame *out = lethe_frame_new();
  lethe_frame_take_tensor(out, "mean", lethe_tensor_new_scalar_f64(n ? sum / (double)n : NAN));
  lethe_frame_take_tensor(out, "min", lethe_tensor_new_scalar_f64(n ? lo : NAN));
  lethe_frame_take_tensor(out, "max", lethe_tensor_new_scalar_f64(n ? hi : NAN));
  lethe_frame_set_meta_int(out, "step", lethe_frame_get_meta_int(in[0], "step", -1));
  lethe_node_push(node, 0, out);
  return TRUE;

  /* ERRORS */
missing : {
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
              "the frame has no tensor '%s'; set 'tensor =' to one it holds", name);
  return FALSE;
}
}

static const LetheNodeVTable vtable = {
    .process = tensor_stats_process,
};

const LetheNodeType lethe_tensor_stats_type = {
    .name = "tensor-stats",
    .kind = LETHE_NODE_EVALUATOR,
    .description = "Mean, min and max of one tensor of each frame, as metrics",
    .inputs = inputs,
    .outputs = outputs,
    .params = params,
    .vtable = &vtable,
};
