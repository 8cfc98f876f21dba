// test_tools_calc.c — the Calculator tool: the paper's cases, precedence and associativity,
// number formats, rounding, failures on hostile input, random expression trees evaluated
// independently, the paper's prefilter and the proposer.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toolformer.h"

static tf_tool *calc(void) {
    tf_error err;
    tf_tool *t = tf_tool_create("Calculator", NULL, &err);
    cr_assert_not_null(t, "%s", err.msg);
    return t;
}

// TF_OK with the result in out, or TF_ETOOL with out = "".
static int eval(tf_tool *t, const char *expr, char *out, size_t cap) {
    tf_error err;
    return tf_tool_execute(t, expr, NULL, out, cap, &err);
}

Test(calculator, table_of_expressions) {
    struct { const char *expr, *want; } cases[] = {
        {"27 + 4 * 2", "35"},          {"400 / 1400", "0.29"},      {"735 / 499", "1.47"},
        {"10-2-3", "5"},               {"8/2/2", "2"},              {"2011 - 1994", "17"},
        {"723 / 252", "2.87"},         {"18 + 12 * 3", "54"},       {"4 * 30", "120"},
        {"(2+3)*4", "20"},             {"2*(3+4)*5", "70"},         {"-3 + 5", "2"},
        {"--3", "3"},                  {"-(2 + 3)", "-5"},          {"2 * -3", "-6"},
        {"+7", "7"},                   {"1.5 + 2.25", "3.75"},      {".5 * 4", "2"},
        {"658,893 / 11.4", "57797.63"}, {"1,000,000 - 1", "999999"}, {"1,234.5 * 2", "2469"},
        {"  12  ", "12"},              {"3.7", "3.70"},             {"1 / 3", "0.33"},
        {"2 / 3", "0.67"},             {"-1 / 3", "-0.33"},         {"-0.001", "0"},
        {"0.005 * 1", "0.01"},         {"100 - 99.99", "0.01"},     {"7 \xe2\x88\x92 2", "5"},
        {"6 \xc3\x97 7", "42"},        {"9 \xc3\xb7 3", "3"},       {"1 - 2 - 3 - 4", "-8"},
        {"2 * 3 + 4 * 5", "26"},       {"100 / 10 / 5 * 2", "4"},   {"((((1))))", "1"},
        {"999999999999 + 1", "1000000000000"}, {"0.1 + 0.2", "0.30"},
    };
    tf_tool *t = calc();
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(eval(t, cases[i].expr, out, sizeof out), TF_OK, "'%s' gave no result", cases[i].expr);
        cr_assert_str_eq(out, cases[i].want, "'%s'", cases[i].expr);
    }
    tf_tool_free(t);
}

Test(calculator, is_left_associative) {
    tf_tool *t = calc();
    char out[64];
    cr_assert_eq(eval(t, "10-2-3", out, sizeof out), TF_OK);
    cr_assert_str_eq(out, "5");  // right-associative would give 11
    cr_assert_eq(eval(t, "8/2/2", out, sizeof out), TF_OK);
    cr_assert_str_eq(out, "2");  // right-associative would give 8
    tf_tool_free(t);
}

Test(calculator, invalid_input_gives_no_result) {
    const char *bad[] = {"", "   ", "2 +", "* 3", "(2 + 3", "2 + 3)", "2 ++", "abc", "2 x 3", "2^3",
                         "658,893 / 11.4%", "1,2", "12,34 + 1", "1,0000", "5.", "1..2", "1.2.3", "()",
                         "2 3", "eval(1)", "__import__('os')", "1e5", "0x10", "1 / 0", "5 / (2 - 2)",
                         "1/0.0", "3 = 3", "2 + [3]", "\xe2\x88\x92", "1,234,56"};
    tf_tool *t = calc();
    char out[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tf_error err;
        cr_assert_eq(tf_tool_execute(t, bad[i], NULL, out, sizeof out, &err), TF_ETOOL, "'%s' gave '%s'",
                     bad[i], out);
        cr_assert_str_eq(out, "");
        cr_assert(strstr(err.msg, "Calculator") != NULL, "%s", err.msg);
    }
    tf_tool_free(t);
}

