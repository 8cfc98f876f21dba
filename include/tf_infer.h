// tf_infer.h — decoding with tools (Toolformer §2, §4.2): greedy (or sampled) decoding that starts a
// call whenever " [" is among the k most likely tokens, stops at "->", runs the tool, inserts
// " result]" and decodes on; at most max_calls calls per input.
//
// Two ways in: tf_generate_with_tools decodes one prompt to the end; the step API (tf_toolgen_start,
// tf_toolgen_step, tf_toolgen_done, tf_toolgen_result_take, tf_toolgen_free) holds one request's
// decoding state and advances it one token at a time, so a caller (a server) can interleave many
// requests, stream each one's text, and stop any of them between steps. Both give the same tokens.
#ifndef TF_INFER_H
#define TF_INFER_H

#include "tf_model.h"
#include "tf_tokenizer.h"
#include "tf_tools.h"

typedef struct {
    int max_new;           // tokens to generate (calls included)
    tf_sampler sampler;    // temperature 0: greedy
    uint64_t seed;
    int api_top_k;         // start a call when " [" is among the top k tokens (default 10; 0: only when argmax)
    int max_calls;         // default 1, at most TF_TOOLGEN_MAX_CALLS
    int disable;           // "Toolformer (disabled)": p(" [") is set to 0
    int no_tools;          // plain decoding: calls are neither forced nor executed (the base model)
    int stop_at_eos;       // stop at the end-of-text token
    int stop_at_newline;   // stop when a newline is generated (outside calls)
    int max_call_tokens;   // a call longer than this is abandoned (default 32)
    // streaming: called with each piece of text as it becomes final (may be NULL)
    void (*on_text)(void *ctx, const char *text, size_t len);
    void *ctx;
} tf_toolgen_options;
void tf_toolgen_defaults(tf_toolgen_options *o);

#define TF_TOOLGEN_MAX_CALLS 16  // calls one generation may make (and record)

typedef struct {
    char tool[64];
    char *input, *result;  // result NULL: the tool gave none (or the call never reached "->")
    size_t text_pos;       // byte offset of the call in the generated text
} tf_toolgen_call;

typedef struct {
    char *text;            // the generated text (without the prompt), calls included
    size_t len;
    int *ids, n_ids;       // the generated ids: they decode to text (a call run at "->" as its
                           // re-tokenized canonical text, a call closed by "]" as its own tokens)
    tf_toolgen_call calls[TF_TOOLGEN_MAX_CALLS];
    int n_calls;
} tf_toolgen_result;
void tf_toolgen_result_free(tf_toolgen_result *r);

// Generates from prompt. tools may be NULL (or empty) for plain decoding; ctx gives the document's
// date to the Calendar. A prompt that leaves no room in the model's context is TF_ETOOLONG (the
// message names its length and the context).
int tf_generate_with_tools(tf_model *m, const tf_tokenizer *tok, const tf_toolset *tools, const tf_tool_context *ctx,
                           const char *prompt, const tf_toolgen_options *o, tf_toolgen_result *res, tf_error *err);

// ---- the step API: one request, one token at a time -------------------------------------------------
typedef struct tf_toolgen tf_toolgen;

// The prompt's token ids as decoding starts from them (*ids malloc'd; an empty prompt is the
// end-of-text token). TF_ETOOLONG when the prompt leaves no room in the model's context, naming
// both lengths.
int tf_toolgen_prompt_ids(const tf_model *m, const tf_tokenizer *tok, const char *prompt, int **ids, int *n,
                          tf_error *err);
// Starts a request: tokenizes and prefills prompt into a KV cache of its own. m, tok, tools and ctx
// are borrowed and must outlive the state; o is copied. NULL with err set (TF_ETOOLONG: the prompt
// does not fit; TF_EBADARG: o->max_calls above TF_TOOLGEN_MAX_CALLS).
tf_toolgen *tf_toolgen_start(tf_model *m, const tf_tokenizer *tok, const tf_toolset *tools,
                             const tf_tool_context *ctx, const char *prompt, const tf_toolgen_options *o,
                             tf_error *err);
// One step: outside a call, one token of text (or the " [" that opens a call); inside a call, one
// token of the call, and when the call reaches "->" the tool runs and the call's canonical text is
// fed. Text is passed to o->on_text as it becomes final. Does nothing once tf_toolgen_done.
int tf_toolgen_step(tf_toolgen *g, tf_error *err);
// Whether decoding has ended: max_new steps taken, the context full, end-of-text (stop_at_eos) or a
// newline (stop_at_newline).
int tf_toolgen_done(const tf_toolgen *g);
// Moves the text, ids and calls decided so far into res (free with tf_toolgen_result_free); the
// state keeps no result after it.
int tf_toolgen_result_take(tf_toolgen *g, tf_toolgen_result *res, tf_error *err);
void tf_toolgen_free(tf_toolgen *g);

// The text with every call "[...]" (and the space before it) removed: what an evaluation reads.
char *tf_strip_calls(const char *text);

#endif
