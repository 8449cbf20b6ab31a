/* Lethe — wfdb-source: PhysioNet WFDB records (ECG and other signals).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   [ludb]
 *   plugin = wfdb-source
 *   path = ../shared/data/ecg/ludb-1.0.1.zip   # folder, archive or one .hea
 *   labels-from = header:Rhythm                # or csv:ludb.csv + label-column
 *   label-match = Sinus rhythm                 # optional: binary labels
 *   leads = i,ii,iii,avr,avl,avf,v1,v2,v3,v4,v5,v6
 *   bandpass = 0.5,40
 *   window = 2.5
 *   annotations = ii
 *
 * Emits one `dataset` frame, then ends its stream: x f32 [rows, leads,
 * samples] in physical units (mV for ECG), one row per record, or per
 * window when `window` is set; y i32 [rows] class indices (names in
 * metadata class-names); ids i64 [rows] (row number); subject i64 [rows]
 * (the record's index in metadata records, or the CSV's id); record i64
 * [rows]; start i64 [rows] (first sample of the window); group i32 [rows]
 * (index of the record name's letter prefix in metadata groups: the
 * hospital of a CinC record).  Metadata: fs, leads, records, class-names,
 * n-classes, dataset, window.  With `annotations`, also ann-record i64,
 * ann-lead i32, ann-sample i64 (at the output rate), ann-code i32 (WFDB
 * codes: 1 = N, the QRS peak in LUDB) and metadata annotation-leads.
 *
 * Every header, checksum and sample count is verified; see
 * docs/data-sources.md for the rules and the preprocessing order
 * (resample, band-pass, windows).
 */
#include <math.h>
#include <string.h>

#include <lethe/plugin.h>

#include "csv-parse.h"
#include "data-stream.h"
#include "wfdb-filter.h"
#include "wfdb-record.h"

typedef struct {
  WfdbRecord *rec;
  float *x; /* selected leads × n, after resampling and filtering */
  gint64 n;
  char *label; /* normalised label text, or NULL */
  gint64 subject;
} Loaded;

static void
loaded_clear(Loaded *l)
{
  wfdb_record_free(l->rec);
  g_free(l->x);
  g_free(l->label);
}

/* Trims spaces and trailing dots: "Sinus bradycardia. " → "Sinus bradycardia". */
static char *
normalize_label(const char *s)
{
  char *t = g_strstrip(g_strdup(s));
  gsize n = strlen(t);
  while (n > 0 && (t[n - 1] == '.' || g_ascii_isspace(t[n - 1])))
    t[--n] = '\0';
  return t;
}

static gboolean
prefixed_failure(GError **error, const char *name)
{
  g_prefix_error(error, "%s: ", name);
  return FALSE;
}

/* A record's failure: the messages name the record and its files relative
 * to the source, so name the source (folder or archive) too. */
static gboolean
record_failure(GError **error, const char *name, const char *path)
{
  if (error && *error && strstr((*error)->message, path) == NULL)
    g_prefix_error(error, "%s: ", path);
  return prefixed_failure(error, name);
}

static gboolean
bad_bandpass(GError **error, const char *name)
{
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
              "%s: bandpass takes two frequencies LOW,HIGH in Hz with LOW < HIGH (0 turns one "
              "side off), e.g. bandpass = 0.5,40",
              name);
  return FALSE;
}

static gboolean
contains_ignoring_case(const char *haystack, const char *needle)
{
  g_autofree char *h = g_ascii_strdown(haystack, -1);
  g_autofree char *n = g_ascii_strdown(needle, -1);
  return strstr(h, n) != NULL;
}

