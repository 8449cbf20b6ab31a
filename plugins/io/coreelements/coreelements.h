/* coreelements — the node types of the plugin.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_COREELEMENTS_H
#define LETHE_COREELEMENTS_H

#include <lethe/plugin.h>

G_BEGIN_DECLS

G_GNUC_INTERNAL extern const LetheNodeType lethe_synthetic_source_type;
G_GNUC_INTERNAL extern const LetheNodeType lethe_identity_type;
G_GNUC_INTERNAL extern const LetheNodeType lethe_fan_in_type;
G_GNUC_INTERNAL extern const LetheNodeType lethe_null_sink_type;
G_GNUC_INTERNAL extern const LetheNodeType lethe_metrics_sink_type;
G_GNUC_INTERNAL extern const LetheNodeType lethe_tensor_stats_type;
G_GNUC_INTERNAL extern const LetheNodeType lethe_fail_type;

G_END_DECLS

#endif /* LETHE_COREELEMENTS_H */
