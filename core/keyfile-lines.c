/* Lethe — line numbers for GKeyFile text.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "keyfile-lines.h"

#include <string.h>

static void
line_free(gpointer p)
{
  LetheKeyfileLine *l = p;
  g_free(l->group);
  g_free(l->key);
  g_free(l);
}

static LetheKeyfileLine *
line_new(const char *group, const char *key, gsize key_len, int line)
{
  LetheKeyfileLine *l = g_new0(LetheKeyfileLine, 1);
  l->group = g_strdup(group);
  l->key = key ? g_strndup(key, key_len) : NULL;
  l->line = line;
  return l;
}

GPtrArray *
lethe_keyfile_scan(const char *data, gsize length, int *bad_line)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(line_free);
  g_autofree char *group = NULL;
  const char *p = data, *end = data + length;
  int lineno = 0;

  g_return_val_if_fail(data != NULL || length == 0, NULL);

  while (p < end) {
    const char *eol = memchr(p, '\n', end - p);
    const char *next = eol ? eol + 1 : end;
    if (!eol)
      eol = end;
    lineno++;

    /* GKeyFile skips leading blanks and treats '#'-lines and blank lines
     * as comments. */
    const char *s = p;
    while (s < eol && g_ascii_isspace(*s))
      s++;
    const char *e = eol;
    while (e > s && g_ascii_isspace(e[-1]))
      e--;

    if (s == e || *s == '#') {
      /* comment or blank */
    } else if (*s == '[') {
      const char *close = memchr(s, ']', e - s);
      if (!close || close == s + 1 || close + 1 != e)
        goto bad;
      g_free(group);
      group = g_strndup(s + 1, close - s - 1);
      g_ptr_array_add(lines, line_new(group, NULL, 0, lineno));
    } else {
      const char *eq = memchr(s, '=', e - s);
      if (!eq || !group)
        goto bad;
      const char *kend = eq;
      while (kend > s && g_ascii_isspace(kend[-1]))
        kend--;
      if (kend == s)
        goto bad;
      g_ptr_array_add(lines, line_new(group, s, kend - s, lineno));
    }
    p = next;
  }
  return g_steal_pointer(&lines);

bad:
  if (bad_line)
    *bad_line = lineno;
  return NULL;
}
