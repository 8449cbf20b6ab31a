/* lethe run — progress display.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_TOOLS_PROGRESS_UI_H
#define LETHE_TOOLS_PROGRESS_UI_H

#include <lethe/run.h>
#include <stdio.h>

typedef struct _ProgressUi ProgressUi;

/* Bars redrawn in place when @out is a terminal, plain lines otherwise. */
ProgressUi *progress_ui_new(FILE *out);
/* Draws @snapshot (LetheNodeProgress); call it periodically (the caller's
 * timer is the rate limit). */
void progress_ui_update(ProgressUi *ui, GPtrArray *snapshot);
/* Erases the bars, leaving the terminal clean for what follows. */
void progress_ui_clear(ProgressUi *ui);
/* Prints a line above the bars (a message that must not be overdrawn). */
void progress_ui_message(ProgressUi *ui, const char *message);
void progress_ui_free(ProgressUi *ui);

/* The results table: the last value of every (node, metric), with its step. */
void progress_ui_print_results(FILE *out, GPtrArray *metrics);

#endif
