/* Lethe — PhysioNet WFDB headers, signal files and annotation files.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wfdb-parse.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <lethe/error.h>

/* A header with more signals than this is refused as absurd. */
#define MAX_SIGNALS 4096

static void
signal_clear(WfdbSignal *s)
{
  g_free(s->file_name);
  g_free(s->units);
  g_free(s->description);
}

void
wfdb_header_free(WfdbHeader *header)
{
  if (header == NULL)
    return;
  for (guint i = 0; header->signals && i < header->n_signals; i++)
    signal_clear(&header->signals[i]);
  g_free(header->signals);
  if (header->comments)
    g_ptr_array_unref(header->comments);
  g_free(header->name);
  g_free(header->file);
  g_free(header);
}

/* Parses all of @s as an integer / a double; FALSE on junk or overflow. */
static gboolean
parse_int(const char *s, gint64 *out)
{
  if (s == NULL || *s == '\0')
    return FALSE;
  char *end;
  errno = 0;
  gint64 v = g_ascii_strtoll(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean
parse_double(const char *s, double *out)
{
  if (s == NULL || *s == '\0')
    return FALSE;
  char *end;
  errno = 0;
  double v = g_ascii_strtod(s, &end);
  if (errno != 0 || *end != '\0' || !isfinite(v))
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean
parse_small_int(const char *s, int lo, int hi, int *out)
{
  gint64 v;
  if (!parse_int(s, &v) || v < lo || v > hi)
    return FALSE;
  *out = (int)v;
  return TRUE;
}

/* Splits a line into at most @max whitespace-separated fields; the last
 * one keeps the rest of the line (the description may hold spaces). */
static GPtrArray *
split_fields(const char *line, guint max)
{
  GPtrArray *f = g_ptr_array_new_with_free_func(g_free);
  const char *p = line;
  while (*p) {
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == '\0')
      break;
    if (f->len + 1 == max) {
      g_ptr_array_add(f, g_strchomp(g_strdup(p)));
      break;
    }
    const char *q = p;
    while (*q && *q != ' ' && *q != '\t')
      q++;
    g_ptr_array_add(f, g_strndup(p, (gsize)(q - p)));
    p = q;
  }
  return f;
}

static gboolean
parse_record_line(WfdbHeader *h, const char *line, guint lineno, GError **error)
{
  g_autoptr(GPtrArray) f = split_fields(line, 64);
  const char *file = h->file;
  const char *name = f->pdata[0];
  if (strchr(name, '/')) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED,
                "%s:%u: '%s' is a multi-segment record; only single-segment records are read", file,
                lineno, name);
    return FALSE;
  }
  h->name = g_strdup(name);
  gint64 nsig;
  if (f->len < 2 || !parse_int(f->pdata[1], &nsig) || nsig < 0 || nsig > MAX_SIGNALS) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                "%s:%u: record line: expected the number of signals (0..%d) after '%s', got '%s'",
                file, lineno, MAX_SIGNALS, name, f->len < 2 ? "" : (char *)f->pdata[1]);
    return FALSE;
  }
  h->n_signals = (guint)nsig;
  h->fs = WFDB_DEFAULT_FS;
  if (f->len > 2) {
    /* fs[/counter_fs[(base_counter)]] */
    g_autofree char *fs_text = g_strdup(f->pdata[2]);
    char *slash = strchr(fs_text, '/');
    if (slash)
      *slash = '\0';
    if (!parse_double(fs_text, &h->fs) || h->fs <= 0) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                  "%s:%u: record line: sampling frequency '%s' is not a positive number", file,
                  lineno, (char *)f->pdata[2]);
      return FALSE;
    }
  }
  if (f->len > 3) {
    if (!parse_int(f->pdata[3], &h->n_samples) || h->n_samples < 0) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                  "%s:%u: record line: number of samples '%s' is not a non-negative integer", file,
                  lineno, (char *)f->pdata[3]);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
