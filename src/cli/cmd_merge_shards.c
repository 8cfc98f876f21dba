// cmd_merge_shards.c — `toolformer merge-shards`: annotate shards back into one file in corpus order.
#include <getopt.h>

#include "cli.h"
#include "tf_outguard.h"
#include "tf_pipeline.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: toolformer merge-shards --out FILE [--partial] [--force] [--json] [--] SHARD...\n\n"
            "Joins the outputs of `toolformer annotate --shard K/N` (or of `mpirun -np N toolformer annotate`,\n"
            "which writes OUT.shard-K-of-N) into FILE in corpus order, by each line's \"doc_index\"; the lines\n"
            "are copied unchanged, so the result equals what one process writes. Works for --rejected files\n"
            "too. FILE is written whole or not at all.\n"
            "  --out FILE   the merged output (must not be one of the shards)\n"
            "  --partial    merge shards whose runs have not finished (SHARD.progress), or an incomplete set\n"
            "               of shards; without it, both are errors\n"
            "  --force      replace an existing FILE (without it an existing FILE is refused)\n"
            "  --json       print {\"out\", \"shards\", \"lines\"}\n");
}

// Parses the options, checks the output against the shards (the output rule), then joins the
// shards' lines in corpus order into --out (tf_merge_shards, src/pipeline/merge_shards.c).
int cmd_merge_shards(int argc, char **argv) {
    static const struct option opts[] = {
        {"out", 1, 0, 'o'}, {"partial", 0, 0, 'p'}, {"json", 0, 0, 'j'}, {"force", 0, 0, 'f'}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    const char *out = NULL;
    int partial = 0, json = 0, force = 0, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'p': partial = 1; break;
        case 'j': json = 1; break;
        case 'f': force = 1; break;
        case 'h': help(stdout); return CLI_OK;
        default: return cli_usage_error("merge-shards", "unknown option");
        }
    }
    if (!out) return cli_usage_error("merge-shards", "--out is required");
    // the shard files are the positional arguments, in any order: the merge orders the lines itself
    int n = argc - optind;
    if (n <= 0) return cli_usage_error("merge-shards", "give the shard files to merge");
    tf_error err = {0};
    long lines = 0;
    // --out must not be one of the shards, nor exist without --force; OUT.lock keeps a second
    // merge into the same file out while this one runs
    tf_outguard g;  // the output rule (tf_outguard.h)
    tf_guard_init(&g, "merge-shards", force ? TF_OUT_FORCE : TF_OUT_NEW, "replace it with --force or choose another --out");
    int rc = tf_guard_output(&g, "--out", out, TF_OUT_REGULAR, &err);
    for (int k = 0; k < n && !rc; k++) rc = tf_guard_input(&g, "shard", argv[optind + k], &err);
    if (rc || tf_guard_check(&g, &err) || tf_guard_lock(&g, out, &err) ||
        tf_merge_shards(out, (const char *const *)argv + optind, n, partial, &lines, &err)) {
        tf_guard_release(&g);
        return cli_fail(&err);
    }
    tf_guard_release(&g);
    // the summary: how many shards and lines went into --out
    if (json) {
        cli_json j;
        cli_json_begin(&j, stdout);
        cli_json_string(&j, "out", out);
        cli_json_int(&j, "shards", n);
        cli_json_int(&j, "lines", lines);
        cli_json_end(&j, "merge-shards");
    } else {
        printf("merged %d shards, %ld lines, into %s\n", n, lines, out);
    }
    return CLI_OK;
}
