/* Lethe — PhysioNet WFDB headers, signal files and annotation files.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Everything here works on bytes in memory and depends on GLib only, so
 * fuzz targets compile it standalone.  The formats are those of the WFDB
 * Software Package (header(5), signal(5), annot(5)): a text header naming
 * the record, its signals, their files, formats, gains, baselines and
 * checksums; binary signal files; and MIT-format annotation files.
 */
#ifndef LETHE_WFDB_PARSE_H
#define LETHE_WFDB_PARSE_H

#include <glib.h>

G_BEGIN_DECLS

/** WFDB_DEFAULT_GAIN: ADC units per physical unit when the header gives 0 or none. */
#define WFDB_DEFAULT_GAIN 200.0
/** WFDB_DEFAULT_FS: sampling frequency when the record line gives none. */
#define WFDB_DEFAULT_FS 250.0

/**
 * WfdbSignal:
 * One signal specification line.  @gain is already defaulted (200 when the
 * header says 0 or nothing); @baseline defaults to @adc_zero; @units to "mV".
 * @line is the 1-based line number in the header, for messages.
 */
typedef struct {
  char *file_name;
  int format;
  int samples_per_frame;
  int skew;
  gint64 byte_offset;
  double gain;
  gboolean gain_given;
  gint64 baseline;
  char *units;
  int adc_resolution;
  gint64 adc_zero;
  gint64 initial_value;
  gint64 checksum;
  gboolean has_checksum;
  int block_size;
  char *description;
  guint line;
} WfdbSignal;

/**
 * WfdbHeader:
 * @name: the record name from the record line
 * @file: the header's file name (for messages)
 * @n_signals: number of signals
 * @fs: sampling frequency in Hz (250 when absent)
 * @n_samples: samples per signal; 0 when the header does not say
 * @signals: @n_signals entries
 * @comments: (element-type utf8) comment lines without the leading '#',
 *   trimmed, in file order
 */
typedef struct {
  char *name;
  char *file;
  guint n_signals;
  double fs;
  gint64 n_samples;
  WfdbSignal *signals;
  GPtrArray *comments;
} WfdbHeader;

/**
 * wfdb_header_parse:
 * @text: the header file's bytes (need not be NUL-terminated)
 * @file: name for messages
 *
 * Returns: (transfer full) the header, or %NULL with @error set naming
 * @file and the line.  Multi-segment records and signals with several
 * samples per frame or a skew are refused as unsupported.
 */
WfdbHeader *wfdb_header_parse(const char *text, gsize len, const char *file, GError **error);
void wfdb_header_free(WfdbHeader *header);

/**
 * wfdb_header_get_info:
 * The value of a `# key: value` comment (key compared case-insensitively,
 * also in LUDB's `<key>:` spelling), trimmed; %NULL when absent.
 * Returns: (transfer none)
 */
const char *wfdb_header_get_info(const WfdbHeader *header, const char *key);

/** wfdb_format_is_supported: formats 16, 61, 80 and 212. */
gboolean wfdb_format_is_supported(int format);

/**
 * wfdb_signal_file_frames:
 * How many frames (one sample of each of @n_group signals) a signal file
 * of @len bytes holds after @byte_offset, in @format.
 */
gint64 wfdb_signal_file_frames(int format, guint n_group, gint64 byte_offset, gsize len);

/**
 * wfdb_decode_group:
 * @data: the whole signal file
 * @format, @byte_offset: of every signal in the file
 * @n_group: signals interleaved in the file
 * @n_samples: frames to decode
 * @out: @n_group × @n_samples digital values, signal-major
 * @invalid: (nullable): set to the number of "invalid sample" codes met
 *   (-32768 for 16 and 61, -2048 for 212, -128 for 80)
 *
 * Decodes samples.  Returns %FALSE with @error set (naming @file and the
 * byte count it needs) when the file is too short.
 */
gboolean wfdb_decode_group(const guint8 *data, gsize len, const char *file, int format,
                           gint64 byte_offset, guint n_group, gint64 n_samples, gint32 *out,
                           gint64 *invalid, GError **error);

/** wfdb_invalid_sample: the invalid-sample code of @format. */
gint32 wfdb_invalid_sample(int format);

/**
 * wfdb_checksum:
 * The 16-bit signed sum of @n samples, as WFDB computes it.  Compare with
 * the header's checksum modulo 65536 (some writers store it unsigned).
 */
gint16 wfdb_checksum(const gint32 *samples, gint64 n);

/**
 * WfdbAnnotation:
 * One annotation of an MIT-format file.  @code is the annotation type
 * (1 = N normal beat, 24 = p P-wave peak, 27 = t T-wave peak, 39 = '('
 * waveform onset, 40 = ')' waveform end…); @aux is %NULL or the auxiliary
 * string.
 */
typedef struct {
  gint64 sample;
  guint8 code;
  gint8 subtype;
  guint8 chan;
  gint8 num;
  char *aux;
} WfdbAnnotation;

/**
 * wfdb_annotations_parse:
 * Decodes an MIT-format annotation file.  Pseudo-annotations (SKIP, NUM,
 * SUB, CHN, AUX) are folded into the annotations they belong to;
 * NOT-QRS placeholders and the file's definition notes are dropped.
 * Returns: (transfer full) (element-type WfdbAnnotation) with a clear
 * function freeing @aux, or %NULL with @error set naming @file and the
 * byte offset of the bad word.
 */
GArray *wfdb_annotations_parse(const guint8 *data, gsize len, const char *file, GError **error);

/** wfdb_annotation_symbol: the one-character mnemonic of @code ("N", "p", "(", …), or "?". */
const char *wfdb_annotation_symbol(guint code);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(WfdbHeader, wfdb_header_free)

G_END_DECLS

#endif /* LETHE_WFDB_PARSE_H */