/* g_ptr_array_sort() passes pointers to the elements, not the strings. */
static gint
compare_labels(gconstpointer a, gconstpointer b)
{
  return g_ascii_strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

static char **
split_list(const char *s)
{
  g_auto(GStrv) parts = g_strsplit(s, ",", -1);
  GPtrArray *out = g_ptr_array_new();
  for (guint i = 0; parts[i]; i++) {
    g_strstrip(parts[i]);
    if (*parts[i])
      g_ptr_array_add(out, g_strdup(parts[i]));
  }
  g_ptr_array_add(out, NULL);
  return (char **)g_ptr_array_free(out, FALSE);
}

/* The CSV index named by labels-from=csv:FILE (a path, or a file name
 * inside the source). */
static CsvTable *
load_label_csv(WfdbSource *src, const char *spec, const char *name, GError **error)
{
  g_autoptr(GBytes) b = NULL;
  if (g_file_test(spec, G_FILE_TEST_IS_REGULAR)) {
    b = data_file_read_all(spec, G_GUINT64_CONSTANT(1) << 30, error);
  } else {
    g_autofree char *rel = wfdb_source_find_file(src, spec);
    if (rel == NULL) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                  "%s: labels-from: no file '%s', neither on disk nor in %s", name, spec,
                  wfdb_source_get_path(src));
      return NULL;
    }
    b = wfdb_source_get_file(src, rel, error);
  }
  if (b == NULL)
    return NULL;
  gsize len;
  const char *text = g_bytes_get_data(b, &len);
  return csv_parse(text, len, ',', TRUE, spec, error);
}

