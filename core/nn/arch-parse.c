/* Lethe — parsing the `arch` string of a sequential model.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   arch  := layer (WS layer)*
 *   layer := NAME [ "(" [ arg ("," arg)* ] ")" ]
 *   arg   := NUMBER | KEY "=" NUMBER
 *
 * Positional arguments fill the layer's keys in order; KEY=NUMBER sets one
 * by name.  The layers and their keys are in docs/models.md.
 */
#include "nn-private.h"

#include <stdlib.h>

typedef struct {
  const char *name;
  NnLayerKind kind;
  guint n_required;
  const char *keys[NN_LAYER_MAX_ARGS + 1];
  double defaults[NN_LAYER_MAX_ARGS];
} LayerSpec;

/* clang-format off */
static const LayerSpec specs[] = {
  {"linear", L_LINEAR, 2, {"in", "out", "bias"}, {0, 0, 1}},
  {"conv2d", L_CONV2D, 3, {"in", "out", "k", "stride", "pad", "bias"}, {0, 0, 0, 1, 0, 1}},
  {"conv1d", L_CONV1D, 3, {"in", "out", "k", "stride", "pad", "bias"}, {0, 0, 0, 1, 0, 1}},
  {"relu", L_RELU, 0, {NULL}, {0}},
  {"gelu", L_GELU, 0, {NULL}, {0}},
  {"tanh", L_TANH, 0, {NULL}, {0}},
  {"sigmoid", L_SIGMOID, 0, {NULL}, {0}},
  {"maxpool", L_MAXPOOL, 1, {"k", "stride"}, {0, 0}},
  {"maxpool2d", L_MAXPOOL, 1, {"k", "stride"}, {0, 0}},
  {"avgpool", L_AVGPOOL, 1, {"k", "stride"}, {0, 0}},
  {"avgpool2d", L_AVGPOOL, 1, {"k", "stride"}, {0, 0}},
  {"maxpool1d", L_MAXPOOL1D, 1, {"k", "stride"}, {0, 0}},
  {"avgpool1d", L_AVGPOOL1D, 1, {"k", "stride"}, {0, 0}},
  {"globalavgpool", L_GLOBAL_AVG_POOL, 0, {NULL}, {0}},
  {"globalmaxpool", L_GLOBAL_MAX_POOL, 0, {NULL}, {0}},
  {"flatten", L_FLATTEN, 0, {NULL}, {0}},
  {"dropout", L_DROPOUT, 1, {"p"}, {0}},
  {"batchnorm", L_BATCHNORM, 1, {"c", "eps", "momentum"}, {0, 1e-5, 0.1}},
  {"batchnorm1d", L_BATCHNORM, 1, {"c", "eps", "momentum"}, {0, 1e-5, 0.1}},
  {"batchnorm2d", L_BATCHNORM, 1, {"c", "eps", "momentum"}, {0, 1e-5, 0.1}},
  {"layernorm", L_LAYERNORM, 1, {"d", "eps"}, {0, 1e-5}},
  {"l2norm", L_L2NORM, 0, {NULL}, {0}},
  {"upsample", L_UPSAMPLE, 1, {"factor"}, {0}},
};
/* clang-format on */

static void
layer_clear(gpointer p)
{
  g_free(((NnLayer *)p)->token);
}

static char *
known_layers(void)
{
  GString *s = g_string_new(NULL);
  for (gsize i = 0; i < G_N_ELEMENTS(specs); i++)
    g_string_append_printf(s, "%s%s", i ? ", " : "", specs[i].name);
  return g_string_free(s, FALSE);
}

static gboolean fail(GError **error, guint index, gsize pos, const char *token, const char *fmt,
                     ...) G_GNUC_PRINTF(5, 6);

static gboolean
fail(GError **error, guint index, gsize pos, const char *token, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *what = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE, "arch: layer %u '%s' at character %zu: %s",
              index, token, pos, what);
  return FALSE;
}

static gboolean
parse_number(const char *s, double *out)
{
  char *end = NULL;
  *out = g_ascii_strtod(s, &end);
  return end != s && *end == '\0' && isfinite(*out);
}

/* Checks the values a layer cannot take. */
static gboolean
check_layer(const LayerSpec *spec, NnLayer *l, guint index, GError **error)
{
  for (guint k = 0; k < NN_LAYER_MAX_ARGS && spec->keys[k]; k++) {
    const char *key = spec->keys[k];
    const double v = l->a[k];
    const gboolean is_int = g_str_equal(key, "in") || g_str_equal(key, "out") ||
                            g_str_equal(key, "k") || g_str_equal(key, "c") ||
                            g_str_equal(key, "d") || g_str_equal(key, "factor");
    if (is_int && (v < 1 || v != floor(v) || v > G_MAXINT32))
      return fail(error, index, l->pos, l->token, "%s = %g must be a positive integer", key, v);
    if ((g_str_equal(key, "stride") || g_str_equal(key, "pad")) &&
        (v < 0 || v != floor(v) || v > 4096))
      return fail(error, index, l->pos, l->token, "%s = %g must be a non-negative integer", key, v);
    if (g_str_equal(key, "bias") && v != 0 && v != 1)
      return fail(error, index, l->pos, l->token, "bias = %g must be 0 or 1", v);
    if (g_str_equal(key, "p") && !(v >= 0 && v < 1))
      return fail(error, index, l->pos, l->token, "p = %g must be in [0, 1)", v);
    if (g_str_equal(key, "eps") && !(v > 0))
      return fail(error, index, l->pos, l->token, "eps = %g must be positive", v);
  }
  if ((l->kind == L_CONV2D || l->kind == L_CONV1D) && l->a[3] < 1)
    return fail(error, index, l->pos, l->token, "stride must be at least 1");
  return TRUE;
}

