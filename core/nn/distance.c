/* Lethe — pairwise distances and top-k selection.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/nn-stats.h>

#include <cblas.h>
#include <math.h>

static void
row_sqnorms(const float *x, gsize m, gsize d, float *out)
{
  for (gsize i = 0; i < m; i++) {
    const float *r = x + i * d;
    float s = 0;
    for (gsize j = 0; j < d; j++)
      s += r[j] * r[j];
    out[i] = s;
  }
}

void
lethe_pairwise_sqeuclidean_f32(const float *x, gsize m, const float *y, gsize n, gsize d,
                               float *out)
{
  g_return_if_fail((x != NULL || m == 0) && (y != NULL || n == 0) && (out != NULL || m * n == 0));
  if (m == 0 || n == 0)
    return;
  g_autofree float *nx = g_new(float, m);
  g_autofree float *ny = g_new(float, n);
  row_sqnorms(x, m, d, nx);
  row_sqnorms(y, n, d, ny);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)d, -2.0f, x, (int)d, y,
              (int)d, 0.0f, out, (int)n);
  for (gsize i = 0; i < m; i++) {
    float *o = out + i * n;
    for (gsize j = 0; j < n; j++) {
      float v = o[j] + nx[i] + ny[j];
      o[j] = v > 0 ? v : 0; /* cancellation can go slightly negative */
    }
  }
}

void
lethe_l2_normalize_rows_f32(float *x, gsize m, gsize d)
{
  g_return_if_fail(x != NULL || m == 0);
  for (gsize i = 0; i < m; i++) {
    float *r = x + i * d;
    double s = 0;
    for (gsize j = 0; j < d; j++)
      s += (double)r[j] * r[j];
    if (s > 0) {
      float inv = (float)(1.0 / sqrt(s));
      for (gsize j = 0; j < d; j++)
        r[j] *= inv;
    }
  }
}

void
lethe_pairwise_cosine_distance_f32(const float *x, gsize m, const float *y, gsize n, gsize d,
                                   float *out)
{
  g_return_if_fail((x != NULL || m == 0) && (y != NULL || n == 0) && (out != NULL || m * n == 0));
  if (m == 0 || n == 0)
    return;
  g_autofree float *xn = g_memdup2(x, m * d * sizeof *x);
  g_autofree float *yn = g_memdup2(y, n * d * sizeof *y);
  lethe_l2_normalize_rows_f32(xn, m, d);
  lethe_l2_normalize_rows_f32(yn, n, d);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)d, -1.0f, xn, (int)d,
              yn, (int)d, 0.0f, out, (int)n);
  for (gsize i = 0; i < m * n; i++)
    out[i] += 1.0f;
}

/* "a ranks before b": better value first, then lower index; NaN is worst */
static inline gboolean
ranks_before(float va, gint64 ia, float vb, gint64 ib, gboolean largest)
{
  gboolean na = isnan(va), nb = isnan(vb);
  if (na || nb) {
    if (na != nb)
      return nb;
    return ia < ib;
  }
  if (va != vb)
    return largest ? va > vb : va < vb;
  return ia < ib;
}

/* Heap of the k best so far, with the worst of them at the root. */
static void
sift_down(float *hv, gint64 *hi, gsize size, gsize i, gboolean largest)
{
  for (;;) {
    gsize l = 2 * i + 1, r = l + 1, worst = i;
    if (l < size && ranks_before(hv[worst], hi[worst], hv[l], hi[l], largest))
      worst = l;
    if (r < size && ranks_before(hv[worst], hi[worst], hv[r], hi[r], largest))
      worst = r;
    if (worst == i)
      return;
    float tv = hv[i];
    gint64 ti = hi[i];
    hv[i] = hv[worst], hi[i] = hi[worst];
    hv[worst] = tv, hi[worst] = ti;
    i = worst;
  }
}

void
lethe_topk_f32(const float *v, gsize n, gsize k, gboolean largest, gint64 *idx, float *val)
{
  g_return_if_fail(k <= n && (v != NULL || n == 0) && (idx != NULL || k == 0));
  if (k == 0)
    return;
  g_autofree float *hv = g_new(float, k);
  for (gsize i = 0; i < k; i++)
    hv[i] = v[i], idx[i] = (gint64)i;
  for (gsize i = k / 2; i-- > 0;)
    sift_down(hv, idx, k, i, largest);
  for (gsize i = k; i < n; i++)
    if (ranks_before(v[i], (gint64)i, hv[0], idx[0], largest)) {
      hv[0] = v[i], idx[0] = (gint64)i;
      sift_down(hv, idx, k, 0, largest);
    }
  /* heap sort: repeatedly move the worst to the end */
  for (gsize size = k; size > 1; size--) {
    float tv = hv[0];
    gint64 ti = idx[0];
    hv[0] = hv[size - 1], idx[0] = idx[size - 1];
    hv[size - 1] = tv, idx[size - 1] = ti;
    sift_down(hv, idx, size - 1, 0, largest);
  }
  if (val)
    for (gsize i = 0; i < k; i++)
      val[i] = hv[i];
}

void
lethe_topk_rows_f32(const float *v, gsize m, gsize n, gsize k, gboolean largest, gint64 *idx,
                    float *val)
{
  g_return_if_fail(k <= n);
  for (gsize i = 0; i < m; i++)
    lethe_topk_f32(v + i * n, n, k, largest, idx + i * k, val ? val + i * k : NULL);
}
