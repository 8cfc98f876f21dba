// calculator.c — the Calculator tool (Toolformer §3, Appendix A.1): + - * / with parentheses,
// unary minus, decimals and thousands separators, evaluated by a recursive-descent parser (never
// eval). "Results are always rounded to two decimal places"; integers are printed without decimals
// ("27 + 4 * 2" -> 35, "400 / 1400" -> 0.29). Invalid input, division by zero, non-finite or huge
// values, and absurd length or nesting give no result. Also the paper's prefilter (which texts get
// Calculator candidates) and a proposer of arithmetic over the numbers before a position.
#include "tools_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

// Paper, Appendix A.2, verbatim (its inconsistencies kept); the document slot "x" is <INPUT>.
static const char CALCULATOR_PROMPT[] =
    "Your task is to add calls to a Calculator API to a piece of text. The calls should help you get "
    "information required to complete the text. You can call the API by writing "
    "\"[Calculator(expression)]\" where \"expression\" is the expression to be computed. Here are some "
    "examples of API calls:\n"
    "Input: The number in the next term is 18 + 12 x 3 = 54.\n"
    "Output: The number in the next term is 18 + 12 x 3 = [Calculator(18 + 12 * 3)] 54.\n"
    "Input: The population is 658,893 people. This is 11.4% of the national average of 5,763,868 "
    "people.\n"
    "Output: The population is 658,893 people. This is 11.4% of the national average of "
    "[Calculator(658,893 / 11.4%)] 5,763,868 people.\n"
    "Input: A total of 252 qualifying matches were played, and 723 goals were scored (an average of "
    "2.87 per match). This is three times less than the 2169 goals last year.\n"
    "Output: A total of 252 qualifying matches were played, and 723 goals were scored (an average of "
    "[Calculator(723 / 252)] 2.87 per match). This is twenty goals more than the [Calculator(723 - 20)] "
    "703 goals last year.\n"
    "Input: I went to Paris in 1994 and stayed there until 2011, so in total, it was 17 years.\n"
    "Output: I went to Paris in 1994 and stayed there until 2011, so in total, it was "
    "[Calculator(2011 - 1994)] 17 years.\n"
    "Input: From this, we have 4 * 30 minutes = 120 minutes.\n"
    "Output: From this, we have 4 * 30 minutes = [Calculator(4 * 30)] 120 minutes.\n"
    "Input: <INPUT>\n"
    "Output:";

enum { MAX_EXPR_BYTES = 512, MAX_DEPTH = 64 };

// ASCII classes (not <ctype.h>: its answers for bytes >= 0x80 depend on the locale)
static int is_digit(unsigned c) { return c >= '0' && c <= '9'; }
static int is_alpha(unsigned c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static int is_alnum(unsigned c) { return is_digit(c) || is_alpha(c); }
static int is_space(unsigned c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
// Every number, intermediate value and result must stay below 2^53 / 100 in magnitude: then the
// result times 100 is still below 2^53, where a double holds every integer, so its two decimals
// (and an integer result's every digit) are exact. Larger values give no result.
#define MAX_ABS_VALUE (9007199254740992.0 / 100)

// ---- numbers -----------------------------------------------------------------------------------

// Reads a number at s[0..n): digits with optional ",ddd" thousands groups (the first group 1-3
// digits) and an optional ".digits" fraction, or ".digits". Returns the bytes used (0: not a
// number); *v gets the value, *decimals the fraction digits. Locale-independent (no strtod).
static size_t read_number(const unsigned char *s, size_t n, double *v, int *decimals) {
    size_t i = 0, int_digits = 0;
    uint64_t mant = 0;
    int exp10 = 0, sig = 0;
    while (i < n && is_digit(s[i])) {
        if (sig < 18) mant = mant * 10 + (s[i] - '0'), sig += mant > 0;
        else exp10++;
        i++, int_digits++;
    }
    // Thousands groups: ",ddd" not followed by a further digit; only after a 1-3 digit first group.
    if (int_digits >= 1 && int_digits <= 3) {
        while (i + 3 < n && s[i] == ',' && is_digit(s[i + 1]) && is_digit(s[i + 2]) && is_digit(s[i + 3]) &&
               !(i + 4 < n && is_digit(s[i + 4]))) {
            for (int k = 1; k <= 3; k++) {
                if (sig < 18) mant = mant * 10 + (s[i + k] - '0'), sig += mant > 0;
                else exp10++;
            }
            i += 4;
        }
    }
    int dec = 0;
    if (i + 1 < n && s[i] == '.' && is_digit(s[i + 1])) {
        i++;
        while (i < n && is_digit(s[i])) {
            if (sig < 18) mant = mant * 10 + (s[i] - '0'), sig += mant > 0, exp10--;
            i++, dec++;
        }
    }
    if (int_digits == 0 && dec == 0) return 0;
    // mant < 10^18; for mant < 2^53 and |exp10| <= 22 this is one correctly rounded operation.
    double x = (double)mant;
    if (exp10 > 0) x *= pow(10.0, exp10);
    else if (exp10 < 0) x /= pow(10.0, -exp10);
    *v = x;
    if (decimals) *decimals = dec;
    return i;
}

// ---- expressions -------------------------------------------------------------------------------

typedef struct {
    const unsigned char *s;
    size_t i, n;
    int depth;
    const char *why;
} parser;

static void skip_space(parser *p) {
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
                           p->s[p->i] == '\r'))
        p->i++;
}