Test(calculator, overflow_gives_no_result) {
    tf_tool *t = calc();
    char out[64], big[600];
    cr_assert_eq(eval(t, "999999999 * 999999999", out, sizeof out), TF_ETOOL);  // 1e18 > 2^53 / 100
    cr_assert_eq(eval(t, "-999999999 * 999999999", out, sizeof out), TF_ETOOL);
    // 400 digits: not finite as a double
    memset(big, '9', 400);
    big[400] = '\0';
    cr_assert_eq(eval(t, big, out, sizeof out), TF_ETOOL);
    // repeated squaring of a large number overflows in the middle
    cr_assert_eq(eval(t, "99999999999999*99999999999999*99999999999999*99999999999999*99999999999999*"
                         "99999999999999*99999999999999*99999999999999*99999999999999*99999999999999*"
                         "99999999999999*99999999999999*99999999999999*99999999999999*99999999999999*"
                         "99999999999999*99999999999999*99999999999999*99999999999999*99999999999999*"
                         "99999999999999*99999999999999*99999999999999 / 1",
                      out, sizeof out), TF_ETOOL);
    tf_tool_free(t);
}

Test(calculator, absurd_length_or_depth_gives_no_result) {
    tf_tool *t = calc();
    char out[64];
    static char s[100001];
    // deep nesting: 10,000 parentheses
    int n = 10000;
    memset(s, '(', n);
    s[n] = '1';
    memset(s + n + 1, ')', n);
    s[2 * n + 1] = '\0';
    cr_assert_eq(eval(t, s, out, sizeof out), TF_ETOOL);
    // deep but short: 100 parentheses (201 bytes), 200 unary minus signs
    memset(s, '(', 100);
    s[100] = '1';
    memset(s + 101, ')', 100);
    s[201] = '\0';
    cr_assert_eq(eval(t, s, out, sizeof out), TF_ETOOL);
    memset(s, '-', 200);
    strcpy(s + 200, "1");
    cr_assert_eq(eval(t, s, out, sizeof out), TF_ETOOL);
    // deep unary minus, long
    memset(s, '-', 5000);
    strcpy(s + 5000, "1");
    cr_assert_eq(eval(t, s, out, sizeof out), TF_ETOOL);
    // very long but flat: 1+1+...+1
    for (int i = 0; i < 50000; i++) s[2 * i] = '1', s[2 * i + 1] = '+';
    s[99999] = '1';
    s[100000] = '\0';
    cr_assert_eq(eval(t, s, out, sizeof out), TF_ETOOL);
    // moderate nesting is fine
    memset(s, '(', 40);
    s[40] = '7';
    memset(s + 41, ')', 40);
    s[81] = '\0';
    cr_assert_eq(eval(t, s, out, sizeof out), TF_OK);
    cr_assert_str_eq(out, "7");
    tf_tool_free(t);
}

Test(calculator, hostile_bytes_give_no_result) {
    tf_tool *t = calc();
    char out[64];
    cr_assert_eq(eval(t, "1 + \xff", out, sizeof out), TF_ETOOL);    // invalid UTF-8
    cr_assert_eq(eval(t, "1 + \xc3", out, sizeof out), TF_ETOOL);    // truncated sequence
    cr_assert_eq(eval(t, "1 +\x01 2", out, sizeof out), TF_ETOOL);   // control character
    char with_nul[] = "2 + 3\0; rm -rf /";                           // C string ends at the NUL
    cr_assert_eq(eval(t, with_nul, out, sizeof out), TF_OK);
    cr_assert_str_eq(out, "5");
    tf_tool_free(t);
}

// ---- random expression trees, evaluated by walking the tree (no parsing) ---------------------------

typedef struct node {
    char op;  // 0 for a number
    double v;
    char text[32];
    struct node *l, *r;
} node;

