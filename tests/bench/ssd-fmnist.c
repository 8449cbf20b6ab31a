/* Lethe — SSD on Fashion-MNIST: the acceptance run and the α × λ sweep.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   ssd-fmnist [--classes 1,9] [--epochs 10] [--sweep] [--no-oracle] [--limit N]
 *              [--train-order class-sorted|as-given|forget-last] [--ratios]
 *
 * Trains the MLP 784-512-256-10 (Adam 1e-3, batch 128), caches SSD's
 * training-set importance with an ssd-importance node, then for each class
 * forgets it with an ssd node (α = 10, λ = 1, batch 64) and, unless
 * --no-oracle, retrains the same recipe without it (the oracle).  Prints
 * forget-class and retained-class test accuracy, the entropy MIA on the
 * forgotten training samples, the selected fraction and the times.  With
 * --sweep, also every α ∈ {0.5, 1, 2, 5, 10, 20} × λ ∈ {0.1, 0.5, 1} and the
 * setting with the lowest forget accuracy at a retained drop ≤ 3 points.
 * --train-order forget-last batches D exactly as the reference's loader for
 * each request (the other classes in label order, then the forgotten one),
 * recomputing []_D per class.  --ratios prints on stderr, per parameter
 * tensor, how many entries have []_Df / []_D above 1, 2, 5 and α = 10 and
 * the largest ratio.  Results: docs/results.md.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lethe/check.h>
#include <lethe/metrics.h>
#include <lethe/model.h>
#include <lethe/nn-model.h>

#define ARCH "linear(784,512) relu linear(512,256) relu linear(256,10)"

typedef struct {
  double forget_acc, retain_acc, test_acc, mia, selected, seconds;
} Result;

static LetheFrame *
load(const char *split, gint64 limit)
{
  GError *error = NULL;
  g_autofree char *sp = g_strdup_printf("split=%s", split);
  g_autofree char *lim = g_strdup_printf("limit=%" G_GINT64_FORMAT, limit);
  const char *params[] = {sp, "shape=flat", lim, NULL};
  LetheCheck *h = lethe_check_new_from_registry(NULL, "idx-source", params, &error);
  if (!h || !lethe_check_run_source(h, 0, &error))
    g_error("idx-source: %s", error->message);
  LetheFrame *f = lethe_check_pull(h, "data");
  lethe_check_free(h);
  return f;
}

/* Rows of @data whose label is (@keep ? == : !=) @cls. */
static LetheFrame *
select_class(const LetheFrame *data, gint32 cls, gboolean keep)
{
  LetheTensor *x = lethe_frame_get_tensor(data, "x"), *y = lethe_frame_get_tensor(data, "y");
  const gint64 n = x->shape[0], d = x->shape[1];
  gint64 m = 0;
  for (gint64 i = 0; i < n; i++)
    m += (lethe_tensor_i32(y)[i] == cls) == keep;
  LetheTensor *xs = lethe_tensor_new_2d(LETHE_DTYPE_F32, m, d);
  LetheTensor *ys = lethe_tensor_new_1d(LETHE_DTYPE_I32, m);
  for (gint64 i = 0, j = 0; i < n; i++)
    if ((lethe_tensor_i32(y)[i] == cls) == keep) {
      memcpy(lethe_tensor_f32(xs) + j * d, lethe_tensor_f32(x) + i * d, sizeof(float) * d);
      lethe_tensor_i32(ys)[j++] = lethe_tensor_i32(y)[i];
    }
  LetheFrame *f = lethe_frame_new();
  lethe_frame_take_tensor(f, "x", xs);
  lethe_frame_take_tensor(f, "y", ys);
  return f;
}

static LetheFrame *
train(const LetheFrame *data, int epochs, guint64 seed, double *seconds)
{
  GError *error = NULL;
  gint64 t0 = g_get_monotonic_time();
  LetheSequential *seq = lethe_sequential_new(ARCH, seed, &error);
  LetheOptimConfig cfg;
  lethe_optim_config_init(&cfg, LETHE_OPTIM_ADAM, 1e-3);
  LetheOptimizer *opt = lethe_optimizer_new(lethe_sequential_get_params(seq), &cfg);
  LetheRng rng;
  lethe_rng_init(&rng, seed + 1);
  for (int e = 0; e < epochs; e++)
    if (!lethe_sequential_train_epoch(seq, opt, lethe_frame_get_tensor(data, "x"),
                                      lethe_frame_get_tensor(data, "y"), 128, &rng, NULL, NULL,
                                      NULL, NULL, &error))
      g_error("training: %s", error->message);
  *seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
  lethe_optimizer_free(opt);
  LetheFrame *m = lethe_sequential_to_frame(seq, 1);
  lethe_sequential_free(seq);
  return m;
}

