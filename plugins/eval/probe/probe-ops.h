/* Lethe — linear probes: logistic regression on frozen embeddings with
 * subject-level cross-validation.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_PROBE_OPS_H
#define LETHE_PROBE_OPS_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint folds;  /* subject-level folds (5) */
  double l2;    /* ridge penalty of the logistic regression (1) */
  guint64 seed; /* shuffles subjects into folds */
} ProbeParams;

/**
 * ProbeResult:
 * @auroc: macro-AUROC: the mean over tasks of the ROC-AUC of the pooled
 *   out-of-fold probabilities (tasks with one class only are skipped)
 * @macro_f1: multi-class: macro-F1 of the arg-max predictions;
 *   binary and multi-label: the mean over tasks of the macro-F1 at 0.5
 * @n_tasks: tasks the AUROC averages over
 */
typedef struct {
  double auroc;
  double macro_f1;
  guint n_tasks;
} ProbeResult;

/**
 * probe_cross_validate:
 * @z: @n × @d features (frozen embeddings)
 * @y: labels: @n class indices in [0, @n_classes) when @n_labels is 0,
 *   else @n × @n_labels 0/1 flags (multi-label)
 * @subject: (nullable): @n subject ids; rows of one subject share a fold.
 *   %NULL: every row is its own subject
 *
 * Splits subjects into @folds groups (shuffled by @seed), fits on the other
 * folds after standardising features with their mean and deviation, and
 * predicts each held-out fold: one binary logistic regression per class
 * (one-vs-rest; one for a binary problem) or per label.  Fails when there
 * are fewer subjects than folds or a logistic fit fails.
 */
gboolean probe_cross_validate(const ProbeParams *params, const float *z, gsize n, gsize d,
                              const gint32 *y, gsize n_classes, gsize n_labels,
                              const gint64 *subject, ProbeResult *result, GError **error);

G_END_DECLS

#endif /* LETHE_PROBE_OPS_H */
