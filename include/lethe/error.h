/* Lethe — errors.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_ERROR_H
#define LETHE_ERROR_H

#include <glib.h>

G_BEGIN_DECLS

/**
 * LETHE_ERROR:
 *
 * The error domain of everything in liblethe and of the plugins that ship
 * with it.  Third-party plugins may use it or their own domain.
 */
#define LETHE_ERROR (lethe_error_quark())

/**
 * LetheError:
 * @LETHE_ERROR_FAILED: anything not covered below
 * @LETHE_ERROR_INVALID: an argument, parameter or value is invalid
 * @LETHE_ERROR_PARSE: a file could not be parsed (pipeline, schema, dataset…)
 * @LETHE_ERROR_SCHEMA: a frame or a link does not match a schema
 * @LETHE_ERROR_PLUGIN: a plugin could not be loaded or refused
 * @LETHE_ERROR_NOT_FOUND: a named thing (file, node type, tensor…) is missing
 * @LETHE_ERROR_IO: reading or writing a file failed
 * @LETHE_ERROR_NUMERIC: NaN/Inf, singular matrix, shape mismatch in an op
 * @LETHE_ERROR_LIMIT: a size or resource limit would be exceeded
 * @LETHE_ERROR_CANCELLED: the run was cancelled (Ctrl-C)
 * @LETHE_ERROR_UNSUPPORTED: the operation is not supported by this object
 */
typedef enum {
  LETHE_ERROR_FAILED,
  LETHE_ERROR_INVALID,
  LETHE_ERROR_PARSE,
  LETHE_ERROR_SCHEMA,
  LETHE_ERROR_PLUGIN,
  LETHE_ERROR_NOT_FOUND,
  LETHE_ERROR_IO,
  LETHE_ERROR_NUMERIC,
  LETHE_ERROR_LIMIT,
  LETHE_ERROR_CANCELLED,
  LETHE_ERROR_UNSUPPORTED,
} LetheError;

GQuark lethe_error_quark(void);

G_END_DECLS

#endif /* LETHE_ERROR_H */
