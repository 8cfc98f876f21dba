// test_safetensors.c — the safetensors reader/writer: round trips, exact F16/BF16 conversion, and
// one test per kind of malformed file (each must name the file and, where there is one, the tensor).
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tf_safetensors.h"
#include "tf_common.h"

static char dir[64];
static char path[128];

static void setup(void) {
    strcpy(dir, "/tmp/tf_st_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.safetensors", dir);
}

static void teardown(void) {
    unlink(path);
    rmdir(dir);
}

// Writes an 8-byte length, the given header text verbatim, then nbytes of data (0x00).
static void write_raw(const char *header, uint64_t claimed_len, size_t nbytes) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(claimed_len >> (8 * i));
    fwrite(len8, 1, 8, f);
    fwrite(header, 1, strlen(header), f);
    for (size_t i = 0; i < nbytes; i++) fputc(0, f);
    fclose(f);
}

static void write_header(const char *header, size_t nbytes) { write_raw(header, strlen(header), nbytes); }

// Opening must fail with TF_EBADFILE and a message naming the file and every given word.
static void expect_bad(const char *word1, const char *word2) {
    tf_error err;
    tf_error_clear(&err);
    tf_st_file *f = tf_st_open(path, &err);
    cr_assert_null(f, "opened a malformed file");
    cr_assert_eq(err.code, TF_EBADFILE, "code %d: %s", err.code, err.msg);
    cr_assert(strstr(err.msg, path) != NULL, "message does not name the file: %s", err.msg);
    if (word1) cr_assert(strstr(err.msg, word1) != NULL, "message lacks '%s': %s", word1, err.msg);
    if (word2) cr_assert(strstr(err.msg, word2) != NULL, "message lacks '%s': %s", word2, err.msg);
}

TestSuite(safetensors, .init = setup, .fini = teardown);

Test(safetensors, write_then_open_round_trips_names_shapes_and_bytes) {
    float a[6] = {1, -2, 3.5f, 0, 1e-20f, -7};
    uint16_t h[3] = {0x3c00, 0xc000, 0x7bff};
    int32_t ids[2] = {7, -1};
    float scalar = 4.25f;
    tf_st_entry e[4] = {
        {.name = "w.a", .dtype = TF_ST_F32, .ndim = 2, .shape = {2, 3}, .data = a},
        {.name = "half", .dtype = TF_ST_F16, .ndim = 1, .shape = {3}, .data = h},
        {.name = "ids", .dtype = TF_ST_I32, .ndim = 1, .shape = {2}, .data = ids},
        {.name = "loss", .dtype = TF_ST_F32, .ndim = 0, .data = &scalar},
    };
    tf_error err;
    cr_assert_eq(tf_st_write(path, e, 4, &err), TF_OK, "%s", err.msg);
    tf_st_file *f = tf_st_open(path, &err);
    cr_assert_not_null(f, "%s", err.msg);
    cr_assert_eq(tf_st_count(f), 4);
    cr_assert_str_eq(tf_st_metadata(f, "format"), "pt");
    const tf_st_tensor *t = tf_st_find(f, "w.a");
    cr_assert_not_null(t);
    cr_assert_eq(t->dtype, TF_ST_F32);
    cr_assert_eq(t->ndim, 2);
    cr_assert_eq(t->shape[0], 2);
    cr_assert_eq(t->shape[1], 3);
    cr_assert_eq(memcmp(t->data, a, sizeof a), 0);
    float out[6];
    cr_assert_eq(tf_st_to_f32(f, t, out, &err), TF_OK);
    cr_assert_eq(memcmp(out, a, sizeof a), 0);
    t = tf_st_find(f, "half");
    cr_assert_eq(tf_st_to_f32(f, t, out, &err), TF_OK);
    cr_assert_eq(out[0], 1.0f);
    cr_assert_eq(out[1], -2.0f);
    cr_assert_eq(out[2], 65504.0f);
    t = tf_st_find(f, "loss");
    cr_assert_eq(t->ndim, 0);
    cr_assert_eq(t->numel, 1);
    cr_assert_eq(tf_st_to_f32(f, t, out, &err), TF_OK);
    cr_assert_eq(out[0], 4.25f);
    t = tf_st_find(f, "ids");
    cr_assert_eq(memcmp(t->data, ids, sizeof ids), 0);
    cr_assert_null(tf_st_find(f, "nope"));
    tf_st_close(f);
}

