/* fan-in — joins two to four streams into one.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Fires when every connected input holds a frame (the core's rule).  In
 * "forward" mode it pushes each of those frames in port order, so the
 * output interleaves the inputs; in "merge" mode it pushes one frame
 * holding the tensors of all of them (the metadata of the first), and
 * refuses two tensors of the same name.
 *
 *   [both]
 *   plugin = fan-in
 *   input-1 = left
 *   input-2 = right
 *   mode = merge
 */
#include "coreelements.h"

#define DEFAULT_MODE "forward"

static const char *const mode_choices[] = {"forward", "merge", NULL};

static const LethePortSpec inputs[] = {
    {.name = "input-1", .schema = "any", .doc = "first stream"},
    {.name = "input-2", .schema = "any", .doc = "second stream"},
    {.name = "input-3", .schema = "any", .flags = LETHE_PORT_OPTIONAL, .doc = "third stream"},
    {.name = "input-4", .schema = "any", .flags = LETHE_PORT_OPTIONAL, .doc = "fourth stream"},
    {NULL},
};

static const LethePortSpec outputs[] = {
    {.name = "output", .schema = "any", .doc = "the joined stream"},
    {NULL},
};

static const LetheParamSpec params[] = {
    {.name = "mode",
     .type = LETHE_PARAM_ENUM,
     .default_value = DEFAULT_MODE,
     .choices = mode_choices,
     .doc = "forward: push each input frame in port order; merge: one frame with all tensors"},
    {NULL},
};

static gboolean
fan_in_process(LetheNode *node, LetheFrame **in, GError **error)
{
  guint n_in = 4;

  if (g_str_equal(lethe_node_get_string(node, "mode"), "forward")) {
    for (guint i = 0; i < n_in; i++) {
      if (in[i] && !lethe_node_push(node, 0, lethe_frame_ref(in[i])))
        return TRUE; /* stopping */
    }
    return TRUE;
  }

  LetheFrame *merged = NULL;
  const char *clash = NULL;
  guint clash_port = 0;
  for (guint i = 0; i < n_in && clash == NULL; i++) {
    if (in[i] == NULL)
      continue;
    if (merged == NULL) {
      merged = lethe_frame_copy(in[i]);
      continue;
    }
    for (guint k = 0; k < lethe_frame_get_n_tensors(in[i]); k++) {
      const char *name = NULL;
      LetheTensor *t = lethe_frame_get_nth(in[i], k, &name);
      if (lethe_frame_get_tensor(merged, name)) {
        clash = name;
        clash_port = i + 1;
        break;
      }
      lethe_frame_set_tensor(merged, name, t);
    }
  }
  if (clash)
    goto duplicate;
  if (merged)
    lethe_node_push(node, 0, merged);
  return TRUE;

  /* ERRORS */
duplicate : {
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "cannot merge: tensor '%s' arrives on input-%u and on an earlier input; rename it "
              "upstream or use mode = forward",
              clash, clash_port);
  lethe_frame_unref(merged);
  return FALSE;
}
}

static const LetheNodeVTable vtable = {
    .process = fan_in_process,
};

const LetheNodeType lethe_fan_in_type = {
    .name = "fan-in",
    .kind = LETHE_NODE_TRANSFORM,
    .description = "Joins two to four streams: forwards their frames in turn, or merges them",
    .inputs = inputs,
    .outputs = outputs,
    .params = params,
    .vtable = &vtable,
};
