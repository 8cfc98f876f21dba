// tf_pipeline.h — the Toolformer data pipeline (Schick et al. 2023, §2): candidate positions, sampled
// or proposed calls, execution, the weighted-loss filter with the call as a prefix, and the merge of
// kept calls into the text (C -> C*).
#ifndef TF_PIPELINE_H
#define TF_PIPELINE_H

#include "tf_model.h"
#include "tf_tokenizer.h"
#include "tf_tools.h"

// ---- the filter's loss (§2, §4.1) ------------------------------------------------------------------
// L_i(z) = -sum_j w_{j-i} log p(x_j | z, x_{1:j-1}), w~_t = max(0, 1 - 0.2 t), w_t = w~_t / sum w~
// (= 1/3, 4/15, 1/5, 2/15, 1/15 for t = 0..4, 0 after). Near the end of a text fewer than five terms
// exist; the weights are not renormalised (the paper normalises over all of N).
#define TF_FILTER_SPAN 5
float tf_filter_weight(int t);

// One scored row: ids[n], where tokens ids[cont_start .. cont_start + n_cont) are the continuation
// x_i .. x_{i+n_cont-1}, each predicted from everything before it. cont_start >= 1.
typedef struct {
    const int *ids;
    int n, cont_start, n_cont;
} tf_scored_row;

// loss[r] = sum_t w_t * NLL(ids[cont_start + t]) for every row, batched batch rows at a time
// (rows of similar length together, right-padded).
int tf_score_rows(tf_model *m, const tf_scored_row *rows, int n_rows, int batch, float *loss, tf_error *err);

// The three variants for a call at token position i of x (ids[n_x]), sharing one window of x so that
// the same continuation ids are scored in each: x[s .. i + span) where s is the smallest start that
// lets the longest prefix plus the window fit in max_len tokens.
// The three rows the filter scores for a call: e(c, r), e(c, eps) and the plain text; a call's rows
// are TF_NUM_VARIANTS in a row, in this order.
typedef enum { TF_VARIANT_WITH_RESULT = 0, TF_VARIANT_WITHOUT_RESULT = 1, TF_VARIANT_PLAIN = 2, TF_NUM_VARIANTS = 3 } tf_variant;
typedef enum { TF_PLACE_PREFIX = 0, TF_PLACE_INLINE = 1 } tf_placement;
// Builds one row into out (capacity cap ids): PREFIX = z + sep + x[s .. i+span), INLINE =
// x[s .. i) + z + x[i .. i+span), PLAIN = x[s .. i+span). z = tokens of the call text (with or
// without its result); sep = tokens between a prefix call and the text. Returns the row length, or
// -1 when it does not fit.
int tf_build_row(int *out, int cap, const int *z, int nz, const int *sep, int nsep, const int *x, int n_x, int i,
                 int s, tf_placement place, int *cont_start, int *n_cont);
// The window start s for position i: max(0, i + span + longest_prefix - max_len).
int tf_window_start(int i, int n_x, int longest_prefix, int max_len);

// ---- one call, compared (`toolformer compare`) -----------------------------------------------------
// The filter's three losses for one call c at one place of a text x, with the call as a prefix (the
// filter's placement) and inline, over exactly the same continuation tokens x_i .. x_{i+4}:
//   with_result L(e(c, r)),  without_result L(e(c, eps)),  plain L(eps);
//   score = min(plain, without_result) - with_result (prefix), and the call passes when score >= tau_f.
// The tools are built only when the tool must run (no given result), by the caller's make_tools
// (a toolset holding the tool the call names; freed by tf_compare_call).
typedef int (*tf_make_tools_fn)(void *ctx, const char *tool_name, tf_toolset *set, tf_error *err);
typedef struct {
    const char *text;        // x
    const tf_call *call;     // c: its name and input
    size_t char_pos;         // the byte of text before which the call goes (must start a token, > 0)
    const char *result;      // r as given, or NULL: run the tool (make_tools) with date as its context
    const char *date;        // the document's date (Calendar); may be NULL
    double tau_f;            // < 0: the tool's default (tf_tool_default_thresholds)
    tf_make_tools_fn make_tools;
    void *make_tools_ctx;
} tf_compare_request;
typedef struct {
    char *call_text;         // e(c, r) = " [Name(input) -> result]" (malloc'd)
    int *x, n_x;             // the text's token ids (malloc'd)
    int token_pos;           // i: the call goes before x[i]
    // rows and losses indexed [TF_NUM_VARIANTS * placement + variant]
    tf_scored_row rows[2 * TF_NUM_VARIANTS];
    int *row_ids[2 * TF_NUM_VARIANTS];  // the rows' storage (malloc'd)
    float loss[2 * TF_NUM_VARIANTS];
    float loss_minus;        // L- = min(plain, without_result), prefix
    float score, score_inline;  // L- - L+ with the call as a prefix / inline
    double tau_f;
    int passes;              // score >= tau_f
} tf_compare_result;
// Fills res (free it with tf_compare_result_free, also after an error). Errors: a position that is
// the text's start, its end or inside a token (TF_EBADARG, naming the byte); no tool of the call's
// name; the tool's failure; a call and text that do not fit the model's context.
int tf_compare_call(tf_model *m, const tf_tokenizer *tok, const tf_compare_request *req, tf_compare_result *res,
                    tf_error *err);
