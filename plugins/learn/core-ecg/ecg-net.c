/* Lethe — the CoRe-ECG network.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ecg-net.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lethe/error.h>
#include <lethe/nn-rng.h>

char *
ecg_arch_to_string(const EcgArch *a)
{
  return g_strdup_printf("core-ecg:leads=%u,patch=%u,patches=%u,dim=%u,depth=%u,heads=%u,mlp=%u,"
                         "dec-dim=%u,dec-depth=%u,dec-heads=%u,proj=%u",
                         a->leads, a->patch, a->n_patches, a->dim, a->depth, a->heads, a->mlp,
                         a->dec_dim, a->dec_depth, a->dec_heads, a->proj_dim);
}

gboolean
ecg_arch_parse(const char *text, EcgArch *a, GError **error)
{
  if (text == NULL ||
      sscanf(text,
             "core-ecg:leads=%u,patch=%u,patches=%u,dim=%u,depth=%u,heads=%u,mlp=%u,dec-dim=%u,"
             "dec-depth=%u,dec-heads=%u,proj=%u",
             &a->leads, &a->patch, &a->n_patches, &a->dim, &a->depth, &a->heads, &a->mlp,
             &a->dec_dim, &a->dec_depth, &a->dec_heads, &a->proj_dim) != 11 ||
      a->heads == 0 || a->dim % a->heads != 0 || a->patch == 0 || a->n_patches == 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                "core-ecg: cannot read the architecture '%s' of the model frame", text ? text : "");
    return FALSE;
  }
  return TRUE;
}

/* Fills: XAVIER for weight matrices (uniform, ±√(6 / (fan_in + fan_out))),
 * EMBED for the lead and time embeddings, TOKEN for the global and mask
 * tokens, else the constant @fill. */
#define XAVIER (-1.0)
#define EMBED  (-2.0)
#define TOKEN  (-3.0)
#define SINCOS (-4.0)
#ifndef TIME_FILL
#define TIME_FILL SINCOS
#endif
#ifndef ECG_NET_SINCOS_BASE
#define ECG_NET_SINCOS_BASE 100.0
#endif

static void
add(LetheParams *p, LetheRng *rng, const char *name, gint64 rows, gint64 cols, double fill)
{
  LetheTensor *t = cols > 0 ? lethe_tensor_new_2d(LETHE_DTYPE_F32, rows, cols)
                            : lethe_tensor_new_1d(LETHE_DTYPE_F32, rows);
  gsize n = (gsize)lethe_tensor_n_elements(t);
  float *v = lethe_tensor_f32(t);
  if (fill == XAVIER) {
    float b = (float)sqrt(6.0 / (double)(rows + cols));
    lethe_rng_fill_uniform_f32(rng, v, n, -b, b);
  } else if (fill == EMBED) {
    lethe_rng_fill_normal_f32(rng, v, n, 0.0f, ECG_NET_EMBED_STD);
  } else if (fill == SINCOS) {
    /* Row j: sin/cos of j at geometric frequencies (the transformer's
     * fixed encoding), as the starting point of a learned embedding. */
    for (gint64 j = 0; j < rows; j++)
      for (gint64 i = 0; i < cols; i++) {
        double w = pow(ECG_NET_SINCOS_BASE, -(double)(2 * (i / 2)) / (double)cols);
        v[j * cols + i] = (float)(i % 2 == 0 ? sin(j * w) : cos(j * w));
      }
  } else if (fill == TOKEN) {
    lethe_rng_fill_normal_f32(rng, v, n, 0.0f, 0.02f);
  } else {
    for (gsize i = 0; i < n; i++)
      v[i] = (float)fill;
  }
  lethe_params_add(p, name, t, TRUE);
  lethe_tensor_unref(t);
}

static void
add_block(LetheParams *p, LetheRng *rng, const char *pre, guint d, guint mlp)
{
  char n[64];
#define NAME(s) (g_snprintf(n, sizeof n, "%s.%s", pre, s), n)
  add(p, rng, NAME("ln1.g"), d, 0, 1);
  add(p, rng, NAME("ln1.b"), d, 0, 0);
  add(p, rng, NAME("qkv.w"), 3 * d, d, XAVIER);
  add(p, rng, NAME("qkv.b"), 3 * d, 0, 0);
  add(p, rng, NAME("out.w"), d, d, XAVIER);
  add(p, rng, NAME("out.b"), d, 0, 0);
  add(p, rng, NAME("ln2.g"), d, 0, 1);
  add(p, rng, NAME("ln2.b"), d, 0, 0);
  add(p, rng, NAME("fc1.w"), mlp, d, XAVIER);
  add(p, rng, NAME("fc1.b"), mlp, 0, 0);
  add(p, rng, NAME("fc2.w"), d, mlp, XAVIER);
  add(p, rng, NAME("fc2.b"), d, 0, 0);
#undef NAME
}

