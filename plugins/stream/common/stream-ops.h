/* Lethe — what the stream plugins share: row selection on dataset frames,
 * label checks and the plan of a class-incremental split.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Plain functions on frames, so the suites test them without loading a
 * plugin.  See docs/streams.md for the frame conventions.
 */
#ifndef LETHE_STREAM_OPS_H
#define LETHE_STREAM_OPS_H

#include <lethe/frame.h>
#include <lethe/nn-rng.h>

G_BEGIN_DECLS

/**
 * stream_dataset_rows:
 * Number of samples of a dataset frame: the first dimension of "x", or of
 * "y" when there is no "x".  Fails when neither exists or they disagree.
 */
gboolean stream_dataset_rows(const LetheFrame *frame, const char *what, gint64 *n_rows,
                             GError **error);

/**
 * stream_labels:
 * The "y" tensor as contiguous i32 labels, every one in [0, @n_classes)
 * when @n_classes > 0, and ≥ 0 otherwise.
 * Returns: (transfer full) or %NULL with @error naming the first bad row.
 */
LetheTensor *stream_labels(const LetheFrame *frame, const char *what, gint64 n_classes,
                           GError **error);

/** stream_max_label: the largest value of @labels (-1 when empty). */
gint32 stream_max_label(const LetheTensor *labels);

/**
 * stream_take_rows:
 * @rows: row numbers of @src, in the order wanted
 *
 * A dataset frame holding rows @rows of every per-sample tensor of @src
 * (those whose first dimension is the number of samples) and sharing the
 * others.  When @rows is an ascending run (r, r+1, …) the tensors are
 * views of @src's buffers; otherwise the rows are gathered into new
 * tensors.  The result carries "index" (i64): the original sample ids,
 * taken from @src's "index" when it has one, else @rows.  Metadata is
 * copied.  Returns: (transfer full)
 */
LetheFrame *stream_take_rows(const LetheFrame *src, const gint64 *rows, gsize n_rows);

/** stream_take_range: rows [@start, @end) of @src as views.  Returns: (transfer full) */
LetheFrame *stream_take_range(const LetheFrame *src, gint64 start, gint64 end);

/** stream_index_ids: (transfer full) the sample ids of @frame ("index", or 0..n-1). */
LetheTensor *stream_index_ids(const LetheFrame *frame);

/**
 * stream_set_classes:
 * Sets the "classes" (ai) metadata of @frame.
 */
void stream_set_classes(LetheFrame *frame, const gint32 *classes, gsize n_classes);

/**
 * stream_get_classes:
 * Returns: (transfer full) (nullable) the "classes" metadata as an array
 * of gint32, or %NULL when @frame has none.
 */
GArray *stream_get_classes(const LetheFrame *frame);

/**
 * StreamSplitPlan:
 * @n_tasks: number of tasks
 * @task_classes: @n_tasks arrays of gint32, the classes of each task
 * @order: every class of the split, in order (task 0's first)
 */
typedef struct {
  guint n_tasks;
  GPtrArray *task_classes;
  GArray *order;
} StreamSplitPlan;

void stream_split_plan_free(StreamSplitPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StreamSplitPlan, stream_split_plan_free)

/**
 * stream_plan_class_split:
 * @n_classes: number of classes in the data (labels 0..@n_classes-1)
 * @order: (nullable): the class order, a subset of the classes without
 *   repeats; %NULL for 0..@n_classes-1 (or shuffled with @rng)
 * @n_tasks: the number of equal tasks, used when @per_task is %NULL
 * @per_task: (nullable): number of classes of each task ("5,1,1,1,1,1")
 * @rng: (nullable): shuffles the class order when @order is %NULL
 *
 * Returns: (transfer full) the plan, or %NULL with @error set when the
 * counts do not add up, a class is out of range or repeated.
 */
StreamSplitPlan *stream_plan_class_split(gint64 n_classes, const gint64 *order, gsize n_order,
                                         gint64 n_tasks, const gint64 *per_task, gsize n_per_task,
                                         LetheRng *rng, GError **error);

/**
 * stream_split_by_task:
 * @task_of_row: task of each of @n rows, or -1 to leave the row out
 * @starts: (out caller-allocates): @n_tasks + 1 offsets: task t is rows
 *   [starts[t], starts[t+1]) of the result
 *
 * Reorders @src so that every task's rows are one contiguous run (stable:
 * rows keep their order within a task), gathering once; the task frames
 * are then views of it, and so is the union of tasks 0..t (a prefix).
 * Returns: (transfer full)
 */
LetheFrame *stream_split_by_task(const LetheFrame *src, const gint32 *task_of_row, gint64 n,
                                 guint n_tasks, gint64 *starts);

/**
 * stream_concat:
 * @frames: dataset frames with the same per-sample tensors
 *
 * One dataset frame holding the rows of all @frames in order (gathered;
 * a single frame is returned as is, with a new reference).  Every frame
 * gets its "index" (stream_index_ids()).  Metadata comes from the first.
 * Returns: (transfer full) or %NULL with @error naming the tensor that
 * differs.
 */
LetheFrame *stream_concat(GPtrArray *frames, GError **error);

/**
 * stream_stratified_pick:
 * @labels: @n labels (%NULL: not stratified)
 * @fraction: the share of rows to pick from each class (or of all rows)
 * @picked: (out caller-allocates): @n flags
 *
 * Picks round(@fraction × count) rows of each class (of all rows when
 * @labels is %NULL) uniformly at random with @rng.  Returns how many.
 */
gint64 stream_stratified_pick(const gint32 *labels, gint64 n, double fraction, LetheRng *rng,
                              gboolean *picked);

G_END_DECLS

#endif /* LETHE_STREAM_OPS_H */
