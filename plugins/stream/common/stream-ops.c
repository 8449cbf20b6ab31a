/* Lethe — row selection, labels and split plans for the stream plugins.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "stream-ops.h"

#include <math.h>
#include <string.h>

#include <lethe/error.h>

gboolean
stream_dataset_rows(const LetheFrame *frame, const char *what, gint64 *n_rows, GError **error)
{
  LetheTensor *x = lethe_frame_get_tensor(frame, "x");
  LetheTensor *y = lethe_frame_get_tensor(frame, "y");
  if ((x && x->rank == 0) || (y && y->rank == 0) || (!x && !y)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s: a dataset frame needs a tensor 'x' or 'y' with one row per sample; "
                "connect a dataset source",
                what);
    return FALSE;
  }
  if (x && y && x->shape[0] != y->shape[0]) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s: 'x' has %" G_GINT64_FORMAT " rows but 'y' has %" G_GINT64_FORMAT, what,
                x->shape[0], y->shape[0]);
    return FALSE;
  }
  *n_rows = x ? x->shape[0] : y->shape[0];
  return TRUE;
}

LetheTensor *
stream_labels(const LetheFrame *frame, const char *what, gint64 n_classes, GError **error)
{
  LetheTensor *y = lethe_frame_get_tensor(frame, "y");
  if (y == NULL || y->rank != 1 || (y->dtype != LETHE_DTYPE_I32 && y->dtype != LETHE_DTYPE_I64)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                "%s: needs integer class labels 'y' of rank 1 (one per sample)", what);
    return NULL;
  }
  LetheTensor *labels = y->dtype == LETHE_DTYPE_I32 ? lethe_tensor_contiguous(y)
                                                    : lethe_tensor_to_dtype(y, LETHE_DTYPE_I32);
  const gint32 *v = lethe_tensor_i32(labels);
  for (gint64 i = 0; i < labels->shape[0]; i++) {
    if (v[i] < 0 || (n_classes > 0 && v[i] >= n_classes)) {
      if (n_classes > 0)
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                    "%s: label %d of sample %" G_GINT64_FORMAT " is out of range: "
                    "the data has %" G_GINT64_FORMAT " classes (0..%" G_GINT64_FORMAT ")",
                    what, v[i], i, n_classes, n_classes - 1);
      else
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                    "%s: label %d of sample %" G_GINT64_FORMAT " is negative; "
                    "class labels are 0, 1, 2…",
                    what, v[i], i);
      lethe_tensor_unref(labels);
      return NULL;
    }
  }
  return labels;
}

gint32
stream_max_label(const LetheTensor *labels)
{
  const gint32 *v = lethe_tensor_i32(labels);
  gint32 m = -1;
  for (gint64 i = 0; i < labels->shape[0]; i++)
    m = MAX(m, v[i]);
  return m;
}

LetheTensor *
stream_index_ids(const LetheFrame *frame)
{
  LetheTensor *index = lethe_frame_get_tensor(frame, "index");
  if (index && index->rank == 1)
    return lethe_tensor_to_dtype(index, LETHE_DTYPE_I64);
  gint64 n = 0;
  if (!stream_dataset_rows(frame, "index", &n, NULL))
    n = 0;
  LetheTensor *ids = lethe_tensor_new_1d(LETHE_DTYPE_I64, n);
  gint64 *v = lethe_tensor_i64(ids);
  for (gint64 i = 0; i < n; i++)
    v[i] = i;
  return ids;
}

/* Rows @rows of a tensor with at least one dimension, into a new one. */
static LetheTensor *
gather_rows(LetheTensor *t, const gint64 *rows, gsize n_rows)
{
  g_autoptr(LetheTensor) src = lethe_tensor_contiguous(t);
  gint64 shape[LETHE_TENSOR_MAX_RANK];
  memcpy(shape, src->shape, sizeof shape);
  shape[0] = (gint64)n_rows;
  LetheTensor *dst = lethe_tensor_new_uninit(src->dtype, src->rank, shape);
  gsize row_bytes = src->shape[0] ? lethe_tensor_n_bytes(src) / (gsize)src->shape[0] : 0;
  const guint8 *s = lethe_tensor_data(src);
  guint8 *d = lethe_tensor_data(dst);
  for (gsize i = 0; i < n_rows; i++)
    memcpy(d + i * row_bytes, s + (gsize)rows[i] * row_bytes, row_bytes);
  return dst;
}

