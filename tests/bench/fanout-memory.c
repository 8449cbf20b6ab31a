/* Benchmark: memory of fanning one large frame out to five consumers.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Runs a synthetic-source emitting one 200 MB frame (52,428,800 f32, every
 * page written) into one tensor-stats consumer, reads the peak RSS, then
 * runs the same frame into five tensor-stats consumers (each reads every
 * element) and reads the peak RSS again.  Fan-out shares the frame, so the
 * second peak must be within 5% of the first.  Prints
 *
 *   frame_mb=200 consumers=5 peak_rss_before_mb=B peak_rss_after_mb=A rise_percent=R
 *
 * and exits 1 when the rise is 5% or more.
 */
#include <glib/gstdio.h>
#include <lethe/lethe.h>
#include <lethe/run.h>
#include <stdio.h>
#include <stdlib.h>

#define ELEMENTS "52428800" /* 200 MiB of f32 */

static double
peak_rss_mb(void)
{
  g_autofree char *status = NULL;
  if (!g_file_get_contents("/proc/self/status", &status, NULL, NULL))
    return -1;
  const char *hwm = strstr(status, "VmHWM:");
  return hwm ? g_ascii_strtod(hwm + 6, NULL) / 1024.0 : -1;
}

static void
run_fanout(guint consumers)
{
  GError *error = NULL;
  g_autoptr(LethePipeline) p = lethe_pipeline_new(lethe_registry_get_default());
  gboolean ok = lethe_pipeline_add_node(p, "source", "synthetic-source", &error) &&
                lethe_pipeline_set_param(p, "source", "frames", "1", &error) &&
                lethe_pipeline_set_param(p, "source", "shape", ELEMENTS, &error) &&
                lethe_pipeline_set_param(p, "source", "fill", "index", &error);
  for (guint i = 0; ok && i < consumers; i++) {
    g_autofree char *name = g_strdup_printf("stats%u", i);
    ok = lethe_pipeline_add_node(p, name, "tensor-stats", &error) &&
         lethe_pipeline_link(p, "source", NULL, name, NULL, &error);
  }
  g_autofree char *dir = ok ? g_dir_make_tmp("lethe-fanout-XXXXXX", &error) : NULL;
  if (ok && dir) {
    g_autoptr(LetheRun) run = lethe_run_new(p);
    lethe_run_set_output_dir(run, dir);
    lethe_run_set_quiet(run, TRUE);
    ok = lethe_run_execute(run, &error);
    const char *files[] = {"metrics.jsonl", "run.json", "pipeline.lethe"};
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
      g_autofree char *path = g_build_filename(dir, files[i], NULL);
      g_remove(path);
    }
    g_rmdir(dir);
  }
  if (!ok || !dir) {
    fprintf(stderr, "fanout-memory: %s\n", error ? error->message : "failed");
    exit(2);
  }
}

int
main(void)
{
  lethe_init();
  run_fanout(1);
  double before = peak_rss_mb();
  run_fanout(5);
  double after = peak_rss_mb();
  double rise = (after - before) / before * 100.0;
  printf("frame_mb=200 consumers=5 peak_rss_before_mb=%.1f peak_rss_after_mb=%.1f "
         "rise_percent=%.2f\n",
         before, after, rise);
  return rise < 5.0 ? 0 : 1;
}
