// tf_report.h — `toolformer report`: one self-contained HTML page from what a run wrote into a
// directory (inline SVG and CSS; no script, no font, nothing fetched; readable offline and printable).
//
// It reads, when present (the names scripts/demo.sh writes):
//   NAME.summary.json            annotate --json (one round: per tool candidates, executed, kept and
//                                the thresholds; the run's settings), with NAME.jsonl (the augmented
//                                texts, C*) and NAME.rejected.jsonl (the scored calls not kept)
//   compare_*.json               compare --json (the filter's three losses for one call)
//   *.log.jsonl, finetune*.json  finetune --log and --json
//   eval_TASK_VARIANT.json       eval --json (VARIANT: base, toolformer, disabled, ...), with
//   eval_TASK_VARIANT.details.jsonl  eval --details
//   ppl_NAME.json                eval --task ppl --json
// Every number on the page comes from these files; a section whose input is missing is left out with
// a note saying which file it needs. Text from the corpus and the tools is escaped.
#ifndef TF_REPORT_H
#define TF_REPORT_H

#include <stdio.h>

#include "tf_common.h"

typedef struct {
    int sections;  // sections written
    int missing;   // sections left out for want of their input (each with a note on the page)
} tf_report_stats;

// Writes the page for the run in dir to out. A malformed input file is an error (TF_EBADFILE naming
// the file and line); a missing one is a note on the page. stats may be NULL.
int tf_report_write(const char *dir, FILE *out, tf_report_stats *stats, tf_error *err);

#endif
