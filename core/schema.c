/* Lethe — frame schemas: parsing, frame checks, link checks, lookup.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The file format is described in docs/schemas.md.
 */
#include <lethe/error.h>
#include <lethe/schema.h>

#include "frame-private.h"
#include "sync-private.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define ALL_DTYPES ((1u << LETHE_N_DTYPES) - 1)

typedef struct {
  guint dim;
  char *tensor; /* NULL: a fixed extent */
  guint other_dim;
  gint64 value;
} DimTie;

typedef struct {
  char *name;
  guint dtypes; /* bit mask of LetheDType */
  guint rank_min, rank_max;
  gboolean required;
  guint n_ties;
  DimTie ties[LETHE_TENSOR_MAX_RANK];
} FieldSpec;

typedef struct {
  char *key;
  GVariantType *type;
  gboolean required;
} MetaSpec;

struct _LetheSchema {
  gint ref_count;
  char *name;
  char *description;
  char *origin;
  gboolean open;
  guint min_tensors;
  GPtrArray *fields; /* FieldSpec, in file order */
  FieldSpec *others; /* [tensor *]: what every undeclared tensor must be */
  GPtrArray *meta;   /* MetaSpec */
  gboolean interned; /* owned by the lookup table: lives as long as the process */
};

static void
field_free(gpointer p)
{
  FieldSpec *f = p;
  if (!f)
    return;
  g_free(f->name);
  for (guint i = 0; i < f->n_ties; i++)
    g_free(f->ties[i].tensor);
  g_free(f);
}

static void
meta_free(gpointer p)
{
  MetaSpec *m = p;
  g_free(m->key);
  if (m->type)
    g_variant_type_free(m->type);
  g_free(m);
}

LetheSchema *
lethe_schema_ref(LetheSchema *schema)
{
  g_return_val_if_fail(schema != NULL, NULL);
  g_atomic_int_inc(&schema->ref_count);
  return schema;
}

void
lethe_schema_unref(LetheSchema *schema)
{
  g_return_if_fail(schema != NULL);
  if (!g_atomic_int_dec_and_test(&schema->ref_count))
    return;
  g_free(schema->name);
  g_free(schema->description);
  g_free(schema->origin);
  g_ptr_array_unref(schema->fields);
  field_free(schema->others);
  g_ptr_array_unref(schema->meta);
  g_free(schema);
}

const char *
lethe_schema_get_name(const LetheSchema *schema)
{
  g_return_val_if_fail(schema != NULL, NULL);
  return schema->name;
}

const char *
lethe_schema_get_description(const LetheSchema *schema)
{
  g_return_val_if_fail(schema != NULL, NULL);
  return schema->description;
}

/* ---- parsing ------------------------------------------------------------ */

static gboolean parse_error(GError **error, const char *origin, const char *group, const char *fmt,
                            ...) G_GNUC_PRINTF(4, 5);

static gboolean
parse_error(GError **error, const char *origin, const char *group, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  if (group)
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE, "%s: [%s]: %s", origin, group, msg);
  else
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE, "%s: %s", origin, msg);
  return FALSE;
}

static gboolean
check_keys(GKeyFile *kf, const char *group, const char *const *allowed, const char *origin,
           gboolean allow_dims, GError **error)
{
  g_auto(GStrv) keys = g_key_file_get_keys(kf, group, NULL, NULL);
  for (guint i = 0; keys && keys[i]; i++) {
    if (g_strv_contains(allowed, keys[i]))
      continue;
    if (allow_dims && g_str_has_prefix(keys[i], "dim") && keys[i][3] >= '0' && keys[i][3] <= '9')
      continue;
    g_autofree char *known = g_strjoinv(", ", (char **)allowed);
    return parse_error(error, origin, group, "unknown key '%s' (known keys: %s%s)", keys[i], known,
                       allow_dims ? ", dimN" : "");
  }
  return TRUE;
}

static gboolean
get_bool(GKeyFile *kf, const char *group, const char *key, gboolean fallback, gboolean *out,
         const char *origin, GError **error)
{
  g_autoptr(GError) local = NULL;
  if (!g_key_file_has_key(kf, group, key, NULL)) {
    *out = fallback;
    return TRUE;
  }
  *out = g_key_file_get_boolean(kf, group, key, &local);
  if (local)
    return parse_error(error, origin, group, "'%s' must be true or false", key);
  return TRUE;
}

