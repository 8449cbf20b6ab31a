/* Lethe — frame internals shared with schema.c.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_FRAME_PRIVATE_H
#define LETHE_FRAME_PRIVATE_H

#include <lethe/frame.h>

G_BEGIN_DECLS

/* The address of the frame's "last schema found valid" pointer, read and
 * written atomically; every change to the frame clears it. */
G_GNUC_INTERNAL gpointer *lethe_frame_validated_slot(const LetheFrame *frame);

G_END_DECLS

#endif /* LETHE_FRAME_PRIVATE_H */