static gboolean
wfdb_source_process(LetheNode *node, LetheFrame **inputs, GError **error)
{
  const char *name = lethe_node_get_name(node);
  const char *path = lethe_node_get_string(node, "path");
  const char *labels_from = lethe_node_get_string(node, "labels-from");
  const char *label_column = lethe_node_get_string(node, "label-column");
  const char *id_column = lethe_node_get_string(node, "id-column");
  const char *label_match = lethe_node_get_string(node, "label-match");
  gboolean match_exact = g_strcmp0(lethe_node_get_string(node, "label-match-mode"), "exact") == 0;
  double resample = lethe_node_get_double(node, "resample");
  gboolean rate_resample =
      g_strcmp0(lethe_node_get_string(node, "mismatched-rate"), "resample") == 0;
  double window = lethe_node_get_double(node, "window");
  double stride = lethe_node_get_double(node, "stride");
  gboolean nan_zero = g_strcmp0(lethe_node_get_string(node, "nan"), "zero") == 0;
  gsize n_band = 0;
  const double *band = lethe_node_get_double_list(node, "bandpass", &n_band);
  g_auto(GStrv) leads = split_list(lethe_node_get_string(node, "leads"));
  g_auto(GStrv) ann_exts = split_list(lethe_node_get_string(node, "annotations"));
  guint n_ann = g_strv_length(ann_exts);

  g_autoptr(WfdbSource) src = NULL;
  g_autoptr(CsvTable) csv = NULL;
  g_autoptr(GArray) loaded = g_array_new(FALSE, TRUE, sizeof(Loaded));
  g_array_set_clear_func(loaded, (GDestroyNotify)loaded_clear);
  g_autoptr(GPtrArray) lead_names = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(GArray) ann_rec = g_array_new(FALSE, FALSE, sizeof(gint64));
  g_autoptr(GArray) ann_lead = g_array_new(FALSE, FALSE, sizeof(gint32));
  g_autoptr(GArray) ann_sample = g_array_new(FALSE, FALSE, sizeof(gint64));
  g_autoptr(GArray) ann_code = g_array_new(FALSE, FALSE, sizeof(gint32));
  int csv_label_col = -1, csv_id_col = 0;
  const char *header_key = NULL;
  double fs_out = resample;

  if (n_band != 0 && n_band != 2)
    return bad_bandpass(error, name);
  if (n_band == 2 && band[1] > 0 && band[0] >= band[1])
    return bad_bandpass(error, name);
  if (*label_match && !*labels_from) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: label-match needs labels-from (header:KEY or csv:FILE) to match against",
                name);
    return FALSE;
  }
  if (*labels_from) {
    if (g_str_has_prefix(labels_from, "header:")) {
      header_key = labels_from + 7;
    } else if (!g_str_has_prefix(labels_from, "csv:")) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s: labels-from '%s' is neither 'header:KEY' (a `# KEY: value` comment) nor "
                  "'csv:FILE'",
                  name, labels_from);
      return FALSE;
    }
  }

  src = wfdb_source_open(path, lethe_node_get_string(node, "records"), error);
  if (src == NULL)
    return prefixed_failure(error, name);
  if (g_str_has_prefix(labels_from, "csv:")) {
    csv = load_label_csv(src, labels_from + 4, name, error);
    if (csv == NULL)
      return prefixed_failure(error, name);
    csv_label_col = csv_table_find_column(csv, label_column);
    csv_id_col = csv_table_find_column(csv, *id_column ? id_column : "0");
    if (csv_label_col < 0 || csv_id_col < 0) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                  "%s: %s has no column '%s' (label-column) or '%s' (id-column)", name,
                  labels_from + 4, label_column, *id_column ? id_column : "0");
      return FALSE;
    }
  }

  GPtrArray *keys = wfdb_source_get_records(src);
  for (guint r = 0; r < keys->len; r++) {
    if (lethe_node_is_cancelled(node)) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_CANCELLED, "%s: cancelled", name);
      return FALSE;
    }
    lethe_node_progress(node, "reading records", (double)r / keys->len);
    Loaded l = {0};
    l.rec = wfdb_record_load(src, keys->pdata[r], error);
    if (l.rec == NULL)
      return record_failure(error, name, path);
    g_array_append_val(loaded, l);
    Loaded *cur = &g_array_index(loaded, Loaded, loaded->len - 1);
    WfdbRecord *rec = cur->rec;
    const WfdbHeader *h = rec->header;
    cur->subject = r;

    /* Leads: the required set in the asked order, or all signals. */
    guint n_leads = leads[0] ? g_strv_length(leads) : h->n_signals;
    g_autofree guint *idx = g_new(guint, MAX(n_leads, 1));
    if (leads[0]) {
      if (!wfdb_match_leads(rec, (const char *const *)leads, n_leads, idx, error))
        return record_failure(error, name, path);
    } else {
      for (guint i = 0; i < n_leads; i++)
        idx[i] = i;
    }
    if (r == 0) {
      for (guint i = 0; i < n_leads; i++)
        g_ptr_array_add(lead_names, g_strdup(leads[0] ? leads[i] : h->signals[idx[i]].description));
      if (fs_out <= 0)
        fs_out = h->fs;
    } else if (n_leads != lead_names->len) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s: record '%s' has %u signals, the first record %u; set 'leads' to the "
                  "leads every record must have",
                  name, rec->name, n_leads, lead_names->len);
      return FALSE;
    }
    if (fabs(h->fs - fs_out) > 1e-9 && resample <= 0 && !rate_resample) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s: record '%s' is sampled at %g Hz, the first record at %g Hz; set "
                  "mismatched-rate=resample or resample=HZ",
                  name, rec->name, h->fs, fs_out);
      return FALSE;
    }
    /* Missing samples. */
    if (rec->n_invalid > 0) {
      if (!nan_zero) {
        for (guint i = 0; i < n_leads; i++) {
          const float *v = rec->physical + (gsize)idx[i] * rec->n_samples;
          for (gint64 k = 0; k < rec->n_samples; k++)
            if (isnan(v[k])) {
              g_set_error(
                  error, LETHE_ERROR, LETHE_ERROR_NUMERIC,
                  "%s: record '%s', lead %s: missing sample (NaN) at sample %" G_GINT64_FORMAT
                  " (%" G_GINT64_FORMAT " in the record); set nan=zero to replace "
                  "them with 0",
                  name, rec->name, h->signals[idx[i]].description, k, rec->n_invalid);
              return FALSE;
            }
        }
      }
      for (gint64 k = 0; k < (gint64)h->n_signals * rec->n_samples; k++)
        if (isnan(rec->physical[k]))
          rec->physical[k] = 0.0f;
    }

    /* Resample, then band-pass, each lead. */
    gint64 n_out = fabs(h->fs - fs_out) > 1e-9
                       ? signal_resample_length(rec->n_samples, h->fs, fs_out)
                       : rec->n_samples;
    cur->n = n_out;
    cur->x = g_new(float, (gsize)n_leads *(gsize)MAX(n_out, 1));
    for (guint i = 0; i < n_leads; i++) {
      const float *in = rec->physical + (gsize)idx[i] * rec->n_samples;
      float *out = cur->x + (gsize)i * n_out;
      if (n_out != rec->n_samples || fabs(h->fs - fs_out) > 1e-9)
        signal_resample(in, rec->n_samples, h->fs, fs_out, out, n_out);
      else
        memcpy(out, in, sizeof(float) * n_out);
      if (n_band == 2)
        signal_bandpass(out, n_out, fs_out, band[0], band[1]);
    }

    /* Label. */
    if (header_key) {
      const char *v = wfdb_header_get_info(h, header_key);
      if (v == NULL) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                    "%s: record '%s' has no '# %s:' comment in its header (labels-from=%s)", name,
                    rec->name, header_key, labels_from);
        return FALSE;
      }
      cur->label = normalize_label(v);
    } else if (csv) {
      gboolean found = FALSE;
      for (guint row = 0; row < csv_table_n_rows(csv) && !found; row++) {
        g_autofree char *id = normalize_label(csv_table_get(csv, row, (guint)csv_id_col));
        if (g_strcmp0(id, rec->name) == 0) {
          cur->label = normalize_label(csv_table_get(csv, row, (guint)csv_label_col));
          gint64 sid;
          char *end;
          sid = g_ascii_strtoll(id, &end, 10);
          if (*id && *end == '\0')
            cur->subject = sid;
          found = TRUE;
        }
      }
      if (!found) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
                    "%s: record '%s' has no row in %s (id-column '%s')", name, rec->name,
                    labels_from + 4, csv_table_column_name(csv, (guint)csv_id_col));
        return FALSE;
      }
    }

    /* Annotations, at the output rate. */
    for (guint a = 0; a < n_ann; a++) {
      g_autoptr(GArray) anns = wfdb_record_load_annotations(src, rec, ann_exts[a], error);
      if (anns == NULL)
        return record_failure(error, name, path);
      for (guint k = 0; k < anns->len; k++) {
        WfdbAnnotation *an = &g_array_index(anns, WfdbAnnotation, k);
        gint64 rr = r, s = (gint64)llround((double)an->sample * fs_out / h->fs);
        gint32 li = (gint32)a, code = an->code;
        g_array_append_val(ann_rec, rr);
        g_array_append_val(ann_lead, li);
        g_array_append_val(ann_sample, s);
        g_array_append_val(ann_code, code);
      }
    }
    /* The raw record is no longer needed. */
    g_clear_pointer(&rec->physical, g_free);
  }

  /* Rows: one per record, or per window. */
  guint n_leads = lead_names->len;
  gint64 win = window > 0 ? (gint64)llround(window * fs_out) : 0;
  gint64 step = stride > 0 ? (gint64)llround(stride * fs_out) : win;
  if ((window > 0 && win < 1) || (win > 0 && step < 1)) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: %s of %g s is less than one sample at %g Hz; give at least %g s", name,
                win < 1 ? "window" : "stride", win < 1 ? window : stride, fs_out, 1.0 / fs_out);
    return FALSE;
  }
  gint64 n_rows = 0, row_len = 0;
  for (guint r = 0; r < loaded->len; r++) {
    Loaded *l = &g_array_index(loaded, Loaded, r);
    if (win > 0) {
      if (win > l->n) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                    "%s: window of %g s (%" G_GINT64_FORMAT " samples) is longer than record "
                    "'%s' (%" G_GINT64_FORMAT " samples, %g s)",
                    name, window, win, l->rec->name, l->n, (double)l->n / fs_out);
        return FALSE;
      }
      n_rows += (l->n - win) / step + 1;
      row_len = win;
    } else {
      if (r > 0 && l->n != row_len) {
        g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                    "%s: record '%s' has %" G_GINT64_FORMAT
                    " samples, record '%s' %" G_GINT64_FORMAT
                    "; set window (seconds) to cut records of different lengths into equal "
                    "windows",
                    name, l->rec->name, l->n, g_array_index(loaded, Loaded, 0).rec->name, row_len);
        return FALSE;
      }
      row_len = l->n;
      n_rows++;
    }
  }

  /* Classes: distinct labels in natural order, or a binary match. */
  g_autoptr(GPtrArray) classes = g_ptr_array_new_with_free_func(g_free);
  if (*label_match) {
    g_ptr_array_add(classes, g_strdup("other"));
    g_ptr_array_add(classes, g_strdup(label_match));
  } else if (header_key || csv) {
    for (guint r = 0; r < loaded->len; r++) {
      const char *lab = g_array_index(loaded, Loaded, r).label;
      gboolean seen = FALSE;
      for (guint c = 0; c < classes->len && !seen; c++)
        seen = strcmp(classes->pdata[c], lab) == 0;
      if (!seen)
        g_ptr_array_add(classes, g_strdup(lab));
    }
    g_ptr_array_sort(classes, compare_labels);
  } else {
    g_ptr_array_add(classes, g_strdup("unlabelled"));
  }
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func(g_free);

  gint64 xshape[3] = {n_rows, n_leads, row_len};
  g_autoptr(LetheTensor) x = lethe_tensor_new_uninit(LETHE_DTYPE_F32, 3, xshape);
  g_autoptr(LetheTensor) y = lethe_tensor_new_uninit(LETHE_DTYPE_I32, 1, xshape);
  g_autoptr(LetheTensor) ids = lethe_tensor_new_uninit(LETHE_DTYPE_I64, 1, xshape);
  g_autoptr(LetheTensor) subject = lethe_tensor_new_uninit(LETHE_DTYPE_I64, 1, xshape);
  g_autoptr(LetheTensor) record = lethe_tensor_new_uninit(LETHE_DTYPE_I64, 1, xshape);
  g_autoptr(LetheTensor) start = lethe_tensor_new_uninit(LETHE_DTYPE_I64, 1, xshape);
  g_autoptr(LetheTensor) group = lethe_tensor_new_uninit(LETHE_DTYPE_I32, 1, xshape);
  g_autoptr(GPtrArray) record_names = g_ptr_array_new();
  gint64 row = 0;
  for (guint r = 0; r < loaded->len; r++) {
    Loaded *l = &g_array_index(loaded, Loaded, r);
    g_ptr_array_add(record_names, l->rec->name);
    gint32 cls = 0;
    if (*label_match)
      cls = l->label && (match_exact ? g_ascii_strcasecmp(l->label, label_match) == 0
                                     : contains_ignoring_case(l->label, label_match));
    for (guint c = 0; !*label_match && l->label && c < classes->len; c++)
      if (strcmp(classes->pdata[c], l->label) == 0)
        cls = (gint32)c;
    /* Group: the record name's leading letters ("E", "HR", "JS"). */
    gsize plen = 0;
    while (g_ascii_isalpha(l->rec->name[plen]))
      plen++;
    g_autofree char *prefix = g_strndup(l->rec->name, plen);
    gint32 gi = -1;
    for (guint g = 0; g < groups->len; g++)
      if (strcmp(groups->pdata[g], prefix) == 0)
        gi = (gint32)g;
    if (gi < 0) {
      gi = (gint32)groups->len;
      g_ptr_array_add(groups, g_strdup(prefix));
    }
    gint64 n_win = win > 0 ? (l->n - win) / step + 1 : 1;
    for (gint64 w = 0; w < n_win; w++, row++) {
      gint64 s0 = win > 0 ? w * step : 0;
      for (guint i = 0; i < n_leads; i++)
        memcpy(lethe_tensor_f32(x) + ((gsize)row * n_leads + i) * row_len,
               l->x + (gsize)i * l->n + s0, sizeof(float) * row_len);
      lethe_tensor_i32(y)[row] = cls;
      lethe_tensor_i64(ids)[row] = row;
      lethe_tensor_i64(subject)[row] = l->subject;
      lethe_tensor_i64(record)[row] = r;
      lethe_tensor_i64(start)[row] = s0;
      lethe_tensor_i32(group)[row] = gi;
    }
  }

  LetheFrame *frame = lethe_frame_new();
  lethe_frame_set_tensor(frame, "x", x);
  lethe_frame_set_tensor(frame, "y", y);
  lethe_frame_set_tensor(frame, "ids", ids);
  lethe_frame_set_tensor(frame, "subject", subject);
  lethe_frame_set_tensor(frame, "record", record);
  lethe_frame_set_tensor(frame, "start", start);
  lethe_frame_set_tensor(frame, "group", group);
  if (n_ann > 0) {
    gint64 k = ann_rec->len;
    g_autoptr(LetheTensor) ar = lethe_tensor_new_uninit(LETHE_DTYPE_I64, 1, &k);
    g_autoptr(LetheTensor) al = lethe_tensor_new_uninit(LETHE_DTYPE_I32, 1, &k);
    g_autoptr(LetheTensor) as = lethe_tensor_new_uninit(LETHE_DTYPE_I64, 1, &k);
    g_autoptr(LetheTensor) ac = lethe_tensor_new_uninit(LETHE_DTYPE_I32, 1, &k);
    memcpy(lethe_tensor_i64(ar), ann_rec->data, sizeof(gint64) * k);
    memcpy(lethe_tensor_i32(al), ann_lead->data, sizeof(gint32) * k);
    memcpy(lethe_tensor_i64(as), ann_sample->data, sizeof(gint64) * k);
    memcpy(lethe_tensor_i32(ac), ann_code->data, sizeof(gint32) * k);
    lethe_frame_set_tensor(frame, "ann-record", ar);
    lethe_frame_set_tensor(frame, "ann-lead", al);
    lethe_frame_set_tensor(frame, "ann-sample", as);
    lethe_frame_set_tensor(frame, "ann-code", ac);
    lethe_frame_set_meta(frame, "annotation-leads",
                         g_variant_new_strv((const char *const *)ann_exts, n_ann));
  }
  g_autofree char *base = g_path_get_basename(path);
  lethe_frame_set_meta_string(frame, "dataset", base);
  lethe_frame_set_meta_double(frame, "fs", fs_out);
  lethe_frame_set_meta_double(frame, "window", win > 0 ? window : (double)row_len / fs_out);
  lethe_frame_set_meta_int(frame, "n-classes", classes->len);
  lethe_frame_set_meta(frame, "class-names",
                       g_variant_new_strv((const char *const *)classes->pdata, classes->len));
  lethe_frame_set_meta(frame, "leads",
                       g_variant_new_strv((const char *const *)lead_names->pdata, n_leads));
  lethe_frame_set_meta(
      frame, "records",
      g_variant_new_strv((const char *const *)record_names->pdata, record_names->len));
  lethe_frame_set_meta(frame, "groups",
                       g_variant_new_strv((const char *const *)groups->pdata, groups->len));
  lethe_node_progress(node, "done", 1.0);
  lethe_node_push(node, 0, frame);
  lethe_node_end_stream(node);
  return TRUE;
}