parse_signal_line(WfdbHeader *h, WfdbSignal *s, const char *line, guint lineno, guint index,
                  GError **error)
{
  const char *file = h->file;
  g_autoptr(GPtrArray) f = split_fields(line, 9);
  s->line = lineno;
  s->file_name = g_strdup(f->pdata[0]);
  s->samples_per_frame = 1;
  s->gain = WFDB_DEFAULT_GAIN;
  s->units = g_strdup("mV");
  s->adc_resolution = 12;

  if (f->len < 2) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                "%s:%u: signal %u: missing the format after the file name '%s'", file, lineno,
                index, s->file_name);
    return FALSE;
  }
  /* format[xspf][:skew][+offset] */
  const char *fmt = f->pdata[1];
  char *end;
  errno = 0;
  gint64 v = g_ascii_strtoll(fmt, &end, 10);
  if (end == fmt || errno || v < 0 || v > 1000)
    goto bad_format;
  s->format = (int)v;
  while (*end) {
    char tag = *end++;
    const char *num = end;
    errno = 0;
    v = g_ascii_strtoll(num, &end, 10);
    if (end == num || errno || v < 0 || v > G_MAXINT32)
      goto bad_format;
    if (tag == 'x')
      s->samples_per_frame = (int)v;
    else if (tag == ':')
      s->skew = (int)v;
    else if (tag == '+')
      s->byte_offset = v;
    else
      goto bad_format;
  }
  if (!wfdb_format_is_supported(s->format)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED,
                "%s:%u: signal %u: format %d is not supported (supported: 16, 61, 80, 212)", file,
                lineno, index, s->format);
    return FALSE;
  }
  if (s->samples_per_frame != 1) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED,
                "%s:%u: signal %u: %d samples per frame are not supported (only 1)", file, lineno,
                index, s->samples_per_frame);
    return FALSE;
  }
  if (s->skew != 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED,
                "%s:%u: signal %u: a skew of %d samples is not supported", file, lineno, index,
                s->skew);
    return FALSE;
  }

  gboolean have_zero = FALSE, have_baseline = FALSE;
  if (f->len > 2) {
    /* gain[(baseline)][/units] */
    g_autofree char *g = g_strdup(f->pdata[2]);
    char *slash = strchr(g, '/');
    if (slash) {
      *slash = '\0';
      if (slash[1] == '\0')
        goto bad_gain;
      g_free(s->units);
      s->units = g_strdup(slash + 1);
    }
    char *paren = strchr(g, '(');
    if (paren) {
      char *close = strchr(paren, ')');
      if (close == NULL || close[1] != '\0')
        goto bad_gain;
      *close = '\0';
      *paren = '\0';
      if (!parse_int(paren + 1, &s->baseline))
        goto bad_gain;
      have_baseline = TRUE;
    }
    double gain;
    if (!parse_double(g, &gain) || gain < 0)
      goto bad_gain;
    if (gain > 0) {
      s->gain = gain;
      s->gain_given = TRUE;
    }
  }
  if (f->len > 3 && !parse_small_int(f->pdata[3], 0, 32, &s->adc_resolution)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                "%s:%u: signal %u: ADC resolution '%s' is not 0..32 bits", file, lineno, index,
                (char *)f->pdata[3]);
    return FALSE;
  }
  if (s->adc_resolution == 0)
    s->adc_resolution = 12;
  if (f->len > 4) {
    if (!parse_int(f->pdata[4], &s->adc_zero))
      goto bad_int;
    have_zero = TRUE;
  }
  s->initial_value = s->adc_zero;
  if (f->len > 5 && !parse_int(f->pdata[5], &s->initial_value))
    goto bad_int;
  if (f->len > 6) {
    if (!parse_int(f->pdata[6], &s->checksum))
      goto bad_int;
    s->has_checksum = TRUE;
  }
  if (f->len > 7 && !parse_small_int(f->pdata[7], G_MININT32, G_MAXINT32, &s->block_size))
    goto bad_int;
  if (f->len > 8)
    s->description = g_strdup(f->pdata[8]);
  else
    s->description = g_strdup_printf("record %s, signal %u", h->name, index);
  if (!have_baseline)
    s->baseline = have_zero ? s->adc_zero : 0;
  return TRUE;

/* ERRORS */
bad_format:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
              "%s:%u: signal %u: format field '%s' is not format[xN][:skew][+offset]", file, lineno,
              index, (char *)f->pdata[1]);
  return FALSE;
bad_gain:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
              "%s:%u: signal %u: gain field '%s' is not gain[(baseline)][/units]", file, lineno,
              index, (char *)f->pdata[2]);
  return FALSE;