// The operator at the cursor ('+', '-', '*', '/', also U+2212 minus, U+00D7 times, U+00F7
// division) and its length in bytes, or 0.
static int peek_op(parser *p, size_t *len) {
    skip_space(p);
    if (p->i >= p->n) return 0;
    const unsigned char *c = p->s + p->i;
    size_t left = p->n - p->i;
    *len = 1;
    if (*c == '+' || *c == '-' || *c == '*' || *c == '/') return *c;
    if (left >= 3 && c[0] == 0xE2 && c[1] == 0x88 && c[2] == 0x92) return *len = 3, '-';
    if (left >= 2 && c[0] == 0xC3 && c[1] == 0x97) return *len = 2, '*';
    if (left >= 2 && c[0] == 0xC3 && c[1] == 0xB7) return *len = 2, '/';
    return 0;
}

static int finite_or_fail(parser *p, double v) {
    if (!isfinite(v) || fabs(v) >= MAX_ABS_VALUE) {
        p->why = "a value is too large to compute exactly (|value| must stay below 90,071,992,547,409.92)";
        return -1;
    }
    return 0;
}

static int parse_expr(parser *p, double *out);

static int parse_unary(parser *p, double *out) {
    // a level of nesting is a '(' or a unary sign (their recursion); a number itself is none
    size_t len;
    int op = peek_op(p, &len);
    int rc;
    if (op == '-' || op == '+') {
        if (++p->depth > MAX_DEPTH) {
            p->why = "nesting is too deep (at most 64 levels of parentheses and signs)";
            return -1;
        }
        p->i += len;
        rc = parse_unary(p, out);
        if (!rc && op == '-') *out = -*out;
        p->depth--;
        return rc;
    } else if (p->i < p->n && p->s[p->i] == '(') {
        if (++p->depth > MAX_DEPTH) {
            p->why = "nesting is too deep (at most 64 levels of parentheses and signs)";
            return -1;
        }
        p->i++;
        rc = parse_expr(p, out);
        skip_space(p);
        if (!rc && (p->i >= p->n || p->s[p->i] != ')')) {
            p->why = "a '(' is not closed";
            rc = -1;
        }
        p->i++;
        p->depth--;
    } else {
        size_t k = p->i < p->n ? read_number(p->s + p->i, p->n - p->i, out, NULL) : 0;
        if (k == 0) {
            p->why = p->i >= p->n ? "the expression ends early" : "expected a number or '('";
            rc = -1;
        } else {
            p->i += k;
            rc = finite_or_fail(p, *out);
        }
    }
    return rc;
}

