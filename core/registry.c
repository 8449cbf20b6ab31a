/* Lethe — the plugin registry.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The registry walks the plugin search path (paths.c) and learns what each
 * file provides without opening it in this process: from a pre-generated
 * cache next to the plugins, from the per-user cache, or, for a new or
 * changed file, by running lethe-plugin-scanner on it in a child process,
 * so that a plugin crashing at load time takes down only the scanner.  A
 * plugin file is dlopen()ed here only when one of its node types or model
 * kinds is actually needed (lethe_registry_load_node_type()).  See
 * docs/registry.md.
 */
#include "registry-private.h"

#include <fcntl.h>
#include <lethe/model.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_SCANNER_TIMEOUT_S 30
#define STATIC_PATH               "(static)"

/* One plugin file (or static plugin, or refused folder).  @pub comes first
 * so a LethePluginRecord * is a Record *. */
typedef struct {
  LethePluginRecord pub;
  GStringChunk *strings;
  GPtrArray *blocks;           /* g_free()d with the record */
  LetheCacheEntry *entry;      /* the scan result, written back to the cache */
  gboolean from_user_cache;    /* @entry belongs in the per-user cache */
  const LethePluginInfo *info; /* once the file is loaded, or static */
} Record;

typedef struct {
  Record *record;
  const LetheNodeType *cached;
  const LetheNodeType *live;
} TypeEntry;

struct _LetheRegistry {
  gint ref_count;
  GMutex lock;
  GPtrArray *records;       /* Record *, owned */
  GPtrArray *plugins;       /* LethePluginRecord *, usable */
  GPtrArray *failed;        /* LethePluginRecord *, refused */
  GHashTable *types;        /* name → TypeEntry */
  GHashTable *plugin_names; /* name → Record */
  GHashTable *opened;       /* path → const LethePluginInfo *, files dlopen()ed here */
  guint n_loaded;
  guint n_scanned;
  char *scanner;      /* NULL when missing: scan in process */
  gboolean allowlist; /* LETHE_PLUGIN_ALLOWLIST is set */
};

/* ---- names of enums --------------------------------------------------- */

const char *
lethe_node_kind_name(LetheNodeKind kind)
{
  static const char *const names[] = {
      [LETHE_NODE_SOURCE] = "source",       [LETHE_NODE_TRANSFORM] = "transform",
      [LETHE_NODE_AUGMENTER] = "augmenter", [LETHE_NODE_LEARNER] = "learner",
      [LETHE_NODE_UNLEARNER] = "unlearner", [LETHE_NODE_EVALUATOR] = "evaluator",
      [LETHE_NODE_SINK] = "sink",
  };
  if ((guint)kind < G_N_ELEMENTS(names))
    return names[kind];
  return "unknown";
}

const char *
lethe_param_type_name(LetheParamType type)
{
  static const char *const names[] = {
      [LETHE_PARAM_BOOL] = "bool",         [LETHE_PARAM_INT] = "int",
      [LETHE_PARAM_DOUBLE] = "double",     [LETHE_PARAM_STRING] = "string",
      [LETHE_PARAM_ENUM] = "enum",         [LETHE_PARAM_PATH] = "path",
      [LETHE_PARAM_INT_LIST] = "int-list", [LETHE_PARAM_DOUBLE_LIST] = "double-list",
  };
  if ((guint)type < G_N_ELEMENTS(names))
    return names[type];
  return "unknown";
}

/* ---- records ---------------------------------------------------------- */

static Record *
record_new(const char *path)
{
  Record *r = g_new0(Record, 1);
  r->strings = g_string_chunk_new(256);
  r->blocks = g_ptr_array_new_with_free_func(g_free);
  r->pub.path = g_string_chunk_insert(r->strings, path);
  r->pub.node_types = g_ptr_array_new();
  r->pub.model_kinds = g_ptr_array_new();
  return r;
}

static void
record_free(Record *r)
{
  g_ptr_array_unref(r->pub.node_types);
  g_ptr_array_unref(r->pub.model_kinds);
  g_ptr_array_unref(r->blocks);
  g_string_chunk_free(r->strings);
  lethe_cache_entry_free(r->entry);
  g_free(r);
}

