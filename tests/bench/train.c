/* Lethe — training throughput on Fashion-MNIST.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   tests/bench/train MODEL EPOCHS BATCH [THREADS]
 *
 * MODEL is `mlp` (784-256-256-10, ReLU) or `cnn` (two 3×3 conv + pool
 * blocks, then 1568-128-10).  Adam, lr 1e-3, seed 42, inputs scaled to
 * [0, 1].  Prints one line, the same as tests/bench/torch_train.py:
 *   lethe MODEL epochs=E batch=B train_samples_per_s=S test_acc=A seconds=T
 * where S counts training samples over the training time only.
 */
#include <gio/gio.h>
#include <lethe/lethe.h>
#include <lethe/nn.h>
#include <stdio.h>
#include <stdlib.h>

#define FMNIST "/usr/share/datasets/fashion-mnist/"

static const char *const MLP_ARCH =
    "flatten linear(784,256) relu linear(256,256) relu linear(256,10)";
static const char *const CNN_ARCH =
    "conv2d(1,16,3,pad=1) relu maxpool(2) conv2d(16,32,3,pad=1) relu maxpool(2) flatten "
    "linear(1568,128) relu linear(128,10)";

/* Reads a gzip-compressed IDX file whole. */
static GBytes *
read_gz(const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = g_file_new_for_path(path);
  g_autoptr(GInputStream) raw = G_INPUT_STREAM(g_file_read(file, NULL, &error));
  if (!raw) {
    fprintf(stderr, "train: %s\n", error->message);
    exit(1);
  }
  g_autoptr(GZlibDecompressor) z = g_zlib_decompressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr(GInputStream) in = g_converter_input_stream_new(raw, G_CONVERTER(z));
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable();
  if (g_output_stream_splice(out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error) < 0) {
    fprintf(stderr, "train: %s: %s\n", path, error->message);
    exit(1);
  }
  return g_memory_output_stream_steal_as_bytes(G_MEMORY_OUTPUT_STREAM(out));
}

static guint32
be32(const guint8 *p)
{
  return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

static void
load(const char *images, const char *labels, LetheTensor **x, LetheTensor **y)
{
  g_autoptr(GBytes) ib = read_gz(images), lb = read_gz(labels);
  gsize isz, lsz;
  const guint8 *id = g_bytes_get_data(ib, &isz), *ld = g_bytes_get_data(lb, &lsz);
  if (isz < 16 || lsz < 8 || be32(id) != 0x803 || be32(ld) != 0x801) {
    fprintf(stderr, "train: %s or %s is not an IDX file\n", images, labels);
    exit(1);
  }
  const gint64 n = be32(id + 4), h = be32(id + 8), w = be32(id + 12);
  if (isz < 16 + (gsize)(n * h * w) || lsz < 8 + (gsize)n) {
    fprintf(stderr, "train: %s is truncated\n", images);
    exit(1);
  }
  *x = lethe_tensor_new_uninit(LETHE_DTYPE_F32, 4, (gint64[]){n, 1, h, w});
  *y = lethe_tensor_new_uninit(LETHE_DTYPE_I32, 1, (gint64[]){n});
  for (gint64 i = 0; i < n * h * w; i++)
    lethe_tensor_f32(*x)[i] = id[16 + i] / 255.0f;
  for (gint64 i = 0; i < n; i++)
    lethe_tensor_i32(*y)[i] = ld[8 + i];
}

int
main(int argc, char **argv)
{
  if (argc < 4 || (strcmp(argv[1], "mlp") && strcmp(argv[1], "cnn"))) {
    fprintf(stderr, "usage: %s mlp|cnn EPOCHS BATCH [THREADS]\n", argv[0]);
    return 2;
  }
  const char *model = argv[1];
  const int epochs = atoi(argv[2]), batch = atoi(argv[3]);
  const int threads = argc > 4 ? atoi(argv[4]) : 2;
  lethe_init();
  lethe_nn_set_threads(threads);
  g_autoptr(LetheTensor) xtr = NULL, ytr = NULL, xte = NULL, yte = NULL;
  load(FMNIST "train-images-idx3-ubyte.gz", FMNIST "train-labels-idx1-ubyte.gz", &xtr, &ytr);
  load(FMNIST "t10k-images-idx3-ubyte.gz", FMNIST "t10k-labels-idx1-ubyte.gz", &xte, &yte);

  g_autoptr(GError) error = NULL;
  LetheSequential *seq =
      lethe_sequential_new(g_str_equal(model, "mlp") ? MLP_ARCH : CNN_ARCH, 42, &error);
  g_assert_no_error(error);
  LetheOptimConfig cfg;
  lethe_optim_config_init(&cfg, LETHE_OPTIM_ADAM, 1e-3);
  LetheOptimizer *opt = lethe_optimizer_new(lethe_sequential_get_params(seq), &cfg);
  LetheRng rng;
  lethe_rng_init(&rng, 42);

  gint64 t0 = g_get_monotonic_time();
  for (int e = 0; e < epochs; e++) {
    double loss;
    if (!lethe_sequential_train_epoch(seq, opt, xtr, ytr, batch, &rng, NULL, NULL, NULL, &loss,
                                      &error)) {
      fprintf(stderr, "train: %s\n", error->message);
      return 1;
    }
    if (g_getenv("LETHE_BENCH_VERBOSE"))
      fprintf(stderr, "epoch %d loss %.4f\n", e + 1, loss);
  }
  const double seconds = (g_get_monotonic_time() - t0) / 1e6;

  g_autoptr(LetheTensor) out = lethe_sequential_predict(seq, xte, 1000, &error);
  g_assert_no_error(error);
  gint64 right = 0, n = xte->shape[0];
  for (gint64 i = 0; i < n; i++) {
    const float *o = lethe_tensor_f32(out) + i * 10;
    int best = 0;
    for (int j = 1; j < 10; j++)
      if (o[j] > o[best])
        best = j;
    right += best == lethe_tensor_i32(yte)[i];
  }
  printf("lethe %s epochs=%d batch=%d train_samples_per_s=%.0f test_acc=%.4f seconds=%.2f\n", model,
         epochs, batch, xtr->shape[0] * (double)epochs / seconds, (double)right / n, seconds);
  lethe_optimizer_free(opt);
  lethe_sequential_free(seq);
  return 0;
}
