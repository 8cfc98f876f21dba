// mt.c — the MT tool (Toolformer §3, Table 1): non-English text -> English. The language is
// detected with libexttextcat (n-gram profiles) and the text translated by Apertium, run as a
// subprocess without a shell (`apertium spa-eng`, spawn.c), with a time limit and an output cap.
//
// The paper uses NLLB-600M with fastText language id; this is the Debian-packaged equivalent.
// Rules:
//   - No result for: empty input, input with no letters (numbers or symbols only), input longer
//     than MT_MAX_INPUT bytes, a language textcat cannot tell, English (when English is among
//     textcat's candidates at all), a language with no Apertium pair into English installed, and a
//     translation in which every word was unknown to Apertium.
//   - Language choice: textcat returns the plausible languages, best first; the first of them with
//     an installed pair (`xxx-eng`, `xx-en`, ...; see `apertium -l`) is used. Close languages are
//     often confused on short texts (Spanish read as Catalan or Italian), so a pair for a
//     plausible-but-second language still translates; below ~30 characters detection is unreliable.
//   - Apertium's marks for unknown (*), untranslatable (@) and ungenerated (#) words are removed,
//     leaving the source word in place.
#include "result_cache.h"
#include "result_text.h"
#include "spawn.h"
#include "tools_internal.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <textcat.h>
#include <unistd.h>

#define MT_TIMEOUT_MS 5000
#define MT_RESULT_BYTES 400
#define MT_MAX_INPUT 4000
#define MT_MAX_OUTPUT (64 * 1024)

// The paper's MT sampling prompt (Appendix A.2), ASCII quotes, the document slot written <INPUT>.
static const char MT_PROMPT[] =
    "Your task is to complete a given piece of text by using a Machine Translation API. You can do so by "
    "writing \"[MT(text)]\" where text is the text to be translated into English. Here are some examples:\n"
    "Input: He has published one book: O homem suprimido (\"The Supressed Man\")\n"
    "Output: He has published one book: O homem suprimido [MT(O homem suprimido)] (\"The Supressed Man\")\n"
    "Input: In Morris de Jonge's Jeschuah, der klassische j\xc3\xbc" "dische Mann, there is a description of a "
    "Jewish writer\n"
    "Output: In Morris de Jonge's Jeschuah, der klassische j\xc3\xbc" "dische Mann [MT(der klassische "
    "j\xc3\xbc" "dische Mann)], there is a description of a Jewish writer\n"
    "Input: \xe5\x8d\x97 \xe4\xba\xac \xe9\xab\x98 \xe6\xb7\xb3 \xe5\x8e\xbf \xe4\xbd\x8f \xe6\x88\xbf "
    "\xe5\x92\x8c \xe5\x9f\x8e \xe4\xb9\xa1 \xe5\xbb\xba \xe8\xae\xbe \xe5\xb1\x80 \xe5\x9f\x8e \xe5\xb8\x82 "
    "\xe6\x96\xb0 \xe5\x8c\xba \xe8\xae\xbe \xe8\xae\xa1 a plane of reference Gaochun is one of seven "
    "districts of the provincial capital Nanjing\n"
    "Output: [MT(\xe5\x8d\x97\xe4\xba\xac\xe9\xab\x98\xe6\xb7\xb3\xe5\x8e\xbf\xe4\xbd\x8f\xe6\x88\xbf"
    "\xe5\x92\x8c\xe5\x9f\x8e\xe4\xb9\xa1\xe5\xbb\xba\xe8\xae\xbe\xe5\xb1\x80 \xe5\x9f\x8e\xe5\xb8\x82"
    "\xe6\x96\xb0 \xe5\x8c\xba \xe8\xae\xbe \xe8\xae\xa1)] a plane of reference Gaochun is one of seven "
    "districts of the provincial capital Nanjing\n"
    "Input: <INPUT>\n"
    "Output:";

typedef struct {
    void *tc;                 // textcat handle
    candidate_t *cand;        // textcat's candidate buffer
    pthread_mutex_t mu;       // textcat is not thread-safe; also guards the pair list
    char **pairs;             // installed Apertium directions ("spa-eng", ...), loaded on first use
    int npairs, pairs_loaded;
    result_cache *cache;      // translations and deterministic no-results, by input
} mt_state;

#define MT_CACHE_SLOTS 1024

