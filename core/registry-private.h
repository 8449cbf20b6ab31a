/* Lethe — registry internals shared by the loader, the cache, the scanner
 * and the `lethe` tool.  Not installed.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_REGISTRY_PRIVATE_H
#define LETHE_REGISTRY_PRIVATE_H

#include <gmodule.h>
#include <lethe/registry.h>

G_BEGIN_DECLS

/* The metadata of one plugin as a GVariant: what the scanner prints and
 * what the cache stores.  Nullable strings are maybes.
 *   port  = (name, schema?, flags, doc?)
 *   param = (name, type, default?, min, max, choices, doc?)
 *   node  = (name, kind, description?, inputs, outputs, params, doc?)
 *   model kind = (name, description?)
 *   plugin = (abi_major, abi_minor, name, version?, license?, description?,
 *             node types, model kinds) */
#define LETHE_PORT_VARIANT  "(smsums)"
#define LETHE_PARAM_VARIANT "(sumsddasms)"
#define LETHE_NODE_VARIANT                                                                         \
  "(sums"                                                                                          \
  "a" LETHE_PORT_VARIANT "a" LETHE_PORT_VARIANT "a" LETHE_PARAM_VARIANT "ms)"
#define LETHE_PLUGIN_VARIANT "(uusmsmsmsa" LETHE_NODE_VARIANT "a(sms))"

/* What the scanner writes on stdout: magic, then (failure, metadata?) where
 * failure is "" on success. */
#define LETHE_SCANNER_MAGIC   "LETHESC1"
#define LETHE_SCANNER_VARIANT "(sm" LETHE_PLUGIN_VARIANT ")"

/* ---- plugin-loader.c ------------------------------------------------ */

/* Fails when @path (a file or folder) is writable by others. */
gboolean lethe_plugin_check_trust(const char *path, gboolean is_dir, GError **error);
/* Checks the ABI versions and that the descriptor is complete. */
gboolean lethe_plugin_info_check(const LethePluginInfo *info, const char *path, GError **error);
/* dlopen()s @path now (every symbol resolved), finds the descriptor and
 * checks it.  The module is made resident. */
GModule *lethe_plugin_open(const char *path, const LethePluginInfo **info, GError **error);
/* (transfer full) non-floating */
GVariant *lethe_plugin_info_serialize(const LethePluginInfo *info);

/* ---- registry-cache.c ----------------------------------------------- */

typedef struct {
  char *path; /* absolute, or relative to the cache file's folder */
  guint64 size;
  guint64 mtime_ns;
  guint64 inode;  /* 0: not checked (pre-generated caches are relocated) */
  char *failure;  /* NULL when the plugin is usable */
  GVariant *meta; /* LETHE_PLUGIN_VARIANT, or NULL */
} LetheCacheEntry;

void lethe_cache_entry_free(LetheCacheEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LetheCacheEntry, lethe_cache_entry_free)

/* Reads @file.  Returns a table path → LetheCacheEntry with relative paths
 * made absolute against @file's folder, or NULL (with @error) when the file
 * is missing, corrupt, foreign, of another format version or written by
 * another liblethe (for a @relocatable, pre-generated cache: by another
 * version of it). */
GHashTable *lethe_registry_cache_read(const char *file, gboolean relocatable, GError **error);
/* Writes @entries (LetheCacheEntry) atomically; entries under @file's folder
 * are stored relative to it when @relative is set. */
gboolean lethe_registry_cache_write(const char *file, GPtrArray *entries, gboolean relative,
                                    GError **error);
/* Serialized form, for the fuzz target and tests. */
GHashTable *lethe_registry_cache_parse(GBytes *bytes, const char *base_dir, const char *identity,
                                       GError **error);

/* ---- paths.c -------------------------------------------------------- */

/* (transfer full) the plugin folders in search order, without duplicates */
GPtrArray *lethe_plugin_search_dirs(const char *const *extra_paths);
/* the per-user cache: $LETHE_REGISTRY, else $XDG_CACHE_HOME/lethe-1/registry.bin */
char *lethe_registry_user_cache_path(void);
/* the scanner: $LETHE_SCANNER, else LETHE_LIBEXECDIR/lethe-plugin-scanner */
char *lethe_plugin_scanner_path(void);
/* the folder liblethe was loaded from, or NULL */
char *lethe_library_dir(void);
/* Who writes a cache: the version and plugin ABI of liblethe and, when
 * @strict, the size and mtime of the liblethe file itself, so rebuilding
 * or upgrading it invalidates the per-user cache (a plugin that failed on
 * a missing symbol may load now). */
char *lethe_core_identity(gboolean strict);

/* ---- registry.c ----------------------------------------------------- */

/* How many files this registry ran the scanner on, or scanned in
 * process (tests use it to prove a warm cache scans nothing). */
guint lethe_registry_get_n_scanned(LetheRegistry *registry);
/* Scans @path out of process if the scanner exists, else in process.
 * Returns the metadata, or NULL with the failure in @error. */
GVariant *lethe_registry_scan_file(LetheRegistry *registry, const char *path, GError **error);

G_END_DECLS

#endif /* LETHE_REGISTRY_PRIVATE_H */
