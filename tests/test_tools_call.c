// test_tools_call.c — the inline call syntax "[Name(input) -> result]": parsing the paper's forms,
// quoted and unquoted inputs, nested parentheses, malformed and hostile text, and format/parse
// round trips.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "toolformer.h"

static tf_call parse_ok(const char *text) {
    tf_call c;
    tf_error err;
    int rc = tf_call_parse(text, strlen(text), &c, &err);
    cr_assert_eq(rc, TF_OK, "'%s': %s", text, err.msg);
    return c;
}

static void parse_bad(const char *text, size_t len) {
    tf_call c;
    tf_error err;
    cr_assert_eq(tf_call_parse(text, len, &c, &err), TF_EBADFILE, "'%.*s' parsed", (int)len, text);
    cr_assert_null(c.input);
    cr_assert_null(c.result);
    cr_assert(strncmp(err.msg, "call:", 5) == 0, "%s", err.msg);
}

Test(call, parses_the_papers_calculator_call) {
    tf_call c = parse_ok("[Calculator(400 / 1400) -> 0.29] 29%) passed the test.");
    cr_assert_str_eq(c.name, "Calculator");
    cr_assert_str_eq(c.input, "400 / 1400");
    cr_assert_str_eq(c.result, "0.29");
    cr_assert_eq(c.start, 0);
    cr_assert_eq(c.end, strlen("[Calculator(400 / 1400) -> 0.29]"));
    tf_call_free(&c);
}

Test(call, parses_quoted_qa_input) {
    tf_call c = parse_ok("[QA(\"Who is the publisher of The New England Journal of Medicine?\") -> "
                         "Massachusetts Medical Society] the MMS.");
    cr_assert_str_eq(c.name, "QA");
    cr_assert_str_eq(c.input, "Who is the publisher of The New England Journal of Medicine?");
    cr_assert_str_eq(c.result, "Massachusetts Medical Society");
    tf_call_free(&c);
}

Test(call, call_without_result_and_empty_input) {
    tf_call c = parse_ok("[Calendar()] Friday");
    cr_assert_str_eq(c.name, "Calendar");
    cr_assert_str_eq(c.input, "");
    cr_assert_null(c.result);
    cr_assert_eq(c.end, 12);
    tf_call_free(&c);
}

Test(call, empty_result_is_not_absent_result) {
    tf_call c = parse_ok("[Calculator(2 + 3) ->] 5");
    cr_assert_str_eq(c.input, "2 + 3");
    cr_assert_not_null(c.result);
    cr_assert_str_eq(c.result, "");
    cr_assert_eq(c.end, strlen("[Calculator(2 + 3) ->]"));
    tf_call_free(&c);
}

Test(call, nested_parentheses_in_unquoted_input) {
    tf_call c = parse_ok("[Calculator((2+3)*4) -> 20]");
    cr_assert_str_eq(c.input, "(2+3)*4");
    cr_assert_str_eq(c.result, "20");
    tf_call_free(&c);
    c = parse_ok("[Calculator(((1)) + (2*(3))) ->  9 ] tail");
    cr_assert_str_eq(c.input, "((1)) + (2*(3))");
    cr_assert_str_eq(c.result, "9");
    tf_call_free(&c);
    // an unbalanced ')' inside the input still parses: the input ends at the ')' before "]"
    c = parse_ok("[QA(what does :) mean?)]");
    cr_assert_str_eq(c.input, "what does :) mean?");
    tf_call_free(&c);
}

Test(call, unquoted_input_may_hold_quotes_and_brackets) {
    tf_call c = parse_ok("[WikiSearch(a[i] \"b\" c)]");
    cr_assert_str_eq(c.input, "a[i] \"b\" c");
    tf_call_free(&c);
    c = parse_ok("[QA(\"He said \"hi\"\")]");  // quotes without escapes: outer pair removed
    cr_assert_str_eq(c.input, "He said \"hi\"");
    tf_call_free(&c);
    c = parse_ok("[QA(\"a \\\"b\\\" \\\\ c\")]");  // escapes inside a quoted input
    cr_assert_str_eq(c.input, "a \"b\" \\ c");
    tf_call_free(&c);
    c = parse_ok("[QA(\"x)] y\") -> z]");  // a quoted input may hold ")]"
    cr_assert_str_eq(c.input, "x)] y");
    cr_assert_str_eq(c.result, "z");
    tf_call_free(&c);
}

