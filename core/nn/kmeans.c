/* Lethe — k-means with k-means++ seeding.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/error.h>
#include <lethe/nn-stats.h>

#include <math.h>
#include <string.h>

#define ASSIGN_CHUNK 2048 /* rows per sgemm: bounds the distance block */

void
lethe_kmeans_assign_f32(const float *x, gsize n, gsize d, const float *centroids, gsize k,
                        gint32 *assign, float *dist2)
{
  g_return_if_fail(k >= 1 && (x != NULL || n == 0) && centroids != NULL &&
                   (assign != NULL || n == 0));
  g_autofree float *block = g_new(float, MIN(n, ASSIGN_CHUNK) * k + 1);
  for (gsize s = 0; s < n; s += ASSIGN_CHUNK) {
    gsize rows = MIN(ASSIGN_CHUNK, n - s);
    lethe_pairwise_sqeuclidean_f32(x + s * d, rows, centroids, k, d, block);
    for (gsize i = 0; i < rows; i++) {
      const float *r = block + i * k;
      gsize best = 0;
      for (gsize j = 1; j < k; j++)
        if (r[j] < r[best])
          best = j;
      assign[s + i] = (gint32)best;
      if (dist2)
        dist2[s + i] = r[best];
    }
  }
}

static double
sqdist(const float *a, const float *b, gsize d)
{
  double s = 0;
  for (gsize j = 0; j < d; j++) {
    double t = (double)a[j] - b[j];
    s += t * t;
  }
  return s;
}

/* k-means++: each new centre is a point drawn with probability ∝ D², its
 * squared distance to the nearest centre chosen so far. */
static void
seed_plus_plus(const float *x, gsize n, gsize d, gsize k, LetheRng *rng, float *c)
{
  g_autofree double *d2 = g_new(double, n);
  gsize first = (gsize)lethe_rng_below(rng, n);
  memcpy(c, x + first * d, d * sizeof *c);
  for (gsize i = 0; i < n; i++)
    d2[i] = sqdist(x + i * d, c, d);
  for (gsize j = 1; j < k; j++) {
    double total = 0;
    for (gsize i = 0; i < n; i++)
      total += d2[i];
    gsize pick;
    if (total <= 0) {
      pick = (gsize)lethe_rng_below(rng, n); /* every point is already a centre */
    } else {
      double r = lethe_rng_uniform(rng) * total, acc = 0;
      pick = n - 1;
      for (gsize i = 0; i < n; i++) {
        acc += d2[i];
        if (acc > r && d2[i] > 0) {
          pick = i;
          break;
        }
      }
    }
    float *cj = c + j * d;
    memcpy(cj, x + pick * d, d * sizeof *cj);
    for (gsize i = 0; i < n; i++) {
      double t = sqdist(x + i * d, cj, d);
      if (t < d2[i])
        d2[i] = t;
    }
  }
}

gboolean
lethe_kmeans_f32(const float *x, gsize n, gsize d, gsize k, guint max_iter, double tol,
                 LetheRng *rng, float *centroids, gint32 *assign, double *inertia, GError **error)
{
  g_return_val_if_fail(x != NULL && rng != NULL && centroids != NULL && d >= 1, FALSE);
  if (k == 0 || k > n) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "k-means asked for %zu clusters of %zu points; choose 1 <= k <= %zu", k, n, n);
    return FALSE;
  }
  for (gsize i = 0; i < n * d; i++)
    if (!isfinite(x[i])) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                  "k-means input holds NaN or Inf at point %zu, feature %zu", i / d, i % d);
      return FALSE;
    }

  /* tolerance relative to the data's spread, as scikit-learn does */
  double var_sum = 0;
  for (gsize j = 0; j < d; j++) {
    double m = 0, m2 = 0;
    for (gsize i = 0; i < n; i++)
      m += x[i * d + j];
    m /= n;
    for (gsize i = 0; i < n; i++)
      m2 += (x[i * d + j] - m) * (x[i * d + j] - m);
    var_sum += m2 / n;
  }
  double shift_tol = tol * var_sum / d;

  seed_plus_plus(x, n, d, k, rng, centroids);
  g_autofree gint32 *a = g_new(gint32, n);
  g_autofree gint32 *prev = g_new(gint32, n);
  g_autofree float *dist2 = g_new(float, n);
  g_autofree double *sum = g_new(double, k *d);
  g_autofree gint64 *count = g_new(gint64, k);
  g_autofree gboolean *taken = g_new(gboolean, n);

  for (guint it = 0; it < max_iter; it++) {
    lethe_kmeans_assign_f32(x, n, d, centroids, k, a, dist2);
    if (it > 0 && memcmp(a, prev, n * sizeof *a) == 0)
      break;
    memcpy(prev, a, n * sizeof *a);

    memset(sum, 0, k * d * sizeof *sum);
    memset(count, 0, k * sizeof *count);
    for (gsize i = 0; i < n; i++) {
      count[a[i]]++;
      for (gsize j = 0; j < d; j++)
        sum[a[i] * d + j] += x[i * d + j];
    }
    double shift = 0;
    memset(taken, 0, n * sizeof *taken);
    for (gsize c = 0; c < k; c++) {
      float *cc = centroids + c * d;
      if (count[c] == 0) {
        /* empty: restart it on the point worst served by its centre */
        gsize far = 0;
        float best = -1;
        for (gsize i = 0; i < n; i++)
          if (!taken[i] && dist2[i] > best)
            best = dist2[i], far = i;
        taken[far] = TRUE;
        dist2[far] = 0;
        shift += sqdist(cc, x + far * d, d);
        memcpy(cc, x + far * d, d * sizeof *cc);
        continue;
      }
      for (gsize j = 0; j < d; j++) {
        float v = (float)(sum[c * d + j] / count[c]);
        shift += ((double)v - cc[j]) * ((double)v - cc[j]);
        cc[j] = v;
      }
    }
    if (shift <= shift_tol)
      break;
  }

  lethe_kmeans_assign_f32(x, n, d, centroids, k, a, dist2);
  if (assign)
    memcpy(assign, a, n * sizeof *a);
  if (inertia) {
    double s = 0;
    for (gsize i = 0; i < n; i++)
      s += sqdist(x + i * d, centroids + a[i] * d, d);
    *inertia = s;
  }
  return TRUE;
}