bad_int:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
              "%s:%u: signal %u: expected integers for ADC zero, initial value, checksum and "
              "block size",
              file, lineno, index);
  return FALSE;
}

WfdbHeader *
wfdb_header_parse(const char *text, gsize len, const char *file, GError **error)
{
  g_return_val_if_fail(text != NULL || len == 0, NULL);
  g_return_val_if_fail(file != NULL, NULL);

  g_autoptr(WfdbHeader) h = g_new0(WfdbHeader, 1);
  h->file = g_strdup(file);
  h->comments = g_ptr_array_new_with_free_func(g_free);

  if (len > 0 && memchr(text, '\0', len) != NULL) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                "%s: a header is text, but this file holds NUL bytes (a binary file named .hea?)",
                file);
    return NULL;
  }
  /* g_strndup(NULL, 0) is NULL: an empty file must still read as "". */
  g_autofree char *copy = len > 0 ? g_strndup(text, len) : g_strdup("");
  g_auto(GStrv) lines = g_strsplit(copy, "\n", -1);
  guint n_sig_seen = 0;
  gboolean have_record = FALSE;

  for (guint i = 0; lines[i]; i++) {
    char *line = g_strstrip(lines[i]); /* also drops a CR */
    if (*line == '\0')
      continue;
    if (*line == '#') {
      g_ptr_array_add(h->comments, g_strstrip(g_strdup(line + 1)));
      continue;
    }
    if (!have_record) {
      if (!parse_record_line(h, line, i + 1, error))
        return NULL;
      h->signals = g_new0(WfdbSignal, MAX(h->n_signals, 1));
      have_record = TRUE;
      continue;
    }
    if (n_sig_seen < h->n_signals) {
      if (!parse_signal_line(h, &h->signals[n_sig_seen], line, i + 1, n_sig_seen, error))
        return NULL;
      n_sig_seen++;
    }
    /* Extra signal lines are disregarded, as WFDB does. */
  }
  if (!have_record) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE, "%s: no record line (the header is empty)",
                file);
    return NULL;
  }
  if (n_sig_seen < h->n_signals) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                "%s: the record line declares %u signals but only %u signal lines follow", file,
                h->n_signals, n_sig_seen);
    return NULL;
  }
  /* Signals sharing a file are interleaved there: same format and offset. */
  for (guint i = 1; i < h->n_signals; i++) {
    WfdbSignal *a = &h->signals[i - 1], *b = &h->signals[i];
    if (strcmp(a->file_name, b->file_name) != 0)
      continue;
    if (a->format != b->format || a->byte_offset != b->byte_offset) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                  "%s:%u: signal %u shares '%s' with signal %u but has another format or byte "
                  "offset",
                  file, b->line, i, b->file_name, i - 1);
      return NULL;
    }
  }
  for (guint i = 0; i < h->n_signals; i++)
    for (guint j = i + 2; j < h->n_signals; j++)
      if (strcmp(h->signals[i].file_name, h->signals[j].file_name) == 0 &&
          strcmp(h->signals[j - 1].file_name, h->signals[i].file_name) != 0) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                    "%s:%u: signals stored in '%s' must be on consecutive lines", file,
                    h->signals[j].line, h->signals[j].file_name);
        return NULL;
      }
  return g_steal_pointer(&h);
}

const char *
wfdb_header_get_info(const WfdbHeader *header, const char *key)
{
  g_return_val_if_fail(header != NULL && key != NULL, NULL);
  gsize klen = strlen(key);
  for (guint i = 0; i < header->comments->len; i++) {
    const char *c = header->comments->pdata[i];
    if (*c == '<' && g_ascii_strncasecmp(c + 1, key, klen) == 0 && c[klen + 1] == '>' &&
        c[klen + 2] == ':')
      c += klen + 3;
    else if (g_ascii_strncasecmp(c, key, klen) == 0 && c[klen] == ':')
      c += klen + 1;
    else
      continue;
    while (*c == ' ' || *c == '\t')
      c++;
    return c;
  }
  return NULL;
}

gboolean
wfdb_format_is_supported(int format)
{
  return format == 16 || format == 61 || format == 80 || format == 212;
}

gint32
wfdb_invalid_sample(int format)
{
  switch (format) {
  case 212:
    return -2048;
  case 80:
    return -128;
  default:
    return -32768;
  }
}