static gboolean
parse_dtypes(const char *text, guint *mask)
{
  g_auto(GStrv) parts = g_strsplit_set(text, ",; ", -1);
  *mask = 0;
  for (guint i = 0; parts[i]; i++) {
    LetheDType d;
    if (parts[i][0] == '\0')
      continue;
    if (strcmp(parts[i], "any") == 0 || strcmp(parts[i], "*") == 0)
      *mask |= ALL_DTYPES;
    else if (lethe_dtype_from_name(parts[i], &d))
      *mask |= 1u << d;
    else
      return FALSE;
  }
  return *mask != 0;
}

/* "2", "2..5", "2.." */
static gboolean
parse_rank(const char *text, guint *lo, guint *hi)
{
  guint64 a, b = LETHE_TENSOR_MAX_RANK;
  g_autofree char *s = g_strstrip(g_strdup(text));
  char *dots = strstr(s, "..");
  if (dots) {
    *dots = '\0';
    if (dots[2] != '\0' &&
        !g_ascii_string_to_unsigned(dots + 2, 10, 0, LETHE_TENSOR_MAX_RANK, &b, NULL))
      return FALSE;
  }
  if (!g_ascii_string_to_unsigned(s, 10, 0, LETHE_TENSOR_MAX_RANK, &a, NULL))
    return FALSE;
  if (!dots)
    b = a;
  if (a > b)
    return FALSE;
  *lo = (guint)a;
  *hi = (guint)b;
  return TRUE;
}

static FieldSpec *
parse_field(GKeyFile *kf, const char *group, const char *name, const char *origin, GError **error)
{
  static const char *const allowed[] = {"dtype", "rank", "required", NULL};
  g_autofree char *dtype = NULL, *rank = NULL;
  g_auto(GStrv) keys = NULL;

  if (!check_keys(kf, group, allowed, origin, TRUE, error))
    return NULL;
  FieldSpec *f = g_new0(FieldSpec, 1);
  f->name = g_strdup(name);
  f->dtypes = ALL_DTYPES;
  f->rank_min = 0;
  f->rank_max = LETHE_TENSOR_MAX_RANK;

  dtype = g_key_file_get_string(kf, group, "dtype", NULL);
  if (dtype && !parse_dtypes(dtype, &f->dtypes)) {
    parse_error(error, origin, group,
                "unknown dtype in '%s' (known: f32, f64, i32, i64, u8, i8, or any)", dtype);
    goto fail;
  }
  rank = g_key_file_get_string(kf, group, "rank", NULL);
  if (rank && !parse_rank(rank, &f->rank_min, &f->rank_max)) {
    parse_error(error, origin, group, "rank '%s' is not N or N..M with 0 <= N <= M <= %d", rank,
                LETHE_TENSOR_MAX_RANK);
    goto fail;
  }
  if (!get_bool(kf, group, "required", TRUE, &f->required, origin, error))
    goto fail;

  keys = g_key_file_get_keys(kf, group, NULL, NULL);
  for (guint i = 0; keys[i]; i++) {
    guint64 dim;
    if (!g_str_has_prefix(keys[i], "dim"))
      continue;
    if (!g_ascii_string_to_unsigned(keys[i] + 3, 10, 0, LETHE_TENSOR_MAX_RANK - 1, &dim, NULL)) {
      parse_error(error, origin, group, "'%s' is not dim0 … dim%d", keys[i],
                  LETHE_TENSOR_MAX_RANK - 1);
      goto fail;
    }
    g_autoptr(GError) local = NULL;
    g_autofree char *value = g_key_file_get_string(kf, group, keys[i], &local);
    if (value == NULL) {
      parse_error(error, origin, group, "cannot read '%s': %s", keys[i], local->message);
      goto fail;
    }
    g_strstrip(value);
    /* "dim1" and "dim01" name the same dimension; ties[] holds one per dimension. */
    for (guint t = 0; t < f->n_ties; t++)
      if (f->ties[t].dim == dim) {
        parse_error(error, origin, group, "dimension %u is tied twice ('%s'); keep one dim%u key",
                    (guint)dim, keys[i], (guint)dim);
        goto fail;
      }
    DimTie *tie = &f->ties[f->n_ties++];
    tie->dim = (guint)dim;
    const char *dot = strrchr(value, '.');
    guint64 other;
    gint64 fixed;
    if (dot && dot != value &&
        g_ascii_string_to_unsigned(dot + 1, 10, 0, LETHE_TENSOR_MAX_RANK - 1, &other, NULL)) {
      tie->tensor = g_strndup(value, dot - value);
      tie->other_dim = (guint)other;
    } else if (g_ascii_string_to_signed(value, 10, 0, G_MAXINT64, &fixed, NULL)) {
      tie->value = fixed;
    } else {
      parse_error(error, origin, group,
                  "'%s = %s' must name a tensor dimension (e.g. x.0) or a fixed extent", keys[i],
                  value);
      goto fail;
    }
  }
  return f;

fail:
  field_free(f);
  return NULL;
}

