/* Lethe — metric formulas on hand-built cases with known answers.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every expected value below is worked out by hand in the comment next to
 * it, from the definitions in docs/metrics.md.
 */
#include <math.h>

#include <lethe/error.h>
#include <lethe/metrics.h>
#include <lethe/nn-rng.h>
#include <lethe/nn-stats.h>

#include "lethe-test.h"

#define EPS                       1e-9
#define ASSERT_NEAR(x, want, tol) CU_ASSERT_DOUBLE_EQUAL((x), (want), (tol))

/* Three tasks.  Row i: after training task i; column j: task j.
 * The entries above the diagonal (tasks not yet learned) are used by FWT
 * only. */
static const double acc3[9] = {
    0.80, 0.30, 0.20, /* after task 0 */
    0.90, 0.85, 0.25, /* after task 1: task 0 improved (backward transfer) */
    0.60, 0.70, 0.95, /* after task 2 */
};

static void
test_avg_acc_is_mean_of_last_row(void)
{
  /* (0.60 + 0.70 + 0.95) / 3 */
  ASSERT_NEAR(lethe_metrics_avg_acc(acc3, 3), 0.75, EPS);
  /* A_1 = (0.90 + 0.85) / 2 */
  ASSERT_NEAR(lethe_metrics_avg_acc_at(acc3, 3, 1), 0.875, EPS);
  ASSERT_NEAR(lethe_metrics_avg_acc_at(acc3, 3, 0), 0.80, EPS);
}

static void
test_avg_inc_acc_includes_base_step(void)
{
  /* (A_0 + A_1 + A_2) / 3 = (0.80 + 0.875 + 0.75) / 3 */
  ASSERT_NEAR(lethe_metrics_avg_inc_acc(acc3, 3), 2.425 / 3.0, EPS);
}

static void
test_forgetting_max_uses_best_earlier_accuracy(void)
{
  /* task 0: max(0.80, 0.90) − 0.60 = 0.30; task 1: 0.85 − 0.70 = 0.15 */
  ASSERT_NEAR(lethe_metrics_forgetting_max(acc3, 3), 0.225, EPS);
  /* F_1: 0.80 − 0.90 = −0.10 (task 0 got better) */
  ASSERT_NEAR(lethe_metrics_forgetting_max_at(acc3, 3, 1), -0.10, EPS);
  CU_ASSERT_TRUE(isnan(lethe_metrics_forgetting_max_at(acc3, 3, 0)));
}

static void
test_forgetting_max_ignores_rows_before_the_task_was_learned(void)
{
  /* A high accuracy on task 1 before it was trained (as in task-IL with
   * two classes) is not a peak that can be forgotten. */
  double a[9];
  memcpy(a, acc3, sizeof a);
  a[0 * 3 + 1] = 0.99;
  ASSERT_NEAR(lethe_metrics_forgetting_max(a, 3), 0.225, EPS);
}

static void
test_forgetting_first_last_differs_from_max(void)
{
  /* task 0: 0.80 − 0.60 = 0.20; task 1: 0.85 − 0.70 = 0.15 */
  ASSERT_NEAR(lethe_metrics_forgetting_first_last(acc3, 3), 0.175, EPS);
  CU_ASSERT_TRUE(fabs(lethe_metrics_forgetting_first_last(acc3, 3) -
                      lethe_metrics_forgetting_max(acc3, 3)) > 0.04);
}

static void
test_bwt_is_minus_first_last_forgetting(void)
{
  ASSERT_NEAR(lethe_metrics_bwt(acc3, 3), -0.175, EPS);
  double up[4] = {0.5, 0.0, 0.7, 0.9}; /* task 0 rose from 0.5 to 0.7 */
  ASSERT_NEAR(lethe_metrics_bwt(up, 2), 0.2, EPS);
}

static void
test_fwt_uses_entries_above_diagonal_and_before_row(void)
{
  const double before[3] = {0.10, 0.50, 0.10};
  /* task 1: a[0][1] − b1 = 0.30 − 0.50 = −0.20; task 2: 0.25 − 0.10 = 0.15 */
  ASSERT_NEAR(lethe_metrics_fwt(acc3, 3, before), -0.025, EPS);
  CU_ASSERT_TRUE(isnan(lethe_metrics_fwt(acc3, 3, NULL)));
}

