// optimizer.c — AdamW with decoupled weight decay on 2-D weights only, and global-norm clipping.
#include <math.h>

#include "model_internal.h"
#include "tf_kernels.h"

float tf_model_adamw_step(tf_model *m, const tf_adamw *o, tf_error *err) {
    if (m->lora) return model_lora_adamw(m, o, err);  // a frozen base: only the adapters move
    if (model_is_mapped(m)) {
        tf_errorf(err, TF_EBADARG, "adamw: the model's weights are mapped read-only (inference only)");
        return -1.0f;
    }
    if (!m->grads) {
        tf_errorf(err, TF_EBADARG, "adamw: no gradients (run backward first)");
        return -1.0f;
    }
    if (!m->adam_m) {
        m->adam_m = tf_alloc(m->num_params * sizeof(float), 1);
        m->adam_v = tf_alloc(m->num_params * sizeof(float), 1);
        if (!m->adam_m || !m->adam_v) {
            tf_errorf(err, TF_ENOMEM, "out of memory for AdamW state (%zu parameters)", m->num_params);
            return -1.0f;
        }
    }
    if (m->grads_zero_pending) tf_model_gradients(m);  // a zero_grad deferred (no backward since) is done now
    // the norm a bf16 backward collected on the way, else a pass over the arena
    double ss;
    float norm = model_norm_get(m, &ss) ? (float)sqrt(ss) : tf_model_grad_norm(m);
    model_norm_forget(m);
    // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1
    float scale = 1.0f;
    if (o->grad_clip > 0 && norm > o->grad_clip) scale = o->grad_clip / (norm + 1e-6f);
    m->adam_step++;
    tf_model_params_changed(m);  // the bf16 weight copy is remade before the next forward
    uint16_t *pb = model_lowp_copy(m);  // bf16: refresh the weight copy in the same pass
    // one parallel pass over the whole arena; decay on 2-D weights only
    float wd[TF_NUM_PARAM_TENSORS];
    for (int i = 0; i < TF_NUM_PARAM_TENSORS; i++) wd[i] = tf_param_decays(i) ? o->weight_decay : 0.0f;
    tf_adamw_update_segments(m->params, m->grads, m->adam_m, m->adam_v, pb, m->sizes, wd, TF_NUM_PARAM_TENSORS,
                             o->lr, o->beta1, o->beta2, o->eps, scale, m->adam_step);
    if (pb) model_lowp_copy_made(m);
    return norm;
}