static MetaSpec *
parse_meta(GKeyFile *kf, const char *group, const char *key, const char *origin, GError **error)
{
  static const char *const allowed[] = {"type", "required", NULL};

  if (!check_keys(kf, group, allowed, origin, FALSE, error))
    return NULL;
  g_autofree char *type = g_key_file_get_string(kf, group, "type", NULL);
  if (type)
    g_strstrip(type);
  if (type && !g_variant_type_string_is_valid(type)) {
    parse_error(error, origin, group, "'%s' is not a GVariant type string (e.g. s, i, d, ai)",
                type);
    return NULL;
  }
  MetaSpec *m = g_new0(MetaSpec, 1);
  m->key = g_strdup(key);
  m->type = type && strcmp(type, "v") != 0 ? g_variant_type_new(type) : NULL;
  if (!get_bool(kf, group, "required", TRUE, &m->required, origin, error)) {
    meta_free(m);
    return NULL;
  }
  return m;
}

static FieldSpec *
find_field(const LetheSchema *schema, const char *name)
{
  for (guint i = 0; i < schema->fields->len; i++) {
    FieldSpec *f = schema->fields->pdata[i];
    if (strcmp(f->name, name) == 0)
      return f;
  }
  return NULL;
}

static MetaSpec *
find_meta(const LetheSchema *schema, const char *key)
{
  for (guint i = 0; i < schema->meta->len; i++) {
    MetaSpec *m = schema->meta->pdata[i];
    if (strcmp(m->key, key) == 0)
      return m;
  }
  return NULL;
}

static char *
name_from_origin(const char *origin)
{
  g_autofree char *base = g_path_get_basename(origin);
  if (g_str_has_suffix(base, ".schema"))
    base[strlen(base) - strlen(".schema")] = '\0';
  return g_steal_pointer(&base);
}

LetheSchema *
lethe_schema_load_data(const char *data, gsize length, const char *origin, GError **error)
{
  static const char *const header_keys[] = {"name", "description", "open", "min-tensors", NULL};
  g_autoptr(GKeyFile) kf = g_key_file_new();
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail(data != NULL, NULL);
  if (origin == NULL)
    origin = "<schema>";
  if (!g_key_file_load_from_data(kf, data, length, G_KEY_FILE_NONE, &local)) {
    parse_error(error, origin, NULL, "not a schema file: %s", local->message);
    return NULL;
  }
  if (!g_key_file_has_group(kf, "schema")) {
    parse_error(error, origin, NULL, "no [schema] group (every schema file starts with one)");
    return NULL;
  }
  if (!check_keys(kf, "schema", header_keys, origin, FALSE, error))
    return NULL;

  g_autoptr(LetheSchema) schema = g_new0(LetheSchema, 1);
  schema->ref_count = 1;
  schema->origin = g_strdup(origin);
  schema->fields = g_ptr_array_new_with_free_func(field_free);
  schema->meta = g_ptr_array_new_with_free_func(meta_free);
  schema->name = g_key_file_get_string(kf, "schema", "name", NULL);
  if (schema->name == NULL)
    schema->name = name_from_origin(origin);
  schema->description = g_key_file_get_string(kf, "schema", "description", NULL);
  if (!schema->description)
    schema->description = g_strdup("");
  if (!get_bool(kf, "schema", "open", FALSE, &schema->open, origin, error))
    return NULL;
  if (g_key_file_has_key(kf, "schema", "min-tensors", NULL)) {
    g_autofree char *s = g_key_file_get_string(kf, "schema", "min-tensors", NULL);
    guint64 n;
    /* NULL when GKeyFile cannot read the value (invalid UTF-8). */
    if (s == NULL || !g_ascii_string_to_unsigned(g_strstrip(s), 10, 0, G_MAXUINT, &n, NULL)) {
      parse_error(error, origin, "schema", "min-tensors '%s' is not a count",
                  s ? s : "(unreadable text)");
      return NULL;
    }
    schema->min_tensors = (guint)n;
  }

  g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
  for (guint i = 0; groups[i]; i++) {
    const char *g = groups[i];
    if (strcmp(g, "schema") == 0)
      continue;
    if (g_str_has_prefix(g, "tensor ")) {
      const char *name = g + strlen("tensor ");
      FieldSpec *f = parse_field(kf, g, name, origin, error);
      if (!f)
        return NULL;
      if (strcmp(name, "*") == 0) {
        if (f->n_ties > 0) {
          field_free(f);
          parse_error(error, origin, g, "undeclared tensors cannot have dimension ties");
          return NULL;
        }
        schema->others = f;
        schema->open = TRUE;
      } else {
        g_ptr_array_add(schema->fields, f);
      }
    } else if (g_str_has_prefix(g, "meta ")) {
      MetaSpec *m = parse_meta(kf, g, g + strlen("meta "), origin, error);
      if (!m)
        return NULL;
      g_ptr_array_add(schema->meta, m);
    } else {
      parse_error(error, origin, NULL,
                  "unknown group [%s] (expected [schema], [tensor NAME], [tensor *] or "
                  "[meta KEY])",
                  g);
      return NULL;
    }
  }

  /* Ties must name declared tensors and dimensions their ranks can have. */
  for (guint i = 0; i < schema->fields->len; i++) {
    FieldSpec *f = schema->fields->pdata[i];
    for (guint t = 0; t < f->n_ties; t++) {
      DimTie *tie = &f->ties[t];
      if (tie->dim >= f->rank_max) {
        parse_error(error, origin, NULL, "[tensor %s]: dim%u is beyond its rank (at most %u)",
                    f->name, tie->dim, f->rank_max);
        return NULL;
      }
      if (!tie->tensor)
        continue;
      FieldSpec *other = find_field(schema, tie->tensor);
      if (!other) {
        parse_error(error, origin, NULL, "[tensor %s]: dim%u = %s.%u names an undeclared tensor",
                    f->name, tie->dim, tie->tensor, tie->other_dim);
        return NULL;
      }
      if (tie->other_dim >= other->rank_max) {
        parse_error(error, origin, NULL, "[tensor %s]: dim%u = %s.%u: '%s' has at most rank %u",
                    f->name, tie->dim, tie->tensor, tie->other_dim, tie->tensor, other->rank_max);
        return NULL;
      }
    }
  }
  return g_steal_pointer(&schema);
}

