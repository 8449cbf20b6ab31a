/* Lethe — continual-learning streams cut from one dataset.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [tasks]
 *   plugin = class-incremental
 *   input = train
 *   tasks = 5                  # or classes-per-task = 5,1,1,1,1,1
 *   order = 0,1,2,3,4,5,6,7,8,9
 *
 * class-incremental / task-incremental: one `dataset` frame per task, with
 * metadata event "learn", task (i), classes (ai), n-tasks, n-classes and
 * scenario ("class-il" or "task-il").  The rows are reordered by task once;
 * every task frame is then a view of that one copy.
 *
 * permuted / rotated: the same classes in every task, the input seen
 * through a fixed pixel permutation or rotation per task (domain-IL).  With
 * `test` connected they also emit, once, the test set transformed for every
 * task, concatenated, with a per-row i32 "task" tensor.
 *
 * domain-incremental: one task per distinct value of a per-row integer
 * tensor (`key`, e.g. a hospital or a subject id), in ascending order.
 *
 * See docs/streams.md.
 */
#include <math.h>
#include <string.h>

#include <lethe/plugin.h>

#include "stream-ops.h"

#define DEFAULT_TASKS "5"

/* ---- class-incremental, task-incremental ----------------------------- */

static gboolean
emit_class_split(LetheNode *node, LetheFrame *input, const char *scenario, GError **error)
{
  const char *name = lethe_node_get_name(node);
  gint64 n_classes = lethe_node_get_int(node, "n-classes");
  if (n_classes <= 0)
    n_classes = lethe_frame_get_meta_int(input, "n-classes", 0);
  g_autoptr(LetheTensor) y = stream_labels(input, name, n_classes, error);
  if (y == NULL)
    return FALSE;
  gint64 n = y->shape[0];
  if (n_classes <= 0)
    n_classes = stream_max_label(y) + 1;

  gsize n_order = 0, n_per_task = 0;
  const gint64 *order = lethe_node_get_int_list(node, "order", &n_order);
  const gint64 *per_task = lethe_node_get_int_list(node, "classes-per-task", &n_per_task);
  LetheRng rng;
  lethe_rng_init(&rng, lethe_node_get_seed(node));
  g_autoptr(StreamSplitPlan) plan = stream_plan_class_split(
      n_classes, order, n_order, lethe_node_get_int(node, "tasks"), per_task, n_per_task,
      lethe_node_get_bool(node, "shuffle-order") ? &rng : NULL, error);
  if (plan == NULL) {
    g_prefix_error(error, "%s: ", name);
    return FALSE;
  }

  g_autofree gint32 *task_of_class = g_new(gint32, n_classes);
  for (gint64 c = 0; c < n_classes; c++)
    task_of_class[c] = -1;
  for (guint t = 0; t < plan->n_tasks; t++) {
    GArray *tc = g_ptr_array_index(plan->task_classes, t);
    for (guint i = 0; i < tc->len; i++)
      task_of_class[g_array_index(tc, gint32, i)] = (gint32)t;
  }
  g_autofree gint32 *task_of_row = g_new(gint32, MAX(n, 1));
  const gint32 *labels = lethe_tensor_i32(y);
  for (gint64 i = 0; i < n; i++)
    task_of_row[i] = task_of_class[labels[i]];
  g_autofree gint64 *starts = g_new(gint64, plan->n_tasks + 1);
  g_autoptr(LetheFrame) sorted = stream_split_by_task(input, task_of_row, n, plan->n_tasks, starts);

  for (guint t = 0; t < plan->n_tasks; t++)
    if (starts[t] == starts[t + 1])
      goto empty_task;

  for (guint t = 0; t < plan->n_tasks; t++) {
    GArray *tc = g_ptr_array_index(plan->task_classes, t);
    LetheFrame *f = stream_take_range(sorted, starts[t], starts[t + 1]);
    lethe_frame_set_meta_string(f, "event", "learn");
    lethe_frame_set_meta_int(f, "task", t);
    lethe_frame_set_meta_int(f, "n-tasks", plan->n_tasks);
    lethe_frame_set_meta_int(f, "n-classes", n_classes);
    lethe_frame_set_meta_string(f, "scenario", scenario);
    stream_set_classes(f, (const gint32 *)tc->data, tc->len);
    if (!lethe_node_push(node, 0, f))
      return TRUE; /* the pipeline is stopping */
  }
  return TRUE;

  /* ERRORS */
empty_task:
  for (guint t = 0; t < plan->n_tasks; t++) {
    if (starts[t] != starts[t + 1])
      continue;
    GArray *tc = g_ptr_array_index(plan->task_classes, t);
    GString *cls = g_string_new(NULL);
    for (guint i = 0; i < tc->len; i++)
      g_string_append_printf(cls, "%s%d", i ? ", " : "", g_array_index(tc, gint32, i));
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: task %u (classes %s) has no samples in its input; "
                "check 'order' and 'classes-per-task' against the labels present",
                name, t, cls->str);
    g_string_free(cls, TRUE);
    break;
  }
  return FALSE;
}