LetheParams *
ecg_net_new_params(const EcgArch *a, guint64 seed)
{
  LetheParams *p = lethe_params_new();
  LetheRng rng;
  lethe_rng_init(&rng, seed);
  char pre[32];
  add(p, &rng, "enc.patch.w", a->dim, a->patch, XAVIER);
  add(p, &rng, "enc.patch.b", a->dim, 0, 0);
  add(p, &rng, "enc.lead", a->leads, a->dim, EMBED);
  add(p, &rng, "enc.time", a->n_patches, a->dim, TIME_FILL);
  add(p, &rng, "enc.cls", 1, a->dim, TOKEN);
  for (guint i = 0; i < a->depth; i++) {
    g_snprintf(pre, sizeof pre, "enc.b%u", i);
    add_block(p, &rng, pre, a->dim, a->mlp);
  }
  add(p, &rng, "enc.ln.g", a->dim, 0, 1);
  add(p, &rng, "enc.ln.b", a->dim, 0, 0);
  add(p, &rng, "proj.fc1.w", a->dim, a->dim, XAVIER);
  add(p, &rng, "proj.fc1.b", a->dim, 0, 0);
  add(p, &rng, "proj.fc2.w", a->proj_dim, a->dim, XAVIER);
  add(p, &rng, "proj.fc2.b", a->proj_dim, 0, 0);
  add(p, &rng, "dec.in.w", a->dec_dim, a->dim, XAVIER);
  add(p, &rng, "dec.in.b", a->dec_dim, 0, 0);
  add(p, &rng, "dec.cond.w", a->dec_dim, a->dim, XAVIER);
  add(p, &rng, "dec.cond.b", a->dec_dim, 0, 0);
  add(p, &rng, "dec.mask", 1, a->dec_dim, TOKEN);
  add(p, &rng, "dec.lead", a->leads, a->dec_dim, EMBED);
  add(p, &rng, "dec.time", a->n_patches, a->dec_dim, TIME_FILL);
  for (guint i = 0; i < a->dec_depth; i++) {
    g_snprintf(pre, sizeof pre, "dec.b%u", i);
    add_block(p, &rng, pre, a->dec_dim, 4 * a->dec_dim);
  }
  add(p, &rng, "dec.ln.g", a->dec_dim, 0, 1);
  add(p, &rng, "dec.ln.b", a->dec_dim, 0, 0);
  add(p, &rng, "dec.out.w", a->patch, a->dec_dim, TOKEN); /* predictions start near 0 */
  add(p, &rng, "dec.out.b", a->patch, 0, 0);
  return p;
}

void
ecg_net_begin(EcgNet *net, const EcgArch *arch, LetheParams *params, LetheTape *tape)
{
  net->arch = arch;
  net->tape = tape;
  net->params = params;
  net->index = g_hash_table_new(g_str_hash, g_str_equal);
  guint n = lethe_params_get_n(params);
  net->vars = g_new(LetheVar *, n);
  for (guint i = 0; i < n; i++) {
    net->vars[i] = lethe_tape_param(tape, params, i);
    g_hash_table_insert(net->index, (gpointer)lethe_params_get_name(params, i),
                        GUINT_TO_POINTER(i + 1));
  }
}

void
ecg_net_end(EcgNet *net)
{
  g_clear_pointer(&net->index, g_hash_table_unref);
  g_clear_pointer(&net->vars, g_free);
}

static LetheVar *
var(EcgNet *net, const char *pre, const char *name)
{
  char n[64];
  g_snprintf(n, sizeof n, "%s%s%s", pre, *pre ? "." : "", name);
  guint i = GPOINTER_TO_UINT(g_hash_table_lookup(net->index, n));
  g_assert(i > 0); /* every name is created by ecg_net_new_params() */
  return net->vars[i - 1];
}