LetheSchema *
lethe_schema_load_file(const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize length;
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail(path != NULL, NULL);
  if (!g_file_get_contents(path, &data, &length, &local)) {
    g_set_error(error, LETHE_ERROR,
                g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? LETHE_ERROR_NOT_FOUND
                                                                         : LETHE_ERROR_IO,
                "cannot read schema: %s", local->message);
    return NULL;
  }
  return lethe_schema_load_data(data, length, path, error);
}

/* ---- describing --------------------------------------------------------- */

static void
append_dtypes(GString *s, guint mask)
{
  if (mask == ALL_DTYPES) {
    g_string_append(s, "any dtype");
    return;
  }
  gboolean first = TRUE;
  for (guint d = 0; d < LETHE_N_DTYPES; d++) {
    if (!(mask & (1u << d)))
      continue;
    g_string_append_printf(s, "%s%s", first ? "" : "|", lethe_dtype_name((LetheDType)d));
    first = FALSE;
  }
}

static void
append_rank(GString *s, guint lo, guint hi)
{
  if (lo == hi)
    g_string_append_printf(s, "rank %u", lo);
  else if (lo == 0 && hi == LETHE_TENSOR_MAX_RANK)
    g_string_append(s, "any rank");
  else
    g_string_append_printf(s, "rank %u..%u", lo, hi);
}

static void
append_field(GString *s, const FieldSpec *f)
{
  append_dtypes(s, f->dtypes);
  g_string_append_c(s, ' ');
  append_rank(s, f->rank_min, f->rank_max);
  for (guint t = 0; t < f->n_ties; t++) {
    const DimTie *tie = &f->ties[t];
    if (tie->tensor)
      g_string_append_printf(s, ", dim%u = %s.%u", tie->dim, tie->tensor, tie->other_dim);
    else
      g_string_append_printf(s, ", dim%u = %" G_GINT64_FORMAT, tie->dim, tie->value);
  }
}

