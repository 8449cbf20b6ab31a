/* scale — multiplies one tensor of every frame by a constant.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The example plugin of lethe-plugin(7) and docs/plugin-guide.md: one node
 * type, two parameters, copy-on-write on shared frames.
 *
 *   [scaled]
 *   plugin = scale
 *   input = source
 *   factor = 0.5
 *   tensor = x
 */
#include <lethe/lethe.h>

#define DEFAULT_FACTOR "2.0"
#define DEFAULT_TENSOR "x"

static const LethePortSpec inputs[] = {
    {.name = "input", .schema = "tensor", .doc = "frames holding the tensor to scale"},
    {NULL},
};

static const LethePortSpec outputs[] = {
    {.name = "output", .schema = "tensor", .doc = "the same frames, the tensor scaled"},
    {NULL},
};

static const LetheParamSpec params[] = {
    {.name = "factor",
     .type = LETHE_PARAM_DOUBLE,
     .default_value = DEFAULT_FACTOR,
     .min = -1e6,
     .max = 1e6,
     .doc = "what every element is multiplied by"},
    {.name = "tensor",
     .type = LETHE_PARAM_STRING,
     .default_value = DEFAULT_TENSOR,
     .doc = "name of the tensor to scale (f32 or f64)"},
    {NULL},
};

static gboolean
scale_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  const char *name = lethe_node_get_string(node, "tensor");
  double factor = lethe_node_get_double(node, "factor");
  LetheTensor *in = lethe_frame_get_tensor(inputs[0], name);

  if (in == NULL)
    goto missing;
  if (in->dtype != LETHE_DTYPE_F32 && in->dtype != LETHE_DTYPE_F64)
    goto wrong_dtype;

  /* The input frame is shared with every other consumer: take a reference
   * and make it writable, which copies only what is shared. */
  LetheFrame *out = lethe_frame_make_writable(lethe_frame_ref(inputs[0]));
  LetheTensor *t = lethe_frame_make_tensor_writable(out, name);
  if (!lethe_tensor_is_contiguous(t)) { /* a strided view: scale a dense copy */
    g_autoptr(LetheTensor) dense = lethe_tensor_contiguous(t);
    lethe_frame_set_tensor(out, name, dense);
    t = lethe_frame_get_tensor(out, name);
  }
  gint64 n = lethe_tensor_n_elements(t);
  if (t->dtype == LETHE_DTYPE_F32) {
    float *x = lethe_tensor_f32(t);
    for (gint64 i = 0; i < n; i++)
      x[i] = (float)(x[i] * factor);
  } else {
    double *x = lethe_tensor_f64(t);
    for (gint64 i = 0; i < n; i++)
      x[i] *= factor;
  }
  /* FALSE only when the run is stopping, which is not our failure. */
  lethe_node_push(node, 0, out);
  return TRUE;

  /* ERRORS */
missing : {
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
              "the frame has no tensor '%s'; set 'tensor' to one of its tensors", name);
  return FALSE;
}
wrong_dtype : {
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "tensor '%s' is %s; scale works on f32 and f64 tensors", name,
              lethe_dtype_name(in->dtype));
  return FALSE;
}
}

static const LetheNodeVTable scale_vtable = {
    .process = scale_process,
};

const LetheNodeType scale_type = {
    .name = "scale",
    .kind = LETHE_NODE_TRANSFORM,
    .description = "Multiplies one tensor of every frame by a constant",
    .inputs = inputs,
    .outputs = outputs,
    .params = params,
    .vtable = &scale_vtable,
    .doc = "Frames that other nodes also read are copied before they are changed; a frame "
           "only this node holds is scaled in place.",
};

static const LetheNodeType *const node_types[] = {&scale_type, NULL};

static const LethePluginInfo plugin_info = {
    .abi_major = LETHE_ABI_MAJOR,
    .abi_minor = LETHE_ABI_MINOR,
    .name = "scale",
    .version = "1.0",
    .license = "LGPL-2.1-or-later",
    .description = "Example plugin: scales a tensor",
    .node_types = node_types,
};

LETHE_PLUGIN_DEFINE(plugin_info)
