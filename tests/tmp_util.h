// tmp_util.h — a test's scratch directory under /tmp: made fresh with a unique name, removed whole.
#ifndef TF_TEST_TMP_UTIL_H
#define TF_TEST_TMP_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

// buf[n] = a new directory /tmp/tf_TAG_XXXXXX (the test fails when it cannot be made).
static inline void tmp_dir_make(char *buf, size_t n, const char *tag) {
    snprintf(buf, n, "/tmp/tf_%s_XXXXXX", tag);
    cr_assert_not_null(mkdtemp(buf), "mkdtemp %s", buf);
}

// Removes d and everything under it.
static inline void rm_rf_dir(const char *d) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    cr_assert_eq(system(cmd), 0);
}

#endif
