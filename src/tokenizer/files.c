// files.c — reading and writing tokenizer files: Hugging Face tokenizer.json, vocab.json +
// merges.txt, and OpenAI's encoder.json + vocab.bpe (the same two formats under other names).
#include <assert.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <unistd.h>

#include "tokenizer_internal.h"

static int exists(const char *path) { return access(path, F_OK) == 0; }

static cJSON *parse_json_file(const char *path, tf_error *err) {
    size_t len;
    char *text = tf_read_file(path, &len, err);
    if (!text) return NULL;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!j) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0, line = 1, col = 1;
        for (size_t i = 0; i < at && i < len; i++) {
            if (text[i] == '\n') line++, col = 1;
            else col++;
        }
        tf_errorf(err, TF_EBADFILE, "%s:%zu:%zu: invalid JSON (byte %zu)", path, line, col, at);
    }
    free(text);
    return j;
}

// Adds every "token": id of a vocabulary object.
static int load_vocab_object(tf_tokenizer *t, const cJSON *vocab, const char *where, tf_error *err) {
    if (!cJSON_IsObject(vocab)) return tf_errorf(err, TF_EBADFILE, "%s: the vocabulary is not a JSON object", where);
    char *buf = NULL;
    size_t cap = 0;
    int rc = TF_OK;
    for (const cJSON *e = vocab->child; e; e = e->next) {
        size_t n = strlen(e->string);
        if (!cJSON_IsNumber(e) || e->valuedouble != (double)e->valueint || e->valueint < 0) {
            rc = tf_errorf(err, TF_EBADFILE, "%s: token '%.60s' has id %s, expected a non-negative integer", where,
                           e->string, cJSON_IsNumber(e) ? "out of range" : "that is not a number");
            break;
        }
        if (n + 1 > cap) {
            cap = 2 * (n + 1);
            char *nb = realloc(buf, cap);
            if (!nb) { rc = tf_errorf(err, TF_ENOMEM, "out of memory"); break; }
            buf = nb;
        }
        size_t m = tok_unmap_string(e->string, n, buf);
        if ((rc = tok_set_token(t, e->valueint, buf, m, where, err))) break;
    }
    free(buf);
    if (!rc && t->vocab_size == 0) rc = tf_errorf(err, TF_EBADFILE, "%s: the vocabulary is empty", where);
    return rc;
}

// Adds merge "left right" (byte-level strings); where names the file and line or index.
static int add_merge_strings(tf_tokenizer *t, const char *l, size_t ln, const char *r, size_t rn,
                             const char *where, tf_error *err) {
    if (!ln || !rn) return tf_errorf(err, TF_EBADFILE, "%s: a merge needs two tokens", where);
    char *buf = malloc(ln + rn);
    if (!buf) return tf_errorf(err, TF_ENOMEM, "out of memory");
    size_t a = tok_unmap_string(l, ln, buf);
    size_t b = tok_unmap_string(r, rn, buf + a);
    int left = tf_tokenizer_token_id_n(t, buf, a);
    int right = tf_tokenizer_token_id_n(t, buf + a, b);
    int result = tf_tokenizer_token_id_n(t, buf, a + b);
    free(buf);
    if (left < 0 || right < 0)
        return tf_errorf(err, TF_EBADFILE, "%s: merge '%.*s %.*s' names unknown token '%.*s'", where, (int)ln, l,
                         (int)rn, r, left < 0 ? (int)ln : (int)rn, left < 0 ? l : r);
    if (result < 0)
        return tf_errorf(err, TF_EBADFILE, "%s: merge '%.*s %.*s' makes '%.*s%.*s', which is not in the vocabulary",
                         where, (int)ln, l, (int)rn, r, (int)ln, l, (int)rn, r);
    return tok_add_merge_ids(t, left, right, result, err);
}