static void first_line(char *s) {
    char *nl = strchr(s, '\n');
    if (nl) *nl = '\0';
}

// ---- languages and pairs ------------------------------------------------------------------------

// ISO 639-1 (textcat's names) -> ISO 639-3 (Apertium's names for most pairs).
static const char *const ISO3[][2] = {
    {"af", "afr"}, {"an", "arg"}, {"ar", "ara"}, {"be", "bel"}, {"bg", "bul"}, {"br", "bre"}, {"bs", "hbs"},
    {"ca", "cat"}, {"cs", "ces"}, {"cy", "cym"}, {"da", "dan"}, {"de", "deu"}, {"el", "ell"}, {"eo", "epo"},
    {"es", "spa"}, {"et", "est"}, {"eu", "eus"}, {"fa", "fas"}, {"fi", "fin"}, {"fr", "fra"}, {"ga", "gle"},
    {"gl", "glg"}, {"he", "heb"}, {"hi", "hin"}, {"hr", "hbs"}, {"hu", "hun"}, {"id", "ind"}, {"is", "isl"},
    {"it", "ita"}, {"ja", "jpn"}, {"kk", "kaz"}, {"ko", "kor"}, {"lt", "lit"}, {"lv", "lav"}, {"mk", "mkd"},
    {"mt", "mlt"}, {"nb", "nob"}, {"nl", "nld"}, {"nn", "nno"}, {"no", "nob"}, {"oc", "oci"}, {"pl", "pol"},
    {"pt", "por"}, {"ro", "ron"}, {"ru", "rus"}, {"sc", "srd"}, {"sk", "slk"}, {"sl", "slv"}, {"sq", "sqi"},
    {"sr", "hbs"}, {"sv", "swe"}, {"tr", "tur"}, {"tt", "tat"}, {"uk", "ukr"}, {"ur", "urd"}, {"zh", "zho"},
};

// Loads the installed Apertium directions (`apertium -l`) once; TF_ETOOL when apertium cannot run.
static int load_pairs(mt_state *s, int timeout_ms, tf_error *err) {
    if (s->pairs_loaded) return TF_OK;
    char *argv[] = {"apertium", "-l", NULL};
    spawn_result r;
    int rc = spawn_run(argv, "", 0, timeout_ms > 0 ? timeout_ms : MT_TIMEOUT_MS, MT_MAX_OUTPUT, &r, err);
    if (rc) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err ? err->msg : "");
        return tf_errorf(err, TF_ETOOL, "MT: %s (is the Debian package `apertium` installed?)", why);
    }
    if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
        first_line(r.errtxt);
        free(r.out);
        return tf_errorf(err, TF_ETOOL, "MT: `apertium -l` failed: %s", r.errtxt);
    }
    for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
        while (isspace((unsigned char)*line)) line++;
        size_t n = strlen(line);
        while (n && isspace((unsigned char)line[n - 1])) line[--n] = '\0';
        if (!n) continue;
        char **np = realloc(s->pairs, (size_t)(s->npairs + 1) * sizeof *np);
        char *d = strdup(line);
        if (!np || !d) {
            free(d);
            if (np) s->pairs = np;
            free(r.out);
            return tf_errorf(err, TF_ENOMEM, "out of memory");
        }
        s->pairs = np;
        s->pairs[s->npairs++] = d;
    }
    free(r.out);
    s->pairs_loaded = 1;
    return TF_OK;
}

// The installed direction from language code (textcat's, e.g. "es") into English, or NULL.
static const char *find_pair(const mt_state *s, const char *code) {
    const char *c3 = strlen(code) == 3 ? code : NULL;
    for (size_t i = 0; !c3 && i < sizeof ISO3 / sizeof ISO3[0]; i++)
        if (!strcmp(ISO3[i][0], code)) c3 = ISO3[i][1];
    const char *codes[2] = {c3, code};
    const char *eng[2] = {"eng", "en"};
    for (int c = 0; c < 2; c++)
        for (int e = 0; e < 2; e++) {
            if (!codes[c]) continue;
            char want[32];
            snprintf(want, sizeof want, "%s-%s", codes[c], eng[e]);
            for (int i = 0; i < s->npairs; i++)
                if (!strcmp(s->pairs[i], want)) return s->pairs[i];
        }
    return NULL;
}

// ---- the tool -----------------------------------------------------------------------------------

