/* Lethe — the plugin ABI: what a plugin exports and what its nodes may call.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A plugin is one shared object exporting one symbol, lethe_plugin_v1(),
 * that returns a static LethePluginInfo.  Plugin code never parses the
 * pipeline file and never sees another node: it gets typed parameters,
 * frames, a progress context and a GCancellable.  See lethe-plugin(7).
 */
#ifndef LETHE_PLUGIN_H
#define LETHE_PLUGIN_H

#include <gio/gio.h>
#include <lethe/error.h>
#include <lethe/frame.h>

G_BEGIN_DECLS

/**
 * LETHE_ABI_MAJOR / LETHE_ABI_MINOR:
 * The core loads a plugin whose major equals its own and whose minor is
 * not newer (the rule of gst_plugin_check_version()).
 */
#define LETHE_ABI_MAJOR 1
#define LETHE_ABI_MINOR 1

/** LETHE_PLUGIN_SYMBOL: the one symbol a plugin exports. */
#define LETHE_PLUGIN_SYMBOL "lethe_plugin_v1"

typedef enum {
  LETHE_NODE_SOURCE,
  LETHE_NODE_TRANSFORM,
  LETHE_NODE_AUGMENTER,
  LETHE_NODE_LEARNER,
  LETHE_NODE_UNLEARNER,
  LETHE_NODE_EVALUATOR,
  LETHE_NODE_SINK,
} LetheNodeKind;

const char *lethe_node_kind_name(LetheNodeKind kind);

/**
 * LethePortFlags:
 * @LETHE_PORT_STICKY: an input that keeps its latest frame (a test set,
 *   a forget set); the node fires on its other inputs
 * @LETHE_PORT_OPTIONAL: an input that may be left unconnected (the node
 *   then sees %NULL for it)
 * @LETHE_PORT_RESUMABLE: an output of `model` frames from which the node
 *   restores its state when `lethe run --resume` continues an interrupted
 *   run: before computing the frame of each request, it asks for it with
 *   lethe_node_get_resume_frame().  `--resume` refuses a pipeline with a
 *   `model` output not flagged so (since ABI 1.1)
 */
typedef enum {
  LETHE_PORT_NONE = 0,
  LETHE_PORT_STICKY = 1 << 0,
  LETHE_PORT_OPTIONAL = 1 << 1,
  LETHE_PORT_RESUMABLE = 1 << 2,
} LethePortFlags;

/**
 * LethePortSpec:
 * @name: port name, lower-case with dashes ("model", "data")
 * @schema: the schema name frames on this port follow ("dataset", "any"…)
 * @flags: #LethePortFlags
 * @doc: one line for `lethe inspect`
 *
 * Arrays of port specs end with an entry whose @name is %NULL.
 */
typedef struct {
  const char *name;
  const char *schema;
  guint flags;
  const char *doc;
  /*< private >*/
  gpointer _lethe_reserved[2];
} LethePortSpec;

/**
 * LetheParamType:
 * @LETHE_PARAM_BOOL: true/false (also yes/no, 1/0)
 * @LETHE_PARAM_INT: 64-bit integer within [min, max]
 * @LETHE_PARAM_DOUBLE: double within [min, max]
 * @LETHE_PARAM_STRING: free text
 * @LETHE_PARAM_ENUM: one of @choices
 * @LETHE_PARAM_PATH: a file or folder name; relative names are resolved
 *   against the pipeline file's folder
 * @LETHE_PARAM_INT_LIST: comma-separated integers, each within [min, max]
 * @LETHE_PARAM_DOUBLE_LIST: comma-separated doubles, each within [min, max]
 */
typedef enum {
  LETHE_PARAM_BOOL,
  LETHE_PARAM_INT,
  LETHE_PARAM_DOUBLE,
  LETHE_PARAM_STRING,
  LETHE_PARAM_ENUM,
  LETHE_PARAM_PATH,
  LETHE_PARAM_INT_LIST,
  LETHE_PARAM_DOUBLE_LIST,
} LetheParamType;

const char *lethe_param_type_name(LetheParamType type);

/**
 * LetheParamSpec:
 * @name: parameter name, lower-case with dashes
 * @type: #LetheParamType
 * @default_value: the default, written as in a pipeline file; %NULL makes
 *   the parameter required
 * @min: lower bound for numbers (ignored when @min > @max)
 * @max: upper bound for numbers
 * @choices: for %LETHE_PARAM_ENUM, a %NULL-terminated list
 * @doc: one line for `lethe inspect`
 *
 * Like GParamSpec, but plain data, so the registry can cache it.  Arrays
 * of param specs end with an entry whose @name is %NULL.
 */
typedef struct {
  const char *name;
  LetheParamType type;
  const char *default_value;
  double min;
  double max;
  const char *const *choices;
  const char *doc;
  /*< private >*/
  gpointer _lethe_reserved[2];
} LetheParamSpec;

