/* lethe run — progress display: bars on a terminal, plain lines elsewhere.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * On a terminal, one line per active node (what it does, a bar, percent,
 * ETA), redrawn in place with ANSI cursor moves.  Elsewhere (logs, CI),
 * one line when a node starts, when it finishes, and at most every five
 * seconds per node in between, so logs stay readable.
 */
#include "progress-ui.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#define BAR_WIDTH         24
#define PLAIN_INTERVAL_US (5 * G_USEC_PER_SEC)

typedef struct {
  gboolean started;
  gboolean finished;
  gint64 printed_us;
} PlainState;

struct _ProgressUi {
  FILE *out;
  gboolean tty;
  guint drawn;       /* lines of bars currently on screen */
  GHashTable *plain; /* node name → PlainState */
  gint64 start_us;
};

ProgressUi *
progress_ui_new(FILE *out)
{
  ProgressUi *ui = g_new0(ProgressUi, 1);
  ui->out = out;
  const char *term = g_getenv("TERM");
  ui->tty = isatty(fileno(out)) && !(term && g_str_equal(term, "dumb"));
  ui->plain = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  ui->start_us = g_get_monotonic_time();
  return ui;
}

void
progress_ui_free(ProgressUi *ui)
{
  if (ui == NULL)
    return;
  g_hash_table_unref(ui->plain);
  g_free(ui);
}

