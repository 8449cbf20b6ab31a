/* synthetic-source — emits N frames, each holding one tensor.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The data is drawn from the node's seed (lethe_node_get_seed()), frame by
 * frame from independent streams, so the same pipeline seed gives the same
 * frames whatever the thread count.  Each frame carries its index as the
 * "step" metadata.
 *
 *   [source]
 *   plugin = synthetic-source
 *   frames = 100
 *   shape = 32,784
 *   dtype = f32
 *   fill = random
 */
#include "coreelements.h"

#include <lethe/nn-rng.h>
#include <string.h>

#define DEFAULT_FRAMES "10"
#define DEFAULT_SHAPE  "16"
#define DEFAULT_DTYPE  "f32"
#define DEFAULT_FILL   "random"
#define DEFAULT_TENSOR "x"

typedef struct {
  gint64 frames;
  gint64 emitted;
  LetheDType dtype;
  guint rank;
  gint64 shape[LETHE_TENSOR_MAX_RANK];
  char *fill;
  char *tensor;
} SyntheticSource;

static const char *const dtype_choices[] = {"f32", "f64", "i32", "i64", "u8", "i8", NULL};
static const char *const fill_choices[] = {"random", "zeros", "index", "none", NULL};

static const LethePortSpec outputs[] = {
    {.name = "output", .schema = "tensor", .doc = "one frame per firing, holding the tensor"},
    {NULL},
};

static const LetheParamSpec params[] = {
    {.name = "frames",
     .type = LETHE_PARAM_INT,
     .default_value = DEFAULT_FRAMES,
     .min = 0,
     .max = G_MAXINT64,
     .doc = "how many frames to emit"},
    {.name = "shape",
     .type = LETHE_PARAM_INT_LIST,
     .default_value = DEFAULT_SHAPE,
     .min = 1,
     .max = G_MAXINT32,
     .doc = "shape of the tensor, outermost first (e.g. 32,784)"},
    {.name = "dtype",
     .type = LETHE_PARAM_ENUM,
     .default_value = DEFAULT_DTYPE,
     .choices = dtype_choices,
     .doc = "element type"},
    {.name = "fill",
     .type = LETHE_PARAM_ENUM,
     .default_value = DEFAULT_FILL,
     .choices = fill_choices,
     .doc = "random: uniform [0,1) (integers: [0,100)); zeros; index: element i holds i; "
            "none: uninitialised (benchmarks)"},
    {.name = "tensor",
     .type = LETHE_PARAM_STRING,
     .default_value = DEFAULT_TENSOR,
     .doc = "name of the tensor in each frame"},
    {NULL},
};

static void
synthetic_source_free(gpointer data)
{
  SyntheticSource *self = data;
  g_free(self->fill);
  g_free(self->tensor);
  g_free(self);
}

static gboolean
synthetic_source_init(LetheNode *node, GError **error)
{
  gsize rank = 0;
  const gint64 *shape = lethe_node_get_int_list(node, "shape", &rank);

  if (rank == 0 || rank > LETHE_TENSOR_MAX_RANK)
    goto bad_rank;

  SyntheticSource *self = g_new0(SyntheticSource, 1);
  self->frames = lethe_node_get_int(node, "frames");
  lethe_dtype_from_name(lethe_node_get_string(node, "dtype"), &self->dtype);
  self->rank = (guint)rank;
  memcpy(self->shape, shape, rank * sizeof *shape);
  self->fill = g_strdup(lethe_node_get_string(node, "fill"));
  self->tensor = g_strdup(lethe_node_get_string(node, "tensor"));
  lethe_node_set_private(node, self, synthetic_source_free);
  return TRUE;

  /* ERRORS */
bad_rank : {
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "shape has %" G_GSIZE_FORMAT
              " dimensions; give 1 to %d extents, e.g. 'shape = 32,784'",
              rank, LETHE_TENSOR_MAX_RANK);
  return FALSE;
}
}

static void
fill_tensor(LetheTensor *t, const char *fill, guint64 seed, gint64 index)
{
  gint64 n = lethe_tensor_n_elements(t);
  gpointer data = lethe_tensor_data(t);

  if (g_str_equal(fill, "none") || g_str_equal(fill, "zeros"))
    return; /* zeros: lethe_tensor_new() already zero-fills */

  LetheRng rng;
  lethe_rng_init_stream(&rng, seed, (guint64)index);
  for (gint64 i = 0; i < n; i++) {
    gboolean by_index = g_str_equal(fill, "index");
    switch (t->dtype) {
    case LETHE_DTYPE_F32:
      ((float *)data)[i] = by_index ? (float)i : (float)lethe_rng_uniform(&rng);
      break;
    case LETHE_DTYPE_F64:
      ((double *)data)[i] = by_index ? (double)i : lethe_rng_uniform(&rng);
      break;
    case LETHE_DTYPE_I32:
      ((gint32 *)data)[i] = by_index ? (gint32)i : (gint32)lethe_rng_below(&rng, 100);
      break;
    case LETHE_DTYPE_I64:
      ((gint64 *)data)[i] = by_index ? i : (gint64)lethe_rng_below(&rng, 100);
      break;
    case LETHE_DTYPE_U8:
      ((guint8 *)data)[i] = by_index ? (guint8)i : (guint8)lethe_rng_below(&rng, 100);
      break;
    case LETHE_DTYPE_I8:
      ((gint8 *)data)[i] = by_index ? (gint8)i : (gint8)lethe_rng_below(&rng, 100);
      break;
    default:
      break;
    }
  }
}

static gboolean
synthetic_source_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  SyntheticSource *self = lethe_node_get_private(node);

  if (self->emitted >= self->frames) {
    lethe_node_end_stream(node);
    return TRUE;
  }

  LetheTensor *t = g_str_equal(self->fill, "none")
                       ? lethe_tensor_new_uninit(self->dtype, self->rank, self->shape)
                       : lethe_tensor_new(self->dtype, self->rank, self->shape);
  fill_tensor(t, self->fill, lethe_node_get_seed(node), self->emitted);

  LetheFrame *frame = lethe_frame_new();
  lethe_frame_take_tensor(frame, self->tensor, t);
  lethe_frame_set_meta_int(frame, "step", self->emitted);
  self->emitted++;
  if (self->frames > 0 && (self->emitted & 1023) == 0)
    lethe_node_progress(node, "emitting frames", (double)self->emitted / (double)self->frames);
  if (self->emitted >= self->frames)
    lethe_node_end_stream(node);
  /* FALSE only when the run is stopping; not a failure of ours. */
  return lethe_node_push(node, 0, frame);
}

static const LetheNodeVTable vtable = {
    .init = synthetic_source_init,
    .process = synthetic_source_process,
};

const LetheNodeType lethe_synthetic_source_type = {
    .name = "synthetic-source",
    .kind = LETHE_NODE_SOURCE,
    .description = "Emits N frames, each holding one seeded tensor of a given shape and dtype",
    .inputs = NULL,
    .outputs = outputs,
    .params = params,
    .vtable = &vtable,
    .doc = "Frame i holds the tensor named by 'tensor' and metadata step = i. Random data comes "
           "from the node's seed, one independent stream per frame.",
};
