/* Lethe — tests of the CSV parser (plugins/data/csv/csv-parse.c).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <math.h>
#include <string.h>

#include <lethe/error.h>

#include "csv-parse.h"
#include "data-stream.h"
#include "lethe-test.h"

static void
test_csv_parses_quotes_newlines_and_crlf(void)
{
  const char *text = "\xef\xbb\xbfID, Sex ,Note\r\n"
                     "1,\"F\n\",\"say \"\"hi\"\", twice\"\r\n"
                     "\n"
                     "2,M,plain\n";
  GError *err = NULL;
  g_autoptr(CsvTable) t = csv_parse(text, strlen(text), ',', TRUE, "t.csv", &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_EQUAL(csv_table_n_rows(t), 2);
  CU_ASSERT_EQUAL(csv_table_n_cols(t), 3);
  CU_ASSERT_STRING_EQUAL(csv_table_column_name(t, 1), "Sex");
  CU_ASSERT_EQUAL(csv_table_find_column(t, "sex"), 1);
  CU_ASSERT_EQUAL(csv_table_find_column(t, "2"), 2);
  CU_ASSERT_EQUAL(csv_table_find_column(t, "age"), -1);
  CU_ASSERT_STRING_EQUAL(csv_table_get(t, 0, 1), "F\n");
  CU_ASSERT_STRING_EQUAL(csv_table_get(t, 0, 2), "say \"hi\", twice");
  CU_ASSERT_STRING_EQUAL(csv_table_get(t, 1, 2), "plain");
  CU_ASSERT_EQUAL(csv_table_row_line(t, 0), 2);
  CU_ASSERT_EQUAL(csv_table_row_line(t, 1), 5);
}

static void
test_csv_numbers_and_errors_name_line_and_column(void)
{
  const char *text = "a;b\n1.5;-2e3\nnan;x\n";
  GError *err = NULL;
  g_autoptr(CsvTable) t = csv_parse(text, strlen(text), ';', TRUE, "n.csv", &err);
  LETHE_ASSERT_NO_ERROR(err);
  double v;
  CU_ASSERT_TRUE(csv_table_get_double(t, 0, 1, FALSE, &v, &err));
  CU_ASSERT_DOUBLE_EQUAL(v, -2000.0, 0);
  CU_ASSERT_TRUE(csv_table_get_double(t, 1, 0, TRUE, &v, &err));
  CU_ASSERT_TRUE(isnan(v));
  CU_ASSERT_FALSE(csv_table_get_double(t, 1, 0, FALSE, &v, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE,
                     "n.csv:3: column 'a': 'nan' is not a number (missing values");
  CU_ASSERT_FALSE(csv_table_get_double(t, 1, 1, TRUE, &v, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE,
                     "n.csv:3: column 'b': 'x' is not a number");

  const char *ragged = "a,b\n1,2\n3\n";
  CU_ASSERT_PTR_NULL(csv_parse(ragged, strlen(ragged), ',', TRUE, "r.csv", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE,
                     "r.csv:3: 1 fields, but the first row has 2");
  const char *open = "a,b\n1,\"2\n3,4\n";
  CU_ASSERT_PTR_NULL(csv_parse(open, strlen(open), ',', TRUE, "o.csv", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE,
                     "o.csv:2: a quoted field opened here is never closed");
  const char *junk = "a,b\n\"1\"x,2\n";
  CU_ASSERT_PTR_NULL(csv_parse(junk, strlen(junk), ',', TRUE, "j.csv", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE,
                     "j.csv:2: text after the closing quote of field 1");
  CU_ASSERT_PTR_NULL(csv_parse("\n\n", 2, ',', TRUE, "e.csv", &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "e.csv: the table is empty");
}

static void
test_csv_reads_ludb_index_from_the_zip(void)
{
  const char *d = lethe_test_shared_data();
  if (d == NULL) {
    CU_FAIL("LETHE_SHARED_DATA missing: cannot read ludb.csv");
    return;
  }
  g_autofree char *zip = g_build_filename(d, "ecg", "ludb-1.0.1.zip", NULL);
  GError *err = NULL;
  g_autoptr(GHashTable) e = data_archive_read_entries(zip, NULL, NULL, 1 << 30, &err);
  LETHE_ASSERT_NO_ERROR(err);
  GBytes *b =
      g_hash_table_lookup(e, "lobachevsky-university-electrocardiography-database-1.0.1/ludb.csv");
  CU_ASSERT_PTR_NOT_NULL_FATAL(b);
  gsize len;
  const char *text = g_bytes_get_data(b, &len);
  g_autoptr(CsvTable) t = csv_parse(text, len, ',', TRUE, "ludb.csv", &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_EQUAL(csv_table_n_rows(t), 200);
  int rhythm = csv_table_find_column(t, "Rhythms");
  CU_ASSERT_EQUAL(rhythm, 3);
  CU_ASSERT_STRING_EQUAL(csv_table_get(t, 0, 0), "1");
  g_autofree char *sex = g_strstrip(g_strdup(csv_table_get(t, 0, 1)));
  CU_ASSERT_STRING_EQUAL(sex, "F"); /* LUDB writes "F\n" */
  CU_ASSERT_STRING_EQUAL(csv_table_get(t, 199, 0), "200");
  CU_ASSERT_PTR_NOT_NULL(strstr(csv_table_get(t, 0, rhythm), "Sinus bradycardia"));
}

/* Found by fuzz-csv: without a header the name was NULL, not the
 * documented "column N". */
static void
test_csv_columns_without_header_are_named_column_n(void)
{
  const char text[] = "1;\0003;x\n4;5;6\n";
  GError *err = NULL;
  g_autoptr(CsvTable) t = csv_parse(text, sizeof text - 1, ';', FALSE, "t.csv", &err);
  LETHE_ASSERT_NO_ERROR(err);
  CU_ASSERT_EQUAL(csv_table_n_cols(t), 3);
  CU_ASSERT_EQUAL(csv_table_n_rows(t), 2);
  CU_ASSERT_STRING_EQUAL(csv_table_column_name(t, 0), "column 1");
  CU_ASSERT_STRING_EQUAL(csv_table_column_name(t, 2), "column 3");
  /* The same numbering as the error messages use. */
  double v;
  CU_ASSERT_FALSE(csv_table_get_double(t, 0, 2, FALSE, &v, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_PARSE, "t.csv:1: column 3: 'x' is not a number");
}

LETHE_TEST_MAIN("csv", LETHE_TEST(test_csv_parses_quotes_newlines_and_crlf),
                LETHE_TEST(test_csv_numbers_and_errors_name_line_and_column),
                LETHE_TEST(test_csv_reads_ludb_index_from_the_zip),
                LETHE_TEST(test_csv_columns_without_header_are_named_column_n))