static gboolean
class_incremental_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  return emit_class_split(node, inputs[0], "class-il", error);
}

static gboolean
task_incremental_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  return emit_class_split(node, inputs[0], "task-il", error);
}

/* ---- permuted, rotated ----------------------------------------------- */

typedef gboolean (*DomainTransform)(LetheNode *node, guint task, const LetheTensor *x,
                                    LetheTensor **out, GError **error);

/* Features per sample, and for images their height and width (the last two
 * dimensions, or a square side when x is [N, D]). */
static gboolean
image_geometry(const char *name, const LetheTensor *x, gint64 *d, gint64 *h, gint64 *w,
               GError **error)
{
  *d = 1;
  for (guint i = 1; i < x->rank; i++)
    *d *= x->shape[i];
  if (x->rank >= 3) {
    *h = x->shape[x->rank - 2];
    *w = x->shape[x->rank - 1];
    return TRUE;
  }
  gint64 side = (gint64)llround(sqrt((double)*d));
  if (x->rank != 2 || side * side != *d) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: cannot see 'x' of %" G_GINT64_FORMAT " features per sample as a square "
                "image; give x as [N, H, W] or [N, C, H, W]",
                name, *d);
    return FALSE;
  }
  *h = *w = side;
  return TRUE;
}

static gboolean
permute_task(LetheNode *node, guint task, const LetheTensor *x, LetheTensor **out, GError **error)
{
  g_autoptr(LetheTensor) src = lethe_tensor_contiguous((LetheTensor *)x);
  gint64 n = src->shape[0], d = n ? lethe_tensor_n_elements(src) / n : 0;
  if (task == 0 && lethe_node_get_bool(node, "first-identity")) {
    *out = lethe_tensor_ref(src);
    return TRUE;
  }
  /* One stream per task: the permutation of task t never depends on how
   * many tasks came before it. */
  LetheRng rng;
  lethe_rng_init_stream(&rng, lethe_node_get_seed(node), task);
  g_autofree gint64 *perm = g_new(gint64, MAX(d, 1));
  lethe_rng_permutation(&rng, perm, (gsize)d);
  LetheTensor *dst = lethe_tensor_new_uninit(LETHE_DTYPE_F32, src->rank, src->shape);
  const float *s = lethe_tensor_f32(src);
  float *o = lethe_tensor_f32(dst);
  for (gint64 i = 0; i < n; i++)
    for (gint64 j = 0; j < d; j++)
      o[i * d + j] = s[i * d + perm[j]];
  *out = dst;
  return TRUE;
}

