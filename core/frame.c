/* Lethe — frames: ordered named tensors plus ordered metadata.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/frame.h>
#include "frame-private.h"

#include <string.h>

/* Past this many tensors, names are also indexed in a hash table so that
 * lookups stay O(1) in frames with thousands of tensors. */
#define INDEX_THRESHOLD 8

typedef struct {
  char *name;
  LetheTensor *tensor;
} TensorEntry;

typedef struct {
  char *key;
  GVariant *value;
} MetaEntry;

struct _LetheFrame {
  gint ref_count;
  GArray *tensors;   /* TensorEntry, in insertion order */
  GHashTable *index; /* name -> position + 1, once there are many tensors */
  GArray *meta;      /* MetaEntry, in insertion order */
  /* The last schema this frame was found valid for; any change clears it. */
  gpointer validated_schema;
};

static void
tensor_entry_clear(gpointer p)
{
  TensorEntry *e = p;
  g_free(e->name);
  lethe_tensor_unref(e->tensor);
}

static void
meta_entry_clear(gpointer p)
{
  MetaEntry *e = p;
  g_free(e->key);
  g_variant_unref(e->value);
}

LetheFrame *
lethe_frame_new(void)
{
  LetheFrame *frame = g_new0(LetheFrame, 1);
  frame->ref_count = 1;
  frame->tensors = g_array_new(FALSE, FALSE, sizeof(TensorEntry));
  g_array_set_clear_func(frame->tensors, tensor_entry_clear);
  frame->meta = g_array_new(FALSE, FALSE, sizeof(MetaEntry));
  g_array_set_clear_func(frame->meta, meta_entry_clear);
  return frame;
}

LetheFrame *
lethe_frame_ref(LetheFrame *frame)
{
  g_return_val_if_fail(frame != NULL, NULL);
  g_atomic_int_inc(&frame->ref_count);
  return frame;
}

void
lethe_frame_unref(LetheFrame *frame)
{
  g_return_if_fail(frame != NULL);
  if (!g_atomic_int_dec_and_test(&frame->ref_count))
    return;
  g_array_unref(frame->tensors);
  g_array_unref(frame->meta);
  if (frame->index)
    g_hash_table_unref(frame->index);
  g_free(frame);
}

gint
lethe_frame_get_refcount(const LetheFrame *frame)
{
  g_return_val_if_fail(frame != NULL, 0);
  return g_atomic_int_get(&frame->ref_count);
}

gboolean
lethe_frame_is_writable(const LetheFrame *frame)
{
  g_return_val_if_fail(frame != NULL, FALSE);
  return g_atomic_int_get(&frame->ref_count) == 1;
}

static void
build_index(LetheFrame *frame)
{
  frame->index = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < frame->tensors->len; i++)
    g_hash_table_insert(frame->index, g_array_index(frame->tensors, TensorEntry, i).name,
                        GUINT_TO_POINTER(i + 1));
}

LetheFrame *
lethe_frame_copy(const LetheFrame *frame)
{
  g_return_val_if_fail(frame != NULL, NULL);
  LetheFrame *copy = lethe_frame_new();

  g_array_set_size(copy->tensors, frame->tensors->len);
  for (guint i = 0; i < frame->tensors->len; i++) {
    const TensorEntry *src = &g_array_index(frame->tensors, TensorEntry, i);
    TensorEntry *dst = &g_array_index(copy->tensors, TensorEntry, i);
    dst->name = g_strdup(src->name);
    dst->tensor = lethe_tensor_ref(src->tensor);
  }
  if (frame->index)
    build_index(copy);
  g_array_set_size(copy->meta, frame->meta->len);
  for (guint i = 0; i < frame->meta->len; i++) {
    const MetaEntry *src = &g_array_index(frame->meta, MetaEntry, i);
    MetaEntry *dst = &g_array_index(copy->meta, MetaEntry, i);
    dst->key = g_strdup(src->key);
    dst->value = g_variant_ref(src->value); /* GVariants are immutable */
  }
  copy->validated_schema = g_atomic_pointer_get(&((LetheFrame *)frame)->validated_schema);
  return copy;
}

LetheFrame *
lethe_frame_make_writable(LetheFrame *frame)
{
  g_return_val_if_fail(frame != NULL, NULL);
  if (lethe_frame_is_writable(frame))
    return frame;
  LetheFrame *copy = lethe_frame_copy(frame);
  lethe_frame_unref(frame);
  return copy;
}

static gint
find_tensor(const LetheFrame *frame, const char *name)
{
  if (frame->index)
    return (gint)GPOINTER_TO_UINT(g_hash_table_lookup(frame->index, name)) - 1;
  for (guint i = 0; i < frame->tensors->len; i++)
    if (strcmp(g_array_index(frame->tensors, TensorEntry, i).name, name) == 0)
      return (gint)i;
  return -1;
}

