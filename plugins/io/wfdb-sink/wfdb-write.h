/* Lethe — writing WFDB records (format 16) so any WFDB viewer opens them.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_WFDB_WRITE_H
#define LETHE_WFDB_WRITE_H

#include <glib.h>

G_BEGIN_DECLS

/**
 * wfdb_write_record:
 * @dir: folder to write into (must exist)
 * @name: record name: letters, digits and _ only (WFDB's rule)
 * @x: @n_signals rows of @n samples, physical units (mV)
 * @lead_names: (nullable): @n_signals descriptions
 * @gain: ADC units per mV; samples are rounded to int16 (values beyond
 *   ±32767 / @gain mV are clipped, and counted in @n_clipped)
 * @comments: (nullable): %NULL-terminated lines written as `# …`
 *
 * Writes `<name>.hea` and `<name>.dat` (format 16, interleaved, little
 * endian, baseline 0, with initial values and checksums), each atomically
 * (a temporary file renamed into place).
 */
gboolean wfdb_write_record(const char *dir, const char *name, const float *x, guint n_signals,
                           gint64 n, double fs, const char *const *lead_names, double gain,
                           const char *const *comments, gint64 *n_clipped, GError **error);

G_END_DECLS

#endif /* LETHE_WFDB_WRITE_H */
