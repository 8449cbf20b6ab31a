/* Benchmark: frames per second through a chain of pass-through nodes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Pushes FRAMES frames, each holding one 4 KiB tensor (1024 f32, left
 * uninitialised as GStreamer's fakesrc leaves its buffers), from a
 * synthetic-source through NODES identity nodes into a null-sink, with the
 * real plugins and the real run machinery, and prints
 *
 *   frames=200000 nodes=10 seconds=S hops_per_s=H
 *
 * where a hop is one frame passing one identity node.  Compare with
 * tests/bench/run-dataflow.sh, which runs the equivalent gst-launch-1.0
 * pipeline.  Usage: dataflow [FRAMES [NODES [THREADS]]].
 */
#include <glib/gstdio.h>
#include <lethe/lethe.h>
#include <lethe/run.h>
#include <stdio.h>
#include <stdlib.h>

static void
must(gboolean ok, GError *error)
{
  if (!ok) {
    fprintf(stderr, "dataflow: %s\n", error ? error->message : "failed");
    exit(1);
  }
}

int
main(int argc, char **argv)
{
  guint64 frames = argc > 1 ? g_ascii_strtoull(argv[1], NULL, 10) : 200000;
  guint nodes = argc > 2 ? (guint)g_ascii_strtoull(argv[2], NULL, 10) : 10;
  guint threads = argc > 3 ? (guint)g_ascii_strtoull(argv[3], NULL, 10) : 0;
  GError *error = NULL;

  lethe_init();
  LetheRegistry *registry = lethe_registry_get_default();
  g_autoptr(LethePipeline) p = lethe_pipeline_new(registry);
  g_autofree char *n_frames = g_strdup_printf("%" G_GUINT64_FORMAT, frames);

  must(lethe_pipeline_add_node(p, "source", "synthetic-source", &error), error);
  must(lethe_pipeline_set_param(p, "source", "frames", n_frames, &error), error);
  must(lethe_pipeline_set_param(p, "source", "shape", "1024", &error), error);
  must(lethe_pipeline_set_param(p, "source", "fill", "none", &error), error);
  const char *prev = "source";
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < nodes; i++) {
    char *name = g_strdup_printf("identity%u", i);
    g_ptr_array_add(names, name);
    must(lethe_pipeline_add_node(p, name, "identity", &error), error);
    must(lethe_pipeline_link(p, prev, NULL, name, NULL, &error), error);
    prev = name;
  }
  must(lethe_pipeline_add_node(p, "sink", "null-sink", &error), error);
  must(lethe_pipeline_set_param(p, "sink", "expect-frames", n_frames, &error), error);
  must(lethe_pipeline_link(p, prev, NULL, "sink", NULL, &error), error);

  g_autofree char *dir = g_dir_make_tmp("lethe-dataflow-XXXXXX", &error);
  must(dir != NULL, error);
  g_autoptr(LetheRun) run = lethe_run_new(p);
  lethe_run_set_output_dir(run, dir);
  lethe_run_set_threads(run, threads);
  lethe_run_set_quiet(run, TRUE);

  gint64 t0 = g_get_monotonic_time();
  must(lethe_run_execute(run, &error), error);
  double seconds = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;

  const char *files[] = {"metrics.jsonl", "run.json", "pipeline.lethe"};
  for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
    g_autofree char *path = g_build_filename(dir, files[i], NULL);
    g_remove(path);
  }
  g_rmdir(dir);
  printf("frames=%" G_GUINT64_FORMAT " nodes=%u seconds=%.3f hops_per_s=%.0f\n", frames, nodes,
         seconds, (double)frames * nodes / seconds);
  return 0;
}
