// test_data_recipe.c — data/make_data.sh --quick: the files it writes, and that the held-out sets
// share no entity, number or date with the pretraining and annotation corpora. The held-out checks
// derive everything from the eval files themselves (not from the generator's own heldout.json: only
// the annotation's invented countries, which no eval file names, are read from it), and the labels
// are recomputed here (weekday/month/year of a date, sum or difference of two operands).
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_run.h"

static const char *const WEEKDAYS[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
static const char *const MONTHS[] = {"January", "February", "March",     "April",   "May",      "June",
                                     "July",    "August",   "September", "October", "November", "December"};

static char *slurp(const char *dir, const char *name, size_t *len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "missing %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len) *len = (size_t)n;
    return buf;
}

// JSONL file -> array of parsed records (each line must parse as an object)
typedef struct {
    cJSON **rec;
    int n;
} jsonl;

static jsonl read_jsonl(const char *dir, const char *name) {
    char *buf = slurp(dir, name, NULL);
    jsonl j = {NULL, 0};
    int cap = 0, line = 0;
    for (char *s = buf, *e; *s; s = e) {
        e = strchr(s, '\n');
        e = e ? (*e = '\0', e + 1) : s + strlen(s);
        line++;
        if (!*s) continue;
        cJSON *r = cJSON_Parse(s);
        cr_assert(r && cJSON_IsObject(r), "%s:%d is not a JSON object", name, line);
        if (j.n == cap) {
            cap = cap ? 2 * cap : 256;
            j.rec = realloc(j.rec, (size_t)cap * sizeof *j.rec);
            cr_assert_not_null(j.rec);
        }
        j.rec[j.n++] = r;
    }
    free(buf);
    return j;
}

static void free_jsonl(jsonl *j) {
    for (int i = 0; i < j->n; i++) cJSON_Delete(j->rec[i]);
    free(j->rec);
}

static const char *field(const cJSON *r, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

// every "text" of a JSONL file joined by newlines (JSON escapes decoded)
static char *texts_of(const char *dir, const char *name, int *count) {
    jsonl j = read_jsonl(dir, name);
    size_t total = 1;
    for (int i = 0; i < j.n; i++) {
        const char *t = field(j.rec[i], "text");
        cr_assert_not_null(t, "%s record %d has no text", name, i + 1);
        total += strlen(t) + 1;
    }
    char *all = malloc(total), *p = all;
    cr_assert_not_null(all);
    for (int i = 0; i < j.n; i++) {
        const char *t = field(j.rec[i], "text");
        size_t n = strlen(t);
        memcpy(p, t, n);
        p += n;
        *p++ = '\n';
    }
    *p = '\0';
    if (count) *count = j.n;
    free_jsonl(&j);
    return all;
}

// occurrences of w in hay as a whole word (no letter/digit on either side)
static int has_word(const char *hay, const char *w) {
    size_t n = strlen(w);
    for (const char *p = strstr(hay, w); p; p = strstr(p + 1, w)) {
        int before = p > hay && isalnum((unsigned char)p[-1]);
        int after = isalnum((unsigned char)p[n]);
        if (!before && !after) return 1;
    }
    return 0;
}

static char data_dir[256];

static void make_data(void) {
    char tmpl[] = "/tmp/tf_data_XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    snprintf(data_dir, sizeof data_dir, "%s/out", tmpl);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "TF_BIN=%s timeout 600 data/make_data.sh %s --quick >%s/log 2>&1", cli_bin(), data_dir, tmpl);
    int rc = system(cmd);
    if (rc != 0) {
        snprintf(cmd, sizeof cmd, "tail -20 %s/log >&2", tmpl);
        (void)!system(cmd);
    }
    cr_assert_eq(rc, 0, "data/make_data.sh --quick failed");
}

static void remove_data(void) {
    char cmd[600];
    char *slash = strrchr(data_dir, '/');
    if (!slash) return;
    *slash = '\0';
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", data_dir);
    (void)!system(cmd);
}

static int weekday_of(const char *iso, int *year, int *month) {
    struct tm tm = {0};
    cr_assert_eq(sscanf(iso, "%d-%d-%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday), 3, "bad date %s", iso);
    *year = tm.tm_year;
    *month = tm.tm_mon;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_hour = 12;
    time_t t = timegm(&tm);
    struct tm out;
    gmtime_r(&t, &out);
    return out.tm_wday;
}

// No Criterion .timeout (Criterion 2.4.1 leaks a timeout record when timed tests overlap, which
// fails the ASan run's leak check); the recipe runs under timeout(1) instead.
Test(data_recipe, quick_recipe_is_disjoint_labelled_and_searchable) {
    make_data();
    const char *d = data_dir;
    int n_pre = 0, n_ann = 0, n_ctl = 0;
    char *pre = texts_of(d, "pretrain.jsonl", &n_pre);
    char *ann = texts_of(d, "annotate.jsonl", &n_ann);
    char *ctl = texts_of(d, "control.jsonl", &n_ctl);
    cr_assert_gt(n_pre, 1000);
    cr_assert_geq(n_ann, 200);
    cr_expect_str_eq(ann, ctl, "control.jsonl must hold the annotation texts");
    cr_expect_eq(n_ann, n_ctl);

    // no call syntax in pretraining: no "[Name(" anywhere
    for (const char *p = strchr(pre, '['); p; p = strchr(p + 1, '[')) {
        const char *q = p + 1;
        while (isalpha((unsigned char)*q)) q++;
        cr_assert(!(q > p + 1 && *q == '('), "pretraining holds call syntax: %.40s", p);
    }

    // every computation noted in pretraining ("[66 - 4 -> 62] 62": the word problems' notes and
    // the generated sums') is right
    int notes = 0;
    for (const char *p = strchr(pre, '['); p; p = strchr(p + 1, '[')) {
        long a, b, r;
        char op;
        int n = 0;
        if (sscanf(p, "[%ld %c %ld -> %ld]%n", &a, &op, &b, &r, &n) != 4 || n == 0 || !strchr("+-*/", op)) continue;
        long want = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : (b ? a / b : -1);
        cr_expect(r == want && (op != '/' || a == b * r), "wrong note in pretraining: %.40s", p);
        notes++;
    }
    cr_expect_geq(notes, 50, "pretraining has %d arithmetic notes", notes);

    // every date noted inline in pretraining ("[today -> Today is Sunday, March 3, 2030.] Sunday" or
    // "[Today is ...] Sunday": the grammars' questions and open-ended sentences about today, the
    // dated documents' answers) is followed by a part of that date: its weekday, month, year or day
    // of the month ("[date -> ...]" also opens a paragraph, before the text it dates)
    int date_notes = 0;
    for (const char *p = strstr(pre, "Today is "); p; p = strstr(p + 1, "Today is ")) {
        int inline_note = (p > pre && p[-1] == '[') || (p - pre >= 10 && !strncmp(p - 10, "[today -> ", 10));
        if (!inline_note) continue;
        char wd[16], mon[16];
        int day, year, n = 0;
        if (sscanf(p, "Today is %15[A-Za-z], %15[A-Za-z] %d, %d.]%n", wd, mon, &day, &year, &n) != 4 || n == 0) continue;
        if (p[n] != ' ') continue;  // a note ends "] " before the part it gives
        const char *next = p + n + 1;
        int mi = -1;
        for (int i = 0; i < 12; i++)
            if (!strcmp(mon, MONTHS[i])) mi = i;
        cr_assert_geq(mi, 0, "bad month in a date note: %.60s", p);
        char iso[32];
        int y_of, m_of;
        snprintf(iso, sizeof iso, "%04d-%02d-%02d", year, mi + 1, day);
        cr_expect_str_eq(wd, WEEKDAYS[weekday_of(iso, &y_of, &m_of)], "a date note with a wrong weekday: %.60s", p);
        char y[16], d[16];
        snprintf(y, sizeof y, "%d", year);
        snprintf(d, sizeof d, "%d", day);
        size_t lw = strlen(wd), lm = strlen(mon), ly = strlen(y), ld = strlen(d);
        int ok = !strncmp(next, wd, lw) || !strncmp(next, mon, lm) || !strncmp(next, y, ly) || !strncmp(next, d, ld);
        cr_expect(ok, "a date note followed by no part of its date: %.80s", p);
        date_notes++;
    }
    cr_expect_geq(date_notes, 20, "pretraining has %d date notes", date_notes);

    // math: labels are the sum or difference of the prompt's two operands; no number of a prompt
    // (three digits or more) and no answer occurs in pretraining or annotation
    jsonl m = read_jsonl(d, "eval_math.jsonl");
    cr_assert_geq(m.n, 50);
    for (int i = 0; i < m.n; i++) {
        const char *pr = field(m.rec[i], "prompt"), *an = field(m.rec[i], "answer");
        cr_assert(pr && an);
        long ops[4];
        int k = 0;
        for (const char *p = pr; *p;) {
            if (isdigit((unsigned char)*p)) {
                char num[32];
                int n = 0;
                while (isdigit((unsigned char)*p) && n < 30) num[n++] = *p++;
                num[n] = '\0';
                if (k < 4) ops[k++] = atol(num);
                cr_assert(n < 3 || (!has_word(pre, num) && !has_word(ann, num)), "held-out number %s leaks", num);
            } else {
                p++;
            }
        }
        cr_assert_eq(k, 2, "math prompt without two operands: %s", pr);
        long a = atol(an);
        cr_expect(a == ops[0] + ops[1] || a == labs(ops[0] - ops[1]), "wrong label %s for %s", an, pr);
        cr_assert(!has_word(pre, an) && !has_word(ann, an), "held-out answer %s leaks", an);
        cr_expect_eq(pr[strlen(pr) - 1] != ' ', 1, "prompt ends with a space: '%s'", pr);
    }
    free_jsonl(&m);

    // dates: labels agree with the date; held-out years never occur in pretraining or annotation,
    // and no annotation document has a held-out date
    jsonl dts = read_jsonl(d, "eval_dates.jsonl");
    jsonl annj = read_jsonl(d, "annotate.jsonl");
    cr_assert_geq(dts.n, 50);
    for (int i = 0; i < dts.n; i++) {
        const char *an = field(dts.rec[i], "answer"), *date = field(dts.rec[i], "date");
        cr_assert(an && date && field(dts.rec[i], "prompt"));
        int y, mo, wd = weekday_of(date, &y, &mo), day = atoi(date + 8);
        char ys[16];
        snprintf(ys, sizeof ys, "%d", y);
        cr_assert(!has_word(pre, ys) && !has_word(ann, ys), "held-out year %s leaks", ys);
        int ok = !strcmp(an, WEEKDAYS[wd]) || !strcmp(an, MONTHS[mo - 1]) || !strcmp(an, ys) || atoi(an) == day;
        cr_expect(ok, "label %s does not fit date %s", an, date);
        for (int w = 0; w < 7; w++)
            if (!strcmp(an, WEEKDAYS[w])) cr_expect_eq(w, wd, "weekday %s for %s", an, date);
        for (int j = 0; j < annj.n; j++) {
            const char *ad = field(annj.rec[j], "date");
            cr_assert(!ad || strncmp(ad, date, 4), "annotation date %s in a held-out year", ad);
        }
    }
    free_jsonl(&dts);
    free_jsonl(&annj);

    // facts: held-out capitals and countries never occur in pretraining or annotation; WikiSearch
    // over search.db finds each held-out capital
    jsonl f = read_jsonl(d, "eval_facts.jsonl");
    cr_assert_geq(f.n, 30);
    int searched = 0;
    for (int i = 0; i < f.n; i++) {
        const char *pr = field(f.rec[i], "prompt"), *an = field(f.rec[i], "answer");
        cr_assert(pr && an);
        cr_assert(!has_word(pre, an) && !has_word(ann, an), "held-out capital %s leaks", an);
        const char *pfx = "The capital of ";
        size_t lp = strlen(pfx), lpr = strlen(pr);
        if (strncmp(pr, pfx, lp) || lpr < lp + 4 || strcmp(pr + lpr - 3, " is")) continue;
        char country[128];
        snprintf(country, sizeof country, "%.*s", (int)(lpr - lp - 3), pr + lp);
        cr_assert(!has_word(pre, country) && !has_word(ann, country), "held-out country %s leaks", country);
        char out[4096];
        int rc = cli_run(out, sizeof out, "tool WikiSearch 'capital of %s' --index %s/search.db", country, d);
        cr_expect_eq(rc, 0, "WikiSearch failed for %s: %s", country, cli_run_stderr);
        cr_expect(strstr(out, an) != NULL, "WikiSearch 'capital of %s' -> %s (want %s)", country, out, an);
        searched++;
    }
    cr_expect_geq(searched, 5);
    free_jsonl(&f);

    // perplexity prose: held out from pretraining
    jsonl ppl = read_jsonl(d, "eval_ppl.jsonl");
    cr_assert_geq(ppl.n, 10);
    for (int i = 0; i < ppl.n; i++) {
        const char *t = field(ppl.rec[i], "text");
        cr_assert(t && *t);
        cr_assert_null(strstr(pre, t), "eval_ppl text %d is in pretraining", i + 1);
    }
    free_jsonl(&ppl);

    // the annotation texts' invented countries (heldout.json) are names the model has never read:
    // neither they nor their capitals occur in pretraining (which has invented countries of its
    // own), and the annotation texts ask about them (the quick recipe's 300 texts: at least one)
    char *held = slurp(d, "heldout.json", NULL);
    cJSON *hj = cJSON_Parse(held);
    cr_assert_not_null(hj, "heldout.json is not JSON");
    const cJSON *inv = cJSON_GetObjectItemCaseSensitive(hj, "invented_countries");
    cr_assert(cJSON_IsArray(inv) && cJSON_GetArraySize(inv) >= 100, "heldout.json lists no invented countries");
    int asked = 0;
    const cJSON *pair;
    cJSON_ArrayForEach(pair, inv) {
        const char *c = cJSON_GetArrayItem(pair, 0) ? cJSON_GetArrayItem(pair, 0)->valuestring : NULL;
        const char *k = cJSON_GetArrayItem(pair, 1) ? cJSON_GetArrayItem(pair, 1)->valuestring : NULL;
        cr_assert(c && k, "heldout.json: an invented country is not a [name, capital] pair");
        cr_expect(!has_word(pre, c) && !has_word(pre, k), "invented annotation country %s (%s) is in pretraining", c, k);
        asked += has_word(ann, c);
    }
    cr_expect_geq(asked, 1);
    cJSON_Delete(hj);
    free(held);

    // tokenizer and manifest
    char *vocab = slurp(d, "tokenizer/vocab.json", NULL);
    cJSON *v = cJSON_Parse(vocab);
    cr_assert_not_null(v);
    cr_expect_eq(cJSON_GetArraySize(v), 1024);
    cr_expect(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(v, "<|endoftext|>")));
    cJSON_Delete(v);
    free(vocab);
    char *man = slurp(d, "manifest.json", NULL);
    cJSON *mj = cJSON_Parse(man);
    cr_assert_not_null(mj);
    const cJSON *pf = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(mj, "files"), "pretrain.jsonl");
    cr_assert_not_null(pf);
    cr_expect_eq(cJSON_GetObjectItemCaseSensitive(pf, "records")->valueint, n_pre);
    cJSON_Delete(mj);
    free(man);

    // the generator is deterministic: a second run gives the same bytes
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "PYTHONHASHSEED=123 timeout 300 python3 data/gen.py %s/again --quick 2>/dev/null", d);
    cr_assert_eq(system(cmd), 0);
    const char *files[] = {"pretrain.jsonl", "annotate.jsonl", "eval_math.jsonl", "eval_dates.jsonl",
                           "eval_facts.jsonl", "eval_ppl.jsonl", "passages.jsonl"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char again[512];
        snprintf(again, sizeof again, "again/%s", files[i]);
        size_t la, lb;
        char *a = slurp(d, files[i], &la), *b = slurp(d, again, &lb);
        cr_expect(la == lb && !memcmp(a, b, la), "%s differs between two runs", files[i]);
        free(a);
        free(b);
    }
    free(pre);
    free(ann);
    free(ctl);

    // --if-stale: a directory made by this recipe is left alone; one whose manifest names another
    // recipe is made again
    struct stat st0, st1;
    char man_path[512];
    snprintf(man_path, sizeof man_path, "%s/manifest.json", d);
    cr_assert_eq(stat(man_path, &st0), 0);
    snprintf(cmd, sizeof cmd, "TF_BIN=%s timeout 600 data/make_data.sh %s --quick --if-stale >/dev/null 2>&1", cli_bin(), d);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(stat(man_path, &st1), 0);
    cr_expect(st0.st_mtim.tv_sec == st1.st_mtim.tv_sec && st0.st_mtim.tv_nsec == st1.st_mtim.tv_nsec,
              "--if-stale rewrote an up-to-date directory");
    char *m0 = slurp(d, "manifest.json", NULL), *at = strstr(m0, "\"recipe_sha256\": \"");
    cr_assert_not_null(at, "the manifest has no recipe_sha256");
    at[18] = at[18] == '0' ? '1' : '0';  // the first hex digit of the checksum
    FILE *mf = fopen(man_path, "w");
    cr_assert_not_null(mf);
    cr_assert_eq(fwrite(m0, 1, strlen(m0), mf), strlen(m0));
    cr_assert_eq(fclose(mf), 0);
    snprintf(cmd, sizeof cmd, "TF_BIN=%s timeout 600 data/make_data.sh %s --quick --if-stale >/dev/null 2>&1",
             cli_bin(), d);
    cr_assert_eq(system(cmd), 0);
    char *m1 = slurp(d, "manifest.json", NULL);
    cr_expect(strstr(m1, "\"recipe_sha256\": \"") && strcmp(m0, m1), "a stale directory was not made again");
    free(m0);
    free(m1);

    // the out-of-template sets (data/ood) share no 6-word span with anything this recipe writes
    // (the quick recipe: every generator template, a twentieth of the prose; `make demo` runs the
    // same check on the full recipe)
    snprintf(cmd, sizeof cmd, "python3 data/ood_check.py %s 2>&1", d);
    cr_expect_eq(system(cmd), 0, "data/ood_check.py found a shared span or a wrong label");
    // and neither do the validation sets (data/validation), which settings are chosen on
    snprintf(cmd, sizeof cmd, "python3 data/ood_check.py %s data/validation 2>&1", d);
    cr_expect_eq(system(cmd), 0, "data/validation shares a span with the recipe or has a wrong label");
    remove_data();
}

// data/ood and data/validation are exactly what their scripts write (a prompt edited in the script
// but not written out, or in the file but not in the script, fails here), and the validation sets
// hold the examples data/README.md counts: 240 dates (120 asked, 120 open-ended), 150 facts, 100
// word problems.
Test(data_recipe, held_out_sets_are_their_scripts_output) {
    char tmpl[] = "/tmp/tf_sets_XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    const char *sets[][2] = {{"data/ood", "make_ood.py"}, {"data/validation", "make_validation.py"}};
    const char *names[] = {"dates.jsonl", "facts.jsonl", "math.jsonl"};
    char cmd[1024], dir[512];
    for (int s = 0; s < 2; s++) {
        snprintf(dir, sizeof dir, "%s/%d", tmpl, s);
        snprintf(cmd, sizeof cmd, "python3 %s/%s %s >/dev/null 2>&1", sets[s][0], sets[s][1], dir);
        cr_assert_eq(system(cmd), 0, "%s/%s failed", sets[s][0], sets[s][1]);
        for (int i = 0; i < 3; i++) {
            size_t la = 0, lb = 0;
            char *a = slurp(dir, names[i], &la), *b = slurp(sets[s][0], names[i], &lb);
            cr_expect(la == lb && !memcmp(a, b, la), "%s/%s is not what %s writes", sets[s][0], names[i],
                      sets[s][1]);
            free(a);
            free(b);
        }
    }
    int want[] = {240, 150, 100};
    for (int i = 0; i < 3; i++) {
        jsonl j = read_jsonl("data/validation", names[i]);
        cr_expect_eq(j.n, want[i], "data/validation/%s has %d examples", names[i], j.n);
        free_jsonl(&j);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpl);
    cr_expect_eq(system(cmd), 0);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fputs(text, f) >= 0, 1);
    cr_assert_eq(fclose(f), 0);
}

