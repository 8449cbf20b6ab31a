/* Lethe — the metrics of continual learning and machine unlearning.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Pure functions on plain arrays: no frames, no allocation the caller has
 * to track (except the JSON string), no global state.  The evaluator
 * plugins (cl-metrics, unlearning-metrics) compute their numbers here, and
 * docs/metrics.md gives every formula with its reference.
 *
 * Accuracy matrix: @a is row-major, @n_tasks × @n_tasks doubles;
 * a[i * n_tasks + j] is the accuracy on task j's test data after training
 * on task i (0-based).  Accuracies are fractions in [0, 1].  An entry that
 * was never measured is NAN; the functions below read only the entries
 * their formula needs.  A metric that is undefined for its input (BWT of a
 * single task, FWT without an evaluation before training) is NAN.
 */
#ifndef LETHE_METRICS_H
#define LETHE_METRICS_H

#include <glib.h>

G_BEGIN_DECLS

/* ---- Continual learning: the accuracy matrix ------------------------- */

/**
 * lethe_metrics_avg_acc:
 * Final average accuracy ACC = (1/T) Σ_j a[T-1][j] (Lopez-Paz & Ranzato
 * 2017).  Metric names `avg_acc` (class-IL) and `avg_acc_task_il`.
 */
double lethe_metrics_avg_acc(const double *a, guint n_tasks);

/**
 * lethe_metrics_avg_acc_at:
 * A_k = (1/(k+1)) Σ_{j≤k} a[k][j], the average accuracy over the tasks seen
 * after training task @k (Chaudhry et al. 2018).
 */
double lethe_metrics_avg_acc_at(const double *a, guint n_tasks, guint k);

/**
 * lethe_metrics_avg_inc_acc:
 * Average incremental accuracy (1/T) Σ_k A_k, the base step included
 * (Rebuffi et al. 2017).  Metric name `avg_inc_acc`.
 */
double lethe_metrics_avg_inc_acc(const double *a, guint n_tasks);

/**
 * lethe_metrics_forgetting_max_at:
 * F_k = (1/k) Σ_{j<k} (max_{j≤l<k} a[l][j] − a[k][j]) (Chaudhry et al.
 * 2018).  The maximum runs over the steps after task j was learned, as the
 * reference implementations do.  NAN for k = 0.
 */
double lethe_metrics_forgetting_max_at(const double *a, guint n_tasks, guint k);

/** lethe_metrics_forgetting_max: F_{T-1}; metric name `forgetting_max`. */
double lethe_metrics_forgetting_max(const double *a, guint n_tasks);

/**
 * lethe_metrics_forgetting_first_last:
 * (1/(T-1)) Σ_{j<T-1} (a[j][j] − a[T-1][j]), Avalanche's "forgetting"
 * (equal to −BWT).  Metric name `forgetting_first_last`.
 */
double lethe_metrics_forgetting_first_last(const double *a, guint n_tasks);

/**
 * lethe_metrics_bwt:
 * Backward transfer (1/(T-1)) Σ_{j<T-1} (a[T-1][j] − a[j][j]) (Lopez-Paz &
 * Ranzato 2017); negative means forgetting.  Metric name `bwt`.
 */
double lethe_metrics_bwt(const double *a, guint n_tasks);

/**
 * lethe_metrics_fwt:
 * @before: (nullable): b[j], accuracy on task j of the model before any
 *   training (random initialisation); %NULL gives NAN
 *
 * Forward transfer (1/(T-1)) Σ_{j≥1} (a[j-1][j] − b[j]) (Lopez-Paz &
 * Ranzato 2017).  Needs the entries just above the diagonal.  Metric name
 * `fwt`.
 */
double lethe_metrics_fwt(const double *a, guint n_tasks, const double *before);

/**
 * lethe_metrics_intransigence_at:
 * @joint_ref: (nullable): joint_ref[k] = a*_k, the accuracy on task k of a
 *   reference trained jointly on tasks 0..k; %NULL gives NAN
 *
 * I_k = a*_k − a[k][k] (Chaudhry et al. 2018).
 */
double lethe_metrics_intransigence_at(const double *a, guint n_tasks, const double *joint_ref,
                                      guint k);

/**
 * lethe_metrics_intransigence:
 * The mean of I_k over every task k.  Metric name `intransigence` (the
 * per-task values are emitted with their step).
 */
double lethe_metrics_intransigence(const double *a, guint n_tasks, const double *joint_ref);

/**
 * lethe_metrics_old_new_acc:
 * @weights: (nullable): weight of each task, e.g. its number of test
 *   samples (then the result is the sample-weighted accuracy over the old
 *   and the new classes, as PyCIL computes it); %NULL weighs tasks equally
 * @old_acc: (out): accuracy on tasks 0..k-1 after step @k (NAN for k = 0)
 * @new_acc: (out): accuracy on task k after step @k
 *
 * Stability (old) and plasticity (new) after step @k.  Metric names
 * `old_acc` and `new_acc`.
 */
void lethe_metrics_old_new_acc(const double *a, guint n_tasks, guint k, const double *weights,
                               double *old_acc, double *new_acc);

/**
 * lethe_metrics_matrix_to_json:
 * The @rows × @cols matrix as nested JSON lists ("[[1,0.5],[0.25,null]]");
 * NAN and infinities become null.  The value of the `acc_matrix` metric.
 * Returns: (transfer full)
 */
char *lethe_metrics_matrix_to_json(const double *a, guint rows, guint cols);

/* ---- Per-sample outputs --------------------------------------------- */

/**
 * lethe_metrics_accuracy:
 * @logits: @n × @k row-major model outputs
 * @labels: @n class indices
 * @class_mask: (nullable): @k flags; when given the prediction is the
 *   argmax over the flagged classes only (task-IL masking)
 *
 * Fraction of rows whose argmax equals the label (ties go to the lower
 * class index).  NAN when @n is 0.
 */
