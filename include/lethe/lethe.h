/* Lethe — umbrella header.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_H
#define LETHE_H

#include <lethe/version.h>
#include <lethe/error.h>
#include <lethe/buffer.h>
#include <lethe/tensor.h>
#include <lethe/frame.h>
#include <lethe/schema.h>
#include <lethe/safetensors.h>
#include <lethe/plugin.h>
#include <lethe/model.h>
#include <lethe/registry.h>

G_BEGIN_DECLS

/**
 * lethe_init:
 * Sets up logging (`LETHE_DEBUG`), and whatever else the library needs
 * once per process.  Safe to call more than once.
 */
void lethe_init(void);

G_END_DECLS

#endif /* LETHE_H */
