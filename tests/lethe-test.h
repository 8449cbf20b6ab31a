/* Lethe — small helpers shared by the CUnit suites.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A suite file defines its tests as plain functions and ends with
 *
 *   LETHE_TEST_MAIN("buffer",
 *     LETHE_TEST(test_buffer_new_is_aligned),
 *     LETHE_TEST(test_buffer_refcount_is_atomic))
 *
 * The runner exits non-zero when any assertion fails, prints CUnit's
 * summary, and honours LETHE_TEST_FILTER=substring to run a subset.
 */
#ifndef LETHE_TEST_H
#define LETHE_TEST_H

#include <CUnit/Basic.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *name;
  void (*fn)(void);
} LetheTestCase;

#define LETHE_TEST(f)                                                                              \
  {                                                                                                \
#f, f                                                                                          \
  }

/* Asserts that a GError-returning call failed with @err_domain/@err_code and that its
 * message contains @needle; frees the error. */
#define LETHE_ASSERT_ERROR(err, err_domain, err_code, needle)                                      \
  do {                                                                                             \
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);                                                             \
    if (!g_error_matches((err), (err_domain), (err_code)))                                         \
      fprintf(stderr, "\n  unexpected error (%s, %d): %s\n", g_quark_to_string((err)->domain),     \
              (err)->code, (err)->message);                                                        \
    CU_ASSERT_TRUE(g_error_matches((err), (err_domain), (err_code)));                              \
    if (strstr((err)->message, (needle)) == NULL)                                                  \
      fprintf(stderr, "\n  message \"%s\" lacks \"%s\"\n", (err)->message, (needle));              \
    CU_ASSERT_PTR_NOT_NULL(strstr((err)->message, (needle)));                                      \
    g_clear_error(&(err));                                                                         \
  } while (0)

/* Asserts that no error is set, printing it if there is one. */
#define LETHE_ASSERT_NO_ERROR(err)                                                                 \
  do {                                                                                             \
    if ((err) != NULL)                                                                             \
      fprintf(stderr, "\n  unexpected error: %s\n", (err)->message);                               \
    CU_ASSERT_PTR_NULL_FATAL(err);                                                                 \
  } while (0)

static inline int
lethe_test_run(const char *suite_name, const LetheTestCase *cases, size_t n)
{
  const char *filter = g_getenv("LETHE_TEST_FILTER");
  if (CU_initialize_registry() != CUE_SUCCESS)
    return 2;
  CU_pSuite suite = CU_add_suite(suite_name, NULL, NULL);
  for (size_t i = 0; i < n; i++) {
    if (filter && !strstr(cases[i].name, filter))
      continue;
    CU_add_test(suite, cases[i].name, cases[i].fn);
  }
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  unsigned run = CU_get_number_of_tests_run();
  CU_cleanup_registry();
  if (run == 0 && !filter)
    return 1;
  return failed ? 1 : 0;
}

#define LETHE_TEST_MAIN(suite_name, ...)                                                           \
  int main(void)                                                                                   \
  {                                                                                                \
    static const LetheTestCase cases[] = {__VA_ARGS__};                                            \
    return lethe_test_run(suite_name, cases, sizeof cases / sizeof cases[0]);                      \
  }

/* The shared data folder (real ECG records), or NULL when it is missing:
 * tests that need it call CU_FAIL with a clear message rather than pass. */
static inline const char *
lethe_test_shared_data(void)
{
  const char *d = g_getenv("LETHE_SHARED_DATA");
  return (d && g_file_test(d, G_FILE_TEST_IS_DIR)) ? d : NULL;
}

#define LETHE_FMNIST_DIR "/usr/share/datasets/fashion-mnist"

#endif /* LETHE_TEST_H */