static gboolean
is_run(const gint64 *rows, gsize n)
{
  for (gsize i = 1; i < n; i++)
    if (rows[i] != rows[0] + (gint64)i)
      return FALSE;
  return TRUE;
}

LetheFrame *
stream_take_rows(const LetheFrame *src, const gint64 *rows, gsize n_rows)
{
  g_return_val_if_fail(src != NULL, NULL);
  g_return_val_if_fail(rows != NULL || n_rows == 0, NULL);
  gint64 n = 0;
  if (!stream_dataset_rows(src, "stream_take_rows", &n, NULL))
    n = -1;
  if (n_rows > 0 && is_run(rows, n_rows)) {
    g_return_val_if_fail(rows[0] >= 0 && rows[0] + (gint64)n_rows <= n, NULL);
    return stream_take_range(src, rows[0], rows[0] + (gint64)n_rows);
  }

  LetheFrame *dst = lethe_frame_copy(src);
  gboolean had_index = lethe_frame_get_tensor(src, "index") != NULL;
  for (guint i = 0; i < lethe_frame_get_n_tensors(src); i++) {
    const char *name;
    LetheTensor *t = lethe_frame_get_nth(src, i, &name);
    if (t->rank >= 1 && t->shape[0] == n)
      lethe_frame_take_tensor(dst, name, gather_rows(t, rows, n_rows));
  }
  if (!had_index) {
    LetheTensor *ids = lethe_tensor_new_1d(LETHE_DTYPE_I64, (gint64)n_rows);
    memcpy(lethe_tensor_i64(ids), rows, n_rows * sizeof(gint64));
    lethe_frame_take_tensor(dst, "index", ids);
  }
  return dst;
}

LetheFrame *
stream_take_range(const LetheFrame *src, gint64 start, gint64 end)
{
  g_return_val_if_fail(src != NULL, NULL);
  gint64 n = 0;
  if (!stream_dataset_rows(src, "stream_take_range", &n, NULL))
    n = -1;
  g_return_val_if_fail(0 <= start && start <= end && end <= n, NULL);

  LetheFrame *dst = lethe_frame_copy(src);
  gboolean had_index = lethe_frame_get_tensor(src, "index") != NULL;
  for (guint i = 0; i < lethe_frame_get_n_tensors(src); i++) {
    const char *name;
    LetheTensor *t = lethe_frame_get_nth(src, i, &name);
    if (t->rank >= 1 && t->shape[0] == n)
      lethe_frame_take_tensor(dst, name, lethe_tensor_slice(t, start, end));
  }
  if (!had_index) {
    LetheTensor *ids = lethe_tensor_new_1d(LETHE_DTYPE_I64, end - start);
    gint64 *v = lethe_tensor_i64(ids);
    for (gint64 i = start; i < end; i++)
      v[i - start] = i;
    lethe_frame_take_tensor(dst, "index", ids);
  }
  return dst;
}

void
stream_set_classes(LetheFrame *frame, const gint32 *classes, gsize n_classes)
{
  lethe_frame_set_meta(
      frame, "classes",
      g_variant_new_fixed_array(G_VARIANT_TYPE_INT32, classes, n_classes, sizeof(gint32)));
}

GArray *
stream_get_classes(const LetheFrame *frame)
{
  GVariant *v = lethe_frame_get_meta(frame, "classes");
  if (v == NULL)
    return NULL;
  GArray *out = g_array_new(FALSE, FALSE, sizeof(gint32));
  if (g_variant_is_of_type(v, G_VARIANT_TYPE("ai"))) {
    gsize n = 0;
    const gint32 *c = g_variant_get_fixed_array(v, &n, sizeof(gint32));
    g_array_append_vals(out, c, (guint)n);
  } else if (g_variant_is_of_type(v, G_VARIANT_TYPE("ax"))) {
    gsize n = 0;
    const gint64 *c = g_variant_get_fixed_array(v, &n, sizeof(gint64));
    for (gsize i = 0; i < n; i++) {
      gint32 ci = (gint32)c[i];
      g_array_append_val(out, ci);
    }
  } else {
    g_array_unref(out);
    return NULL;
  }
  return out;
}

void
stream_split_plan_free(StreamSplitPlan *plan)
{
  if (plan == NULL)
    return;
  if (plan->task_classes)
    g_ptr_array_unref(plan->task_classes);
  if (plan->order)
    g_array_unref(plan->order);
  g_free(plan);
}

