/* Lethe — the IDX file format.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "idx-parse.h"

#include <string.h>

#include <lethe/error.h>

#include "data-stream.h"

/* Elements are converted in chunks of this many bytes (a multiple of 8). */
#define CHUNK_BYTES (256u * 1024u)

const char *
idx_type_name(IdxType type)
{
  switch (type) {
  case IDX_TYPE_U8:
    return "u8";
  case IDX_TYPE_I8:
    return "i8";
  case IDX_TYPE_I16:
    return "i16";
  case IDX_TYPE_I32:
    return "i32";
  case IDX_TYPE_F32:
    return "f32";
  case IDX_TYPE_F64:
    return "f64";
  }
  return NULL;
}

static gsize
type_size(guint8 code)
{
  switch (code) {
  case IDX_TYPE_U8:
  case IDX_TYPE_I8:
    return 1;
  case IDX_TYPE_I16:
    return 2;
  case IDX_TYPE_I32:
  case IDX_TYPE_F32:
    return 4;
  case IDX_TYPE_F64:
    return 8;
  }
  return 0;
}

static guint32
read_be32(const guint8 *p)
{
  return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

static char *
dims_string(const IdxHeader *h)
{
  GString *s = g_string_new("[");
  for (guint i = 0; i < h->rank; i++)
    g_string_append_printf(s, "%s%u", i ? ", " : "", h->dims[i]);
  g_string_append_c(s, ']');
  return g_string_free(s, FALSE);
}

gboolean
idx_parse_header(const guint8 *data, gsize len, const char *name, IdxHeader *header, GError **error)
{
  g_return_val_if_fail(data != NULL || len == 0, FALSE);
  g_return_val_if_fail(header != NULL, FALSE);

  memset(header, 0, sizeof *header);
  if (len < 4) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                "%s: truncated IDX header: %" G_GSIZE_FORMAT " bytes, the magic alone needs 4",
                name, len);
    return FALSE;
  }
  if (data[0] != 0 || data[1] != 0 || type_size(data[2]) == 0 || data[3] == 0 ||
      data[3] > IDX_MAX_RANK) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                "%s: not an IDX file: magic at offset 0 is %02x %02x %02x %02x, expected 00 00 "
                "<type 08 09 0b 0c 0d 0e> <rank 1..%d> (is it a different format, or "
                "compressed with something libarchive does not read?)",
                name, data[0], data[1], data[2], data[3], IDX_MAX_RANK);
    return FALSE;
  }
  header->type = data[2];
  header->rank = data[3];
  header->elem_size = type_size(data[2]);
  header->header_size = 4 + 4 * (gsize)header->rank;
  if (len < header->header_size) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                "%s: truncated IDX header: %" G_GSIZE_FORMAT
                " bytes, rank %u needs %" G_GSIZE_FORMAT,
                name, len, header->rank, header->header_size);
    return FALSE;
  }
  guint64 n = 1;
  for (guint i = 0; i < header->rank; i++) {
    header->dims[i] = read_be32(data + 4 + 4 * i);
    if (header->dims[i] != 0 && n > G_MAXUINT64 / 8 / header->dims[i]) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_LIMIT,
                  "%s: IDX extents overflow 64 bits at dimension %u (offset %u)", name, i,
                  4 + 4 * i);
      return FALSE;
    }
    n *= header->dims[i];
  }
  header->n_elements = n;
  header->payload_size = n * header->elem_size;
  return TRUE;
}