static char *
record_strdup(Record *r, const char *s)
{
  return s ? g_string_chunk_insert_const(r->strings, s) : NULL;
}

static gpointer
record_alloc(Record *r, gsize n, gsize size)
{
  gpointer p = g_malloc0_n(n, size);
  g_ptr_array_add(r->blocks, p);
  return p;
}

static void
record_set_failure(Record *r, const char *failure)
{
  r->pub.failure = record_strdup(r, failure);
}

static const LethePortSpec *
materialize_ports(Record *r, GVariant *ports)
{
  gsize n = g_variant_n_children(ports);
  LethePortSpec *out = record_alloc(r, n + 1, sizeof *out);

  for (gsize i = 0; i < n; i++) {
    const char *name, *schema, *doc;
    guint32 flags;
    g_variant_get_child(ports, i, "(&sm&sum&s)", &name, &schema, &flags, &doc);
    out[i].name = record_strdup(r, name);
    out[i].schema = record_strdup(r, schema ? schema : "any");
    out[i].flags = flags;
    out[i].doc = record_strdup(r, doc);
  }
  return out;
}

static gboolean
materialize_params(Record *r, GVariant *params, const LetheParamSpec **result)
{
  gsize n = g_variant_n_children(params);
  LetheParamSpec *out = record_alloc(r, n + 1, sizeof *out);

  for (gsize i = 0; i < n; i++) {
    const char *name, *def, *doc;
    guint32 type;
    double min, max;
    g_autoptr(GVariant) choices = NULL;
    g_variant_get_child(params, i, "(&sum&sdd@asm&s)", &name, &type, &def, &min, &max, &choices,
                        &doc);
    if (type > LETHE_PARAM_DOUBLE_LIST)
      return FALSE;
    out[i].name = record_strdup(r, name);
    out[i].type = type;
    out[i].default_value = record_strdup(r, def);
    out[i].min = min;
    out[i].max = max;
    out[i].doc = record_strdup(r, doc);
    gsize n_choices = g_variant_n_children(choices);
    if (n_choices > 0) {
      const char **c = record_alloc(r, n_choices + 1, sizeof *c);
      for (gsize j = 0; j < n_choices; j++) {
        const char *choice;
        g_variant_get_child(choices, j, "&s", &choice);
        c[j] = record_strdup(r, choice);
      }
      out[i].choices = c;
    }
  }
  *result = out;
  return TRUE;
}

/* Fills @r from its metadata.  FALSE when the values are impossible (a
 * damaged cache entry). */
static gboolean
record_fill(Record *r, GVariant *meta)
{
  guint32 abi_major, abi_minor;
  const char *name, *version, *license, *description;
  g_autoptr(GVariant) types = NULL;
  g_autoptr(GVariant) kinds = NULL;

  g_variant_get(meta, "(uu&sm&sm&sm&s@a" LETHE_NODE_VARIANT "@a(sms))", &abi_major, &abi_minor,
                &name, &version, &license, &description, &types, &kinds);
  if (name[0] == '\0')
    return FALSE;
  r->pub.abi_major = abi_major;
  r->pub.abi_minor = abi_minor;
  r->pub.name = record_strdup(r, name);
  r->pub.version = record_strdup(r, version);
  r->pub.license = record_strdup(r, license);
  r->pub.description = record_strdup(r, description);

  gsize n = g_variant_n_children(types);
  for (gsize i = 0; i < n; i++) {
    const char *tname, *tdesc, *tdoc;
    guint32 kind;
    g_autoptr(GVariant) inputs = NULL;
    g_autoptr(GVariant) outputs = NULL;
    g_autoptr(GVariant) params = NULL;
    g_variant_get_child(types, i,
                        "(&sum&s@a" LETHE_PORT_VARIANT "@a" LETHE_PORT_VARIANT
                        "@a" LETHE_PARAM_VARIANT "m&s)",
                        &tname, &kind, &tdesc, &inputs, &outputs, &params, &tdoc);
    if (tname[0] == '\0' || kind > LETHE_NODE_SINK)
      return FALSE;
    LetheNodeType *t = record_alloc(r, 1, sizeof *t);
    t->name = record_strdup(r, tname);
    t->kind = kind;
    t->description = record_strdup(r, tdesc);
    t->inputs = materialize_ports(r, inputs);
    t->outputs = materialize_ports(r, outputs);
    if (!materialize_params(r, params, &t->params))
      return FALSE;
    t->doc = record_strdup(r, tdoc);
    g_ptr_array_add(r->pub.node_types, t);
  }
  n = g_variant_n_children(kinds);
  for (gsize i = 0; i < n; i++) {
    const char *kname;
    g_variant_get_child(kinds, i, "(&sm&s)", &kname, NULL);
    g_ptr_array_add(r->pub.model_kinds, record_strdup(r, kname));
  }
  return TRUE;
}

