/* Lethe — optimizers, learning-rate schedules.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_NN_OPTIM_H
#define LETHE_NN_OPTIM_H

#include <glib.h>
#include <lethe/nn-tape.h>

G_BEGIN_DECLS

/**
 * LetheOptimKind:
 * @LETHE_OPTIM_SGD: SGD with optional momentum, Nesterov momentum and L2
 *   weight decay (added to the gradient), as torch.optim.SGD
 * @LETHE_OPTIM_ADAM: Adam (Kingma & Ba 2015) with L2 weight decay added to
 *   the gradient, as torch.optim.Adam
 * @LETHE_OPTIM_ADAMW: Adam with decoupled weight decay (Loshchilov &
 *   Hutter 2019), as torch.optim.AdamW
 */
typedef enum {
  LETHE_OPTIM_SGD,
  LETHE_OPTIM_ADAM,
  LETHE_OPTIM_ADAMW,
} LetheOptimKind;

/**
 * LetheOptimConfig:
 * Fill with lethe_optim_config_init(), then change fields.
 */
typedef struct {
  LetheOptimKind kind;
  double lr;
  double momentum;
  gboolean nesterov;
  double weight_decay;
  double beta1;
  double beta2;
  double eps;
  /*< private >*/
  gpointer _lethe_reserved[4];
} LetheOptimConfig;

/** lethe_optim_config_init: PyTorch's defaults (Adam β = (0.9, 0.999), ε = 1e-8;
 * AdamW weight decay 0.01; SGD no momentum). */
void lethe_optim_config_init(LetheOptimConfig *config, LetheOptimKind kind, double lr);

/**
 * LetheOptimizer:
 * Updates the trainable, unfrozen tensors of a #LetheParams from their
 * gradients.  Gradient masks (lethe_params_set_mask()) scale the gradient;
 * entries whose mask is 0 are left untouched.  The optimizer does not own
 * the parameters: free it first.
 */
typedef struct _LetheOptimizer LetheOptimizer;

/**
 * lethe_optimizer_new:
 * Makes @params flat first (lethe_params_make_flat()): values that were
 * shared with a frame are copied, so updates never write into a tensor
 * someone else holds.  Take value tensors from @params after this call.
 */
LetheOptimizer *lethe_optimizer_new(LetheParams *params, const LetheOptimConfig *config);
void lethe_optimizer_free(LetheOptimizer *opt);
/** lethe_optimizer_step: one update from the current gradients. */
void lethe_optimizer_step(LetheOptimizer *opt);
void lethe_optimizer_set_lr(LetheOptimizer *opt, double lr);
double lethe_optimizer_get_lr(const LetheOptimizer *opt);
/** lethe_optimizer_get_n_steps: steps taken (Adam's bias correction uses it). */
guint64 lethe_optimizer_get_n_steps(const LetheOptimizer *opt);
/** lethe_optimizer_reset: forgets momentum and moments. */
void lethe_optimizer_reset(LetheOptimizer *opt);
const LetheOptimConfig *lethe_optimizer_get_config(const LetheOptimizer *opt);

/**
 * LetheLrScheduleKind:
 * @LETHE_LR_CONSTANT: base_lr
 * @LETHE_LR_STEP: base_lr·gamma^⌊epoch/step_size⌋
 * @LETHE_LR_COSINE: eta_min + (base_lr − eta_min)·(1 + cos(π·epoch/t_max))/2
 * @LETHE_LR_EXPONENTIAL: base_lr·gamma^epoch
 */
typedef enum {
  LETHE_LR_CONSTANT,
  LETHE_LR_STEP,
  LETHE_LR_COSINE,
  LETHE_LR_EXPONENTIAL,
} LetheLrScheduleKind;

typedef struct {
  LetheLrScheduleKind kind;
  double base_lr;
  guint step_size;
  double gamma;
  guint t_max;
  double eta_min;
} LetheLrSchedule;

/** lethe_lr_schedule_at: the learning rate for @epoch (0-based). */
double lethe_lr_schedule_at(const LetheLrSchedule *schedule, guint epoch);

G_END_DECLS

#endif /* LETHE_NN_OPTIM_H */
