// bench_search.c — passage index and search tools: index build throughput, WikiSearch and QA query
// latency on a synthetic corpus, and MT (textcat + an Apertium process per call) latency.
//
// usage: build/bench/bench_search [--passages N] [--queries Q] [--mt-calls M] [--keep DIR]
//   The corpus: N passages (default 50,000) of 40-120 words drawn from a Zipf(1.0) distribution
//   over 30,000 pseudo-words (seeded, so every run indexes the same text), titles of 2-3 words.
//   Words of frequency rank 100..1999 are capitalised (the corpus' "names"). Queries are 3 content
//   words (rank >= 100, as if stopwords were gone) taken from a passage, so one always matches;
//   then the same with the 3 most frequent words added (the slow case: an OR query scores every
//   passage that has any of its words, ~5 us each); QA gets the 3 words as "Where is ...?".
// Twin: bench/bench_search.py runs the same queries through Python's sqlite3 (the same FTS5
// engine) on the index this program built (--keep DIR keeps it).
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "toolformer.h"
#include "tools/search_index.h"

#define VOCAB 30000

static char words[VOCAB][12];
static double zipf_cdf[VOCAB];

static void make_vocab(tf_rng *r) {
    static const char *syl[] = {"ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "de", "va", "zu", "ge",
                                "an", "or", "el", "is", "um", "ba", "co", "fi"};
    for (int i = 0; i < VOCAB; i++) {
        // Unique words: the index in base 20 spelled in syllables, then a random tail syllable.
        int x = i, n = 0;
        char w[12] = "";
        do {
            strcat(w, syl[x % 20]);
            x /= 20;
            n++;
        } while (x && n < 4);
        strcat(w, syl[tf_rng_u64(r) % 20]);
        snprintf(words[i], sizeof words[i], "%s", w);
    }
    double s = 0;
    for (int i = 0; i < VOCAB; i++) s += 1.0 / (i + 1);
    double c = 0;
    for (int i = 0; i < VOCAB; i++) zipf_cdf[i] = (c += 1.0 / (i + 1) / s);
}

static int zipf(tf_rng *r) {
    double u = tf_rng_uniform(r);
    int lo = 0, hi = VOCAB - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (zipf_cdf[mid] < u) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *ms, int n, int ok) {
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += ms[i];
    printf("%-34s %6d calls  mean %8.3f ms  p50 %8.3f  p99 %8.3f  max %8.3f  (%d with a result)\n", what, n,
           sum / n, ms[n / 2], ms[(int)(n * 0.99)], ms[n - 1], ok);
}

