/* Lethe — instruction sequences of learn and unlearn requests
 * ("L0,L1,U0,L2"), as UnCLe's evaluation writes them.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_UNCLE_SEQUENCE_H
#define LETHE_UNCLE_SEQUENCE_H

#include <glib.h>

G_BEGIN_DECLS

/**
 * UncleOp:
 * @kind: 'L' (learn) or 'U' (unlearn)
 * @task: the task index
 * @token: 1-based position of the token in the sequence
 * @offset: 1-based character offset of the token
 */
typedef struct {
  char kind;
  gint64 task;
  guint token;
  guint offset;
} UncleOp;

/**
 * uncle_sequence_parse:
 * @text: comma-separated tokens `L<task>` or `U<task>` (blanks allowed,
 *   letters in either case)
 * @n_tasks: tasks of the stream, or -1 when not known yet
 *
 * Fails naming the token, its position and character offset when it is
 * not `L<n>`/`U<n>`, names a task beyond @n_tasks, or unlearns a task that
 * is not learned at that point (never learned, or already unlearned).
 * Returns: (transfer full) (element-type UncleOp) (nullable)
 */
GArray *uncle_sequence_parse(const char *text, gint64 n_tasks, GError **error);

/** uncle_sequence_without: (transfer full) @ops less every op on @task. */
GArray *uncle_sequence_without(GArray *ops, gint64 task);

/** uncle_sequence_to_string: (transfer full) "L0,L1,U0". */
char *uncle_sequence_to_string(GArray *ops);

G_END_DECLS

#endif /* LETHE_UNCLE_SEQUENCE_H */