void tf_compare_result_free(tf_compare_result *res);

// ---- annotation ------------------------------------------------------------------------------------
typedef enum { TF_PROPOSER_PROMPT = 0, TF_PROPOSER_TOOL = 1, TF_PROPOSER_MODEL = 2 } tf_proposer;

typedef struct {
    float tau_s, tau_f;   // sampling and filtering thresholds
    int top_k;            // positions kept per document
    int samples;          // calls sampled (or proposals kept) per position
    int max_calls;        // kept calls per document, the best scores first (0: every call that passes)
} tf_tool_thresholds;
// The paper's defaults for a tool: tau_s 0.05, tau_f 1.0, k 5, m 5, every call that passes the
// filter kept; Calculator and MT: tau_s 0, k 20, m 10, tau_f 0.5.
tf_tool_thresholds tf_tool_default_thresholds(const char *tool_name);

typedef struct {
    tf_proposer proposer;
    tf_tool_thresholds th[TF_MAX_TOOLS];   // per tool of the toolset, in its order
    int max_call_tokens;         // tokens sampled for one call before giving up (default 32)
    float temperature;           // sampling temperature for calls (default 1.0)
    int batch;                   // rows per scoring forward pass (default 16)
    const char *prefix_sep;      // text between a prefix call and the document (default "\n")
    tf_placement placement;      // where the filter puts the call: before the text (the paper's
                                 // choice, default) or inline at its position
    uint64_t seed;
} tf_annotate_options;
void tf_annotate_defaults(tf_annotate_options *o, const tf_toolset *tools);

// One candidate call, scored.
typedef struct {
    int tool;             // index in the toolset
    char *input, *result; // malloc'd
    int token_pos;        // i: the call goes before token i of the document
    size_t char_pos;      // byte offset of token i in the document text
    float p_start;        // p(" [" | ...) at the position (0 for tool proposals without a model score)
    float loss_plus, loss_minus, loss_plain, loss_empty;  // L+, L-, L(eps), L(e(c, eps))
    float score;          // L- - L+
    int kept;
    int capped;           // passed the filter but not among the tool's max_calls best in the document
    int displaced;        // passed, but another kept call at its position scored higher (tf_merge_calls)
} tf_candidate;

typedef struct {
    tf_candidate *c;
    int n, cap;
    // per tool counts for the summary; proposed - executed calls gave no result, timed_out of them
    // because they ran out of the tool's time limit; kept: the calls inserted into the text (after
    // tf_merge_calls; before it, every call that passed the filter within max_calls), displaced: the
    // calls that passed but lost their position to a better one (tf_merge_calls moves them from kept)
    long proposed[TF_MAX_TOOLS], executed[TF_MAX_TOOLS], kept[TF_MAX_TOOLS], timed_out[TF_MAX_TOOLS];
    long displaced[TF_MAX_TOOLS];
    double score_sum[TF_MAX_TOOLS];  // of the kept calls
    int too_long;  // 1 when the document (with a tool's prompt) did not fit the model's context
} tf_candidates;
void tf_candidates_free(tf_candidates *cs);

// The per-document context the tools need.
typedef struct {
    const char *id, *text, *date;
    size_t skipped_bytes;  // > 0: a document longer than TF_MAX_DOCUMENT_BYTES, not read (text is "")
} tf_document;

// Documents longer than this are not read into memory: the corpus reader passes over them (they keep
// their place in the corpus) and annotate counts them with the documents too long for the context.
#define TF_MAX_DOCUMENT_BYTES ((size_t)16 << 20)

// Runs the pipeline on one document: for every tool (independently) prefilter, positions, calls,
// execution and the filter. Appends every scored candidate to out (kept ones marked). rng drives
// the sampling (seed it per document for reproducibility). A document whose tokens (with the tool's
// prompt and room for a call) exceed the model's context is skipped by that tool and out->too_long
// is set; one whose bytes alone prove it (more than n_positions times the longest token) is not even
// tokenized. Documents are not cut into windows: a call's result belongs to the whole text x*.
int tf_annotate_document(tf_model *m, const tf_tokenizer *tok, const tf_toolset *tools, const tf_annotate_options *o,
                         const tf_document *doc, tf_rng *rng, tf_candidates *out, tf_error *err);

// Merges the kept candidates into the text (at most one call per position: the best score), in
// position order: x* = x_{1:i-1} e(c, r) x_{i:n}. Returns the malloc'd x*, or NULL when no call is
// kept. e(c, r) = " [Tool(input) -> result]". A kept call that loses its position is marked
// displaced and moved from cs->kept (and cs->score_sum) to cs->displaced, so that afterwards kept
// counts exactly the calls written into x*.
char *tf_merge_calls(const char *text, const tf_toolset *tools, tf_candidates *cs);

