// fuzz_call.c — the inline call parser (tf_call_parse, tf_call_parse_open) over any bytes, and the
// writer (tf_call_format). Properties (tf_tools.h): a parsed call's span is '[' .. ']' inside the
// text, its name is a Name, its input and result are valid UTF-8; formatting a parsed call and
// parsing that again gives back exactly the same name, input and result.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tf_tools.h"

static void check_round_trip(const tf_call *c) {
    char *text = tf_call_format(c->name, c->input, c->result);
    if (!text) {
        // tf_call_format refuses a result holding ']' (the parser never returns one) and bad UTF-8
        FUZZ_CHECK(0, "tf_call_format refused name '%s' input '%s' result '%s'", c->name, c->input,
                   c->result ? c->result : "(none)");
    }
    tf_call back;
    tf_error err = {0};
    int rc = tf_call_parse(text, strlen(text), &back, &err);
    FUZZ_CHECK(rc == TF_OK, "formatted call '%s' does not parse: %s", text, err.msg);
    FUZZ_CHECK(!strcmp(back.name, c->name), "name '%s' came back as '%s'", c->name, back.name);
    FUZZ_CHECK(!strcmp(back.input, c->input), "input '%s' came back as '%s' (from %s)", c->input, back.input, text);
    FUZZ_CHECK((!back.result && !c->result) || (back.result && c->result && !strcmp(back.result, c->result)),
               "result came back differently from %s", text);
    FUZZ_CHECK(back.end == strlen(text), "span of %s", text);
    tf_call_free(&back);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // exactly size bytes, not NUL-terminated, so ASan sees any read past len
    char *text = malloc(size ? size : 1);
    if (!text) return 0;
    memcpy(text, data, size);
    tf_call c;
    tf_error err = {0};
    // every '[' is a place where a call may start, as when a document is scanned
    for (size_t at = 0; at < size; at++) {
        if (text[at] != '[') continue;
        int rc = tf_call_parse(text + at, size - at, &c, &err);
        if (rc == TF_OK) {
            FUZZ_CHECK(c.start == 0 && c.end >= 4 && c.end <= size - at && text[at + c.end - 1] == ']',
                       "span %zu..%zu", c.start, c.end);
            FUZZ_CHECK(c.input && tf_utf8_valid(c.input, strlen(c.input)), "input not UTF-8");
            FUZZ_CHECK(!c.result || tf_utf8_valid(c.result, strlen(c.result)), "result not UTF-8");
            FUZZ_CHECK(!c.result || !strchr(c.result, ']'), "result holds ']'");
            check_round_trip(&c);
            tf_call_free(&c);
        } else {
            FUZZ_CHECK(rc == TF_EBADFILE && c.input == NULL && c.result == NULL, "rc %d", rc);
        }
        rc = tf_call_parse_open(text + at, size - at, &c, &err);
        if (rc == TF_OK) {
            FUZZ_CHECK(c.result == NULL && c.end == size - at, "open call: result or span");
            check_round_trip(&c);
            tf_call_free(&c);
        }
        if (at > 64) break;  // the first few starts are enough; later ones repeat the same work
    }
    free(text);
    return 0;
}
