/* Lethe — fuzz target: CSV tables (csv_parse and the cell accessors).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The first byte picks the delimiter and whether a header row is read;
 * the rest is the file.
 */
#include "csv-parse.h"
#include "fuzz-common.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  fuzz_init();
  return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char delimiters[] = {',', ';', '\t', '|'};
  if (size < 1)
    return 0;
  char delimiter = delimiters[data[0] & 3];
  gboolean has_header = (data[0] & 4) != 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(CsvTable) table =
      csv_parse((const char *)data + 1, size - 1, delimiter, has_header, "fuzz.csv", &error);

  g_assert((table == NULL) == (error != NULL));
  if (table == NULL)
    return 0;
  guint rows = csv_table_n_rows(table), cols = csv_table_n_cols(table);
  for (guint c = 0; c < cols; c++) {
    const char *name = csv_table_column_name(table, c);
    g_assert(name != NULL);
    if (has_header)
      g_assert(csv_table_find_column(table, name) >= 0);
  }
  for (guint r = 0; r < rows && r < 64; r++) {
    g_assert(csv_table_row_line(table, r) >= 1);
    for (guint c = 0; c < cols; c++) {
      g_autoptr(GError) cell_error = NULL;
      double v;
      g_assert(csv_table_get(table, r, c) != NULL);
      gboolean ok = csv_table_get_double(table, r, c, TRUE, &v, &cell_error);
      g_assert(ok == (cell_error == NULL));
    }
  }
  return 0;
}
