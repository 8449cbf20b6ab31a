/* Lethe — Selective Synaptic Dampening's arithmetic against hand-computed
 * values: importances, selection, dampening, the cap at 1.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <math.h>

#include "lethe-test.h"
#include "ssd-math.h"

static void
test_ssd_importance_is_mean_of_squared_batch_gradients(void)
{
  /* Three minibatches' mean gradients, exact in binary. */
  const float g[3][4] = {{0.5f, -1, 0, 2}, {-0.5f, 0.25f, 0, 2}, {1, 0.75f, 0, -1}};
  float imp[4] = {0};
  for (int m = 0; m < 3; m++)
    ssd_importance_accumulate(imp, g[m], 4, FALSE);
  ssd_importance_finish(imp, 4, 3);
  const float want[4] = {(0.25f + 0.25f + 1) / 3, (1 + 0.0625f + 0.5625f) / 3, 0, 9.0f / 3};
  for (int i = 0; i < 4; i++)
    CU_ASSERT_EQUAL(imp[i], want[i]);
  CU_ASSERT_EQUAL(imp[3], 3.0f);
}

static void
test_ssd_label_free_importance_is_mean_absolute_gradient(void)
{
  const float g[2][3] = {{0.5f, -1, -0.25f}, {-0.5f, 3, 0}};
  float imp[3] = {0};
  for (int m = 0; m < 2; m++)
    ssd_importance_accumulate(imp, g[m], 3, TRUE);
  ssd_importance_finish(imp, 3, 2);
  CU_ASSERT_EQUAL(imp[0], 0.5f);
  CU_ASSERT_EQUAL(imp[1], 2.0f);
  CU_ASSERT_EQUAL(imp[2], 0.125f);
}

static void
test_ssd_dampen_selects_strictly_and_caps_at_one(void)
{
  /* α = 2, λ = 1. */
  const float imp_d[7] = {1, 1, 1, 0, 0, 2, 0.5f};
  const float imp_f[7] = {2, 2.5f, 8, 0, 4, 1, 4};
  float theta[7] = {3, -2, 4, 5, -6, 7, -8};
  float before[7];
  memcpy(before, theta, sizeof theta);
  guint8 sel[7];
  gint64 n = ssd_dampen(theta, imp_d, imp_f, 7, 2.0, 1.0, sel);
  /* 0: 2 > 2·1 is false (strict); 1: 2.5 > 2, β = 1/2.5; 2: β = 1/8;
   * 3: 0 > 0 false; 4: 4 > 0, β = 0; 5: 1 > 4 false; 6: 4 > 1, β = 0.125. */
  const guint8 want_sel[7] = {0, 1, 1, 0, 1, 0, 1};
  CU_ASSERT_EQUAL(n, 4);
  for (int i = 0; i < 7; i++)
    CU_ASSERT_EQUAL(sel[i], want_sel[i]);
  CU_ASSERT_EQUAL(theta[0], 3);
  CU_ASSERT_EQUAL(theta[1], -2 * (1 / 2.5f));
  CU_ASSERT_EQUAL(theta[2], 0.5f);
  CU_ASSERT_EQUAL(theta[3], 5);
  CU_ASSERT_EQUAL(theta[4], 0); /* -6·0 */
  CU_ASSERT_EQUAL(theta[5], 7);
  CU_ASSERT_EQUAL(theta[6], -1);
  for (int i = 0; i < 7; i++) {
    CU_ASSERT(fabsf(theta[i]) <= fabsf(before[i]));
    if (!sel[i])
      CU_ASSERT_EQUAL(memcmp(&theta[i], &before[i], sizeof(float)), 0);
  }
}

static void
test_ssd_dampen_never_grows_a_parameter(void)
{
  /* λ = 10 would give β = 10·1/4 = 2.5: capped at 1, so θ stays. */
  const float imp_d[2] = {1, 1};
  const float imp_f[2] = {4, 40};
  float theta[2] = {-1.5f, 2};
  gint64 n = ssd_dampen(theta, imp_d, imp_f, 2, 2.0, 10.0, NULL);
  CU_ASSERT_EQUAL(n, 2);
  CU_ASSERT_EQUAL(theta[0], -1.5f);
  CU_ASSERT_EQUAL(theta[1], 2 * 0.25f);
}

LETHE_TEST_MAIN("ssd-math", LETHE_TEST(test_ssd_importance_is_mean_of_squared_batch_gradients),
                LETHE_TEST(test_ssd_label_free_importance_is_mean_absolute_gradient),
                LETHE_TEST(test_ssd_dampen_selects_strictly_and_caps_at_one),
                LETHE_TEST(test_ssd_dampen_never_grows_a_parameter))
