/* Lethe — safetensors checkpoints: atomic writes, zero-copy strict reads.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/error.h>
#include <lethe/fileutil.h>
#include <lethe/safetensors.h>

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#if G_BYTE_ORDER != G_LITTLE_ENDIAN
#error "safetensors data is little-endian; this code writes and maps it as is"
#endif

#define HEADER_ALIGN      64
#define MAX_HEADER_LENGTH (100u * 1024 * 1024) /* the reference implementation's limit */
#define VARIANT_KEYS      "lethe:variant-keys"

static const char *const st_dtypes[LETHE_N_DTYPES] = {
    [LETHE_DTYPE_F32] = "F32", [LETHE_DTYPE_F64] = "F64", [LETHE_DTYPE_I32] = "I32",
    [LETHE_DTYPE_I64] = "I64", [LETHE_DTYPE_U8] = "U8",   [LETHE_DTYPE_I8] = "I8",
};

/* ---- writing ------------------------------------------------------------ */

typedef struct {
  const char *name;
  LetheTensor *tensor; /* contiguous */
  guint index;         /* position in the frame */
  guint64 begin, end;
} Placed;

static gint
by_element_size(gconstpointer a, gconstpointer b, gpointer unused)
{
  const Placed *pa = a, *pb = b;
  gsize sa = lethe_dtype_size(pa->tensor->dtype), sb = lethe_dtype_size(pb->tensor->dtype);
  return sa == sb ? 0 : (sa > sb ? -1 : 1);
}

static char *
build_header(const LetheFrame *frame, const Placed *placed, guint n)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  g_autoptr(GPtrArray) keys = lethe_frame_get_meta_keys(frame);
  g_autoptr(GVariantBuilder) variant_keys = g_variant_builder_new(G_VARIANT_TYPE_STRING_ARRAY);
  gboolean any_variant = FALSE;

  json_builder_begin_object(b);
  if (keys->len > 0) {
    json_builder_set_member_name(b, "__metadata__");
    json_builder_begin_object(b);
    for (guint i = 0; i < keys->len; i++) {
      const char *key = keys->pdata[i];
      GVariant *v = lethe_frame_get_meta(frame, key);
      if (strcmp(key, VARIANT_KEYS) == 0)
        continue;
      json_builder_set_member_name(b, key);
      if (g_variant_is_of_type(v, G_VARIANT_TYPE_STRING)) {
        json_builder_add_string_value(b, g_variant_get_string(v, NULL));
      } else {
        g_autofree char *text = g_variant_print(v, TRUE);
        json_builder_add_string_value(b, text);
        g_variant_builder_add(variant_keys, "s", key);
        any_variant = TRUE;
      }
    }
    if (any_variant) {
      g_autoptr(GVariant) list = g_variant_ref_sink(g_variant_builder_end(variant_keys));
      g_autofree char *text = g_variant_print(list, FALSE);
      json_builder_set_member_name(b, VARIANT_KEYS);
      json_builder_add_string_value(b, text);
    }
    json_builder_end_object(b);
  }
  for (guint i = 0; i < n; i++) {
    const Placed *p = &placed[i];
    json_builder_set_member_name(b, p->name);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "dtype");
    json_builder_add_string_value(b, st_dtypes[p->tensor->dtype]);
    json_builder_set_member_name(b, "shape");
    json_builder_begin_array(b);
    for (guint d = 0; d < p->tensor->rank; d++)
      json_builder_add_int_value(b, p->tensor->shape[d]);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "data_offsets");
    json_builder_begin_array(b);
    json_builder_add_int_value(b, (gint64)p->begin);
    json_builder_add_int_value(b, (gint64)p->end);
    json_builder_end_array(b);
    json_builder_end_object(b);
  }
  json_builder_end_object(b);

  g_autoptr(JsonGenerator) gen = json_generator_new();
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  return json_generator_to_data(gen, NULL);
}

