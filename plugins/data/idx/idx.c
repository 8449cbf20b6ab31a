/* Lethe — idx-source: IDX datasets (MNIST family), plain or compressed.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [train]
 *   plugin = idx-source
 *   split = train          # Fashion-MNIST from /usr/share/datasets/fashion-mnist
 *   limit = 10000          # first N samples; 0 = all
 *
 *   [mnist]
 *   plugin = idx-source
 *   images = mnist/train-images-idx3-ubyte.gz
 *   labels = mnist/train-labels-idx1-ubyte.gz
 *   shape = flat
 *
 * Emits one `dataset` frame, then ends its stream: x f32 [N, 1, H, W]
 * (shape=image) or [N, H*W] (shape=flat), scaled to [0, 1] when normalize
 * is on; y i32 [N]; ids i64 [N] (the row in the file).  Metadata: dataset,
 * split, n-classes, class-names (for Fashion-MNIST), source files.
 *
 * Files are read through libarchive straight into the output tensors (no
 * temporary files, no intermediate copy of the images).  Magic, rank and
 * extents are checked against the file size before anything is allocated;
 * every error names the file and the byte offset.  See docs/data-sources.md.
 */
#include <string.h>

#include <lethe/plugin.h>

#include "idx-parse.h"

#define FMNIST_DIR    "/usr/share/datasets/fashion-mnist"
#define DEFAULT_SPLIT "train"
#define DEFAULT_LIMIT "0"
#define DEFAULT_SHAPE "image"
/* Refuse headers asking for more than 16 GiB of elements. */
#define MAX_PAYLOAD (G_GUINT64_CONSTANT(16) << 30)

static const char *const fmnist_class_names[] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot",
};

static char *
default_file(const char *split, gboolean images)
{
  gboolean test = g_strcmp0(split, "test") == 0;
  return g_strdup_printf("%s/%s-%s-idx%d-ubyte.gz", FMNIST_DIR, test ? "t10k" : "train",
                         images ? "images" : "labels", images ? 3 : 1);
}

static gboolean
idx_source_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  const char *name = lethe_node_get_name(node);
  const char *split = lethe_node_get_string(node, "split");
  const char *images_param = lethe_node_get_string(node, "images");
  const char *labels_param = lethe_node_get_string(node, "labels");
  gboolean defaults = *images_param == '\0' && *labels_param == '\0';
  g_autofree char *images = *images_param ? g_strdup(images_param) : default_file(split, TRUE);
  g_autofree char *labels = *labels_param ? g_strdup(labels_param) : default_file(split, FALSE);
  gint64 limit = lethe_node_get_int(node, "limit");
  gint64 n_classes = lethe_node_get_int(node, "classes");
  gboolean flat = g_strcmp0(lethe_node_get_string(node, "shape"), "flat") == 0;
  float scale = lethe_node_get_bool(node, "normalize") ? 1.0f / 255.0f : 1.0f;
  g_autoptr(IdxReader) xr = NULL;
  g_autoptr(IdxReader) yr = NULL;
  g_autoptr(LetheTensor) x = NULL;
  g_autoptr(LetheTensor) y = NULL;
  g_autoptr(LetheTensor) ids = NULL;
  g_autofree char *base = NULL;

  xr = idx_reader_open(images, MAX_PAYLOAD, error);
  if (xr == NULL)
    goto failed;
  yr = idx_reader_open(labels, MAX_PAYLOAD, error);
  if (yr == NULL)
    goto failed;
  const IdxHeader *xh = idx_reader_get_header(xr);
  const IdxHeader *yh = idx_reader_get_header(yr);
  if (xh->rank < 2 || xh->rank > 4)
    goto bad_image_rank;
  if (yh->rank != 1)
    goto bad_label_rank;
  if (xh->dims[0] != yh->dims[0])
    goto count_mismatch;

  gint64 n = xh->dims[0];
  if (limit > 0 && limit < n)
    n = limit;
  gint64 item = (gint64)(xh->n_elements / MAX(xh->dims[0], 1));
  gint64 shape[5] = {n};
  guint rank;
  if (flat) {
    shape[1] = item;
    rank = 2;
  } else if (xh->rank == 3) { /* [N, H, W] → [N, 1, H, W] */
    shape[1] = 1;
    shape[2] = xh->dims[1];
    shape[3] = xh->dims[2];
    rank = 4;
  } else {
    for (guint i = 1; i < xh->rank; i++)
      shape[i] = xh->dims[i];
    rank = xh->rank;
  }

  x = lethe_tensor_new_uninit(LETHE_DTYPE_F32, rank, shape);
  y = lethe_tensor_new_uninit(LETHE_DTYPE_I32, 1, shape);
  ids = lethe_tensor_new_uninit(LETHE_DTYPE_I64, 1, shape);
  lethe_node_progress(node, "reading images", 0.0);
  if (!idx_reader_read_f32(xr, (guint64)n, scale, lethe_tensor_f32(x), error))
    goto failed;
  if (!idx_reader_read_i32(yr, (guint64)n, lethe_tensor_i32(y), error))
    goto failed;
  if (!idx_check_labels(lethe_tensor_i32(y), (gsize)n, n_classes, labels, yh, error))
    goto failed;
  if (n_classes <= 0) {
    gint32 max = -1;
    for (gint64 i = 0; i < n; i++)
      max = MAX(max, lethe_tensor_i32(y)[i]);
    n_classes = defaults ? 10 : max + 1;
  }
  gint64 *id = lethe_tensor_i64(ids);
  for (gint64 i = 0; i < n; i++)
    id[i] = i;

  LetheFrame *frame = lethe_frame_new();
  lethe_frame_set_tensor(frame, "x", x);
  lethe_frame_set_tensor(frame, "y", y);
  lethe_frame_set_tensor(frame, "ids", ids);
  base = g_path_get_basename(images);
  lethe_frame_set_meta_string(frame, "dataset", defaults ? "fashion-mnist" : base);
  lethe_frame_set_meta_string(frame, "split", defaults ? split : "");
  lethe_frame_set_meta_int(frame, "n-classes", n_classes);
  lethe_frame_set_meta_string(frame, "source", images);
  if (defaults && n_classes == 10)
    lethe_frame_set_meta(frame, "class-names",
                         g_variant_new_strv(fmnist_class_names, G_N_ELEMENTS(fmnist_class_names)));
  lethe_node_progress(node, "done", 1.0);
  lethe_node_push(node, 0, frame);
  lethe_node_end_stream(node);
  return TRUE;

