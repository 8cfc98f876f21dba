// test_common.c — errors, atomic file writes, the random number generator.
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "toolformer.h"

Test(common, errorf_formats_message_and_returns_code) {
    tf_error err;
    int rc = tf_errorf(&err, TF_EBADFILE, "%s: tensor '%s' bad", "f.safetensors", "wte");
    cr_assert_eq(rc, TF_EBADFILE);
    cr_assert_str_eq(err.msg, "f.safetensors: tensor 'wte' bad");
}

Test(common, atomic_write_replaces_file_and_reads_back) {
    char dir[] = "/tmp/tf_test_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    tf_path_join(path, sizeof path, dir, "a.txt");
    tf_error err;
    cr_assert_eq(tf_write_file_atomic(path, "old", 3, &err), TF_OK);
    cr_assert_eq(tf_write_file_atomic(path, "new!", 4, &err), TF_OK);
    size_t n = 0;
    char *s = tf_read_file(path, &n, &err);
    cr_assert_not_null(s);
    cr_assert_eq(n, 4);
    cr_assert_str_eq(s, "new!");
    free(s);
    unlink(path);
    rmdir(dir);
}

Test(common, read_missing_file_names_it) {
    tf_error err;
    cr_assert_null(tf_read_file("/nonexistent/x.json", NULL, &err));
    cr_assert_eq(err.code, TF_EIO);
    cr_assert(strstr(err.msg, "/nonexistent/x.json") != NULL);
}

Test(common, rng_is_seeded_and_normal_has_unit_moments) {
    tf_rng a, b;
    tf_rng_seed(&a, 42);
    tf_rng_seed(&b, 42);
    for (int i = 0; i < 10; i++) cr_assert_eq(tf_rng_u64(&a), tf_rng_u64(&b));
    double s = 0, s2 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = tf_rng_normal(&a);
        s += x;
        s2 += x * x;
    }
    cr_assert(fabs(s / n) < 0.01, "mean %f", s / n);
    cr_assert(fabs(s2 / n - 1) < 0.02, "variance %f", s2 / n);
}

Test(common, alloc_is_64_byte_aligned) {
    void *p = tf_alloc(100, 1);
    cr_assert_eq((uintptr_t)p % 64, 0);
    cr_assert_eq(((unsigned char *)p)[99], 0);
    tf_free(p);
}