char *
lethe_schema_to_string(const LetheSchema *schema)
{
  g_return_val_if_fail(schema != NULL, NULL);
  GString *s = g_string_new(schema->name);
  g_string_append(s, ":");
  for (guint i = 0; i < schema->fields->len; i++) {
    const FieldSpec *f = schema->fields->pdata[i];
    g_string_append_printf(s, "%s %s%s (", i ? ";" : "", f->name, f->required ? "" : "?");
    append_field(s, f);
    g_string_append_c(s, ')');
  }
  if (schema->others) {
    g_string_append_printf(s, "%s other tensors (", schema->fields->len ? ";" : "");
    append_field(s, schema->others);
    g_string_append_c(s, ')');
  } else if (schema->open) {
    g_string_append_printf(s, "%s any other tensors", schema->fields->len ? ";" : "");
  }
  if (schema->min_tensors)
    g_string_append_printf(s, "; at least %u tensor%s", schema->min_tensors,
                           schema->min_tensors == 1 ? "" : "s");
  for (guint i = 0; i < schema->meta->len; i++) {
    const MetaSpec *m = schema->meta->pdata[i];
    g_string_append_printf(s, "%s %s%s (%.*s)", i ? "," : "; metadata", m->key,
                           m->required ? "" : "?",
                           m->type ? (int)g_variant_type_get_string_length(m->type) : 1,
                           m->type ? g_variant_type_peek_string(m->type) : "v");
  }
  return g_string_free(s, FALSE);
}

/* ---- checking frames ---------------------------------------------------- */

static gboolean schema_error(GError **error, const LetheSchema *schema, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static gboolean
schema_error(GError **error, const LetheSchema *schema, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_SCHEMA, "frame does not match schema '%s': %s",
              schema->name, msg);
  return FALSE;
}

static gboolean
check_tensor(const LetheSchema *schema, const FieldSpec *f, const char *name, const LetheTensor *t,
             const LetheFrame *frame, GError **error)
{
  if (!(f->dtypes & (1u << t->dtype))) {
    g_autoptr(GString) want = g_string_new(NULL);
    append_dtypes(want, f->dtypes);
    return schema_error(error, schema, "tensor '%s' has dtype %s, expected %s", name,
                        lethe_dtype_name(t->dtype), want->str);
  }
  if (t->rank < f->rank_min || t->rank > f->rank_max) {
    g_autoptr(GString) want = g_string_new(NULL);
    append_rank(want, f->rank_min, f->rank_max);
    g_autofree char *shape = lethe_tensor_shape_string(t);
    return schema_error(error, schema, "tensor '%s' has rank %u (shape %s), expected %s", name,
                        t->rank, shape, want->str);
  }
  for (guint i = 0; i < f->n_ties; i++) {
    const DimTie *tie = &f->ties[i];
    if (tie->dim >= t->rank)
      continue; /* a lower rank allowed by the range: nothing to tie */
    if (!tie->tensor) {
      if (t->shape[tie->dim] != tie->value)
        return schema_error(error, schema,
                            "tensor '%s' dimension %u is %" G_GINT64_FORMAT
                            ", expected %" G_GINT64_FORMAT,
                            name, tie->dim, t->shape[tie->dim], tie->value);
      continue;
    }
    const LetheTensor *o = lethe_frame_get_tensor(frame, tie->tensor);
    if (!o || tie->other_dim >= o->rank)
      continue; /* the other tensor is absent or checked on its own */
    if (t->shape[tie->dim] != o->shape[tie->other_dim])
      return schema_error(error, schema,
                          "tensor '%s' dimension %u is %" G_GINT64_FORMAT
                          " but must equal dimension %u of tensor '%s' (%" G_GINT64_FORMAT ")",
                          name, tie->dim, t->shape[tie->dim], tie->other_dim, tie->tensor,
                          o->shape[tie->other_dim]);
  }
  return TRUE;
}

static gboolean
integer_class(GVariantClass c)
{
  return c == G_VARIANT_CLASS_BYTE || c == G_VARIANT_CLASS_INT16 || c == G_VARIANT_CLASS_UINT16 ||
         c == G_VARIANT_CLASS_INT32 || c == G_VARIANT_CLASS_UINT32 || c == G_VARIANT_CLASS_INT64 ||
         c == G_VARIANT_CLASS_UINT64;
}

/* Integer metadata is matched by kind, not width: lethe_frame_set_meta_int()
 * stores "x" for values beyond 32 bits. */
static gboolean
meta_type_matches(const GVariantType *want, GVariant *value)
{
  if (!want || g_variant_is_of_type(value, want))
    return TRUE;
  return g_variant_type_is_basic(want) && integer_class(g_variant_classify(value)) &&
         integer_class((GVariantClass)g_variant_type_peek_string(want)[0]);
}