Test(call, whitespace_and_utf8) {
    tf_call c = parse_ok("[MT ( der klassische jüdische Mann )\n->\tthe classic Jewish man ]");
    cr_assert_str_eq(c.name, "MT");
    cr_assert_str_eq(c.input, "der klassische jüdische Mann");
    cr_assert_str_eq(c.result, "the classic Jewish man");
    tf_call_free(&c);
}

Test(call, malformed_calls_are_rejected) {
    const char *bad[] = {
        "Calculator(2+3)]",       "[Calculator(2+3",     "[Calculator(2+3)",    "[(2+3)]",
        "[Calc 2+3]",             "[Calculator 2+3)]",   "[Calculator(2+3) 5]", "[Calculator(2+3) -> 5",
        "[Calc(2] + 3)]",         "[]",                  "[",                   "",
        "[1abc(2)]",              "[Calc(2)) 3]",        "[Calc(x) - > y]",     "[Ca lc(x)]",
        "[Calculator(2+3) -> 5 [and] more]x",  // the result ends at the first ']' — then this is fine?
    };
    for (size_t i = 0; i + 1 < sizeof bad / sizeof bad[0]; i++) parse_bad(bad[i], strlen(bad[i]));
    parse_bad(NULL, 0);
    // the last one parses, and its result stops at the first ']'
    tf_call c = parse_ok(bad[sizeof bad / sizeof bad[0] - 1]);
    cr_assert_str_eq(c.result, "5 [and");
    tf_call_free(&c);
}

Test(call, open_call_up_to_the_arrow) {
    const char *ok[] = {"[Calculator(400 / 1400) ->", "[Calculator((2+3)*4) -> ", "[QA(\"a)] b\") ->\n"};
    const char *want[] = {"400 / 1400", "(2+3)*4", "a)] b"};
    for (int i = 0; i < 3; i++) {
        tf_call c;
        tf_error err;
        cr_assert_eq(tf_call_parse_open(ok[i], strlen(ok[i]), &c, &err), TF_OK, "'%s': %s", ok[i], err.msg);
        cr_assert_str_eq(c.input, want[i]);
        cr_assert_null(c.result);
        cr_assert_eq(c.end, strlen(ok[i]));
        tf_call_free(&c);
    }
    const char *bad[] = {"[Calculator(2+3)", "[Calculator(2+3)]", "[Calculator(2+3) -> 5", "[Calculator(2+3) -> 5]",
                         "[Calculator(2+3 ->", "[Calculator(2+3) -", "Calculator(2+3) ->"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tf_call c;
        tf_error err;
        cr_assert_eq(tf_call_parse_open(bad[i], strlen(bad[i]), &c, &err), TF_EBADFILE, "'%s' parsed", bad[i]);
        cr_assert_null(c.input);
    }
    // and the closed parser does not take the open form
    tf_call c;
    tf_error err;
    cr_assert_eq(tf_call_parse("[Calculator(1) ->", 17, &c, &err), TF_EBADFILE);
}

Test(call, name_length_is_bounded) {
    char s[200] = "[";
    memset(s + 1, 'A', 100);
    strcpy(s + 101, "(x)]");
    parse_bad(s, strlen(s));
    memset(s + 1, 'A', 63);
    strcpy(s + 64, "(x)]");
    tf_call c = parse_ok(s);
    cr_assert_eq(strlen(c.name), 63);
    tf_call_free(&c);
}