static double
rotation_angle(LetheNode *node, guint task)
{
  gsize n_angles = 0;
  const double *angles = lethe_node_get_double_list(node, "angles", &n_angles);
  if (angles && n_angles > 0)
    return angles[task % n_angles];
  gint64 tasks = lethe_node_get_int(node, "tasks");
  return tasks > 1 ? lethe_node_get_double(node, "max-angle") * task / (double)(tasks - 1) : 0.0;
}

static gboolean
rotate_task(LetheNode *node, guint task, const LetheTensor *x, LetheTensor **out, GError **error)
{
  gint64 d, h, w;
  if (!image_geometry(lethe_node_get_name(node), x, &d, &h, &w, error))
    return FALSE;
  g_autoptr(LetheTensor) src = lethe_tensor_contiguous((LetheTensor *)x);
  gint64 n_images = lethe_tensor_n_elements(src) / (h * w);
  double a = rotation_angle(node, task) * G_PI / 180.0, ca = cos(a), sa = sin(a);
  double cy = (h - 1) / 2.0, cx = (w - 1) / 2.0;
  LetheTensor *dst = lethe_tensor_new_uninit(LETHE_DTYPE_F32, src->rank, src->shape);
  const float *s = lethe_tensor_f32(src);
  float *o = lethe_tensor_f32(dst);
  /* Each output pixel samples the input at its inverse-rotated position,
   * bilinearly; outside the image is 0 (background). */
  for (gint64 r = 0; r < h; r++)
    for (gint64 c = 0; c < w; c++) {
      double sy = ca * (r - cy) - sa * (c - cx) + cy, sx = sa * (r - cy) + ca * (c - cx) + cx;
      gint64 y0 = (gint64)floor(sy), x0 = (gint64)floor(sx);
      double fy = sy - y0, fx = sx - x0;
      double wt[4] = {(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx};
      gint64 ys[4] = {y0, y0, y0 + 1, y0 + 1}, xs[4] = {x0, x0 + 1, x0, x0 + 1};
      for (gint64 im = 0; im < n_images; im++) {
        const float *img = s + im * h * w;
        double v = 0.0;
        for (int k = 0; k < 4; k++)
          if (ys[k] >= 0 && ys[k] < h && xs[k] >= 0 && xs[k] < w)
            v += wt[k] * img[ys[k] * w + xs[k]];
        o[im * h * w + r * w + c] = (float)v;
      }
    }
  *out = dst;
  return TRUE;
}

static LetheFrame *
domain_frame(const LetheFrame *input, LetheTensor *x, guint task, gint64 n_tasks, gint64 n_classes)
{
  LetheFrame *f = lethe_frame_copy(input);
  lethe_frame_set_tensor(f, "x", x);
  lethe_frame_set_meta_string(f, "event", "learn");
  lethe_frame_set_meta_int(f, "task", task);
  lethe_frame_set_meta_int(f, "n-tasks", n_tasks);
  lethe_frame_set_meta_string(f, "scenario", "domain-il");
  g_autofree gint32 *cls = g_new(gint32, MAX(n_classes, 1));
  for (gint64 c = 0; c < n_classes; c++)
    cls[c] = (gint32)c;
  lethe_frame_set_meta_int(f, "n-classes", n_classes);
  stream_set_classes(f, cls, (gsize)n_classes);
  return f;
}

static gboolean
check_f32_x(const char *name, const LetheFrame *frame, LetheTensor **x, GError **error)
{
  *x = lethe_frame_get_tensor(frame, "x");
  if (*x == NULL || (*x)->dtype != LETHE_DTYPE_F32 || (*x)->rank < 2) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s: needs f32 inputs 'x' with one row per sample (rank 2 to 5)", name);
    return FALSE;
  }
  return TRUE;
}

