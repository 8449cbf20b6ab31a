/* Model kinds: built-in ones first, else the plugin that registers the kind,
 * loaded on first use through the default registry.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "lethe-test.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <lethe/lethe.h>

static char *plugin_dir;

/* The default registry reads the environment once: point it at a folder
 * holding only the test plugin before anything asks for it. */
static void
use_test_plugin_folder(void)
{
  if (plugin_dir)
    return;
  plugin_dir = g_dir_make_tmp("lethe-model-kind-XXXXXX", NULL);
  g_autofree char *file = g_strconcat("test-good.", G_MODULE_SUFFIX, NULL);
  g_autofree char *from =
      g_build_filename(g_getenv("LETHE_BUILD_ROOT"), "tests", "core", "plugins", file, NULL);
  g_autofree char *to = g_build_filename(plugin_dir, file, NULL);
  g_autoptr(GFile) src = g_file_new_for_path(from);
  g_autoptr(GFile) dst = g_file_new_for_path(to);
  g_assert(g_file_copy(src, dst, G_FILE_COPY_ALL_METADATA, NULL, NULL, NULL, NULL));
  g_chmod(to, 0755);
  g_chmod(plugin_dir, 0755);
  g_autofree char *cache = g_build_filename(plugin_dir, "cache.bin", NULL);
  g_setenv("LETHE_PLUGIN_SYSTEM_PATH", "", TRUE);
  g_setenv("LETHE_PLUGIN_PATH", plugin_dir, TRUE);
  g_setenv("LETHE_REGISTRY", cache, TRUE);
}

static int n_static_forward;

static gboolean
static_forward(const LetheFrame *model, LetheTensor *x, LetheTensor **out, GError **error)
{
  n_static_forward++;
  *out = lethe_tensor_ref(x);
  return TRUE;
}

static const LetheModelKind static_kind = {
    .name = "static-identity",
    .description = "returns its input",
    .forward = static_forward,
};

static LetheFrame *
model_frame(const char *kind)
{
  LetheFrame *f = lethe_frame_new();
  if (kind)
    lethe_frame_set_meta_string(f, "model-kind", kind);
  return f;
}

static void
test_model_kind_registered_in_process_comes_first(void)
{
  g_autoptr(GError) error = NULL;
  use_test_plugin_folder();
  lethe_model_kind_register(&static_kind);
  CU_ASSERT_PTR_EQUAL(lethe_model_kind_lookup("static-identity", &error), &static_kind);
  LETHE_ASSERT_NO_ERROR(error);

  g_autoptr(LetheFrame) model = model_frame("static-identity");
  LetheTensor *x = lethe_tensor_new_2d(LETHE_DTYPE_F32, 2, 3);
  LetheTensor *out = NULL;
  CU_ASSERT_TRUE(lethe_model_forward(model, x, &out, &error));
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_PTR_EQUAL(out, x);
  CU_ASSERT_EQUAL(n_static_forward, 1);
  lethe_tensor_unref(out);

  /* No backward: a clear refusal, not a crash. */
  LetheTensor *y = lethe_tensor_new_1d(LETHE_DTYPE_I32, 2);
  LetheFrame *grads = NULL;
  double loss = 0;
  CU_ASSERT_FALSE(lethe_model_loss_grad(model, x, y, &grads, &loss, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED,
                     "model kind 'static-identity' has no backward pass");
  lethe_tensor_unref(x);
  lethe_tensor_unref(y);
}

static void
test_model_kind_from_a_plugin_is_loaded_on_first_use(void)
{
  g_autoptr(GError) error = NULL;
  use_test_plugin_folder();
  LetheRegistry *registry = lethe_registry_get_default();
  CU_ASSERT_EQUAL(lethe_registry_get_n_loaded(registry), 0);

  const LetheModelKind *kind = lethe_model_kind_lookup("test-kind", &error);
  LETHE_ASSERT_NO_ERROR(error);
  CU_ASSERT_PTR_NOT_NULL_FATAL(kind);
  CU_ASSERT_STRING_EQUAL(kind->name, "test-kind");
  CU_ASSERT_STRING_EQUAL(kind->description, "A model kind of the test plugin");
  CU_ASSERT_EQUAL(lethe_registry_get_n_loaded(registry), 1);
  CU_ASSERT_PTR_EQUAL(lethe_model_kind_lookup("test-kind", &error), kind);
  CU_ASSERT_EQUAL(lethe_registry_get_n_loaded(registry), 1);

  /* Dispatch reaches the plugin's forward, which refuses on purpose. */
  g_autoptr(LetheFrame) model = model_frame("test-kind");
  LetheTensor *x = lethe_tensor_new_2d(LETHE_DTYPE_F32, 1, 1);
  LetheTensor *out = NULL;
  CU_ASSERT_FALSE(lethe_model_forward(model, x, &out, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED, "test-kind forward called");
  CU_ASSERT_PTR_NULL(out);
  lethe_tensor_unref(x);
}

static void
test_model_kind_unknown_or_missing_is_explained(void)
{
  g_autoptr(GError) error = NULL;
  use_test_plugin_folder();
  CU_ASSERT_PTR_NULL(lethe_model_kind_lookup("test-knd", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                     "unknown model kind 'test-knd'; did you mean 'test-kind'?");
  CU_ASSERT_PTR_NULL(lethe_model_kind_lookup("transformer-xl", &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                     "unknown model kind 'transformer-xl': no plugin registers it");

  g_autoptr(LetheFrame) model = model_frame(NULL);
  LetheTensor *x = lethe_tensor_new_2d(LETHE_DTYPE_F32, 1, 1);
  LetheTensor *out = NULL;
  CU_ASSERT_FALSE(lethe_model_forward(model, x, &out, &error));
  LETHE_ASSERT_ERROR(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                     "the model frame has no \"model-kind\" metadata");
  lethe_tensor_unref(x);
}

LETHE_TEST_MAIN("model-kind", LETHE_TEST(test_model_kind_registered_in_process_comes_first),
                LETHE_TEST(test_model_kind_from_a_plugin_is_loaded_on_first_use),
                LETHE_TEST(test_model_kind_unknown_or_missing_is_explained))
