// result_text.c — one-line, bracket-free, budget-cut tool results (see result_text.h).
#include "result_text.h"

size_t result_clean(char *out, size_t cap, const char *in, size_t len, size_t budget) {
    if (cap == 0) return 0;
    if (budget > cap - 1) budget = cap - 1;
    size_t o = 0;
    int pending_space = 0, truncated = 0, at_word_end = 0;
    unsigned char next = 0;  // first byte that did not fit
    for (size_t i = 0; i < len && in[i]; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c <= ' ' || c == 0x7f) {
            pending_space = o > 0;
            continue;
        }
        if (pending_space) {
            if (o + 1 > budget) { truncated = at_word_end = 1; break; }
            out[o++] = ' ';
            pending_space = 0;
        }
        if (o + 1 > budget) { truncated = 1; next = c; break; }
        out[o++] = c == '[' ? '(' : c == ']' ? ')' : (char)c;
    }
    if (truncated && !at_word_end) {
        // Never end inside a UTF-8 character: if the byte that did not fit continues one, drop the
        // bytes of that character already written.
        if ((next & 0xC0) == 0x80) {
            while (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0x80) o--;
            if (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0xC0) o--;
        }
        // Prefer a word boundary when it keeps at least half the budget.
        size_t sp = o;
        while (sp > 0 && out[sp - 1] != ' ') sp--;
        if (sp > 0 && sp - 1 >= budget / 2) o = sp - 1;
    }
    while (o > 0 && out[o - 1] == ' ') o--;
    out[o] = '\0';
    return o;
}