gboolean
lethe_safetensors_save(const LetheFrame *frame, const char *path, GError **error)
{
  g_return_val_if_fail(frame != NULL && path != NULL, FALSE);

  guint n = lethe_frame_get_n_tensors(frame);
  g_autofree Placed *placed = g_new0(Placed, MAX(n, 1));
  g_autofree Placed *order = NULL;
  g_autofree char *json = NULL, *header = NULL;
  g_autoptr(LetheAtomicFile) file = NULL;
  gboolean ok = FALSE;

  for (guint i = 0; i < n; i++) {
    LetheTensor *t = lethe_frame_get_nth(frame, i, &placed[i].name);
    if (strcmp(placed[i].name, "__metadata__") == 0) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "cannot write '%s': a tensor may not be called '__metadata__' in a "
                  "safetensors file (rename it)",
                  path);
      goto out;
    }
    placed[i].tensor = lethe_tensor_contiguous(t);
    placed[i].index = i;
  }

  /* Lay out the data largest element first (a stable sort keeps the frame
   * order within a size), so that every tensor stays aligned. */
  order = g_memdup2(placed, sizeof(Placed) * MAX(n, 1));
  g_qsort_with_data(order, (gint)n, sizeof(Placed), by_element_size, NULL);
  guint64 offset = 0;
  for (guint i = 0; i < n; i++) {
    Placed *p = &placed[order[i].index];
    p->begin = offset;
    offset += lethe_tensor_n_bytes(p->tensor);
    p->end = offset;
  }

  json = build_header(frame, placed, n);
  gsize json_len = strlen(json);
  /* Pad with spaces (allowed by the format) so the data starts aligned. */
  gsize header_len = ((8 + json_len + HEADER_ALIGN - 1) / HEADER_ALIGN) * HEADER_ALIGN - 8;
  header = g_malloc(8 + header_len);
  guint64 le = GUINT64_TO_LE((guint64)header_len);
  memcpy(header, &le, 8);
  memcpy(header + 8, json, json_len);
  memset(header + 8 + json_len, ' ', header_len - json_len);

  file = lethe_atomic_file_new(path, error);
  if (!file)
    goto out;
  if (!lethe_atomic_file_write(file, header, 8 + header_len, error))
    goto out;
  for (guint i = 0; i < n; i++) {
    const LetheTensor *t = placed[order[i].index].tensor;
    if (!lethe_atomic_file_write(file, lethe_tensor_data(t), lethe_tensor_n_bytes(t), error))
      goto out;
  }
  ok = lethe_atomic_file_commit(g_steal_pointer(&file), error);

out:
  for (guint i = 0; i < n; i++)
    if (placed[i].tensor)
      lethe_tensor_unref(placed[i].tensor);
  return ok;
}

/* ---- reading ------------------------------------------------------------ */

typedef struct {
  const char *name;
  LetheDType dtype;
  guint rank;
  gint64 shape[LETHE_TENSOR_MAX_RANK];
  guint64 begin, end;
} Entry;

static gboolean corrupt(GError **error, const char *origin, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static gboolean
corrupt(GError **error, const char *origin, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE, "%s: not a valid safetensors file: %s", origin,
              msg);
  return FALSE;
}

static gboolean
get_uint(JsonNode *node, guint64 *out)
{
  if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
    return FALSE;
  gint64 v = json_node_get_int(node);
  if (v < 0)
    return FALSE;
  *out = (guint64)v;
  return TRUE;
}