static int load_merges_txt(tf_tokenizer *t, const char *path, tf_error *err) {
    size_t len;
    char *text = tf_read_file(path, &len, err);
    if (!text) return err ? err->code : TF_EIO;
    int rc = TF_OK, line = 0;
    char where[4200];
    for (char *p = text; p < text + len && !rc;) {
        char *eol = memchr(p, '\n', (size_t)(text + len - p));
        if (!eol) eol = text + len;
        size_t n = (size_t)(eol - p);
        if (n && p[n - 1] == '\r') n--;
        line++;
        snprintf(where, sizeof where, "%s:%d", path, line);
        if (n && !(line == 1 && n >= 8 && !memcmp(p, "#version", 8))) {
            char *sp = memchr(p, ' ', n);
            if (!sp || memchr(sp + 1, ' ', n - (size_t)(sp + 1 - p)))
                rc = tf_errorf(err, TF_EBADFILE, "%s: expected two tokens separated by one space, got '%.*s'", where,
                               (int)(n > 60 ? 60 : n), p);
            else
                rc = add_merge_strings(t, p, (size_t)(sp - p), sp + 1, n - (size_t)(sp + 1 - p), where, err);
        }
        p = eol + 1;
    }
    free(text);
    return rc;
}

static int load_pair(tf_tokenizer *t, const char *vocab_path, const char *merges_path, tf_error *err) {
    cJSON *v = parse_json_file(vocab_path, err);
    if (!v) return err ? err->code : TF_EBADFILE;
    int rc = load_vocab_object(t, v, vocab_path, err);
    cJSON_Delete(v);
    if (!rc) {
        // GPT-2's end-of-text token is special in these formats too.
        int eos = -1;
        for (int id = 0; id < t->vocab_size && eos < 0; id++)
            if (t->tok[id].len == 13 && !memcmp(t->pool + t->tok[id].off, "<|endoftext|>", 13)) eos = id;
        if (eos >= 0) rc = tok_add_added(t, eos, 1, err);
    }
    if (!rc) rc = tok_build_map(t, vocab_path, err);
    if (!rc) rc = load_merges_txt(t, merges_path, err);
    return rc;
}

static const char *type_of(const cJSON *o) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(type) ? type->valuestring : "?";
}

// The pipeline around the BPE model must be GPT-2's: a ByteLevel pre-tokenizer with its regex and
// no prefix space, optionally after Digits(individual_digits=true) in a Sequence (sets
// t->split_digits), and no normalizer that changes text (NFC is accepted: it is the identity on the
// NFC text that models are trained on, and is not applied here).
static int check_pipeline(tf_tokenizer *t, const cJSON *j, const char *path, tf_error *err) {
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(j, "pre_tokenizer");
    if (pre && !cJSON_IsNull(pre)) {
        const char *ty = type_of(pre);
        if (!strcmp(ty, "Sequence")) {
            const cJSON *seq = cJSON_GetObjectItemCaseSensitive(pre, "pretokenizers");
            const cJSON *a = cJSON_IsArray(seq) ? seq->child : NULL, *b = a ? a->next : NULL;
            if (!a || !b || b->next || strcmp(type_of(a), "Digits") || strcmp(type_of(b), "ByteLevel") ||
                !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "individual_digits")))
                return tf_errorf(err, TF_EBADFILE, "%s: pre_tokenizer Sequence is not supported (only "
                                 "[Digits(individual_digits=true), ByteLevel])", path);
            t->split_digits = 1;
            pre = b;
        } else if (strcmp(ty, "ByteLevel")) {
            return tf_errorf(err, TF_EBADFILE, "%s: pre_tokenizer '%s' is not supported (only GPT-2's ByteLevel, "
                             "optionally after Digits)", path, ty);
        }
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pre, "add_prefix_space")))
            return tf_errorf(err, TF_EBADFILE, "%s: pre_tokenizer add_prefix_space is not supported", path);
        if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(pre, "use_regex")))
            return tf_errorf(err, TF_EBADFILE, "%s: pre_tokenizer without GPT-2's regex is not supported", path);
    }
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(j, "normalizer");
    if (norm && !cJSON_IsNull(norm) && strcmp(type_of(norm), "NFC"))
        return tf_errorf(err, TF_EBADFILE, "%s: normalizer '%s' is not supported", path, type_of(norm));
    return TF_OK;
}

