/* Lethe — the plugin registry.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_REGISTRY_H
#define LETHE_REGISTRY_H

#include <lethe/plugin.h>

G_BEGIN_DECLS

/**
 * LetheRegistry:
 *
 * Every plugin file found on the search path, with its metadata, kept in
 * an on-disk cache (`$XDG_CACHE_HOME/lethe-1/registry.bin`) keyed by path,
 * size, mtime and inode.  Listing, inspecting and validating read the
 * cache only; a plugin's shared object is opened when a node of one of its
 * types is created (lethe_registry_load_node_type()).  Search order:
 * extra paths given to lethe_registry_new(), `LETHE_PLUGIN_PATH`,
 * `LETHE_PLUGIN_SYSTEM_PATH` (replaces the two defaults that follow),
 * `$XDG_DATA_HOME/lethe-1/plugins`, the system folder relative to where
 * liblethe is installed.  Files and folders writable by others are refused.
 * Thread-safe.  Opaque.
 */
typedef struct _LetheRegistry LetheRegistry;

/**
 * LethePluginRecord:
 * What the registry knows of one plugin file, from the cache or a scan.
 * @path: the file
 * @name, @version, @license, @description: from its LethePluginInfo
 *   (%NULL when it failed)
 * @abi_major, @abi_minor: the ABI it was built against
 * @failure: (nullable): why it could not be used, or %NULL
 * @node_types: (element-type LetheNodeType): cached node types; their
 *   @vtable is %NULL until the plugin is loaded
 * @model_kinds: (element-type utf8): names of the model kinds it registers
 */
typedef struct {
  char *path;
  char *name;
  char *version;
  char *license;
  char *description;
  guint abi_major;
  guint abi_minor;
  char *failure;
  GPtrArray *node_types;
  GPtrArray *model_kinds;
  /*< private >*/
  gpointer _lethe_reserved[4];
} LethePluginRecord;

/**
 * lethe_registry_new:
 * @extra_paths: (nullable): folders searched first (`--plugin-path`)
 * Scans the search path, using and refreshing the cache.
 * Returns: (transfer full)
 */
LetheRegistry *lethe_registry_new(const char *const *extra_paths, GError **error);
/** lethe_registry_get_default: (transfer none) a process-wide registry, created on first use. */
LetheRegistry *lethe_registry_get_default(void);
LetheRegistry *lethe_registry_ref(LetheRegistry *registry);
void lethe_registry_unref(LetheRegistry *registry);

/** lethe_registry_get_plugins: (transfer none) (element-type LethePluginRecord) usable plugins. */
GPtrArray *lethe_registry_get_plugins(LetheRegistry *registry);
/** lethe_registry_get_failed: (transfer none) (element-type LethePluginRecord) refused files. */
GPtrArray *lethe_registry_get_failed(LetheRegistry *registry);

/**
 * lethe_registry_find_node_type:
 * @plugin: (out) (optional) (transfer none): the record that provides it
 * Returns: (transfer none) (nullable): cached metadata (vtable %NULL unless loaded)
 */
const LetheNodeType *lethe_registry_find_node_type(LetheRegistry *registry, const char *name,
                                                   const LethePluginRecord **plugin);
/**
 * lethe_registry_load_node_type:
 * Opens the plugin providing @name (once) and returns its live node type.
 * Returns: (transfer none) (nullable)
 */
const LetheNodeType *lethe_registry_load_node_type(LetheRegistry *registry, const char *name,
                                                   GError **error);
/** lethe_registry_find_model_kind_plugin: (transfer none) (nullable) who registers @kind. */
const LethePluginRecord *lethe_registry_find_model_kind_plugin(LetheRegistry *registry,
                                                               const char *kind);
/** lethe_registry_load_plugin: opens @record's file; Returns: (transfer none) its info. */
const LethePluginInfo *lethe_registry_load_plugin(LetheRegistry *registry,
                                                  const LethePluginRecord *record, GError **error);
/** lethe_registry_get_node_type_names: (transfer full) every node type name, sorted. */
GStrv lethe_registry_get_node_type_names(LetheRegistry *registry);
/** lethe_registry_get_n_loaded: how many plugin files this process has opened (for tests). */
guint lethe_registry_get_n_loaded(LetheRegistry *registry);
/**
 * lethe_registry_register_static:
 * Adds a plugin compiled into the caller (tests, embedding programs).
 */
void lethe_registry_register_static(LetheRegistry *registry, const LethePluginInfo *info);

/**
 * lethe_registry_write_cache:
 * Writes the cache for @plugin_dir into @cache_file (atomically): used at
 * install or package time so a read-only system install never rescans.
 */
gboolean lethe_registry_write_cache(LetheRegistry *registry, const char *cache_file,
                                    GError **error);

/**
 * lethe_suggest:
 * @candidates: (array zero-terminated=1)
 * Returns: (transfer none) (nullable): the candidate closest to @name by
 * edit distance, if close enough to be a plausible typo.
 */
const char *lethe_suggest(const char *name, const char *const *candidates);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(LetheRegistry, lethe_registry_unref)

G_END_DECLS

#endif /* LETHE_REGISTRY_H */