static void
test_intransigence_against_joint_reference(void)
{
  const double joint[3] = {0.85, 0.90, 0.97};
  /* I_k = a*_k − a[k][k]: 0.05, 0.05, 0.02 */
  ASSERT_NEAR(lethe_metrics_intransigence_at(acc3, 3, joint, 2), 0.02, EPS);
  ASSERT_NEAR(lethe_metrics_intransigence(acc3, 3, joint), 0.04, EPS);
  CU_ASSERT_TRUE(isnan(lethe_metrics_intransigence(acc3, 3, NULL)));
}

static void
test_old_new_acc_weighted_and_unweighted(void)
{
  double old_acc, new_acc;
  lethe_metrics_old_new_acc(acc3, 3, 2, NULL, &old_acc, &new_acc);
  ASSERT_NEAR(old_acc, 0.65, EPS); /* (0.60 + 0.70) / 2 */
  ASSERT_NEAR(new_acc, 0.95, EPS);
  const double n_test[3] = {1000, 3000, 2000};
  lethe_metrics_old_new_acc(acc3, 3, 2, n_test, &old_acc, NULL);
  ASSERT_NEAR(old_acc, (600.0 + 2100.0) / 4000.0, EPS);
  lethe_metrics_old_new_acc(acc3, 3, 0, NULL, &old_acc, &new_acc);
  CU_ASSERT_TRUE(isnan(old_acc));
  ASSERT_NEAR(new_acc, 0.80, EPS);
}

static void
test_metrics_read_only_the_entries_they_need(void)
{
  /* Without the evaluations of unseen tasks every metric but FWT stands. */
  double a[9];
  memcpy(a, acc3, sizeof a);
  a[1] = a[2] = a[5] = NAN;
  ASSERT_NEAR(lethe_metrics_avg_acc(a, 3), 0.75, EPS);
  ASSERT_NEAR(lethe_metrics_avg_inc_acc(a, 3), 2.425 / 3.0, EPS);
  ASSERT_NEAR(lethe_metrics_forgetting_max(a, 3), 0.225, EPS);
  ASSERT_NEAR(lethe_metrics_bwt(a, 3), -0.175, EPS);
  const double before[3] = {0.1, 0.5, 0.1};
  CU_ASSERT_TRUE(isnan(lethe_metrics_fwt(a, 3, before)));
}

static void
test_single_task_metrics_that_need_two_are_nan(void)
{
  const double one[1] = {0.9};
  ASSERT_NEAR(lethe_metrics_avg_acc(one, 1), 0.9, EPS);
  ASSERT_NEAR(lethe_metrics_avg_inc_acc(one, 1), 0.9, EPS);
  CU_ASSERT_TRUE(isnan(lethe_metrics_bwt(one, 1)));
  CU_ASSERT_TRUE(isnan(lethe_metrics_forgetting_max(one, 1)));
  CU_ASSERT_TRUE(isnan(lethe_metrics_forgetting_first_last(one, 1)));
}

static void
test_matrix_to_json_writes_nested_lists_and_null(void)
{
  const double m[4] = {1.0, 0.5, 0.25, NAN};
  g_autofree char *json = lethe_metrics_matrix_to_json(m, 2, 2);
  CU_ASSERT_STRING_EQUAL(json, "[[1,0.5],[0.25,null]]");
  const double r[3] = {0.1, 0.2, 0.3};
  g_autofree char *row = lethe_metrics_matrix_to_json(r, 1, 3);
  CU_ASSERT_STRING_EQUAL(row, "[[0.1,0.2,0.3]]");
}

static void
test_accuracy_with_and_without_task_mask(void)
{
  const float logits[3 * 4] = {
      5, 1, 0, 0, /* predicts 0 */
      0, 1, 3, 0, /* predicts 2; among {0,1}: 1 */
      0, 0, 1, 2, /* predicts 3; among {0,1}: tie → 0 */
  };
  const gint32 labels[3] = {0, 1, 0};
  /* class-IL: rows 0 right, 1 wrong (2 ≠ 1), 2 wrong (3 ≠ 0) */
  ASSERT_NEAR(lethe_metrics_accuracy(logits, 3, 4, labels, NULL), 1.0 / 3.0, EPS);
  /* task-IL with task {0, 1}: all three right */
  const gboolean mask[4] = {TRUE, TRUE, FALSE, FALSE};
  ASSERT_NEAR(lethe_metrics_accuracy(logits, 3, 4, labels, mask), 1.0, EPS);
  CU_ASSERT_TRUE(isnan(lethe_metrics_accuracy(logits, 0, 4, labels, NULL)));
}