static int word_byte(unsigned char c) { return isalnum(c) || c >= 0x80; }

// Removes Apertium's marks (*unknown, @untranslated, #ungenerated) at the start of words, in place.
// Returns the number of words and sets *marked to the number that carried a mark.
static int strip_marks(char *s, int *marked) {
    int words = 0;
    *marked = 0;
    size_t w = 0;
    int at_start = 1;
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c == '*' || c == '@' || c == '#') && at_start && word_byte((unsigned char)s[i + 1])) {
            (*marked)++;
            continue;
        }
        if (word_byte(c) && at_start) words++;
        at_start = !word_byte(c) && c != '\'' && c != '-';
        s[w++] = (char)c;
    }
    s[w] = '\0';
    return words;
}

// Translates in; *remember is set when the outcome depends on the input alone (not on a time
// limit, a missing or failing apertium).
static int mt_translate(tf_tool *t, const char *in, size_t budget, char *out, size_t cap, int *remember,
                        tf_error *err) {
    mt_state *s = t->state;
    *remember = 1;
    size_t len = strlen(in);
    if (len > MT_MAX_INPUT) return tf_errorf(err, TF_ETOOL, "MT: input longer than %d bytes", MT_MAX_INPUT);
    int letters = 0;
    for (size_t i = 0; i < len; i++) letters += isalpha((unsigned char)in[i]) || (unsigned char)in[i] >= 0x80;
    if (!letters) return tf_errorf(err, TF_ETOOL, "MT: nothing to translate in '%.100s'", in);

    // One line of text for both textcat and Apertium.
    char *text = malloc(len + 2);
    if (!text) return tf_errorf(err, TF_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < len; i++) text[n++] = in[i] == '\n' || in[i] == '\r' || in[i] == '\t' ? ' ' : in[i];
    text[n] = '\0';

    int rc = TF_OK;
    const char *pair = NULL;
    char lang[16] = "";
    pthread_mutex_lock(&s->mu);
    int nc = textcat_ClassifyFull(s->tc, text, n, s->cand);
    int english = 0, no_apertium = 0;
    for (int i = 0; i < nc; i++) english |= !strncmp(s->cand[i].name, "en-", 3);
    if (nc <= 0) {
        rc = tf_errorf(err, TF_ETOOL, "MT: language of '%.100s' not recognised", text);
    } else if (english) {
        rc = tf_errorf(err, TF_ETOOL, "MT: '%.100s' looks English; nothing to translate", text);
    } else if ((rc = load_pairs(s, t->timeout_ms, err))) {
        no_apertium = 1;
    } else {
        for (int i = 0; i < nc && !pair; i++) {
            char code[16];
            snprintf(code, sizeof code, "%s", s->cand[i].name);
            char *dash = strchr(code, '-');
            if (dash) *dash = '\0';
            if (!lang[0]) snprintf(lang, sizeof lang, "%s", code);
            pair = find_pair(s, code);
        }
        if (!pair)
            rc = tf_errorf(err, TF_ETOOL, "MT: no Apertium pair from '%s' into English is installed (apertium -l)", lang);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        free(text);
        *remember = !no_apertium;
        return rc;
    }
    *remember = 0;
    text[n++] = '\n';
    char *argv[] = {"apertium", (char *)pair, NULL};
    spawn_result r;
    rc = spawn_run(argv, text, n, t->timeout_ms > 0 ? t->timeout_ms : MT_TIMEOUT_MS, MT_MAX_OUTPUT, &r, err);
    free(text);
    if (rc) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err ? err->msg : "apertium failed");
        return rc == TF_ENOMEM ? rc : tf_errorf(err, TF_ETOOL, "MT: %s", why);
    }
    if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
        first_line(r.errtxt);
        free(r.out);
        return tf_errorf(err, TF_ETOOL, "MT: apertium %s failed: %s", pair, r.errtxt[0] ? r.errtxt : "no message");
    }
    int marked = 0, words = strip_marks(r.out, &marked);
    if (words == 0) {
        first_line(r.errtxt);
        free(r.out);
        return tf_errorf(err, TF_ETOOL, "MT: apertium %s gave no translation%s%s", pair, r.errtxt[0] ? ": " : "", r.errtxt);
    }
    *remember = 1;
    if (marked >= words) {
        free(r.out);
        return tf_errorf(err, TF_ETOOL, "MT: apertium %s knew none of the words", pair);
    }
    size_t o = result_clean(out, cap, r.out, r.out_len, budget);
    free(r.out);
    if (o == 0) return tf_errorf(err, TF_ETOOL, "MT: empty translation");
    return TF_OK;
}