static gboolean
parse_entry(const char *origin, const char *name, JsonNode *node, Entry *e, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT(node))
    return corrupt(error, origin, "tensor '%s' is not described by a JSON object", name);
  JsonObject *o = json_node_get_object(node);
  g_autoptr(GList) members = json_object_get_members(o);
  for (GList *l = members; l; l = l->next)
    if (strcmp(l->data, "dtype") && strcmp(l->data, "shape") && strcmp(l->data, "data_offsets"))
      return corrupt(error, origin, "tensor '%s' has an unknown field '%s'", name,
                     (const char *)l->data);

  e->name = name;
  JsonNode *dtype = json_object_get_member(o, "dtype");
  const char *dname =
      dtype && JSON_NODE_HOLDS_VALUE(dtype) && json_node_get_value_type(dtype) == G_TYPE_STRING
          ? json_node_get_string(dtype)
          : NULL;
  if (!dname)
    return corrupt(error, origin, "tensor '%s' has no \"dtype\" string", name);
  guint d;
  for (d = 0; d < LETHE_N_DTYPES; d++)
    if (strcmp(dname, st_dtypes[d]) == 0)
      break;
  if (d == LETHE_N_DTYPES) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_UNSUPPORTED,
                "%s: tensor '%s' has dtype '%s', which Lethe does not support (F32, F64, I32, "
                "I64, U8, I8; convert it first)",
                origin, name, dname);
    return FALSE;
  }
  e->dtype = (LetheDType)d;

  JsonNode *shape = json_object_get_member(o, "shape");
  if (!shape || !JSON_NODE_HOLDS_ARRAY(shape))
    return corrupt(error, origin, "tensor '%s' has no \"shape\" array", name);
  JsonArray *sa = json_node_get_array(shape);
  if (json_array_get_length(sa) > LETHE_TENSOR_MAX_RANK)
    return corrupt(error, origin, "tensor '%s' has rank %u, above the maximum of %d", name,
                   json_array_get_length(sa), LETHE_TENSOR_MAX_RANK);
  e->rank = json_array_get_length(sa);
  for (guint i = 0; i < e->rank; i++) {
    guint64 v;
    if (!get_uint(json_array_get_element(sa, i), &v))
      return corrupt(error, origin, "tensor '%s' shape[%u] is not a non-negative integer", name, i);
    e->shape[i] = (gint64)v;
  }

  JsonNode *offsets = json_object_get_member(o, "data_offsets");
  if (!offsets || !JSON_NODE_HOLDS_ARRAY(offsets) ||
      json_array_get_length(json_node_get_array(offsets)) != 2 ||
      !get_uint(json_array_get_element(json_node_get_array(offsets), 0), &e->begin) ||
      !get_uint(json_array_get_element(json_node_get_array(offsets), 1), &e->end))
    return corrupt(error, origin, "tensor '%s' has no \"data_offsets\" [begin, end] pair", name);
  if (e->begin > e->end)
    return corrupt(error, origin,
                   "tensor '%s' data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                   "] end before they begin",
                   name, e->begin, e->end);

  gint64 n;
  g_autoptr(GError) local = NULL;
  if (!lethe_shape_n_elements(e->rank, e->shape, lethe_dtype_size(e->dtype), &n, &local))
    return corrupt(error, origin, "tensor '%s': %s", name, local->message);
  guint64 bytes = (guint64)n * lethe_dtype_size(e->dtype);
  if (bytes != e->end - e->begin) {
    g_autoptr(GString) s = g_string_new("[");
    for (guint i = 0; i < e->rank; i++)
      g_string_append_printf(s, "%s%" G_GINT64_FORMAT, i ? ", " : "", e->shape[i]);
    g_string_append_c(s, ']');
    return corrupt(error, origin,
                   "tensor '%s' (%s %s) needs %" G_GUINT64_FORMAT
                   " bytes but data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                   "] hold %" G_GUINT64_FORMAT,
                   name, dname, s->str, bytes, e->begin, e->end, e->end - e->begin);
  }
  return TRUE;
}

static gint
by_begin(gconstpointer a, gconstpointer b)
{
  const Entry *ea = *(Entry *const *)a, *eb = *(Entry *const *)b;
  if (ea->begin != eb->begin)
    return ea->begin < eb->begin ? -1 : 1;
  return ea->end < eb->end ? -1 : (ea->end > eb->end);
}