static void
changed(LetheFrame *frame)
{
  g_atomic_pointer_set(&frame->validated_schema, NULL);
}

void
lethe_frame_take_tensor(LetheFrame *frame, const char *name, LetheTensor *tensor)
{
  g_return_if_fail(frame != NULL && name != NULL && tensor != NULL);
  g_return_if_fail(lethe_frame_is_writable(frame));

  changed(frame);
  gint i = find_tensor(frame, name);
  if (i >= 0) {
    TensorEntry *e = &g_array_index(frame->tensors, TensorEntry, i);
    LetheTensor *old = e->tensor;
    e->tensor = tensor;
    lethe_tensor_unref(old);
    return;
  }
  TensorEntry e = {g_strdup(name), tensor};
  g_array_append_val(frame->tensors, e);
  if (frame->index)
    g_hash_table_insert(frame->index, e.name, GUINT_TO_POINTER(frame->tensors->len));
  else if (frame->tensors->len > INDEX_THRESHOLD)
    build_index(frame);
}

void
lethe_frame_set_tensor(LetheFrame *frame, const char *name, LetheTensor *tensor)
{
  g_return_if_fail(tensor != NULL);
  lethe_frame_take_tensor(frame, name, lethe_tensor_ref(tensor));
}

LetheTensor *
lethe_frame_get_tensor(const LetheFrame *frame, const char *name)
{
  g_return_val_if_fail(frame != NULL && name != NULL, NULL);
  gint i = find_tensor(frame, name);
  return i >= 0 ? g_array_index(frame->tensors, TensorEntry, i).tensor : NULL;
}

LetheTensor *
lethe_frame_make_tensor_writable(LetheFrame *frame, const char *name)
{
  g_return_val_if_fail(frame != NULL && name != NULL, NULL);
  g_return_val_if_fail(lethe_frame_is_writable(frame), NULL);

  gint i = find_tensor(frame, name);
  if (i < 0)
    return NULL;
  TensorEntry *e = &g_array_index(frame->tensors, TensorEntry, i);
  if (!lethe_tensor_is_writable(e->tensor)) {
    changed(frame);
    e->tensor = lethe_tensor_make_writable(e->tensor); /* drops the shared reference */
  }
  return e->tensor;
}

gboolean
lethe_frame_remove_tensor(LetheFrame *frame, const char *name)
{
  g_return_val_if_fail(frame != NULL && name != NULL, FALSE);
  g_return_val_if_fail(lethe_frame_is_writable(frame), FALSE);

  gint i = find_tensor(frame, name);
  if (i < 0)
    return FALSE;
  changed(frame);
  if (frame->index) {
    g_hash_table_remove(frame->index, name);
    for (guint j = (guint)i + 1; j < frame->tensors->len; j++)
      g_hash_table_insert(frame->index, g_array_index(frame->tensors, TensorEntry, j).name,
                          GUINT_TO_POINTER(j)); /* position j-1, stored + 1 */
  }
  g_array_remove_index(frame->tensors, (guint)i);
  return TRUE;
}

guint
lethe_frame_get_n_tensors(const LetheFrame *frame)
{
  g_return_val_if_fail(frame != NULL, 0);
  return frame->tensors->len;
}

LetheTensor *
lethe_frame_get_nth(const LetheFrame *frame, guint i, const char **name)
{
  g_return_val_if_fail(frame != NULL, NULL);
  g_return_val_if_fail(i < frame->tensors->len, NULL);
  const TensorEntry *e = &g_array_index(frame->tensors, TensorEntry, i);
  if (name)
    *name = e->name;
  return e->tensor;
}

/* ---- metadata ----------------------------------------------------------- */

static gint
find_meta(const LetheFrame *frame, const char *key)
{
  for (guint i = 0; i < frame->meta->len; i++)
    if (strcmp(g_array_index(frame->meta, MetaEntry, i).key, key) == 0)
      return (gint)i;
  return -1;
}

void
lethe_frame_set_meta(LetheFrame *frame, const char *key, GVariant *value)
{
  g_return_if_fail(frame != NULL && key != NULL);
  g_return_if_fail(lethe_frame_is_writable(frame));

  changed(frame);
  gint i = find_meta(frame, key);
  if (value == NULL) {
    if (i >= 0)
      g_array_remove_index(frame->meta, (guint)i);
    return;
  }
  g_variant_ref_sink(value);
  if (i >= 0) {
    MetaEntry *e = &g_array_index(frame->meta, MetaEntry, i);
    g_variant_unref(e->value);
    e->value = value;
    return;
  }
  MetaEntry e = {g_strdup(key), value};
  g_array_append_val(frame->meta, e);
}