static LetheTensor *
logits_of(const LetheFrame *model, const LetheFrame *data)
{
  GError *error = NULL;
  LetheTensor *out = NULL;
  if (!lethe_model_forward(model, lethe_frame_get_tensor(data, "x"), &out, &error))
    g_error("forward: %s", error->message);
  return out;
}

static double
accuracy(const LetheFrame *model, const LetheFrame *data)
{
  g_autoptr(LetheTensor) l = logits_of(model, data);
  return lethe_metrics_accuracy(lethe_tensor_f32(l), l->shape[0], l->shape[1],
                                lethe_tensor_i32(lethe_frame_get_tensor(data, "y")), NULL);
}

static double *
entropies(const LetheFrame *model, const LetheFrame *data, gsize *n)
{
  g_autoptr(LetheTensor) l = logits_of(model, data);
  double *h = g_new(double, l->shape[0]);
  lethe_metrics_entropies(lethe_tensor_f32(l), l->shape[0], l->shape[1], h);
  *n = (gsize)l->shape[0];
  return h;
}

typedef struct {
  LetheFrame *test_forget, *test_retain, *test, *train_forget, *train_retain_sub;
} Sets;

static Result
evaluate(const LetheFrame *model, const Sets *s)
{
  Result r = {0};
  r.forget_acc = accuracy(model, s->test_forget);
  r.retain_acc = accuracy(model, s->test_retain);
  r.test_acc = accuracy(model, s->test);
  gsize nm, nn, nt;
  g_autofree double *hm = entropies(model, s->train_retain_sub, &nm);
  g_autofree double *hn = entropies(model, s->test, &nn);
  g_autofree double *ht = entropies(model, s->train_forget, &nt);
  r.mia = lethe_metrics_mia_entropy(hm, nm, hn, nn, ht, nt, NULL);
  return r;
}

/* The model with "ssd-importance/<p>" of @data batched in its given order
 * (@order: train-order of the node). */
static LetheFrame *
importance_of(const LetheFrame *model, const LetheFrame *data, const char *order)
{
  GError *error = NULL;
  g_autofree char *o = g_strdup_printf("train-order=%s", order);
  const char *params[] = {o, NULL};
  LetheCheck *h = lethe_check_new_from_registry(NULL, "ssd-importance", params, &error);
  if (!h || !lethe_check_push(h, "data", lethe_frame_ref((LetheFrame *)data), &error) ||
      !lethe_check_push(h, "model", lethe_frame_ref((LetheFrame *)model), &error))
    g_error("ssd-importance: %s", error->message);
  LetheFrame *out = lethe_check_pull(h, "model");
  lethe_check_free(h);
  return out;
}

/* The reference's D for forgetting @k: the other classes in label order,
 * then class @k (each in file order). */
static LetheFrame *
forget_last(const LetheFrame *data, gint32 k)
{
  LetheTensor *x = lethe_frame_get_tensor(data, "x"), *y = lethe_frame_get_tensor(data, "y");
  const gint64 n = x->shape[0], d = x->shape[1];
  LetheTensor *xs = lethe_tensor_new_2d(LETHE_DTYPE_F32, n, d);
  LetheTensor *ys = lethe_tensor_new_1d(LETHE_DTYPE_I32, n);
  gint64 j = 0;
  for (gint32 pass = 0; pass <= 10; pass++) {
    const gint32 c = pass < 10 ? pass : k;
    if (pass < 10 && c == k)
      continue;
    for (gint64 i = 0; i < n; i++)
      if (lethe_tensor_i32(y)[i] == c) {
        memcpy(lethe_tensor_f32(xs) + j * d, lethe_tensor_f32(x) + i * d, sizeof(float) * d);
        lethe_tensor_i32(ys)[j++] = c;
      }
  }
  LetheFrame *f = lethe_frame_new();
  lethe_frame_take_tensor(f, "x", xs);
  lethe_frame_take_tensor(f, "y", ys);
  return f;
}

/* Per parameter tensor: how many entries have []_Df / []_D above 1, 2, 5, 10
 * (the α = 10 test), the largest ratio and Σ[]_Df / Σ[]_D, on stderr. */