static int mt_execute(tf_tool *t, const char *input, const tf_tool_context *ctx, char *out, size_t cap,
                      tf_error *err) {
    (void)ctx;
    mt_state *s = t->state;
    size_t budget;
    int rc, remember = 0;
    if (result_cache_begin(s->cache, t, &input, MT_RESULT_BYTES, out, cap, &budget, err, &rc)) return rc;
    rc = mt_translate(t, input, budget, out, cap, &remember, err);
    if (remember && (rc == TF_OK || rc == TF_ETOOL))
        result_cache_put(s->cache, input, budget, rc, rc == TF_OK ? out : err ? err->msg : "no result");
    return rc;
}

// ---- prefilter and proposer (the paper's MT data heuristic, Appendix A.1) -------------------------
// The paper keeps only paragraphs that have a non-English chunk between English text, drops chunks
// of numbers or symbols only, and drops calls whose input appears only after the call. Here a chunk
// is a stretch between punctuation (. , ; : ! ? ( ) [ ] quotes, line breaks) with at least
// MT_CHUNK_WORDS words and MT_CHUNK_BYTES bytes; it is foreign when textcat's plausible languages
// leave out English and one of them has an installed Apertium pair.
#define MT_CHUNK_WORDS 2
#define MT_CHUNK_BYTES 12
#define MT_PROPOSE_WINDOW 300   // a proposed chunk ends at most this many bytes before the call
#define MT_PROPOSE_MAX 3

typedef struct {
    size_t s, e;   // byte span, trimmed
} chunk;

static int chunk_break(const unsigned char *p) {
    if (*p && strchr(".,;:!?()[]{}\"\n\r\t", *p)) return 1;
    // Typographic quotes and brackets: U+201C/D/E, U+2018/9, U+00AB/BB, U+3001/2 (CJK comma, stop).
    if (p[0] == 0xE2 && p[1] == 0x80 && (p[2] >= 0x98 && p[2] <= 0x9E)) return 3;
    if (p[0] == 0xC2 && (p[1] == 0xAB || p[1] == 0xBB)) return 2;
    if (p[0] == 0xE3 && p[1] == 0x80 && (p[2] == 0x81 || p[2] == 0x82)) return 3;
    return 0;
}

// Splits text[0..len) into chunks; at most max; returns how many.
static int split_chunks(const char *text, size_t len, chunk *out, int max) {
    const unsigned char *t = (const unsigned char *)text;
    int n = 0;
    size_t i = 0, start = 0;
    while (n < max) {
        int b = i < len ? chunk_break(t + i) : 1;
        if (b || i >= len) {
            size_t s = start, e = i;
            while (s < e && isspace(t[s])) s++;
            while (e > s && isspace(t[e - 1])) e--;
            int words = 0, letters = 0;
            for (size_t k = s; k < e; k++) {
                letters |= isalpha(t[k]) || t[k] >= 0x80;
                words += (k == s || isspace(t[k - 1])) && !isspace(t[k]);
            }
            if (letters && words >= MT_CHUNK_WORDS && e - s >= MT_CHUNK_BYTES) out[n++] = (chunk){s, e};
            if (i >= len) break;
            i += (size_t)b;
            start = i;
        } else {
            i++;
        }
    }
    return n;
}

// 1: foreign with an installed pair; 0: English; -1: neither (unknown, no pair). Caller holds s->mu.
static int chunk_kind(mt_state *s, const char *text, size_t n, int timeout_ms) {
    int nc = textcat_ClassifyFull(s->tc, text, n, s->cand);
    if (nc <= 0) return -1;
    for (int i = 0; i < nc; i++)
        if (!strncmp(s->cand[i].name, "en-", 3)) return 0;
    tf_error err;
    if (load_pairs(s, timeout_ms, &err)) return -1;
    for (int i = 0; i < nc; i++) {
        char code[16];
        snprintf(code, sizeof code, "%s", s->cand[i].name);
        char *dash = strchr(code, '-');
        if (dash) *dash = '\0';
        if (find_pair(s, code)) return 1;
    }
    return -1;
}