static int load_hf_json(tf_tokenizer *t, const char *path, tf_error *err) {
    cJSON *j = parse_json_file(path, err);
    if (!j) return err ? err->code : TF_EBADFILE;
    int rc = TF_OK;
    char where[4200];
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(model, "continuing_subword_prefix");
    const cJSON *suffix = cJSON_GetObjectItemCaseSensitive(model, "end_of_word_suffix");
    if (!cJSON_IsObject(model)) {
        rc = tf_errorf(err, TF_EBADFILE, "%s: no \"model\" object", path);
    } else if (type && (!cJSON_IsString(type) || strcmp(type->valuestring, "BPE"))) {
        rc = tf_errorf(err, TF_EBADFILE, "%s: model type '%s' is not supported (only byte-level BPE)", path,
                       cJSON_IsString(type) ? type->valuestring : "?");
    } else if ((cJSON_IsString(prefix) && prefix->valuestring[0]) || (cJSON_IsString(suffix) && suffix->valuestring[0])) {
        rc = tf_errorf(err, TF_EBADFILE, "%s: subword prefixes/suffixes are not supported (only byte-level BPE)", path);
    } else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "byte_fallback"))) {
        rc = tf_errorf(err, TF_EBADFILE, "%s: byte_fallback BPE (SentencePiece style) is not supported (only "
                       "byte-level BPE)", path);
    } else if ((rc = check_pipeline(t, j, path, err))) {
    } else if (!cJSON_IsArray(merges)) {
        rc = tf_errorf(err, TF_EBADFILE, "%s: model.merges is missing or not an array", path);
    } else {
        snprintf(where, sizeof where, "%s: model.vocab", path);
        rc = load_vocab_object(t, vocab, where, err);
    }
    // added_tokens: [{"id", "content", "special", ...}]; content is raw text, not byte-level.
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(j, "added_tokens");
    int i = 0;
    for (const cJSON *a = cJSON_IsArray(added) ? added->child : NULL; a && !rc; a = a->next, i++) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "id");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(a, "content");
        const cJSON *special = cJSON_GetObjectItemCaseSensitive(a, "special");
        snprintf(where, sizeof where, "%s: added_tokens[%d]", path, i);
        if (!cJSON_IsNumber(id) || id->valuedouble != (double)id->valueint || id->valueint < 0 ||
            !cJSON_IsString(content) || !content->valuestring[0]) {
            rc = tf_errorf(err, TF_EBADFILE, "%s: expected an integer \"id\" and a non-empty \"content\"", where);
            break;
        }
        size_t n = strlen(content->valuestring);
        int have = id->valueint < t->vocab_size && t->tok[id->valueint].len >= 0;
        if (have && ((size_t)t->tok[id->valueint].len != n ||
                     memcmp(t->pool + t->tok[id->valueint].off, content->valuestring, n))) {
            rc = tf_errorf(err, TF_EBADFILE, "%s: id %d is '%s' here but '%.*s' in model.vocab", where, id->valueint,
                           content->valuestring, t->tok[id->valueint].len, t->pool + t->tok[id->valueint].off);
            break;
        }
        if (!have) rc = tok_set_token(t, id->valueint, content->valuestring, n, where, err);
        if (!rc) rc = tok_add_added(t, id->valueint, !special || cJSON_IsTrue(special), err);
    }
    if (!rc) rc = tok_build_map(t, path, err);
    i = 0;
    for (const cJSON *m = rc ? NULL : merges->child; m && !rc; m = m->next, i++) {
        snprintf(where, sizeof where, "%s: model.merges[%d]", path, i);
        if (cJSON_IsString(m)) {
            const char *s = m->valuestring, *sp = strchr(s, ' ');
            if (!sp || strchr(sp + 1, ' '))
                rc = tf_errorf(err, TF_EBADFILE, "%s: expected \"left right\", got '%.60s'", where, s);
            else
                rc = add_merge_strings(t, s, (size_t)(sp - s), sp + 1, strlen(sp + 1), where, err);
        } else if (cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) && cJSON_IsString(m->child->next)) {
            const char *l = m->child->valuestring, *r = m->child->next->valuestring;
            rc = add_merge_strings(t, l, strlen(l), r, strlen(r), where, err);
        } else {
            rc = tf_errorf(err, TF_EBADFILE, "%s: expected a string or a pair of strings", where);
        }
    }
    cJSON_Delete(j);
    return rc;
}

