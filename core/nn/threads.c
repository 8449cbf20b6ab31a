/* Lethe — the thread budget of the numeric library.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * OpenBLAS does the heavy lifting; it gets the whole budget.  Our own
 * loops (im2col, col2im) are split into ranges whose results do not depend
 * on how they are split, so runs stay bit-identical for any thread count.
 */
#include "nn-private.h"

static guint nn_threads = 0;

void
lethe_nn_set_threads(guint n_threads)
{
  if (n_threads == 0)
    n_threads = g_get_num_processors();
  nn_threads = n_threads;
  openblas_set_num_threads((int)n_threads);
}

guint
lethe_nn_get_threads(void)
{
  return nn_threads ? nn_threads : (guint)openblas_get_num_threads();
}

void
nn_parallel_for(gint64 n, void (*fn)(gint64 begin, gint64 end, gpointer data), gpointer data)
{
  if (n > 0)
    fn(0, n, data);
}
