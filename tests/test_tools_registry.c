// test_tools_registry.c — tools by name, tool sets, the limits tf_tool_execute applies to every
// tool (input checks, time limit, result normalisation and UTF-8-safe cap), string lists, UTF-8.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>

#include "toolformer.h"

Test(registry, creates_builtins_by_name_case_insensitively) {
    tf_error err;
    const char *names[] = {"calendar", "CALCULATOR", "Calendar", "calculator"};
    const char *want[] = {"Calendar", "Calculator", "Calendar", "Calculator"};
    for (int i = 0; i < 4; i++) {
        tf_tool *t = tf_tool_create(names[i], NULL, &err);
        cr_assert_not_null(t, "%s: %s", names[i], err.msg);
        cr_assert_str_eq(t->name, want[i]);
        cr_assert_not_null(t->prompt);
        cr_assert(strstr(t->prompt, "<INPUT>") != NULL);
        cr_assert_gt(t->timeout_ms, 0);
        cr_assert_gt(t->max_result_bytes, 0);
        tf_tool_free(t);
    }
}

Test(registry, unknown_tool_is_a_usage_error_naming_it) {
    tf_error err;
    cr_assert_null(tf_tool_create("Abacus", NULL, &err));
    cr_assert_eq(err.code, TF_EBADARG);
    cr_assert(strstr(err.msg, "Abacus") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "calculator") != NULL, "%s", err.msg);
    cr_assert_null(tf_tool_create(NULL, NULL, &err));
    cr_assert_eq(err.code, TF_EBADARG);
}

Test(registry, options_set_time_limit_and_result_cap) {
    tf_error err;
    tf_tool_options opt = {.timeout_ms = 1234, .max_result_bytes = 7};
    tf_tool *t = tf_tool_create("calculator", &opt, &err);
    cr_assert_not_null(t);
    cr_assert_eq(t->timeout_ms, 1234);
    cr_assert_eq(t->max_result_bytes, 7);
    char out[64];
    cr_assert_eq(tf_tool_execute(t, "123456 * 1000", NULL, out, sizeof out, &err), TF_OK);
    cr_assert_str_eq(out, "1234560");  // 9 bytes cut to 7
    tf_tool_free(t);
    opt.timeout_ms = -1;
    cr_assert_null(tf_tool_create("calculator", &opt, &err));
    cr_assert_eq(err.code, TF_EBADARG);
}

