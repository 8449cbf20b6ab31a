/* Lethe — what the evaluators compute from model outputs, apart from the
 * node glue, so the suites test it on hand-built logits.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_EVAL_OPS_H
#define LETHE_EVAL_OPS_H

#include <lethe/frame.h>

G_BEGIN_DECLS

/** EvalEmit: receives one metric; @json is set for non-scalar values. */
typedef void (*EvalEmit)(gpointer user_data, const char *name, gint64 step, double value,
                         const char *json);

/**
 * eval_task_accuracies:
 * @logits: @n × @k outputs of one model on the test set
 * @labels: @n labels
 * @row_task: (nullable): per-row task of a domain-IL test set; when %NULL a
 *   row belongs to task j when its label is one of @task_classes[j]
 * @task_classes: @n_tasks arrays of gint32
 * @class_il: (out caller-allocates): @n_tasks accuracies, argmax over all
 * @task_il: (out caller-allocates): @n_tasks accuracies, argmax over the
 *   task's classes
 * @counts: (out caller-allocates) (optional): @n_tasks test sizes
 *
 * Fails when a task has no test sample or a class is beyond the outputs.
 */
gboolean eval_task_accuracies(const float *logits, gint64 n, gint64 k, const gint32 *labels,
                              const gint32 *row_task, GPtrArray *task_classes, double *class_il,
                              double *task_il, double *counts, GError **error);

/**
 * eval_emit_cl_metrics:
 * @a: T × T accuracy matrix (class-IL or task-IL)
 * @before: (nullable): accuracies of the untrained model
 * @joint: (nullable): a*_k of the joint reference
 * @counts: test sizes per task (weights of old/new accuracy)
 * @suffix: "" for class-IL, "_task_il" for task-IL
 *
 * Emits every CL metric of docs/metrics.md with @suffix appended.
 */
void eval_emit_cl_metrics(const double *a, guint n_tasks, const double *before, const double *joint,
                          const double *counts, const char *suffix, EvalEmit emit,
                          gpointer user_data);

/**
 * EvalOutputs:
 * Outputs of one model on a data set: @n × @k logits and the labels.
 */
typedef struct {
  const float *logits;
  const gint32 *labels;
  gint64 n;
  gint64 k;
} EvalOutputs;

/**
 * eval_emit_unlearning_metrics:
 * @forget, @retain, @test: the model's outputs on the three sets (@retain
 *   and @test may have n = 0 when not connected)
 * @oracle_forget, @oracle_retain, @oracle_test: (nullable): the oracle's
 *
 * Emits forget/retain/test accuracy, the membership attacks, and with an
 * oracle the gaps, ToW, activation distance and JS divergence.
 */
gboolean eval_emit_unlearning_metrics(const EvalOutputs *forget, const EvalOutputs *retain,
                                      const EvalOutputs *test, const EvalOutputs *oracle_forget,
                                      const EvalOutputs *oracle_retain,
                                      const EvalOutputs *oracle_test, EvalEmit emit,
                                      gpointer user_data, GError **error);

G_END_DECLS

#endif /* LETHE_EVAL_OPS_H */
