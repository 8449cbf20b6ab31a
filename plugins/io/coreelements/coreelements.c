/* coreelements — the plugin descriptor.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The node types every installation has, needing nothing but the core:
 * synthetic-source, identity, fan-in, null-sink, metrics-sink,
 * tensor-stats and fail.  They exercise the scheduler end to end and are
 * the building blocks of tests and benchmarks.
 */
#include "coreelements.h"

static const LetheNodeType *const node_types[] = {
    &lethe_synthetic_source_type,
    &lethe_identity_type,
    &lethe_fan_in_type,
    &lethe_null_sink_type,
    &lethe_metrics_sink_type,
    &lethe_tensor_stats_type,
    &lethe_fail_type,
    NULL,
};

static const LethePluginInfo plugin_info = {
    .abi_major = LETHE_ABI_MAJOR,
    .abi_minor = LETHE_ABI_MINOR,
    .name = "coreelements",
    .version = COREELEMENTS_VERSION,
    .license = "LGPL-2.1-or-later",
    .description = "Synthetic source, pass-through, fan-in, sinks and a failing node for tests",
    .node_types = node_types,
    .model_kinds = NULL,
};

LETHE_PLUGIN_DEFINE(plugin_info)