gboolean
lethe_schema_check_frame(const LetheSchema *schema, const LetheFrame *frame, GError **error)
{
  g_return_val_if_fail(schema != NULL && frame != NULL, FALSE);

  for (guint i = 0; i < schema->fields->len; i++) {
    const FieldSpec *f = schema->fields->pdata[i];
    const LetheTensor *t = lethe_frame_get_tensor(frame, f->name);
    if (!t) {
      if (!f->required)
        continue;
      g_autoptr(GString) want = g_string_new(NULL);
      append_field(want, f);
      return schema_error(error, schema, "tensor '%s' is missing (expected %s)", f->name,
                          want->str);
    }
    if (!check_tensor(schema, f, f->name, t, frame, error))
      return FALSE;
  }

  guint n = lethe_frame_get_n_tensors(frame);
  if (n < schema->min_tensors)
    return schema_error(error, schema, "the frame holds %u tensor%s, expected at least %u", n,
                        n == 1 ? "" : "s", schema->min_tensors);
  if (!schema->open || schema->others) {
    for (guint i = 0; i < n; i++) {
      const char *name;
      const LetheTensor *t = lethe_frame_get_nth(frame, i, &name);
      if (find_field(schema, name))
        continue;
      if (!schema->open) {
        g_autoptr(GString) known = g_string_new(NULL);
        for (guint k = 0; k < schema->fields->len; k++)
          g_string_append_printf(known, "%s'%s'", k ? ", " : "",
                                 ((FieldSpec *)schema->fields->pdata[k])->name);
        return schema_error(error, schema, "unexpected tensor '%s' (the schema holds only %s)",
                            name, known->len ? known->str : "no tensors");
      }
      if (schema->others && !check_tensor(schema, schema->others, name, t, frame, error))
        return FALSE;
    }
  }

  for (guint i = 0; i < schema->meta->len; i++) {
    const MetaSpec *m = schema->meta->pdata[i];
    GVariant *v = lethe_frame_get_meta(frame, m->key);
    if (!v) {
      if (m->required) {
        g_autofree char *want = m->type ? g_variant_type_dup_string(m->type) : g_strdup("v");
        return schema_error(error, schema, "metadata '%s' (%s) is missing", m->key, want);
      }
      continue;
    }
    if (!meta_type_matches(m->type, v)) {
      g_autofree char *want = g_variant_type_dup_string(m->type);
      return schema_error(error, schema, "metadata '%s' has type %s, expected %s", m->key,
                          g_variant_get_type_string(v), want);
    }
  }
  return TRUE;
}

gboolean
lethe_frame_check_schema_cached(const LetheFrame *frame, const LetheSchema *schema, GError **error)
{
  g_return_val_if_fail(frame != NULL && schema != NULL, FALSE);
  gpointer *slot = lethe_frame_validated_slot(frame);

  if (g_atomic_pointer_get(slot) == (gpointer)schema)
    return TRUE;
  if (!lethe_schema_check_frame(schema, frame, error))
    return FALSE;
  /* Only schemas of the lookup table live as long as the process, so only
   * their addresses cannot be reused by another schema. */
  if (schema->interned)
    g_atomic_pointer_set(slot, (gpointer)schema);
  return TRUE;
}

/* ---- checking links ----------------------------------------------------- */

static gboolean
is_any(const LetheSchema *s)
{
  return s->open && !s->others && s->fields->len == 0 && s->meta->len == 0 && s->min_tensors == 0;
}

static gboolean
has_tie(const FieldSpec *f, const DimTie *want)
{
  for (guint i = 0; i < f->n_ties; i++) {
    const DimTie *t = &f->ties[i];
    if (t->dim == want->dim && !t->tensor == !want->tensor &&
        (t->tensor ? strcmp(t->tensor, want->tensor) == 0 && t->other_dim == want->other_dim
                   : t->value == want->value))
      return TRUE;
  }
  return FALSE;
}

/* Is every tensor @p accepts also accepted by @c?  Sets @diff when not. */
static gboolean
field_within(const char *name, const FieldSpec *p, const FieldSpec *c, char **diff)
{
  if (p->dtypes & ~c->dtypes) {
    g_autoptr(GString) a = g_string_new(NULL), b = g_string_new(NULL);
    append_dtypes(a, p->dtypes);
    append_dtypes(b, c->dtypes);
    *diff = g_strdup_printf("tensor '%s': dtype %s vs %s", name, a->str, b->str);
    return FALSE;
  }
  if (p->rank_min < c->rank_min || p->rank_max > c->rank_max) {
    g_autoptr(GString) a = g_string_new(NULL), b = g_string_new(NULL);
    append_rank(a, p->rank_min, p->rank_max);
    append_rank(b, c->rank_min, c->rank_max);
    *diff = g_strdup_printf("tensor '%s': %s vs %s", name, a->str, b->str);
    return FALSE;
  }
  for (guint i = 0; i < c->n_ties; i++) {
    const DimTie *t = &c->ties[i];
    if (has_tie(p, t))
      continue;
    if (t->tensor)
      *diff = g_strdup_printf("tensor '%s': dimension %u must equal %s.%u, which the producer "
                              "does not guarantee",
                              name, t->dim, t->tensor, t->other_dim);
    else
      *diff = g_strdup_printf("tensor '%s': dimension %u must be %" G_GINT64_FORMAT
                              ", which the producer does not guarantee",
                              name, t->dim, t->value);
    return FALSE;
  }
  return TRUE;
}