/* ---- scanning --------------------------------------------------------- */

static void
scanner_child_setup(gpointer data)
{
  /* A plugin that crashes is reported, not dumped. */
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
}

static guint
scanner_timeout(void)
{
  const char *env = g_getenv("LETHE_SCANNER_TIMEOUT");
  guint64 s = env ? g_ascii_strtoull(env, NULL, 10) : 0;
  return s > 0 ? (guint)s : DEFAULT_SCANNER_TIMEOUT_S;
}

/* Reads the child's stdout and stderr until both close or the deadline. */
static gboolean
drain_child(int out_fd, int err_fd, GByteArray *out, GString *err, gint64 deadline)
{
  struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  guint8 buf[16384];

  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    gint64 left = (deadline - g_get_monotonic_time()) / 1000;
    if (left <= 0)
      return FALSE;
    int n = poll(fds, 2, (int)MIN(left, G_MAXINT));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return FALSE;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || fds[i].revents == 0)
        continue;
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0) {
        fds[i].fd = -1;
        continue;
      }
      if (i == 0)
        g_byte_array_append(out, buf, (guint)got);
      else if (err->len < 4096)
        g_string_append_len(err, (const char *)buf, got);
    }
  }
  return TRUE;
}

static GVariant *
scan_in_child(const char *scanner, const char *path, GError **error)
{
  const char *argv[] = {scanner, path, NULL};
  GPid pid;
  int out_fd = -1, err_fd = -1, status = 0;
  g_autoptr(GError) spawn_error = NULL;

  if (!g_spawn_async_with_pipes(
          NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL,
          scanner_child_setup, NULL, &pid, NULL, &out_fd, &err_fd, &spawn_error)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN, "cannot run the plugin scanner '%s': %s",
                scanner, spawn_error->message);
    return NULL;
  }
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_autoptr(GString) err = g_string_new(NULL);
  guint timeout = scanner_timeout();
  gboolean finished =
      drain_child(out_fd, err_fd, out, err, g_get_monotonic_time() + timeout * G_TIME_SPAN_SECOND);
  if (!finished)
    kill(pid, SIGKILL);
  close(out_fd);
  close(err_fd);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  g_spawn_close_pid(pid);
  g_strchomp(err->str);

  if (!finished) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                "plugin file '%s' did not finish loading within %u s (set LETHE_SCANNER_TIMEOUT "
                "to wait longer)",
                path, timeout);
    return NULL;
  }
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                "plugin file '%s' crashed while loading (signal %d, %s)%s%s", path, sig,
                g_strsignal(sig), err->len ? ": " : "", err->str);
    return NULL;
  }
  gsize magic = strlen(LETHE_SCANNER_MAGIC);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || out->len < magic ||
      memcmp(out->data, LETHE_SCANNER_MAGIC, magic) != 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                "the plugin scanner failed on '%s' (exit status %d)%s%s", path,
                WIFEXITED(status) ? WEXITSTATUS(status) : -1, err->len ? ": " : "", err->str);
    return NULL;
  }
  g_autoptr(GBytes) body = g_bytes_new(out->data + magic, out->len - magic);
  g_autoptr(GVariant) result = g_variant_ref_sink(
      g_variant_new_from_bytes(G_VARIANT_TYPE(LETHE_SCANNER_VARIANT), body, FALSE));
  if (!g_variant_is_normal_form(result)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                "the plugin scanner wrote damaged metadata for '%s'", path);
    return NULL;
  }
  const char *failure;
  GVariant *meta = NULL;
  g_variant_get(result, "(&sm@" LETHE_PLUGIN_VARIANT ")", &failure, &meta);
  if (failure[0] || meta == NULL) {
    g_set_error_literal(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                        failure[0] ? failure : "the plugin scanner returned no metadata");
    g_clear_pointer(&meta, g_variant_unref);
    return NULL;
  }
  return meta;
}

