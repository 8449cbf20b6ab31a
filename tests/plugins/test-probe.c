/* Lethe — the linear probe: logistic regression on frozen embeddings with
 * subject-level folds.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <math.h>

#include <lethe/error.h>
#include <lethe/nn-rng.h>

#include "lethe-test.h"
#include "probe-ops.h"

static void
test_probe_separates_clusters_and_not_noise(void)
{
  gsize n = 300, d = 8;
  g_autofree float *z = g_new(float, n *d), *noise = g_new(float, n *d);
  g_autofree gint32 *y = g_new(gint32, n), *y3 = g_new(gint32, n);
  LetheRng rng;
  lethe_rng_init(&rng, 3);
  for (gsize i = 0; i < n; i++) {
    y[i] = (gint32)(i % 2);
    y3[i] = (gint32)(i % 3);
    for (gsize j = 0; j < d; j++) {
      z[i * d + j] = (float)(lethe_rng_normal(&rng) + (j == (gsize)y3[i] ? 3.0 : 0.0) +
                             (j == 7 && y[i] ? 3.0 : 0.0));
      noise[i * d + j] = (float)lethe_rng_normal(&rng);
    }
  }
  ProbeParams p = {5, 1.0, 1};
  ProbeResult r;
  GError *err = NULL;
  CU_ASSERT_TRUE(probe_cross_validate(&p, z, n, d, y, 2, 0, NULL, &r, &err));
  CU_ASSERT(r.auroc > 0.95);
  CU_ASSERT(r.macro_f1 > 0.85);
  CU_ASSERT_EQUAL(r.n_tasks, 1);
  CU_ASSERT_TRUE(probe_cross_validate(&p, z, n, d, y3, 3, 0, NULL, &r, &err));
  CU_ASSERT(r.auroc > 0.95);
  CU_ASSERT(r.macro_f1 > 0.85);
  CU_ASSERT_EQUAL(r.n_tasks, 3);
  CU_ASSERT_TRUE(probe_cross_validate(&p, noise, n, d, y, 2, 0, NULL, &r, &err));
  CU_ASSERT(fabs(r.auroc - 0.5) < 0.1);
  /* Multi-label: both flags at once, one probe each. */
  g_autofree gint32 *ml = g_new(gint32, n * 2);
  for (gsize i = 0; i < n; i++) {
    ml[2 * i] = y[i];
    ml[2 * i + 1] = y3[i] == 0;
  }
  CU_ASSERT_TRUE(probe_cross_validate(&p, z, n, d, ml, 2, 2, NULL, &r, &err));
  CU_ASSERT(r.auroc > 0.95);
  CU_ASSERT_EQUAL(r.n_tasks, 2);
}

static void
test_probe_folds_by_subject_stop_identity_leaks(void)
{
  /* 40 subjects, 10 windows each, one random label per subject: the
   * features identify the subject, not the label.  Row-level folds leak
   * the subject's label; subject-level folds do not. */
  gsize S = 40, W = 10, n = S * W, d = 60;
  g_autofree float *z = g_new(float, n *d);
  g_autofree gint32 *y = g_new(gint32, n);
  g_autofree gint64 *subject = g_new(gint64, n);
  g_autofree float *proto = g_new(float, S *d);
  LetheRng rng;
  lethe_rng_init(&rng, 8);
  lethe_rng_fill_normal_f32(&rng, proto, S * d, 0, 1);
  for (gsize s = 0; s < S; s++) {
    gint32 label = (gint32)(s % 2);
    for (gsize w = 0; w < W; w++) {
      gsize i = s * W + w;
      y[i] = label;
      subject[i] = (gint64)(1000 + s);
      for (gsize j = 0; j < d; j++)
        z[i * d + j] = proto[s * d + j] + 0.05f * (float)lethe_rng_normal(&rng);
    }
  }
  ProbeParams p = {5, 0.1, 2};
  ProbeResult rows, subjects;
  GError *err = NULL;
  CU_ASSERT_TRUE(probe_cross_validate(&p, z, n, d, y, 2, 0, NULL, &rows, &err));
  CU_ASSERT_TRUE(probe_cross_validate(&p, z, n, d, y, 2, 0, subject, &subjects, &err));
  printf("\n    identity leak: row folds AUROC %.3f, subject folds %.3f\n", rows.auroc,
         subjects.auroc);
  CU_ASSERT(rows.auroc > 0.95);
  CU_ASSERT(subjects.auroc < 0.75);

  p.folds = 50;
  CU_ASSERT_FALSE(probe_cross_validate(&p, z, n, d, y, 2, 0, subject, &rows, &err));
  LETHE_ASSERT_ERROR(err, LETHE_ERROR, LETHE_ERROR_INVALID, "40 subjects cannot fill 50 folds");
}

LETHE_TEST_MAIN("probe", LETHE_TEST(test_probe_separates_clusters_and_not_noise),
                LETHE_TEST(test_probe_folds_by_subject_stop_identity_leaks))