StreamSplitPlan *
stream_plan_class_split(gint64 n_classes, const gint64 *order, gsize n_order, gint64 n_tasks,
                        const gint64 *per_task, gsize n_per_task, LetheRng *rng, GError **error)
{
  g_return_val_if_fail(n_classes >= 0, NULL);
  g_autoptr(GArray) classes = g_array_new(FALSE, FALSE, sizeof(gint32));
  if (order != NULL && n_order > 0) {
    g_autofree gboolean *seen = g_new0(gboolean, MAX(n_classes, 1));
    for (gsize i = 0; i < n_order; i++) {
      if (order[i] < 0 || order[i] >= n_classes) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                    "'order' lists class %" G_GINT64_FORMAT ", but the data has %" G_GINT64_FORMAT
                    " classes (0..%" G_GINT64_FORMAT ")",
                    order[i], n_classes, n_classes - 1);
        return NULL;
      }
      if (seen[order[i]]) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                    "'order' lists class %" G_GINT64_FORMAT " twice; give each class once",
                    order[i]);
        return NULL;
      }
      seen[order[i]] = TRUE;
      gint32 c = (gint32)order[i];
      g_array_append_val(classes, c);
    }
  } else {
    for (gint32 c = 0; c < n_classes; c++)
      g_array_append_val(classes, c);
    if (rng != NULL) /* Fisher–Yates with the node's stream */
      for (guint i = classes->len; i > 1; i--) {
        guint j = (guint)lethe_rng_below(rng, i);
        gint32 tmp = g_array_index(classes, gint32, i - 1);
        g_array_index(classes, gint32, i - 1) = g_array_index(classes, gint32, j);
        g_array_index(classes, gint32, j) = tmp;
      }
  }

  gint64 total = classes->len;
  g_autoptr(GArray) counts = g_array_new(FALSE, FALSE, sizeof(gint64));
  if (per_task != NULL && n_per_task > 0) {
    gint64 sum = 0;
    for (gsize t = 0; t < n_per_task; t++) {
      if (per_task[t] <= 0) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                    "'classes-per-task' gives task %" G_GSIZE_FORMAT " %" G_GINT64_FORMAT
                    " classes: an empty task; every task needs at least one class",
                    t, per_task[t]);
        return NULL;
      }
      sum += per_task[t];
      g_array_append_val(counts, per_task[t]);
    }
    if (sum != total) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "'classes-per-task' adds up to %" G_GINT64_FORMAT
                  " classes but the split has %" G_GINT64_FORMAT "; make them equal",
                  sum, total);
      return NULL;
    }
  } else {
    if (n_tasks <= 0 || n_tasks > total || total % n_tasks != 0) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "cannot split %" G_GINT64_FORMAT " classes into %" G_GINT64_FORMAT
                  " equal tasks; choose 'tasks' dividing %" G_GINT64_FORMAT
                  " or give 'classes-per-task'",
                  total, n_tasks, total);
      return NULL;
    }
    for (gint64 t = 0; t < n_tasks; t++) {
      gint64 c = total / n_tasks;
      g_array_append_val(counts, c);
    }
  }

  StreamSplitPlan *plan = g_new0(StreamSplitPlan, 1);
  plan->n_tasks = counts->len;
  plan->task_classes = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
  guint at = 0;
  for (guint t = 0; t < counts->len; t++) {
    GArray *tc = g_array_new(FALSE, FALSE, sizeof(gint32));
    g_array_append_vals(tc, &g_array_index(classes, gint32, at),
                        (guint)g_array_index(counts, gint64, t));
    at += (guint)g_array_index(counts, gint64, t);
    g_ptr_array_add(plan->task_classes, tc);
  }
  plan->order = g_steal_pointer(&classes);
  return plan;
}

LetheFrame *
stream_split_by_task(const LetheFrame *src, const gint32 *task_of_row, gint64 n, guint n_tasks,
                     gint64 *starts)
{
  g_autofree gint64 *count = g_new0(gint64, n_tasks + 1);
  for (gint64 i = 0; i < n; i++)
    if (task_of_row[i] >= 0)
      count[task_of_row[i] + 1]++;
  starts[0] = 0;
  for (guint t = 0; t < n_tasks; t++)
    starts[t + 1] = starts[t] + count[t + 1];
  g_autofree gint64 *fill = g_memdup2(starts, n_tasks * sizeof(gint64));
  g_autofree gint64 *rows = g_new(gint64, MAX(starts[n_tasks], 1));
  for (gint64 i = 0; i < n; i++)
    if (task_of_row[i] >= 0)
      rows[fill[task_of_row[i]]++] = i;
  return stream_take_rows(src, rows, (gsize)starts[n_tasks]);
}