/* The fallback without a scanner: open the file here.  It stays open, so
 * a later load does not open it again. */
static GVariant *
scan_in_process(LetheRegistry *registry, const char *path, GError **error)
{
  const LethePluginInfo *info = NULL;

  GModule *module = lethe_plugin_open(path, &info, error);
  registry->n_loaded++;
  if (module == NULL)
    return NULL;
  g_hash_table_replace(registry->opened, g_strdup(path), (gpointer)info);
  return lethe_plugin_info_serialize(info);
}

GVariant *
lethe_registry_scan_file(LetheRegistry *registry, const char *path, GError **error)
{
  registry->n_scanned++;
  if (registry->scanner)
    return scan_in_child(registry->scanner, path, error);
  return scan_in_process(registry, path, error);
}

/* ---- building the registry -------------------------------------------- */

typedef struct {
  GHashTable *user; /* path → LetheCacheEntry, the per-user cache */
  GHashTable *dir;  /* the folder's pre-generated cache, or NULL */
  gboolean user_dirty;
  GStrv allowlist; /* NULL: everything allowed */
} ScanState;

static gboolean
entry_matches(const LetheCacheEntry *e, const struct stat *st)
{
  guint64 mtime =
      (guint64)st->st_mtim.tv_sec * G_GUINT64_CONSTANT(1000000000) + (guint64)st->st_mtim.tv_nsec;
  return e->size == (guint64)st->st_size && e->mtime_ns == mtime &&
         (e->inode == 0 || e->inode == (guint64)st->st_ino);
}

static void
add_record(LetheRegistry *registry, Record *r)
{
  g_ptr_array_add(registry->records, r);
  if (r->pub.failure) {
    g_ptr_array_add(registry->failed, &r->pub);
    return;
  }
  g_ptr_array_add(registry->plugins, &r->pub);
  g_hash_table_insert(registry->plugin_names, r->pub.name, r);
  for (guint i = 0; i < r->pub.node_types->len; i++) {
    const LetheNodeType *t = g_ptr_array_index(r->pub.node_types, i);
    TypeEntry *old = g_hash_table_lookup(registry->types, t->name);
    /* Earlier on the search path wins, as for plugins. */
    if (old && !r->info) {
      g_debug("node type '%s' of %s is shadowed by %s", t->name, r->pub.path,
              old->record->pub.path);
      continue;
    }
    TypeEntry *e = g_new0(TypeEntry, 1);
    e->record = r;
    e->cached = t;
    e->live = r->info ? t : NULL;
    g_hash_table_replace(registry->types, (gpointer)t->name, e);
  }
}