static int mt_prefilter(const tf_tool *t, const char *text, const tf_tool_context *ctx) {
    (void)ctx;
    mt_state *s = t->state;
    chunk ch[256];
    int n = split_chunks(text, strlen(text), ch, 256), foreign = 0, english = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < n && !(foreign && english); i++) {
        int k = chunk_kind(s, text + ch[i].s, ch[i].e - ch[i].s, t->timeout_ms);
        foreign |= k == 1;
        english |= k == 0;
    }
    pthread_mutex_unlock(&s->mu);
    return foreign && english;
}

static int mt_propose(const tf_tool *t, const char *text, size_t pos, const tf_tool_context *ctx, tf_strlist *out) {
    (void)ctx;
    mt_state *s = t->state;
    size_t len = strlen(text);
    if (pos > len) pos = len;
    size_t from = pos > MT_PROPOSE_WINDOW ? pos - MT_PROPOSE_WINDOW : 0;
    chunk ch[64];
    // Only what precedes the call: the model cannot translate text it has not read yet.
    int n = split_chunks(text + from, pos - from, ch, 64), added = 0, rc = TF_OK;
    pthread_mutex_lock(&s->mu);
    for (int i = n - 1; i >= 0 && added < MT_PROPOSE_MAX && rc == TF_OK; i--) {  // nearest first
        const char *c = text + from + ch[i].s;
        size_t cl = ch[i].e - ch[i].s;
        if (cl > MT_MAX_INPUT || chunk_kind(s, c, cl, t->timeout_ms) != 1) continue;
        char *d = strndup(c, cl);
        if (!d) { rc = TF_ENOMEM; break; }
        rc = tf_strlist_push(out, d);
        free(d);
        added++;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void mt_destroy(tf_tool *t) {
    mt_state *s = t->state;
    if (!s) return;
    if (s->cand) textcat_ReleaseClassifyFullOutput(s->tc, s->cand);
    if (s->tc) textcat_Done(s->tc);
    for (int i = 0; i < s->npairs; i++) free(s->pairs[i]);
    free(s->pairs);
    result_cache_free(s->cache);
    pthread_mutex_destroy(&s->mu);
    free(s);
    t->state = NULL;
}

// textcat's language profiles: $TF_TEXTCAT_DIR, else the Debian location (libexttextcat-data).
static void *open_textcat(tf_error *err) {
    const char *dirs[] = {getenv("TF_TEXTCAT_DIR"), "/usr/share/libexttextcat", "/usr/local/share/libexttextcat"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (!dirs[i] || !*dirs[i]) continue;
        char conf[512], prefix[512];
        snprintf(conf, sizeof conf, "%s/fpdb.conf", dirs[i]);
        snprintf(prefix, sizeof prefix, "%s/", dirs[i]);
        struct stat st;
        if (stat(conf, &st) != 0) continue;
        void *h = special_textcat_Init(conf, prefix);
        if (h) return h;
        tf_errorf(err, TF_EBADFILE, "MT: %s: cannot load the language profiles it lists", conf);
        return NULL;
    }
    tf_errorf(err, TF_EIO, "MT: no language profiles (fpdb.conf) in $TF_TEXTCAT_DIR, /usr/share/libexttextcat "
                           "or /usr/local/share/libexttextcat; install the Debian package libexttextcat-data");
    return NULL;
}

tf_tool *tool_mt_new(const tf_tool_options *opt, tf_error *err) {
    mt_state *s = calloc(1, sizeof *s);
    if (!s) {
        tf_errorf(err, TF_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    tf_tool *t = tool_alloc("MT", MT_PROMPT, opt, MT_TIMEOUT_MS, MT_RESULT_BYTES, err);
    if (!t) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    t->state = s;
    t->execute = mt_execute;
    t->prefilter = mt_prefilter;
    t->propose = mt_propose;
    t->destroy = mt_destroy;
    if (!(s->tc = open_textcat(err)) || !(s->cand = textcat_GetClassifyFullOutput(s->tc)) ||
        !(s->cache = result_cache_new(MT_CACHE_SLOTS))) {
        if (s->tc && (!s->cand || !s->cache)) tf_errorf(err, TF_ENOMEM, "out of memory");
        tf_tool_free(t);
        return NULL;
    }
    return t;
}
