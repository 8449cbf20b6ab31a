/* Lethe — the IDX file format (MNIST, Fashion-MNIST, KMNIST…).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * An IDX file is a 4-byte magic (0, 0, element type, rank), then rank
 * big-endian u32 extents, then the elements, big-endian, C order.
 * idx_parse_header() works on bytes in memory (fuzz targets call it
 * directly); IdxReader streams a plain or compressed file through
 * libarchive and validates every size before anything is allocated.
 */
#ifndef LETHE_IDX_PARSE_H
#define LETHE_IDX_PARSE_H

#include <glib.h>

G_BEGIN_DECLS

#define IDX_MAX_RANK 8

typedef enum {
  IDX_TYPE_U8 = 0x08,
  IDX_TYPE_I8 = 0x09,
  IDX_TYPE_I16 = 0x0B,
  IDX_TYPE_I32 = 0x0C,
  IDX_TYPE_F32 = 0x0D,
  IDX_TYPE_F64 = 0x0E,
} IdxType;

/**
 * IdxHeader:
 * @type: element type
 * @rank: number of extents (1..8)
 * @dims: extents, outermost first
 * @elem_size: bytes per element
 * @header_size: bytes before the first element (4 + 4 × rank)
 * @n_elements: product of @dims
 * @payload_size: @n_elements × @elem_size
 */
typedef struct {
  IdxType type;
  guint rank;
  guint32 dims[IDX_MAX_RANK];
  gsize elem_size;
  gsize header_size;
  guint64 n_elements;
  guint64 payload_size;
} IdxHeader;

/** idx_type_name: "u8", "i8", "i16", "i32", "f32", "f64", or %NULL. */
const char *idx_type_name(IdxType type);

/**
 * idx_parse_header:
 * @data: the first bytes of the file (at least 4; the whole header to succeed)
 * @name: file name for messages
 *
 * Checks the magic, the type and the rank, and that the element count and
 * payload size do not overflow 64 bits.  Returns %FALSE with @error set
 * (naming @name and the byte offset) otherwise.
 */
gboolean idx_parse_header(const guint8 *data, gsize len, const char *name, IdxHeader *header,
                          GError **error);

/**
 * idx_convert_f32:
 * Converts @n big-endian elements of @type at @src to floats, each
 * multiplied by @scale.
 */
void idx_convert_f32(IdxType type, const guint8 *src, gsize n, float scale, float *dst);
/** idx_convert_i32: converts @n integer elements; %FALSE for float types. */
gboolean idx_convert_i32(IdxType type, const guint8 *src, gsize n, gint32 *dst);

/** IdxReader: one IDX file being read. Opaque. */
typedef struct _IdxReader IdxReader;

/**
 * idx_reader_open:
 * Opens @path (plain, or compressed in any format libarchive reads), reads
 * and validates the header: the payload must fit the file (exactly, for a
 * plain file; within the compressor's maximum ratio for a compressed one)
 * and stay below @max_payload bytes.  Nothing is allocated for the payload.
 */
IdxReader *idx_reader_open(const char *path, guint64 max_payload, GError **error);
const IdxHeader *idx_reader_get_header(const IdxReader *reader);
const char *idx_reader_get_path(const IdxReader *reader);
/**
 * idx_reader_read_f32:
 * Reads the first @n_items items (an item is everything below the outermost
 * extent) as floats times @scale into @dst.  When @n_items is the whole
 * file, also checks that nothing follows the payload.  Errors name the file
 * and the offset where the data stops.
 */
gboolean idx_reader_read_f32(IdxReader *reader, guint64 n_items, float scale, float *dst,
                             GError **error);
/** idx_reader_read_i32: like idx_reader_read_f32() for integer files (labels). */
gboolean idx_reader_read_i32(IdxReader *reader, guint64 n_items, gint32 *dst, GError **error);
void idx_reader_free(IdxReader *reader);

/**
 * idx_check_labels:
 * Checks that every label lies in [0, @n_classes).  On failure the error
 * names @path, the item index, its byte offset in the (decompressed) file
 * and the value.  With @n_classes 0, only negative labels are refused.
 */
gboolean idx_check_labels(const gint32 *labels, gsize n, gint64 n_classes, const char *path,
                          const IdxHeader *header, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(IdxReader, idx_reader_free)

G_END_DECLS

#endif /* LETHE_IDX_PARSE_H */
