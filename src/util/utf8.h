// utf8.h — the project's one UTF-8 decoder and encoder, inline for the tokenizer's hot loop
// (internal; the public wrappers tf_utf8_seq / tf_utf8_valid are in tf_common.h).
//
// Valid UTF-8 here is RFC 3629's: no overlong forms, no surrogates (U+D800..U+DFFF), nothing
// above U+10FFFF.
#ifndef TF_UTIL_UTF8_H
#define TF_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

// Decodes the code point at s[0..n) (n >= 1): returns its byte length (1-4) with *cp set, or 0 with
// *cp = 0xFFFFFFFF when the bytes there are not one valid UTF-8 sequence.
static inline size_t tf_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) len = 2, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, v = c & 0x07, min = 0x10000;
    else goto bad;
    if (len > n) goto bad;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) goto bad;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) goto bad;
    *cp = v;
    return len;
bad:
    *cp = 0xFFFFFFFFu;
    return 0;
}

// Writes the UTF-8 of code point cp (<= U+10FFFF) to out (at most 4 bytes); returns the count.
static inline size_t tf_utf8_encode(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6), o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12), o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18), o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)), o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

#endif