/* Multi-head self-attention on @x [T, d]: per head, softmax(q kᵀ / √dh) v. */
static LetheVar *
attention(EcgNet *net, const char *pre, LetheVar *x, guint d, guint heads)
{
  LetheTape *t = net->tape;
  LetheVar *qkv = lethe_op_linear(t, x, var(net, pre, "qkv.w"), var(net, pre, "qkv.b"), FALSE);
  guint dh = d / heads;
  LetheVar *outs[16];
  for (guint h = 0; h < heads; h++) {
    LetheVar *q = lethe_op_slice(t, qkv, 1, h * dh, (h + 1) * dh);
    LetheVar *k = lethe_op_slice(t, qkv, 1, d + h * dh, d + (h + 1) * dh);
    LetheVar *v = lethe_op_slice(t, qkv, 1, 2 * d + h * dh, 2 * d + (h + 1) * dh);
    LetheVar *s = lethe_op_scale(t, lethe_op_matmul(t, q, k, FALSE, TRUE), 1.0 / sqrt(dh), 0);
    outs[h] = lethe_op_matmul(t, lethe_op_softmax(t, s), v, FALSE, FALSE);
  }
  LetheVar *o = heads > 1 ? lethe_op_concat(t, outs, heads, 1) : outs[0];
  return lethe_op_linear(t, o, var(net, pre, "out.w"), var(net, pre, "out.b"), FALSE);
}

/* Pre-norm transformer block. */
static LetheVar *
block(EcgNet *net, const char *pre, LetheVar *x, guint d, guint heads)
{
  LetheTape *t = net->tape;
  LetheVar *h = lethe_op_layer_norm(t, x, var(net, pre, "ln1.g"), var(net, pre, "ln1.b"), 1e-5);
  x = lethe_op_add(t, x, attention(net, pre, h, d, heads));
  h = lethe_op_layer_norm(t, x, var(net, pre, "ln2.g"), var(net, pre, "ln2.b"), 1e-5);
  h = lethe_op_gelu(t,
                    lethe_op_linear(t, h, var(net, pre, "fc1.w"), var(net, pre, "fc1.b"), FALSE));
  h = lethe_op_linear(t, h, var(net, pre, "fc2.w"), var(net, pre, "fc2.b"), FALSE);
  return lethe_op_add(t, x, h);
}

LetheVar *
ecg_net_encode(EcgNet *net, const float *x, const guint8 *mask, LetheVar **tokens)
{
  const EcgArch *a = net->arch;
  LetheTape *t = net->tape;
  guint T = a->leads * a->n_patches;
  /* Patches of the visible tokens, lead-major, and their lead/time ids. */
  guint V = 0;
  for (guint k = 0; k < T; k++)
    V += mask == NULL || !mask[k];
  gint64 shape[2] = {V, a->patch};
  LetheVar *patches = lethe_tape_new_leaf(t, LETHE_DTYPE_F32, 2, shape, FALSE);
  gint64 *lead_ids = g_new(gint64, MAX(V, 1)), *time_ids = g_new(gint64, MAX(V, 1));
  guint r = 0;
  for (guint k = 0; k < T; k++) {
    if (mask && mask[k])
      continue;
    guint l = k / a->n_patches, j = k % a->n_patches;
    memcpy((float *)patches->data + (gsize)r * a->patch,
           x + (gsize)l * a->n_patches * a->patch + (gsize)j * a->patch, a->patch * sizeof(float));
    lead_ids[r] = l;
    time_ids[r] = j;
    r++;
  }
  LetheVar *h =
      lethe_op_linear(t, patches, var(net, "", "enc.patch.w"), var(net, "", "enc.patch.b"), FALSE);
  h = lethe_op_add(t, h, lethe_op_embedding(t, var(net, "", "enc.lead"), lead_ids, V));
  h = lethe_op_add(t, h, lethe_op_embedding(t, var(net, "", "enc.time"), time_ids, V));
  g_free(lead_ids);
  g_free(time_ids);
  LetheVar *parts[2] = {var(net, "", "enc.cls"), h};
  h = lethe_op_concat(t, parts, 2, 0);
  char pre[32];
  for (guint i = 0; i < a->depth; i++) {
    g_snprintf(pre, sizeof pre, "enc.b%u", i);
    h = block(net, pre, h, a->dim, a->heads);
  }
  h = lethe_op_layer_norm(t, h, var(net, "", "enc.ln.g"), var(net, "", "enc.ln.b"), 1e-5);
  if (tokens)
    *tokens = lethe_op_slice(t, h, 0, 1, 1 + V);
  return lethe_op_slice(t, h, 0, 0, 1);
}