static const char *const rate_choices[] = {"refuse", "resample", NULL};
static const char *const nan_choices[] = {"refuse", "zero", NULL};
static const char *const match_choices[] = {"contains", "exact", NULL};

static const LethePortSpec wfdb_outputs[] = {
    {"data", "dataset", LETHE_PORT_NONE, "records or windows [rows, leads, samples]"},
    {NULL},
};

static const LetheParamSpec wfdb_params[] = {
    {"path", LETHE_PARAM_PATH, NULL, 0, 0, NULL,
     "a folder of records, a .zip/.tar.* archive of one, or a single .hea file"},
    {"records", LETHE_PARAM_STRING, "", 0, 0, NULL,
     "comma-separated globs on record names (e.g. 1*,2*); empty keeps all"},
    {"labels-from", LETHE_PARAM_STRING, "", 0, 0, NULL,
     "header:KEY (a '# KEY: value' header comment, e.g. header:Rhythm, header:Dx) or "
     "csv:FILE (e.g. csv:ludb.csv, found inside the source)"},
    {"label-column", LETHE_PARAM_STRING, "", 0, 0, NULL,
     "with labels-from=csv:FILE, the column holding the label (name or 0-based index)"},
    {"id-column", LETHE_PARAM_STRING, "", 0, 0, NULL,
     "with labels-from=csv:FILE, the column holding record names (default: the first)"},
    {"label-match", LETHE_PARAM_STRING, "", 0, 0, NULL,
     "binary labels: 1 when the label contains this text (ignoring case), else 0"},
    {"label-match-mode", LETHE_PARAM_ENUM, "contains", 0, 0, match_choices,
     "contains: the label contains label-match; exact: the whole label is label-match (both "
     "ignoring case, after trimming spaces and trailing dots)"},
    {"leads", LETHE_PARAM_STRING, "", 0, 0, NULL,
     "required leads, in output order (e.g. i,ii,v1); a record missing one is an error"},
    {"annotations", LETHE_PARAM_STRING, "", 0, 0, NULL,
     "annotation file extensions to read (e.g. i,ii or atr)"},
    {"resample", LETHE_PARAM_DOUBLE, "0", 0, 1e6, NULL,
     "resample every record to this rate in Hz; 0 keeps the first record's rate"},
    {"mismatched-rate", LETHE_PARAM_ENUM, "refuse", 0, 0, rate_choices,
     "what to do with a record sampled at another rate than the first"},
    {"bandpass", LETHE_PARAM_DOUBLE_LIST, "", 0, 1e6, NULL,
     "LOW,HIGH in Hz: zero-phase 4th-order Butterworth band-pass (0 turns a side off)"},
    {"window", LETHE_PARAM_DOUBLE, "0", 0, 1e7, NULL,
     "cut records into windows of this many seconds; 0 keeps whole records"},
    {"stride", LETHE_PARAM_DOUBLE, "0", 0, 1e7, NULL,
     "seconds between window starts; 0 means the window length (no overlap)"},
    {"nan", LETHE_PARAM_ENUM, "refuse", 0, 0, nan_choices,
     "missing samples (NaN): refuse the record, or replace them with 0"},
    {NULL},
};

static const LetheNodeVTable wfdb_vtable = {.process = wfdb_source_process};

static const LetheNodeType wfdb_source = {
    "wfdb-source",
    LETHE_NODE_SOURCE,
    "PhysioNet WFDB records (ECG) from folders or archives, with labels and windows",
    NULL,
    wfdb_outputs,
    wfdb_params,
    &wfdb_vtable,
    "Reads every record (header, signal files in formats 16, 61, 80, 212, checksums), selects "
    "leads, resamples, band-passes and cuts windows, and emits one dataset frame of x f32 "
    "[rows, leads, samples] in physical units with labels from header comments or a CSV index; "
    "optionally the records' annotations (e.g. LUDB's QRS peaks).",
};

static const LetheNodeType *const node_types[] = {&wfdb_source, NULL};

static const LethePluginInfo plugin_info = {
    LETHE_ABI_MAJOR,
    LETHE_ABI_MINOR,
    "wfdb",
    "0.1.0",
    "LGPL-2.1-or-later",
    "PhysioNet WFDB record source",
    node_types,
    NULL,
};

LETHE_PLUGIN_DEFINE(plugin_info)
