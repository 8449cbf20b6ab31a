/* Lethe — what the acil and acu node types share: request frames to
 * batches, class and sample forgetting, the backbone a model carries, the
 * model kind, and the check against the ridge solution from scratch.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef LETHE_ACIL_NODE_H
#define LETHE_ACIL_NODE_H

#include <lethe/model.h>
#include <lethe/plugin.h>

#include "analytic.h"

G_BEGIN_DECLS

/* Prefix of the backbone's tensors inside an acil model frame. */
#define ACIL_BACKBONE_PREFIX "backbone."

/**
 * AcilData:
 * One request's samples as a batch: @x the features (through the
 * backbone when there is one) as f32 [n, d_f], @y labels, @ids sample ids
 * (the frame's "index" or "ids", else row numbers).
 */
typedef struct {
  LetheTensor *x;
  LetheTensor *y;
  LetheTensor *ids;
  AcilBatch b;
} AcilData;

/**
 * acil_data_from_frame:
 * @backbone: (nullable): a model frame run on "x" first
 * @d_f: the feature size the model expects, or −1 for any
 * @what: names the frame in errors ("forget request 2")
 */
gboolean acil_data_from_frame(const LetheFrame *frame, const LetheFrame *backbone, gint64 d_f,
                              const char *what, AcilData *out, GError **error);
void acil_data_clear(AcilData *data);

/**
 * acil_forget:
 * Unlearns @data: a class request (metadata "forget-classes" on @request)
 * must hold every learned sample of those classes and nothing else; any
 * other forget frame removes exactly its samples.
 */
gboolean acil_forget(AcilState *state, const LetheFrame *request, const AcilData *data,
                     const char *what, GError **error);

/**
 * acil_retrain_rel_error:
 * ‖W − W_scratch‖_F / ‖W_scratch‖_F, W_scratch being the ridge solution
 * computed from scratch on the rows of @batches that @state has learned.
 */
gboolean acil_retrain_rel_error(const AcilState *state, const AcilBatch *batches, gsize n_batches,
                                double *rel, GError **error);

/** acil_model_attach_backbone: copies @backbone's tensors (prefixed) and kind into @model. */
void acil_model_attach_backbone(LetheFrame *model, const LetheFrame *backbone);
/** acil_model_get_backbone: (transfer full) (nullable) the backbone an acil model carries. */
LetheFrame *acil_model_get_backbone(const LetheFrame *model);

/**
 * acil_model_finish:
 * Fills the metadata of a model frame emitted after @request: its event,
 * task and classes (docs/streams.md), and the seconds the update took.
 */
void acil_model_finish(LetheFrame *model, const LetheFrame *request, const char *event,
                       double seconds);

extern const LetheModelKind acil_model_kind;
extern const LetheNodeType acil_node_type;
extern const LetheNodeType acu_node_type;

G_END_DECLS

#endif /* LETHE_ACIL_NODE_H */
