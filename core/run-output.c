/* Lethe — the files a run writes: metrics.jsonl and run.json.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Both are rewritten whole, through an atomic replace (temporary file,
 * fsync, rename), so a reader or a crash never sees half a file.
 */
#include "run-private.h"

#include <json-glib/json-glib.h>
#include <lethe/fileutil.h>
#include <math.h>
#include <string.h>

void
lethe_metric_free(LetheMetric *metric)
{
  if (metric == NULL)
    return;
  g_free(metric->node);
  g_free(metric->plugin);
  g_free(metric->name);
  g_free(metric->value_json);
  g_free(metric);
}

void
lethe_node_progress_free(LetheNodeProgress *progress)
{
  if (progress == NULL)
    return;
  g_free(progress->node);
  g_free(progress->plugin);
  g_free(progress->node_type);
  g_free(progress->what);
  g_free(progress);
}

const char *
lethe_run_status_name(LetheRunStatus status)
{
  switch (status) {
  case LETHE_RUN_PENDING:
    return "pending";
  case LETHE_RUN_RUNNING:
    return "running";
  case LETHE_RUN_SUCCEEDED:
    return "succeeded";
  case LETHE_RUN_FAILED:
    return "failed";
  case LETHE_RUN_CANCELLED:
    return "cancelled";
  }
  return "unknown";
}

static void
add_double(JsonBuilder *b, double v)
{
  /* JSON has no NaN or infinities. */
  if (isfinite(v))
    json_builder_add_double_value(b, v);
  else
    json_builder_add_null_value(b);
}

static char *
node_to_string(JsonNode *root)
{
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_root(gen, root);
  return json_generator_to_data(gen, NULL);
}

char *
lethe_metric_to_json(const LetheMetric *m)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "node");
  json_builder_add_string_value(b, m->node);
  json_builder_set_member_name(b, "plugin");
  json_builder_add_string_value(b, m->plugin);
  json_builder_set_member_name(b, "name");
  json_builder_add_string_value(b, m->name);
  json_builder_set_member_name(b, "step");
  if (m->step >= 0)
    json_builder_add_int_value(b, m->step);
  else
    json_builder_add_null_value(b);
  json_builder_set_member_name(b, "value");
  JsonNode *parsed = m->value_json ? json_from_string(m->value_json, NULL) : NULL;
  if (parsed)
    json_builder_add_value(b, parsed); /* takes it */
  else if (m->value_json)
    json_builder_add_string_value(b, m->value_json); /* not JSON: keep the text */
  else
    add_double(b, m->value);
  json_builder_set_member_name(b, "seconds");
  json_builder_add_double_value(b, round(m->seconds * 1e6) / 1e6);
  json_builder_end_object(b);

  g_autoptr(JsonNode) root = json_builder_get_root(b);
  return node_to_string(root);
}

gboolean
lethe_run_write_metrics(const char *path, GPtrArray *metrics, GError **error)
{
  g_autoptr(GString) text = g_string_new(NULL);
  for (guint i = 0; i < metrics->len; i++) {
    g_autofree char *line = lethe_metric_to_json(g_ptr_array_index(metrics, i));
    g_string_append(text, line);
    g_string_append_c(text, '\n');
  }
  return lethe_file_replace_contents(path, text->str, text->len, error);
}

static void
add_time(JsonBuilder *b, const char *member, GDateTime *t)
{
  json_builder_set_member_name(b, member);
  if (t) {
    g_autofree char *iso = g_date_time_format_iso8601(t);
    json_builder_add_string_value(b, iso);
  } else {
    json_builder_add_null_value(b);
  }
}