Test(safetensors, header_is_padded_to_eight_bytes_with_spaces) {
    float a = 1;
    tf_st_entry e = {.name = "x", .dtype = TF_ST_F32, .ndim = 1, .shape = {1}, .data = &a};
    tf_error err;
    cr_assert_eq(tf_st_write(path, &e, 1, &err), TF_OK, "%s", err.msg);
    FILE *fp = fopen(path, "rb");
    unsigned char buf[512];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | buf[i];
    cr_assert_eq(hlen % 8, 0, "header length %llu", (unsigned long long)hlen);
    cr_assert_eq(n, 8 + hlen + 4);
    cr_assert_eq(buf[8], '{');
    size_t last = 8 + hlen - 1;
    while (buf[last] == ' ') last--;
    cr_assert_eq(buf[last], '}');
    cr_assert(memmem(buf + 8, hlen, "\"__metadata__\":{\"format\":\"pt\"}", 30) != NULL);
}

static void fill_iota(const void *ctx, void *out) {
    int n = *(const int *)ctx;
    for (int i = 0; i < n; i++) ((float *)out)[i] = (float)i;
}

Test(safetensors, fill_callback_produces_the_data) {
    int n = 5;
    tf_st_entry e = {.name = "seq", .dtype = TF_ST_F32, .ndim = 1, .shape = {5}, .fill = fill_iota,
                     .ctx = &n};
    tf_error err;
    cr_assert_eq(tf_st_write(path, &e, 1, &err), TF_OK, "%s", err.msg);
    tf_st_file *f = tf_st_open(path, &err);
    cr_assert_not_null(f, "%s", err.msg);
    float out[5];
    cr_assert_eq(tf_st_to_f32(f, tf_st_find(f, "seq"), out, &err), TF_OK);
    for (int i = 0; i < 5; i++) cr_assert_eq(out[i], (float)i);
    tf_st_close(f);
}

Test(safetensors, f16_widening_is_exact_including_subnormals_and_specials) {
    cr_assert_eq(tf_f16_to_f32(0x0001), ldexpf(1, -24));       // smallest subnormal
    cr_assert_eq(tf_f16_to_f32(0x03ff), ldexpf(1023, -24));    // largest subnormal
    cr_assert_eq(tf_f16_to_f32(0x0400), ldexpf(1, -14));       // smallest normal
    cr_assert_eq(tf_f16_to_f32(0x3555), (1.0f + 0x155 / 1024.0f) * 0.25f);
    cr_assert_eq(tf_f16_to_f32(0x8000), -0.0f);
    cr_assert(signbit(tf_f16_to_f32(0x8000)));
    cr_assert(isinf(tf_f16_to_f32(0x7c00)) && tf_f16_to_f32(0x7c00) > 0);
    cr_assert(isinf(tf_f16_to_f32(0xfc00)) && tf_f16_to_f32(0xfc00) < 0);
    cr_assert(isnan(tf_f16_to_f32(0x7e00)));
    // every finite half converts to the value its fields define
    for (uint32_t h = 0; h < 0x10000; h++) {
        uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
        if (e == 0x1f) continue;
        float want = e ? ldexpf((float)(m | 0x400), (int)e - 25) : ldexpf((float)m, -24);
        if (h & 0x8000) want = -want;
        cr_assert_eq(tf_f16_to_f32((uint16_t)h), want, "half 0x%04x", h);
    }
}

