/* Lethe — opening plugin files and checking what they export.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A plugin is opened with every symbol resolved at once (RTLD_NOW), so a
 * missing dependency is reported when the file is scanned, naming the
 * symbol, rather than as a crash in the middle of a run.  Its descriptor
 * must carry the core's ABI major and a minor that is not newer (the rule
 * of gst_plugin_check_version()).
 */
#include "registry-private.h"

#include <lethe/model.h>
#include <string.h>
#include <sys/stat.h>

gboolean
lethe_plugin_check_trust(const char *path, gboolean is_dir, GError **error)
{
  struct stat st;

  if (stat(path, &st) != 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND, "cannot read %s '%s': %s",
                is_dir ? "plugin folder" : "plugin file", path, g_strerror(errno));
    return FALSE;
  }
  /* Anyone could replace code in a file or folder others may write. */
  if (st.st_mode & S_IWOTH) {
    if (is_dir)
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                  "plugin folder '%s' is writable by others (mode %04o): refusing every plugin "
                  "in it; fix with: chmod o-w '%s'",
                  path, (unsigned)(st.st_mode & 07777), path);
    else
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                  "plugin file '%s' is writable by others (mode %04o): refusing to load it; "
                  "fix with: chmod o-w '%s'",
                  path, (unsigned)(st.st_mode & 07777), path);
    return FALSE;
  }
  return TRUE;
}

gboolean
lethe_plugin_info_check(const LethePluginInfo *info, const char *path, GError **error)
{
  if (info == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                "%s() in '%s' returned NULL instead of its plugin descriptor", LETHE_PLUGIN_SYMBOL,
                path);
    return FALSE;
  }
  if (info->abi_major != LETHE_ABI_MAJOR) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                "plugin '%s' in '%s' was built for plugin ABI %u.%u but this Lethe has ABI "
                "%u.%u (the major versions must be equal): rebuild it against this Lethe",
                info->name ? info->name : "?", path, info->abi_major, info->abi_minor,
                LETHE_ABI_MAJOR, LETHE_ABI_MINOR);
    return FALSE;
  }
  if (info->abi_minor > LETHE_ABI_MINOR) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                "plugin '%s' in '%s' was built for plugin ABI %u.%u, newer than this Lethe's "
                "ABI %u.%u: upgrade Lethe or rebuild the plugin against this one",
                info->name ? info->name : "?", path, info->abi_major, info->abi_minor,
                LETHE_ABI_MAJOR, LETHE_ABI_MINOR);
    return FALSE;
  }
  if (info->name == NULL || info->name[0] == '\0') {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN, "plugin '%s' has no name in its descriptor",
                path);
    return FALSE;
  }
  for (const LetheNodeType *const *t = info->node_types; t && *t; t++) {
    if ((*t)->name == NULL || (*t)->name[0] == '\0') {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                  "plugin '%s' (%s) declares a node type without a name", info->name, path);
      return FALSE;
    }
    if ((guint)(*t)->kind > LETHE_NODE_SINK) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                  "node type '%s' of plugin '%s' (%s) has an unknown kind %d", (*t)->name,
                  info->name, path, (int)(*t)->kind);
      return FALSE;
    }
    if ((*t)->vtable == NULL || (*t)->vtable->process == NULL) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                  "node type '%s' of plugin '%s' (%s) has no process function", (*t)->name,
                  info->name, path);
      return FALSE;
    }
    for (const LetheParamSpec *p = (*t)->params; p && p->name; p++) {
      if (p->type > LETHE_PARAM_DOUBLE_LIST) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                    "parameter '%s' of node type '%s' (plugin '%s', %s) has an unknown type %d",
                    p->name, (*t)->name, info->name, path, (int)p->type);
        return FALSE;
      }
    }
  }
  for (const LetheModelKind *const *k = info->model_kinds; k && *k; k++) {
    if ((*k)->name == NULL || (*k)->forward == NULL) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                  "plugin '%s' (%s) declares a model kind without a name or forward function",
                  info->name, path);
      return FALSE;
    }
  }
  return TRUE;
}

