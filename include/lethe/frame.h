/* Lethe — frames: what travels on an edge.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_FRAME_H
#define LETHE_FRAME_H

#include <glib.h>
#include <lethe/tensor.h>

G_BEGIN_DECLS

/**
 * LetheFrame:
 *
 * An ordered set of named tensors plus a metadata dictionary (string keys,
 * #GVariant values, exported as `a{sv}`).  No limit on the number of
 * tensors.  Reference counted; fan-out shares one frame between consumers.
 * A frame is writable when its refcount is 1; lethe_frame_make_writable()
 * returns a shallow copy otherwise (the tensors are shared, not copied:
 * make a tensor writable separately before writing into it).  Opaque.
 *
 * Well-known metadata keys (see docs/frames.md): "event" (s: "learn",
 * "forget", "eval"…), "task" (i), "classes" (ai), "model-kind" (s),
 * "arch" (s), "version" (i), "split" (s), "dataset" (s).
 */
typedef struct _LetheFrame LetheFrame;

LetheFrame *lethe_frame_new(void);
LetheFrame *lethe_frame_ref(LetheFrame *frame);
void lethe_frame_unref(LetheFrame *frame);
gint lethe_frame_get_refcount(const LetheFrame *frame);
gboolean lethe_frame_is_writable(const LetheFrame *frame);
/** lethe_frame_make_writable: @frame: (transfer full); Returns: (transfer full). */
LetheFrame *lethe_frame_make_writable(LetheFrame *frame);
/** lethe_frame_copy: (transfer full) a shallow copy: same tensors, copied metadata. */
LetheFrame *lethe_frame_copy(const LetheFrame *frame);

/**
 * lethe_frame_set_tensor:
 * @tensor: (transfer none): a reference is taken
 *
 * Adds @tensor under @name, or replaces the tensor of that name in place
 * (keeping its position).  The frame must be writable.
 */
void lethe_frame_set_tensor(LetheFrame *frame, const char *name, LetheTensor *tensor);
/** lethe_frame_take_tensor: like set_tensor, but @tensor is (transfer full). */
void lethe_frame_take_tensor(LetheFrame *frame, const char *name, LetheTensor *tensor);
/** lethe_frame_get_tensor: Returns: (transfer none) (nullable) */
LetheTensor *lethe_frame_get_tensor(const LetheFrame *frame, const char *name);
/**
 * lethe_frame_make_tensor_writable:
 *
 * Makes the tensor called @name writable in place: when the frame holds the
 * only reference to it and its buffer is writable it is returned as is,
 * else it is replaced (same position) by a contiguous copy.  The frame must
 * be writable.
 * Returns: (transfer none) (nullable): the writable tensor, or %NULL when
 * there is no tensor of that name.
 */
LetheTensor *lethe_frame_make_tensor_writable(LetheFrame *frame, const char *name);
/** lethe_frame_remove_tensor: %TRUE if a tensor of that name was removed. */
gboolean lethe_frame_remove_tensor(LetheFrame *frame, const char *name);
guint lethe_frame_get_n_tensors(const LetheFrame *frame);
/** lethe_frame_get_nth: Returns: (transfer none) the @i-th tensor; @name (out) its name. */
LetheTensor *lethe_frame_get_nth(const LetheFrame *frame, guint i, const char **name);

/**
 * lethe_frame_set_meta:
 * @value: a floating reference is sunk; %NULL removes the key
 */
void lethe_frame_set_meta(LetheFrame *frame, const char *key, GVariant *value);
/** lethe_frame_get_meta: Returns: (transfer none) (nullable) */
GVariant *lethe_frame_get_meta(const LetheFrame *frame, const char *key);
void lethe_frame_set_meta_int(LetheFrame *frame, const char *key, gint64 value);
void lethe_frame_set_meta_double(LetheFrame *frame, const char *key, double value);
void lethe_frame_set_meta_string(LetheFrame *frame, const char *key, const char *value);
/** lethe_frame_get_meta_int: the value of an integer key (any int type), or @fallback. */
gint64 lethe_frame_get_meta_int(const LetheFrame *frame, const char *key, gint64 fallback);
double lethe_frame_get_meta_double(const LetheFrame *frame, const char *key, double fallback);
/** lethe_frame_get_meta_string: (transfer none) the string, or @fallback. */
const char *lethe_frame_get_meta_string(const LetheFrame *frame, const char *key,
                                        const char *fallback);
/** lethe_frame_get_metadata: (transfer full) all metadata as an `a{sv}` dictionary. */
GVariant *lethe_frame_get_metadata(const LetheFrame *frame);
/** lethe_frame_get_meta_keys: (transfer container) keys in insertion order. */
GPtrArray *lethe_frame_get_meta_keys(const LetheFrame *frame);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(LetheFrame, lethe_frame_unref)

G_END_DECLS

#endif /* LETHE_FRAME_H */