GArray *
nn_arch_parse(const char *arch, GError **error)
{
  g_autoptr(GArray) layers = g_array_new(FALSE, TRUE, sizeof(NnLayer));
  g_array_set_clear_func(layers, layer_clear);
  const char *p = arch;
  guint index = 0;
  while (TRUE) {
    while (g_ascii_isspace(*p))
      p++;
    if (!*p)
      break;
    const char *start = p;
    while (g_ascii_isalnum(*p) || *p == '_')
      p++;
    g_autofree char *name = g_ascii_strdown(start, p - start);
    const char *args_start = NULL, *args_end = NULL;
    const char *q = p;
    while (*q == ' ' || *q == '\t')
      q++;
    if (*q == '(') {
      args_start = q + 1;
      args_end = strchr(args_start, ')');
      if (!args_end) {
        g_autofree char *tok = g_strdup(start);
        return fail(error, index, start - arch, g_strstrip(tok), "missing ')'"), NULL;
      }
      p = args_end + 1;
    }
    NnLayer l = {0};
    l.token = g_strndup(start, p - start);
    l.pos = start - arch;
    l.param[0] = l.param[1] = l.param[2] = l.param[3] = -1;
    if (p == start || (!g_ascii_isspace(*p) && *p != '\0')) {
      if (p == start)
        p++;
      g_autofree char *tok = g_strndup(start, MAX(p - start, 1));
      g_free(l.token);
      return fail(error, index, start - arch, tok,
                  "unexpected character; layers are separated by spaces, e.g. "
                  "'linear(784,10) relu'"),
             NULL;
    }
    const LayerSpec *spec = NULL;
    for (gsize i = 0; i < G_N_ELEMENTS(specs); i++)
      if (g_str_equal(specs[i].name, name))
        spec = &specs[i];
    if (!spec) {
      g_autofree char *known = known_layers();
      fail(error, index, l.pos, l.token, "unknown layer '%s'; known layers: %s", name, known);
      g_free(l.token);
      return NULL;
    }
    l.kind = spec->kind;
    guint n_keys = 0;
    while (n_keys < NN_LAYER_MAX_ARGS && spec->keys[n_keys])
      n_keys++;
    memcpy(l.a, spec->defaults, sizeof l.a);
    gboolean set[NN_LAYER_MAX_ARGS] = {FALSE};
    g_array_append_val(layers, l); /* owns the token from here on */
    NnLayer *lp = &g_array_index(layers, NnLayer, layers->len - 1);
    if (args_start) {
      g_autofree char *inner = g_strndup(args_start, args_end - args_start);
      g_auto(GStrv) args = g_strsplit(inner, ",", -1);
      guint positional = 0;
      gboolean empty = g_strv_length(args) == 1 && !*g_strstrip(args[0]);
      for (guint i = 0; !empty && args[i]; i++) {
        char *arg = g_strstrip(args[i]);
        char *eq = strchr(arg, '=');
        double value;
        guint slot;
        if (eq) {
          *eq = '\0';
          char *key = g_strstrip(arg);
          for (slot = 0; slot < n_keys; slot++)
            if (g_str_equal(spec->keys[slot], key))
              break;
          if (slot == n_keys)
            return fail(error, index, lp->pos, lp->token, "'%s' takes no argument '%s'", name, key),
                   NULL;
          arg = g_strstrip(eq + 1);
        } else {
          slot = positional++;
          if (slot >= n_keys)
            return fail(error, index, lp->pos, lp->token, "'%s' takes at most %u arguments", name,
                        n_keys),
                   NULL;
        }
        if (!parse_number(arg, &value))
          return fail(error, index, lp->pos, lp->token, "'%s' is not a number", arg), NULL;
        lp->a[slot] = value;
        set[slot] = TRUE;
      }
    }
    for (guint k = 0; k < spec->n_required; k++)
      if (!set[k]) {
        g_autofree char *needed = g_strjoinv(", ", (char **)spec->keys);
        return fail(error, index, lp->pos, lp->token, "missing argument '%s' (%s takes %s)",
                    spec->keys[k], name, needed),
               NULL;
      }
    if ((lp->kind == L_MAXPOOL || lp->kind == L_AVGPOOL || lp->kind == L_MAXPOOL1D ||
         lp->kind == L_AVGPOOL1D) &&
        lp->a[1] == 0)
      lp->a[1] = lp->a[0]; /* stride defaults to the window */
    if (!check_layer(spec, lp, index, error))
      return NULL;
    index++;
  }
  if (layers->len == 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                "arch: the layer list is empty; write e.g. 'flatten linear(784,10)'");
    return NULL;
  }
  return g_steal_pointer(&layers);
}