// term = unary (('*' | '/') unary)*, left-associative
static int parse_term(parser *p, double *out) {
    if (parse_unary(p, out)) return -1;
    for (;;) {
        size_t len;
        int op = peek_op(p, &len);
        if (op != '*' && op != '/') return 0;
        p->i += len;
        double rhs;
        if (parse_unary(p, &rhs)) return -1;
        if (op == '/' && rhs == 0) {
            p->why = "division by zero";
            return -1;
        }
        *out = op == '*' ? *out * rhs : *out / rhs;
        if (finite_or_fail(p, *out)) return -1;
    }
}

// expr = term (('+' | '-') term)*, left-associative
static int parse_expr(parser *p, double *out) {
    if (parse_term(p, out)) return -1;
    for (;;) {
        size_t len;
        int op = peek_op(p, &len);
        if (op != '+' && op != '-') return 0;
        p->i += len;
        double rhs;
        if (parse_term(p, &rhs)) return -1;
        *out = op == '+' ? *out + rhs : *out - rhs;
        if (finite_or_fail(p, *out)) return -1;
    }
}

int tool_calc_eval(const char *expr, double *out, const char **why) {
    const char *dummy;
    if (!why) why = &dummy;
    size_t n = expr ? strnlen(expr, MAX_EXPR_BYTES + 1) : 0;
    if (n > MAX_EXPR_BYTES) {
        *why = "the expression is too long";
        return -1;
    }
    parser p = {(const unsigned char *)expr, 0, n, 0, NULL};
    double v;
    if (parse_expr(&p, &v)) {
        *why = p.why ? p.why : "invalid expression";
        return -1;
    }
    skip_space(&p);
    if (p.i != p.n) {
        *why = "unexpected text after the expression";
        return -1;
    }
    *out = v;
    return 0;
}

int tool_calc_format(double v, char *out, size_t cap) {
    if (!isfinite(v) || fabs(v) >= MAX_ABS_VALUE) return -1;
    // Round half away from zero to hundredths; integer arithmetic for the digits (no locale).
    long long h = llround(v * 100.0);
    const char *sign = h < 0 ? "-" : "";
    unsigned long long a = h < 0 ? (unsigned long long)(-h) : (unsigned long long)h;
    int n = a % 100 == 0 ? snprintf(out, cap, "%s%llu", sign, a / 100)
                         : snprintf(out, cap, "%s%llu.%02llu", sign, a / 100, a % 100);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int calculator_execute(tf_tool *t, const char *input, const tf_tool_context *ctx, char *out,
                              size_t cap, tf_error *err) {
    (void)t, (void)ctx;
    double v;
    const char *why;
    if (tool_calc_eval(input, &v, &why)) return tf_errorf(err, TF_ETOOL, "Calculator: %s", why);
    if (tool_calc_format(v, out, cap))
        return tf_errorf(err, TF_ETOOL, "Calculator: the result is too large");
    return TF_OK;
}

// ---- numbers in prose (prefilter, proposer) ----------------------------------------------------

typedef struct {
    double v;
    int decimals;
    double tol;  // how far a computed value may be from v and still be "v" as written
    size_t start, end;
    long word;  // index of the whitespace-separated word it sits in
} text_number;

enum { WINDOW_WORDS = 100, WINDOW_NUMBERS = 20, MAX_SCAN_NUMBERS = 20000 };

// Scans text[0..n) for numbers as read_number reads them, not inside a word and not glued to a
// digit, '.' or ',' before them. Calls fn for each; stops when fn returns nonzero (returned) or after
// MAX_SCAN_NUMBERS numbers.
static int scan_numbers(const char *text, size_t n, int (*fn)(const text_number *, void *), void *arg) {
    const unsigned char *s = (const unsigned char *)text;
    long word = 0, count = 0;
    int in_space = 1;
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (is_space(c)) {
            in_space = 1;
            i++;
            continue;
        }
        if (in_space) word++, in_space = 0;
        if (is_alpha(c)) {  // a word: "A4", "COVID19", "3rd"'s letters; digits inside are not numbers
            while (i < n && is_alnum(s[i])) i++;
            continue;
        }
        int glued = i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == ',');
        if ((is_digit(c) || (c == '.' && i + 1 < n && is_digit(s[i + 1]))) && !glued) {
            text_number num = {0};
            size_t k = read_number(s + i, n - i, &num.v, &num.decimals);
            if (k > 0) {
                num.start = i, num.end = i + k, num.word = word;
                double half_unit = 0.5 * pow(10.0, -(num.decimals < 17 ? num.decimals : 17));
                num.tol = fmin(half_unit + 1e-9 * num.v, 0.01 * num.v);
                int rc = fn(&num, arg);
                if (rc) return rc;
                if (++count >= MAX_SCAN_NUMBERS) return 0;
                i += k;
                continue;
            }
        }
        i++;
    }
    return 0;
}

