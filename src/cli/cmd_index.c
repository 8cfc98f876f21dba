// cmd_index.c — `toolformer index`: builds or extends a WikiSearch / QA passage index (SQLite FTS5,
// BM25) from JSONL passages {"title", "text"}.
#include "cli.h"
#include "tf_convert.h"
#include "tf_outguard.h"
#include "tools/search_index.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// The most bytes of passages one `index` run reads, all --data files together (--max-total changes
// it); a line (one passage) is bounded by the index builder: 16 MiB (search_index.c).
#define INDEX_MAX_TOTAL_BYTES (64ULL << 30)

static void help(FILE *out) {
    fprintf(out,
            "usage: toolformer index --data PASSAGES.jsonl [--data MORE.jsonl ...] --out FILE.db [--append | --resume]\n"
            "                        [--batch N] [--max-total SIZE] [--progress auto|bar|lines|none]\n"
            "\n"
            "Builds the passage index that the WikiSearch and QA tools search: an SQLite database with an\n"
            "FTS5 table passages(title, text), ranked by BM25 (title weighted 2, text 1; porter stemming).\n"
            "\n"
            "  --data FILE    JSONL, one passage a line: {\"title\": \"...\", \"text\": \"...\"} (other keys are\n"
            "                 ignored, blank lines skipped); may be given several times\n"
            "  --out FILE.db  the index to create\n"
            "  --append       add the passages to FILE.db (created when absent); without it an existing\n"
            "                 FILE.db is an error, never overwritten\n"
            "  --resume       finish a build that was interrupted (killed, disk full): each batch commits with\n"
            "                 a record of how far its file was read, so the passages already committed are\n"
            "                 not added twice (the index ends as an uninterrupted build's)\n"
            "  --batch N      passages per transaction (default 10000)\n"
            "  --max-total SIZE  the most bytes of passages to read, all --data files together (default\n"
            "                 64GiB; e.g. 500MB, 100GiB): larger inputs are refused before the index is\n"
            "                 created. One line (a passage) is at most 16 MiB: a longer one is reported\n"
            "                 and skipped\n"
            "  --progress MODE  progress on stderr (bytes read): auto (default: a bar on a terminal; in a log, a\n"
            "                 line every TF_PROGRESS_INTERVAL s, default 10, once a build lasts that long),\n"
            "                 bar, lines (a line every interval and one at the end) or none\n"
            "  --help         this text\n"
            "\n"
            "A malformed line is reported as FILE:LINE and skipped; every other passage is indexed and\n"
            "kept, and the command exits with status 1 when any line was skipped.\n");
}

typedef struct {
    long reported;
} bad_lines;

static void on_bad_line(void *ud, const char *msg) {
    bad_lines *b = ud;
    if (b->reported < 21) tf_progress_clear_line();  // off the progress bar's line
    if (b->reported++ < 20) fprintf(stderr, "toolformer: %s (line skipped)\n", msg);
    else if (b->reported == 21) fprintf(stderr, "toolformer: more malformed lines skipped (not listed)\n");
}