gint64
wfdb_signal_file_frames(int format, guint n_group, gint64 byte_offset, gsize len)
{
  if (n_group == 0 || byte_offset < 0 || (guint64)byte_offset >= len)
    return 0;
  guint64 body = len - (guint64)byte_offset;
  switch (format) {
  case 16:
  case 61:
    return (gint64)(body / (2u * n_group));
  case 80:
    return (gint64)(body / n_group);
  case 212:
    /* Three bytes hold two samples; a trailing lone sample takes two. */
    return (gint64)((body / 3 * 2 + (body % 3 >= 2 ? 1 : 0)) / n_group);
  }
  return 0;
}

/* Bytes needed for @n samples (all signals counted) in @format. */
static guint64
bytes_for_samples(int format, guint64 n)
{
  switch (format) {
  case 16:
  case 61:
    return 2 * n;
  case 80:
    return n;
  case 212:
    return n / 2 * 3 + (n % 2 ? 2 : 0);
  }
  return 0;
}

gboolean
wfdb_decode_group(const guint8 *data, gsize len, const char *file, int format, gint64 byte_offset,
                  guint n_group, gint64 n_samples, gint32 *out, gint64 *invalid, GError **error)
{
  g_return_val_if_fail(wfdb_format_is_supported(format), FALSE);
  guint64 total = (guint64)n_samples * n_group;
  guint64 need = (guint64)byte_offset + bytes_for_samples(format, total);
  if (byte_offset < 0 || need > len) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                "%s: holds %" G_GSIZE_FORMAT " bytes, but %" G_GINT64_FORMAT
                " samples of %u signals in format %d after a %" G_GINT64_FORMAT
                "-byte preamble need %" G_GUINT64_FORMAT " (the file is truncated, or the "
                "header lies about the sample count)",
                file, len, n_samples, n_group, format, byte_offset, need);
    return FALSE;
  }
  if (invalid)
    *invalid = 0;
  if (total == 0) /* also keeps an empty file's NULL @data out of pointer arithmetic */
    return TRUE;
  const guint8 *p = data + byte_offset;
  const gint32 bad = wfdb_invalid_sample(format);
  gint64 n_bad = 0;
  for (guint64 k = 0; k < total; k++) {
    gint32 v;
    switch (format) {
    case 16:
      v = (gint16)(p[2 * k] | p[2 * k + 1] << 8);
      break;
    case 61:
      v = (gint16)(p[2 * k] << 8 | p[2 * k + 1]);
      break;
    case 80:
      v = (gint32)p[k] - 128;
      break;
    default: { /* 212 */
      const guint8 *t = p + k / 2 * 3;
      v = k % 2 == 0 ? (t[0] | (t[1] & 0x0f) << 8) : (t[2] | (t[1] & 0xf0) << 4);
      if (v & 0x800)
        v -= 0x1000;
      break;
    }
    }
    n_bad += v == bad;
    /* Interleaved frame by frame: sample k belongs to signal k % n_group. */
    out[(k % n_group) * (guint64)n_samples + k / n_group] = v;
  }
  if (invalid)
    *invalid = n_bad;
  return TRUE;
}

gint16
wfdb_checksum(const gint32 *samples, gint64 n)
{
  guint32 sum = 0;
  for (gint64 i = 0; i < n; i++)
    sum += (guint32)samples[i];
  return (gint16)(guint16)(sum & 0xffff);
}

/* ---- Annotations ------------------------------------------------------ */

enum { ANN_SKIP = 59, ANN_NUM = 60, ANN_SUB = 61, ANN_CHN = 62, ANN_AUX = 63, ANN_NOTE = 22 };

static const char *const ann_symbols[] = {
    [0] = " ",  [1] = "N",  [2] = "L",  [3] = "R",  [4] = "a",   [5] = "V",  [6] = "F",  [7] = "J",
    [8] = "A",  [9] = "S",  [10] = "E", [11] = "j", [12] = "/",  [13] = "Q", [14] = "~", [16] = "|",
    [18] = "s", [19] = "T", [20] = "*", [21] = "D", [22] = "\"", [23] = "=", [24] = "p", [25] = "B",
    [26] = "^", [27] = "t", [28] = "+", [29] = "u", [30] = "?",  [31] = "!", [32] = "[", [33] = "]",
    [34] = "e", [35] = "n", [36] = "@", [37] = "x", [38] = "f",  [39] = "(", [40] = ")", [41] = "r",
};