// Non-trivial results of + - * / on x and y into out[6]; returns how many. Operations with an
// identity operand (x + 0, x * 1, ...) and x / x do not count: they would make almost any text with
// numbers pass.
static int pair_ops(double x, double y, double out[6]) {
    int n = 0;
    if (x == 0 || y == 0) return 0;
    out[n++] = x + y, out[n++] = x - y, out[n++] = y - x;
    if (x != 1 && y != 1) {
        out[n++] = x * y;
        if (x != y) out[n++] = x / y, out[n++] = y / x;
    }
    return n;
}

// Is one of v[0..n) the number c as written: within half a unit of its last decimal and within 1%
// (so that "3" is not the result of 10 / 3.3)? A result of 0 never counts.
static int any_near(const text_number *c, const double *v, int n) {
    if (c->v == 0) return 0;
    for (int i = 0; i < n; i++)
        if (fabs(v[i] - c->v) <= c->tol) return 1;
    return 0;
}

typedef struct {
    text_number win[WINDOW_NUMBERS];
    int n;
} window;

// Paper, Appendix A: ">= 3 numbers within a window of 100 tokens, where one of these numbers is the
// result of applying a mathematical operation to the other two" (tokens approximated by words).
static int triple_found(const text_number *num, void *arg) {
    window *w = arg;
    int keep = 0;
    for (int i = 0; i < w->n; i++)
        if (num->word - w->win[i].word <= WINDOW_WORDS) w->win[keep++] = w->win[i];
    w->n = keep;
    double ops[6];
    for (int i = 0; i < w->n; i++) {  // num op win[i] == win[j]
        int k = pair_ops(num->v, w->win[i].v, ops);
        for (int j = 0; j < w->n; j++)
            if (j != i && any_near(&w->win[j], ops, k)) return 1;
    }
    for (int i = 0; i < w->n; i++)  // win[i] op win[j] == num
        for (int j = i + 1; j < w->n; j++)
            if (any_near(num, ops, pair_ops(w->win[i].v, w->win[j].v, ops))) return 1;
    if (w->n == WINDOW_NUMBERS) {
        memmove(w->win, w->win + 1, (WINDOW_NUMBERS - 1) * sizeof w->win[0]);
        w->n--;
    }
    w->win[w->n++] = *num;
    return 0;
}

// Paper, Appendix A: "=", "equals", "equal to", "total of", "average of" followed by a number.
static int keyword_before_number(const char *text) {
    static const char *const KEYS[] = {"=", "equals", "equal to", "total of", "average of"};
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; s[i]; i++) {
        for (size_t k = 0; k < sizeof KEYS / sizeof KEYS[0]; k++) {
            size_t len = strlen(KEYS[k]);
            if (strncasecmp(text + i, KEYS[k], len)) continue;
            if (is_alpha(KEYS[k][0]) && i > 0 && is_alpha(s[i - 1])) continue;  // a word, not a suffix
            size_t j = i + len;
            if (is_alpha(KEYS[k][0]) && is_alpha(s[j])) continue;
            while (s[j] == ' ' || s[j] == '\t' || s[j] == '\n') j++;
            if (s[j] == '$') j++;
            if (s[j] == '-') j++;
            if (is_digit(s[j]) || (s[j] == '.' && is_digit(s[j + 1]))) return 1;
        }
    }
    return 0;
}