static gboolean
link_compatible(const LetheSchema *p, const LetheSchema *c, char **diff)
{
  /* "any" on either side defers the check to run time, like ANY caps. */
  if (is_any(c) || is_any(p))
    return TRUE;

  for (guint i = 0; i < c->fields->len; i++) {
    const FieldSpec *cf = c->fields->pdata[i];
    const FieldSpec *pf = find_field(p, cf->name);
    if (!pf)
      pf = p->others;
    if (cf->required && (!pf || !pf->required || pf == p->others)) {
      *diff = g_strdup_printf(pf && pf != p->others
                                  ? "tensor '%s': optional in the producer, required here"
                                  : "tensor '%s': required here, the producer does not provide it",
                              cf->name);
      return FALSE;
    }
    if (pf && !field_within(cf->name, pf, cf, diff))
      return FALSE;
  }
  /* Tensors the producer may add beyond the consumer's fields. */
  for (guint i = 0; i < p->fields->len; i++) {
    const FieldSpec *pf = p->fields->pdata[i];
    if (find_field(c, pf->name))
      continue;
    if (!c->open) {
      *diff = g_strdup_printf("tensor '%s': not accepted here (the consumer's schema is closed)",
                              pf->name);
      return FALSE;
    }
    if (c->others && !field_within(pf->name, pf, c->others, diff))
      return FALSE;
  }
  if (p->open && !c->open) {
    *diff = g_strdup("other tensors: the producer may add tensors, the consumer's schema is "
                     "closed");
    return FALSE;
  }
  if (p->open && c->others) {
    if (!p->others) {
      g_autoptr(GString) want = g_string_new(NULL);
      append_field(want, c->others);
      *diff = g_strdup_printf("other tensors: any dtype and rank vs %s", want->str);
      return FALSE;
    }
    if (!field_within("*", p->others, c->others, diff))
      return FALSE;
  }
  if (c->min_tensors > p->min_tensors) {
    guint guaranteed = p->min_tensors;
    for (guint i = 0; i < p->fields->len; i++)
      guaranteed += ((FieldSpec *)p->fields->pdata[i])->required;
    if (guaranteed < c->min_tensors) {
      *diff =
          g_strdup_printf("tensor count: at least %u vs at least %u", guaranteed, c->min_tensors);
      return FALSE;
    }
  }

  for (guint i = 0; i < c->meta->len; i++) {
    const MetaSpec *cm = c->meta->pdata[i];
    const MetaSpec *pm = find_meta(p, cm->key);
    if (cm->required && (!pm || !pm->required)) {
      *diff = g_strdup_printf(pm ? "metadata '%s': optional in the producer, required here"
                                 : "metadata '%s': required here, the producer does not "
                                   "provide it",
                              cm->key);
      return FALSE;
    }
    if (pm && cm->type && (!pm->type || !g_variant_type_is_subtype_of(pm->type, cm->type))) {
      g_autofree char *a = pm->type ? g_variant_type_dup_string(pm->type) : g_strdup("v");
      g_autofree char *b = g_variant_type_dup_string(cm->type);
      *diff = g_strdup_printf("metadata '%s': type %s vs %s", cm->key, a, b);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
lethe_schema_link_compatible(const LetheSchema *producer, const LetheSchema *consumer,
                             char **difference)
{
  g_return_val_if_fail(producer != NULL && consumer != NULL, FALSE);
  char *diff = NULL;
  gboolean ok = link_compatible(producer, consumer, &diff);
  if (difference)
    *difference = diff;
  else
    g_free(diff);
  return ok;
}

/* ---- lookup ------------------------------------------------------------- */

typedef struct {
  GHashTable *schemas; /* name -> LetheSchema (interned) */
  GHashTable *broken;  /* name -> error message of a file that failed to parse */
} SchemaTable;

/* The installed schemas folder relative to where this library really is, so
 * a relocated installation finds its own schemas: the library sits in
 * PREFIX/<libdir>, the schemas in PREFIX/<schemasdir>. */
static char *
relocated_schemas_dir(void)
{
#if defined(LETHE_LIBDIR) && defined(LETHE_SCHEMASDIR)
  Dl_info info;
  if (!dladdr((void *)relocated_schemas_dir, &info) || !info.dli_fname)
    return NULL;
  g_autofree char *real = realpath(info.dli_fname, NULL);
  if (!real)
    return NULL;
  g_autofree char *libdir = g_path_get_dirname(real);
  /* The common prefix of the configured libdir and schemasdir. */
  const char *a = LETHE_LIBDIR, *b = LETHE_SCHEMASDIR;
  gsize common = 0;
  for (gsize i = 0; a[i] && a[i] == b[i]; i++)
    if (a[i] == '/')
      common = i;
  guint ups = 0;
  for (const char *p = a + common; *p; p++)
    ups += *p == '/';
  if (a[strlen(a) - 1] == '/')
    ups--;
  char *dir = g_strdup(libdir);
  for (guint i = 0; i < ups; i++) {
    char *up = g_path_get_dirname(dir);
    g_free(dir);
    dir = up;
  }
  char *result = g_build_filename(dir, b + common, NULL);
  g_free(dir);
  return result;
#else
  return NULL;
#endif
}

static void
scan_dir(SchemaTable *table, const char *dir)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  const char *entry;

  if (!d)
    return;
  while ((entry = g_dir_read_name(d))) {
    if (!g_str_has_suffix(entry, ".schema"))
      continue;
    g_autofree char *name = name_from_origin(entry);
    if (g_hash_table_contains(table->schemas, name) || g_hash_table_contains(table->broken, name))
      continue; /* an earlier folder wins */
    g_autofree char *path = g_build_filename(dir, entry, NULL);
    g_autoptr(GError) error = NULL;
    LetheSchema *schema = lethe_schema_load_file(path, &error);
    if (schema && strcmp(schema->name, name) != 0) {
      g_set_error(&error, LETHE_ERROR, LETHE_ERROR_PARSE,
                  "%s: [schema] name '%s' differs from the file name (rename one of them)", path,
                  schema->name);
      g_clear_pointer(&schema, lethe_schema_unref);
    }
    if (!schema) {
      g_hash_table_insert(table->broken, g_steal_pointer(&name), g_strdup(error->message));
      continue;
    }
    schema->interned = TRUE;
    g_hash_table_insert(table->schemas, g_steal_pointer(&name), schema);
  }
}

static GOnce table_once = G_ONCE_INIT;

static gpointer
load_table(gpointer unused)
{
  SchemaTable *table = g_new0(SchemaTable, 1);
  table->schemas =
      g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)lethe_schema_unref);
  table->broken = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

  const char *env = g_getenv("LETHE_SCHEMA_PATH");
  if (env) {
    g_auto(GStrv) dirs = g_strsplit(env, G_SEARCHPATH_SEPARATOR_S, -1);
    for (guint i = 0; dirs[i]; i++)
      if (dirs[i][0])
        scan_dir(table, dirs[i]);
  }
#ifdef LETHE_SCHEMASDIR
  scan_dir(table, LETHE_SCHEMASDIR);
#endif
  g_autofree char *relocated = relocated_schemas_dir();
  if (relocated)
    scan_dir(table, relocated);
  lethe_tsan_release(&table_once); /* g_once() orders this inside libglib */
  return table;
}