/* The test set transformed for every task, one frame, with a "task" column. */
static gboolean
emit_domain_test(LetheNode *node, LetheFrame *test, DomainTransform transform, guint n_tasks,
                 GError **error)
{
  const char *name = lethe_node_get_name(node);
  LetheTensor *x;
  if (!check_f32_x(name, test, &x, error))
    return FALSE;
  g_autoptr(LetheTensor) y = stream_labels(test, name, 0, error);
  if (y == NULL)
    return FALSE;
  gint64 n = x->shape[0], d = lethe_tensor_n_elements(x) / MAX(n, 1);
  gint64 shape[LETHE_TENSOR_MAX_RANK];
  memcpy(shape, x->shape, sizeof shape);
  shape[0] = n * n_tasks;
  g_autoptr(LetheTensor) all_x = lethe_tensor_new_uninit(LETHE_DTYPE_F32, x->rank, shape);
  g_autoptr(LetheTensor) all_y = lethe_tensor_new_1d(LETHE_DTYPE_I32, n * n_tasks);
  g_autoptr(LetheTensor) all_t = lethe_tensor_new_1d(LETHE_DTYPE_I32, n * n_tasks);
  for (guint t = 0; t < n_tasks; t++) {
    g_autoptr(LetheTensor) xt = NULL;
    if (!transform(node, t, x, &xt, error))
      return FALSE;
    memcpy(lethe_tensor_f32(all_x) + t * n * d, lethe_tensor_f32(xt), n * d * sizeof(float));
    memcpy(lethe_tensor_i32(all_y) + t * n, lethe_tensor_i32(y), n * sizeof(gint32));
    for (gint64 i = 0; i < n; i++)
      lethe_tensor_i32(all_t)[t * n + i] = (gint32)t;
  }
  LetheFrame *f = lethe_frame_new();
  lethe_frame_set_tensor(f, "x", all_x);
  lethe_frame_set_tensor(f, "y", all_y);
  lethe_frame_set_tensor(f, "task", all_t);
  lethe_frame_set_meta_int(f, "n-tasks", n_tasks);
  lethe_frame_set_meta_string(f, "scenario", "domain-il");
  lethe_node_push_named(node, "test", f);
  return TRUE;
}

typedef struct {
  gboolean test_sent;
} DomainState;

static gboolean
domain_init(LetheNode *node, GError **error)
{
  lethe_node_set_private(node, g_new0(DomainState, 1), g_free);
  return TRUE;
}

static gboolean
emit_domain_stream(LetheNode *node, LetheFrame **inputs, DomainTransform transform, GError **error)
{
  const char *name = lethe_node_get_name(node);
  DomainState *st = lethe_node_get_private(node);
  guint n_tasks = (guint)lethe_node_get_int(node, "tasks");
  LetheTensor *x;
  if (!check_f32_x(name, inputs[0], &x, error))
    return FALSE;
  g_autoptr(LetheTensor) y = stream_labels(inputs[0], name, 0, error);
  if (y == NULL)
    return FALSE;
  gint64 n_classes = lethe_frame_get_meta_int(inputs[0], "n-classes", stream_max_label(y) + 1);

  if (inputs[1] != NULL && !st->test_sent) {
    if (!emit_domain_test(node, inputs[1], transform, n_tasks, error))
      return FALSE;
    st->test_sent = TRUE;
  }
  for (guint t = 0; t < n_tasks; t++) {
    g_autoptr(LetheTensor) xt = NULL;
    if (!transform(node, t, x, &xt, error))
      return FALSE;
    if (!lethe_node_push(node, 0, domain_frame(inputs[0], xt, t, n_tasks, n_classes)))
      return TRUE;
  }
  return TRUE;
}

static gboolean
permuted_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  return emit_domain_stream(node, inputs, permute_task, error);
}

static gboolean
rotated_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  return emit_domain_stream(node, inputs, rotate_task, error);
}

/* ---- domain-incremental ---------------------------------------------- */

static int
cmp_i64(const void *a, const void *b)
{
  gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
  return (x > y) - (x < y);
}