LetheVar *
ecg_net_reconstruct_loss(EcgNet *net, LetheVar *tokens, const guint8 *mask, LetheVar *cond,
                         const float *target, gboolean patch_norm)
{
  const EcgArch *a = net->arch;
  LetheTape *t = net->tape;
  guint T = a->leads * a->n_patches, V = 0, M = 0;
  for (guint k = 0; k < T; k++)
    V += !mask[k];
  M = T - V;
  /* The full grid: visible rows from the encoder, hidden rows the mask
   * token (row V of the table). */
  LetheVar *vis =
      lethe_op_linear(t, tokens, var(net, "", "dec.in.w"), var(net, "", "dec.in.b"), FALSE);
  LetheVar *parts[2] = {vis, var(net, "", "dec.mask")};
  LetheVar *table = lethe_op_concat(t, parts, 2, 0);
  g_autofree gint64 *ids = g_new(gint64, T), *lead_ids = g_new(gint64, T);
  g_autofree gint64 *time_ids = g_new(gint64, T), *hidden = g_new(gint64, MAX(M, 1));
  guint v = 0, m = 0;
  for (guint k = 0; k < T; k++) {
    ids[k] = mask[k] ? V : v++;
    if (mask[k])
      hidden[m++] = k;
    lead_ids[k] = k / a->n_patches;
    time_ids[k] = k % a->n_patches;
  }
  LetheVar *h = lethe_op_embedding(t, table, ids, T);
  h = lethe_op_add(t, h, lethe_op_embedding(t, var(net, "", "dec.lead"), lead_ids, T));
  h = lethe_op_add(t, h, lethe_op_embedding(t, var(net, "", "dec.time"), time_ids, T));
  guint off = 0;
  if (cond) {
    LetheVar *c =
        lethe_op_linear(t, cond, var(net, "", "dec.cond.w"), var(net, "", "dec.cond.b"), FALSE);
    LetheVar *p2[2] = {c, h};
    h = lethe_op_concat(t, p2, 2, 0);
    off = 1;
  }
  char pre[32];
  for (guint i = 0; i < a->dec_depth; i++) {
    g_snprintf(pre, sizeof pre, "dec.b%u", i);
    h = block(net, pre, h, a->dec_dim, a->dec_heads);
  }
  h = lethe_op_layer_norm(t, h, var(net, "", "dec.ln.g"), var(net, "", "dec.ln.b"), 1e-5);
  if (off)
    h = lethe_op_slice(t, h, 0, 1, 1 + T);
  LetheVar *pred = lethe_op_embedding(t, h, hidden, M);
  pred = lethe_op_linear(t, pred, var(net, "", "dec.out.w"), var(net, "", "dec.out.b"), FALSE);
  /* Targets: each hidden patch standardised on its own (MAE's norm_pix_loss). */
  gint64 shape[2] = {M, a->patch};
  LetheVar *y = lethe_tape_new_leaf(t, LETHE_DTYPE_F32, 2, shape, FALSE);
  for (guint q = 0; q < M; q++) {
    guint l = hidden[q] / a->n_patches, j = hidden[q] % a->n_patches;
    const float *src = target + (gsize)l * a->n_patches * a->patch + (gsize)j * a->patch;
    double mean = 0, var2 = 0;
    for (guint s = 0; s < a->patch; s++)
      mean += src[s];
    mean /= a->patch;
    for (guint s = 0; s < a->patch; s++)
      var2 += (src[s] - mean) * (src[s] - mean);
    double sd = sqrt(var2 / a->patch + 1e-6);
    if (!patch_norm) {
      mean = 0;
      sd = 1;
    }
    for (guint s = 0; s < a->patch; s++)
      ((float *)y->data)[(gsize)q * a->patch + s] = (float)((src[s] - mean) / sd);
  }
  return lethe_op_mse(t, pred, y);
}

LetheVar *
ecg_net_project(EcgNet *net, LetheVar *g)
{
  LetheTape *t = net->tape;
  LetheVar *h =
      lethe_op_linear(t, g, var(net, "", "proj.fc1.w"), var(net, "", "proj.fc1.b"), FALSE);
  return lethe_op_linear(t, lethe_op_gelu(t, h), var(net, "", "proj.fc2.w"),
                         var(net, "", "proj.fc2.b"), FALSE);
}

void
ecg_standardize_window(const float *in, guint leads, gsize n, gsize stride, float *out)
{
  double ss = 0;
  for (guint l = 0; l < leads; l++) {
    double mean = 0;
    for (gsize t = 0; t < n; t++)
      mean += in[l * stride + t];
    mean /= (double)n;
    for (gsize t = 0; t < n; t++) {
      double v = in[l * stride + t] - mean;
      out[l * n + t] = (float)v;
      ss += v * v;
    }
  }
  float scale = (float)(1.0 / sqrt(ss / ((double)leads * n) + 1e-8));
  for (gsize i = 0; i < leads * n; i++)
    out[i] *= scale;
}
