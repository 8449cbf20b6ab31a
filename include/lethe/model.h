/* Lethe — model kinds: how the core runs a `model` frame.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_MODEL_H
#define LETHE_MODEL_H

#include <lethe/frame.h>
#include <lethe/plugin.h>

G_BEGIN_DECLS

/**
 * LetheModelKind:
 * @name: the value of a model frame's "model-kind" metadata ("sequential")
 * @description: one line
 * @forward: runs the model on a batch @x (first dimension = samples) and
 *   returns its outputs (logits for classifiers) as a new [N, K] f32 tensor
 * @loss_grad: (nullable): the mean softmax cross-entropy of the model on
 *   (@x, @y) and its gradient for every parameter tensor, returned as a
 *   frame with the same tensor names as the model's parameters; %NULL when
 *   the kind has no backward
 *
 * A model frame holds parameter tensors plus metadata "model-kind" (s),
 * "arch" (s) and "version" (i).  The core ships "sequential"; a plugin whose
 * method needs its own inference registers its own kind in its
 * LethePluginInfo.  Evaluators and unlearners call lethe_model_forward()
 * and work on any kind.
 */
struct _LetheModelKind {
  const char *name;
  const char *description;
  gboolean (*forward)(const LetheFrame *model, LetheTensor *x, LetheTensor **out, GError **error);
  gboolean (*loss_grad)(const LetheFrame *model, LetheTensor *x, LetheTensor *y, LetheFrame **grads,
                        double *loss, GError **error);
  /*< private >*/
  gpointer _lethe_reserved[8];
};

/**
 * lethe_model_kind_lookup:
 * Finds a model kind by name: the core's own, then those of plugins (the
 * plugin is loaded on first use).  Returns: (transfer none) (nullable)
 */
const LetheModelKind *lethe_model_kind_lookup(const char *name, GError **error);
/** lethe_model_kind_register: makes @kind known to this process (core and tests). */
void lethe_model_kind_register(const LetheModelKind *kind);

/** lethe_model_forward: dispatches on the frame's "model-kind". */
gboolean lethe_model_forward(const LetheFrame *model, LetheTensor *x, LetheTensor **out,
                             GError **error);
/** lethe_model_loss_grad: dispatches on "model-kind"; fails with
 * %LETHE_ERROR_UNSUPPORTED when the kind has no backward. */
gboolean lethe_model_loss_grad(const LetheFrame *model, LetheTensor *x, LetheTensor *y,
                               LetheFrame **grads, double *loss, GError **error);

G_END_DECLS

#endif /* LETHE_MODEL_H */