void
idx_convert_f32(IdxType type, const guint8 *restrict src, gsize n, float scale, float *restrict dst)
{
  switch (type) {
  case IDX_TYPE_U8:
    for (gsize i = 0; i < n; i++)
      dst[i] = (float)src[i] * scale;
    break;
  case IDX_TYPE_I8:
    for (gsize i = 0; i < n; i++)
      dst[i] = (float)(gint8)src[i] * scale;
    break;
  case IDX_TYPE_I16:
    for (gsize i = 0; i < n; i++)
      dst[i] = (float)(gint16)(src[2 * i] << 8 | src[2 * i + 1]) * scale;
    break;
  case IDX_TYPE_I32:
    for (gsize i = 0; i < n; i++)
      dst[i] = (float)(gint32)read_be32(src + 4 * i) * scale;
    break;
  case IDX_TYPE_F32:
    for (gsize i = 0; i < n; i++) {
      guint32 u = read_be32(src + 4 * i);
      float f;
      memcpy(&f, &u, 4);
      dst[i] = f * scale;
    }
    break;
  case IDX_TYPE_F64:
    for (gsize i = 0; i < n; i++) {
      guint64 u = (guint64)read_be32(src + 8 * i) << 32 | read_be32(src + 8 * i + 4);
      double d;
      memcpy(&d, &u, 8);
      dst[i] = (float)(d * scale);
    }
    break;
  }
}

gboolean
idx_convert_i32(IdxType type, const guint8 *src, gsize n, gint32 *dst)
{
  switch (type) {
  case IDX_TYPE_U8:
    for (gsize i = 0; i < n; i++)
      dst[i] = src[i];
    return TRUE;
  case IDX_TYPE_I8:
    for (gsize i = 0; i < n; i++)
      dst[i] = (gint8)src[i];
    return TRUE;
  case IDX_TYPE_I16:
    for (gsize i = 0; i < n; i++)
      dst[i] = (gint16)(src[2 * i] << 8 | src[2 * i + 1]);
    return TRUE;
  case IDX_TYPE_I32:
    for (gsize i = 0; i < n; i++)
      dst[i] = (gint32)read_be32(src + 4 * i);
    return TRUE;
  case IDX_TYPE_F32:
  case IDX_TYPE_F64:
    return FALSE;
  }
  return FALSE;
}

struct _IdxReader {
  DataStream *stream;
  IdxHeader header;
};

IdxReader *
idx_reader_open(const char *path, guint64 max_payload, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);

  g_autoptr(DataStream) stream = data_stream_open(path, error);
  if (stream == NULL)
    return NULL;

  guint8 head[4 + 4 * IDX_MAX_RANK];
  gsize got;
  if (!data_stream_read(stream, head, 4, &got, error))
    return NULL;
  IdxHeader h;
  if (got == 4 && type_size(head[2]) != 0 && head[3] >= 1 && head[3] <= IDX_MAX_RANK) {
    gsize more;
    if (!data_stream_read(stream, head + 4, 4 * (gsize)head[3], &more, error))
      return NULL;
    got += more;
  }
  if (!idx_parse_header(head, got, path, &h, error))
    return NULL;

  g_autofree char *dims = dims_string(&h);
  guint64 file_size = data_stream_get_file_size(stream);
  guint ratio = data_stream_get_max_expansion(stream);
  if (h.payload_size > max_payload) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_LIMIT,
                "%s: IDX header (offset 4) declares %s %s elements = %" G_GUINT64_FORMAT
                " bytes, above the limit of %" G_GUINT64_FORMAT " bytes",
                path, dims, idx_type_name(h.type), h.payload_size, max_payload);
    return NULL;
  }
  if (ratio == 1 && h.header_size + h.payload_size != file_size) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                "%s: IDX header (offset 4) declares %s %s elements = %" G_GUINT64_FORMAT
                " bytes after the %" G_GSIZE_FORMAT
                "-byte header, but the file has %" G_GUINT64_FORMAT " bytes there (%s)",
                path, dims, idx_type_name(h.type), h.payload_size, h.header_size,
                file_size - MIN(file_size, h.header_size),
                h.header_size + h.payload_size > file_size ? "truncated" : "trailing data");
    return NULL;
  }
  if (ratio > 1 && h.payload_size > (guint64)ratio * file_size) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                "%s: IDX header (offset 4) declares %s %s elements = %" G_GUINT64_FORMAT
                " bytes, more than a %" G_GUINT64_FORMAT "-byte compressed file can hold",
                path, dims, idx_type_name(h.type), h.payload_size, file_size);
    return NULL;
  }

  IdxReader *r = g_new0(IdxReader, 1);
  r->stream = g_steal_pointer(&stream);
  r->header = h;
  return r;
}

const IdxHeader *
idx_reader_get_header(const IdxReader *reader)
{
  return &reader->header;
}

