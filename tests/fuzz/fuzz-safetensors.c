/* Lethe — fuzz target: safetensors checkpoints (strict header checks,
 * then every tensor's bytes read through the frame).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/lethe.h>
#include <lethe/safetensors.h>
#include <string.h>

#include "fuzz-common.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  fuzz_init();
  return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* A copy of exactly @size bytes (read-only, as a mapped file is), so
   * ASan catches any read past the end. */
  gpointer copy = g_memdup2(data, size);
  g_autoptr(LetheBuffer) whole = lethe_buffer_new_wrapped(copy, size, TRUE, g_free, copy);

  g_autoptr(GError) error = NULL;
  g_autoptr(LetheFrame) frame = lethe_safetensors_load_buffer(whole, "fuzz.safetensors", &error);
  g_assert((frame == NULL) == (error != NULL));
  if (frame == NULL)
    return 0;
  guint n = lethe_frame_get_n_tensors(frame);
  guint64 total = 0;
  for (guint i = 0; i < n; i++) {
    const char *name = NULL;
    LetheTensor *t = lethe_frame_get_nth(frame, i, &name);
    g_assert(t != NULL && name != NULL);
    g_assert(lethe_tensor_is_contiguous(t));
    gsize bytes = lethe_tensor_n_bytes(t);
    const guint8 *p = lethe_tensor_data(t);
    for (gsize b = 0; b < bytes; b++)
      total += p[b];
  }
  (void)total;
  return 0;
}
