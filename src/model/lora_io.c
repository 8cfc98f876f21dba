// lora_io.c — the engine's adapters (tf_lora.h) to and from tf_adapter (tf_adapter.h: PEFT's format,
// its module table and target matching): A and B are copied across; the engine permutes B's rows
// where its order differs from Hugging Face's (NeoX's fused query_key_value).
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "tf_adapter.h"
#include "tf_lora.h"

// Attaches a's sites to m with a's weights; seed: the dropout masks.
static int attach(tf_model *m, const tf_adapter *a, uint64_t seed, tf_error *err) {
    const tf_config *c = &m->cfg;
    if (m->lora) return tf_errorf(err, TF_EBADARG, "lora: the model already has adapters");
    if (a->cfg.arch != c->arch || a->cfg.n_layer != c->n_layer || a->cfg.n_embd != c->n_embd ||
        a->cfg.n_inner != c->n_inner || a->cfg.n_head != c->n_head)
        return tf_errorf(err, TF_EBADARG, "lora: the adapter was made for another base (its shapes differ)");
    int nmods = 0;
    const tf_lora_module *mods = tf_lora_modules(c->arch, &nmods);
    unsigned char *sel = calloc((size_t)c->n_layer * (size_t)nmods, 1);
    if (!sel) return tf_errorf(err, TF_ENOMEM, "lora: out of memory");
    for (int i = 0; i < a->n_sites; i++) sel[(size_t)a->sites[i].layer * nmods + (size_t)(a->sites[i].mod - mods)] = 1;
    int rc = model_lora_create(m, a->r, a->alpha, a->scaling, a->dropout, seed, sel, err);
    free(sel);
    for (int i = 0; i < a->n_sites && !rc; i++) {
        const tf_lora_site *s = &a->sites[i];
        tf_lora_write(m, model_lora_site(m, s->layer, (int)(s->mod - mods)), s->A, s->B);
    }
    if (rc) return rc;
    // target_modules, kept for saving as a list (one regular expression stays one string)
    size_t n = 1;
    for (int i = 0; i < a->n_targets; i++) n += strlen(a->targets[i]) + 1;
    char *t = calloc(n, 1);
    if (!t) return tf_errorf(err, TF_ENOMEM, "lora: out of memory");
    for (int i = 0; i < a->n_targets; i++) {
        if (i) strcat(t, ",");
        strcat(t, a->targets[i]);
    }
    rc = model_lora_set_names(m, a->base_model, t, err);
    free(t);
    return rc;
}

int tf_lora_attach(tf_model *m, const tf_lora_options *o, tf_error *err) {
    if (m->lora) return tf_errorf(err, TF_EBADARG, "lora: the model already has adapters");
    if (o->r <= 0) return tf_errorf(err, TF_EBADARG, "lora: the rank must be positive (got %d)", o->r);
    // tf_adapter decides the sites (PEFT's target matching) and gives PEFT's initialisation
    tf_adapter *a = tf_adapter_new(&m->cfg, o->r, o->alpha, o->targets ? o->targets : "", o->dropout, err);
    if (!a) return err->code;
    tf_adapter_init(a, o->seed);
    int rc = attach(m, a, o->seed, err);
    if (!rc && o->base_model) rc = model_lora_set_names(m, o->base_model, NULL, err);
    tf_adapter_free(a);
    return rc;
}

int tf_lora_attach_adapter(tf_model *m, const tf_adapter *a, tf_error *err) { return attach(m, a, 1, err); }

int tf_lora_load(tf_model *m, const char *dir, tf_error *err) {
    tf_adapter *a = tf_adapter_load(dir, &m->cfg, err);
    if (!a) return err->code;
    int rc = tf_lora_attach_adapter(m, a, err);
    tf_adapter_free(a);
    return rc;
}

int tf_lora_save(const tf_model *m, const char *dir, tf_error *err) {
    if (!tf_lora_attached(m)) return tf_errorf(err, TF_EBADARG, "%s: the model has no adapters to save", dir);
    const char *targets = model_lora_targets(m);
    tf_adapter *a = tf_adapter_new(&m->cfg, tf_lora_rank(m), tf_lora_alpha(m), targets ? targets : "",
                                   tf_lora_dropout(m), err);
    if (!a) return err->code;
    int rc = model_lora_base(m) ? tf_adapter_set_base_model(a, model_lora_base(m), err) : TF_OK;
    int nmods = 0;
    const tf_lora_module *mods = tf_lora_modules(m->cfg.arch, &nmods);
    if (!rc && a->n_sites != tf_lora_count(m))
        rc = tf_errorf(err, TF_EBADARG, "%s: the adapters' sites are not those of target_modules '%s'", dir, targets);
    for (int i = 0; i < a->n_sites && !rc; i++) {
        tf_lora_site *s = &a->sites[i];
        int k = model_lora_site(m, s->layer, (int)(s->mod - mods));
        if (k < 0)
            rc = tf_errorf(err, TF_EBADARG, "%s: layer %d module %s is not adapted", dir, s->layer, s->mod->name);
        else
            tf_lora_read(m, k, s->A, s->B);
    }
    if (!rc) rc = tf_adapter_save(a, dir, err);
    tf_adapter_free(a);
    return rc;
}
