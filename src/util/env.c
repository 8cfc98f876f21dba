// env.c — the process's switches read from the environment.
#include <stdlib.h>
#include <string.h>

#include "tf_common.h"

int tf_env_flag(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}
