/* Lethe — CSV tables (RFC 4180): quoted fields, doubled quotes, line
 * breaks inside quotes, CRLF or LF, a chosen delimiter.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Works on bytes in memory and depends on GLib only (fuzz targets compile
 * it standalone).  Used by csv-source and by wfdb-source for label indexes
 * such as LUDB's ludb.csv.
 */
#ifndef LETHE_CSV_PARSE_H
#define LETHE_CSV_PARSE_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct _CsvTable CsvTable;

/**
 * csv_parse:
 * @text: the file's bytes (a UTF-8 byte-order mark is skipped)
 * @delimiter: field separator (',', ';', '\t'…)
 * @has_header: the first row names the columns
 * @file: name for messages
 *
 * Every row must have as many fields as the first.  Blank lines are
 * skipped.  Returns: (transfer full) the table, or %NULL with @error set
 * naming @file and the line.
 */
CsvTable *csv_parse(const char *text, gsize len, char delimiter, gboolean has_header,
                    const char *file, GError **error);
void csv_table_free(CsvTable *table);

guint csv_table_n_rows(const CsvTable *table);
guint csv_table_n_cols(const CsvTable *table);
/** csv_table_get: (transfer none) the field at @row (0 = first data row), @col. */
const char *csv_table_get(const CsvTable *table, guint row, guint col);
/** csv_table_row_line: the 1-based line of the file where @row starts. */
guint csv_table_row_line(const CsvTable *table, guint row);
/** csv_table_column_name: (transfer none) the header's name, or "column N" without a header. */
const char *csv_table_column_name(const CsvTable *table, guint col);
/**
 * csv_table_find_column:
 * @name: a column name (compared ignoring case and surrounding spaces), or
 *   a 0-based index written as digits
 * Returns: the column index, or -1.
 */
int csv_table_find_column(const CsvTable *table, const char *name);
/**
 * csv_table_get_double:
 * Parses a field as a number ("nan" and empty fields are NaN when
 * @allow_nan).  Returns %FALSE with @error naming the file, line and column.
 */
gboolean csv_table_get_double(const CsvTable *table, guint row, guint col, gboolean allow_nan,
                              double *value, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(CsvTable, csv_table_free)

G_END_DECLS

#endif /* LETHE_CSV_PARSE_H */