/**
 * LetheNode:
 * One instance of a node type in a running pipeline.  Owned by the core;
 * plugin code reaches its parameters, state and outputs through it.
 */
typedef struct _LetheNode LetheNode;

/**
 * LetheNodeVTable:
 * @init: reads parameters, allocates state (lethe_node_set_private());
 *   runs once before any frame
 * @process: one firing.  @inputs holds one frame per input port, in port
 *   order (transfer none; %NULL for an unconnected optional port).  A
 *   source (no inputs) is fired repeatedly with @inputs %NULL until it
 *   calls lethe_node_end_stream().  Output goes through lethe_node_push().
 * @flush: all inputs reached end-of-stream; emit what is pending
 * @finalize: frees the state; called once, also after a failure
 *
 * Every function but @finalize returns %FALSE with @error set on failure;
 * the core attributes the error to this node.  @init, @flush and @finalize
 * may be %NULL.
 */
typedef struct {
  gboolean (*init)(LetheNode *node, GError **error);
  gboolean (*process)(LetheNode *node, LetheFrame **inputs, GError **error);
  gboolean (*flush)(LetheNode *node, GError **error);
  void (*finalize)(LetheNode *node);
  /*< private >*/
  gpointer _lethe_reserved[4];
} LetheNodeVTable;

/**
 * LetheNodeType:
 * @name: the name pipeline files use in `plugin =` ("idx-source")
 * @kind: #LetheNodeKind
 * @description: one line
 * @inputs: (nullable): input ports, %NULL-name terminated
 * @outputs: (nullable): output ports, %NULL-name terminated
 * @params: (nullable): parameters, %NULL-name terminated
 * @vtable: the functions
 * @doc: (nullable): longer text for `lethe inspect NODE-TYPE`
 */
typedef struct {
  const char *name;
  LetheNodeKind kind;
  const char *description;
  const LethePortSpec *inputs;
  const LethePortSpec *outputs;
  const LetheParamSpec *params;
  const LetheNodeVTable *vtable;
  const char *doc;
  /*< private >*/
  gpointer _lethe_reserved[4];
} LetheNodeType;

/* Defined in <lethe/model.h>. */
typedef struct _LetheModelKind LetheModelKind;

/**
 * LethePluginInfo:
 * @abi_major: %LETHE_ABI_MAJOR the plugin was built against
 * @abi_minor: %LETHE_ABI_MINOR the plugin was built against
 * @name: plugin name (unique)
 * @version: the plugin's version string
 * @license: SPDX identifier
 * @description: one line
 * @node_types: %NULL-terminated array
 * @model_kinds: (nullable): %NULL-terminated array of model kinds the
 *   plugin registers
 */
typedef struct {
  guint abi_major;
  guint abi_minor;
  const char *name;
  const char *version;
  const char *license;
  const char *description;
  const LetheNodeType *const *node_types;
  const LetheModelKind *const *model_kinds;
  /*< private >*/
  gpointer _lethe_reserved[8];
} LethePluginInfo;

/**
 * LETHE_PLUGIN_DEFINE:
 * Defines the exported lethe_plugin_v1() symbol returning @info.
 */
#define LETHE_PLUGIN_DEFINE(info)                                                                  \
  G_MODULE_EXPORT const LethePluginInfo *lethe_plugin_v1(void);                                    \
  G_MODULE_EXPORT const LethePluginInfo *lethe_plugin_v1(void)                                     \
  {                                                                                                \
    return &(info);                                                                                \
  }

/* ---- What node code may call ---------------------------------------- */

const char *lethe_node_get_name(const LetheNode *node);
const LetheNodeType *lethe_node_get_node_type(const LetheNode *node);
void lethe_node_set_private(LetheNode *node, gpointer priv, GDestroyNotify destroy);
gpointer lethe_node_get_private(const LetheNode *node);

/* Parameters, already parsed and range-checked by the core.  Asking for a
 * name the node type does not declare, or with the wrong type, is a
 * programming error (g_critical). */
gboolean lethe_node_get_bool(const LetheNode *node, const char *param);
gint64 lethe_node_get_int(const LetheNode *node, const char *param);
double lethe_node_get_double(const LetheNode *node, const char *param);
/** lethe_node_get_string: (transfer none) strings, enums and resolved paths; "" when empty. */
const char *lethe_node_get_string(const LetheNode *node, const char *param);
/** lethe_node_get_int_list: (transfer none) @n_values (out) count; %NULL when empty. */
const gint64 *lethe_node_get_int_list(const LetheNode *node, const char *param, gsize *n_values);
const double *lethe_node_get_double_list(const LetheNode *node, const char *param, gsize *n_values);
/** lethe_node_param_is_set: %TRUE when the pipeline file or the command line set @param. */
gboolean lethe_node_param_is_set(const LetheNode *node, const char *param);

