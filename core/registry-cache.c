/* Lethe — the registry cache file.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Layout: a 16-byte header (magic "LETHEREG", a format version and a
 * byte-order mark, both native 32-bit integers), then one serialized
 * GVariant of type (s a(sttts m<plugin>)): the identity of the liblethe
 * that wrote it (lethe_core_identity()), then per file its path, size,
 * mtime in nanoseconds, inode, failure reason ("" when usable) and
 * metadata.  A new liblethe may resolve symbols an old one lacked, so a
 * cache written by another one is ignored.  The
 * file comes from disk, so it is treated as hostile: anything that does not
 * match exactly (another version, another byte order, a GVariant not in
 * normal form, an entry with impossible values) makes the whole file count
 * as absent, and the registry rescans.
 */
#include "registry-private.h"

#include <lethe/fileutil.h>
#include <string.h>

#define CACHE_MAGIC       "LETHEREG"
#define CACHE_VERSION     2u
#define CACHE_BYTE_ORDER  0x01020304u
#define CACHE_HEADER_SIZE 16
#define CACHE_ENTRY                                                                                \
  "(sttts"                                                                                         \
  "m" LETHE_PLUGIN_VARIANT ")"
#define CACHE_VARIANT "(sa" CACHE_ENTRY ")"

void
lethe_cache_entry_free(LetheCacheEntry *entry)
{
  if (entry == NULL)
    return;
  g_free(entry->path);
  g_free(entry->failure);
  g_clear_pointer(&entry->meta, g_variant_unref);
  g_free(entry);
}

static gboolean
corrupt(GError **error, const char *why)
{
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE, "registry cache is unusable: %s", why);
  return FALSE;
}

GHashTable *
lethe_registry_cache_parse(GBytes *bytes, const char *base_dir, const char *identity,
                           GError **error)
{
  gsize length = 0;
  const guint8 *data = g_bytes_get_data(bytes, &length);
  guint32 version, order;

  if (length < CACHE_HEADER_SIZE || memcmp(data, CACHE_MAGIC, 8) != 0) {
    corrupt(error, "not a Lethe registry cache (bad magic)");
    return NULL;
  }
  memcpy(&version, data + 8, 4);
  memcpy(&order, data + 12, 4);
  if (order != CACHE_BYTE_ORDER) {
    corrupt(error, "written on a machine of another byte order");
    return NULL;
  }
  if (version != CACHE_VERSION) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                "registry cache is unusable: format version %u, expected %u", version,
                CACHE_VERSION);
    return NULL;
  }

  g_autoptr(GBytes) body =
      g_bytes_new_from_bytes(bytes, CACHE_HEADER_SIZE, length - CACHE_HEADER_SIZE);
  g_autoptr(GVariant) v =
      g_variant_ref_sink(g_variant_new_from_bytes(G_VARIANT_TYPE(CACHE_VARIANT), body, FALSE));
  /* A serialized GVariant that is not in normal form was not written by
   * us; reading it would silently give default values. */
  if (!g_variant_is_normal_form(v)) {
    corrupt(error, "the entries are damaged");
    return NULL;
  }

  g_autoptr(GVariant) list = NULL;
  const char *writer;
  g_variant_get(v, "(&s@a" CACHE_ENTRY ")", &writer, &list);
  if (identity && !g_str_equal(writer, identity)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                "registry cache is unusable: written by another liblethe (%s, this is %s)", writer,
                identity);
    return NULL;
  }

  g_autoptr(GHashTable) table =
      g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)lethe_cache_entry_free);
  GVariantIter iter;
  const char *path, *failure;
  guint64 size, mtime, inode;
  GVariant *meta;

  g_variant_iter_init(&iter, list);
  while (g_variant_iter_next(&iter, "(&sttt&sm@" LETHE_PLUGIN_VARIANT ")", &path, &size, &mtime,
                             &inode, &failure, &meta)) {
    g_autoptr(LetheCacheEntry) e = g_new0(LetheCacheEntry, 1);
    e->meta = meta;
    if (path[0] == '\0' || (failure[0] == '\0') == (meta == NULL)) {
      corrupt(error, "an entry has no path, or neither or both of a failure and metadata");
      return NULL;
    }
    if (g_path_is_absolute(path))
      e->path = g_strdup(path);
    else if (base_dir && strchr(path, '/') == NULL)
      e->path = g_build_filename(base_dir, path, NULL);
    else {
      corrupt(error, "an entry has a relative path");
      return NULL;
    }
    e->size = size;
    e->mtime_ns = mtime;
    e->inode = inode;
    e->failure = failure[0] ? g_strdup(failure) : NULL;
    LetheCacheEntry *owned = g_steal_pointer(&e);
    g_hash_table_replace(table, owned->path, owned);
  }
  return g_steal_pointer(&table);
}

GHashTable *
lethe_registry_cache_read(const char *file, gboolean relocatable, GError **error)
{
  g_autofree char *contents = NULL;
  gsize length = 0;

  if (!g_file_get_contents(file, &contents, &length, error))
    return NULL;
  g_autoptr(GBytes) bytes = g_bytes_new_take(g_steal_pointer(&contents), length);
  g_autofree char *dir = g_path_get_dirname(file);
  g_autoptr(GError) local = NULL;
  g_autofree char *identity = lethe_core_identity(!relocatable);
  GHashTable *table = lethe_registry_cache_parse(bytes, dir, identity, &local);
  if (table == NULL) {
    g_set_error(error, local->domain, local->code, "%s: %s", file, local->message);
    return NULL;
  }
  return table;
}

gboolean
lethe_registry_cache_write(const char *file, GPtrArray *entries, gboolean relative, GError **error)
{
  g_autofree char *dir = g_path_get_dirname(file);
  GVariantBuilder b;

  g_variant_builder_init(&b, G_VARIANT_TYPE("a" CACHE_ENTRY));
  for (guint i = 0; i < entries->len; i++) {
    const LetheCacheEntry *e = g_ptr_array_index(entries, i);
    const char *path = e->path;
    guint64 inode = e->inode;
    g_autofree char *parent = g_path_get_dirname(e->path);
    /* A pre-generated cache moves with its folder (a package is built in
     * one place and installed in another), so it names files relative to
     * it and cannot rely on inodes. */
    if (relative && g_str_equal(parent, dir)) {
      path = e->path + strlen(parent) + 1;
      inode = 0;
    }
    g_variant_builder_add(&b, "(sttts@m" LETHE_PLUGIN_VARIANT ")", path, e->size, e->mtime_ns,
                          inode, e->failure ? e->failure : "",
                          g_variant_new_maybe(G_VARIANT_TYPE(LETHE_PLUGIN_VARIANT), e->meta));
  }
  g_autofree char *identity = lethe_core_identity(!relative);
  g_autoptr(GVariant) v = g_variant_ref_sink(
      g_variant_new("(s@a" CACHE_ENTRY ")", identity, g_variant_builder_end(&b)));

  gsize body = g_variant_get_size(v);
  g_autofree guint8 *data = g_malloc(CACHE_HEADER_SIZE + body);
  guint32 version = CACHE_VERSION, order = CACHE_BYTE_ORDER;
  memcpy(data, CACHE_MAGIC, 8);
  memcpy(data + 8, &version, 4);
  memcpy(data + 12, &order, 4);
  g_variant_store(v, data + CACHE_HEADER_SIZE);

  if (g_mkdir_with_parents(dir, 0755) != 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_IO, "cannot create folder '%s': %s", dir,
                g_strerror(errno));
    return FALSE;
  }
  return lethe_file_replace_contents(file, data, CACHE_HEADER_SIZE + body, error);
}