static node *random_tree(tf_rng *rng, int depth) {
    node *n = calloc(1, sizeof *n);
    if (depth == 0 || tf_rng_uniform(rng) < 0.3f) {
        int kind = (int)(tf_rng_u64(rng) % 4);
        long a = (long)(tf_rng_u64(rng) % 2000);
        if (kind == 0) {
            // two decimals: the value is the digits as one integer over 100, correctly rounded
            snprintf(n->text, sizeof n->text, "%ld.%02ld", a / 100, a % 100);
            n->v = (double)a / 100.0;
        } else if (kind == 1 && a >= 1000) {
            snprintf(n->text, sizeof n->text, "%ld,%03ld", a / 1000, a % 1000);
            n->v = (double)a;
        } else if (kind == 2) {
            snprintf(n->text, sizeof n->text, "-%ld", a);
            n->v = -(double)a;
        } else {
            snprintf(n->text, sizeof n->text, "%ld", a);
            n->v = (double)a;
        }
        return n;
    }
    n->op = "+-*/"[tf_rng_u64(rng) % 4];
    n->l = random_tree(rng, depth - 1);
    n->r = random_tree(rng, depth - 1);
    return n;
}

static int prec(const node *n) { return n->op == 0 ? 3 : (n->op == '+' || n->op == '-') ? 1 : 2; }

// Minimal parentheses that keep the tree's shape under left associativity.
static void print_tree(const node *n, char *buf, size_t cap) {
    if (!n->op) {
        strncat(buf, n->text, cap - strlen(buf) - 1);
        return;
    }
    int lp = prec(n->l) < prec(n), rp = prec(n->r) <= prec(n) || (n->r->op == 0 && n->r->text[0] == '-');
    if (lp) strncat(buf, "(", cap - strlen(buf) - 1);
    print_tree(n->l, buf, cap);
    if (lp) strncat(buf, ")", cap - strlen(buf) - 1);
    char op[4] = {' ', n->op, ' ', 0};
    strncat(buf, op, cap - strlen(buf) - 1);
    if (rp) strncat(buf, "(", cap - strlen(buf) - 1);
    print_tree(n->r, buf, cap);
    if (rp) strncat(buf, ")", cap - strlen(buf) - 1);
}

// The calculator's exactness limit: every value below 2^53 / 100 in magnitude.
#define CALC_LIMIT (9007199254740992.0 / 100)

// Returns 0 and *v, or -1 for division by zero or a value (at any node) beyond CALC_LIMIT.
static int eval_tree(const node *n, double *v) {
    if (!n->op) return *v = n->v, fabs(n->v) < CALC_LIMIT ? 0 : -1;
    double a, b;
    if (eval_tree(n->l, &a) || eval_tree(n->r, &b)) return -1;
    switch (n->op) {
    case '+': *v = a + b; break;
    case '-': *v = a - b; break;
    case '*': *v = a * b; break;
    default:
        if (b == 0) return -1;
        *v = a / b;
    }
    return fabs(*v) < CALC_LIMIT ? 0 : -1;
}

static void free_tree(node *n) {
    if (!n) return;
    free_tree(n->l);
    free_tree(n->r);
    free(n);
}

Test(calculator, random_expression_trees_match_tree_evaluation) {
    tf_tool *t = calc();
    tf_rng rng;
    tf_rng_seed(&rng, 1234);
    int ok = 0, none = 0;
    for (int i = 0; i < 3000; i++) {
        node *tree = random_tree(&rng, 1 + (int)(tf_rng_u64(&rng) % 5));
        char expr[4096] = "", out[64];
        print_tree(tree, expr, sizeof expr);
        double want;
        int valid = eval_tree(tree, &want) == 0 && isfinite(want);
        int rc = eval(t, expr, out, sizeof out);
        if (!valid) {
            cr_assert_eq(rc, TF_ETOOL, "'%s' should give no result, gave '%s'", expr, out);
            none++;
        } else {
            cr_assert_eq(rc, TF_OK, "'%s' gave no result (want %.6f)", expr, want);
            // at most two decimals, no ".00", and within half a hundredth of the tree's value
            char *dot = strchr(out, '.');
            if (dot) cr_assert(strlen(dot) == 3 && strcmp(dot, ".00") != 0, "'%s' -> '%s'", expr, out);
            double got = strtod(out, NULL);
            cr_assert(fabs(got - want) <= 0.005 + 1e-9 * fabs(want), "'%s' -> '%s', want %.6f", expr, out, want);
            ok++;
        }
        free_tree(tree);
    }
    cr_assert_gt(ok, 2000);
    cr_assert_gt(none, 0);
    tf_tool_free(t);
}

