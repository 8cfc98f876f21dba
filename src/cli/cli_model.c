// cli_model.c — loading a model for inference with the shared --dtype / --mmap / --mmap-copy / --adapter
// options.
#include <string.h>

#include "cli.h"
#include "tf_safetensors.h"

int cli_model_option(cli_model_opts *o, int c, const char *arg, const char *cmd) {
    if (c == CLI_OPT_DTYPE) {
        if (tf_dtype_parse(arg, &o->dtype)) {
            cli_usage_error(cmd, "--dtype wants fp32 or bf16");
            return -1;
        }
        return 1;
    }
    if (c == CLI_OPT_MMAP || c == CLI_OPT_MMAP_COPY) {
        o->mapped = c == CLI_OPT_MMAP_COPY ? 2 : 1;
        return 1;
    }
    if (c == CLI_OPT_ADAPTER) {
        o->adapter = arg;
        return 1;
    }
    return 0;
}

void cli_mapped_residency(int mapped) { tf_st_set_residency(mapped == 2 ? TF_ST_COPY : TF_ST_MAP); }

tf_model *cli_load_model(const char *dir, const cli_model_opts *o, tf_error *err) {
    cli_mapped_residency(o->mapped);
    tf_model *m = o->mapped ? tf_model_load_mapped(dir, err) : tf_model_load(dir, err);
    if (m && ((!o->mapped && tf_model_set_dtype(m, o->dtype, err)) || (o->adapter && tf_lora_load(m, o->adapter, err)))) {
        tf_model_free(m);
        return NULL;
    }
    if (m) tf_lora_set_training(m, 0);  // inference: PEFT's eval mode
    return m;
}