// ---- a corpus through the pipeline ----------------------------------------------------------------
// Documents: JSONL lines {"id", "text", "date"} (id and date optional), or plain text where blank
// lines separate documents (any file not starting with '{' after white space and an optional UTF-8
// byte order mark). The file is read once from start to end, so "-" (stdin), a pipe or a FIFO is
// read as a stream; a directory or a device is refused (TF_EBADARG).
typedef struct tf_corpus tf_corpus;
tf_corpus *tf_corpus_open(const char *path, tf_error *err);
// The bytes read so far and their FNV-1a hash: what a resumed run checks it is reading the same
// corpus as the run it continues.
void tf_corpus_read_so_far(const tf_corpus *c, uint64_t *bytes, uint64_t *hash);
// Reads the next document (its fields stay valid until the next call). Returns 1 with doc filled,
// 0 at the end, or -1 with err naming the file and line. A document longer than
// TF_MAX_DOCUMENT_BYTES is passed over in bounded memory: 1 with doc->skipped_bytes set, text "", no
// date, and its index as id (a JSONL line that long is not parsed).
int tf_corpus_next(tf_corpus *c, tf_document *doc, long *index, tf_error *err);
void tf_corpus_close(tf_corpus *c);

typedef struct {
    tf_annotate_options opt;
    const char *data, *out, *rejected;  // rejected may be NULL
    int shard_k, shard_n;               // process documents with index % shard_n == shard_k
    long max_docs;                      // stop after this many documents of this shard (0: all)
    int resume;                         // continue from out's progress file
    int force;                          // replace existing outputs (else an existing one is refused)
    int quiet;
    const char *model_dir;              // the model's directory (may be NULL): never written to
    const char *settings;               // the tools' settings (--today, --index, ...) as text, part
                                        // of the run's identity (may be NULL)
    uint64_t model_id;                  // a fingerprint of the model (0: none), part of the identity
} tf_annotate_run;

typedef struct {
    long docs, docs_written;
    long too_long;  // documents a tool skipped because they do not fit the model's context
    // kept: calls written into OUT; displaced: calls that passed the filter but lost their position
    // to a better call (written to --rejected with "displaced": true); score_sum: of the kept calls
    long proposed[TF_MAX_TOOLS], executed[TF_MAX_TOOLS], kept[TF_MAX_TOOLS], timed_out[TF_MAX_TOOLS];
    long displaced[TF_MAX_TOOLS];
    double score_sum[TF_MAX_TOOLS];
    double seconds;  // of this invocation
    long docs_run;   // documents processed by this invocation (docs counts the resumed ones too)
    int complete;  // the whole corpus (of this shard) has been processed
} tf_annotate_summary;

// Annotates a corpus into augmented JSONL (DESIGN.md section 4): {"id", "doc_index", "text": x*,
// "calls": [{"tool", "input", "result", "char_pos", "token_pos", "loss_plus", "loss_minus", "score",
// "loss_plain", "loss_empty"}], "source_text", "date"} (doc_index: the document's 0-based place in
// the corpus; loss_plain and loss_empty: the two losses L- is the smaller of); documents with no
// kept call are not written. With run->rejected, every scored call that was not kept is written
// there, one a line, with the same fields plus "id", "doc_index" and "capped": true when it passed
// the filter but was over max_calls. Progress lives in OUT.progress, updated after each document, so
// --resume continues after a crash or kill with nothing lost and nothing written twice (outputs
// are cut back to the last recorded document first); it also records the shard and, once the
// corpus is done, "complete": true. The outputs follow the output rule (tf_outguard.h): one that is
// an input or exists without resume/force is refused before anything is written, and OUT.lock
// keeps a second writer out. The progress file records the run's identity (model, tools and their
// settings, sampling and filter options, corpus size and a hash of the corpus read so far):
// resuming a different run is refused naming the first difference, and so is an output shorter
// than its progress record.
int tf_annotate_corpus(tf_model *m, const tf_tokenizer *tok, const tf_toolset *tools, const tf_annotate_run *run,
                       tf_annotate_summary *sum, tf_error *err);

// ---- shards --------------------------------------------------------------------------------------
// Joins the outputs of annotate shards (augmented or rejected JSONL: lines with "doc_index", each
// file in corpus order) into out in corpus order, lines copied byte for byte, so that the shards
// of --shard K/N (or of mpirun) merge into exactly what one process writes. out is written to a
// temporary file and renamed, so it is whole or absent. Errors name the file and line: a line that
// is not a JSON object with an integer doc_index >= 0, indexes going backwards in a file, a
// document in two shards, a last line cut short. Unless partial: a shard whose SHARD.progress says
// its run has not finished, and, when every shard has a progress file, shards of different N or a
// missing or repeated K. *lines (may be NULL) gets the number of lines written.
int tf_merge_shards(const char *out, const char *const *shards, int n_shards, int partial, long *lines,
                    tf_error *err);

#endif
