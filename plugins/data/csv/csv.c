/* Lethe — csv-source: numeric tables with a label column.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [table]
 *   plugin = csv-source
 *   path = iris.csv.gz        # plain or compressed, read through libarchive
 *   label-column = species    # name or 0-based index; default: the last column
 *   delimiter = ,             # or ';', 'tab'
 *
 * Emits one `dataset` frame, then ends its stream: x f32 [rows, features]
 * (every column but the label), y i32 [rows], ids i64 [rows].  Labels that
 * are all non-negative integers are used as they are; otherwise each
 * distinct text is a class, in sorted order, named in metadata
 * class-names.  A cell that is not a number is an error naming the file,
 * line and column.  See docs/data-sources.md.
 */
#include <math.h>
#include <string.h>

#include <lethe/plugin.h>

#include "csv-parse.h"
#include "data-stream.h"

#define MAX_CSV_BYTES (G_GUINT64_CONSTANT(4) << 30)

static gboolean
parse_label_int(const char *s, gint64 *out)
{
  g_autofree char *t = g_strstrip(g_strdup(s));
  char *end;
  gint64 v = g_ascii_strtoll(t, &end, 10);
  if (*t == '\0' || *end != '\0' || v < 0 || v > G_MAXINT32)
    return FALSE;
  *out = v;
  return TRUE;
}

/* g_ptr_array_sort() passes pointers to the elements, not the strings. */
static gint
compare_names(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static gboolean
csv_source_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  const char *name = lethe_node_get_name(node);
  const char *path = lethe_node_get_string(node, "path");
  const char *delim_text = lethe_node_get_string(node, "delimiter");
  const char *label_name = lethe_node_get_string(node, "label-column");
  gboolean header = lethe_node_get_bool(node, "header");
  gboolean nan_zero = g_strcmp0(lethe_node_get_string(node, "nan"), "zero") == 0;
  char delim =
      g_strcmp0(delim_text, "tab") == 0 || g_strcmp0(delim_text, "\\t") == 0 ? '\t' : delim_text[0];
  if (delim == '\0' || delim == '"' || delim == '\n' || (strlen(delim_text) > 1 && delim != '\t')) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: delimiter '%s' must be one character (or 'tab'), not a quote or newline", name,
                delim_text);
    return FALSE;
  }

  g_autoptr(GBytes) bytes = data_file_read_all(path, MAX_CSV_BYTES, error);
  if (bytes == NULL) {
    g_prefix_error(error, "%s: ", name);
    return FALSE;
  }
  gsize len;
  const char *text = g_bytes_get_data(bytes, &len);
  g_autoptr(CsvTable) t = csv_parse(text, len, delim, header, path, error);
  if (t == NULL) {
    g_prefix_error(error, "%s: ", name);
    return FALSE;
  }
  guint n_cols = csv_table_n_cols(t);
  gint64 n = csv_table_n_rows(t);
  int label = *label_name ? csv_table_find_column(t, label_name) : (int)n_cols - 1;
  if (label < 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                "%s: %s has no column '%s' (label-column: a name from the header row or a "
                "0-based index below %u)",
                name, path, label_name, n_cols);
    return FALSE;
  }
  if (n_cols < 2 || n == 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: %s needs at least one feature column besides the label and one row", name,
                path);
    return FALSE;
  }

  /* Labels: integers as they are, else sorted distinct texts. */
  gboolean all_int = TRUE;
  for (gint64 r = 0; r < n && all_int; r++) {
    gint64 v;
    all_int = parse_label_int(csv_table_get(t, (guint)r, (guint)label), &v);
  }
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(GHashTable) index = g_hash_table_new(g_str_hash, g_str_equal);
  if (!all_int) {
    for (gint64 r = 0; r < n; r++) {
      char *v = g_strstrip(g_strdup(csv_table_get(t, (guint)r, (guint)label)));
      if (g_hash_table_contains(index, v)) {
        g_free(v);
        continue;
      }
      g_hash_table_add(index, v);
      g_ptr_array_add(names, v);
    }
    g_ptr_array_sort(names, compare_names);
  }

  gint64 shape[2] = {n, n_cols - 1};
  g_autoptr(LetheTensor) x = lethe_tensor_new_uninit(LETHE_DTYPE_F32, 2, shape);
  g_autoptr(LetheTensor) y = lethe_tensor_new_uninit(LETHE_DTYPE_I32, 1, shape);
  g_autoptr(LetheTensor) ids = lethe_tensor_new_uninit(LETHE_DTYPE_I64, 1, shape);
  float *xd = lethe_tensor_f32(x);
  gint32 max_label = -1;
  for (gint64 r = 0; r < n; r++) {
    guint f = 0;
    for (guint c = 0; c < n_cols; c++) {
      if ((int)c == label)
        continue;
      double v;
      if (!csv_table_get_double(t, (guint)r, c, nan_zero, &v, error)) {
        g_prefix_error(error, "%s: ", name);
        return FALSE;
      }
      xd[r * (n_cols - 1) + f++] = isnan(v) ? 0.0f : (float)v;
    }
    const char *lv = csv_table_get(t, (guint)r, (guint)label);
    gint64 cls = 0;
    if (all_int) {
      parse_label_int(lv, &cls);
    } else {
      g_autofree char *key = g_strstrip(g_strdup(lv));
      for (guint i = 0; i < names->len; i++)
        if (strcmp(names->pdata[i], key) == 0)
          cls = i;
    }
    lethe_tensor_i32(y)[r] = (gint32)cls;
    max_label = MAX(max_label, (gint32)cls);
    lethe_tensor_i64(ids)[r] = r;
  }

  LetheFrame *frame = lethe_frame_new();
  lethe_frame_set_tensor(frame, "x", x);
  lethe_frame_set_tensor(frame, "y", y);
  lethe_frame_set_tensor(frame, "ids", ids);
  g_autofree char *base = g_path_get_basename(path);
  lethe_frame_set_meta_string(frame, "dataset", base);
  lethe_frame_set_meta_int(frame, "n-classes", all_int ? max_label + 1 : (gint64)names->len);
  if (!all_int)
    lethe_frame_set_meta(frame, "class-names",
                         g_variant_new_strv((const char *const *)names->pdata, names->len));
  lethe_node_push(node, 0, frame);
  lethe_node_end_stream(node);
  return TRUE;
}

