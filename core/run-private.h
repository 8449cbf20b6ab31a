/* Lethe — run internals shared by run.c and run-output.c.  Not installed.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_RUN_PRIVATE_H
#define LETHE_RUN_PRIVATE_H

#include <lethe/run.h>

G_BEGIN_DECLS

typedef struct {
  char *name;
  char *version;
  char *path;
} RunPlugin;

typedef struct {
  char *name;
  char *node_type;
  char *plugin;
  guint64 firings;
  double seconds;
  gboolean finished;
} RunNodeRecord;

/* What run.json holds. */
typedef struct {
  const char *pipeline_name;
  const char *pipeline_file;
  guint64 seed;
  guint threads;
  gboolean checkpoints;
  guint64 max_memory;   /* 0: none */
  guint queue_capacity; /* frames per edge queue in force at the end */
  gboolean resumed;
  guint restored;
  GDateTime *start;
  GDateTime *end; /* NULL while running */
  LetheRunStatus status;
  int exit_status;
  const GError *error;
  const char *failed_node;
  const char *failed_plugin;
  GPtrArray *plugins; /* RunPlugin */
  GPtrArray *nodes;   /* RunNodeRecord */
} RunRecord;

/* Writes @metrics (LetheMetric) to @path as JSON Lines, atomically. */
gboolean lethe_run_write_metrics(const char *path, GPtrArray *metrics, GError **error);
/* Writes @record to @path as JSON, atomically. */
gboolean lethe_run_write_record(const char *path, const RunRecord *record, GError **error);
/* One JSON object (no newline) for @metric. */
char *lethe_metric_to_json(const LetheMetric *metric);

G_END_DECLS

#endif /* LETHE_RUN_PRIVATE_H */