gboolean
lethe_run_write_record(const char *path, const RunRecord *r, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "lethe_version");
  json_builder_add_string_value(b, LETHE_VERSION_STRING);
  json_builder_set_member_name(b, "pipeline");
  json_builder_add_string_value(b, r->pipeline_name);
  json_builder_set_member_name(b, "pipeline_file");
  if (r->pipeline_file)
    json_builder_add_string_value(b, r->pipeline_file);
  else
    json_builder_add_null_value(b);
  /* As a string too: a 64-bit seed does not survive JSON readers that
   * use doubles. */
  json_builder_set_member_name(b, "seed");
  json_builder_add_int_value(b, (gint64)r->seed);
  json_builder_set_member_name(b, "seed_string");
  g_autofree char *seed = g_strdup_printf("%" G_GUINT64_FORMAT, r->seed);
  json_builder_add_string_value(b, seed);
  json_builder_set_member_name(b, "threads");
  json_builder_add_int_value(b, r->threads);
  json_builder_set_member_name(b, "checkpoints");
  json_builder_add_boolean_value(b, r->checkpoints);
  json_builder_set_member_name(b, "max_memory");
  if (r->max_memory)
    json_builder_add_int_value(b, (gint64)r->max_memory);
  else
    json_builder_add_null_value(b);
  json_builder_set_member_name(b, "queue_capacity");
  json_builder_add_int_value(b, r->queue_capacity);
  json_builder_set_member_name(b, "resumed");
  json_builder_add_boolean_value(b, r->resumed);
  json_builder_set_member_name(b, "restored_checkpoints");
  json_builder_add_int_value(b, r->restored);
  add_time(b, "start", r->start);
  add_time(b, "end", r->end);
  json_builder_set_member_name(b, "status");
  json_builder_add_string_value(b, lethe_run_status_name(r->status));
  json_builder_set_member_name(b, "exit_status");
  if (r->end)
    json_builder_add_int_value(b, r->exit_status);
  else
    json_builder_add_null_value(b);

  json_builder_set_member_name(b, "error");
  if (r->error) {
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "message");
    json_builder_add_string_value(b, r->error->message);
    json_builder_set_member_name(b, "domain");
    json_builder_add_string_value(b, g_quark_to_string(r->error->domain));
    json_builder_set_member_name(b, "code");
    json_builder_add_int_value(b, r->error->code);
    json_builder_set_member_name(b, "node");
    if (r->failed_node)
      json_builder_add_string_value(b, r->failed_node);
    else
      json_builder_add_null_value(b);
    json_builder_set_member_name(b, "plugin");
    if (r->failed_plugin)
      json_builder_add_string_value(b, r->failed_plugin);
    else
      json_builder_add_null_value(b);
    json_builder_end_object(b);
  } else {
    json_builder_add_null_value(b);
  }

  json_builder_set_member_name(b, "plugins");
  json_builder_begin_array(b);
  for (guint i = 0; r->plugins && i < r->plugins->len; i++) {
    const RunPlugin *p = g_ptr_array_index(r->plugins, i);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, p->name);
    json_builder_set_member_name(b, "version");
    json_builder_add_string_value(b, p->version ? p->version : "");
    json_builder_set_member_name(b, "path");
    if (p->path)
      json_builder_add_string_value(b, p->path);
    else
      json_builder_add_null_value(b);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);

  json_builder_set_member_name(b, "nodes");
  json_builder_begin_array(b);
  for (guint i = 0; r->nodes && i < r->nodes->len; i++) {
    const RunNodeRecord *n = g_ptr_array_index(r->nodes, i);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, n->name);
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b, n->node_type);
    json_builder_set_member_name(b, "plugin");
    json_builder_add_string_value(b, n->plugin);
    json_builder_set_member_name(b, "firings");
    json_builder_add_int_value(b, (gint64)n->firings);
    json_builder_set_member_name(b, "seconds");
    json_builder_add_double_value(b, round(n->seconds * 1e6) / 1e6);
    json_builder_set_member_name(b, "finished");
    json_builder_add_boolean_value(b, n->finished);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);

  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_pretty(gen, TRUE);
  json_generator_set_root(gen, root);
  g_autofree char *text = json_generator_to_data(gen, NULL);
  g_autofree char *with_nl = g_strconcat(text, "\n", NULL);
  return lethe_file_replace_contents(path, with_nl, strlen(with_nl), error);
}