tf_tokenizer *tf_tokenizer_load(const char *dir, tf_error *err) {
    assert(err != NULL);
    if (!dir || !*dir) {
        tf_errorf(err, TF_EBADARG, "tf_tokenizer_load: no directory given");
        return NULL;
    }
    char a[4096], b[4096];
    tf_tokenizer *t = tok_new();
    if (!t) {
        tf_errorf(err, TF_ENOMEM, "out of memory");
        return NULL;
    }
    int rc;
    if (exists(tf_path_join(a, sizeof a, dir, "tokenizer.json"))) {
        rc = load_hf_json(t, a, err);
    } else {
        static const char *const pairs[2][2] = {{"vocab.json", "merges.txt"}, {"encoder.json", "vocab.bpe"}};
        rc = -1;
        for (int p = 0; p < 2 && rc < 0; p++) {
            int va = exists(tf_path_join(a, sizeof a, dir, pairs[p][0]));
            int vb = exists(tf_path_join(b, sizeof b, dir, pairs[p][1]));
            if (va && vb) rc = load_pair(t, a, b, err);
            else if (va || vb)
                rc = tf_errorf(err, TF_EIO, "%s: missing (%s is there)", va ? b : a, pairs[p][va ? 0 : 1]);
        }
        if (rc < 0)
            rc = tf_errorf(err, TF_EIO, "%s: no tokenizer found (tokenizer.json, vocab.json + merges.txt, or "
                           "encoder.json + vocab.bpe)", dir);
    }
    if (!rc) rc = tok_finish(t, err);
    if (rc) {
        tf_tokenizer_free(t);
        return NULL;
    }
    return t;
}

// ---- saving --------------------------------------------------------------------------------
typedef struct { char *s; size_t n, cap; int oom; } sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->n + n + 1) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) { b->oom = 1; return; }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}
static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

// Appends s[n] (valid UTF-8) as a JSON string.
static void sb_json(sbuf *b, const char *s, size_t n) {
    sb_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; sb_put(b, esc, 2); }
        else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); sb_put(b, esc, 6); }
        else sb_put(b, (const char *)&c, 1);
    }
    sb_put(b, "\"", 1);
}

// Appends token id's byte-level form (each byte as GPT-2's character), raw (no quotes).
static void sb_bytelevel(sbuf *b, const tf_tokenizer *t, int id) {
    char u[4];
    for (int i = 0; i < t->tok[id].len; i++)
        sb_put(b, u, tf_utf8_encode(tok_byte_char((unsigned char)t->pool[t->tok[id].off + i]), u));
}

static void sb_bytelevel_json(sbuf *b, const tf_tokenizer *t, int id) {
    sbuf tmp = {0};
    sb_bytelevel(&tmp, t, id);
    if (tmp.oom) b->oom = 1;
    else sb_json(b, tmp.s ? tmp.s : "", tmp.n);
    free(tmp.s);
}

static int valid_utf8(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int l = (int)tf_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (!l || cp == 0) return 0;
        i += (size_t)l;
    }
    return 1;
}

static void sb_vocab(sbuf *b, const tf_tokenizer *t, const char *indent) {
    sb_str(b, "{");
    int first = 1;
    char num[32];
    for (int id = 0; id < t->vocab_size; id++) {
        if (t->tok[id].len < 0) continue;
        sb_str(b, first ? "\n" : ",\n");
        sb_str(b, indent);
        sb_bytelevel_json(b, t, id);
        snprintf(num, sizeof num, ": %d", id);
        sb_str(b, num);
        first = 0;
    }
    sb_str(b, "\n");
    sb_put(b, indent, strlen(indent) >= 2 ? strlen(indent) - 2 : 0);
    sb_str(b, "}");
}

