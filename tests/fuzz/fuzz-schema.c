/* Lethe — fuzz target: schema files (lethe_schema_load_data).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/lethe.h>

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
  g_autoptr(GError) error = NULL;
  g_autoptr(LetheSchema) schema =
      lethe_schema_load_data((const char *)data, size, "fuzz.schema", &error);

  g_assert((schema == NULL) == (error != NULL));
  if (schema) {
    g_autofree char *text = lethe_schema_to_string(schema);
    g_assert(text != NULL);
    g_assert(lethe_schema_get_name(schema) != NULL);
  }
  return 0;
}