static void
scan_file(LetheRegistry *registry, ScanState *state, const char *path)
{
  struct stat st;
  g_autoptr(GError) error = NULL;
  Record *r = record_new(path);

  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
    record_free(r);
    return;
  }
  if (!lethe_plugin_check_trust(path, FALSE, &error)) {
    record_set_failure(r, error->message);
    add_record(registry, r);
    return;
  }

  /* The pre-generated cache of the folder first, then the user's. */
  LetheCacheEntry *hit = state->dir ? g_hash_table_lookup(state->dir, path) : NULL;
  if (hit && !entry_matches(hit, &st))
    hit = NULL;
  if (hit == NULL) {
    hit = g_hash_table_lookup(state->user, path);
    if (hit && !entry_matches(hit, &st))
      hit = NULL;
    r->from_user_cache = hit != NULL;
  }

  LetheCacheEntry *entry = g_new0(LetheCacheEntry, 1);
  entry->path = g_strdup(path);
  entry->size = (guint64)st.st_size;
  entry->mtime_ns =
      (guint64)st.st_mtim.tv_sec * G_GUINT64_CONSTANT(1000000000) + (guint64)st.st_mtim.tv_nsec;
  entry->inode = (guint64)st.st_ino;
  if (hit) {
    entry->failure = g_strdup(hit->failure);
    entry->meta = hit->meta ? g_variant_ref(hit->meta) : NULL;
  } else if (!registry->scanner && registry->allowlist) {
    /* The allowlist is checked against the name in the metadata: opening
     * the file here to read it would already run its code.  Not cached. */
    g_autofree char *why = g_strdup_printf(
        "plugin file '%s' cannot be checked against LETHE_PLUGIN_ALLOWLIST without the plugin "
        "scanner (install lethe-plugin-scanner or set LETHE_SCANNER)",
        path);
    lethe_cache_entry_free(entry);
    record_set_failure(r, why);
    add_record(registry, r);
    return;
  } else {
    g_autoptr(GError) scan_error = NULL;
    entry->meta = lethe_registry_scan_file(registry, path, &scan_error);
    if (entry->meta == NULL)
      entry->failure = g_strdup(scan_error->message);
    r->from_user_cache = TRUE;
    state->user_dirty = TRUE;
  }
  r->entry = entry;

  if (entry->failure) {
    record_set_failure(r, entry->failure);
  } else if (!record_fill(r, entry->meta)) {
    if (hit) {
      /* A damaged cache entry: start this file over from a scan. */
      record_free(r);
      g_hash_table_remove(state->user, path);
      if (state->dir)
        g_hash_table_remove(state->dir, path);
      state->user_dirty = TRUE;
      scan_file(registry, state, path);
      return;
    }
    record_free(r);
    r = record_new(path);
    g_autofree char *why = g_strdup_printf("plugin file '%s' has unusable metadata", path);
    record_set_failure(r, why);
  } else if (state->allowlist &&
             !g_strv_contains((const char *const *)state->allowlist, r->pub.name)) {
    g_autofree char *why =
        g_strdup_printf("plugin '%s' in '%s' is not in LETHE_PLUGIN_ALLOWLIST", r->pub.name, path);
    record_set_failure(r, why);
  } else {
    Record *first = g_hash_table_lookup(registry->plugin_names, r->pub.name);
    if (first) {
      g_autofree char *why = g_strdup_printf(
          "plugin '%s' in '%s' is shadowed by '%s', found earlier on the search path", r->pub.name,
          path, first->pub.path);
      record_set_failure(r, why);
    }
  }
  add_record(registry, r);
}

static int
compare_names(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
scan_dir(LetheRegistry *registry, ScanState *state, const char *dir)
{
  g_autoptr(GError) error = NULL;

  if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
    return;
  if (!lethe_plugin_check_trust(dir, TRUE, &error)) {
    Record *r = record_new(dir);
    record_set_failure(r, error->message);
    add_record(registry, r);
    return;
  }
  g_autoptr(GDir) d = g_dir_open(dir, 0, &error);
  if (d == NULL) {
    g_debug("skipping plugin folder: %s", error->message);
    return;
  }
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(d)))
    if (g_str_has_suffix(name, "." G_MODULE_SUFFIX))
      g_ptr_array_add(names, g_strdup(name));
  g_ptr_array_sort(names, compare_names);

  g_autofree char *dir_cache = g_build_filename(dir, "registry.bin", NULL);
  state->dir = NULL;
  if (g_file_test(dir_cache, G_FILE_TEST_EXISTS)) {
    g_autoptr(GError) cache_error = NULL;
    state->dir = lethe_registry_cache_read(dir_cache, TRUE, &cache_error);
    if (state->dir == NULL)
      g_debug("ignoring pre-generated cache: %s", cache_error->message);
  }
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *path = g_build_filename(dir, g_ptr_array_index(names, i), NULL);
    scan_file(registry, state, path);
  }
  g_clear_pointer(&state->dir, g_hash_table_unref);
}

static void
write_user_cache(LetheRegistry *registry, ScanState *state, const char *file)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new();
  g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

  for (guint i = 0; i < registry->records->len; i++) {
    Record *r = g_ptr_array_index(registry->records, i);
    if (r->entry && r->from_user_cache) {
      g_ptr_array_add(entries, r->entry);
      g_hash_table_add(seen, r->entry->path);
    }
  }
  /* Keep what other search paths found, as long as the file exists. */
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init(&iter, state->user);
  while (g_hash_table_iter_next(&iter, &key, &value))
    if (!g_hash_table_contains(seen, key) && g_file_test(key, G_FILE_TEST_EXISTS))
      g_ptr_array_add(entries, value);

  g_autoptr(GError) error = NULL;
  if (!lethe_registry_cache_write(file, entries, FALSE, &error))
    g_debug("cannot write the registry cache: %s", error->message);
}