Test(safetensors, narrowing_rounds_to_nearest_even_and_round_trips) {
    for (uint32_t h = 0; h < 0x10000; h++) {
        if (((h >> 10) & 0x1f) == 0x1f && (h & 0x3ff)) continue;  // NaN payloads
        cr_assert_eq(tf_f32_to_f16(tf_f16_to_f32((uint16_t)h)), h, "half 0x%04x", h);
        if (((h >> 7) & 0xff) == 0xff && (h & 0x7f)) continue;
        cr_assert_eq(tf_f32_to_bf16(tf_bf16_to_f32((uint16_t)h)), h, "bf16 0x%04x", h);
    }
    cr_assert_eq(tf_f32_to_f16(1.0f + ldexpf(1, -11)), 0x3c00);                  // tie -> even
    cr_assert_eq(tf_f32_to_f16(1.0f + 3 * ldexpf(1, -11)), 0x3c02);              // tie -> even (up)
    cr_assert_eq(tf_f32_to_f16(1.0f + ldexpf(1, -11) + ldexpf(1, -20)), 0x3c01); // above tie
    cr_assert_eq(tf_f32_to_f16(65520.0f), 0x7c00);                                // overflow
    cr_assert_eq(tf_f32_to_f16(65519.0f), 0x7bff);
    cr_assert_eq(tf_f32_to_f16(ldexpf(1, -25)), 0x0000);                          // tie -> 0
    cr_assert_eq(tf_f32_to_f16(ldexpf(3, -26)), 0x0001);
    cr_assert_eq(tf_f32_to_bf16(1.0f + ldexpf(1, -8)), 0x3f80);                  // tie -> even
    cr_assert_eq(tf_f32_to_bf16(1.0f + 3 * ldexpf(1, -8)), 0x3f82);
    cr_assert(isnan(tf_bf16_to_f32(tf_f32_to_bf16(NAN))));
    cr_assert(isnan(tf_f16_to_f32(tf_f32_to_f16(NAN))));
}

Test(safetensors, bf16_and_f64_tensors_convert) {
    uint16_t b[3] = {0x3f80, 0xc040, 0x0001};
    double d[2] = {0.1, -3.0};
    tf_st_entry e[2] = {
        {.name = "b", .dtype = TF_ST_BF16, .ndim = 1, .shape = {3}, .data = b},
        {.name = "d", .dtype = TF_ST_F64, .ndim = 1, .shape = {2}, .data = d},
    };
    tf_error err;
    cr_assert_eq(tf_st_write(path, e, 2, &err), TF_OK, "%s", err.msg);
    tf_st_file *f = tf_st_open(path, &err);
    cr_assert_not_null(f, "%s", err.msg);
    float out[3];
    cr_assert_eq(tf_st_to_f32(f, tf_st_find(f, "b"), out, &err), TF_OK);
    cr_assert_eq(out[0], 1.0f);
    cr_assert_eq(out[1], -3.0f);
    cr_assert_eq(out[2], ldexpf(1, -133));
    cr_assert_eq(tf_st_to_f32(f, tf_st_find(f, "d"), out, &err), TF_OK);
    cr_assert_eq(out[0], 0.1f);
    cr_assert_eq(out[1], -3.0f);
    tf_st_close(f);
}

Test(safetensors, large_f16_and_bf16_tensors_convert_in_parallel_exactly) {
    enum { N = 300000 };  // above the size where conversion goes parallel
    uint16_t *h = malloc(N * sizeof *h), *b = malloc(N * sizeof *b);
    for (int i = 0; i < N; i++) {
        h[i] = (uint16_t)(i * 7919u) & 0x7bff;  // finite halves
        b[i] = (uint16_t)(i * 104729u) & 0x7f7f; // finite bf16
    }
    tf_st_entry e[2] = {{.name = "h", .dtype = TF_ST_F16, .ndim = 1, .shape = {N}, .data = h},
                        {.name = "b", .dtype = TF_ST_BF16, .ndim = 1, .shape = {N}, .data = b}};
    tf_error err;
    cr_assert_eq(tf_st_write(path, e, 2, &err), TF_OK, "%s", err.msg);
    tf_st_file *f = tf_st_open(path, &err);
    cr_assert_not_null(f, "%s", err.msg);
    float *out = malloc(N * sizeof *out);
    cr_assert_eq(tf_st_to_f32(f, tf_st_find(f, "h"), out, &err), TF_OK);
    for (int i = 0; i < N; i++) cr_assert_eq(out[i], tf_f16_to_f32(h[i]), "f16 element %d", i);
    cr_assert_eq(tf_st_to_f32(f, tf_st_find(f, "b"), out, &err), TF_OK);
    for (int i = 0; i < N; i++) {
        uint32_t u = (uint32_t)b[i] << 16;
        float want;
        memcpy(&want, &u, 4);
        cr_assert_eq(out[i], want, "bf16 element %d", i);
    }
    free(out);
    free(h);
    free(b);
    tf_st_close(f);
}