static void
print_ratios(const LetheFrame *with_d, const LetheFrame *with_f, gint32 k)
{
  for (guint i = 0; i < lethe_frame_get_n_tensors(with_d); i++) {
    const char *name;
    LetheTensor *d = lethe_frame_get_nth(with_d, i, &name);
    if (!g_str_has_prefix(name, "ssd-importance/"))
      continue;
    LetheTensor *f = lethe_frame_get_tensor(with_f, name);
    const float *dv = lethe_tensor_f32(d), *fv = lethe_tensor_f32(f);
    gint64 n = lethe_tensor_n_elements(d), c1 = 0, c5 = 0, c10 = 0, c2 = 0;
    double top = 0, sum_f = 0, sum_d = 0;
    for (gint64 j = 0; j < n; j++) {
      double r = dv[j] > 0 ? fv[j] / dv[j] : (fv[j] > 0 ? INFINITY : 0);
      c1 += r > 1;
      c2 += r > 2;
      c5 += r > 5;
      c10 += fv[j] > 10.0f * dv[j];
      top = MAX(top, r);
      sum_f += fv[j];
      sum_d += dv[j];
    }
    fprintf(stderr,
            "class %d %-10s n=%-7" G_GINT64_FORMAT " ratio>1: %-7" G_GINT64_FORMAT
            " >2: %-6" G_GINT64_FORMAT " >5: %-6" G_GINT64_FORMAT " >10: %-6" G_GINT64_FORMAT
            " max %.3f  sum_f/sum_d %.3f\n",
            k, name + strlen("ssd-importance/"), n, c1, c2, c5, c10, top, sum_f / sum_d);
  }
}

static LetheFrame *
run_ssd(const LetheFrame *cached, const LetheFrame *forget, double alpha, double lambda)
{
  GError *error = NULL;
  g_autofree char *a = g_strdup_printf("alpha=%g", alpha);
  g_autofree char *l = g_strdup_printf("lambda=%g", lambda);
  const char *params[] = {a, l, "batch=64", NULL};
  LetheCheck *h = lethe_check_new_from_registry(NULL, "ssd", params, &error);
  if (!h || !lethe_check_push(h, "forget", lethe_frame_ref((LetheFrame *)forget), &error) ||
      !lethe_check_push(h, "model", lethe_frame_ref((LetheFrame *)cached), &error))
    g_error("ssd: %s", error->message);
  LetheFrame *out = lethe_check_pull(h, "model");
  lethe_check_free(h);
  return out;
}

