// model_internal.h — shared between the files of src/model/ (not part of the public API).
#ifndef TF_MODEL_INTERNAL_H
#define TF_MODEL_INTERNAL_H

#include "tf_model.h"

// Allocates a model with cfg's parameter arena (zeroed) and tensor views; NULL with err set.
tf_model *model_alloc(const tf_config *cfg, tf_error *err);
// Points views[i] into base following sizes (the shared layout of params, grads, m, v).
void model_point_views(float *base, const size_t sizes[TF_NUM_PARAM_TENSORS],
                       float *views[TF_NUM_PARAM_TENSORS]);
// Frees the activation buffers (forward.c owns their layout).
void model_free_acts(tf_activations *a);

#endif
