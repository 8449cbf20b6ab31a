/* Lethe — fuzz target: WFDB header files (wfdb_header_parse).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "fuzz-common.h"
#include "wfdb-parse.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  fuzz_init();
  return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(WfdbHeader) h = wfdb_header_parse((const char *)data, size, "fuzz.hea", &error);

  g_assert((h == NULL) == (error != NULL));
  if (h == NULL)
    return 0;
  g_assert(h->name != NULL && h->n_samples >= 0 && h->fs > 0);
  for (guint i = 0; i < h->n_signals; i++) {
    const WfdbSignal *s = &h->signals[i];
    g_assert(s->file_name != NULL && s->units != NULL && s->description != NULL);
    g_assert(s->gain != 0 && s->byte_offset >= 0);
  }
  (void)wfdb_header_get_info(h, "age");
  (void)wfdb_header_get_info(h, "Dx");
  return 0;
}
