/* Lethe — checkpoints in the safetensors format.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_SAFETENSORS_H
#define LETHE_SAFETENSORS_H

#include <glib.h>
#include <lethe/frame.h>

G_BEGIN_DECLS

/**
 * SECTION:safetensors
 *
 * A safetensors file is an 8-byte little-endian header length N, N bytes of
 * JSON header, then the raw tensor data:
 *
 *     {"__metadata__": {"arch": "linear(784,10)", "version": "3"},
 *      "fc.weight": {"dtype": "F32", "shape": [10, 784], "data_offsets": [0, 31360]}, ...}
 *
 * Offsets are relative to the start of the data.  Python reads it with
 * `safetensors`, or with numpy alone.
 *
 * Lethe writes the tensors of a frame in its order in the header; their
 * data is laid out largest element size first and starts 64-byte aligned,
 * so every tensor is aligned for its dtype when the file is mapped.
 * Metadata goes to `__metadata__`, whose values must be strings: string
 * values are written as they are, any other #GVariant as its text form
 * (g_variant_print() with types, e.g. "3", "[1, 2]", "int64 7"), and the
 * reserved key "lethe:variant-keys" lists those keys so they read back as
 * the same #GVariant.
 */

/**
 * lethe_safetensors_save:
 * @frame: the tensors and metadata to write
 * @path: where to write; replaced atomically (temporary file, fsync, rename)
 *
 * Returns: %TRUE, or %FALSE with @error set (a tensor named "__metadata__",
 * an I/O error naming @path).
 */
gboolean lethe_safetensors_save(const LetheFrame *frame, const char *path, GError **error);

/**
 * lethe_safetensors_load:
 *
 * Maps @path read-only and returns its tensors, in header order, as views
 * of the mapping (zero copies: each tensor's buffer is a sub-buffer of the
 * file mapping, so the tensors are read-only; use
 * lethe_tensor_make_writable() to change one).  A tensor whose data is not
 * aligned for its dtype (possible in files from other writers) is copied.
 * The header is validated strictly: length, JSON, dtype names, shapes,
 * shape × dtype size equal to the byte range, ranges in bounds, contiguous
 * and non-overlapping, and the file size.
 *
 * Returns: (transfer full): the frame, or %NULL with @error set, naming the
 * file and the tensor or offset at fault.
 */
LetheFrame *lethe_safetensors_load(const char *path, GError **error);

/**
 * lethe_safetensors_load_buffer:
 * @buffer: (transfer none): the whole file's bytes
 * @origin: names the source in error messages
 *
 * Like lethe_safetensors_load() on bytes already in memory; the tensors are
 * sub-buffers of @buffer.
 * Returns: (transfer full): the frame, or %NULL with @error set.
 */
LetheFrame *lethe_safetensors_load_buffer(LetheBuffer *buffer, const char *origin, GError **error);

G_END_DECLS

#endif /* LETHE_SAFETENSORS_H */