static void
test_entropies_and_losses(void)
{
  const float logits[3 * 4] = {
      0,          0,           0,           0,         /* uniform: H = ln 4 */
      logf(0.5f), logf(0.25f), logf(0.25f), -INFINITY, /* H = 1.5 ln 2 */
      1000,       0,           0,           0, /* one-hot up to e^−1000: H ≈ 0, no NaN */
  };
  double h[3];
  lethe_metrics_entropies(logits, 3, 4, h);
  ASSERT_NEAR(h[0], log(4.0), 1e-9);
  ASSERT_NEAR(h[1], 1.5 * log(2.0), 1e-6);
  ASSERT_NEAR(h[2], 0.0, 1e-9);
  const gint32 labels[3] = {3, 1, 0};
  double loss[3];
  lethe_metrics_losses(logits, 3, 4, labels, loss);
  ASSERT_NEAR(loss[0], log(4.0), 1e-9);
  ASSERT_NEAR(loss[1], log(4.0), 1e-6); /* −ln 0.25 */
  ASSERT_NEAR(loss[2], 0.0, 1e-9);
}

static void
test_roc_auc_counts_pairs_and_half_ties(void)
{
  const double hi[2] = {3, 4}, lo[2] = {1, 2};
  ASSERT_NEAR(lethe_metrics_roc_auc(hi, 2, lo, 2), 1.0, EPS);
  ASSERT_NEAR(lethe_metrics_roc_auc(lo, 2, hi, 2), 0.0, EPS);
  /* pairs (1,2) (1,4) (3,2) (3,4): one win */
  const double p[2] = {1, 3}, n[2] = {2, 4};
  ASSERT_NEAR(lethe_metrics_roc_auc(p, 2, n, 2), 0.25, EPS);
  /* against 2: 1 loses, 2 ties (½), 3 wins: 1.5 / 3 */
  const double p3[3] = {1, 2, 3}, two[1] = {2};
  ASSERT_NEAR(lethe_metrics_roc_auc(p3, 3, two, 1), 0.5, EPS);
  CU_ASSERT_TRUE(isnan(lethe_metrics_roc_auc(p3, 3, two, 0)));
}

static void
test_roc_auc_agrees_with_nn_stats(void)
{
  /* Two independent implementations of the same statistic, on scores with
   * many ties (rounded to tenths). */
  double pos[150], neg[100], all[250];
  gint32 labels[250];
  LetheRng rng;
  lethe_rng_init(&rng, 11);
  for (int i = 0; i < 250; i++) {
    double v = round(10.0 * (lethe_rng_normal(&rng) + (i < 150 ? 0.7 : 0.0))) / 10.0;
    if (i < 150)
      pos[i] = v;
    else
      neg[i - 150] = v;
    all[i] = v;
    labels[i] = i < 150;
  }
  GError *error = NULL;
  double reference = lethe_roc_auc_f64(all, labels, 250, &error);
  LETHE_ASSERT_NO_ERROR(error);
  double auc = lethe_metrics_roc_auc(pos, 150, neg, 100);
  CU_ASSERT_DOUBLE_EQUAL(auc, reference, 1e-12);
  CU_ASSERT_TRUE(auc > 0.6 && auc < 0.9);
}

static void
test_best_threshold_accuracy_is_balanced(void)
{
  const double hi[2] = {3, 4}, lo[2] = {1, 2};
  ASSERT_NEAR(lethe_metrics_best_threshold_accuracy(hi, 2, lo, 2), 1.0, EPS);
  /* t in (1, 2]: TPR 1, TNR ½ → ¾; t in (4, 5]: TPR ⅓, TNR 1 → ⅔ */
  const double p[3] = {2, 3, 5}, n[2] = {1, 4};
  ASSERT_NEAR(lethe_metrics_best_threshold_accuracy(p, 3, n, 2), 0.75, EPS);
  /* nothing separates interleaved scores better than chance */
  const double pi[2] = {1, 3}, ni[2] = {2, 4};
  ASSERT_NEAR(lethe_metrics_best_threshold_accuracy(pi, 2, ni, 2), 0.5, EPS);
}

