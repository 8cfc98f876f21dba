// tf_progress.h — progress of a long command on stderr: a bar on a terminal, one-line records in a log.
//
// Every long-running command (annotate, train/finetune, eval, index, convert, merge-adapter,
// tokenizer train) reports its progress through one tf_progress. How it is shown is chosen once per
// process (the command line's --progress, else the environment's TF_PROGRESS):
//
//   bar    a bar redrawn in place ("\r") at most every 0.1 s, ended by a newline when done;
//   lines  one line every TF_PROGRESS_INTERVAL seconds (default 10; 0: at every update) and one
//          when the work is done:
//            progress LABEL DONE/TOTAL PCT% RATE/s elapsed Es eta Es[; EXTRA]
//            progress LABEL DONE/TOTAL 100.0% RATE/s elapsed Es done[; EXTRA]
//          (without a known total: "progress LABEL DONE RATE/s elapsed Es[; EXTRA]");
//   none   nothing;
//   auto   (the default) bar when stderr is a terminal; otherwise the periodic lines only for a
//          run that lasts longer than one interval (a short run stays silent, a long one leaves
//          a record every interval and one when it is done).
//
// TF_PROGRESS: auto, bar, lines or none; 1 means bar and 0 none, as before --progress existed.
#ifndef TF_PROGRESS_H
#define TF_PROGRESS_H

double tf_time_s(void);  // monotonic seconds

typedef enum {
    TF_PROGRESS_AUTO = 0,
    TF_PROGRESS_BAR = 1,
    TF_PROGRESS_LINES = 2,
    TF_PROGRESS_NONE = 3,
} tf_progress_mode;

// Parses "auto", "bar", "lines" or "none" (also "1" = bar, "0" = none); 0 on success, -1 otherwise.
int tf_progress_parse(const char *s, tf_progress_mode *mode);
// Sets the process's mode (the command line's --progress); TF_PROGRESS_AUTO defers to TF_PROGRESS.
void tf_progress_set_mode(tf_progress_mode mode);

typedef struct {
    const char *label;
    long total, done;
    double t0, last_draw;
    int enabled;   // 0: nothing is shown (set it to 0 after start to silence one bar, e.g. --quiet);
                   // otherwise how it is shown (internal: bar, lines, or lines once an interval passed)
    int lines;     // lines printed so far
    double interval;
} tf_progress;

void tf_progress_start(tf_progress *p, const char *label, long total);
// Advances to done; a bar is redrawn at most every 0.1 s, a line printed at most every interval.
// extra (may be NULL) follows the numbers.
void tf_progress_update(tf_progress *p, long done, const char *extra);
// Ends the bar with a newline, or prints the last line (in auto mode only after a periodic one).
void tf_progress_finish(tf_progress *p, const char *extra);
// Clears the bar's line on a terminal before a message is printed (nothing in the other modes).
void tf_progress_clear_line(void);

#endif
