/* Lethe — the numeric library: umbrella header.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Ops and losses on a reverse-mode tape (nn-ops.h, nn-tape.h), optimizers
 * (nn-optim.h), the sequential model (nn-model.h), linear algebra, FFT,
 * random numbers and statistics.  See docs/numerics.md and docs/models.md.
 */
#ifndef LETHE_NN_H
#define LETHE_NN_H

#include <lethe/nn-rng.h>
#include <lethe/nn-tape.h>
#include <lethe/nn-ops.h>
#include <lethe/nn-optim.h>
#include <lethe/nn-model.h>
#include <lethe/nn-linalg.h>
#include <lethe/nn-fft.h>
#include <lethe/nn-stats.h>

#endif /* LETHE_NN_H */