const char *
wfdb_annotation_symbol(guint code)
{
  if (code < G_N_ELEMENTS(ann_symbols) && ann_symbols[code])
    return ann_symbols[code];
  return "?";
}

static void
annotation_clear(gpointer p)
{
  WfdbAnnotation *a = p;
  g_free(a->aux);
}

GArray *
wfdb_annotations_parse(const guint8 *data, gsize len, const char *file, GError **error)
{
  g_return_val_if_fail(data != NULL || len == 0, NULL);
  g_autoptr(GArray) anns = g_array_new(FALSE, TRUE, sizeof(WfdbAnnotation));
  g_array_set_clear_func(anns, annotation_clear);

  if (len % 2 != 0) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                "%s: %" G_GSIZE_FORMAT " bytes: an MIT annotation file is a sequence of 16-bit "
                "words (truncated or not an annotation file)",
                file, len);
    return NULL;
  }
  gint64 t = 0;
  guint8 chan = 0;
  gint8 num = 0;
  gboolean have_current = FALSE;
  WfdbAnnotation *cur = NULL;
  gsize pos = 0;
  while (pos + 2 <= len) {
    guint word = data[pos] | data[pos + 1] << 8;
    guint code = word >> 10, arg = word & 0x3ff;
    gsize at = pos;
    pos += 2;
    if (word == 0)
      break; /* end of file */
    switch (code) {
    case ANN_SKIP: {
      if (pos + 4 > len)
        goto truncated;
      /* A 32-bit interval, high 16 bits first, each half little-endian. */
      guint32 hi = data[pos] | data[pos + 1] << 8;
      guint32 lo = data[pos + 2] | data[pos + 3] << 8;
      t += (gint32)(hi << 16 | lo);
      pos += 4;
      continue;
    }
    case ANN_NUM:
      if (!have_current)
        goto orphan;
      num = (gint8)(arg & 0xff);
      cur->num = num;
      continue;
    case ANN_SUB:
      if (!have_current)
        goto orphan;
      cur->subtype = (gint8)(arg & 0xff);
      continue;
    case ANN_CHN:
      if (!have_current)
        goto orphan;
      chan = (guint8)(arg & 0xff);
      cur->chan = chan;
      continue;
    case ANN_AUX: {
      if (!have_current)
        goto orphan;
      gsize n = arg & 0xff;
      if (pos + n > len)
        goto truncated;
      g_free(cur->aux);
      cur->aux = g_strndup((const char *)data + pos, n);
      pos += n + (n & 1);
      continue;
    }
    default:
      if (code > 49) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                    "%s: byte offset %" G_GSIZE_FORMAT ": annotation code %u is reserved", file, at,
                    code);
        return NULL;
      }
      t += arg;
      if (t < 0) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                    "%s: byte offset %" G_GSIZE_FORMAT ": annotation time %" G_GINT64_FORMAT
                    " is negative",
                    file, at, t);
        return NULL;
      }
      WfdbAnnotation a = {.sample = t, .code = (guint8)code, .chan = chan, .num = num};
      g_array_append_val(anns, a);
      cur = &g_array_index(anns, WfdbAnnotation, anns->len - 1);
      have_current = TRUE;
    }
  }

  /* Drop NOT-QRS placeholders and the definition notes at sample 0
   * ("## time resolution: …"), which are not annotations. */
  for (guint i = anns->len; i-- > 0;) {
    WfdbAnnotation *a = &g_array_index(anns, WfdbAnnotation, i);
    if (a->code == 0 ||
        (a->code == ANN_NOTE && a->sample == 0 && a->aux && g_str_has_prefix(a->aux, "## ")))
      g_array_remove_index(anns, i);
  }
  return g_steal_pointer(&anns);

/* ERRORS */
truncated:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
              "%s: byte offset %" G_GSIZE_FORMAT ": the file ends inside an annotation", file,
              pos - 2);
  return NULL;
orphan:
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
              "%s: byte offset %" G_GSIZE_FORMAT
              ": a modifier (NUM/SUB/CHN/AUX) before any annotation",
              file, pos - 2);
  return NULL;
}
