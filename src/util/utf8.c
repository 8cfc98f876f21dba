// utf8.c — UTF-8 sequences (the decoder itself is utf8.h): validity, cutting at a character boundary, and making text valid for
// JSON output.
#include <stdlib.h>
#include <string.h>

#include "tf_common.h"
#include "utf8.h"

size_t tf_utf8_seq(const char *s, size_t n) {
    uint32_t cp;
    return tf_utf8_decode((const unsigned char *)s, n, &cp);
}

int tf_utf8_valid(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        size_t k = tf_utf8_seq(s + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

size_t tf_utf8_cut(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    // Step back over at most 3 continuation bytes to the lead byte of the last character.
    size_t i = n, back = 0;
    while (i > 0 && back < 3 && (u[i - 1] & 0xC0) == 0x80) i--, back++;
    if (i == 0) return back ? 0 : n;
    unsigned c = u[i - 1];
    size_t need = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (need == 1) return n;              // ASCII or a stray continuation byte: nothing to fix
    return back + 1 >= need ? n : i - 1;  // complete last character, or cut before its lead byte
}

char *tf_utf8_sanitize(const char *s, size_t n) {
    char *out = malloc(3 * n + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n;) {
        size_t len = s[i] ? tf_utf8_seq(s + i, n - i) : 0;  // a NUL byte is replaced too
        if (len) {
            memcpy(o, s + i, len);
            o += len;
            i += len;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    *o = '\0';
    return out;
}