/* ERRORS */
bad_image_rank:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "%s: images file %s has rank %u; expected [N, H, W] (rank 3), [N, D] or "
              "[N, C, H, W]",
              name, images, xh->rank);
  return FALSE;
bad_label_rank:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "%s: labels file %s has rank %u; expected one label per sample (rank 1)", name,
              labels, yh->rank);
  return FALSE;
count_mismatch:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "%s: %s holds %u images but %s holds %u labels; the two files do not belong "
              "together",
              name, images, xh->dims[0], labels, yh->dims[0]);
  return FALSE;
failed:
  g_prefix_error(error, "%s: ", name);
  return FALSE;
}

static const char *const split_choices[] = {"train", "test", NULL};
static const char *const shape_choices[] = {"image", "flat", NULL};

static const LethePortSpec idx_outputs[] = {
    {"data", "dataset", LETHE_PORT_NONE, "all samples in one frame"},
    {NULL},
};

static const LetheParamSpec idx_params[] = {
    {"images", LETHE_PARAM_PATH, "", 0, 0, NULL,
     "IDX images file, plain or compressed (default: Fashion-MNIST of 'split')"},
    {"labels", LETHE_PARAM_PATH, "", 0, 0, NULL,
     "IDX labels file, plain or compressed (default: Fashion-MNIST of 'split')"},
    {"split", LETHE_PARAM_ENUM, DEFAULT_SPLIT, 0, 0, split_choices,
     "which Fashion-MNIST files the defaults name"},
    {"limit", LETHE_PARAM_INT, DEFAULT_LIMIT, 0, G_MAXINT32, NULL,
     "read only the first N samples; 0 reads all"},
    {"normalize", LETHE_PARAM_BOOL, "true", 0, 0, NULL, "scale u8 pixels to [0, 1]"},
    {"shape", LETHE_PARAM_ENUM, DEFAULT_SHAPE, 0, 0, shape_choices,
     "image: x is [N, 1, H, W]; flat: x is [N, H*W]"},
    {"classes", LETHE_PARAM_INT, "0", 0, 1 << 20, NULL,
     "number of classes; labels outside [0, classes) are refused (0: largest label + 1)"},
    {NULL},
};

static const LetheNodeVTable idx_vtable = {.process = idx_source_process};

static const LetheNodeType idx_source = {
    "idx-source",
    LETHE_NODE_SOURCE,
    "IDX images and labels (MNIST, Fashion-MNIST), plain or gzip-compressed",
    NULL,
    idx_outputs,
    idx_params,
    &idx_vtable,
    "Reads an IDX images file and its labels through libarchive, validates sizes before "
    "allocating, and emits one dataset frame (x f32, y i32, ids i64) then ends its stream.  "
    "Without images/labels it reads Debian's dataset-fashion-mnist.",
};

static const LetheNodeType *const node_types[] = {&idx_source, NULL};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR,
    LETHE_ABI_MINOR,
    "idx",
    "0.1.0",
    "LGPL-2.1-or-later",
    "IDX dataset source (MNIST family)",
    node_types,
    NULL,
};

LETHE_PLUGIN_DEFINE(plugin_info)
