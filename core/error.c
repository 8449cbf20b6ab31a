/* Lethe — the error domain.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/error.h>

/* Spelled out rather than G_DEFINE_QUARK(): clang-format would put spaces
 * around the dashes of the macro argument, and into the domain's name. */
GQuark
lethe_error_quark(void)
{
  return g_quark_from_static_string("lethe-error-quark");
}
