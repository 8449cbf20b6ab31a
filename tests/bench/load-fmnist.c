/* Lethe — how fast the IDX reader loads Fashion-MNIST, next to Python.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Decompresses the 60,000 training images through libarchive and converts
 * them to f32 in [0, 1] (what idx-source does), best of a few runs, then
 * runs tests/bench/load_fmnist.py on the same file and prints both.
 *
 *   build/tests/bench/load-fmnist [IMAGES.gz] [RUNS]
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "idx-parse.h"

#define DEFAULT_IMAGES "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

int
main(int argc, char **argv)
{
  const char *path = argc > 1 ? argv[1] : DEFAULT_IMAGES;
  int runs = argc > 2 ? atoi(argv[2]) : 3;
  double best = G_MAXDOUBLE, sum = 0;
  guint n = 0;
  for (int r = 0; r < MAX(runs, 1); r++) {
    gint64 t0 = g_get_monotonic_time();
    GError *err = NULL;
    g_autoptr(IdxReader) rd = idx_reader_open(path, G_MAXUINT32, &err);
    if (rd == NULL) {
      fprintf(stderr, "load-fmnist: %s\n", err->message);
      return 1;
    }
    const IdxHeader *h = idx_reader_get_header(rd);
    float *x = g_malloc(h->n_elements * sizeof(float));
    if (!idx_reader_read_f32(rd, h->dims[0], 1.0f / 255.0f, x, &err)) {
      fprintf(stderr, "load-fmnist: %s\n", err->message);
      return 1;
    }
    best = MIN(best, (g_get_monotonic_time() - t0) / 1e6);
    n = h->dims[0];
    sum = 0;
    for (guint64 i = 0; i < h->n_elements; i++)
      sum += x[i];
    g_free(x);
  }
  printf("lethe libarchive:  %u images in %.3f s (best of runs), checksum %.1f\n", n, best, sum);
  fflush(stdout);

  const char *src = g_getenv("LETHE_SOURCE_ROOT");
  g_autofree char *script = g_build_filename(src ? src : LETHE_BENCH_SOURCE_DIR, "tests", "bench",
                                             "load_fmnist.py", NULL);
  g_autofree char *runs_s = g_strdup_printf("%d", MAX(runs, 1));
  /* The distribution's Python, which has python3-numpy, unless
   * LETHE_PYTHON names another; a python3 earlier on PATH may lack NumPy. */
  const char *python = g_getenv("LETHE_PYTHON");
  if (!python)
    python =
        g_file_test("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE) ? "/usr/bin/python3" : "python3";
  char *pyargv[] = {(char *)python, script, (char *)path, runs_s, NULL};
  g_autoptr(GError) err = NULL;
  int status = 0;
  if (!g_spawn_sync(NULL, pyargv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_CHILD_INHERITS_STDIN, NULL,
                    NULL, NULL, NULL, &status, &err))
    fprintf(stderr, "load-fmnist: cannot run the Python peer: %s\n", err->message);
  return 0;
}
