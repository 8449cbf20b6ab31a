/* Tests: pipelines/noprop-fmnist.lethe run by the built `lethe run` on
 * reduced data (6000 training and 2000 test images, T = 4, 2 epochs), with
 * assertions on what it writes to metrics.jsonl, and a bad block order.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "pipeline-run.h"

#define ASSERT_CONTAINS(haystack, needle)                                                          \
  do {                                                                                             \
    if (!strstr((haystack), (needle)))                                                             \
      fprintf(stderr, "\n  \"%s\" lacks \"%s\"\n", (haystack), (needle));                          \
    CU_ASSERT_PTR_NOT_NULL(strstr((haystack), (needle)));                                          \
  } while (0)

static void
test_noprop_pipeline_runs_beside_backprop(void)
{
  if (!have_fmnist())
    return;
  g_autofree char *dir = NULL, *err = NULL;
  const char *args[] = {
      SMALL, "noprop.T=4", "noprop.epochs=2", "backprop.epochs=2", "noprop.eval-seeds=2", NULL};
  int status = run_pipeline("noprop-fmnist.lethe", args, &dir, &err);
  if (status != 0)
    fprintf(stderr, "\n%s\n", err);
  CU_ASSERT_EQUAL_FATAL(status, 0);
  double np = metric(dir, "noprop", "test_acc", -1);
  double np_last = metric(dir, "noprop", "test_acc_epoch", 2);
  double np_eval = metric(dir, "noprop-eval", "avg_acc", -1);
  double bp = metric(dir, "backprop-eval", "avg_acc", -1);
  fprintf(stderr,
          "\n  noprop test_acc %.4f (seed of the frame %.4f, via cl-metrics %.4f), "
          "backprop %.4f\n",
          np, np_last, np_eval, bp);
  CU_ASSERT_TRUE(np > 0.5); /* chance is 0.1 */
  CU_ASSERT_TRUE(bp > 0.7);
  /* cl-metrics runs the model frame through the `noprop` model kind with
   * the frame's inference seed: the node's own number for that seed. */
  CU_ASSERT_DOUBLE_EQUAL(np_eval, np_last, 1e-12);
  CU_ASSERT_TRUE(metric(dir, "noprop", "test_acc_std", -1) < 0.02);
  remove_tree(dir);
}

static void
test_noprop_pipeline_refuses_a_bad_block_order(void)
{
  if (!have_fmnist())
    return;
  g_autofree char *dir = NULL, *err = NULL;
  const char *args[] = {SMALL, "noprop.T=3", "noprop.block-order=3,3,1", NULL};
  CU_ASSERT_NOT_EQUAL(run_pipeline("noprop-fmnist.lethe", args, &dir, &err), 0);
  ASSERT_CONTAINS(err, "noprop");
  ASSERT_CONTAINS(err, "'block-order' is '3,3,1'; use forward, reverse, random, or a list of every "
                       "block 1…3 once");
  remove_tree(dir);
}

LETHE_TEST_MAIN("noprop-pipeline", LETHE_TEST(test_noprop_pipeline_runs_beside_backprop),
                LETHE_TEST(test_noprop_pipeline_refuses_a_bad_block_order))
