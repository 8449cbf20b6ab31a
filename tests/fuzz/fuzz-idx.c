/* Lethe — fuzz target: IDX files (header, then the streaming reader on
 * plain or compressed bytes, reading every item as floats and labels).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"
#include "idx-parse.h"

/* Small enough to keep executions fast, large enough for real headers. */
#define FUZZ_MAX_PAYLOAD (G_GUINT64_CONSTANT(1) << 20)

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  fuzz_init();
  return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  IdxHeader h;
  g_autoptr(GError) error = NULL;
  if (idx_parse_header(data, size, "fuzz.idx", &h, &error)) {
    g_assert(h.rank >= 1 && h.rank <= IDX_MAX_RANK);
    g_assert(h.header_size == 4 + 4 * (gsize)h.rank && h.header_size <= size);
  }
  g_clear_error(&error);

  char path[64];
  int fd = fuzz_memfd(data, size, path);
  g_autoptr(IdxReader) reader = idx_reader_open(path, FUZZ_MAX_PAYLOAD, &error);
  g_assert((reader == NULL) == (error != NULL));
  if (reader) {
    const IdxHeader *rh = idx_reader_get_header(reader);
    g_assert(rh->payload_size <= FUZZ_MAX_PAYLOAD);
    guint64 n_items = rh->dims[0];
    if (rh->type == IDX_TYPE_F32 || rh->type == IDX_TYPE_F64) {
      g_autofree float *x = g_new(float, rh->n_elements + 1);
      gboolean ok = idx_reader_read_f32(reader, n_items, 1.0f / 255, x, &error);
      g_assert(ok == (error == NULL));
    } else {
      g_autofree gint32 *y = g_new(gint32, rh->n_elements + 1);
      gboolean ok = idx_reader_read_i32(reader, n_items, y, &error);
      g_assert(ok == (error == NULL));
      if (ok && rh->rank == 1) {
        g_autoptr(GError) label_error = NULL;
        (void)idx_check_labels(y, n_items, 10, path, rh, &label_error);
      }
    }
  }
  close(fd);
  return 0;
}