Test(registry, toolset_parses_lists_and_finds_tools) {
    tf_toolset set = {0};
    tf_error err;
    cr_assert_eq(tf_toolset_parse(&set, " calendar , Calculator", NULL, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(set.n, 2);
    cr_assert_str_eq(tf_toolset_find(&set, "calculator")->name, "Calculator");
    cr_assert_str_eq(tf_toolset_find(&set, "CALENDAR")->name, "Calendar");
    cr_assert_null(tf_toolset_find(&set, "QA"));
    cr_assert_null(tf_toolset_find(&set, NULL));
    tf_toolset_free(&set);
    cr_assert_eq(set.n, 0);
    cr_assert_null(set.tools);
}

Test(registry, toolset_rejects_bad_lists) {
    const char *bad[] = {"", "calendar,", ",calendar", "calendar,,calculator", "calendar,calendar",
                         "calendar,nope", "  "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tf_toolset set = {0};
        tf_error err;
        cr_assert_eq(tf_toolset_parse(&set, bad[i], NULL, &err), TF_EBADARG, "'%s' accepted", bad[i]);
        cr_assert_neq(err.msg[0], '\0');
        tf_toolset_free(&set);
    }
}

Test(registry, toolset_list_may_name_tools_already_added) {
    tf_toolset set = {0};
    tf_error err;
    tf_tool *cal = tf_tool_create("calendar", NULL, &err);
    cr_assert_eq(tf_toolset_add(&set, cal, &err), TF_OK);
    cr_assert_eq(tf_toolset_parse(&set, "Calculator,CALENDAR", NULL, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(set.n, 2);
    cr_assert_eq(tf_toolset_find(&set, "calendar"), cal);  // the same tool, not a second one
    cr_assert_eq(tf_toolset_parse(&set, "calculator", NULL, &err), TF_OK);  // already there: kept
    cr_assert_eq(set.n, 2);
    tf_toolset_free(&set);
}

Test(registry, toolset_add_takes_ownership_even_on_duplicates) {
    tf_toolset set = {0};
    tf_error err;
    cr_assert_eq(tf_toolset_add(&set, tf_tool_create("calendar", NULL, &err), &err), TF_OK);
    cr_assert_eq(tf_toolset_add(&set, tf_tool_create("Calendar", NULL, &err), &err), TF_EBADARG);
    cr_assert(strstr(err.msg, "Calendar") != NULL, "%s", err.msg);
    cr_assert_eq(set.n, 1);
    cr_assert_eq(tf_toolset_add(&set, NULL, &err), TF_EBADARG);
    tf_toolset_free(&set);  // the leak checker of the ASan run verifies the duplicate was freed
}

Test(registry, toolset_holds_at_most_tf_max_tools) {
    static char names[TF_MAX_TOOLS + 1][16];
    tf_toolset set = {0};
    tf_error err;
    for (int i = 0; i <= TF_MAX_TOOLS; i++) {
        snprintf(names[i], sizeof names[i], "Tool%d", i);
        tf_tool *t = calloc(1, sizeof *t);
        cr_assert_not_null(t);
        t->name = names[i];
        int rc = tf_toolset_add(&set, t, &err);
        if (i < TF_MAX_TOOLS) cr_assert_eq(rc, TF_OK, "tool %d: %s", i, err.msg);
        else cr_assert_eq(rc, TF_EBADARG, "tool %d was accepted", i);
    }
    cr_assert_eq(set.n, TF_MAX_TOOLS);
    char want[64];
    snprintf(want, sizeof want, "at most %d tools", TF_MAX_TOOLS);
    cr_assert(strstr(err.msg, want) != NULL, "%s", err.msg);
    tf_toolset_free(&set);  // the one refused was freed by tf_toolset_add (the ASan run checks)
}

// ---- the limits of tf_tool_execute, with a tool that returns whatever it is told --------------------

static const char *fake_reply;
static int fake_rc, fake_sleep_ms;

static int fake_execute(tf_tool *t, const char *input, const tf_tool_context *ctx, char *out, size_t cap,
                        tf_error *err) {
    (void)t, (void)input, (void)ctx;
    if (fake_sleep_ms) {
        struct timespec ts = {0, fake_sleep_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (fake_rc) return tf_errorf(err, fake_rc, "fake: failed");
    snprintf(out, cap, "%s", fake_reply);
    return TF_OK;
}

static tf_tool fake(int max_result) {
    tf_tool t = {.name = "Fake", .timeout_ms = 1000, .max_result_bytes = max_result, .execute = fake_execute};
    fake_rc = 0, fake_sleep_ms = 0;
    return t;
}

static int run(tf_tool *t, const char *reply, char *out, size_t cap, tf_error *err) {
    fake_reply = reply;
    return tf_tool_execute(t, "in", NULL, out, cap, err);
}

Test(registry, result_is_made_one_line_of_utf8_without_brackets) {
    tf_tool t = fake(100);
    char out[128];
    tf_error err;
    cr_assert_eq(run(&t, "  a\nb \t c  [x]\r\n", out, sizeof out, &err), TF_OK);
    cr_assert_str_eq(out, "a b c (x)");
    cr_assert_eq(run(&t, "caf\xc3\xa9 \xff\xfe ok \xed\xa0\x80!", out, sizeof out, &err), TF_OK);
    cr_assert_str_eq(out, "caf\xc3\xa9 ok !");
    cr_assert_eq(run(&t, " \n\t ", out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "empty") != NULL, "%s", err.msg);
    cr_assert_str_eq(out, "");
}

Test(registry, result_is_cut_at_a_utf8_boundary) {
    tf_tool t = fake(5);
    char out[128];
    tf_error err;
    cr_assert_eq(run(&t, "\xc3\xa9\xc3\xa9\xc3\xa9", out, sizeof out, &err), TF_OK);  // 3 x é, 6 bytes
    cr_assert_str_eq(out, "\xc3\xa9\xc3\xa9");
    t.max_result_bytes = 1000;
    char small[6];  // the caller's buffer also caps it: 5 bytes + NUL
    cr_assert_eq(run(&t, "ab\xe2\x82\xac\xe2\x82\xac", small, sizeof small, &err), TF_OK);  // "ab€€"
    cr_assert_str_eq(small, "ab\xe2\x82\xac");
    t.max_result_bytes = 4;
    cr_assert_eq(run(&t, "abc def", out, sizeof out, &err), TF_OK);  // cut leaves no trailing space
    cr_assert_str_eq(out, "abc");
}

Test(registry, late_results_are_discarded) {
    tf_tool t = fake(100);
    t.timeout_ms = 20;
    fake_sleep_ms = 80;
    char out[64];
    tf_error err;
    cr_assert_eq(run(&t, "late", out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "time limit") != NULL, "%s", err.msg);
    cr_assert_str_eq(out, "");
}

Test(registry, failures_clear_the_result_and_keep_the_message) {
    tf_tool t = fake(100);
    fake_rc = TF_ETOOL;
    char out[64] = "stale";
    tf_error err;
    cr_assert_eq(run(&t, "x", out, sizeof out, &err), TF_ETOOL);
    cr_assert_str_eq(out, "");
    cr_assert_str_eq(err.msg, "fake: failed");
}

Test(registry, inputs_must_be_bounded_utf8) {
    tf_tool t = fake(100);
    fake_reply = "ok";
    char out[64];
    tf_error err;
    cr_assert_eq(tf_tool_execute(&t, "\xc0\xaf", NULL, out, sizeof out, &err), TF_ETOOL);  // overlong '/'
    cr_assert(strstr(err.msg, "UTF-8") != NULL, "%s", err.msg);
    char *big = malloc(TF_TOOL_MAX_INPUT_BYTES + 2);
    memset(big, 'a', TF_TOOL_MAX_INPUT_BYTES + 1);
    big[TF_TOOL_MAX_INPUT_BYTES + 1] = '\0';
    cr_assert_eq(tf_tool_execute(&t, big, NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "longer") != NULL, "%s", err.msg);
    big[TF_TOOL_MAX_INPUT_BYTES] = '\0';
    cr_assert_eq(tf_tool_execute(&t, big, NULL, out, sizeof out, &err), TF_OK);
    free(big);
    cr_assert_eq(tf_tool_execute(&t, NULL, NULL, out, sizeof out, &err), TF_OK);  // NULL input = ""
    cr_assert_eq(tf_tool_execute(NULL, "x", NULL, out, sizeof out, &err), TF_EBADARG);
    cr_assert_eq(tf_tool_execute(&t, "x", NULL, out, 0, &err), TF_EBADARG);
}

Test(registry, strlist_push_find_free) {
    tf_strlist l = {0};
    for (int i = 0; i < 100; i++) {
        char s[16];
        snprintf(s, sizeof s, "item%d", i);
        cr_assert_eq(tf_strlist_push(&l, s), TF_OK);
    }
    cr_assert_eq(l.n, 100);
    cr_assert_str_eq(l.items[42], "item42");
    cr_assert_eq(tf_strlist_find(&l, "item99"), 99);
    cr_assert_eq(tf_strlist_find(&l, "item100"), -1);
    tf_strlist_free(&l);
    cr_assert_eq(l.n, 0);
    cr_assert_eq(tf_strlist_push(&l, "again"), TF_OK);  // reusable after free
    tf_strlist_free(&l);
}

Test(registry, utf8_validation_and_cut) {
    cr_assert(tf_utf8_valid("", 0));
    cr_assert(tf_utf8_valid("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10));
    cr_assert_not(tf_utf8_valid("\xc0\x80", 2));          // overlong NUL
    cr_assert_not(tf_utf8_valid("\xe0\x80\xaf", 3));      // overlong
    cr_assert_not(tf_utf8_valid("\xed\xb0\x80", 3));      // surrogate
    cr_assert_not(tf_utf8_valid("\xf4\x90\x80\x80", 4));  // > U+10FFFF
    cr_assert_not(tf_utf8_valid("\x80", 1));
    cr_assert_not(tf_utf8_valid("\xe2\x82", 2));          // truncated
    const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";  // a é € 😀: boundaries 0 1 3 6 10
    size_t want[11] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10};
    for (size_t n = 0; n <= 10; n++) cr_assert_eq(tf_utf8_cut(s, n), want[n], "cut at %zu", n);
}

// ---- the `toolformer tool` command -----------------------------------------------------------------

#include <sys/wait.h>
#include <unistd.h>

// Runs $TF_BIN with args (NULL-terminated), stdin from in (may be NULL); stdout into out[cap]
// (stderr is discarded). Returns the exit code.
static int run_cli(const char *in, char *out, size_t cap, const char *const *args) {
    const char *bin = getenv("TF_BIN");
    if (!bin) bin = "build/toolformer";
    int po[2], pi[2];
    cr_assert_eq(pipe(po), 0);
    cr_assert_eq(pipe(pi), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        const char *argv[32] = {bin};
        int n = 1;
        for (; args[n - 1] && n < 31; n++) argv[n] = args[n - 1];
        argv[n] = NULL;
        dup2(pi[0], 0);
        dup2(po[1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        close(pi[1]), close(po[0]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(pi[0]), close(po[1]);
    if (in) cr_assert_eq(write(pi[1], in, strlen(in)), (ssize_t)strlen(in));
    close(pi[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(po[0], out + n, cap - 1 - n)) > 0) n += (size_t)r;
    out[n] = '\0';
    close(po[0]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "the CLI crashed");
    return WEXITSTATUS(status);
}

#define CLI(in, out, ...) run_cli(in, out, sizeof out, (const char *const[]){__VA_ARGS__, NULL})

Test(cli_tool, runs_builtin_tools) {
    char out[1024];
    cr_assert_eq(CLI(NULL, out, "tool", "calculator", "400 / 1400"), 0);
    cr_assert_str_eq(out, "0.29\n");
    cr_assert_eq(CLI(NULL, out, "tool", "--name", "Calendar", "--date", "2023-01-30"), 0);
    cr_assert_str_eq(out, "Today is Monday, January 30, 2023.\n");
    cr_assert_eq(CLI(NULL, out, "tool", "calendar", "--today", "2000-01-01"), 0);
    cr_assert_str_eq(out, "Today is Saturday, January 1, 2000.\n");
    cr_assert_eq(CLI(NULL, out, "tool", "--tools", "calendar,calculator", "--name", "calculator", "--input",
                     "10-2-3"), 0);
    cr_assert_str_eq(out, "5\n");
    cr_assert_eq(CLI("2 * (3 + 4)\n", out, "tool", "calculator", "--input", "-"), 0);
    cr_assert_str_eq(out, "14\n");
}

Test(cli_tool, call_syntax_and_json) {
    char out[1024];
    cr_assert_eq(CLI(NULL, out, "tool", "--call", "[Calculator(27 + 4 * 2)]"), 0);
    cr_assert_str_eq(out, "[Calculator(27 + 4 * 2) -> 35]\n");
    cr_assert_eq(CLI(NULL, out, "tool", "calculator", "735 / 499", "--json"), 0);
    cr_assert_str_eq(out, "{\"tool\":\"Calculator\",\"input\":\"735 / 499\",\"result\":\"1.47\"}\n");
    cr_assert_eq(CLI(NULL, out, "tool", "calculator", "1 / 0", "--json"), 1);
    cr_assert(strstr(out, "\"error\":\"Calculator: division by zero\"") != NULL, "%s", out);
}

Test(cli_tool, prompt_and_help) {
    char out[8192];
    cr_assert_eq(CLI(NULL, out, "tool", "calendar", "--prompt"), 0);
    cr_assert(strstr(out, "Input: <INPUT>\nOutput:\n") != NULL, "%s", out);
    cr_assert_eq(CLI(NULL, out, "tool", "--help"), 0);
    cr_assert(strstr(out, "--tool NAME=COMMAND") != NULL);
    cr_assert(strstr(out, "--call") != NULL);
}

Test(cli_tool, no_result_and_bad_usage_exit_codes) {
    char out[1024];
    cr_assert_eq(CLI(NULL, out, "tool", "calculator", "2 +"), 1);
    cr_assert_str_eq(out, "");
    cr_assert_eq(CLI(NULL, out, "tool", "calendar", "--date", "2023-02-29"), 1);
    cr_assert_eq(CLI(NULL, out, "tool", "abacus", "1"), 2);
    cr_assert_eq(CLI(NULL, out, "tool"), 2);
    cr_assert_eq(CLI(NULL, out, "tool", "calculator", "1", "2"), 2);
    cr_assert_eq(CLI(NULL, out, "tool", "calculator", "--bogus"), 2);
    cr_assert_eq(CLI(NULL, out, "tool", "calculator", "--timeout-ms", "0"), 2);
    cr_assert_eq(CLI(NULL, out, "tool", "calendar", "--today", "2023-13-01"), 2);
    cr_assert_eq(CLI(NULL, out, "tool", "--call", "[Calculator(1+1"), 2);
    cr_assert_eq(CLI(NULL, out, "tool", "--call", "[Calculator(1)] trailing"), 2);
    cr_assert_eq(CLI(NULL, out, "tool", "--tools", "calendar", "calculator", "1"), 2);
    cr_assert_eq(CLI(NULL, out, "tool", "--tool", "X=/nonexistent/prog", "X", "1"), 1);
    cr_assert_eq(CLI(NULL, out, "tool", "--tool", "noequals", "X", "1"), 2);
}

Test(cli_tool, runs_external_tools) {
    if (access("/usr/bin/python3", X_OK) != 0) cr_skip_test("python3 is not installed");
    char out[1024];
    cr_assert_eq(CLI(NULL, out, "tool", "--tool", "Units=python3 examples/tools/units.py", "units", "5 km to miles"), 0);
    cr_assert_str_eq(out, "3.11 miles\n");
    cr_assert_eq(CLI(NULL, out, "tool", "--tool", "Units=python3 examples/tools/units.py", "--call",
                     "[Units(100 C to F)]"), 0);
    cr_assert_str_eq(out, "[Units(100 C to F) -> 212 F]\n");
    cr_assert_eq(CLI(NULL, out, "tool", "--tools", "calculator,Units", "--tool", "Units=python3 examples/tools/units.py",
                     "Units", "1 kg to g"), 0);
    cr_assert_str_eq(out, "1000 g\n");
}

// tf_utf8_sanitize (the JSON writers' cleaner) against tf_utf8_valid: valid text comes back unchanged,
// each invalid byte becomes U+FFFD, and the output is always valid.
Test(registry, utf8_sanitize_replaces_each_invalid_byte) {
    const struct {
        const char *in, *out;
    } cases[] = {
        {"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
        {"abc\xe2\x82", "abc\xef\xbf\xbd\xef\xbf\xbd"},  // a character cut at the end: two bytes, two U+FFFD
        {"\xc0\x80x", "\xef\xbf\xbd\xef\xbf\xbdx"},    // overlong NUL
        {"\xed\xb0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},  // surrogate
        {"\x80" "a\xff", "\xef\xbf\xbd" "a\xef\xbf\xbd"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = tf_utf8_sanitize(cases[i].in, strlen(cases[i].in));
        cr_assert_not_null(s);
        cr_assert_str_eq(s, cases[i].out, "case %zu", i);
        cr_assert(tf_utf8_valid(s, strlen(s)));
        free(s);
    }
    unsigned char all[256];  // every byte value once (NUL included, counted by n)
    for (int b = 0; b < 256; b++) all[b] = (unsigned char)b;
    char *s = tf_utf8_sanitize((const char *)all, 256);
    cr_assert(tf_utf8_valid(s, strlen(s)), "%s", s);
    free(s);
}