GModule *
lethe_plugin_open(const char *path, const LethePluginInfo **info_out, GError **error)
{
  const LethePluginInfo *(*get_info)(void) = NULL;

  /* No G_MODULE_BIND_LAZY: resolve every symbol now, so an unresolved one
   * is reported here, with its name. */
  GModule *module = g_module_open(path, G_MODULE_BIND_LOCAL);
  if (module == NULL) {
    /* dlerror() text usually starts with the path again. */
    const char *why = g_module_error();
    if (g_str_has_prefix(why, path) && g_str_has_prefix(why + strlen(path), ": "))
      why += strlen(path) + 2;
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                "cannot open plugin file '%s': %s (is it a shared object built for this system, "
                "with all its libraries installed?)",
                path, why);
    return NULL;
  }
  if (!g_module_symbol(module, LETHE_PLUGIN_SYMBOL, (gpointer *)&get_info) || get_info == NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PLUGIN,
                "'%s' is not a Lethe plugin: it does not export the symbol %s (define it with "
                "LETHE_PLUGIN_DEFINE)",
                path, LETHE_PLUGIN_SYMBOL);
    g_module_close(module);
    return NULL;
  }
  const LethePluginInfo *info = get_info();
  if (!lethe_plugin_info_check(info, path, error)) {
    g_module_close(module);
    return NULL;
  }
  /* Node types and model kinds point into the module: keep it for good. */
  g_module_make_resident(module);
  *info_out = info;
  return module;
}

static GVariant *
serialize_ports(const LethePortSpec *ports)
{
  GVariantBuilder b;

  g_variant_builder_init(&b, G_VARIANT_TYPE("a" LETHE_PORT_VARIANT));
  for (const LethePortSpec *p = ports; p && p->name; p++)
    g_variant_builder_add(&b, LETHE_PORT_VARIANT, p->name, p->schema, (guint32)p->flags, p->doc);
  return g_variant_builder_end(&b);
}

static GVariant *
serialize_params(const LetheParamSpec *params)
{
  GVariantBuilder b;

  g_variant_builder_init(&b, G_VARIANT_TYPE("a" LETHE_PARAM_VARIANT));
  for (const LetheParamSpec *p = params; p && p->name; p++) {
    const char *const no_choices[] = {NULL};
    GVariant *choices = g_variant_new_strv(p->choices ? p->choices : no_choices, -1);
    g_variant_builder_add(&b, "(sumsdd@asms)", p->name, (guint32)p->type, p->default_value, p->min,
                          p->max, choices, p->doc);
  }
  return g_variant_builder_end(&b);
}

GVariant *
lethe_plugin_info_serialize(const LethePluginInfo *info)
{
  GVariantBuilder types, kinds;

  g_return_val_if_fail(info != NULL, NULL);

  g_variant_builder_init(&types, G_VARIANT_TYPE("a" LETHE_NODE_VARIANT));
  for (const LetheNodeType *const *t = info->node_types; t && *t; t++) {
    const LetheNodeType *type = *t;
    g_variant_builder_add(
        &types, "(sums@a" LETHE_PORT_VARIANT "@a" LETHE_PORT_VARIANT "@a" LETHE_PARAM_VARIANT "ms)",
        type->name, (guint32)type->kind, type->description, serialize_ports(type->inputs),
        serialize_ports(type->outputs), serialize_params(type->params), type->doc);
  }
  g_variant_builder_init(&kinds, G_VARIANT_TYPE("a(sms)"));
  for (const LetheModelKind *const *k = info->model_kinds; k && *k; k++)
    g_variant_builder_add(&kinds, "(sms)", (*k)->name, (*k)->description);

  GVariant *v =
      g_variant_new(LETHE_PLUGIN_VARIANT, (guint32)info->abi_major, (guint32)info->abi_minor,
                    info->name, info->version, info->license, info->description, &types, &kinds);
  return g_variant_ref_sink(v);
}