const char *
idx_reader_get_path(const IdxReader *reader)
{
  return data_stream_get_path(reader->stream);
}

void
idx_reader_free(IdxReader *reader)
{
  if (reader == NULL)
    return;
  data_stream_free(reader->stream);
  g_free(reader);
}

/* Streams the first @n_items items through @convert into @dst. */
static gboolean
read_items(IdxReader *r, guint64 n_items, gboolean want_f32, float scale, gpointer dst,
           GError **error)
{
  const IdxHeader *h = &r->header;
  guint64 item_elems = h->rank > 1 ? h->n_elements / MAX(h->dims[0], 1) : 1;
  if (n_items > h->dims[0]) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                "%s: asked for %" G_GUINT64_FORMAT " items, the file holds %u",
                data_stream_get_path(r->stream), n_items, h->dims[0]);
    return FALSE;
  }
  guint64 total = n_items * item_elems;
  g_autofree guint8 *chunk = g_malloc(CHUNK_BYTES);
  gsize per_chunk = CHUNK_BYTES / h->elem_size;
  guint64 done = 0;
  while (done < total) {
    gsize want = (gsize)MIN((guint64)per_chunk, total - done);
    gsize got;
    if (!data_stream_read(r->stream, chunk, want * h->elem_size, &got, error))
      return FALSE;
    if (got < want * h->elem_size) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                  "%s: truncated: the data ends at byte offset %" G_GUINT64_FORMAT
                  " (decompressed), the header declares %" G_GUINT64_FORMAT " bytes",
                  data_stream_get_path(r->stream), h->header_size + (done * h->elem_size) + got,
                  h->header_size + h->payload_size);
      return FALSE;
    }
    if (want_f32)
      idx_convert_f32(h->type, chunk, want, scale, (float *)dst + done);
    else
      idx_convert_i32(h->type, chunk, want, (gint32 *)dst + done);
    done += want;
  }
  if (n_items == h->dims[0]) {
    guint8 extra;
    gsize got;
    if (!data_stream_read(r->stream, &extra, 1, &got, error))
      return FALSE;
    if (got != 0) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                  "%s: trailing data after byte offset %" G_GUINT64_FORMAT
                  ": the file is longer than its IDX header declares",
                  data_stream_get_path(r->stream), h->header_size + h->payload_size);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
idx_reader_read_f32(IdxReader *reader, guint64 n_items, float scale, float *dst, GError **error)
{
  g_return_val_if_fail(reader != NULL && dst != NULL, FALSE);
  return read_items(reader, n_items, TRUE, scale, dst, error);
}

gboolean
idx_reader_read_i32(IdxReader *reader, guint64 n_items, gint32 *dst, GError **error)
{
  g_return_val_if_fail(reader != NULL && dst != NULL, FALSE);
  if (reader->header.type == IDX_TYPE_F32 || reader->header.type == IDX_TYPE_F64) {
    g_set_error(error, LETHE_ERROR, LETHE_ERROR_PARSE,
                "%s: expected integer labels, the IDX file holds %s elements (magic byte 2)",
                data_stream_get_path(reader->stream), idx_type_name(reader->header.type));
    return FALSE;
  }
  return read_items(reader, n_items, FALSE, 1.0f, dst, error);
}

gboolean
idx_check_labels(const gint32 *labels, gsize n, gint64 n_classes, const char *path,
                 const IdxHeader *header, GError **error)
{
  for (gsize i = 0; i < n; i++) {
    if (labels[i] < 0 || (n_classes > 0 && labels[i] >= n_classes)) {
      g_set_error(error, LETHE_ERROR, LETHE_ERROR_INVALID,
                  "%s: label %d of item %" G_GSIZE_FORMAT " (byte offset %" G_GSIZE_FORMAT
                  ") is outside [0, %" G_GINT64_FORMAT "); set 'classes' to the number of classes "
                  "or check that the labels file matches the images",
                  path, labels[i], i, header->header_size + i * header->elem_size,
                  n_classes > 0 ? n_classes : (gint64)G_MAXINT32);
      return FALSE;
    }
  }
  return TRUE;
}
