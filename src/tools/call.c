// call.c — the inline call syntax of Toolformer (§2, footnote 1): "[Name(input) -> result]", with
// " [", "]" and "->" standing for <API>, </API> and the arrow. Parsing must survive whatever text a
// model writes, so it is a single bounded forward scan with no recursion; the grammar is in
// tf_tools.h. Quoted inputs (QA("Who ...?")) and unquoted ones (Calculator((2+3)*4)) both parse.
#include <assert.h>
#include "tf_tools.h"

#include <stdlib.h>
#include <string.h>

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static int is_name_char(char c) {
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static char *dup_range(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

// After the input's closing ')' at text[i]: ws* then "]" or "->". Returns the index of ']' or of
// '-', or (size_t)-1.
static size_t after_input(const char *t, size_t len, size_t i) {
    i++;
    while (i < len && is_ws(t[i])) i++;
    if (i < len && t[i] == ']') return i;
    if (i + 1 < len && t[i] == '-' && t[i + 1] == '>') return i;
    return (size_t)-1;
}

// Strict quoted input starting at the '"' at t[q]: \" and \\ are escapes; the closing quote must be
// followed by ws* ')' and then "]" or "->". On success *input is malloc'd and *close is the ')'.
static int parse_quoted(const char *t, size_t len, size_t q, char **input, size_t *close) {
    size_t i = q + 1, n = 0;
    char *buf = malloc(len - q);
    if (!buf) return -2;
    while (i < len && t[i] != '"') {
        if (t[i] == '\\' && i + 1 < len && (t[i + 1] == '"' || t[i + 1] == '\\')) i++;
        buf[n++] = t[i++];
    }
    if (i >= len) {
        free(buf);
        return -1;
    }
    i++;
    while (i < len && is_ws(t[i])) i++;
    if (i >= len || t[i] != ')' || after_input(t, len, i) == (size_t)-1) {
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *input = buf;
    *close = i;
    return 0;
}

// Parses "[Name(input)]" / "[Name(input) -> result]", or with open set the open form
// "[Name(input) ->" followed by nothing but whitespace.
static int parse_call(const char *text, size_t len, tf_call *call, tf_error *err, int open_form) {
    memset(call, 0, sizeof *call);
    const char *t = text;
    if (!t || len < 4 || t[0] != '[')
        return tf_errorf(err, TF_EBADFILE, "call: expected '[' to start a call");
    size_t i = 1;
    if (!is_name_start(t[i])) return tf_errorf(err, TF_EBADFILE, "call: expected a tool name after '['");
    while (i < len && is_name_char(t[i])) i++;
    size_t name_len = i - 1;
    if (name_len >= sizeof call->name)
        return tf_errorf(err, TF_EBADFILE, "call: tool name longer than %zu bytes", sizeof call->name - 1);
    while (i < len && is_ws(t[i])) i++;
    if (i >= len || t[i] != '(') return tf_errorf(err, TF_EBADFILE, "call: expected '(' after the tool name");
    size_t open = i++;

    char *input = NULL;
    size_t close = 0;
    size_t q = i;
    while (q < len && is_ws(t[q])) q++;
    if (q < len && t[q] == '"') {
        int rc = parse_quoted(t, len, q, &input, &close);
        if (rc == -2) return tf_errorf(err, TF_ENOMEM, "call: out of memory");
    }
    if (!input) {
        // Unquoted: the first ')' followed by ws* and "]" or "->"; a ']' that closes no '[' of the
        // input means the call is malformed (it would swallow the text after it).
        int depth = 0;
        close = (size_t)-1;
        for (size_t k = i; k < len; k++) {
            char c = t[k];
            if (c == '[') depth++;
            else if (c == ']') {
                if (--depth < 0) break;
            } else if (c == ')' && after_input(t, len, k) != (size_t)-1) {
                close = k;
                break;
            } else if (c == '\0') break;
        }
        if (close == (size_t)-1) return tf_errorf(err, TF_EBADFILE, "call: the input's ')' is missing");
        size_t a = open + 1, b = close;
        while (a < b && is_ws(t[a])) a++;
        while (b > a && is_ws(t[b - 1])) b--;
        if (b - a >= 2 && t[a] == '"' && t[b - 1] == '"') a++, b--;  // lenient: "..." without escapes
        input = dup_range(t + a, b - a);
        if (!input) return tf_errorf(err, TF_ENOMEM, "call: out of memory");
    }

    size_t k = after_input(t, len, close);  // ']' or "->"
    char *result = NULL;
    size_t end;
    if (open_form) {
        size_t a = k + 2;
        while (a < len && is_ws(t[a])) a++;
        if (t[k] != '-' || a != len) {
            free(input);
            return tf_errorf(err, TF_EBADFILE, "call: expected the text to end after \"->\"");
        }
        end = len;
    } else if (t[k] == ']') {
        end = k + 1;
    } else {
        size_t a = k + 2;
        while (a < len && is_ws(t[a])) a++;
        size_t b = a;
        while (b < len && t[b] != ']' && t[b] != '\0') b++;
        if (b >= len || t[b] != ']') {
            free(input);
            return tf_errorf(err, TF_EBADFILE, "call: the result has no closing ']'");
        }
        end = b + 1;
        while (b > a && is_ws(t[b - 1])) b--;
        result = dup_range(t + a, b - a);
        if (!result) {
            free(input);
            return tf_errorf(err, TF_ENOMEM, "call: out of memory");
        }
    }
    // The whole call must be text: no NUL bytes, valid UTF-8.
    if (memchr(t, '\0', end) || !tf_utf8_valid(t, end)) {
        free(input);
        free(result);
        return tf_errorf(err, TF_EBADFILE, "call: contains a NUL byte or invalid UTF-8");
    }
    memcpy(call->name, t + 1, name_len);
    call->name[name_len] = '\0';
    call->input = input;
    call->result = result;
    call->start = 0;
    call->end = end;
    return TF_OK;
}

int tf_call_parse(const char *text, size_t len, tf_call *call, tf_error *err) {
    assert(err != NULL);
    return parse_call(text, len, call, err, 0);
}

int tf_call_parse_open(const char *text, size_t len, tf_call *call, tf_error *err) {
    return parse_call(text, len, call, err, 1);
}

void tf_call_free(tf_call *call) {
    if (!call) return;
    free(call->input);
    free(call->result);
    call->input = call->result = NULL;
}

// Does "[N(input)]", or "[N(input) -> result]" when result is given, give back exactly input? The
// result matters: a '"' in it can close a quote that the unquoted input opens.
static int unquoted_round_trips(const char *input, const char *result) {
    size_t n = strlen(input), r = result ? strlen(result) + 4 : 0;
    char *s = malloc(n + r + 5);
    if (!s) return 0;
    size_t w = 0;
    memcpy(s, "[N(", 3);
    w = 3;
    memcpy(s + w, input, n);
    w += n;
    s[w++] = ')';
    if (result) {
        memcpy(s + w, " -> ", 4);
        w += result[0] ? 4 : 3;
        memcpy(s + w, result, strlen(result));
        w += strlen(result);
    }
    s[w++] = ']';
    tf_call c;
    tf_error err;
    int ok = tf_call_parse(s, w, &c, &err) == TF_OK && c.end == w && !strcmp(c.input, input);
    tf_call_free(&c);
    free(s);
    return ok;
}

char *tf_call_format(const char *name, const char *input, const char *result) {
    if (!name || !is_name_start(name[0]) || strlen(name) >= sizeof ((tf_call *)0)->name) return NULL;
    for (const char *p = name; *p; p++)
        if (!is_name_char(*p)) return NULL;
    if (!input) input = "";
    if (!tf_utf8_valid(input, strlen(input))) return NULL;
    if (result && (strchr(result, ']') || !tf_utf8_valid(result, strlen(result)))) return NULL;
    // a result with surrounding spaces would not come back unchanged
    if (result && result[0] && (is_ws(result[0]) || is_ws(result[strlen(result) - 1]))) return NULL;

    int quote = !unquoted_round_trips(input, result);
    size_t in_len = strlen(input), extra = 0;
    if (quote)
        for (const char *p = input; *p; p++) extra += *p == '"' || *p == '\\';
    size_t cap = strlen(name) + in_len + extra + (result ? strlen(result) : 0) + 16;
    char *out = malloc(cap);
    if (!out) return NULL;
    size_t w = 0;
    out[w++] = '[';
    memcpy(out + w, name, strlen(name));
    w += strlen(name);
    out[w++] = '(';
    if (quote) {
        out[w++] = '"';
        for (const char *p = input; *p; p++) {
            if (*p == '"' || *p == '\\') out[w++] = '\\';
            out[w++] = *p;
        }
        out[w++] = '"';
    } else {
        memcpy(out + w, input, in_len);
        w += in_len;
    }
    out[w++] = ')';
    if (result) {
        memcpy(out + w, " -> ", 4);
        w += 4;
        if (!result[0]) w--;  // "[Name(input) ->]": the empty result
        memcpy(out + w, result, strlen(result));
        w += strlen(result);
    }
    out[w++] = ']';
    out[w] = '\0';
    return out;
}

char *tf_call_text(const char *name, const char *input, const char *result, int with_arrow) {
    char *call = tf_call_format(name, input, result ? result : with_arrow ? "" : NULL);
    if (!call) return NULL;
    size_t n = strlen(call);
    char *s = malloc(n + 2);
    if (s) {
        s[0] = ' ';
        memcpy(s + 1, call, n + 1);
    }
    free(call);
    return s;
}

tf_call_end tf_call_body_end(const char *body, size_t *cut) {
    const char *arrow = strstr(body, "->"), *close = strchr(body, ']');
    if (!arrow && !close) return TF_CALL_OPEN;
    int at_arrow = arrow && (!close || arrow < close);
    if (cut) *cut = (size_t)((at_arrow ? arrow : close) - body);
    return at_arrow ? TF_CALL_AT_ARROW : TF_CALL_CLOSED;
}

int tf_call_parse_body(const char *body, size_t cut, tf_call *call, tf_error *err) {
    char *s = malloc(cut + 3);
    if (!s) {
        memset(call, 0, sizeof *call);
        return tf_errorf(err, TF_ENOMEM, "out of memory");
    }
    s[0] = '[';
    memcpy(s + 1, body, cut);
    s[cut + 1] = ']';
    s[cut + 2] = '\0';
    int rc = tf_call_parse(s, cut + 2, call, err);
    free(s);
    return rc;
}