// ---- prefilter and proposer ------------------------------------------------------------------------

Test(calculator, prefilter_follows_the_papers_rules) {
    tf_tool *t = calc();
    const char *yes[] = {
        "I went to Paris in 1994 and stayed there until 2011, so in total, it was 17 years.",
        "From this, we have 4 * 30 minutes = 120 minutes.",
        "A total of 252 qualifying matches were played, and 723 goals were scored (an average of 2.87 per "
        "match).",
        "The bill equals 40 dollars.",
        "That is equal to 3 apples.",
        "They spent a total of $1,200 on it.",
        "The AVERAGE OF 7 runs.",
        "Out of 1400 participants, 400 (or 29%) passed; 1000 failed.",
        "x=5",
        "It costs \xe2\x82\xac" "5 and \xe2\x82\xac" "7, so \xe2\x82\xac" "12 for both.",  // euro signs before numbers
    };
    const char *no[] = {
        "The cat sat on the mat.",
        "He has 3 cats, 7 dogs and 12 birds.",
        "1 1 1 and 5 5 0",  // identity operations and zero results do not count
        "The totals of the day.",
        "It was equal to none of them.",
        "Their average of happiness is high.",
        "",
        "Items A4 and B52 and C56.",  // digits glued to letters are not numbers
        "Version 1.2.3 of COVID19 kit 20x4.",
        "We had 10 apples, 3.1 pears and 3 plums.",  // 10 / 3.1 = 3.23 is not "3": more than 1% off
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) cr_assert(t->prefilter(t, yes[i], NULL), "%s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) cr_assert_not(t->prefilter(t, no[i], NULL), "%s", no[i]);
    tf_tool_free(t);
}

Test(calculator, prefilter_window_is_100_words) {
    tf_tool *t = calc();
    char text[4096] = "We had 10 cows.";
    for (int i = 0; i < 120; i++) strcat(text, " word");
    strcat(text, " Then 20 more, so 30 in all.");
    cr_assert_not(t->prefilter(t, text, NULL), "10 + 20 = 30 spans more than 100 words");
    strcat(text, " Later 50 left.");  // 20 + 30 = 50 within the window
    cr_assert(t->prefilter(t, text, NULL));
    tf_tool_free(t);
}

Test(calculator, prefilter_handles_huge_number_lists_quickly) {
    tf_tool *t = calc();
    size_t n = 2000000;
    char *text = malloc(n + 1);
    // "7 " repeated: identical numbers never form a non-trivial operation (7+7=14, 7/7=1, 7-7=0)
    for (size_t i = 0; i < n; i += 2) text[i] = '7', text[i + 1] = ' ';
    text[n] = '\0';
    cr_assert_not(t->prefilter(t, text, NULL));
    free(text);
    tf_tool_free(t);
}

Test(calculator, proposer_offers_arithmetic_over_preceding_numbers) {
    tf_tool *t = calc();
    const char *text = "I went to Paris in 1994 and stayed there until 2011, so in total, it was 17 years.";
    size_t pos = strstr(text, "17 years") - text;
    tf_strlist l = {0};
    cr_assert_eq(t->propose(t, text, pos, NULL, &l), TF_OK);
    cr_assert_geq(tf_strlist_find(&l, "2011 - 1994"), 0);
    cr_assert_geq(tf_strlist_find(&l, "1994 + 2011"), 0);
    cr_assert_leq(l.n, 24);
    for (int i = 0; i < l.n; i++) {
        cr_assert(strstr(l.items[i], "17") == NULL, "number after pos used: %s", l.items[i]);
        char out[64];
        cr_assert_eq(eval(t, l.items[i], out, sizeof out), TF_OK, "proposal '%s' has no result", l.items[i]);
    }
    tf_strlist_free(&l);
    tf_tool_free(t);
}

Test(calculator, proposer_keeps_thousands_separators_and_is_bounded) {
    tf_tool *t = calc();
    const char *text = "The population is 658,893 people, 11.4 percent of 12 14 15 16 17 18 19 20 21 22 items";
    tf_strlist l = {0};
    cr_assert_eq(t->propose(t, text, strlen(text), NULL, &l), TF_OK);
    cr_assert_gt(l.n, 0);
    cr_assert_leq(l.n, 24);
    tf_strlist_free(&l);
    const char *two = "The population is 658,893 people, 11.4 percent of the whole.";
    cr_assert_eq(t->propose(t, two, strlen(two), NULL, &l), TF_OK);
    cr_assert_geq(tf_strlist_find(&l, "658,893 / 11.4"), 0);
    cr_assert_geq(tf_strlist_find(&l, "658,893 * 11.4"), 0);
    tf_strlist_free(&l);
    cr_assert_eq(t->propose(t, "Only 1 number here.", 19, NULL, &l), TF_OK);
    cr_assert_eq(l.n, 0);
    cr_assert_eq(t->propose(t, "2 and 3", 100, NULL, &l), TF_OK);  // pos past the end is clamped
    cr_assert_geq(tf_strlist_find(&l, "2 + 3"), 0);
    tf_strlist_free(&l);
    tf_tool_free(t);
}

Test(calculator, prompt_is_the_papers_with_an_input_slot) {
    tf_tool *t = calc();
    cr_assert(strstr(t->prompt, "Your task is to add calls to a Calculator API to a piece of text.") == t->prompt);
    cr_assert(strstr(t->prompt, "[Calculator(658,893 / 11.4%)] 5,763,868 people.") != NULL);
    cr_assert(strstr(t->prompt, "= [Calculator(4 * 30)] 120 minutes.\nInput: <INPUT>\nOutput:") != NULL);
    tf_tool_free(t);
}

// Issue 21 #8: a result past 2^53 / 100 is refused, never rounded through llround (99999999999999 *
// 10 gave 999999999999990.08); up to the limit integers come out exact; 64 levels of nesting are
// allowed (the documented limit), 65 are not.
Test(calculator, results_are_exact_or_refused) {
    tf_tool *t = calc();
    char out[64], s[300];
    cr_assert_eq(eval(t, "99999999999999 * 10", out, sizeof out), TF_ETOOL, "gave '%s'", out);
    cr_assert_eq(eval(t, "9999999999999 * 9", out, sizeof out), TF_OK);
    cr_assert_str_eq(out, "89999999999991");
    cr_assert_eq(eval(t, "90071992547409 + 1", out, sizeof out), TF_ETOOL, "gave '%s'", out);
    cr_assert_eq(eval(t, "12345678901234567", out, sizeof out), TF_ETOOL, "gave '%s'", out);  // not exact as input
    cr_assert_eq(eval(t, "1000000000000 / 3", out, sizeof out), TF_OK);
    cr_assert_str_eq(out, "333333333333.33");
    for (int levels = 64; levels <= 65; levels++) {
        memset(s, '(', (size_t)levels);
        s[levels] = '7';
        memset(s + levels + 1, ')', (size_t)levels);
        s[2 * levels + 1] = '\0';
        cr_assert_eq(eval(t, s, out, sizeof out), levels == 64 ? TF_OK : TF_ETOOL, "%d levels", levels);
    }
    tf_tool_free(t);
}
