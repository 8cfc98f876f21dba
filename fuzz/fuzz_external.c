// fuzz_external.c — the external-tool reply reader: the line framing over the pipe (a reply cut
// into several lines, stray bytes left from an earlier call, a program that dies), the JSON reply
// {"result": TEXT} / {"error": TEXT}, and tf_tool_execute's cleaning of the result. The tool's
// program is this binary started with --tf-echo-child: for each request it writes the bytes of
// the request's input (hex-encoded by the target) back raw, then a newline, so the fuzz input IS
// the program's reply. An input starting with "\x00DIE" makes the program exit instead.
// Properties: every call returns a result or no result (never another code, never a hang); a
// result is one line of valid UTF-8 without brackets.
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tf_tools.h"

static int hexval(int c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// The echo program: requests on stdin, raw replies on stdout.
static void echo_child(void) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        cJSON *req = cJSON_Parse(line);
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(req, "input");
        const char *hex = cJSON_IsString(in) ? in->valuestring : "";
        size_t len = strlen(hex) / 2;
        unsigned char *raw = malloc(len + 1);
        for (size_t i = 0; i < len; i++)
            raw[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
        if (len >= 4 && !memcmp(raw, "\0DIE", 4)) _exit(0);
        fwrite(raw, 1, len, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        free(raw);
        cJSON_Delete(req);
    }
    _exit(0);
}

static char self[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    if (*argc >= 2 && !strcmp((*argv)[1], "--tf-echo-child")) echo_child();
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) abort();
    self[n] = '\0';
    return 0;
}

static tf_tool *tool;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tf_error err = {0};
    if (!tool) {
        char spec[4200];
        snprintf(spec, sizeof spec, "Echo=%s --tf-echo-child", self);
        tf_tool_options opt = {.timeout_ms = 2000};
        tool = tf_tool_create_external(spec, &opt, &err);
        FUZZ_CHECK(tool, "%s", err.msg);
    }
    if (size > 16384) return 0;
    char *hex = malloc(2 * size + 1);
    for (size_t i = 0; i < size; i++) {
        hex[2 * i] = "0123456789abcdef"[data[i] >> 4];
        hex[2 * i + 1] = "0123456789abcdef"[data[i] & 15];
    }
    hex[2 * size] = '\0';
    char out[TF_TOOL_RESULT_CAP];
    int rc = tf_tool_execute(tool, hex, NULL, out, sizeof out, &err);
    FUZZ_CHECK(rc == TF_OK || rc == TF_ETOOL, "rc %d: %s", rc, err.msg);
    if (rc == TF_OK)
        FUZZ_CHECK(out[0] && tf_utf8_valid(out, strlen(out)) && !strpbrk(out, "[]\n\r\t"), "result '%s'", out);
    else
        FUZZ_CHECK(out[0] == '\0' && err.msg[0], "no result but '%s' / no reason", out);
    free(hex);
    return 0;
}
