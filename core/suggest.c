/* Lethe — "did you mean …?" for names typed by hand.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/registry.h>

#include <string.h>

/* Optimal string alignment distance (Levenshtein plus adjacent
 * transpositions), ASCII case-insensitive: "epcohs" is one edit from
 * "epochs". */
static guint
edit_distance(const char *a, const char *b)
{
  gsize n = strlen(a), m = strlen(b);
  g_autofree guint *d = g_new(guint, (n + 1) * (m + 1));
#define D(i, j) d[(i) * (m + 1) + (j)]

  for (gsize i = 0; i <= n; i++)
    D(i, 0) = (guint)i;
  for (gsize j = 0; j <= m; j++)
    D(0, j) = (guint)j;
  for (gsize i = 1; i <= n; i++) {
    for (gsize j = 1; j <= m; j++) {
      guint cost = g_ascii_tolower(a[i - 1]) == g_ascii_tolower(b[j - 1]) ? 0 : 1;
      guint best = MIN(D(i - 1, j) + 1, D(i, j - 1) + 1);
      best = MIN(best, D(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && g_ascii_tolower(a[i - 1]) == g_ascii_tolower(b[j - 2]) &&
          g_ascii_tolower(a[i - 2]) == g_ascii_tolower(b[j - 1]))
        best = MIN(best, D(i - 2, j - 2) + 1);
      D(i, j) = best;
    }
  }
  guint result = D(n, m);
#undef D
  return result;
}

/* How many edits still look like a typo rather than another word: one for
 * short names, up to three for long ones ("wfdb-source" is not a typo of
 * "idx-source", though only three edits apart). */
static guint
max_typo_distance(gsize length)
{
  if (length <= 4)
    return 1;
  if (length <= 11)
    return 2;
  return 3;
}

/**
 * lethe_suggest:
 * @name: what the user typed
 * @candidates: (array zero-terminated=1): the names that exist
 *
 * Picks the candidate closest to @name by edit distance (the first one on a
 * tie), provided it is close enough to be a plausible typo: at most one
 * edit for names up to 3 characters, two up to 7, three beyond, and fewer
 * edits than either name has characters.
 *
 * Returns: (transfer none) (nullable): an element of @candidates, or %NULL
 */
const char *
lethe_suggest(const char *name, const char *const *candidates)
{
  const char *best = NULL;
  guint best_distance = G_MAXUINT;

  g_return_val_if_fail(name != NULL, NULL);

  if (candidates == NULL || name[0] == '\0')
    return NULL;
  gsize name_len = strlen(name);
  for (const char *const *c = candidates; *c; c++) {
    gsize len = strlen(*c);
    /* Lengths alone bound the distance from below. */
    if ((name_len > len ? name_len - len : len - name_len) > max_typo_distance(name_len))
      continue;
    guint d = edit_distance(name, *c);
    if (d < best_distance) {
      best_distance = d;
      best = *c;
    }
  }
  if (best == NULL || best_distance > max_typo_distance(name_len) ||
      best_distance >= MIN(name_len, strlen(best)))
    return NULL;
  return best;
}