static gboolean
read_metadata(const char *origin, JsonNode *node, LetheFrame *frame, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT(node))
    return corrupt(error, origin, "\"__metadata__\" is not a JSON object");
  JsonObject *o = json_node_get_object(node);
  g_auto(GStrv) variant_keys = NULL;

  JsonNode *vk = json_object_get_member(o, VARIANT_KEYS);
  if (vk) {
    g_autoptr(GVariant) list = NULL;
    if (JSON_NODE_HOLDS_VALUE(vk) && json_node_get_value_type(vk) == G_TYPE_STRING)
      list =
          g_variant_parse(G_VARIANT_TYPE_STRING_ARRAY, json_node_get_string(vk), NULL, NULL, NULL);
    if (!list)
      return corrupt(error, origin, "metadata '%s' is not a list of keys", VARIANT_KEYS);
    variant_keys = g_variant_dup_strv(list, NULL);
  }

  g_autoptr(GList) members = json_object_get_members(o);
  for (GList *l = members; l; l = l->next) {
    const char *key = l->data;
    JsonNode *v = json_object_get_member(o, key);
    if (strcmp(key, VARIANT_KEYS) == 0)
      continue;
    if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING)
      return corrupt(error, origin, "metadata '%s' is not a string", key);
    const char *text = json_node_get_string(v);
    if (variant_keys && g_strv_contains((const char *const *)variant_keys, key)) {
      g_autoptr(GError) local = NULL;
      GVariant *parsed = g_variant_parse(NULL, text, NULL, NULL, &local);
      if (!parsed)
        return corrupt(error, origin, "metadata '%s' = \"%s\" is not a GVariant text: %s", key,
                       text, local->message);
      lethe_frame_set_meta(frame, key, parsed);
      g_variant_unref(parsed); /* g_variant_parse() returns a full reference */
    } else {
      lethe_frame_set_meta_string(frame, key, text);
    }
  }
  return TRUE;
}

/* The length of the JSON object that starts @text (at most @len bytes):
 * braces and brackets outside strings balanced, escapes skipped; 0 when it
 * does not close.  The header must be that object plus space padding: the
 * format pads with spaces, and json-glib 1.6 leaks the parsed tree when
 * trailing content makes it fail, so trailing bytes are refused here. */
static gsize
json_object_extent(const char *text, gsize len)
{
  gsize depth = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < len; i++) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if (c == '}' || c == ']') {
      if (depth == 0)
        return 0;
      if (--depth == 0)
        return i + 1;
    }
  }
  return 0;
}

