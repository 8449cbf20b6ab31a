/* Lethe — the CoRe-ECG network: patch tokenizer, transformer encoder with a
 * global token, light decoder conditioned on a global vector, projector.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Built from the numerics library's differentiable ops; attention is
 * written out per sample (matmul, softmax), so samples may keep different
 * numbers of visible tokens.
 */
#ifndef LETHE_ECG_NET_H
#define LETHE_ECG_NET_H

#include <lethe/frame.h>
#include <lethe/nn-ops.h>
#include <lethe/nn-tape.h>

G_BEGIN_DECLS

/* The deviation of the initial lead and time embeddings. */
#ifndef ECG_NET_EMBED_STD
#define ECG_NET_EMBED_STD 0.5f
#endif

typedef struct {
  guint leads;     /* 12 */
  guint patch;     /* samples per patch */
  guint n_patches; /* patches per lead in one window */
  guint dim, depth, heads, mlp;
  guint dec_dim, dec_depth, dec_heads;
  guint proj_dim;
} EcgArch;

/** ecg_arch_to_string: (transfer full) "core-ecg:leads=12,patch=…". */
char *ecg_arch_to_string(const EcgArch *arch);
gboolean ecg_arch_parse(const char *text, EcgArch *arch, GError **error);

/**
 * ecg_net_new_params:
 * Every parameter (encoder "enc.*", projector "proj.*", decoder "dec.*"),
 * initialised from @seed: weight matrices Xavier-uniform (±√(6 / (fan_in +
 * fan_out)), as MAE), lead and time embeddings N(0, ECG_NET_EMBED_STD²) so
 * that positions weigh as much as the patch contents, the global and mask
 * tokens N(0, 0.02²), biases 0, layer-norm gains 1.
 */
LetheParams *ecg_net_new_params(const EcgArch *arch, guint64 seed);

/** EcgNet: the parameters of one tape step, looked up by name. */
typedef struct {
  const EcgArch *arch;
  LetheTape *tape;
  LetheParams *params;
  GHashTable *index; /* name → index + 1 */
  LetheVar **vars;
} EcgNet;

void ecg_net_begin(EcgNet *net, const EcgArch *arch, LetheParams *params, LetheTape *tape);
void ecg_net_end(EcgNet *net);

/**
 * ecg_net_encode:
 * @x: one window, leads × (n_patches · patch) values, standardised
 * @mask: (nullable): leads × n_patches, 1 = hidden (not given to the encoder)
 * @tokens: (out) (optional): the encoder outputs of the visible tokens,
 *   [visible, dim], in token order (lead-major)
 * Returns: the global representation g [1, dim].
 */
LetheVar *ecg_net_encode(EcgNet *net, const float *x, const guint8 *mask, LetheVar **tokens);

/**
 * ecg_net_reconstruct_loss:
 * Decodes every token from the visible encoder @tokens, learned mask
 * tokens and, when @cond is not %NULL, an extra token from the global
 * vector @cond [1, dim]; returns the MSE on the hidden patches against
 * @target (leads × samples), each hidden patch standardised on its own
 * when @patch_norm (MAE's norm-pix loss), else as given.
 */
LetheVar *ecg_net_reconstruct_loss(EcgNet *net, LetheVar *tokens, const guint8 *mask,
                                   LetheVar *cond, const float *target, gboolean patch_norm);

/** ecg_net_project: the projector MLP on @g [n, dim] → [n, proj_dim]. */
LetheVar *ecg_net_project(EcgNet *net, LetheVar *g);

/**
 * ecg_standardize_window:
 * Copies leads × @n samples of @in (row stride @stride) to @out, each lead's
 * mean removed and all divided by one deviation (so linear relations
 * between leads survive).
 */
void ecg_standardize_window(const float *in, guint leads, gsize n, gsize stride, float *out);

G_END_DECLS

#endif /* LETHE_ECG_NET_H */
