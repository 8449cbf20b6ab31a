/* lethe inspect — what plugins and node types there are, from the registry
 * cache alone: nothing is loaded to list or describe them.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   lethe inspect                 every plugin's node types and model kinds
 *   lethe inspect NODE-TYPE       one node type: ports and parameters
 *   lethe inspect PLUGIN          one plugin: its file and what it provides
 *   lethe inspect --failed        plugin files that were refused, and why
 */
#include "commands.h"

#include <lethe/lethe.h>
#include <stdio.h>
#include <string.h>

static int
compare_records(gconstpointer a, gconstpointer b)
{
  const LethePluginRecord *ra = *(const LethePluginRecord *const *)a;
  const LethePluginRecord *rb = *(const LethePluginRecord *const *)b;
  return strcmp(ra->name, rb->name);
}

static int
compare_types(gconstpointer a, gconstpointer b)
{
  const LetheNodeType *ta = *(const LetheNodeType *const *)a;
  const LetheNodeType *tb = *(const LetheNodeType *const *)b;
  return strcmp(ta->name, tb->name);
}

static GPtrArray *
sorted_plugins(LetheRegistry *registry)
{
  GPtrArray *plugins = lethe_registry_get_plugins(registry);
  GPtrArray *sorted = g_ptr_array_copy(plugins, NULL, NULL);
  g_ptr_array_sort(sorted, compare_records);
  return sorted;
}

static void
print_failed_hint(LetheRegistry *registry)
{
  guint n = lethe_registry_get_failed(registry)->len;
  if (n > 0)
    printf("%u plugin file%s refused: see `lethe inspect --failed`\n", n, n == 1 ? "" : "s");
}

static int
list_all(LetheRegistry *registry)
{
  g_autoptr(GPtrArray) plugins = sorted_plugins(registry);
  guint n_types = 0, n_kinds = 0;
  int width = 0;

  for (guint i = 0; i < plugins->len; i++) {
    const LethePluginRecord *r = g_ptr_array_index(plugins, i);
    for (guint j = 0; j < r->node_types->len; j++) {
      const LetheNodeType *t = g_ptr_array_index(r->node_types, j);
      width = MAX(width, (int)strlen(t->name));
    }
  }
  for (guint i = 0; i < plugins->len; i++) {
    const LethePluginRecord *r = g_ptr_array_index(plugins, i);
    g_autoptr(GPtrArray) types = g_ptr_array_copy(r->node_types, NULL, NULL);
    g_ptr_array_sort(types, compare_types);
    for (guint j = 0; j < types->len; j++) {
      const LetheNodeType *t = g_ptr_array_index(types, j);
      printf("%s:  %-*s  %-9s  %s\n", r->name, width, t->name, lethe_node_kind_name(t->kind),
             t->description ? t->description : "");
      n_types++;
    }
    for (guint j = 0; j < r->model_kinds->len; j++) {
      printf("%s:  %-*s  %-9s\n", r->name, width,
             (const char *)g_ptr_array_index(r->model_kinds, j), "model kind");
      n_kinds++;
    }
  }
  printf("\nTotal: %u plugin%s, %u node type%s, %u model kind%s\n", plugins->len,
         plugins->len == 1 ? "" : "s", n_types, n_types == 1 ? "" : "s", n_kinds,
         n_kinds == 1 ? "" : "s");
  print_failed_hint(registry);
  return 0;
}

static int
list_failed(LetheRegistry *registry)
{
  GPtrArray *failed = lethe_registry_get_failed(registry);

  if (failed->len == 0) {
    printf("No plugin file was refused.\n");
    return 0;
  }
  for (guint i = 0; i < failed->len; i++) {
    const LethePluginRecord *r = g_ptr_array_index(failed, i);
    printf("%s\n  %s\n", r->path, r->failure);
  }
  printf("\n%u plugin file%s refused\n", failed->len, failed->len == 1 ? "" : "s");
  return 0;
}

static void
print_plugin_fields(const LethePluginRecord *r)
{
  printf("  %-14s %s\n", "Name:", r->name);
  if (r->description)
    printf("  %-14s %s\n", "Description:", r->description);
  printf("  %-14s %s\n", "File:", r->path);
  printf("  %-14s %s\n", "Version:", r->version ? r->version : "(none)");
  printf("  %-14s %s\n", "License:", r->license ? r->license : "(none)");
  printf("  %-14s %u.%u\n", "ABI:", r->abi_major, r->abi_minor);
}

static void
print_ports(const char *title, const LethePortSpec *ports)
{
  printf("\n%s:\n", title);
  if (ports == NULL || ports->name == NULL) {
    printf("  none\n");
    return;
  }
  for (const LethePortSpec *p = ports; p->name; p++) {
    printf("  %-16s schema %s", p->name, p->schema ? p->schema : "any");
    if (p->flags & LETHE_PORT_STICKY)
      printf(", sticky");
    if (p->flags & LETHE_PORT_OPTIONAL)
      printf(", optional");
    printf("\n");
    if (p->doc)
      printf("  %-16s %s\n", "", p->doc);
  }
}

