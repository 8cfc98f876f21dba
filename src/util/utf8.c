// utf8.c — UTF-8 sequences: validity, cutting at a character boundary, and making text valid for
// JSON output.
#include <stdlib.h>
#include <string.h>

#include "tf_common.h"

size_t tf_utf8_seq(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;       // no overlongs
        if (c == 0xED) hi = 0x9F;       // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;       // no overlongs
        if (c == 0xF4) hi = 0x8F;       // <= U+10FFFF
    } else return 0;
    if (n < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return len;
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