static void
format_duration(char *buf, gsize size, double seconds)
{
  if (seconds < 0 || !isfinite(seconds)) {
    g_strlcpy(buf, "--:--", size);
    return;
  }
  long s = lround(seconds);
  if (s >= 3600)
    g_snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    g_snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

void
progress_ui_clear(ProgressUi *ui)
{
  if (!ui->tty || ui->drawn == 0)
    return;
  fprintf(ui->out, "\033[%uA", ui->drawn);
  for (guint i = 0; i < ui->drawn; i++)
    fputs("\033[2K\n", ui->out);
  fprintf(ui->out, "\033[%uA", ui->drawn);
  ui->drawn = 0;
  fflush(ui->out);
}

void
progress_ui_message(ProgressUi *ui, const char *message)
{
  progress_ui_clear(ui);
  fprintf(ui->out, "%s\n", message);
  fflush(ui->out);
}

static void
draw_bars(ProgressUi *ui, GPtrArray *snapshot)
{
  g_autoptr(GString) text = g_string_new(NULL);
  guint lines = 0;
  if (ui->drawn)
    g_string_append_printf(text, "\033[%uA", ui->drawn);
  for (guint i = 0; i < snapshot->len; i++) {
    const LetheNodeProgress *p = snapshot->pdata[i];
    if (!p->started || p->finished)
      continue;
    char eta[32], elapsed[32];
    format_duration(eta, sizeof eta, p->eta);
    format_duration(elapsed, sizeof elapsed, p->elapsed);
    g_string_append(text, "\033[2K");
    g_string_append_printf(text, "%-16.16s ", p->node);
    if (p->fraction >= 0) {
      int filled = (int)lround(p->fraction * BAR_WIDTH);
      g_string_append_c(text, '[');
      for (int k = 0; k < BAR_WIDTH; k++)
        g_string_append_c(text, k < filled ? '#' : '.');
      g_string_append_printf(text, "] %3.0f%% ETA %s", p->fraction * 100, eta);
    } else {
      g_string_append_printf(text, "[%-*s] %" G_GUINT64_FORMAT " firings", BAR_WIDTH, "working",
                             p->firings);
    }
    g_string_append_printf(text, " %s %.40s\n", elapsed, p->what ? p->what : p->node_type);
    lines++;
  }
  /* Blank the lines left over from a longer previous drawing. */
  for (guint k = lines; k < ui->drawn; k++)
    g_string_append(text, "\033[2K\n");
  if (ui->drawn > lines)
    g_string_append_printf(text, "\033[%uA", ui->drawn - lines);
  fputs(text->str, ui->out);
  fflush(ui->out);
  ui->drawn = lines;
}

static void
draw_plain(ProgressUi *ui, GPtrArray *snapshot)
{
  gint64 now = g_get_monotonic_time();
  double t = (double)(now - ui->start_us) / G_USEC_PER_SEC;
  for (guint i = 0; i < snapshot->len; i++) {
    const LetheNodeProgress *p = snapshot->pdata[i];
    PlainState *s = g_hash_table_lookup(ui->plain, p->node);
    if (s == NULL) {
      s = g_new0(PlainState, 1);
      g_hash_table_insert(ui->plain, g_strdup(p->node), s);
    }
    if (p->started && !s->started) {
      fprintf(ui->out, "[%7.1fs] %s (%s): started\n", t, p->node, p->node_type);
      s->started = TRUE;
      s->printed_us = now;
    }
    if (p->finished && !s->finished) {
      fprintf(ui->out, "[%7.1fs] %s: finished, %" G_GUINT64_FORMAT " firings in %.2fs\n", t,
              p->node, p->firings, p->elapsed);
      s->finished = TRUE;
      continue;
    }
    if (p->started && !p->finished && now - s->printed_us >= PLAIN_INTERVAL_US) {
      if (p->fraction >= 0) {
        char eta[32];
        format_duration(eta, sizeof eta, p->eta);
        fprintf(ui->out, "[%7.1fs] %s: %s %.0f%% (ETA %s)\n", t, p->node, p->what ? p->what : "",
                p->fraction * 100, eta);
      } else {
        fprintf(ui->out, "[%7.1fs] %s: %s %" G_GUINT64_FORMAT " firings\n", t, p->node,
                p->what ? p->what : "", p->firings);
      }
      s->printed_us = now;
    }
  }
  fflush(ui->out);
}

void
progress_ui_update(ProgressUi *ui, GPtrArray *snapshot)
{
  if (ui->tty)
    draw_bars(ui, snapshot);
  else
    draw_plain(ui, snapshot);
}

void
progress_ui_print_results(FILE *out, GPtrArray *metrics)
{
  /* The last value of each (node, name), in order of first appearance. */
  g_autoptr(GPtrArray) rows = g_ptr_array_new();
  g_autoptr(GHashTable) index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < metrics->len; i++) {
    const LetheMetric *m = metrics->pdata[i];
    char *key = g_strdup_printf("%s\x1f%s", m->node, m->name);
    gpointer at;
    if (g_hash_table_lookup_extended(index, key, NULL, &at)) {
      rows->pdata[GPOINTER_TO_UINT(at)] = (gpointer)m;
      g_free(key);
    } else {
      g_hash_table_insert(index, key, GUINT_TO_POINTER(rows->len));
      g_ptr_array_add(rows, (gpointer)m);
    }
  }
  if (rows->len == 0)
    return;

  int wn = 4, wm = 6;
  for (guint i = 0; i < rows->len; i++) {
    const LetheMetric *m = rows->pdata[i];
    wn = MAX(wn, (int)strlen(m->node));
    wm = MAX(wm, (int)strlen(m->name));
  }
  fprintf(out, "\n%-*s  %-*s  %6s  %s\n", wn, "node", wm, "metric", "step", "value");
  for (guint i = 0; i < rows->len; i++) {
    const LetheMetric *m = rows->pdata[i];
    char step[24] = "-";
    if (m->step >= 0)
      g_snprintf(step, sizeof step, "%" G_GINT64_FORMAT, m->step);
    if (m->value_json) {
      fprintf(out, "%-*s  %-*s  %6s  %.60s%s\n", wn, m->node, wm, m->name, step, m->value_json,
              strlen(m->value_json) > 60 ? "…" : "");
    } else {
      fprintf(out, "%-*s  %-*s  %6s  %.6g\n", wn, m->node, wm, m->name, step, m->value);
    }
  }
}
