/* Lethe — instruction sequences of learn and unlearn requests.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "uncle-sequence.h"

#include <string.h>

#include <lethe/error.h>

GArray *
uncle_sequence_parse(const char *text, gint64 n_tasks, GError **error)
{
  g_return_val_if_fail(text != NULL, NULL);
  g_autoptr(GArray) ops = g_array_new(FALSE, FALSE, sizeof(UncleOp));
  g_autoptr(GHashTable) active = g_hash_table_new(NULL, NULL);
  g_autoptr(GHashTable) ever = g_hash_table_new(NULL, NULL);
  const char *p = text;
  guint token = 0;
  for (;;) {
    token++;
    const char *end = strchr(p, ',');
    gsize len = end ? (gsize)(end - p) : strlen(p);
    g_autofree char *raw = g_strndup(p, len);
    g_autofree char *tok = g_strdup(raw);
    g_strstrip(tok);
    guint offset = (guint)(p - text) + 1 + (guint)(strspn(raw, " \t"));
    char kind = (char)g_ascii_toupper(tok[0]);
    char *num_end = NULL;
    gint64 task = tok[0] ? g_ascii_strtoll(tok + 1, &num_end, 10) : -1;
    if ((kind != 'L' && kind != 'U') || tok[1] == '\0' || !g_ascii_isdigit(tok[1]) ||
        *num_end != '\0' || task > G_MAXINT32) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "sequence: token %u '%s' at character %u is not L<task> or U<task>; write "
                  "e.g. L0,L1,U0",
                  token, tok, offset);
      return NULL;
    }
    if (n_tasks >= 0 && task >= n_tasks) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "sequence: token %u '%s' at character %u names task %" G_GINT64_FORMAT
                  ", but the stream has %" G_GINT64_FORMAT " tasks (0 to %" G_GINT64_FORMAT ")",
                  token, tok, offset, task, n_tasks, n_tasks - 1);
      return NULL;
    }
    gpointer key = GINT_TO_POINTER((gint)task);
    if (kind == 'U' && !g_hash_table_contains(active, key)) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "sequence: token %u '%s' at character %u unlearns task %" G_GINT64_FORMAT
                  ", which %s at that point; learn it first (L%" G_GINT64_FORMAT ") or drop the "
                  "token",
                  token, tok, offset, task,
                  g_hash_table_contains(ever, key) ? "is already unlearned" : "was never learned",
                  task);
      return NULL;
    }
    if (kind == 'L') {
      g_hash_table_add(ever, key);
      g_hash_table_add(active, key);
    } else {
      g_hash_table_remove(active, key);
    }
    UncleOp op = {kind, task, token, offset};
    g_array_append_val(ops, op);
    if (end == NULL)
      break;
    p = end + 1;
  }
  return g_steal_pointer(&ops);
}

GArray *
uncle_sequence_without(GArray *ops, gint64 task)
{
  GArray *out = g_array_new(FALSE, FALSE, sizeof(UncleOp));
  for (guint i = 0; i < ops->len; i++) {
    UncleOp *op = &g_array_index(ops, UncleOp, i);
    if (op->task != task)
      g_array_append_val(out, *op);
  }
  return out;
}

char *
uncle_sequence_to_string(GArray *ops)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < ops->len; i++) {
    UncleOp *op = &g_array_index(ops, UncleOp, i);
    g_string_append_printf(s, "%s%c%" G_GINT64_FORMAT, i ? "," : "", op->kind, op->task);
  }
  return g_string_free(s, FALSE);
}
