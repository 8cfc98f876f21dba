// tf_outguard.h — the output rule: no command destroys a user's data.
//
// Every command that writes files (annotate, eval --details, train, finetune, index, merge-shards,
// tokenizer train, convert, merge-adapter, report, serve, ...) declares its inputs and outputs to a
// guard and checks them BEFORE it opens anything for writing:
//
//   1. an output that is the same file as an input is refused: same device and inode once links are
//      followed; an output that does not exist yet is compared by its resolved path (a dangling
//      symlink is followed to where it would write); two outputs that are one file are refused too;
//   2. an output that exists (a regular file of at least one byte) is refused unless the command
//      says what to do with it: its mode is TF_OUT_RESUME, TF_OUT_APPEND or TF_OUT_FORCE (from its
//      --resume, --append or --force); an empty file is not a result and may be replaced;
//   3. every output is checked creatable (its directory exists, or its nearest existing ancestor
//      when the command creates the directory, and is writable) before any output is truncated,
//      so a bad second output never costs the first one;
//   4. an output that is not a regular file (/dev/stdout, a FIFO, a device) is accepted where the
//      command only streams into it, and refused where the command must seek, cut back, resume or
//      rename (TF_OUT_REGULAR), with a line saying to write to a file instead; a directory is
//      refused as a file output;
//   5. tf_guard_lock takes an advisory lock (flock, LOCK_EX | LOCK_NB) on a lock file beside the
//      output, so a second writer of the same output fails at once with one line naming the file.
//
// Each refusal is one line (in err, TF_EBADARG: bad usage, exit 2) that names the option, the path
// and what to do instead. Typical use:
//
//   tf_outguard g;
//   tf_guard_init(&g, "annotate", run.resume ? TF_OUT_RESUME : TF_OUT_NEW,
//                 "continue it with --resume, or choose another --out");
//   tf_guard_input(&g, "--data", data, &err);
//   tf_guard_input(&g, "--model", model_dir, &err);   // a directory: each file in it is an input
//   tf_guard_output(&g, "--out", out, TF_OUT_REGULAR, &err);
//   tf_guard_output(&g, "--out's progress file", progress, TF_OUT_REGULAR | TF_OUT_SIDE, &err);
//   if (tf_guard_check(&g, &err) || tf_guard_lock(&g, out, &err)) { tf_guard_release(&g); fail; }
//   ... write ...
//   tf_guard_release(&g);                              // drops the lock, frees the guard
//
// tf_guard_input/tf_guard_output only record (they fail only when memory runs out); tf_guard_check does every check at once, in the order above.
#ifndef TF_OUTGUARD_H
#define TF_OUTGUARD_H

#include <stdint.h>

#include "tf_common.h"

// What the command does with an output that already exists.
typedef enum {
    TF_OUT_NEW = 0,     // refuse it (the default: no --resume/--append/--force given)
    TF_OUT_RESUME = 1,  // --resume: continue it (the command checks its own progress record)
    TF_OUT_APPEND = 2,  // --append: add to it
    TF_OUT_FORCE = 3,   // --force: replace it
} tf_out_mode;

// Flags of one output.
enum {
    TF_OUT_REGULAR = 1,  // must be a regular file (resumed, cut back, locked or renamed into place)
    TF_OUT_MKDIR = 2,    // the command creates its directory (and parents) when missing
    TF_OUT_SIDE = 4,     // a companion (progress, state) file: its existence alone is no result, so
                         // rule 2 does not apply to it; rules 1, 3 and 4 do
};

typedef struct {
    const char *opt;  // the option that named it, for messages ("--data")
    char *path;       // as given (malloc'd)
    char *real;       // resolved absolute path (malloc'd; NULL when it cannot be resolved)
    uint64_t dev, ino;
    int exists, flags;
} tf_guard_file;

typedef struct {
    const char *cmd;     // "annotate", for messages
    tf_out_mode mode;
    const char *remedy;  // what to say when an output exists ("continue it with --resume, ...")
    tf_guard_file *in, *out;  // malloc'd, grown as files are recorded
    int n_in, n_out, cap_in, cap_out;
    int lock_fd;         // -1 when no lock is held
    char *lock_path;     // malloc'd
} tf_outguard;

// Starts an empty guard. remedy (may be NULL: "remove it or choose another path") ends the line that
// refuses an existing output.
void tf_guard_init(tf_outguard *g, const char *cmd, tf_out_mode mode, const char *remedy);
// Records an input. A directory is a model or tokenizer directory: it records the files of one
// directly inside it (*.safetensors, config.json, tokenizer.json, tokenizer_config.json, vocab.json,
// merges.txt, encoder.json, vocab.bpe, special_tokens_map.json, generation_config.json,
// adapter_config.json), not the other files that may share the directory. A path that does not exist, NULL or "-" (stdin) is
// skipped: the command's reader reports a missing input itself.
int tf_guard_input(tf_outguard *g, const char *opt, const char *path, tf_error *err);
// Records an output file (flags: TF_OUT_*). NULL is skipped (an optional output not given).
int tf_guard_output(tf_outguard *g, const char *opt, const char *path, int flags, tf_error *err);
// Applies rules 1-4 to everything recorded; TF_OK or the first refusal (TF_EBADARG, one line).
int tf_guard_check(tf_outguard *g, tf_error *err);
// Rule 5: creates and locks PATH.lock (kept until tf_guard_release, which removes it). A lock held
// by another process fails at once: "PATH is being written by another toolformer process (PATH.lock
// is locked); wait for it to finish or choose another path" (TF_EBADARG).
int tf_guard_lock(tf_outguard *g, const char *path, tf_error *err);
// Releases the lock (removing the lock file) and frees what the guard holds. Safe to call twice.
void tf_guard_release(tf_outguard *g);

// Whether path names a regular file or does not exist (for commands that decide between a file
// and a stream); 0 for devices, FIFOs, sockets and directories.
int tf_path_is_regular_or_absent(const char *path);

#endif