double lethe_metrics_accuracy(const float *logits, gint64 n, gint64 k, const gint32 *labels,
                              const gboolean *class_mask);

/** lethe_metrics_softmax: @p (out) the @k softmax probabilities of one row of logits. */
void lethe_metrics_softmax(const float *logits, gint64 k, double *p);

/**
 * lethe_metrics_entropies:
 * @out: (out): @n values H(softmax(row)) = −Σ p log p, natural log
 */
void lethe_metrics_entropies(const float *logits, gint64 n, gint64 k, double *out);

/**
 * lethe_metrics_losses:
 * @out: (out): @n softmax cross-entropy losses −log softmax(row)[label]
 */
void lethe_metrics_losses(const float *logits, gint64 n, gint64 k, const gint32 *labels,
                          double *out);

/**
 * lethe_metrics_roc_auc:
 * Area under the ROC curve of @pos against @neg scores (higher score =
 * positive): P(s_pos > s_neg) + ½ P(s_pos = s_neg), the Mann–Whitney
 * statistic.  NAN when either side is empty.
 */
double lethe_metrics_roc_auc(const double *pos, gsize n_pos, const double *neg, gsize n_neg);

/**
 * lethe_metrics_best_threshold_accuracy:
 * The best balanced accuracy ½(TPR + TNR) of a threshold rule "score ≥ t
 * means positive" over every threshold t.  NAN when either side is empty.
 */
double lethe_metrics_best_threshold_accuracy(const double *pos, gsize n_pos, const double *neg,
                                             gsize n_neg);

/**
 * lethe_metrics_mia_entropy:
 * @member: entropies of samples the model trained on (retain set)
 * @nonmember: entropies of samples it never saw (test set)
 * @target: entropies of the samples to judge (forget set)
 * @error: set when a side is empty or a value is not finite
 *
 * The entropy-feature attack of SSD (Foster et al. 2024, after Chundawat et
 * al. 2023): a logistic regression on the entropy, balanced class weights,
 * L2 penalty on the slope with C = 1, fitted exactly by Newton's method;
 * returns the fraction of @target predicted "member".  Metric name
 * `mia_entropy`.  Returns NAN on error.
 */
double lethe_metrics_mia_entropy(const double *member, gsize n_member, const double *nonmember,
                                 gsize n_nonmember, const double *target, gsize n_target,
                                 GError **error);

/**
 * lethe_metrics_mia_loss:
 * @member_loss: per-sample losses of the samples under attack (forget set)
 * @nonmember_loss: per-sample losses of unseen samples (test set)
 * @auc: (out) (optional): ROC-AUC with −loss as the membership score
 *   (`mia_loss_auc`); 0.5 means indistinguishable
 * @accuracy: (out) (optional): balanced accuracy of the best loss threshold
 *   (`mia_loss_acc`)
 *
 * The loss attack (Yeom et al. 2018; as used by SCRUB, Kurmanji et al.
 * 2023).  %FALSE when a side is empty.
 */
gboolean lethe_metrics_mia_loss(const double *member_loss, gsize n_member,
                                const double *nonmember_loss, gsize n_nonmember, double *auc,
                                double *accuracy);

/**
 * lethe_metrics_activation_distance:
 * (1/n) Σ ‖softmax(a_i) − softmax(b_i)‖₂ over rows of two @n × @k logit
 * matrices (Golatkar et al. 2020; SSD).  Metric name `activation_distance`.
 */
double lethe_metrics_activation_distance(const float *logits_a, const float *logits_b, gint64 n,
                                         gint64 k);

/**
 * lethe_metrics_js:
 * Jensen–Shannon divergence ½KL(p‖m) + ½KL(q‖m), m = (p+q)/2, natural log,
 * of two probability vectors of length @k (0 log 0 = 0).  In [0, ln 2].
 */
double lethe_metrics_js(const double *p, const double *q, gint64 k);

/**
 * lethe_metrics_js_divergence:
 * Mean lethe_metrics_js() of the softmax of two @n × @k logit matrices,
 * row by row.  Metric name `js_divergence`.
 */
double lethe_metrics_js_divergence(const float *logits_a, const float *logits_b, gint64 n,
                                   gint64 k);

/**
 * lethe_metrics_relearn_epochs:
 * @curve: @n_points accuracies on the forget set: curve[0] before any
 *   fine-tuning, curve[e] after e epochs of fine-tuning on it
 * @target: the accuracy to come back to (e.g. (1 − α) times the original
 *   model's forget accuracy)
 *
 * Relearn time (Golatkar et al. 2020; AIN of Chundawat et al. 2023): the
 * first e with curve[e] ≥ @target, or -1 when the curve never gets there.
 * Metric name `relearn_epochs`.
 */
gint64 lethe_metrics_relearn_epochs(const double *curve, gsize n_points, double target);

/**
 * lethe_metrics_oracle_gap:
 * |@value − @oracle|; the `oracle_gap_*` metrics.  NAN if either is NAN.
 */
double lethe_metrics_oracle_gap(double value, double oracle);

/**
 * lethe_metrics_tow:
 * Tug of war (Zhao et al. 2024): (1 − |Δforget|)(1 − |Δretain|)(1 − |Δtest|),
 * the Δ being the accuracy gaps to the retrained oracle.  Metric name `tow`.
 */
double lethe_metrics_tow(double forget_acc, double retain_acc, double test_acc,
                         double oracle_forget_acc, double oracle_retain_acc,
                         double oracle_test_acc);

G_END_DECLS

#endif /* LETHE_METRICS_H */