static gboolean
domain_incremental_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  const char *name = lethe_node_get_name(node);
  const char *key = lethe_node_get_string(node, "key");
  LetheTensor *k = lethe_frame_get_tensor(inputs[0], key);
  gint64 n;
  if (!stream_dataset_rows(inputs[0], name, &n, error))
    return FALSE;
  if (k == NULL || k->rank != 1 || k->shape[0] != n ||
      (k->dtype != LETHE_DTYPE_I32 && k->dtype != LETHE_DTYPE_I64)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                "%s: the input has no integer per-sample tensor '%s' to key domains on; "
                "set 'key' to one of its tensors (e.g. a subject or hospital id)",
                name, key);
    return FALSE;
  }
  g_autoptr(LetheTensor) keys = lethe_tensor_to_dtype(k, LETHE_DTYPE_I64);
  const gint64 *kv = lethe_tensor_i64(keys);
  g_autofree gint64 *values = g_memdup2(kv, MAX(n, 1) * sizeof(gint64));
  qsort(values, (gsize)n, sizeof(gint64), cmp_i64);
  guint n_tasks = 0;
  for (gint64 i = 0; i < n; i++)
    if (i == 0 || values[i] != values[i - 1])
      values[n_tasks++] = values[i];
  g_autofree gint32 *task_of_row = g_new(gint32, MAX(n, 1));
  for (gint64 i = 0; i < n; i++) {
    gint64 *hit = bsearch(&kv[i], values, n_tasks, sizeof(gint64), cmp_i64);
    task_of_row[i] = (gint32)(hit - values);
  }
  g_autofree gint64 *starts = g_new(gint64, n_tasks + 1);
  g_autoptr(LetheFrame) sorted = stream_split_by_task(inputs[0], task_of_row, n, n_tasks, starts);
  for (guint t = 0; t < n_tasks; t++) {
    LetheFrame *f = stream_take_range(sorted, starts[t], starts[t + 1]);
    lethe_frame_set_meta_string(f, "event", "learn");
    lethe_frame_set_meta_int(f, "task", t);
    lethe_frame_set_meta_int(f, "n-tasks", n_tasks);
    lethe_frame_set_meta_int(f, "domain", values[t]);
    lethe_frame_set_meta_string(f, "scenario", "domain-il");
    if (!lethe_node_push(node, 0, f))
      return TRUE;
  }
  return TRUE;
}

/* ---- Node types ------------------------------------------------------ */

static const LethePortSpec dataset_in[] = {
    {"input", "dataset", LETHE_PORT_NONE, "the dataset to cut into tasks"},
    {NULL},
};
static const LethePortSpec task_out[] = {
    {"output", "dataset", LETHE_PORT_NONE, "one dataset frame per task, in order"},
    {NULL},
};
static const LethePortSpec domain_in[] = {
    {"input", "dataset", LETHE_PORT_NONE, "the training set"},
    {"test", "dataset", LETHE_PORT_STICKY | LETHE_PORT_OPTIONAL,
     "a test set to transform for every task"},
    {NULL},
};
static const LethePortSpec domain_out[] = {
    {"output", "dataset", LETHE_PORT_NONE, "one dataset frame per task, in order"},
    {"test", "dataset", LETHE_PORT_NONE,
     "the test set of every task, concatenated, with a per-row 'task'"},
    {NULL},
};