Test(call, nul_bytes_and_invalid_utf8_are_rejected) {
    const char nul[] = "[Calculator(2\0+3) -> 5]";
    parse_bad(nul, sizeof nul - 1);
    const char nul_result[] = "[Calculator(2+3) -> 5\0]";
    parse_bad(nul_result, sizeof nul_result - 1);
    { const char *s = "[Calculator(\xff) -> 5]"; parse_bad(s, strlen(s)); }
    { const char *s = "[QA(\"caf\xc3\") -> x]"; parse_bad(s, strlen(s)); }
    { const char *s = "[QA(x) -> \xed\xa0\x80]"; parse_bad(s, strlen(s)); }  // a UTF-16 surrogate
}

Test(call, len_bounds_the_scan) {
    const char *text = "[Calculator(2+3) -> 5] more";
    tf_call c;
    tf_error err;
    cr_assert_eq(tf_call_parse(text, 10, &c, &err), TF_EBADFILE);
    cr_assert_eq(tf_call_parse(text, 22, &c, &err), TF_OK);
    cr_assert_eq(c.end, 22);
    tf_call_free(&c);
}

Test(call, huge_and_deeply_nested_text_parses_without_recursion) {
    size_t n = 1000000;
    char *s = malloc(2 * n + 64);
    // "[Calculator(" + n '(' + "1" + n ')' + ") -> 1]"
    size_t w = 0;
    memcpy(s, "[Calculator(", 12), w = 12;
    memset(s + w, '(', n), w += n;
    s[w++] = '1';
    memset(s + w, ')', n), w += n;
    memcpy(s + w, ") -> 1]", 7), w += 7;
    tf_call c;
    tf_error err;
    cr_assert_eq(tf_call_parse(s, w, &c, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(strlen(c.input), 2 * n + 1);
    cr_assert_eq(c.end, w);
    tf_call_free(&c);
    // never closed: rejected
    memset(s, '(', 2 * n);
    memcpy(s, "[Calculator(", 12);
    parse_bad(s, 2 * n);
    // a quote that never closes, then lots of ')'
    memcpy(s, "[QA(\"", 5);
    memset(s + 5, ')', 2 * n - 5);
    parse_bad(s, 2 * n);
    free(s);
}

Test(call, format_writes_the_papers_forms) {
    char *s = tf_call_format("Calculator", "400 / 1400", "0.29");
    cr_assert_str_eq(s, "[Calculator(400 / 1400) -> 0.29]");
    free(s);
    s = tf_call_format("Calendar", "", NULL);
    cr_assert_str_eq(s, "[Calendar()]");
    free(s);
    s = tf_call_format("Calendar", NULL, "");
    cr_assert_str_eq(s, "[Calendar() ->]");
    free(s);
    s = tf_call_format("Calculator", "(2+3)*4", "20");
    cr_assert_str_eq(s, "[Calculator((2+3)*4) -> 20]");
    free(s);
    s = tf_call_format("QA", "x)] y", "z");  // would end early unquoted: quoted
    cr_assert_str_eq(s, "[QA(\"x)] y\") -> z]");
    free(s);
    s = tf_call_format("QA", "\"quoted\"", NULL);
    cr_assert_str_eq(s, "[QA(\"\\\"quoted\\\"\")]");
    free(s);
}

Test(call, format_rejects_what_cannot_be_written) {
    cr_assert_null(tf_call_format("", "x", NULL));
    cr_assert_null(tf_call_format("9lives", "x", NULL));
    cr_assert_null(tf_call_format("a b", "x", NULL));
    cr_assert_null(tf_call_format("QA", "x", "a]b"));
    cr_assert_null(tf_call_format("QA", "\xff", "y"));
    cr_assert_null(tf_call_format("QA", "x", "\xc3"));
    cr_assert_null(tf_call_format("QA", "x", " padded"));
}

// Random inputs over an alphabet of the syntax's own characters: format then parse gives them back.
Test(call, format_parse_round_trip_on_random_inputs) {
    const char alphabet[] = "()[]\"\\ ->a1\n,?";
    tf_rng rng;
    tf_rng_seed(&rng, 7);
    for (int iter = 0; iter < 20000; iter++) {
        char input[32];
        int n = (int)(tf_rng_u64(&rng) % 16);
        for (int i = 0; i < n; i++) input[i] = alphabet[tf_rng_u64(&rng) % (sizeof alphabet - 1)];
        input[n] = '\0';
        const char *result = (iter % 3 == 0) ? NULL : (iter % 3 == 1) ? "" : "r (x) -> y";
        char *s = tf_call_format("Tool", input, result);
        cr_assert_not_null(s, "format failed for '%s'", input);
        tf_call c;
        tf_error err;
        cr_assert_eq(tf_call_parse(s, strlen(s), &c, &err), TF_OK, "'%s': %s", s, err.msg);
        cr_assert_str_eq(c.name, "Tool");
        cr_assert_str_eq(c.input, input, "formatted as '%s'", s);
        if (result) cr_assert_str_eq(c.result, result, "'%s'", s);
        else cr_assert_null(c.result);
        cr_assert_eq(c.end, strlen(s));
        tf_call_free(&c);
        free(s);
    }
}

// Random bytes never crash the parser, and whatever parses is valid UTF-8 within the text.
Test(call, random_bytes_never_crash) {
    tf_rng rng;
    tf_rng_seed(&rng, 99);
    const char pieces[] = "[]()\"\\->Ab1 \x00\xff\xc3\xa9";
    for (int iter = 0; iter < 20000; iter++) {
        char s[40];
        int n = 1 + (int)(tf_rng_u64(&rng) % 40);
        s[0] = '[';
        for (int i = 1; i < n; i++) s[i] = pieces[tf_rng_u64(&rng) % (sizeof pieces - 1)];
        tf_call c;
        tf_error err;
        if (tf_call_parse(s, (size_t)n, &c, &err) == TF_OK) {
            cr_assert_leq(c.end, (size_t)n);
            cr_assert_eq(s[c.end - 1], ']');
            cr_assert(tf_utf8_valid(c.input, strlen(c.input)));
            tf_call_free(&c);
        }
    }
}

Test(call, text_is_the_inline_call_after_the_start_tokens_space) {
    char *s = tf_call_text("Calculator", "400 / 1400", "0.29", 1);
    cr_assert_str_eq(s, " [Calculator(400 / 1400) -> 0.29]");
    free(s);
    s = tf_call_text("Calendar", "", NULL, 1);  // e(c, empty)
    cr_assert_str_eq(s, " [Calendar() ->]");
    free(s);
    s = tf_call_text("QA", "x)] y", NULL, 0);
    cr_assert_str_eq(s, " [QA(\"x)] y\")]");
    free(s);
    cr_assert_null(tf_call_text("9lives", "x", NULL, 1));
}

Test(call, a_written_call_ends_at_its_first_arrow_or_bracket) {
    size_t cut = 99;
    cr_assert_eq(tf_call_body_end("Calculator(1 + 2", &cut), TF_CALL_OPEN);
    cr_assert_eq(cut, 99, "cut is left alone while the call is open");
    cr_assert_eq(tf_call_body_end("Calculator(1 + 2) ->", &cut), TF_CALL_AT_ARROW);
    cr_assert_eq(cut, 18);
    cr_assert_eq(tf_call_body_end("QA(x)] and -> later", &cut), TF_CALL_CLOSED);
    cr_assert_eq(cut, 5);
    cr_assert_eq(tf_call_body_end("QA(a->b)]", &cut), TF_CALL_AT_ARROW, "the first of the two wins");
    cr_assert_eq(cut, 4);
    cr_assert_eq(tf_call_body_end("Calendar()->x", NULL), TF_CALL_AT_ARROW);

    tf_call c;
    tf_error err;
    const char *body = "Calculator(27 + 4 * 2) ->";
    cr_assert_eq(tf_call_body_end(body, &cut), TF_CALL_AT_ARROW);
    cr_assert_eq(tf_call_parse_body(body, cut, &c, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(c.name, "Calculator");
    cr_assert_str_eq(c.input, "27 + 4 * 2");
    cr_assert_null(c.result);
    tf_call_free(&c);
    cr_assert_eq(tf_call_parse_body("not a call", 10, &c, &err), TF_EBADFILE);
}
