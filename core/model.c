/* Lethe — model kinds: dispatching a model frame to the code that runs it.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Kinds registered in this process (the core's own, tests) are looked up
 * first; otherwise the registry names the plugin whose cached metadata
 * lists the kind, and that plugin is loaded on first use.  A kind once
 * found stays registered for the life of the process.
 */
#include "registry-private.h"

#include <lethe/model.h>

static GMutex kinds_lock;
static GHashTable *kinds; /* name → const LetheModelKind * */

/* Called with kinds_lock held. */
static void
register_locked(const LetheModelKind *kind)
{
  if (kinds == NULL)
    kinds = g_hash_table_new(g_str_hash, g_str_equal);
  g_hash_table_replace(kinds, (gpointer)kind->name, (gpointer)kind);
}

/**
 * lethe_model_kind_register:
 * @kind: a kind that lives as long as the process
 *
 * Makes @kind known to this process; it replaces any kind of the same name
 * and takes precedence over plugins.
 */
void
lethe_model_kind_register(const LetheModelKind *kind)
{
  g_return_if_fail(kind != NULL);
  g_return_if_fail(kind->name != NULL && kind->forward != NULL);

  g_mutex_lock(&kinds_lock);
  register_locked(kind);
  g_mutex_unlock(&kinds_lock);
}

static void
set_unknown_kind_error(LetheRegistry *registry, const char *name, GError **error)
{
  g_autoptr(GStrvBuilder) names = g_strv_builder_new();

  g_mutex_lock(&kinds_lock);
  if (kinds) {
    GHashTableIter iter;
    gpointer key;
    g_hash_table_iter_init(&iter, kinds);
    while (g_hash_table_iter_next(&iter, &key, NULL))
      g_strv_builder_add(names, key);
  }
  g_mutex_unlock(&kinds_lock);
  GPtrArray *plugins = lethe_registry_get_plugins(registry);
  for (guint i = 0; i < plugins->len; i++) {
    const LethePluginRecord *r = g_ptr_array_index(plugins, i);
    for (guint j = 0; j < r->model_kinds->len; j++)
      g_strv_builder_add(names, g_ptr_array_index(r->model_kinds, j));
  }
  g_auto(GStrv) candidates = g_strv_builder_end(names);
  const char *hint = lethe_suggest(name, (const char *const *)candidates);
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "unknown model kind '%s'%s%s%s", name,
              hint ? "; did you mean '" : ": no plugin registers it (see `lethe inspect`)",
              hint ? hint : "", hint ? "'?" : "");
}

const LetheModelKind *
lethe_model_kind_lookup(const char *name, GError **error)
{
  g_return_val_if_fail(name != NULL, NULL);

  g_mutex_lock(&kinds_lock);
  const LetheModelKind *kind = kinds ? g_hash_table_lookup(kinds, name) : NULL;
  g_mutex_unlock(&kinds_lock);
  if (kind)
    return kind;

  LetheRegistry *registry = lethe_registry_get_default();
  const LethePluginRecord *record = lethe_registry_find_model_kind_plugin(registry, name);
  if (record == NULL) {
    set_unknown_kind_error(registry, name, error);
    return NULL;
  }
  const LethePluginInfo *info = lethe_registry_load_plugin(registry, record, error);
  if (info == NULL)
    return NULL;
  for (const LetheModelKind *const *k = info->model_kinds; k && *k; k++) {
    if (g_str_equal((*k)->name, name)) {
      g_mutex_lock(&kinds_lock);
      /* Another thread may have got here first; either pointer is the same kind. */
      if (kinds == NULL || !g_hash_table_contains(kinds, name))
        register_locked(*k);
      kind = g_hash_table_lookup(kinds, name);
      g_mutex_unlock(&kinds_lock);
      return kind;
    }
  }
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
              "plugin '%s' (%s) no longer registers model kind '%s'; run `lethe registry "
              "--update` or start again",
              record->name, record->path, name);
  return NULL;
}

static const LetheModelKind *
kind_of_frame(const LetheFrame *model, GError **error)
{
  const char *name = lethe_frame_get_meta_string(model, "model-kind", NULL);
  if (name == NULL || name[0] == '\0') {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "the model frame has no \"model-kind\" metadata, so it cannot be run: the node "
                "that produced it must set it (e.g. \"sequential\")");
    return NULL;
  }
  return lethe_model_kind_lookup(name, error);
}

gboolean
lethe_model_forward(const LetheFrame *model, LetheTensor *x, LetheTensor **out, GError **error)
{
  g_return_val_if_fail(model != NULL, FALSE);
  g_return_val_if_fail(x != NULL, FALSE);
  g_return_val_if_fail(out != NULL, FALSE);

  const LetheModelKind *kind = kind_of_frame(model, error);
  if (kind == NULL)
    return FALSE;
  return kind->forward(model, x, out, error);
}

gboolean
lethe_model_loss_grad(const LetheFrame *model, LetheTensor *x, LetheTensor *y, LetheFrame **grads,
                      double *loss, GError **error)
{
  g_return_val_if_fail(model != NULL, FALSE);
  g_return_val_if_fail(x != NULL && y != NULL, FALSE);

  const LetheModelKind *kind = kind_of_frame(model, error);
  if (kind == NULL)
    return FALSE;
  if (kind->loss_grad == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED,
                "model kind '%s' has no backward pass (loss_grad): a method that needs gradients "
                "cannot use it",
                kind->name);
    return FALSE;
  }
  return kind->loss_grad(model, x, y, grads, loss, error);
}
