// error.c — the library's single error type.
#include <assert.h>
#include "tf_common.h"

#include <stdarg.h>
#include <string.h>

int tf_errorf(tf_error *err, int code, const char *fmt, ...) {
    assert(err != NULL && "err must be non-NULL (tf_common.h)");
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void tf_error_clear(tf_error *err) {
    assert(err != NULL && "err must be non-NULL (tf_common.h)");
    err->code = TF_OK;
    err->msg[0] = '\0';
}
