/* Lethe — runs a fuzz target over files and folders of inputs, without
 * libFuzzer.  Normal builds use it to replay every committed corpus, so
 * each input that once crashed a parser stays a regression test.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz-common.h"

static guint n_inputs;

static void
replay_file(const char *path)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr(GError) error = NULL;
  if (!g_file_get_contents(path, &contents, &length, &error)) {
    g_printerr("replay: %s\n", error->message);
    exit(2);
  }
  /* An exact-size copy, so ASan builds see reads past the end. */
  g_autofree guint8 *copy = g_memdup2(contents, length);
  LLVMFuzzerTestOneInput(copy, length);
  n_inputs++;
}

static void
replay_path(const char *path)
{
  if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
    replay_file(path);
    return;
  }
  g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while (dir && (name = g_dir_read_name(dir)))
    g_ptr_array_add(names, g_build_filename(path, name, NULL));
  for (guint i = 0; i < names->len; i++)
    replay_path(names->pdata[i]);
}

int
main(int argc, char **argv)
{
  LLVMFuzzerInitialize(&argc, &argv);
  for (int i = 1; i < argc; i++)
    replay_path(argv[i]);
  if (n_inputs == 0) {
    g_printerr("replay: no input under the given paths\n");
    return 1;
  }
  printf("replayed %u inputs\n", n_inputs);
  return 0;
}