static const LetheParamSpec split_params[] = {
    {"tasks", LETHE_PARAM_INT, DEFAULT_TASKS, 1, 100000, NULL,
     "number of tasks of equal size (ignored with classes-per-task)"},
    {"classes-per-task", LETHE_PARAM_INT_LIST, "", 1, 1e9, NULL,
     "classes of each task, e.g. 5,1,1,1,1,1"},
    {"order", LETHE_PARAM_INT_LIST, "", 0, 1e9, NULL,
     "class order (default: natural order 0,1,2…)"},
    {"shuffle-order", LETHE_PARAM_BOOL, "false", 0, 0, NULL,
     "shuffle the class order with the node's seed (when order is not given)"},
    {"n-classes", LETHE_PARAM_INT, "0", 0, 1e9, NULL,
     "number of classes (0: from the input's n-classes metadata, else the largest label + 1)"},
    {NULL},
};
static const LetheParamSpec permuted_params[] = {
    {"tasks", LETHE_PARAM_INT, "10", 1, 100000, NULL, "number of permutations"},
    {"first-identity", LETHE_PARAM_BOOL, "true", 0, 0, NULL, "task 0 sees the original pixels"},
    {NULL},
};
static const LetheParamSpec rotated_params[] = {
    {"tasks", LETHE_PARAM_INT, "5", 1, 100000, NULL, "number of rotations"},
    {"angles", LETHE_PARAM_DOUBLE_LIST, "", -360, 360, NULL,
     "angle of each task in degrees (default: evenly from 0 to max-angle)"},
    {"max-angle", LETHE_PARAM_DOUBLE, "180", -360, 360, NULL, "angle of the last task"},
    {NULL},
};
static const LetheParamSpec domain_params[] = {
    {"key", LETHE_PARAM_STRING, NULL, 0, 0, NULL,
     "per-sample integer tensor whose values are the domains"},
    {NULL},
};

static const LetheNodeVTable class_incremental_vtable = {.process = class_incremental_process};
static const LetheNodeVTable task_incremental_vtable = {.process = task_incremental_process};
static const LetheNodeVTable permuted_vtable = {.init = domain_init, .process = permuted_process};
static const LetheNodeVTable rotated_vtable = {.init = domain_init, .process = rotated_process};
static const LetheNodeVTable domain_incremental_vtable = {.process = domain_incremental_process};

static const LetheNodeType class_incremental = {
    "class-incremental",
    LETHE_NODE_TRANSFORM,
    "Class-incremental split: one task per group of classes",
    dataset_in,
    task_out,
    split_params,
    &class_incremental_vtable,
    "Rows are grouped by task (one copy), each task frame is a view.  Metadata: event=learn, "
    "task, classes, n-tasks, n-classes, scenario=class-il.",
};
static const LetheNodeType task_incremental = {
    "task-incremental",
    LETHE_NODE_TRANSFORM,
    "Task-incremental split: like class-incremental, the task id known at test time",
    dataset_in,
    task_out,
    split_params,
    &task_incremental_vtable,
    "Same frames as class-incremental with scenario=task-il: evaluators mask the logits to "
    "the task's classes.",
};
static const LetheNodeType permuted = {
    "permuted",
    LETHE_NODE_TRANSFORM,
    "Permuted domains: a fixed pixel permutation per task",
    domain_in,
    domain_out,
    permuted_params,
    &permuted_vtable,
    "Task t permutes the features of every sample with a permutation drawn from the node's "
    "seed and t; labels are shared.",
};
static const LetheNodeType rotated = {
    "rotated",
    LETHE_NODE_TRANSFORM,
    "Rotated domains: images rotated by a fixed angle per task",
    domain_in,
    domain_out,
    rotated_params,
    &rotated_vtable,
    "Bilinear rotation about the image centre, zero outside; x is [N, H, W], [N, C, H, W] or "
    "[N, side*side].",
};
static const LetheNodeType domain_incremental = {
    "domain-incremental",
    LETHE_NODE_TRANSFORM,
    "Domain-incremental split keyed on a per-sample field (hospital, subject…)",
    dataset_in,
    task_out,
    domain_params,
    &domain_incremental_vtable,
    "One task per distinct value of 'key', in ascending order; metadata domain = the value.",
};

static const LetheNodeType *const node_types[] = {
    &class_incremental, &task_incremental, &permuted, &rotated, &domain_incremental, NULL,
};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR,
    LETHE_ABI_MINOR,
    "split",
    "0.1.0",
    "LGPL-2.1-or-later",
    "Continual-learning streams: class-, task- and domain-incremental splits",
    node_types,
    NULL,
};

LETHE_PLUGIN_DEFINE(plugin_info)
