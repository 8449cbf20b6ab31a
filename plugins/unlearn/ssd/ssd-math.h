/* Lethe — Selective Synaptic Dampening's arithmetic: importances,
 * selection and dampening (Foster, Schoepf & Brintrup, AAAI 2024).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Plain functions on float arrays, so the suites test them against
 * hand-computed values without loading the plugin.  All arithmetic is in
 * float32, in the order of the reference implementation, so the same
 * gradients give bit-identical importances and parameters.
 */
#ifndef LETHE_SSD_MATH_H
#define LETHE_SSD_MATH_H

#include <glib.h>

G_BEGIN_DECLS

/**
 * ssd_importance_accumulate:
 * @imp: (inout): [n] running sum
 * @grad: [n] the gradient of one minibatch's mean loss
 * @label_free: LFSSD: add |g| (the gradient of the mean squared output
 *   norm); otherwise SSD: add g²
 */
void ssd_importance_accumulate(float *imp, const float *grad, gint64 n, gboolean label_free);

/** ssd_importance_finish: divides the sum by the number of minibatches M. */
void ssd_importance_finish(float *imp, gint64 n, guint64 n_batches);

/**
 * ssd_dampen:
 * @theta: (inout): [n] parameters
 * @imp_train: []_D, the training-set importance
 * @imp_forget: []_{D_f}, the forget-set importance
 * @alpha: selection weighting α
 * @lambda: dampening constant λ
 * @selected: (out) (optional): [n] 1 where the parameter was selected
 *
 * Selects i when []_{D_f,i} > α·[]_{D,i} (strictly) and multiplies θ_i by
 * β_i = min(λ·[]_{D,i} / []_{D_f,i}, 1); every other θ_i is left as is,
 * bit for bit.  Since β_i ≤ 1 no |θ_i| grows.
 * Returns: how many parameters were selected.
 */
gint64 ssd_dampen(float *theta, const float *imp_train, const float *imp_forget, gint64 n,
                  double alpha, double lambda, guint8 *selected);

G_END_DECLS

#endif /* LETHE_SSD_MATH_H */
