// tf_tokenizer.h — byte-level BPE exactly as GPT-2 does it: Hugging Face tokenizer files, encode,
// decode, and a trainer for new vocabularies.
//
// Tokens are byte strings. Encoding splits the text with GPT-2's pre-tokenizer (contractions,
// letters, numbers, other symbols, whitespace; Unicode-aware), maps each piece's bytes to their
// single-byte tokens and applies the merges lowest rank first. Decoding concatenates the tokens'
// bytes, so decode(encode(x)) == x for every byte string x, valid UTF-8 or not.
//
// A tf_tokenizer is read-only after load/train; encode and decode may be called from several
// threads at once (the per-word cache inside is locked).
#ifndef TF_TOKENIZER_H
#define TF_TOKENIZER_H

#include "tf_common.h"

typedef struct tf_tokenizer tf_tokenizer;

// Loads the tokenizer in dir, trying in order:
//   tokenizer.json           Hugging Face (model.type "BPE", vocab, merges, added_tokens)
//   vocab.json + merges.txt  Hugging Face / GPT-2 pair
//   encoder.json + vocab.bpe OpenAI's original GPT-2 files
// Malformed or inconsistent files (duplicate ids, a merge naming an unknown token) fail with a
// TF_EBADFILE message naming the file and place; a directory with none of them fails with TF_EIO.
// A tokenizer.json must be GPT-2 style: BPE without byte_fallback or subword prefixes, a ByteLevel
// pre-tokenizer (GPT-2's regex, no prefix space), no normalizer other than NFC (which is not
// applied: encodings match Hugging Face's on NFC text). Its added_tokens are matched as whole
// strings before BPE when encoding with allow_special.
tf_tokenizer *tf_tokenizer_load(const char *dir, tf_error *err);

// Encodes text[len] (any bytes) into *ids (malloc'd, caller frees; NULL when *n is 0).
// Special tokens (added tokens marked special, e.g. <|endoftext|>) are recognised in the text only
// when allow_special is non-zero; otherwise their text is encoded like any other.
// Returns TF_OK or an error code (a byte with no token in the vocabulary, out of memory).
int tf_tokenizer_encode(const tf_tokenizer *t, const char *text, size_t len, int allow_special,
                        int **ids, int *n, tf_error *err);

// Decodes ids[n] to the exact bytes (malloc'd, NUL-terminated; *len, when non-NULL, gets the length
// without the NUL). An id outside the vocabulary fails with TF_EBADARG naming its position.
char *tf_tokenizer_decode(const tf_tokenizer *t, const int *ids, int n, size_t *len, tf_error *err);

// Number of ids: one more than the largest id (the model's embedding rows must be at least this).
int tf_tokenizer_vocab_size(const tf_tokenizer *t);

// The id of the token whose bytes are exactly s (NUL-terminated), or -1. E.g. " [", "]", " ->".
int tf_tokenizer_token_id(const tf_tokenizer *t, const char *s);
// Same for a byte string of length len.
int tf_tokenizer_token_id_n(const tf_tokenizer *t, const char *s, size_t len);

// The bytes of token id (not NUL-terminated; *len gets the length), or NULL for an unknown id.
const char *tf_tokenizer_token_bytes(const tf_tokenizer *t, int id, size_t *len);

// The id of <|endoftext|>, or -1 when the vocabulary has none.
int tf_tokenizer_eos_id(const tf_tokenizer *t);

// Writes dir/tokenizer.json (Hugging Face `tokenizers` loads it: ByteLevel pre-tokenizer, after
// Digits when the tokenizer splits digits, ByteLevel decoder, BPE model, added tokens), plus
// vocab.json and merges.txt. Creates dir if needed. The pair alone cannot say that digits are
// split: loaded without tokenizer.json, it encodes numbers as GPT-2 would.
int tf_tokenizer_save(const tf_tokenizer *t, const char *dir, tf_error *err);

// Trains a byte-level BPE vocabulary of vocab_size ids on text[len]: the 256 byte tokens, then
// merges of the most frequent adjacent pair (ties broken by the smaller pair of ids) within the
// GPT-2 pre-tokenizer's pieces, then the special tokens (their text is not learned from). The call
// markers " [", "]" and " ->" are forced to be single tokens (their merges come first). Stops
// early, with a smaller vocabulary, when no pair occurs twice. vocab_size must leave room for the
// 256 bytes, the forced merges and the specials.
int tf_tokenizer_train(const char *text, size_t len, int vocab_size, const char *const *special,
                       int n_special, tf_tokenizer **out, tf_error *err);

// tf_tokenizer_train with a progress callback (may be NULL), called now and then with a stage
// name ("counting" over bytes of text, "merging" over merges) and its progress. split_digits != 0
// puts Hugging Face's Digits(individual_digits) pre-tokenizer before GPT-2's (as LLaMA's tokenizer
// does): every digit is a token of its own, so every number is spelt digit by digit and no number
// is a token the model may never have seen. The tokenizer keeps the choice
// (tf_tokenizer_splits_digits) and tokenizer.json records it.
typedef void (*tf_tokenizer_progress_fn)(void *ctx, const char *stage, long done, long total);
int tf_tokenizer_train_progress(const char *text, size_t len, int vocab_size,
                                const char *const *special, int n_special, int split_digits,
                                tf_tokenizer **out, tf_tokenizer_progress_fn progress, void *ctx,
                                tf_error *err);

// 1 when the pre-tokenizer isolates every digit (a tokenizer.json with a Digits(individual_digits)
// pre-tokenizer before the ByteLevel one, or trained so), 0 for GPT-2's.
int tf_tokenizer_splits_digits(const tf_tokenizer *t);

void tf_tokenizer_free(tf_tokenizer *t);

#endif
