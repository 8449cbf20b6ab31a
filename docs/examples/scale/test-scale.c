/* Tests of the scale node with the harness of <lethe/check.h>.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The node runs alone in this process: frames go in with
 * lethe_check_push(), come out with lethe_check_pull().
 */
#include <lethe/check.h>
#include <string.h>

extern const LetheNodeType scale_type;

static LetheFrame *
frame_of(const float *values, gint64 n)
{
  LetheTensor *x = lethe_tensor_new_1d(LETHE_DTYPE_F32, n);
  for (gint64 i = 0; i < n; i++)
    lethe_tensor_f32(x)[i] = values[i];
  LetheFrame *frame = lethe_frame_new();
  lethe_frame_take_tensor(frame, "x", x);
  return frame;
}

static void
test_scale_multiplies_and_copies_a_shared_frame(void)
{
  g_autoptr(GError) error = NULL;
  const float values[] = {1, 2, 3};
  g_autoptr(LetheCheck) h =
      lethe_check_new(&scale_type, (const char *const[]){"factor=10", NULL}, &error);
  g_assert_no_error(error);

  /* Keep a reference: the frame is shared, so the node must not write to it. */
  g_autoptr(LetheFrame) in = frame_of(values, 3);
  g_assert_true(lethe_check_push(h, "input", lethe_frame_ref(in), &error));
  g_assert_no_error(error);
  g_autoptr(LetheFrame) out = lethe_check_pull(h, "output");
  g_assert_nonnull(out);
  g_assert_true(out != in);
  const float *y = lethe_tensor_f32(lethe_frame_get_tensor(out, "x"));
  g_assert_cmpfloat(y[0], ==, 10);
  g_assert_cmpfloat(y[2], ==, 30);
  g_assert_cmpfloat(lethe_tensor_f32(lethe_frame_get_tensor(in, "x"))[2], ==, 3);

  g_assert_true(lethe_check_push_eos(h, NULL, &error));
  g_assert_true(lethe_check_is_eos(h, "output"));
}

static void
test_scale_names_a_missing_tensor(void)
{
  g_autoptr(GError) error = NULL;
  const float values[] = {1};
  g_autoptr(LetheCheck) h =
      lethe_check_new(&scale_type, (const char *const[]){"tensor=features", NULL}, &error);
  g_assert_no_error(error);
  g_assert_false(lethe_check_push(h, "input", frame_of(values, 1), &error));
  g_assert_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND);
  g_assert_nonnull(strstr(error->message, "no tensor 'features'"));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/scale/multiplies-and-copies-a-shared-frame",
                  test_scale_multiplies_and_copies_a_shared_frame);
  g_test_add_func("/scale/names-a-missing-tensor", test_scale_names_a_missing_tensor);
  return g_test_run();
}