static GStrv
read_allowlist(void)
{
  const char *env = g_getenv("LETHE_PLUGIN_ALLOWLIST");
  if (env == NULL || env[0] == '\0')
    return NULL;
  GStrv items = g_strsplit(env, ",", -1);
  for (char **p = items; *p; p++)
    g_strstrip(*p);
  return items;
}

static LetheRegistry *
registry_alloc(void)
{
  LetheRegistry *registry = g_new0(LetheRegistry, 1);
  registry->ref_count = 1;
  g_mutex_init(&registry->lock);
  registry->records = g_ptr_array_new_with_free_func((GDestroyNotify)record_free);
  registry->plugins = g_ptr_array_new();
  registry->failed = g_ptr_array_new();
  registry->types = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
  registry->plugin_names = g_hash_table_new(g_str_hash, g_str_equal);
  registry->opened = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  return registry;
}

/**
 * lethe_registry_new:
 * @extra_paths: (nullable) (array zero-terminated=1): folders searched
 *   first (`--plugin-path`); each must exist
 * @error: set when an extra path is not a folder
 *
 * Walks the search path, taking what it can from the caches and scanning
 * new or changed files in a child process; writes the per-user cache back
 * when it learned something.
 *
 * Returns: (transfer full): a new registry
 */
LetheRegistry *
lethe_registry_new(const char *const *extra_paths, GError **error)
{
  for (const char *const *p = extra_paths; p && *p; p++) {
    if (!g_file_test(*p, G_FILE_TEST_IS_DIR)) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                  "plugin folder '%s' does not exist or is not a folder", *p);
      return NULL;
    }
  }

  LetheRegistry *registry = registry_alloc();
  g_autofree char *scanner = lethe_plugin_scanner_path();
  if (g_file_test(scanner, G_FILE_TEST_IS_EXECUTABLE))
    registry->scanner = g_steal_pointer(&scanner);
  else
    g_debug("plugin scanner '%s' not found: scanning plugins in process", scanner);

  g_autofree char *user_cache = lethe_registry_user_cache_path();
  ScanState state = {0};
  g_autoptr(GError) cache_error = NULL;
  state.user = lethe_registry_cache_read(user_cache, FALSE, &cache_error);
  if (state.user == NULL) {
    g_debug("rebuilding the registry cache: %s", cache_error->message);
    state.user = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify)lethe_cache_entry_free);
    /* A damaged or foreign file is replaced even if nothing changed. */
    state.user_dirty = g_file_test(user_cache, G_FILE_TEST_EXISTS);
  }
  state.allowlist = read_allowlist();
  registry->allowlist = state.allowlist != NULL;

  g_autoptr(GPtrArray) dirs = lethe_plugin_search_dirs(extra_paths);
  for (guint i = 0; i < dirs->len; i++)
    scan_dir(registry, &state, g_ptr_array_index(dirs, i));

  if (state.user_dirty)
    write_user_cache(registry, &state, user_cache);
  g_hash_table_unref(state.user);
  g_strfreev(state.allowlist);
  return registry;
}

/**
 * lethe_registry_get_default:
 * The process-wide registry over the default search path, created on first
 * use.
 * Returns: (transfer none)
 */
LetheRegistry *
lethe_registry_get_default(void)
{
  static LetheRegistry *registry;

  if (g_once_init_enter(&registry)) {
    g_autoptr(GError) error = NULL;
    LetheRegistry *r = lethe_registry_new(NULL, &error);
    if (r == NULL) {
      g_warning("%s", error->message);
      r = registry_alloc();
    }
    g_once_init_leave(&registry, r);
  }
  return registry;
}

LetheRegistry *
lethe_registry_ref(LetheRegistry *registry)
{
  g_return_val_if_fail(registry != NULL, NULL);
  g_atomic_int_inc(&registry->ref_count);
  return registry;
}