static SchemaTable *
get_table(void)
{
  SchemaTable *table = g_once(&table_once, load_table, NULL);
  lethe_tsan_acquire(&table_once);
  return table;
}

const LetheSchema *
lethe_schema_lookup(const char *name, GError **error)
{
  g_return_val_if_fail(name != NULL, NULL);
  SchemaTable *table = get_table();

  LetheSchema *schema = g_hash_table_lookup(table->schemas, name);
  if (schema)
    return schema;
  const char *broken = g_hash_table_lookup(table->broken, name);
  if (broken) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE, "schema '%s' cannot be used: %s", name,
                broken);
    return NULL;
  }
  g_auto(GStrv) names = lethe_schema_list_names();
  g_autofree char *known = g_strjoinv(", ", names);
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_NOT_FOUND,
              "unknown schema '%s' (known: %s; add folders with LETHE_SCHEMA_PATH)", name,
              known[0] ? known : "none");
  return NULL;
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

GStrv
lethe_schema_list_names(void)
{
  SchemaTable *table = get_table();
  guint n;
  char **names = (char **)g_hash_table_get_keys_as_array(table->schemas, &n);
  GStrv copy = g_new0(char *, n + 1);
  for (guint i = 0; i < n; i++)
    copy[i] = g_strdup(names[i]);
  g_free(names);
  qsort(copy, n, sizeof(char *), compare_names);
  return copy;
}