int
main(int argc, char **argv)
{
  int epochs = 10;
  gboolean sweep = FALSE, oracle = TRUE, ratios = FALSE;
  const char *classes_arg = "0,1,2,3,4,5,6,7,8,9";
  gint64 limit = 0;
  const char *order = "class-sorted";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--sweep"))
      sweep = TRUE;
    else if (!strcmp(argv[i], "--ratios"))
      ratios = TRUE;
    else if (!strcmp(argv[i], "--no-oracle"))
      oracle = FALSE;
    else if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
      epochs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--classes") && i + 1 < argc)
      classes_arg = argv[++i];
    else if (!strcmp(argv[i], "--train-order") && i + 1 < argc)
      order = argv[++i];
    else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
      limit = atoll(argv[++i]);
    else {
      fprintf(stderr,
              "usage: %s [--classes 1,9] [--epochs 10] [--sweep] [--no-oracle] "
              "[--limit N] [--train-order class-sorted|as-given|forget-last] [--ratios]\n",
              argv[0]);
      return 2;
    }
  }
  g_autoptr(LetheFrame) trainset = load("train", limit);
  g_autoptr(LetheFrame) testset = load("test", 0);
  double train_s;
  g_autoptr(LetheFrame) model = train(trainset, epochs, 42, &train_s);
  printf("original: test accuracy %.4f, training %.1f s (%d epochs)\n", accuracy(model, testset),
         train_s, epochs);

  GError *error = NULL;
  g_autofree char *order_param = g_strdup_printf("train-order=%s", order);
  const char *iparams[] = {order_param, NULL};
  if (!strcmp(order, "forget-last"))
    iparams[0] = "train-order=class-sorted"; /* recomputed per class below */
  LetheCheck *hi = lethe_check_new_from_registry(NULL, "ssd-importance", iparams, &error);
  lethe_check_push(hi, "data", lethe_frame_ref(trainset), &error);
  lethe_check_push(hi, "model", lethe_frame_ref(model), &error);
  if (error)
    g_error("ssd-importance: %s", error->message);
  g_autoptr(LetheFrame) cached = lethe_check_pull(hi, "model");
  lethe_check_free(hi);
  printf("training-set importance (%s batches): %.2f s\n", order,
         lethe_frame_get_meta_double(cached, "ssd-importance-seconds", NAN));

  const double alphas[] = {0.5, 1, 2, 5, 10, 20}, lambdas[] = {0.1, 0.5, 1};
  g_auto(GStrv) cls = g_strsplit(classes_arg, ",", -1);
  printf("\n| class | orig forget | orig retain | SSD forget | SSD retain | SSD MIA | selected "
         "| unlearn s | oracle forget | oracle retain | oracle MIA | retrain s | best (α, λ): "
         "forget / retain / MIA |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (guint c = 0; cls[c]; c++) {
    gint32 k = atoi(cls[c]);
    g_autoptr(LetheFrame) tr_forget = select_class(trainset, k, TRUE);
    g_autoptr(LetheFrame) tr_retain = select_class(trainset, k, FALSE);
    /* The attacker's members: 10 000 retain samples, as many as the test set. */
    Sets s = {select_class(testset, k, TRUE), select_class(testset, k, FALSE), testset, tr_forget,
              NULL};
    LetheTensor *rx = lethe_frame_get_tensor(tr_retain, "x");
    s.train_retain_sub = lethe_frame_new();
    lethe_frame_take_tensor(s.train_retain_sub, "x",
                            lethe_tensor_slice(rx, 0, MIN(10000, rx->shape[0])));
    lethe_frame_take_tensor(
        s.train_retain_sub, "y",
        lethe_tensor_slice(lethe_frame_get_tensor(tr_retain, "y"), 0, MIN(10000, rx->shape[0])));
    Result orig = evaluate(model, &s);
    g_autoptr(LetheFrame) per_class = NULL;
    const LetheFrame *cache = cached;
    if (!strcmp(order, "forget-last")) {
      g_autoptr(LetheFrame) dk = forget_last(trainset, k);
      cache = per_class = importance_of(model, dk, "as-given");
    }
    if (ratios) {
      g_autoptr(LetheFrame) fi = importance_of(model, tr_forget, "as-given");
      print_ratios(cache, fi, k);
    }
    g_autoptr(LetheFrame) un = run_ssd(cache, tr_forget, 10, 1);
    Result r = evaluate(un, &s);
    r.selected = lethe_frame_get_meta_double(un, "ssd-selected-fraction", NAN);
    r.seconds = lethe_frame_get_meta_double(un, "unlearn-seconds", NAN);
    Result o = {NAN, NAN, NAN, NAN, 0, NAN};
    if (oracle) {
      g_autoptr(LetheFrame) om = train(tr_retain, epochs, 43 + k, &o.seconds);
      double secs = o.seconds;
      o = evaluate(om, &s);
      o.seconds = secs;
    }
    GString *best = g_string_new("—");
    if (sweep) {
      double best_f = INFINITY;
      for (guint ai = 0; ai < G_N_ELEMENTS(alphas); ai++)
        for (guint li = 0; li < G_N_ELEMENTS(lambdas); li++) {
          g_autoptr(LetheFrame) m = run_ssd(cache, tr_forget, alphas[ai], lambdas[li]);
          Result q = evaluate(m, &s);
          fprintf(stderr, "class %d α=%g λ=%g: forget %.4f retain %.4f mia %.4f selected %.5f\n", k,
                  alphas[ai], lambdas[li], q.forget_acc, q.retain_acc, q.mia,
                  lethe_frame_get_meta_double(m, "ssd-selected-fraction", NAN));
          if (orig.retain_acc - q.retain_acc <= 0.03 && q.forget_acc < best_f) {
            best_f = q.forget_acc;
            g_string_printf(best, "(%g, %g): %.3f / %.3f / %.3f", alphas[ai], lambdas[li],
                            q.forget_acc, q.retain_acc, q.mia);
          }
        }
    }
    printf("| %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.5f | %.2f | %.3f | %.3f | %.3f | %.1f | %s "
           "|\n",
           k, orig.forget_acc, orig.retain_acc, r.forget_acc, r.retain_acc, r.mia, r.selected,
           r.seconds, o.forget_acc, o.retain_acc, o.mia, o.seconds, best->str);
    fflush(stdout);
    g_string_free(best, TRUE);
    lethe_frame_unref(s.test_forget);
    lethe_frame_unref(s.test_retain);
    lethe_frame_unref(s.train_retain_sub);
  }
  return 0;
}