GVariant *
lethe_frame_get_meta(const LetheFrame *frame, const char *key)
{
  g_return_val_if_fail(frame != NULL && key != NULL, NULL);
  gint i = find_meta(frame, key);
  return i >= 0 ? g_array_index(frame->meta, MetaEntry, i).value : NULL;
}

void
lethe_frame_set_meta_int(LetheFrame *frame, const char *key, gint64 value)
{
  /* "i" when it fits, as the schemas declare task, step and version as i. */
  if (value >= G_MININT32 && value <= G_MAXINT32)
    lethe_frame_set_meta(frame, key, g_variant_new_int32((gint32)value));
  else
    lethe_frame_set_meta(frame, key, g_variant_new_int64(value));
}

void
lethe_frame_set_meta_double(LetheFrame *frame, const char *key, double value)
{
  lethe_frame_set_meta(frame, key, g_variant_new_double(value));
}

void
lethe_frame_set_meta_string(LetheFrame *frame, const char *key, const char *value)
{
  g_return_if_fail(value != NULL);
  lethe_frame_set_meta(frame, key, g_variant_new_string(value));
}

static gboolean
variant_to_int(GVariant *v, gint64 *out)
{
  if (v == NULL)
    return FALSE;
  switch (g_variant_classify(v)) {
  case G_VARIANT_CLASS_BYTE:
    *out = g_variant_get_byte(v);
    return TRUE;
  case G_VARIANT_CLASS_INT16:
    *out = g_variant_get_int16(v);
    return TRUE;
  case G_VARIANT_CLASS_UINT16:
    *out = g_variant_get_uint16(v);
    return TRUE;
  case G_VARIANT_CLASS_INT32:
    *out = g_variant_get_int32(v);
    return TRUE;
  case G_VARIANT_CLASS_UINT32:
    *out = g_variant_get_uint32(v);
    return TRUE;
  case G_VARIANT_CLASS_INT64:
    *out = g_variant_get_int64(v);
    return TRUE;
  case G_VARIANT_CLASS_UINT64:
    if (g_variant_get_uint64(v) > G_MAXINT64)
      return FALSE;
    *out = (gint64)g_variant_get_uint64(v);
    return TRUE;
  case G_VARIANT_CLASS_VARIANT: {
    g_autoptr(GVariant) inner = g_variant_get_variant(v);
    return variant_to_int(inner, out);
  }
  default:
    return FALSE;
  }
}

gint64
lethe_frame_get_meta_int(const LetheFrame *frame, const char *key, gint64 fallback)
{
  gint64 v;
  return variant_to_int(lethe_frame_get_meta(frame, key), &v) ? v : fallback;
}

double
lethe_frame_get_meta_double(const LetheFrame *frame, const char *key, double fallback)
{
  GVariant *v = lethe_frame_get_meta(frame, key);
  gint64 i;

  if (v && g_variant_is_of_type(v, G_VARIANT_TYPE_DOUBLE))
    return g_variant_get_double(v);
  return variant_to_int(v, &i) ? (double)i : fallback;
}

const char *
lethe_frame_get_meta_string(const LetheFrame *frame, const char *key, const char *fallback)
{
  GVariant *v = lethe_frame_get_meta(frame, key);
  if (v && g_variant_is_of_type(v, G_VARIANT_TYPE_STRING))
    return g_variant_get_string(v, NULL);
  return fallback;
}

GVariant *
lethe_frame_get_metadata(const LetheFrame *frame)
{
  g_return_val_if_fail(frame != NULL, NULL);
  GVariantBuilder b;
  g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
  for (guint i = 0; i < frame->meta->len; i++) {
    const MetaEntry *e = &g_array_index(frame->meta, MetaEntry, i);
    g_variant_builder_add(&b, "{sv}", e->key, e->value);
  }
  return g_variant_ref_sink(g_variant_builder_end(&b));
}

GPtrArray *
lethe_frame_get_meta_keys(const LetheFrame *frame)
{
  g_return_val_if_fail(frame != NULL, NULL);
  GPtrArray *keys = g_ptr_array_sized_new(frame->meta->len);
  for (guint i = 0; i < frame->meta->len; i++)
    g_ptr_array_add(keys, g_array_index(frame->meta, MetaEntry, i).key);
  return keys;
}

/* ---- schema check cache (used by schema.c) ----------------------------- */

gpointer *
lethe_frame_validated_slot(const LetheFrame *frame)
{
  return &((LetheFrame *)frame)->validated_schema;
}