static int calculator_prefilter(const tf_tool *t, const char *text, const tf_tool_context *ctx) {
    (void)t, (void)ctx;
    if (!text) return 0;
    if (keyword_before_number(text)) return 1;
    window w = {.n = 0};
    return scan_numbers(text, strlen(text), triple_found, &w);
}

// ---- proposals ---------------------------------------------------------------------------------

enum { PROPOSE_NUMBERS = 5, PROPOSE_MAX = 24 };

typedef struct {
    text_number last[PROPOSE_NUMBERS];
    int n;
} recent;

static int keep_recent(const text_number *num, void *arg) {
    recent *r = arg;
    if (r->n == PROPOSE_NUMBERS) {
        memmove(r->last, r->last + 1, (PROPOSE_NUMBERS - 1) * sizeof r->last[0]);
        r->n--;
    }
    r->last[r->n++] = *num;
    return 0;
}

// Appends "a op b" when it has a result that is not trivially one of its operands.
static int propose_one(const char *text, const text_number *a, const text_number *b, char op,
                       tf_strlist *out) {
    char expr[160];
    snprintf(expr, sizeof expr, "%.*s %c %.*s", (int)(a->end - a->start > 60 ? 60 : a->end - a->start),
             text + a->start, op, (int)(b->end - b->start > 60 ? 60 : b->end - b->start), text + b->start);
    double v;
    char res[64];
    if (tool_calc_eval(expr, &v, NULL) || tool_calc_format(v, res, sizeof res)) return TF_OK;
    if (v == a->v || v == b->v || v == 0) return TF_OK;
    if (tf_strlist_find(out, expr) >= 0) return TF_OK;
    return tf_strlist_push(out, expr);
}

// Candidate calls for small models (DESIGN.md §5): + - * / over pairs of the last few numbers that
// end before pos and lie within 100 words of it, most recent pairs first; a - b and a / b with the
// larger number first, so results are positive and at least 1. At most PROPOSE_MAX are added.
static int calculator_propose(const tf_tool *t, const char *text, size_t pos, const tf_tool_context *ctx,
                              tf_strlist *out) {
    (void)t, (void)ctx;
    if (!text) return TF_OK;
    size_t n = strlen(text);
    if (pos > n) pos = n;
    recent r = {.n = 0};
    scan_numbers(text, pos, keep_recent, &r);
    // words between the last number and pos: the window is measured from pos
    long words_after = 0;
    if (r.n > 0) {
        int in_space = 1;
        for (size_t i = r.last[r.n - 1].end; i < pos; i++) {
            if (is_space((unsigned char)text[i])) in_space = 1;
            else if (in_space) words_after++, in_space = 0;
        }
    }
    long last_word = r.n > 0 ? r.last[r.n - 1].word + words_after : 0;
    int start = r.n, added0 = out->n;
    while (start > 0 && last_word - r.last[start - 1].word <= WINDOW_WORDS) start--;
    for (int j = r.n - 1; j > start; j--)
        for (int i = j - 1; i >= start; i--) {
            const text_number *a = &r.last[i], *b = &r.last[j];  // a before b
            const text_number *big = a->v >= b->v ? a : b, *small = big == a ? b : a;
            const char ops[4] = {'+', '-', '*', '/'};
            for (int k = 0; k < 4; k++) {
                if (out->n - added0 >= PROPOSE_MAX) return TF_OK;
                int rc = ops[k] == '+' || ops[k] == '*' ? propose_one(text, a, b, ops[k], out)
                                                        : propose_one(text, big, small, ops[k], out);
                if (rc) return rc;
            }
        }
    return TF_OK;
}

tf_tool *tool_calculator_new(const tf_tool_options *opt, tf_error *err) {
    tf_tool *t = tool_alloc("Calculator", CALCULATOR_PROMPT, opt, 1000, 64, err);
    if (!t) return NULL;
    t->execute = calculator_execute;
    t->prefilter = calculator_prefilter;
    t->propose = calculator_propose;
    return t;
}
