/* Lethe — frame schemas: what a port accepts.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_SCHEMA_H
#define LETHE_SCHEMA_H

#include <glib.h>
#include <lethe/frame.h>

G_BEGIN_DECLS

/**
 * LetheSchema:
 *
 * A frame kind and what a frame of that kind must hold, loaded from a
 * `NAME.schema` file (GKeyFile syntax, see docs/schemas.md): tensor fields
 * with dtypes, rank ranges and dimension ties ("y" has the first dimension
 * of "x"), and metadata keys with #GVariant types.  The schema named "any"
 * accepts every frame.  Immutable once loaded; opaque.
 */
typedef struct _LetheSchema LetheSchema;

/** lethe_schema_load_file: (transfer full) parses one schema file. */
LetheSchema *lethe_schema_load_file(const char *path, GError **error);
/** lethe_schema_load_data: (transfer full) parses schema text; @origin names it in errors. */
LetheSchema *lethe_schema_load_data(const char *data, gsize length, const char *origin,
                                    GError **error);
LetheSchema *lethe_schema_ref(LetheSchema *schema);
void lethe_schema_unref(LetheSchema *schema);
const char *lethe_schema_get_name(const LetheSchema *schema);
const char *lethe_schema_get_description(const LetheSchema *schema);
/** lethe_schema_to_string: (transfer full) a one-line summary, e.g. for `lethe inspect`. */
char *lethe_schema_to_string(const LetheSchema *schema);

/**
 * lethe_schema_check_frame:
 * Checks @frame against @schema (cheap: dtypes, ranks, tied dimensions,
 * required metadata).  On failure @error names the field and what differs.
 */
gboolean lethe_schema_check_frame(const LetheSchema *schema, const LetheFrame *frame,
                                  GError **error);

/**
 * lethe_frame_check_schema_cached:
 *
 * Like lethe_schema_check_frame(), but remembers in @frame the last schema
 * it was found valid for, so a frame fanned out to several ports of the
 * same schema, or passed unchanged along a chain, is checked once.  Any
 * change to the frame (tensors or metadata) forgets it.  Only schemas from
 * lethe_schema_lookup() are remembered (they live as long as the process);
 * others are checked every time.  Thread-safe for shared frames.
 */
gboolean lethe_frame_check_schema_cached(const LetheFrame *frame, const LetheSchema *schema,
                                         GError **error);

/**
 * lethe_schema_link_compatible:
 * @producer: schema of an output port
 * @consumer: schema of an input port
 * @difference: (out) (optional) (transfer full): the first field that does
 *   not match, described for a message ("tensor 'y': dtype i32 vs f32")
 *
 * Returns: %TRUE when every frame valid for @producer is valid for @consumer.
 * A schema that accepts everything ("any") is compatible with every schema on
 * either side: such links are checked frame by frame at run time.
 */
gboolean lethe_schema_link_compatible(const LetheSchema *producer, const LetheSchema *consumer,
                                      char **difference);

/**
 * lethe_schema_lookup:
 * Finds the schema called @name (file `NAME.schema`) in `LETHE_SCHEMA_PATH`
 * (':'-separated, searched first), the installed schemas folder, then the
 * schemas folder relative to where liblethe itself is installed.  Every
 * folder is read once per process, at the first call (thread-safe); a file
 * that fails to parse makes its name fail with the parse error.
 * Returns: (transfer none) the schema, or %NULL with @error set.
 */
const LetheSchema *lethe_schema_lookup(const char *name, GError **error);
/** lethe_schema_list_names: (transfer full) the names of every schema found. */
GStrv lethe_schema_list_names(void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(LetheSchema, lethe_schema_unref)

G_END_DECLS

#endif /* LETHE_SCHEMA_H */