Test(safetensors, integer_tensor_is_listed_but_refuses_conversion) {
    int32_t ids[2] = {1, 2};
    tf_st_entry e = {.name = "ids", .dtype = TF_ST_I32, .ndim = 1, .shape = {2}, .data = ids};
    tf_error err;
    cr_assert_eq(tf_st_write(path, &e, 1, &err), TF_OK);
    tf_st_file *f = tf_st_open(path, &err);
    cr_assert_not_null(f, "%s", err.msg);
    float out[2];
    cr_assert_eq(tf_st_to_f32(f, tf_st_find(f, "ids"), out, &err), TF_EBADFILE);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, "'ids'") && strstr(err.msg, "I32"), "%s", err.msg);
    tf_st_close(f);
}

Test(safetensors, writer_rejects_duplicate_names) {
    float a = 1;
    tf_st_entry e[2] = {{.name = "x", .dtype = TF_ST_F32, .ndim = 1, .shape = {1}, .data = &a},
                        {.name = "x", .dtype = TF_ST_F32, .ndim = 1, .shape = {1}, .data = &a}};
    tf_error err;
    cr_assert_eq(tf_st_write(path, e, 2, &err), TF_EBADARG);
    cr_assert(strstr(err.msg, "'x'") != NULL, "%s", err.msg);
    cr_assert_neq(access(path, F_OK), 0, "a file was left behind");
}

Test(safetensors, missing_file_is_an_io_error_naming_it) {
    tf_error err;
    cr_assert_null(tf_st_open("/nonexistent/m.safetensors", &err));
    cr_assert_eq(err.code, TF_EIO);
    cr_assert(strstr(err.msg, "/nonexistent/m.safetensors") != NULL);
}

// ---- malformed files ---------------------------------------------------------------------------
Test(safetensors, rejects_file_shorter_than_length_prefix) {
    FILE *f = fopen(path, "wb");
    fwrite("\x10\x00\x00", 1, 3, f);
    fclose(f);
    expect_bad("truncated", NULL);
}

Test(safetensors, rejects_truncated_data) {
    // a valid header for 4 floats, but only 8 bytes of data follow
    write_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
    expect_bad("'w'", "past");
}

Test(safetensors, rejects_header_length_past_end_of_file) {
    write_raw("{}      ", 1000, 0);
    expect_bad("header length 1000", NULL);
}

Test(safetensors, rejects_offsets_past_end_of_data) {
    write_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[40,48]}}",
                 16);
    expect_bad("'b'", "past");
}

Test(safetensors, rejects_overlapping_tensors) {
    write_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                 16);
    expect_bad("overlaps", "'a'");
}

Test(safetensors, rejects_unknown_dtype) {
    write_header("{\"w\":{\"dtype\":\"Q4_K\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    expect_bad("'w'", "Q4_K");
}

Test(safetensors, rejects_byte_length_that_disagrees_with_shape) {
    write_header("{\"w\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8);
    expect_bad("'w'", "needs 6");
}

Test(safetensors, rejects_negative_shape) {
    write_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,0]}}", 0);
    expect_bad("'w'", "shape");
}

Test(safetensors, rejects_shape_whose_size_overflows) {
    write_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0);
    expect_bad("'w'", "too large");
}

Test(safetensors, rejects_duplicate_tensor_names) {
    write_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                 "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                 8);
    expect_bad("'w'", "twice");
}

Test(safetensors, rejects_header_that_is_not_json) {
    write_header("{\"w\": [1, 2,", 8);
    expect_bad("JSON", NULL);
}

Test(safetensors, rejects_offsets_that_end_before_they_begin) {
    write_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8);
    expect_bad("'w'", "data_offsets");
}

