/* Lethe — typed parameter values: parsing and checking what a pipeline
 * file writes against a node type's LetheParamSpec.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "pipeline-private.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static const char *
type_phrase(LetheParamType type)
{
  switch (type) {
  case LETHE_PARAM_BOOL:
    return "a boolean (true or false)";
  case LETHE_PARAM_INT:
    return "an integer";
  case LETHE_PARAM_DOUBLE:
    return "a number";
  case LETHE_PARAM_STRING:
    return "text";
  case LETHE_PARAM_ENUM:
    return "one of the choices";
  case LETHE_PARAM_PATH:
    return "a file name";
  case LETHE_PARAM_INT_LIST:
    return "comma-separated integers";
  case LETHE_PARAM_DOUBLE_LIST:
    return "comma-separated numbers";
  }
  return "a value";
}

static gboolean
has_range(const LetheParamSpec *spec)
{
  return spec->min <= spec->max;
}

static gboolean
check_range(const LetheParamSpec *spec, double v, const char *text, GError **error)
{
  if (has_range(spec) && (v < spec->min || v > spec->max)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "'%s' is out of range [%g, %g]", text,
                spec->min, spec->max);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_int(const LetheParamSpec *spec, const char *text, gint64 *out, GError **error)
{
  gint64 v;
  if (!g_ascii_string_to_signed(text, 10, G_MININT64, G_MAXINT64, &v, NULL)) {
    if (has_range(spec))
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "'%s' is not an integer; use an integer in [%g, %g]", text, spec->min, spec->max);
    else
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "'%s' is not an integer", text);
    return FALSE;
  }
  if (!check_range(spec, (double)v, text, error))
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean
parse_double(const LetheParamSpec *spec, const char *text, double *out, GError **error)
{
  char *end = NULL;
  errno = 0;
  double v = g_ascii_strtod(text, &end);
  if (!*text || end == text || *end || errno == ERANGE || !isfinite(v)) {
    if (has_range(spec))
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "'%s' is not a finite number; use a number in [%g, %g]", text, spec->min,
                  spec->max);
    else
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "'%s' is not a finite number", text);
    return FALSE;
  }
  if (!check_range(spec, v, text, error))
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean
parse_bool(const char *text, gboolean *out, GError **error)
{
  static const char *const yes[] = {"true", "yes", "on", "1"};
  static const char *const no[] = {"false", "no", "off", "0"};
  for (gsize i = 0; i < G_N_ELEMENTS(yes); i++) {
    if (g_ascii_strcasecmp(text, yes[i]) == 0) {
      *out = TRUE;
      return TRUE;
    }
    if (g_ascii_strcasecmp(text, no[i]) == 0) {
      *out = FALSE;
      return TRUE;
    }
  }
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "'%s' is not a boolean; use true or false",
              text);
  return FALSE;
}

static gboolean
parse_enum(const LetheParamSpec *spec, const char *text, GError **error)
{
  for (const char *const *c = spec->choices; c && *c; c++) {
    if (g_str_equal(*c, text))
      return TRUE;
  }
  g_autofree char *list = spec->choices ? g_strjoinv(", ", (char **)spec->choices) : g_strdup("");
  const char *best = spec->choices ? lethe_suggest(text, spec->choices) : NULL;
  if (best)
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "'%s' is not one of: %s; did you mean '%s'?", text, list, best);
  else
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "'%s' is not one of: %s", text, list);
  return FALSE;
}

/* Splits a comma-separated list; blanks around elements are ignored and an
 * empty (or all-blank) text is the empty list. */
static GStrv
split_list(const char *text)
{
  g_autofree char *copy = g_strstrip(g_strdup(text));
  if (!*copy)
    return g_new0(char *, 1);
  GStrv items = g_strsplit(copy, ",", -1);
  for (char **it = items; *it; it++)
    g_strstrip(*it);
  return items;
}

static gboolean
list_element_error(GError **error, guint index, GError *inner)
{
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID, "element %u of the list: %s", index + 1,
              inner->message);
  g_error_free(inner);
  return FALSE;
}