// Parses the options (by hand: --data repeats), checks every input and the output before the
// index is touched, then builds or extends the index one --data file at a time. Malformed lines
// are reported (the first 20) and skipped; the command then exits 1 with every good passage kept.
int cmd_index(int argc, char **argv) {
    const char *data[64];
    int ndata = 0;
    const char *out = NULL;
    int append = 0, resume = 0;
    long batch = 0;
    uint64_t max_total = INDEX_MAX_TOTAL_BYTES;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            help(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--append")) {
            append = 1;
        } else if (!strcmp(a, "--resume")) {
            resume = 1;
        } else if (!strcmp(a, "--progress")) {
            if (i + 1 >= argc) return cli_usage_error("index", "%s needs a value", a);
            if (cli_progress_option(CLI_OPT_PROGRESS, argv[++i], "index") < 0) return CLI_USAGE;
        } else if (!strcmp(a, "--max-total")) {
            if (i + 1 >= argc) return cli_usage_error("index", "%s needs a value", a);
            if (tf_parse_size(argv[++i], &max_total) || max_total == 0)
                return cli_usage_error("index", "--max-total: expected a size such as 500MB or 100GiB, got '%s'", argv[i]);
        } else if (!strcmp(a, "--data") || !strcmp(a, "--out") || !strcmp(a, "--batch")) {
            if (i + 1 >= argc) return cli_usage_error("index", "%s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--out")) out = v;
            else if (!strcmp(a, "--batch")) {
                if (cli_int(v, 1, 100000000, &batch)) return cli_usage_error("index", "--batch: expected a positive integer, got '%s'", v);
            } else {
                if (ndata == (int)(sizeof data / sizeof data[0])) return cli_usage_error("index", "too many --data files");
                data[ndata++] = v;
            }
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("index", "unknown option '%s'", a);
        } else {
            return cli_usage_error("index", "unexpected argument '%s' (give passages files with --data)", a);
        }
    }
    if (ndata == 0) return cli_usage_error("index", "--data PASSAGES.jsonl is required");
    if (!out) return cli_usage_error("index", "--out FILE.db is required");
    if (append && resume) return cli_usage_error("index", "--append adds a new build and --resume finishes one: give one");
    // every input readable, a regular file, and all of them within --max-total before the index is
    // created (none is left empty behind)
    uint64_t total_in = 0;
    for (int d = 0; d < ndata; d++) {
        struct stat st;
        if (stat(data[d], &st) != 0) {
            fprintf(stderr, "toolformer: --data %s: %s\n", data[d], strerror(errno));
            return CLI_FAIL;
        }
        if (!S_ISREG(st.st_mode)) {
            fprintf(stderr, "toolformer: --data %s is %s, not a passages file (JSONL); index reads regular files "
                    "(it records how far it read them, for --resume)\n", data[d],
                    S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
            return CLI_USAGE;
        }
        total_in += (uint64_t)st.st_size;
        if (total_in > max_total) {
            fprintf(stderr, "toolformer: --data %s %s %llu bytes, over index's limit of %llu bytes of passages (64 GiB "
                    "unless --max-total says otherwise); nothing was indexed: split the passages or raise --max-total\n",
                    data[d], d ? "brings the passages to" : "holds", (unsigned long long)total_in,
                    (unsigned long long)max_total);
            return CLI_FAIL;
        }
    }
    tf_error gerr = {0};
    tf_outguard g;
    tf_guard_init(&g, "index", append ? TF_OUT_APPEND : resume ? TF_OUT_RESUME : TF_OUT_NEW,
                  "pass --append to add passages to it, --resume to finish an interrupted build, or remove it to "
                  "rebuild");
    int grc = tf_guard_output(&g, "--out", out, TF_OUT_REGULAR, &gerr);
    for (int d = 0; d < ndata && !grc; d++) grc = tf_guard_input(&g, "--data", data[d], &gerr);
    if (grc || tf_guard_check(&g, &gerr) || tf_guard_lock(&g, out, &gerr)) {
        tf_guard_release(&g);
        return cli_fail(&gerr);
    }
    // the first file creates the index (or appends/resumes as asked); the later ones always append
    bad_lines bad = {0};
    long added = 0, skipped = 0, total = 0;
    for (int d = 0; d < ndata; d++) {
        search_build_opts o = {
            .append = append || d > 0, .resume = resume, .batch = (int)batch, .progress = 1, .on_bad_line = on_bad_line, .ud = &bad};
        search_build_stats st;
        tf_error err = {0};
        int rc = search_index_build(data[d], out, &o, &st, &err);
        added += st.added;
        skipped += st.skipped;
        if (rc) {
            int code = cli_fail(&err);
            if (added > 0) fprintf(stderr, "toolformer: %ld passages were indexed into %s before the failure and are kept\n", added, out);
            tf_guard_release(&g);
            return code;
        }
        total = st.total;
    }
    // the summary goes to stderr, like the progress bar, so stdout stays empty
    fprintf(stderr, "indexed %ld passage%s into %s (%ld in total)", added, added == 1 ? "" : "s", out, total);
    if (skipped) fprintf(stderr, "; skipped %ld malformed line%s\n", skipped, skipped == 1 ? "" : "s");
    else fputc('\n', stderr);
    tf_guard_release(&g);
    return skipped ? CLI_FAIL : CLI_OK;
}