int tf_tokenizer_save(const tf_tokenizer *t, const char *dir, tf_error *err) {
    if (!t || !dir) return tf_errorf(err, TF_EBADARG, "tf_tokenizer_save: no tokenizer or directory");
    for (int k = 0; k < t->n_added; k++) {
        int id = t->added[k].id;
        if (!valid_utf8(t->pool + t->tok[id].off, (size_t)t->tok[id].len))
            return tf_errorf(err, TF_EBADARG, "%s: added token %d is not valid UTF-8 and cannot be saved", dir, id);
    }
    int rc = tf_mkdir_p(dir, err);
    if (rc) return rc;
    char path[4096], num[64];
    sbuf j = {0};
    // tokenizer.json, laid out as Hugging Face writes GPT-2's.
    sb_str(&j, "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [");
    for (int k = 0; k < t->n_added; k++) {
        int id = t->added[k].id;
        snprintf(num, sizeof num, "%s\n    {\n      \"id\": %d,\n      \"content\": ", k ? "," : "", id);
        sb_str(&j, num);
        sb_json(&j, t->pool + t->tok[id].off, (size_t)t->tok[id].len);
        sb_str(&j, ",\n      \"single_word\": false,\n      \"lstrip\": false,\n      \"rstrip\": false,\n"
                   "      \"normalized\": false,\n      \"special\": ");
        sb_str(&j, t->added[k].special ? "true\n    }" : "false\n    }");
    }
    sb_str(&j, t->n_added ? "\n  ],\n" : "],\n");
    sb_str(&j, "  \"normalizer\": null,\n  \"pre_tokenizer\": ");
    if (t->split_digits)
        sb_str(&j, "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\", \"individual_digits\": true}, ");
    sb_str(&j, "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}");
    sb_str(&j, t->split_digits ? "]},\n" : ",\n");
    sb_str(&j, "  \"post_processor\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": false, "
               "\"use_regex\": true},\n"
               "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, "
               "\"use_regex\": true},\n"
               "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"
               "    \"continuing_subword_prefix\": \"\",\n    \"end_of_word_suffix\": \"\",\n"
               "    \"fuse_unk\": false,\n    \"byte_fallback\": false,\n    \"vocab\": ");
    sb_vocab(&j, t, "      ");
    sb_str(&j, ",\n    \"merges\": [");
    sbuf pair = {0};
    for (int r = 0; r < t->n_merges; r++) {
        sb_str(&j, r ? ",\n      " : "\n      ");
        pair.n = 0;
        sb_bytelevel(&pair, t, t->merges[r][0]);
        sb_str(&pair, " ");
        sb_bytelevel(&pair, t, t->merges[r][1]);
        if (pair.oom) j.oom = 1;
        else sb_json(&j, pair.s, pair.n);
    }
    free(pair.s);
    sb_str(&j, t->n_merges ? "\n    ]\n  }\n}\n" : "]\n  }\n}\n");
    // vocab.json + merges.txt for tools that read the older pair.
    sbuf v = {0}, m = {0};
    sb_vocab(&v, t, "  ");
    sb_str(&v, "\n");
    sb_str(&m, "#version: 0.2\n");
    for (int r = 0; r < t->n_merges; r++) {
        sb_bytelevel(&m, t, t->merges[r][0]);
        sb_str(&m, " ");
        sb_bytelevel(&m, t, t->merges[r][1]);
        sb_str(&m, "\n");
    }
    if (j.oom || v.oom || m.oom) rc = tf_errorf(err, TF_ENOMEM, "out of memory while saving the tokenizer");
    if (!rc) rc = tf_write_file_atomic(tf_path_join(path, sizeof path, dir, "tokenizer.json"), j.s, j.n, err);
    if (!rc) rc = tf_write_file_atomic(tf_path_join(path, sizeof path, dir, "vocab.json"), v.s, v.n, err);
    if (!rc) rc = tf_write_file_atomic(tf_path_join(path, sizeof path, dir, "merges.txt"), m.s, m.n, err);
    free(j.s);
    free(v.s);
    free(m.s);
    return rc;
}