void
lethe_registry_unref(LetheRegistry *registry)
{
  if (registry == NULL || !g_atomic_int_dec_and_test(&registry->ref_count))
    return;
  g_hash_table_unref(registry->types);
  g_hash_table_unref(registry->plugin_names);
  g_hash_table_unref(registry->opened);
  g_ptr_array_unref(registry->plugins);
  g_ptr_array_unref(registry->failed);
  g_ptr_array_unref(registry->records);
  g_mutex_clear(&registry->lock);
  g_free(registry->scanner);
  g_free(registry);
}

GPtrArray *
lethe_registry_get_plugins(LetheRegistry *registry)
{
  g_return_val_if_fail(registry != NULL, NULL);
  return registry->plugins;
}

GPtrArray *
lethe_registry_get_failed(LetheRegistry *registry)
{
  g_return_val_if_fail(registry != NULL, NULL);
  return registry->failed;
}

const LetheNodeType *
lethe_registry_find_node_type(LetheRegistry *registry, const char *name,
                              const LethePluginRecord **plugin)
{
  const LetheNodeType *type = NULL;

  g_return_val_if_fail(registry != NULL, NULL);
  g_return_val_if_fail(name != NULL, NULL);

  g_mutex_lock(&registry->lock);
  TypeEntry *e = g_hash_table_lookup(registry->types, name);
  if (e) {
    type = e->live ? e->live : e->cached;
    if (plugin)
      *plugin = &e->record->pub;
  } else if (plugin) {
    *plugin = NULL;
  }
  g_mutex_unlock(&registry->lock);
  return type;
}

/* Called with the lock held. */
static const LethePluginInfo *
load_record(LetheRegistry *registry, Record *r, GError **error)
{
  const LethePluginInfo *info;

  if (r->info)
    return r->info;
  if (r->pub.failure) {
    g_set_error_literal(error, LETHE_ERROR, LETHE_ERROR_PLUGIN, r->pub.failure);
    return NULL;
  }
  info = g_hash_table_lookup(registry->opened, r->pub.path);
  if (info == NULL) {
    /* The file may have changed since it was scanned: check it again. */
    if (!lethe_plugin_check_trust(r->pub.path, FALSE, error))
      return NULL;
    registry->n_loaded++;
    if (lethe_plugin_open(r->pub.path, &info, error) == NULL)
      return NULL;
    g_hash_table_replace(registry->opened, g_strdup(r->pub.path), (gpointer)info);
  }
  if (!g_str_equal(info->name, r->pub.name)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                "plugin file '%s' now provides plugin '%s', not '%s' as when it was scanned; "
                "run `lethe registry --update` or start again",
                r->pub.path, info->name, r->pub.name);
    return NULL;
  }
  r->info = info;
  return info;
}

const LetheNodeType *
lethe_registry_load_node_type(LetheRegistry *registry, const char *name, GError **error)
{
  const LetheNodeType *result = NULL;

  g_return_val_if_fail(registry != NULL, NULL);
  g_return_val_if_fail(name != NULL, NULL);

  g_mutex_lock(&registry->lock);
  TypeEntry *e = g_hash_table_lookup(registry->types, name);
  if (e == NULL) {
    g_mutex_unlock(&registry->lock);
    g_auto(GStrv) names = lethe_registry_get_node_type_names(registry);
    const char *hint = lethe_suggest(name, (const char *const *)names);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "no node type named '%s'%s%s%s", name,
                hint ? "; did you mean '" : " (see `lethe inspect`)", hint ? hint : "",
                hint ? "'?" : "");
    return NULL;
  }
  if (e->live) {
    result = e->live;
    goto out;
  }
  const LethePluginInfo *info = load_record(registry, e->record, error);
  if (info == NULL)
    goto out;
  for (const LetheNodeType *const *t = info->node_types; t && *t; t++) {
    if (g_str_equal((*t)->name, name)) {
      e->live = *t;
      result = *t;
      goto out;
    }
  }
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
              "plugin '%s' (%s) no longer provides node type '%s'; run `lethe registry "
              "--update` or start again",
              e->record->pub.name, e->record->pub.path, name);
out:
  g_mutex_unlock(&registry->lock);
  return result;
}