static void
test_mia_loss_low_loss_means_member(void)
{
  const double members[2] = {0.1, 0.2}, unseen[2] = {1.0, 2.0};
  double auc = 0, acc = 0;
  CU_ASSERT_TRUE(lethe_metrics_mia_loss(members, 2, unseen, 2, &auc, &acc));
  ASSERT_NEAR(auc, 1.0, EPS);
  ASSERT_NEAR(acc, 1.0, EPS);
  /* scores −1, −0.1 vs −0.5, −2: three of four pairs ranked right */
  const double m2[2] = {1.0, 0.1}, u2[2] = {0.5, 2.0};
  CU_ASSERT_TRUE(lethe_metrics_mia_loss(m2, 2, u2, 2, &auc, &acc));
  ASSERT_NEAR(auc, 0.75, EPS);
  ASSERT_NEAR(acc, 0.75, EPS);
  CU_ASSERT_FALSE(lethe_metrics_mia_loss(m2, 0, u2, 2, &auc, &acc));
}

static void
test_mia_entropy_boundary_is_midpoint_of_mirrored_sets(void)
{
  /* Members and non-members mirror each other about 0.65, so the fitted
   * boundary is exactly 0.65 (the objective is symmetric under x → 1.3 − x
   * with the labels swapped). */
  const double members[3] = {0.1, 0.2, 0.3}, unseen[3] = {1.0, 1.1, 1.2};
  const double forget[4] = {0.64, 0.66, 0.0, 2.0};
  GError *error = NULL;
  double mia = lethe_metrics_mia_entropy(members, 3, unseen, 3, forget, 4, &error);
  LETHE_ASSERT_NO_ERROR(error);
  ASSERT_NEAR(mia, 0.5, EPS); /* 0.64 and 0.0 look like members */
  const double near_side[2] = {0.649, 0.651};
  mia = lethe_metrics_mia_entropy(members, 3, unseen, 3, near_side, 2, &error);
  ASSERT_NEAR(mia, 0.5, EPS);
}

static void
test_mia_entropy_balances_class_sizes(void)
{
  /* Each non-member twice: with balanced weights the objective only scales,
   * so the boundary stays at 0.65. */
  const double members[3] = {0.1, 0.2, 0.3};
  const double unseen[6] = {1.0, 1.0, 1.1, 1.1, 1.2, 1.2};
  const double forget[2] = {0.649, 0.651};
  GError *error = NULL;
  double mia = lethe_metrics_mia_entropy(members, 3, unseen, 6, forget, 2, &error);
  LETHE_ASSERT_NO_ERROR(error);
  ASSERT_NEAR(mia, 0.5, EPS);
}

static void
test_mia_entropy_overlapping_sets(void)
{
  /* Overlapping, mirrored about 1: boundary at exactly 1. */
  const double members[3] = {0, 0, 1}, unseen[3] = {1, 2, 2};
  const double forget[3] = {0.99, 1.01, 5};
  GError *error = NULL;
  double mia = lethe_metrics_mia_entropy(members, 3, unseen, 3, forget, 3, &error);
  LETHE_ASSERT_NO_ERROR(error);
  ASSERT_NEAR(mia, 1.0 / 3.0, EPS);
}

static void
test_mia_entropy_rejects_empty_and_nan(void)
{
  const double members[2] = {0.1, 0.2}, unseen[2] = {1, 2}, bad[1] = {NAN};
  GError *error = NULL;
  double mia = lethe_metrics_mia_entropy(members, 2, unseen, 0, members, 2, &error);
  CU_ASSERT_TRUE(isnan(mia));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID, "non-empty retain, test and forget");
  mia = lethe_metrics_mia_entropy(members, 2, unseen, 2, bad, 1, &error);
  CU_ASSERT_TRUE(isnan(mia));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NUMERIC, "target value 0 is not finite");
}

static void
test_activation_distance_is_l2_of_probabilities(void)
{
  const float a[2 * 2] = {0, 0, 1, 2};
  const float b[2 * 2] = {logf(0.9f), logf(0.1f), 1, 2};
  /* row 0: ‖(0.5 − 0.9, 0.5 − 0.1)‖ = 0.4√2; row 1: identical → 0 */
  ASSERT_NEAR(lethe_metrics_activation_distance(a, b, 2, 2), 0.4 * sqrt(2.0) / 2.0, 1e-7);
  ASSERT_NEAR(lethe_metrics_activation_distance(a, a, 2, 2), 0.0, EPS);
}

