/* Lethe — a harness for testing one node in isolation.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Like GStreamer's GstHarness: create one node from its node type and
 * parameters, push frames into its inputs, pull what it pushed from its
 * outputs, send end-of-stream, and check refcounts and leaks.  Everything
 * runs synchronously in the calling thread, with the scheduler's firing
 * rules (sticky inputs, end-of-stream → flush).
 *
 *   g_autoptr(LetheCheck) h = lethe_check_new(&my_type, (const char *[]){"scale=2", NULL}, &err);
 *   lethe_check_push(h, "input", frame, &err);
 *   g_autoptr(LetheFrame) out = lethe_check_pull(h, "output");
 *   lethe_check_push_eos(h, NULL, &err);
 *   g_assert_true(lethe_check_is_eos(h, "output"));
 */
#ifndef LETHE_CHECK_H
#define LETHE_CHECK_H

#include <lethe/run.h>

G_BEGIN_DECLS

/** LetheCheck: one node under test.  Not thread-safe.  Opaque. */
typedef struct _LetheCheck LetheCheck;

/**
 * lethe_check_new:
 * @type: the node type (a static one, or one returned by the registry)
 * @params: (nullable) (array zero-terminated=1): "name=value" strings, as
 *   in a pipeline file; unset parameters take their defaults
 * Returns: (transfer full) (nullable): the harness, or %NULL with @error set
 *   when a parameter is unknown, missing or invalid.  The node is named
 *   "check"; its seed derives from seed 0 until lethe_check_set_seed().
 */
LetheCheck *lethe_check_new(const LetheNodeType *type, const char *const *params, GError **error);
/**
 * lethe_check_new_from_registry:
 * @registry: (nullable): %NULL for lethe_registry_get_default()
 * Loads the plugin that provides @node_type and creates the harness.
 */
LetheCheck *lethe_check_new_from_registry(LetheRegistry *registry, const char *node_type,
                                          const char *const *params, GError **error);
/** lethe_check_free: finalizes the node and drops every frame not pulled. */
void lethe_check_free(LetheCheck *check);

/** lethe_check_set_seed: the pipeline seed the node's seed derives from (before it starts). */
void lethe_check_set_seed(LetheCheck *check, guint64 seed);
/** lethe_check_set_output_dir: what lethe_node_get_output_dir() returns. */
void lethe_check_set_output_dir(LetheCheck *check, const char *dir);
/**
 * lethe_check_track_frames:
 * Keeps a reference to every frame pushed in or out, so
 * lethe_check_teardown() can report the ones the node leaked.  The extra
 * reference makes those frames shared: lethe_frame_make_writable() then
 * copies them.  Call before the first push.
 */
void lethe_check_track_frames(LetheCheck *check, gboolean track);

/** lethe_check_get_node: (transfer none) the node under test. */
LetheNode *lethe_check_get_node(LetheCheck *check);
/** lethe_check_start: runs the node's init; the first push or firing does it anyway. */
gboolean lethe_check_start(LetheCheck *check, GError **error);

/**
 * lethe_check_push:
 * @port: input port name
 * @frame: (transfer full)
 * Queues @frame on @port (checking it against the port's schema) and fires
 * the node as often as it is ready.  Every required input counts as
 * connected from the start; an optional input from its first push (until
 * then the node sees %NULL there).  Returns %FALSE with @error set (naming
 * the node) when the frame does not match, or when the node failed.
 */
gboolean lethe_check_push(LetheCheck *check, const char *port, LetheFrame *frame, GError **error);
/**
 * lethe_check_push_eos:
 * @port: (nullable): input port name, or %NULL for every input
 * Ends @port's stream; once all inputs have ended the node flushes and its
 * outputs reach end-of-stream.
 */
gboolean lethe_check_push_eos(LetheCheck *check, const char *port, GError **error);
/**
 * lethe_check_fire_source:
 * Fires a source once.  Returns %FALSE with @error set when it failed.
 * Once it calls lethe_node_end_stream() it flushes and its outputs end.
 */
gboolean lethe_check_fire_source(LetheCheck *check, GError **error);
/** lethe_check_run_source: fires a source until it ends the stream or @max_firings (0: no limit).
 */
gboolean lethe_check_run_source(LetheCheck *check, guint64 max_firings, GError **error);

/** lethe_check_pull: (transfer full) (nullable) the oldest frame pushed on output @port. */
LetheFrame *lethe_check_pull(LetheCheck *check, const char *port);
/** lethe_check_get_n_pending: frames waiting on output @port. */
guint lethe_check_get_n_pending(LetheCheck *check, const char *port);
/** lethe_check_is_eos: output @port has reached end-of-stream. */
gboolean lethe_check_is_eos(LetheCheck *check, const char *port);
/** lethe_check_get_n_firings: how many times the node's process ran. */
guint64 lethe_check_get_n_firings(LetheCheck *check);
/** lethe_check_get_metrics: (transfer none) (element-type LetheMetric) what it recorded. */
GPtrArray *lethe_check_get_metrics(LetheCheck *check);

/**
 * lethe_check_teardown:
 * Finalizes the node and frees the harness.  With frame tracking on, fails
 * (naming how many and where they came from) when a frame that went in or
 * out still has a reference besides the harness's: release every frame you
 * pulled before calling it.
 */
gboolean lethe_check_teardown(LetheCheck *check, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(LetheCheck, lethe_check_free)

G_END_DECLS

#endif /* LETHE_CHECK_H */
