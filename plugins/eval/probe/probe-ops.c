/* Lethe — linear probes with subject-level cross-validation.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "probe-ops.h"

#include <math.h>

#include <lethe/error.h>
#include <lethe/nn-rng.h>
#include <lethe/nn-stats.h>

/* Fold of each row: subjects in first-seen order, shuffled, dealt round-robin. */
static gboolean
assign_folds(const ProbeParams *p, gsize n, const gint64 *subject, guint *fold, GError **error)
{
  g_autoptr(GHashTable) index = g_hash_table_new(g_int64_hash, g_int64_equal);
  g_autofree gint64 *sid = g_new(gint64, n);
  g_autofree gint64 *of_row = g_new(gint64, n);
  gsize n_subjects = 0;
  for (gsize i = 0; i < n; i++) {
    gint64 s = subject ? subject[i] : (gint64)i;
    gpointer v;
    if (!g_hash_table_lookup_extended(index, &s, NULL, &v)) {
      sid[n_subjects] = s;
      v = GSIZE_TO_POINTER(n_subjects + 1);
      g_hash_table_insert(index, &sid[n_subjects], v);
      n_subjects++;
    }
    of_row[i] = (gint64)GPOINTER_TO_SIZE(v) - 1;
  }
  if (n_subjects < p->folds) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%" G_GSIZE_FORMAT " subjects cannot fill %u folds; lower folds", n_subjects,
                p->folds);
    return FALSE;
  }
  g_autofree gint64 *perm = g_new(gint64, n_subjects);
  g_autofree guint *subject_fold = g_new(guint, n_subjects);
  LetheRng rng;
  lethe_rng_init(&rng, p->seed);
  lethe_rng_permutation(&rng, perm, n_subjects);
  for (gsize k = 0; k < n_subjects; k++)
    subject_fold[perm[k]] = (guint)(k % p->folds);
  for (gsize i = 0; i < n; i++)
    fold[i] = subject_fold[of_row[i]];
  return TRUE;
}

gboolean
probe_cross_validate(const ProbeParams *p, const float *z, gsize n, gsize d, const gint32 *y,
                     gsize n_classes, gsize n_labels, const gint64 *subject, ProbeResult *result,
                     GError **error)
{
  /* Tasks: one binary problem per label, per class (one-vs-rest), or one. */
  gboolean multilabel = n_labels > 0;
  gsize n_tasks = multilabel ? n_labels : (n_classes <= 2 ? 1 : n_classes);
  g_autofree guint *fold = g_new(guint, n);
  g_autofree double *prob = g_new(double, n *n_tasks);
  g_autofree gint32 *target = g_new(gint32, n * n_tasks); /* task-major */
  for (gsize t = 0; t < n_tasks; t++)
    for (gsize i = 0; i < n; i++)
      target[t * n + i] = multilabel     ? y[i * n_labels + t] != 0
                          : n_tasks == 1 ? y[i] == 1
                                         : y[i] == (gint32)t;
  if (!assign_folds(p, n, subject, fold, error))
    return FALSE;

  g_autofree double *xtr = g_new(double, n *d), *xte = g_new(double, n *d);
  g_autofree double *mean = g_new(double, d), *sd = g_new(double, d), *w = g_new(double, d);
  g_autofree gint32 *ytr = g_new(gint32, n);
  g_autofree double *pte = g_new(double, n);
  for (guint f = 0; f < p->folds; f++) {
    gsize ntr = 0, nte = 0;
    for (gsize j = 0; j < d; j++)
      mean[j] = sd[j] = 0;
    for (gsize i = 0; i < n; i++)
      if (fold[i] != f) {
        for (gsize j = 0; j < d; j++)
          mean[j] += z[i * d + j];
        ntr++;
      }
    for (gsize j = 0; j < d; j++)
      mean[j] /= MAX(ntr, 1);
    for (gsize i = 0; i < n; i++)
      if (fold[i] != f)
        for (gsize j = 0; j < d; j++)
          sd[j] += (z[i * d + j] - mean[j]) * (z[i * d + j] - mean[j]);
    for (gsize j = 0; j < d; j++)
      sd[j] = sqrt(sd[j] / MAX(ntr, 1)) + 1e-8;
    ntr = 0;
    for (gsize i = 0; i < n; i++) {
      double *row = fold[i] != f ? xtr + (ntr++) * d : xte + (nte++) * d;
      for (gsize j = 0; j < d; j++)
        row[j] = (z[i * d + j] - mean[j]) / sd[j];
    }
    for (gsize t = 0; t < n_tasks; t++) {
      gsize k = 0;
      for (gsize i = 0; i < n; i++)
        if (fold[i] != f)
          ytr[k++] = target[t * n + i];
      double b = 0;
      if (!lethe_logistic_fit_f64(xtr, ntr, d, ytr, p->l2, TRUE, 100, w, &b, error)) {
        g_prefix_error(error, "fold %u, task %" G_GSIZE_FORMAT ": ", f, t);
        return FALSE;
      }
      lethe_logistic_predict_f64(xte, nte, d, w, b, pte);
      k = 0;
      for (gsize i = 0; i < n; i++)
        if (fold[i] == f)
          prob[t * n + i] = pte[k++];
    }
  }

  double auroc = 0, f1 = 0;
  guint counted = 0;
  g_autofree gint32 *pred = g_new(gint32, n);
  for (gsize t = 0; t < n_tasks; t++) {
    gsize pos = 0;
    for (gsize i = 0; i < n; i++)
      pos += target[t * n + i];
    if (pos > 0 && pos < n) {
      auroc += lethe_roc_auc_f64(prob + t * n, target + t * n, n, NULL);
      counted++;
    }
    for (gsize i = 0; i < n; i++)
      pred[i] = prob[t * n + i] >= 0.5;
    f1 += lethe_macro_f1(pred, target + t * n, n, 2);
  }
  result->n_tasks = counted;
  result->auroc = counted ? auroc / counted : NAN;
  if (!multilabel && n_tasks > 1) {
    /* Multi-class: arg-max over the one-vs-rest probabilities. */
    for (gsize i = 0; i < n; i++) {
      gsize best = 0;
      for (gsize t = 1; t < n_tasks; t++)
        if (prob[t * n + i] > prob[best * n + i])
          best = t;
      pred[i] = (gint32)best;
    }
    result->macro_f1 = lethe_macro_f1(pred, y, n, n_classes);
  } else {
    result->macro_f1 = f1 / n_tasks;
  }
  return TRUE;
}