LetheFrame *
stream_concat(GPtrArray *frames, GError **error)
{
  g_return_val_if_fail(frames != NULL && frames->len > 0, NULL);
  LetheFrame *first = g_ptr_array_index(frames, 0);
  if (frames->len == 1) {
    if (lethe_frame_get_tensor(first, "index"))
      return lethe_frame_ref(first);
    gint64 n;
    if (!stream_dataset_rows(first, "concat", &n, error))
      return NULL;
    return stream_take_range(first, 0, n);
  }
  gint64 n0, total = 0;
  if (!stream_dataset_rows(first, "concat", &n0, error))
    return NULL;
  for (guint f = 0; f < frames->len; f++) {
    gint64 n;
    if (!stream_dataset_rows(g_ptr_array_index(frames, f), "concat", &n, error))
      return NULL;
    total += n;
  }
  LetheFrame *dst = lethe_frame_copy(first);
  for (guint i = 0; i < lethe_frame_get_n_tensors(first); i++) {
    const char *name;
    LetheTensor *t0 = lethe_frame_get_nth(first, i, &name);
    if (t0->rank < 1 || t0->shape[0] != n0 || g_strcmp0(name, "index") == 0)
      continue;
    gint64 shape[LETHE_TENSOR_MAX_RANK];
    memcpy(shape, t0->shape, sizeof shape);
    shape[0] = total;
    LetheTensor *out = lethe_tensor_new_uninit(t0->dtype, t0->rank, shape);
    gsize row_bytes = lethe_dtype_size(t0->dtype);
    for (guint d = 1; d < t0->rank; d++)
      row_bytes *= (gsize)t0->shape[d];
    guint8 *o = lethe_tensor_data(out);
    for (guint f = 0; f < frames->len; f++) {
      LetheFrame *fr = g_ptr_array_index(frames, f);
      LetheTensor *t = lethe_frame_get_tensor(fr, name);
      gint64 n;
      stream_dataset_rows(fr, "concat", &n, NULL);
      gboolean same = t && t->dtype == t0->dtype && t->rank == t0->rank && t->shape[0] == n;
      for (guint d = 1; same && d < t0->rank; d++)
        same = t->shape[d] == t0->shape[d];
      if (!same) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA,
                    "frame %u lacks per-sample tensor '%s' of the same type and shape as "
                    "frame 0's; every frame of the stream must hold the same tensors",
                    f, name);
        lethe_tensor_unref(out);
        lethe_frame_unref(dst);
        return NULL;
      }
      g_autoptr(LetheTensor) c = lethe_tensor_contiguous(t);
      memcpy(o, lethe_tensor_data(c), (gsize)n * row_bytes);
      o += (gsize)n * row_bytes;
    }
    lethe_frame_take_tensor(dst, name, out);
  }
  LetheTensor *ids = lethe_tensor_new_1d(LETHE_DTYPE_I64, total);
  gint64 at = 0;
  for (guint f = 0; f < frames->len; f++) {
    g_autoptr(LetheTensor) fi = stream_index_ids(g_ptr_array_index(frames, f));
    memcpy(lethe_tensor_i64(ids) + at, lethe_tensor_i64(fi), (gsize)fi->shape[0] * sizeof(gint64));
    at += fi->shape[0];
  }
  lethe_frame_take_tensor(dst, "index", ids);
  return dst;
}

gint64
stream_stratified_pick(const gint32 *labels, gint64 n, double fraction, LetheRng *rng,
                       gboolean *picked)
{
  memset(picked, 0, (gsize)n * sizeof(gboolean));
  gint32 n_groups = 1;
  for (gint64 i = 0; labels && i < n; i++)
    n_groups = MAX(n_groups, labels[i] + 1);
  gint64 total = 0;
  g_autofree gint64 *members = g_new(gint64, MAX(n, 1));
  for (gint32 g = 0; g < n_groups; g++) {
    gint64 m = 0;
    for (gint64 i = 0; i < n; i++)
      if (!labels || labels[i] == g)
        members[m++] = i;
    gint64 k = (gint64)llround(fraction * (double)m);
    /* A partial Fisher–Yates: the first k of a random permutation. */
    for (gint64 i = 0; i < k; i++) {
      gint64 j = i + (gint64)lethe_rng_below(rng, (guint64)(m - i));
      gint64 tmp = members[i];
      members[i] = members[j];
      members[j] = tmp;
      picked[members[i]] = TRUE;
    }
    total += k;
  }
  return total;
}