const LethePluginRecord *
lethe_registry_find_model_kind_plugin(LetheRegistry *registry, const char *kind)
{
  g_return_val_if_fail(registry != NULL, NULL);
  g_return_val_if_fail(kind != NULL, NULL);

  for (guint i = 0; i < registry->plugins->len; i++) {
    const LethePluginRecord *r = g_ptr_array_index(registry->plugins, i);
    for (guint j = 0; j < r->model_kinds->len; j++)
      if (g_str_equal(g_ptr_array_index(r->model_kinds, j), kind))
        return r;
  }
  return NULL;
}

const LethePluginInfo *
lethe_registry_load_plugin(LetheRegistry *registry, const LethePluginRecord *record, GError **error)
{
  g_return_val_if_fail(registry != NULL, NULL);
  g_return_val_if_fail(record != NULL, NULL);

  g_mutex_lock(&registry->lock);
  const LethePluginInfo *info = load_record(registry, (Record *)record, error);
  g_mutex_unlock(&registry->lock);
  return info;
}

GStrv
lethe_registry_get_node_type_names(LetheRegistry *registry)
{
  g_return_val_if_fail(registry != NULL, NULL);

  g_mutex_lock(&registry->lock);
  guint n = 0;
  const char **names = (const char **)g_hash_table_get_keys_as_array(registry->types, &n);
  g_mutex_unlock(&registry->lock);
  qsort(names, n, sizeof *names, compare_names);
  GStrv result = g_new0(char *, n + 1);
  for (guint i = 0; i < n; i++)
    result[i] = g_strdup(names[i]);
  g_free(names);
  return result;
}

guint
lethe_registry_get_n_loaded(LetheRegistry *registry)
{
  g_return_val_if_fail(registry != NULL, 0);
  return registry->n_loaded;
}

guint
lethe_registry_get_n_scanned(LetheRegistry *registry)
{
  g_return_val_if_fail(registry != NULL, 0);
  return registry->n_scanned;
}

/**
 * lethe_registry_register_static:
 * @info: a descriptor that outlives @registry
 *
 * Adds a plugin compiled into the caller.  Its node types replace those of
 * the same name found on the search path.
 */
void
lethe_registry_register_static(LetheRegistry *registry, const LethePluginInfo *info)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail(registry != NULL);
  g_return_if_fail(info != NULL);

  if (!lethe_plugin_info_check(info, info->name ? info->name : STATIC_PATH, &error)) {
    g_critical("lethe_registry_register_static: %s", error->message);
    return;
  }
  Record *r = record_new(STATIC_PATH);
  r->pub.abi_major = info->abi_major;
  r->pub.abi_minor = info->abi_minor;
  r->pub.name = record_strdup(r, info->name);
  r->pub.version = record_strdup(r, info->version);
  r->pub.license = record_strdup(r, info->license);
  r->pub.description = record_strdup(r, info->description);
  for (const LetheNodeType *const *t = info->node_types; t && *t; t++)
    g_ptr_array_add(r->pub.node_types, (gpointer)*t);
  for (const LetheModelKind *const *k = info->model_kinds; k && *k; k++)
    g_ptr_array_add(r->pub.model_kinds, record_strdup(r, (*k)->name));
  r->info = info;

  g_mutex_lock(&registry->lock);
  add_record(registry, r);
  g_mutex_unlock(&registry->lock);
}

/**
 * lethe_registry_write_cache:
 * @cache_file: where to write; plugin files in the same folder are named
 *   relative to it, so the folder can be moved (packages)
 *
 * Writes what @registry knows of its plugin files (metadata and failures
 * from scanning, not the trust checks, which are redone on every start).
 */
gboolean
lethe_registry_write_cache(LetheRegistry *registry, const char *cache_file, GError **error)
{
  g_return_val_if_fail(registry != NULL, FALSE);
  g_return_val_if_fail(cache_file != NULL, FALSE);

  g_autoptr(GPtrArray) entries = g_ptr_array_new();
  g_mutex_lock(&registry->lock);
  for (guint i = 0; i < registry->records->len; i++) {
    Record *r = g_ptr_array_index(registry->records, i);
    if (r->entry)
      g_ptr_array_add(entries, r->entry);
  }
  gboolean ok = lethe_registry_cache_write(cache_file, entries, TRUE, error);
  g_mutex_unlock(&registry->lock);
  return ok;
}
