// annotate_run.h — the work of `toolformer annotate` between its command line and its summary
// (internal to src/cli/): the run's options from the parsed flags, its identity, the shard each
// process takes under mpirun, the corpus through tf_annotate_corpus, and the shards joined.
#ifndef TF_ANNOTATE_RUN_H
#define TF_ANNOTATE_RUN_H

#include "cli.h"
#include "tf_pipeline.h"

// The command line of `annotate`, parsed (cmd_annotate.c). Overrides are < 0 (tau_f: tau_f_set 0)
// when not given.
typedef struct {
    const char *model_dir;
    const char *sets[TF_MAX_TOOLS];  // --set TOOL.KEY=VALUE
    int n_sets, json, tau_f_set, shard_set;
    double tau_s, tau_f, temperature;
    long top_k, samples, max_calls, threads, call_tokens, batch;
    tf_proposer proposer;
    tf_placement placement;
    uint64_t seed;
    tf_annotate_run run;  // data, out, rejected, shard, max_docs, resume, force, quiet
    cli_model_opts model;
    cli_tools tools;
} annotate_args;

// What a run leaves for its summary; free with annotate_done.
typedef struct {
    tf_toolset set;
    tf_model *m;
    tf_annotate_summary sum;  // of every shard under mpirun
    int report;               // 1: this process prints the summary (rank 0, or the only process)
    char out_k[4096], rej_k[4096];  // under mpirun: this rank's OUT.shard-K-of-N (and REJECTED's)
} annotate_outcome;

// Runs a->run (tf_dist_init already called): rank K of N takes shard K/N, the tools, thresholds and
// model are set up, the corpus is annotated, and under mpirun the summaries are gathered and rank 0
// joins the shards. Returns the exit code (a usage error or a failure already printed).
int annotate_execute(annotate_args *a, annotate_outcome *o);
// Frees o; on a failure (rc other than ok or usage) stops the other processes; ends MPI.
void annotate_done(annotate_outcome *o, int rc);

#endif
