// fuzz_serve_request.c — the body of POST /v1/completions (tf_serve_request_parse: OpenAI's
// completions parameters). Property: a body is either accepted with every field in its documented
// range, or refused as bad input with a message; never a crash or a leak.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tf_serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tf_serve_request r;
    tf_error err = {0};
    // not NUL-terminated on purpose: the parser must respect the length
    int rc = tf_serve_request_parse((const char *)data, size, &r, &err);
    if (rc == TF_OK) {
        FUZZ_CHECK(r.prompt != NULL, "accepted without a prompt");
        FUZZ_CHECK(r.max_tokens >= 0 && r.max_tokens <= (1 << 20), "max_tokens %d", r.max_tokens);
        FUZZ_CHECK(r.temperature >= 0 && r.temperature <= 100, "temperature %g", r.temperature);
        FUZZ_CHECK(r.top_p > 0 && r.top_p <= 1, "top_p %g", r.top_p);
        FUZZ_CHECK(r.top_k >= 0, "top_k %d", r.top_k);
        FUZZ_CHECK(r.n_stop >= 0 && r.n_stop <= TF_SERVE_MAX_STOP, "n_stop %d", r.n_stop);
        for (int i = 0; i < r.n_stop; i++) FUZZ_CHECK(r.stop[i] && r.stop[i][0], "empty stop string %d", i);
        FUZZ_CHECK(r.n_tools >= 0 && r.n_tools <= TF_SERVE_MAX_TOOLS, "n_tools %d", r.n_tools);
        FUZZ_CHECK(r.max_calls >= -1 && r.max_calls <= 16, "max_calls %d", r.max_calls);
        FUZZ_CHECK(!r.date || strlen(r.date) == 10, "date '%s'", r.date);
    } else {
        FUZZ_CHECK((rc == TF_EBADARG || rc == TF_ENOMEM) && err.msg[0], "code %d without a message", rc);
    }
    tf_serve_request_free(&r);
    return 0;
}
