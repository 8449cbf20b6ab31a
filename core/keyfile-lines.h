/* Lethe — where each group and key of a GKeyFile text sits.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GKeyFile parses but forgets line numbers; messages about a pipeline file
 * need them.  This scanner reads the same text with GKeyFile's line rules
 * and records the line of every group header and key.
 */
#ifndef LETHE_KEYFILE_LINES_H
#define LETHE_KEYFILE_LINES_H

#include <glib.h>

G_BEGIN_DECLS

/**
 * LetheKeyfileLine:
 * @group: the group the line belongs to (or opens)
 * @key: the key, or %NULL for a group header line
 * @line: 1-based line number
 */
typedef struct {
  char *group;
  char *key;
  int line;
} LetheKeyfileLine;

/**
 * lethe_keyfile_scan:
 * Returns: (transfer full) (element-type LetheKeyfileLine): every group
 * header and key line, in file order.  When a line is neither a group, a
 * key nor a comment, or a key comes before any group, returns %NULL and
 * sets @bad_line (1-based) to it.
 */
GPtrArray *lethe_keyfile_scan(const char *data, gsize length, int *bad_line);

G_END_DECLS

#endif
