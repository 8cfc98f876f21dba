// tf_infer.h — decoding with tools (Toolformer §2, §4.2): greedy (or sampled) decoding that starts a
// call whenever " [" is among the k most likely tokens, stops at "->", runs the tool, inserts
// " result]" and decodes on; at most max_calls calls per input.
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
    int max_calls;         // default 1
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

typedef struct {
    char tool[64];
    char *input, *result;  // result NULL: the tool gave none (or the call never reached "->")
    size_t text_pos;       // byte offset of the call in the generated text
} tf_toolgen_call;

typedef struct {
    char *text;            // the generated text (without the prompt), calls included
    size_t len;
    int *ids, n_ids;       // the generated ids (the calls as re-tokenized text)
    tf_toolgen_call calls[16];
    int n_calls;
} tf_toolgen_result;
void tf_toolgen_result_free(tf_toolgen_result *r);

// Generates from prompt. tools may be NULL (or empty) for plain decoding; ctx gives the document's
// date to the Calendar.
int tf_generate_with_tools(tf_model *m, const tf_tokenizer *tok, const tf_toolset *tools, const tf_tool_context *ctx,
                           const char *prompt, const tf_toolgen_options *o, tf_toolgen_result *res, tf_error *err);

// The text with every call "[...]" (and the space before it) removed: what an evaluation reads.
char *tf_strip_calls(const char *text);

#endif
