// pretokenize.c — GPT-2's pre-tokenizer (the regex split before BPE), UTF-8 and the byte map.
//
// GPT-2 splits text with
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// where the first alternative that matches at a position wins. Written out as a scanner:
//   - an apostrophe followed by s, t, m, d, re, ve or ll (lower case) is one piece;
//   - a letter / number / other run, optionally led by one U+0020 space, is one piece;
//   - a whitespace run reaching the end of the text is one piece; one followed by a non-space
//     gives back its last character (which then leads the next piece, or stands alone when it is
//     not a plain space followed by a letter, number or symbol).
// With split_digits, Hugging Face's Digits(individual_digits=true) pre-tokenizer runs first: each
// number symbol (\p{N}, Rust's char::is_numeric) is a piece, and the regex above runs on each
// stretch between them on its own, so a whitespace run before a digit ends its stretch (" 2023"
// is " ", "2", "0", "2", "3").
#include "tokenizer_internal.h"

// ASCII classes, from the same table (filled once by ascii_init).
static uint8_t ASCII_CLASS[128];
static pthread_once_t ascii_once = PTHREAD_ONCE_INIT;

static int table_class(uint32_t cp) {
    int lo = 0, hi = tok_unicode_nranges - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < tok_unicode_ranges[mid].lo) hi = mid - 1;
        else if (cp > tok_unicode_ranges[mid].hi) lo = mid + 1;
        else return tok_unicode_ranges[mid].cls;
    }
    return TOK_OTHER;
}

static void ascii_init(void) {
    for (uint32_t c = 0; c < 128; c++) ASCII_CLASS[c] = (uint8_t)table_class(c);
}

// One symbol at s[pos]: its class and byte length (an invalid byte is a 1-byte TOK_OTHER).
static inline int sym(const unsigned char *s, size_t n, size_t pos, int *len) {
    unsigned c = s[pos];
    if (c < 0x80) {
        *len = 1;
        return ASCII_CLASS[c];
    }
    uint32_t cp;
    int l = (int)tf_utf8_decode(s + pos, n - pos, &cp);
    *len = l ? l : 1;
    return l ? table_class(cp) : TOK_OTHER;
}

// End of the run of class cls starting at pos.
static size_t run_end(const unsigned char *s, size_t n, size_t pos, int cls) {
    while (pos < n) {
        int l, k = sym(s, n, pos, &l);
        if (k != cls) break;
        pos += (size_t)l;
    }
    return pos;
}

size_t tok_next_piece(const unsigned char *s, size_t n, size_t pos, int split_digits) {
    pthread_once(&ascii_once, ascii_init);
    unsigned c = s[pos];
    int l0, k0 = sym(s, n, pos, &l0);
    if (split_digits && k0 == TOK_NUMBER) return (size_t)l0;
    if (c == '\'' && pos + 1 < n) {
        unsigned d = s[pos + 1];
        if (d == 's' || d == 't' || d == 'm' || d == 'd') return 2;
        if (pos + 2 < n) {
            unsigned e = s[pos + 2];
            if ((d == 'r' && e == 'e') || (d == 'v' && e == 'e') || (d == 'l' && e == 'l')) return 3;
        }
    }
    if (c == ' ' && pos + 1 < n) {
        int l1, k1 = sym(s, n, pos + 1, &l1);
        if (k1 != TOK_SPACE && !(split_digits && k1 == TOK_NUMBER)) return run_end(s, n, pos + 1, k1) - pos;
    }
    if (k0 != TOK_SPACE) return run_end(s, n, pos, k0) - pos;
    // \s+(?!\S) then \s+: the whitespace run, less its last character when a non-space follows.
    size_t p = pos, last = pos;
    int count = 0, k = TOK_SPACE;
    while (p < n) {
        int l;
        k = sym(s, n, p, &l);
        if (k != TOK_SPACE) break;
        last = p;
        p += (size_t)l;
        count++;
    }
    // a digit ends the stretch: the run reaches its end, as at the end of the text
    if (p == n || (split_digits && k == TOK_NUMBER)) return p - pos;
    if (count == 1) return (size_t)l0;
    return last - pos;
}

// Printable Latin-1 bytes stand for themselves; the other 68 bytes (controls, space, DEL, NBSP,
// soft hyphen, ...) are written as U+0100 + their order among them.
static int keeps_itself(int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; }

uint32_t tok_byte_char(int b) {
    if (keeps_itself(b)) return (uint32_t)b;
    int k = 0;
    for (int i = 0; i < b; i++) k += !keeps_itself(i);
    return 0x100 + (uint32_t)k;
}

int tok_char_byte(uint32_t cp) {
    if (cp < 0x100) return keeps_itself((int)cp) ? (int)cp : -1;
    if (cp >= 0x100 + 68) return -1;
    int k = (int)(cp - 0x100);
    for (int b = 0; b < 256; b++)
        if (!keeps_itself(b) && k-- == 0) return b;
    return -1;
}

size_t tok_unmap_string(const char *s, size_t len, char *out) {
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int l = (int)tf_utf8_decode(u + i, len - i, &cp);
        int b = l ? tok_char_byte(cp) : -1;
        if (b >= 0) {
            out[o++] = (char)b;
            i += (size_t)l;
        } else {
            size_t k = l ? (size_t)l : 1;
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        }
    }
    return o;
}
