/* Lethe — fuzz target: MIT-format WFDB annotation files.
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
  g_autoptr(GArray) anns = wfdb_annotations_parse(data, size, "fuzz.atr", &error);

  g_assert((anns == NULL) == (error != NULL));
  if (anns == NULL)
    return 0;
  for (guint i = 0; i < anns->len; i++) {
    const WfdbAnnotation *a = &g_array_index(anns, WfdbAnnotation, i);
    g_assert(wfdb_annotation_symbol(a->code) != NULL);
    /* Reads the whole string: an unterminated aux shows up under ASan. */
    if (a->aux)
      (void)strlen(a->aux);
  }
  return 0;
}
