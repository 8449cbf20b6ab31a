/* Lethe — Selective Synaptic Dampening's arithmetic (see ssd-math.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <math.h>

#include "ssd-math.h"

void
ssd_importance_accumulate(float *imp, const float *grad, gint64 n, gboolean label_free)
{
  if (label_free)
    for (gint64 i = 0; i < n; i++)
      imp[i] += fabsf(grad[i]);
  else
    for (gint64 i = 0; i < n; i++)
      imp[i] += grad[i] * grad[i];
}

void
ssd_importance_finish(float *imp, gint64 n, guint64 n_batches)
{
  const float m = (float)n_batches;
  for (gint64 i = 0; i < n && n_batches > 0; i++)
    imp[i] /= m;
}

gint64
ssd_dampen(float *theta, const float *imp_train, const float *imp_forget, gint64 n, double alpha,
           double lambda, guint8 *selected)
{
  const float a = (float)alpha, l = (float)lambda;
  gint64 n_selected = 0;
  for (gint64 i = 0; i < n; i++) {
    gboolean sel = imp_forget[i] > imp_train[i] * a;
    if (selected)
      selected[i] = sel;
    if (!sel)
      continue;
    /* imp_forget > α·imp_train ≥ 0, so the division is defined. */
    float beta = (imp_train[i] * l) / imp_forget[i];
    if (beta > 1.0f)
      beta = 1.0f;
    theta[i] *= beta;
    n_selected++;
  }
  return n_selected;
}