/**
 * lethe_node_get_seed:
 * A 64-bit seed derived from the pipeline seed and the node name, so each
 * node has its own stream, independent of thread scheduling.
 */
guint64 lethe_node_get_seed(const LetheNode *node);
/** lethe_node_get_threads: how many BLAS threads this node may use now. */
guint lethe_node_get_threads(const LetheNode *node);
/** lethe_node_get_output_dir: (nullable) the run's output folder, for files a node writes. */
const char *lethe_node_get_output_dir(const LetheNode *node);
GCancellable *lethe_node_get_cancellable(const LetheNode *node);
/** lethe_node_is_cancelled: poll this in long loops; return %FALSE with LETHE_ERROR_CANCELLED. */
gboolean lethe_node_is_cancelled(const LetheNode *node);

/**
 * lethe_node_push:
 * @port: output port index
 * @frame: (transfer full)
 *
 * Sends @frame downstream.  Returns %FALSE when the pipeline is stopping
 * (cancelled, or another node failed): the node should then return
 * promptly; the core does not count that as this node's failure.
 */
gboolean lethe_node_push(LetheNode *node, guint port, LetheFrame *frame);
/** lethe_node_push_named: lethe_node_push() by output port name. */
gboolean lethe_node_push_named(LetheNode *node, const char *port, LetheFrame *frame);
/**
 * lethe_node_take_input:
 * @port: input port index
 *
 * Hands over the core's reference to this firing's frame on @port, for a
 * node that wants to modify its input: when no other node shares the frame,
 * lethe_frame_make_writable() then returns it without a copy (as a
 * GStreamer element owns the buffer its chain function receives).  After
 * the call use the returned frame, not `inputs[port]`.  Sticky inputs are
 * always shared with the core, so they are never handed over.
 * Returns: (transfer full) (nullable): the frame, or %NULL when the port is
 *   sticky, unconnected or already taken in this firing
 */
LetheFrame *lethe_node_take_input(LetheNode *node, guint port);
/**
 * lethe_node_output_is_linked:
 * %TRUE when output @port has a consumer (a downstream node or a test
 * harness).  A node that already recorded its metrics with
 * lethe_node_metric() uses this to skip pushing a `metrics` frame nobody
 * reads, which the core would otherwise record a second time.
 */
gboolean lethe_node_output_is_linked(const LetheNode *node, guint port);
/**
 * lethe_node_get_resume_frame:
 * @port: an output port flagged %LETHE_PORT_RESUMABLE
 * @version: the model version the node is about to push on @port
 * @index: which frame of that version, from 0 (an ensemble pushes several)
 *
 * When the run resumes an interrupted one (`lethe run --resume`), returns
 * the frame the node pushed for this version in that run, loaded from its
 * checkpoint; the node then restores its state from it and pushes it
 * (it is not saved again) instead of computing it.  Returns %NULL when the
 * run does not resume, or the interrupted run had not saved that frame:
 * the node computes it, and from then on this function always returns
 * %NULL for this node, so what is restored is the unbroken run of frames
 * the interrupted run completed.  Nodes upstream and downstream are run
 * again from the start (same seed, same frames), so a node only has to
 * restore what it cannot recompute cheaply.  See docs/execution.md.
 *
 * Returns: (transfer full) (nullable): the checkpointed frame (since ABI 1.1)
 */
LetheFrame *lethe_node_get_resume_frame(LetheNode *node, guint port, gint64 version, guint index);

/** lethe_node_end_stream: a source calls this when it has nothing more to emit. */
void lethe_node_end_stream(LetheNode *node);

/**
 * lethe_node_progress:
 * @what: (nullable): what the node is doing ("epoch 3/10")
 * @fraction: 0..1, or a negative value when unknown
 * Cheap enough to call per minibatch; the front-end rate-limits drawing.
 */
void lethe_node_progress(LetheNode *node, const char *what, double fraction);

/**
 * lethe_node_metric:
 * Records one metric: it goes to `metrics.jsonl` and the results table.
 * @step: task or step index the value belongs to, or -1
 * @value_json: (nullable): for non-scalar values (e.g. a matrix as nested
 *   lists), the value as JSON text; @value is then ignored
 */
void lethe_node_metric(LetheNode *node, const char *name, gint64 step, double value,
                       const char *value_json);

/**
 * lethe_node_metric_frame:
 * @frame: (transfer none): a frame of the `metrics` schema
 *
 * Records every tensor of @frame as a metric named after the tensor: a
 * one-element tensor as its value, any other as nested JSON lists.  The
 * step is the frame's "step" metadata, else its "task", else -1.  The core
 * does this by itself for frames pushed on an unconnected output whose
 * schema is `metrics`; the `metrics-sink` node type does it explicitly.
 */
void lethe_node_metric_frame(LetheNode *node, const LetheFrame *frame);

G_END_DECLS

#endif /* LETHE_PLUGIN_H */