static void
print_param(const LetheParamSpec *p)
{
  g_autoptr(GString) line = g_string_new(lethe_param_type_name(p->type));
  gboolean numeric = p->type == LETHE_PARAM_INT || p->type == LETHE_PARAM_DOUBLE ||
                     p->type == LETHE_PARAM_INT_LIST || p->type == LETHE_PARAM_DOUBLE_LIST;

  if (numeric && p->min <= p->max) {
    gboolean list = p->type == LETHE_PARAM_INT_LIST || p->type == LETHE_PARAM_DOUBLE_LIST;
    g_string_append_printf(line, "%s in [%g, %g]", list ? ", each" : "", p->min, p->max);
  }
  if (p->choices) {
    g_autofree char *choices = g_strjoinv(", ", (char **)p->choices);
    g_string_append_printf(line, ", one of: %s", choices);
  }
  if (p->default_value == NULL)
    g_string_append(line, ". Required");
  else if (p->default_value[0] == '\0')
    g_string_append(line, ". Default: (empty)");
  else
    g_string_append_printf(line, ". Default: %s", p->default_value);
  printf("  %-16s %s\n", p->name, line->str);
  if (p->doc)
    printf("  %-16s %s\n", "", p->doc);
}

static int
show_node_type(const LetheNodeType *t, const LethePluginRecord *r)
{
  printf("Node type: %s\n", t->name);
  printf("  %-14s %s\n", "Kind:", lethe_node_kind_name(t->kind));
  if (t->description)
    printf("  %-14s %s\n", "Description:", t->description);
  if (t->doc)
    printf("\n  %s\n", t->doc);

  printf("\nPlugin:\n");
  print_plugin_fields(r);

  print_ports("Inputs", t->inputs);
  print_ports("Outputs", t->outputs);

  printf("\nParameters:\n");
  if (t->params == NULL || t->params->name == NULL)
    printf("  none\n");
  for (const LetheParamSpec *p = t->params; p && p->name; p++)
    print_param(p);
  return 0;
}

static int
show_plugin(const LethePluginRecord *r)
{
  printf("Plugin: %s\n", r->name);
  print_plugin_fields(r);
  printf("\nNode types:\n");
  g_autoptr(GPtrArray) types = g_ptr_array_copy(r->node_types, NULL, NULL);
  g_ptr_array_sort(types, compare_types);
  if (types->len == 0)
    printf("  none\n");
  for (guint i = 0; i < types->len; i++) {
    const LetheNodeType *t = g_ptr_array_index(types, i);
    printf("  %-16s %-9s  %s\n", t->name, lethe_node_kind_name(t->kind),
           t->description ? t->description : "");
  }
  if (r->model_kinds->len > 0) {
    printf("\nModel kinds:\n");
    for (guint i = 0; i < r->model_kinds->len; i++)
      printf("  %s\n", (const char *)g_ptr_array_index(r->model_kinds, i));
  }
  return 0;
}

static int
show_one(LetheRegistry *registry, const char *name)
{
  const LethePluginRecord *record = NULL;
  const LetheNodeType *t = lethe_registry_find_node_type(registry, name, &record);
  if (t)
    return show_node_type(t, record);

  GPtrArray *plugins = lethe_registry_get_plugins(registry);
  for (guint i = 0; i < plugins->len; i++) {
    const LethePluginRecord *r = g_ptr_array_index(plugins, i);
    if (g_str_equal(r->name, name))
      return show_plugin(r);
  }

  /* Not found: suggest among node types and plugins alike. */
  g_auto(GStrv) types = lethe_registry_get_node_type_names(registry);
  g_autoptr(GStrvBuilder) names = g_strv_builder_new();
  g_strv_builder_addv(names, (const char **)types);
  for (guint i = 0; i < plugins->len; i++)
    g_strv_builder_add(names, ((const LethePluginRecord *)g_ptr_array_index(plugins, i))->name);
  g_auto(GStrv) candidates = g_strv_builder_end(names);
  const char *hint = lethe_suggest(name, (const char *const *)candidates);
  if (hint)
    fprintf(stderr, "lethe inspect: no node type or plugin named '%s'; did you mean '%s'?\n", name,
            hint);
  else
    fprintf(stderr,
            "lethe inspect: no node type or plugin named '%s'; `lethe inspect` lists them all\n",
            name);
  return 2;
}

int
lethe_cmd_inspect(int argc, char **argv)
{
  g_auto(GStrv) plugin_paths = NULL;
  gboolean failed = FALSE;
  g_autoptr(GError) error = NULL;
  GOptionEntry entries[] = {
      {"plugin-path", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &plugin_paths,
       "Search DIR for plugins before the usual places (repeatable)", "DIR"},
      {"failed", 0, 0, G_OPTION_ARG_NONE, &failed, "List plugin files that were refused, and why",
       NULL},
      {NULL},
  };
  g_autoptr(GOptionContext) context = g_option_context_new("[NODE-TYPE|PLUGIN]");
  g_option_context_set_summary(context,
                               "Lists plugins and node types, or describes one, from the plugin "
                               "registry; nothing is loaded.");
  g_option_context_add_main_entries(context, entries, NULL);
  if (!g_option_context_parse(context, &argc, &argv, &error)) {
    fprintf(stderr, "lethe inspect: %s\n", error->message);
    return 2;
  }
  if (argc > 2 || (failed && argc > 1)) {
    fprintf(stderr, "lethe inspect: too many arguments; see `lethe inspect --help`\n");
    return 2;
  }

  g_autoptr(LetheRegistry) registry = lethe_registry_new((const char *const *)plugin_paths, &error);
  if (registry == NULL) {
    fprintf(stderr, "lethe inspect: %s\n", error->message);
    return 2;
  }
  if (failed)
    return list_failed(registry);
  if (argc == 2)
    return show_one(registry, argv[1]);
  return list_all(registry);
}