gboolean
lethe_param_value_parse(const LetheParamSpec *spec, const char *text, const char *base_dir,
                        LetheParamValue *value, GError **error)
{
  LetheParamValue v = {.type = spec ? spec->type : LETHE_PARAM_STRING};
  GError *inner = NULL;

  g_return_val_if_fail(spec != NULL, FALSE);
  g_return_val_if_fail(text != NULL, FALSE);
  g_return_val_if_fail(value != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  /* GKeyFile keeps blanks at the end of a value; they are invisible in an
   * editor, so only free text keeps them. */
  g_autofree char *trimmed = NULL;
  if (spec->type != LETHE_PARAM_STRING)
    text = trimmed = g_strstrip(g_strdup(text));

  switch (spec->type) {
  case LETHE_PARAM_BOOL:
    if (!parse_bool(text, &v.b, error))
      return FALSE;
    break;
  case LETHE_PARAM_INT:
    if (!parse_int(spec, text, &v.i, error))
      return FALSE;
    break;
  case LETHE_PARAM_DOUBLE:
    if (!parse_double(spec, text, &v.d, error))
      return FALSE;
    break;
  case LETHE_PARAM_STRING:
    v.s = g_strdup(text);
    break;
  case LETHE_PARAM_ENUM:
    if (!parse_enum(spec, text, error))
      return FALSE;
    v.s = g_strdup(text);
    break;
  case LETHE_PARAM_PATH:
    if (*text && !g_path_is_absolute(text) && base_dir)
      v.s = g_build_filename(base_dir, text, NULL);
    else
      v.s = g_strdup(text);
    break;
  case LETHE_PARAM_INT_LIST: {
    g_auto(GStrv) items = split_list(text);
    v.n = g_strv_length(items);
    v.ints = v.n ? g_new(gint64, v.n) : NULL;
    for (guint k = 0; k < v.n; k++) {
      if (!parse_int(spec, items[k], &v.ints[k], &inner)) {
        g_free(v.ints);
        return list_element_error(error, k, inner);
      }
    }
    break;
  }
  case LETHE_PARAM_DOUBLE_LIST: {
    g_auto(GStrv) items = split_list(text);
    v.n = g_strv_length(items);
    v.doubles = v.n ? g_new(double, v.n) : NULL;
    for (guint k = 0; k < v.n; k++) {
      if (!parse_double(spec, items[k], &v.doubles[k], &inner)) {
        g_free(v.doubles);
        return list_element_error(error, k, inner);
      }
    }
    break;
  }
  default:
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "parameter '%s' has an unknown type %d (a plugin built for a newer Lethe?)",
                spec->name, (int)spec->type);
    return FALSE;
  }
  *value = v;
  return TRUE;
}

void
lethe_param_value_clear(LetheParamValue *value)
{
  if (!value)
    return;
  switch (value->type) {
  case LETHE_PARAM_STRING:
  case LETHE_PARAM_ENUM:
  case LETHE_PARAM_PATH:
    g_clear_pointer(&value->s, g_free);
    break;
  case LETHE_PARAM_INT_LIST:
    g_clear_pointer(&value->ints, g_free);
    break;
  case LETHE_PARAM_DOUBLE_LIST:
    g_clear_pointer(&value->doubles, g_free);
    break;
  default:
    break;
  }
  value->n = 0;
}

gboolean
lethe_param_parse_check(const LetheParamSpec *spec, const char *text, GError **error)
{
  LetheParamValue v;
  if (!lethe_param_value_parse(spec, text, NULL, &v, error))
    return FALSE;
  lethe_param_value_clear(&v);
  return TRUE;
}

const LetheParamSpec *
lethe_param_find(const LetheNodeType *type, const char *name)
{
  g_return_val_if_fail(type != NULL && name != NULL, NULL);
  for (const LetheParamSpec *p = type->params; p && p->name; p++) {
    if (g_str_equal(p->name, name))
      return p;
  }
  return NULL;
}

static int
find_port(const LethePortSpec *ports, const char *name)
{
  int i = 0;
  for (const LethePortSpec *p = ports; p && p->name; p++, i++) {
    if (g_str_equal(p->name, name))
      return i;
  }
  return -1;
}

int
lethe_node_type_find_input(const LetheNodeType *type, const char *name)
{
  g_return_val_if_fail(type != NULL && name != NULL, -1);
  return find_port(type->inputs, name);
}

int
lethe_node_type_find_output(const LetheNodeType *type, const char *name)
{
  g_return_val_if_fail(type != NULL && name != NULL, -1);
  return find_port(type->outputs, name);
}

const char *
pipeline_param_type_phrase(LetheParamType type)
{
  return type_phrase(type);
}