// The out-of-template sets hold 150+ examples per task, and ood_check.py catches a shared span
// and a wrong label (on hand-made inputs, so that the check itself is shown to fail).
Test(data_recipe, ood_sets_and_their_check) {
    const char *names[] = {"dates.jsonl", "facts.jsonl", "math.jsonl"};
    for (int i = 0; i < 3; i++) {
        jsonl j = read_jsonl("data/ood", names[i]);
        cr_expect_geq(j.n, 150, "data/ood/%s has %d examples", names[i], j.n);
        free_jsonl(&j);
    }
    char tmpl[] = "/tmp/tf_ood_XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    char path[512], cmd[1024], text[2048];
    jsonl dts = read_jsonl("data/ood", "dates.jsonl");
    const char *prompt = field(dts.rec[7], "prompt");
    cr_assert_not_null(prompt);
    // a recipe text holding six consecutive words of a prompt (in another case and punctuation)
    char words[512];
    snprintf(words, sizeof words, "%s", prompt);
    for (char *c = words; *c; c++) *c = isalnum((unsigned char)*c) ? (char)toupper((unsigned char)*c) : ' ';
    cJSON *rec = cJSON_CreateObject();
    snprintf(text, sizeof text, "Some words first, %s, and after.", words);
    cJSON_AddStringToObject(rec, "text", text);
    char *line = cJSON_PrintUnformatted(rec);
    snprintf(path, sizeof path, "%s/pretrain.jsonl", tmpl);
    write_file(path, "{\"text\": \"nothing in common here\"}\n");
    snprintf(cmd, sizeof cmd, "python3 data/ood_check.py %s 2>/dev/null", tmpl);
    cr_expect_eq(WEXITSTATUS(system(cmd)), 0, "an unrelated text was reported");
    snprintf(text, sizeof text, "{\"text\": \"nothing in common here\"}\n%s\n", line);
    write_file(path, text);
    cr_expect_eq(WEXITSTATUS(system(cmd)), 1, "a shared 6-word span of '%s' was not found", prompt);
    free(line);
    cJSON_Delete(rec);

    // a wrong label: the weekday of another date
    write_file(path, "{\"text\": \"nothing in common here\"}\n");
    snprintf(path, sizeof path, "%s/ood", tmpl);
    cr_assert_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/ood/dates.jsonl", tmpl);
    write_file(path, "{\"prompt\": \"Which weekday is it? It is\", \"answer\": \"Monday\", \"date\": \"2018-01-02\"}\n");
    snprintf(cmd, sizeof cmd, "python3 data/ood_check.py %s %s/ood 2>/dev/null", tmpl, tmpl);
    cr_expect_eq(WEXITSTATUS(system(cmd)), 1, "a wrong weekday label was not found");
    write_file(path, "{\"prompt\": \"Which weekday is it? It is\", \"answer\": \"Tuesday\", \"date\": \"2018-01-02\"}\n");
    cr_expect_eq(WEXITSTATUS(system(cmd)), 0, "a right weekday label was reported");
    write_file(path, "{\"prompt\": \"Ann has 12 pens and buys 30 more. The answer is\", \"answer\": \"41\"}\n");
    cr_expect_eq(WEXITSTATUS(system(cmd)), 1, "a wrong sum was not found");
    snprintf(cmd, sizeof cmd, "python3 data/ood_check.py 2>/dev/null");
    cr_expect_eq(WEXITSTATUS(system(cmd)), 2);
    free_jsonl(&dts);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    (void)!system(cmd);
}

Test(data_recipe, bad_usage_exits_2) {
    cr_expect_eq(WEXITSTATUS(system("data/make_data.sh >/dev/null 2>&1")), 2);
    cr_expect_eq(WEXITSTATUS(system("data/make_data.sh /tmp/x --bogus >/dev/null 2>&1")), 2);
    cr_expect_eq(WEXITSTATUS(system("data/make_data.sh /tmp/x --seed abc >/dev/null 2>&1")), 2);
    cr_expect_eq(WEXITSTATUS(system("data/make_data.sh --help >/dev/null 2>&1")), 0);
}