static void
test_js_divergence_textbook_values(void)
{
  const double u[2] = {0.5, 0.5}, one[2] = {1, 0}, other[2] = {0, 1};
  /* JS = H(m) − (H(p) + H(q))/2 with m = (0.75, 0.25) */
  ASSERT_NEAR(lethe_metrics_js(u, one, 2), 0.21576155433883565, 1e-12);
  ASSERT_NEAR(lethe_metrics_js(one, u, 2), 0.21576155433883565, 1e-12); /* symmetric */
  ASSERT_NEAR(lethe_metrics_js(one, other, 2), log(2.0), 1e-12);        /* the maximum */
  ASSERT_NEAR(lethe_metrics_js(u, u, 2), 0.0, 1e-15);
  const float a[2] = {0, 0}, b[2] = {logf(0.9f), logf(0.1f)};
  /* m = (0.7, 0.3): H(m) − (ln 2 + H(0.9, 0.1))/2 */
  ASSERT_NEAR(lethe_metrics_js_divergence(a, b, 1, 2), 0.10174922507919681, 1e-7);
}

static void
test_relearn_epochs_first_epoch_reaching_target(void)
{
  const double curve[4] = {0.1, 0.3, 0.8, 0.9};
  CU_ASSERT_EQUAL(lethe_metrics_relearn_epochs(curve, 4, 0.76), 2);
  CU_ASSERT_EQUAL(lethe_metrics_relearn_epochs(curve, 4, 0.05), 0);
  CU_ASSERT_EQUAL(lethe_metrics_relearn_epochs(curve, 4, 0.95), -1);
}

static void
test_oracle_gap_and_tow(void)
{
  ASSERT_NEAR(lethe_metrics_oracle_gap(0.3, 0.1), 0.2, EPS);
  ASSERT_NEAR(lethe_metrics_oracle_gap(0.1, 0.3), 0.2, EPS);
  /* (1 − 0.2)(1 − 0.1)(1 − 0.05) */
  ASSERT_NEAR(lethe_metrics_tow(0.3, 0.9, 0.85, 0.1, 1.0, 0.9), 0.684, EPS);
  ASSERT_NEAR(lethe_metrics_tow(0.1, 1.0, 0.9, 0.1, 1.0, 0.9), 1.0, EPS);
}

LETHE_TEST_MAIN("metrics", LETHE_TEST(test_avg_acc_is_mean_of_last_row),
                LETHE_TEST(test_avg_inc_acc_includes_base_step),
                LETHE_TEST(test_forgetting_max_uses_best_earlier_accuracy),
                LETHE_TEST(test_forgetting_max_ignores_rows_before_the_task_was_learned),
                LETHE_TEST(test_forgetting_first_last_differs_from_max),
                LETHE_TEST(test_bwt_is_minus_first_last_forgetting),
                LETHE_TEST(test_fwt_uses_entries_above_diagonal_and_before_row),
                LETHE_TEST(test_intransigence_against_joint_reference),
                LETHE_TEST(test_old_new_acc_weighted_and_unweighted),
                LETHE_TEST(test_metrics_read_only_the_entries_they_need),
                LETHE_TEST(test_single_task_metrics_that_need_two_are_nan),
                LETHE_TEST(test_matrix_to_json_writes_nested_lists_and_null),
                LETHE_TEST(test_accuracy_with_and_without_task_mask),
                LETHE_TEST(test_entropies_and_losses),
                LETHE_TEST(test_roc_auc_counts_pairs_and_half_ties),
                LETHE_TEST(test_roc_auc_agrees_with_nn_stats),
                LETHE_TEST(test_best_threshold_accuracy_is_balanced),
                LETHE_TEST(test_mia_loss_low_loss_means_member),
                LETHE_TEST(test_mia_entropy_boundary_is_midpoint_of_mirrored_sets),
                LETHE_TEST(test_mia_entropy_balances_class_sizes),
                LETHE_TEST(test_mia_entropy_overlapping_sets),
                LETHE_TEST(test_mia_entropy_rejects_empty_and_nan),
                LETHE_TEST(test_activation_distance_is_l2_of_probabilities),
                LETHE_TEST(test_js_divergence_textbook_values),
                LETHE_TEST(test_relearn_epochs_first_epoch_reaching_target),
                LETHE_TEST(test_oracle_gap_and_tow))
