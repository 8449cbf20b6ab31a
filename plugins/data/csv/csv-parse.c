/* Lethe — CSV tables.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "csv-parse.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <lethe/error.h>

struct _CsvTable {
  char *file;
  guint n_cols;
  GPtrArray *header; /* names, or NULL */
  GPtrArray *names;  /* "column N" (1-based, as in messages) when there is no header */
  GPtrArray *cells;  /* n_rows × n_cols strings, row-major */
  GArray *lines;     /* guint: first line of each row */
};

void
csv_table_free(CsvTable *table)
{
  if (table == NULL)
    return;
  g_free(table->file);
  if (table->header)
    g_ptr_array_unref(table->header);
  if (table->names)
    g_ptr_array_unref(table->names);
  g_ptr_array_unref(table->cells);
  g_array_unref(table->lines);
  g_free(table);
}

/* Reads one record starting at *pos; advances *pos and *line. */
static GPtrArray *
read_record(const char *t, gsize len, gsize *pos, guint *line, char delim, const char *file,
            GError **error)
{
  GPtrArray *fields = g_ptr_array_new_with_free_func(g_free);
  GString *f = g_string_new(NULL);
  gsize p = *pos;
  guint start_line = *line;
  for (;;) {
    g_string_truncate(f, 0);
    if (p < len && t[p] == '"') {
      p++;
      for (;;) {
        if (p >= len) {
          g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                      "%s:%u: a quoted field opened here is never closed", file, start_line);
          g_string_free(f, TRUE);
          g_ptr_array_unref(fields);
          return NULL;
        }
        if (t[p] == '"') {
          if (p + 1 < len && t[p + 1] == '"') {
            g_string_append_c(f, '"');
            p += 2;
            continue;
          }
          p++;
          break;
        }
        if (t[p] == '\n')
          (*line)++;
        g_string_append_c(f, t[p++]);
      }
      if (p < len && t[p] != delim && t[p] != '\n' && t[p] != '\r') {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                    "%s:%u: text after the closing quote of field %u", file, *line,
                    fields->len + 1);
        g_string_free(f, TRUE);
        g_ptr_array_unref(fields);
        return NULL;
      }
    } else {
      while (p < len && t[p] != delim && t[p] != '\n' && t[p] != '\r')
        g_string_append_c(f, t[p++]);
    }
    g_ptr_array_add(fields, g_strdup(f->str));
    if (p < len && t[p] == delim) {
      p++;
      continue;
    }
    if (p < len && t[p] == '\r')
      p++;
    if (p < len && t[p] == '\n')
      p++;
    (*line)++;
    break;
  }
  g_string_free(f, TRUE);
  *pos = p;
  return fields;
}

CsvTable *
csv_parse(const char *text, gsize len, char delimiter, gboolean has_header, const char *file,
          GError **error)
{
  g_return_val_if_fail(text != NULL || len == 0, NULL);
  g_return_val_if_fail(file != NULL, NULL);

  g_autoptr(CsvTable) t = g_new0(CsvTable, 1);
  t->file = g_strdup(file);
  t->cells = g_ptr_array_new_with_free_func(g_free);
  t->lines = g_array_new(FALSE, FALSE, sizeof(guint));
  gsize pos = 0;
  guint line = 1;
  if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
    pos = 3;
  gboolean first = TRUE;
  while (pos < len) {
    if (text[pos] == '\n' || text[pos] == '\r') { /* blank line */
      if (text[pos] == '\r' && pos + 1 < len && text[pos + 1] == '\n')
        pos++;
      pos++;
      line++;
      continue;
    }
    guint row_line = line;
    GPtrArray *rec = read_record(text, len, &pos, &line, delimiter, file, error);
    if (rec == NULL)
      return NULL;
    if (first) {
      t->n_cols = rec->len;
      first = FALSE;
      if (has_header) {
        for (guint i = 0; i < rec->len; i++)
          g_strstrip(rec->pdata[i]);
        t->header = rec;
        continue;
      }
    }
    if (rec->len != t->n_cols) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                  "%s:%u: %u fields, but the first row has %u (wrong delimiter, or an unquoted "
                  "'%c' inside a field?)",
                  file, row_line, rec->len, t->n_cols, delimiter);
      g_ptr_array_unref(rec);
      return NULL;
    }
    for (guint i = 0; i < rec->len; i++)
      g_ptr_array_add(t->cells, g_steal_pointer(&rec->pdata[i]));
    g_ptr_array_unref(rec);
    g_array_append_val(t->lines, row_line);
  }
  if (first) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE, "%s: the table is empty", file);
    return NULL;
  }
  if (t->header == NULL) {
    t->names = g_ptr_array_new_full(t->n_cols, g_free);
    for (guint i = 0; i < t->n_cols; i++)
      g_ptr_array_add(t->names, g_strdup_printf("column %u", i + 1));
  }
  return g_steal_pointer(&t);
}

guint
csv_table_n_rows(const CsvTable *table)
{
  return table->lines->len;
}

guint
csv_table_n_cols(const CsvTable *table)
{
  return table->n_cols;
}

const char *
csv_table_get(const CsvTable *table, guint row, guint col)
{
  g_return_val_if_fail(row < table->lines->len && col < table->n_cols, NULL);
  return table->cells->pdata[(gsize)row * table->n_cols + col];
}

guint
csv_table_row_line(const CsvTable *table, guint row)
{
  g_return_val_if_fail(row < table->lines->len, 0);
  return g_array_index(table->lines, guint, row);
}

const char *
csv_table_column_name(const CsvTable *table, guint col)
{
  g_return_val_if_fail(col < table->n_cols, NULL);
  return (table->header ? table->header : table->names)->pdata[col];
}

int
csv_table_find_column(const CsvTable *table, const char *name)
{
  g_autofree char *want = g_strstrip(g_strdup(name));
  if (table->header)
    for (guint i = 0; i < table->n_cols; i++)
      if (g_ascii_strcasecmp(table->header->pdata[i], want) == 0)
        return (int)i;
  char *end;
  guint64 idx = g_ascii_strtoull(want, &end, 10);
  if (*want && *end == '\0' && idx < table->n_cols)
    return (int)idx;
  return -1;
}

gboolean
csv_table_get_double(const CsvTable *table, guint row, guint col, gboolean allow_nan, double *value,
                     GError **error)
{
  const char *s = csv_table_get(table, row, col);
  g_autofree char *v = g_strstrip(g_strdup(s));
  if (allow_nan &&
      (*v == '\0' || g_ascii_strcasecmp(v, "nan") == 0 || g_ascii_strcasecmp(v, "na") == 0)) {
    *value = NAN;
    return TRUE;
  }
  char *end;
  errno = 0;
  double d = g_ascii_strtod(v, &end);
  if (*v == '\0' || *end != '\0' || errno == ERANGE || (!allow_nan && !isfinite(d))) {
    g_autofree char *colname = table->header
                                   ? g_strdup_printf("'%s'", (char *)table->header->pdata[col])
                                   : g_strdup_printf("%u", col + 1);
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE, "%s:%u: column %s: '%s' is not a number%s",
                table->file, csv_table_row_line(table, row), colname, s,
                allow_nan ? "" : " (missing values are not allowed here)");
    return FALSE;
  }
  *value = d;
  return TRUE;
}