// Random corruptions of a valid file (header bytes flipped, the file cut short) must each give
// either a clean open or one error naming the file; never a crash or an out-of-bounds read
// (the ASan build runs this too).
Test(safetensors, corrupted_files_never_crash) {
    float a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint16_t h[4] = {1, 2, 3, 4};
    tf_st_entry e[3] = {{.name = "a", .dtype = TF_ST_F32, .ndim = 2, .shape = {2, 4}, .data = a},
                        {.name = "h", .dtype = TF_ST_F16, .ndim = 1, .shape = {4}, .data = h},
                        {.name = "s", .dtype = TF_ST_F32, .ndim = 0, .data = a}};
    tf_error err;
    cr_assert_eq(tf_st_write(path, e, 3, &err), TF_OK, "%s", err.msg);
    size_t n;
    char *orig = tf_read_file(path, &n, &err);
    cr_assert_not_null(orig);
    char *buf = malloc(n);
    tf_rng r;
    tf_rng_seed(&r, 11);
    const char alphabet[] = "0123456789[]{},:\" -e.FBI";
    int opened = 0, refused = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, orig, n);
        size_t len = n;
        int kind = (int)(tf_rng_u64(&r) % 3);
        if (kind == 0) {
            len = (size_t)(tf_rng_u64(&r) % n);  // truncated
        } else {
            int flips = 1 + (int)(tf_rng_u64(&r) % 3);
            for (int k = 0; k < flips; k++) {
                size_t at = (size_t)(tf_rng_u64(&r) % (kind == 1 ? 8 + 120 : n));
                buf[at] = alphabet[tf_rng_u64(&r) % (sizeof alphabet - 1)];
            }
        }
        unlink(path);  // a new file, not a truncation (ext4 flushes truncate-and-rewrite)
        FILE *fp = fopen(path, "wb");
        cr_assert_not_null(fp);
        cr_assert_eq(fwrite(buf, 1, len, fp), len);
        fclose(fp);
        tf_error_clear(&err);
        tf_st_file *f = tf_st_open(path, &err);
        if (!f) {
            cr_assert(err.code == TF_EBADFILE && strstr(err.msg, path), "iteration %d: %d %s", iter,
                      err.code, err.msg);
            refused++;
            continue;
        }
        opened++;
        for (int i = 0; i < tf_st_count(f); i++) {
            const tf_st_tensor *t = tf_st_at(f, i);
            float *out = malloc(t->numel * sizeof(float) + 1);
            int rc = tf_st_to_f32(f, t, out, &err);
            cr_assert(rc == TF_OK || rc == TF_EBADFILE);
            free(out);
        }
        tf_st_close(f);
    }
    cr_assert_gt(refused, 0);
    cr_assert_gt(opened, 0);
    free(buf);
    free(orig);
}

Test(safetensors, open_memory_reads_a_buffer_like_the_file_and_names_it_in_errors) {
    float v[3] = {1.5f, -2.0f, 0.25f};
    tf_st_entry e = {.name = "v", .dtype = TF_ST_F32, .ndim = 1, .shape = {3}, .data = v};
    tf_error err;
    cr_assert_eq(tf_st_write(path, &e, 1, &err), TF_OK, "%s", err.msg);
    size_t len;
    char *bytes = tf_read_file(path, &len, &err);
    cr_assert_not_null(bytes);
    tf_st_file *f = tf_st_open_memory(bytes, len, "mem.safetensors", &err);
    cr_assert_not_null(f, "%s", err.msg);
    cr_assert_str_eq(tf_st_path(f), "mem.safetensors");
    const tf_st_tensor *t = tf_st_find(f, "v");
    cr_assert_not_null(t);
    float out[3];
    cr_assert_eq(tf_st_to_f32(f, t, out, &err), TF_OK);
    cr_assert(memcmp(out, v, sizeof v) == 0);
    tf_st_close(f);
    cr_assert_null(tf_st_open_memory(bytes, len - 4, "mem.safetensors", &err));  // data cut short
    cr_assert_eq(err.code, TF_EBADFILE);
    cr_assert(strstr(err.msg, "mem.safetensors") && strstr(err.msg, "'v'"), "%s", err.msg);
    cr_assert_null(tf_st_open_memory(bytes, 5, NULL, &err));
    cr_assert(strstr(err.msg, "<memory>: truncated"), "%s", err.msg);
    free(bytes);
}