LetheFrame *
lethe_safetensors_load_buffer(LetheBuffer *buffer, const char *origin, GError **error)
{
  g_return_val_if_fail(buffer != NULL, NULL);
  if (!origin)
    origin = "<safetensors>";

  const guint8 *bytes = lethe_buffer_get_data(buffer);
  gsize size = lethe_buffer_get_size(buffer);
  guint64 header_len;

  if (size < 8) {
    corrupt(error, origin,
            "the file holds %" G_GSIZE_FORMAT " bytes, fewer than the 8-byte "
            "header length (truncated?)",
            size);
    return NULL;
  }
  memcpy(&header_len, bytes, 8);
  header_len = GUINT64_FROM_LE(header_len);
  if (header_len > MAX_HEADER_LENGTH) {
    corrupt(error, origin,
            "the header length %" G_GUINT64_FORMAT " is above the limit of %u "
            "bytes",
            header_len, MAX_HEADER_LENGTH);
    return NULL;
  }
  if (header_len > size - 8) {
    corrupt(error, origin,
            "the header length %" G_GUINT64_FORMAT " runs past the end of the "
            "file (%" G_GSIZE_FORMAT " bytes; truncated?)",
            header_len, size);
    return NULL;
  }
  if (header_len < 2 || bytes[8] != '{') {
    corrupt(error, origin, "the header at byte offset 8 does not start with a JSON object");
    return NULL;
  }
  gsize data_start = 8 + header_len, data_size = size - data_start;
  gsize extent = json_object_extent((const char *)bytes + 8, header_len);
  if (extent == 0) {
    corrupt(error, origin, "the JSON header (bytes 8 to %" G_GSIZE_FORMAT ") is not closed",
            data_start);
    return NULL;
  }
  for (gsize i = 8 + extent; i < data_start; i++) {
    if (bytes[i] != ' ' && bytes[i] != '\t' && bytes[i] != '\n' && bytes[i] != '\r') {
      corrupt(error, origin,
              "the JSON header ends at byte offset %" G_GSIZE_FORMAT
              " but the header length runs to %" G_GSIZE_FORMAT " and byte %" G_GSIZE_FORMAT
              " is not padding",
              8 + extent, data_start, i);
      return NULL;
    }
  }

  g_autoptr(JsonParser) parser = json_parser_new_immutable();
  g_autoptr(GError) local = NULL;
  if (!json_parser_load_from_data(parser, (const char *)bytes + 8, (gssize)header_len, &local)) {
    corrupt(error, origin, "the JSON header (bytes 8 to %" G_GSIZE_FORMAT ") is invalid: %s",
            data_start, local->message);
    return NULL;
  }
  JsonNode *root = json_parser_get_root(parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    corrupt(error, origin, "the JSON header is not an object");
    return NULL;
  }
  JsonObject *top = json_node_get_object(root);
  g_autoptr(GList) members = json_object_get_members(top);
  guint n_members = g_list_length(members);
  g_autofree Entry *entries = g_new0(Entry, MAX(n_members, 1));
  g_autofree Entry **sorted = g_new0(Entry *, MAX(n_members, 1));
  g_autoptr(LetheFrame) frame = lethe_frame_new();
  guint n = 0;

  for (GList *l = members; l; l = l->next) {
    const char *name = l->data;
    JsonNode *node = json_object_get_member(top, name);
    if (strcmp(name, "__metadata__") == 0) {
      if (!read_metadata(origin, node, frame, error))
        return NULL;
      continue;
    }
    if (!parse_entry(origin, name, node, &entries[n], error))
      return NULL;
    if (entries[n].end > data_size) {
      corrupt(error, origin,
              "tensor '%s' data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
              "] run past the end of the data (%" G_GSIZE_FORMAT
              " bytes from byte offset %" G_GSIZE_FORMAT "; truncated?)",
              name, entries[n].begin, entries[n].end, data_size, data_start);
      return NULL;
    }
    sorted[n] = &entries[n];
    n++;
  }

  /* The tensors must tile the data exactly: no overlap, no gap, nothing after. */
  qsort(sorted, n, sizeof(Entry *), by_begin);
  guint64 expect = 0;
  for (guint i = 0; i < n; i++) {
    const Entry *e = sorted[i];
    if (e->begin < expect) {
      corrupt(error, origin, "tensors '%s' and '%s' overlap at data byte offset %" G_GUINT64_FORMAT,
              sorted[i - 1]->name, e->name, e->begin);
      return NULL;
    }
    if (e->begin > expect) {
      corrupt(error, origin,
              "%" G_GUINT64_FORMAT " bytes at data byte offset %" G_GUINT64_FORMAT
              " belong to no tensor (before '%s')",
              e->begin - expect, expect, e->name);
      return NULL;
    }
    expect = e->end;
  }
  if (expect != data_size) {
    corrupt(error, origin,
            "%" G_GUINT64_FORMAT
            " bytes after the last tensor's data (at byte offset %" G_GUINT64_FORMAT
            ") belong to no tensor",
            data_size - expect, data_start + expect);
    return NULL;
  }

  for (guint i = 0; i < n; i++) {
    const Entry *e = &entries[i];
    gsize at = data_start + e->begin, len = e->end - e->begin;
    LetheTensor *t;
    if (((guintptr)bytes + at) % lethe_dtype_size(e->dtype) == 0) {
      g_autoptr(LetheBuffer) sub = lethe_buffer_new_sub(buffer, at, len);
      t = lethe_tensor_new_from_buffer(sub, e->dtype, e->rank, e->shape, NULL, 0, error);
    } else {
      /* Misaligned for its dtype: copy rather than read unaligned. */
      t = lethe_tensor_new_uninit(e->dtype, e->rank, e->shape);
      memcpy(lethe_tensor_data(t), bytes + at, len);
    }
    if (!t)
      return NULL;
    lethe_frame_take_tensor(frame, e->name, t);
  }
  return g_steal_pointer(&frame);
}

LetheFrame *
lethe_safetensors_load(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  g_autoptr(LetheBuffer) map = lethe_buffer_new_mapped_file(path, error);
  if (!map)
    return NULL;
  return lethe_safetensors_load_buffer(map, path, error);
}
