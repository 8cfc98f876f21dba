// fuzz_config.c — config.json parsing (tf_config_parse: gpt2, gptj, gpt_neox keys, defaults,
// refused options) and validation. Property: an accepted config is valid, and its written form
// (tf_config_to_json) parses back to the same config.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tf_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *json = fuzz_cstr(data, size);
    tf_config cfg, back;
    tf_error err = {0};
    if (tf_config_parse(json, "config.json", &cfg, &err) == TF_OK) {
        FUZZ_CHECK(tf_config_validate(&cfg, "config", &err) == TF_OK, "%s", err.msg);
        size_t sizes[TF_NUM_PARAM_TENSORS];
        tf_param_sizes(&cfg, sizes);
        char *text = tf_config_to_json(&cfg);
        FUZZ_CHECK(text != NULL, "tf_config_to_json failed");
        int rc = tf_config_parse(text, "written config.json", &back, &err);
        FUZZ_CHECK(rc == TF_OK, "the written config does not parse: %s\n%s", err.msg, text);
        FUZZ_CHECK(memcmp(&cfg, &back, sizeof cfg) == 0, "the written config reads back differently:\n%s", text);
        free(text);
    } else {
        FUZZ_CHECK(err.code == TF_EBADFILE && err.msg[0], "code %d", err.code);
    }
    free(json);
    return 0;
}
