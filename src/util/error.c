// error.c — the library's single error type.
#include "tf_common.h"

#include <stdarg.h>
#include <string.h>

int tf_errorf(tf_error *err, int code, const char *fmt, ...) {
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void tf_error_clear(tf_error *err) {
    if (!err) return;
    err->code = TF_OK;
    err->msg[0] = '\0';
}
