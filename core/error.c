/* Lethe — the error domain.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/error.h>

G_DEFINE_QUARK(lethe - error - quark, lethe_error)