int main(int argc, char **argv) {
    long npass = 50000, nq = 1000, nmt = 20;
    const char *keep = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--passages") && i + 1 < argc) npass = atol(argv[++i]);
        else if (!strcmp(argv[i], "--queries") && i + 1 < argc) nq = atol(argv[++i]);
        else if (!strcmp(argv[i], "--mt-calls") && i + 1 < argc) nmt = atol(argv[++i]);
        else if (!strcmp(argv[i], "--keep") && i + 1 < argc) keep = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--passages N] [--queries Q] [--mt-calls M] [--keep DIR]\n", argv[0]);
            return 2;
        }
    }
    char dir[256];
    if (keep) {
        snprintf(dir, sizeof dir, "%s", keep);
        mkdir(dir, 0755);
    } else {
        strcpy(dir, "/tmp/tf_bench_search_XXXXXX");
        if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    }
    char jsonl[300], db[300], queries[300];
    snprintf(jsonl, sizeof jsonl, "%s/passages.jsonl", dir);
    snprintf(db, sizeof db, "%s/passages.db", dir);
    snprintf(queries, sizeof queries, "%s/queries.txt", dir);
    unlink(db);

    tf_rng r;
    tf_rng_seed(&r, 1234);
    make_vocab(&r);
    FILE *f = fopen(jsonl, "w");
    if (!f) { perror(jsonl); return 1; }
    // Remember a few words of some passages for the queries.
    if (nq > npass) nq = npass;
    if (nq < 1 || npass < 1) { fprintf(stderr, "need at least one passage and one query\n"); return 2; }
    int (*qwords)[3] = calloc((size_t)nq, sizeof *qwords);
    long stride = npass / nq, bytes = 0;
    for (long p = 0; p < npass; p++) {
        int nt = 2 + (int)(tf_rng_u64(&r) % 2), nw = 40 + (int)(tf_rng_u64(&r) % 81);
        bytes += fprintf(f, "{\"title\": \"");
        for (int i = 0; i < nt; i++) bytes += fprintf(f, "%s%s", i ? " " : "", words[100 + zipf(&r) % (VOCAB - 100)]);
        bytes += fprintf(f, "\", \"text\": \"");
        long qi = p / stride;
        int pick = p % stride == 0 && qi < nq;
        for (int i = 0; i < nw; i++) {
            int w = zipf(&r);
            if (pick && i >= 10 && i < 13) {
                while (w < 100) w = zipf(&r);
                qwords[qi][i - 10] = w;
            }
            if (w >= 100 && w < 2000)
                bytes += fprintf(f, "%s%c%s", i ? " " : "", words[w][0] - 32, words[w] + 1);
            else
                bytes += fprintf(f, "%s%s", i ? " " : "", words[w]);
        }
        bytes += fprintf(f, ".\"}\n");
    }
    fclose(f);
    printf("corpus: %ld passages, %.1f MB JSONL, vocabulary %d (Zipf 1.0)\n", npass, bytes / 1e6, VOCAB);

    search_build_opts o = {0};
    search_build_stats st;
    tf_error err;
    double t0 = tf_time_s();
    if (search_index_build(jsonl, db, &o, &st, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    double el = tf_time_s() - t0;
    struct stat dbst;
    stat(db, &dbst);
    printf("index build: %.2f s, %.0f passages/s, %.1f MB/s of JSONL; database %.1f MB\n", el, npass / el,
           bytes / 1e6 / el, dbst.st_size / 1e6);

    tf_tool_options opt = {.index_path = db};
    tf_tool *ws = tf_tool_create("wikisearch", &opt, &err);
    tf_tool *qa = tf_tool_create("qa", &opt, &err);
    if (!ws || !qa) { fprintf(stderr, "%s\n", err.msg); return 1; }
    FILE *qf = fopen(queries, "w");
    double *ms = malloc((size_t)(nq > nmt ? nq : nmt) * sizeof *ms);
    char out[1024], q[256];
    for (int pass = 0; pass < 3; pass++) {
        int ok = 0;
        for (long i = 0; i < nq; i++) {
            if (pass == 2)
                snprintf(q, sizeof q, "Where is %s %s %s?", words[qwords[i][0]], words[qwords[i][1]], words[qwords[i][2]]);
            else if (pass == 1)  // 3 rarer words of one passage + the 3 most frequent words
                snprintf(q, sizeof q, "%s %s %s %s %s %s", words[qwords[i][0]], words[qwords[i][1]],
                         words[qwords[i][2]], words[0], words[1], words[2]);
            else
                snprintf(q, sizeof q, "%s %s %s", words[qwords[i][0]], words[qwords[i][1]], words[qwords[i][2]]);
            if (pass < 2) fprintf(qf, "%s\n", q);
            double a = tf_time_s();
            int rc = pass < 2 ? tf_tool_execute(ws, q, NULL, out, sizeof out, &err)
                              : tf_tool_execute(qa, q, NULL, out, sizeof out, &err);
            ms[i] = (tf_time_s() - a) * 1000;
            ok += rc == TF_OK;
        }
        report(pass == 0 ? "WikiSearch, 3 words" : pass == 1 ? "WikiSearch, 3 words + 3 commonest" : "QA, 3 words",
               ms, (int)nq, ok);
    }
    fclose(qf);
    tf_tool_free(ws);
    tf_tool_free(qa);

    tf_tool *mt = tf_tool_create("mt", NULL, &err);
    if (!mt) {
        printf("MT: %s\n", err.msg);
    } else {
        int ok = 0;
        char in[256];
        for (long i = 0; i < nmt; i++) {  // distinct inputs: no answer from memory
            snprintf(in, sizeof in, "El gobierno anunci\xc3\xb3 ayer %ld nuevas medidas econ\xc3\xb3micas para reducir la inflaci\xc3\xb3n.", i + 2);
            double a = tf_time_s();
            ok += tf_tool_execute(mt, in, NULL, out, sizeof out, &err) == TF_OK;
            ms[i] = (tf_time_s() - a) * 1000;
        }
        report("MT (textcat + apertium spa-eng)", ms, (int)nmt, ok);
        double a = tf_time_s();
        int english = 0;
        for (int i = 0; i < 1000; i++)
            english += tf_tool_execute(mt, "The government announced new economic measures yesterday.", NULL, out,
                                       sizeof out, &err) == TF_ETOOL;
        printf("%-34s %6d calls  mean %8.3f ms  (%d rejected as English; the same input, remembered)\n",
               "MT on English", 1000, (tf_time_s() - a), english);
        a = tf_time_s();
        english = 0;
        for (int i = 0; i < 1000; i++) {
            snprintf(in, sizeof in, "The government announced %d new economic measures yesterday.", i);
            english += tf_tool_execute(mt, in, NULL, out, sizeof out, &err) == TF_ETOOL;
        }
        printf("%-34s %6d calls  mean %8.3f ms  (%d rejected as English; distinct inputs: textcat)\n",
               "MT on English", 1000, (tf_time_s() - a), english);
        tf_tool_free(mt);
    }
    free(ms);
    free(qwords);
    if (!keep) {
        unlink(jsonl);
        unlink(db);
        unlink(queries);
        rmdir(dir);
    } else {
        printf("kept %s (passages.jsonl, passages.db, queries.txt)\n", dir);
    }
    return 0;
}