static const char *const nan_choices[] = {"refuse", "zero", NULL};

static const LethePortSpec csv_outputs[] = {
    {"data", "dataset", LETHE_PORT_NONE, "all rows in one frame"},
    {NULL},
};

static const LetheParamSpec csv_params[] = {
    {"path", LETHE_PARAM_PATH, NULL, 0, 0, NULL, "the CSV file, plain or compressed"},
    {"delimiter", LETHE_PARAM_STRING, ",", 0, 0, NULL, "field separator: one character or 'tab'"},
    {"header", LETHE_PARAM_BOOL, "true", 0, 0, NULL, "the first row names the columns"},
    {"label-column", LETHE_PARAM_STRING, "", 0, 0, NULL,
     "the label column, by name or 0-based index (default: the last column)"},
    {"nan", LETHE_PARAM_ENUM, "refuse", 0, 0, nan_choices,
     "empty, 'nan' or 'NA' cells: refuse, or read them as 0"},
    {NULL},
};

static const LetheNodeVTable csv_vtable = {.process = csv_source_process};

static const LetheNodeType csv_source = {
    "csv-source",
    LETHE_NODE_SOURCE,
    "Numeric CSV tables with a label column",
    NULL,
    csv_outputs,
    csv_params,
    &csv_vtable,
    "RFC 4180 CSV (quotes, embedded newlines, CRLF), plain or compressed; every column but the "
    "label becomes a feature of x f32 [rows, features].",
};

static const LetheNodeType *const node_types[] = {&csv_source, NULL};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR,     LETHE_ABI_MINOR,    "csv",      "0.1.0",
    "LGPL-2.1-or-later", "CSV table source", node_types, NULL,
};

LETHE_PLUGIN_DEFINE(plugin_info)
