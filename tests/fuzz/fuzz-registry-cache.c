/* Lethe — fuzz target: the registry cache file (lethe_registry_cache_parse).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The cache lives in the user's cache folder, where anything may have
 * damaged it; every byte of it is treated as hostile.  The identity check
 * is skipped here (NULL) so inputs reach the entries.
 */
#include <lethe/lethe.h>

#include "fuzz-common.h"
#include "registry-private.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  fuzz_init();
  return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  g_autoptr(GBytes) bytes = g_bytes_new(data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) table = lethe_registry_cache_parse(bytes, "/plugins", NULL, &error);

  g_assert((table == NULL) == (error != NULL));
  if (table == NULL)
    return 0;
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init(&it, table);
  while (g_hash_table_iter_next(&it, &key, &value)) {
    const LetheCacheEntry *e = value;
    g_assert(g_path_is_absolute(e->path));
    g_assert((e->failure == NULL) == (e->meta != NULL));
    if (e->meta)
      g_assert(g_variant_is_of_type(e->meta, G_VARIANT_TYPE(LETHE_PLUGIN_VARIANT)));
  }
  return 0;
}
