// test_tools_external.c — external tools over JSON lines: a tool that answers, errors, hangs (time
// limit), dies (restart), prints garbage or floods a huge line, exits early or closes stdout; bad
// specs; no zombies left; and the example tool in examples/tools/.
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "toolformer.h"

static char dir[64];

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/tf_ext_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

// Writes a /bin/sh script named name into dir and returns "Name=/bin/sh PATH".
static const char *script(const char *tool, const char *name, const char *body) {
    static char spec[512];
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "%s\n", body);
    fclose(f);
    snprintf(spec, sizeof spec, "%s=/bin/sh %s", tool, path);
    return spec;
}

static tf_tool *make(const char *spec, int timeout_ms) {
    tf_tool_options opt = {.timeout_ms = timeout_ms};
    tf_error err;
    tf_tool *t = tf_tool_create_external(spec, &opt, &err);
    cr_assert_not_null(t, "%s: %s", spec, err.msg);
    return t;
}

static void assert_no_children(void) {
    errno = 0;
    cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1, "a child process is still there");
    cr_assert_eq(errno, ECHILD);
}

// Echoes the input (simple inputs only: the script does not decode JSON) with its pid.
#define ECHO_SH                                                                                   \
    "while IFS= read -r line; do\n"                                                               \
    "  in=${line#*\\\"input\\\":\\\"}; in=${in%\\\"\\}}\n"                                        \
    "  case \"$in\" in die) exit 3;; esac\n"                                                      \
    "  printf '{\"result\":\"%s from %s\"}\\n' \"$in\" \"$$\"\n"                                  \
    "done"

TestSuite(external, .init = setup, .fini = teardown);

Test(external, answers_requests_over_json_lines) {
    tf_tool *t = make(script("Echo", "echo.sh", ECHO_SH), 5000);
    cr_assert_str_eq(t->name, "Echo");
    cr_assert(strstr(t->prompt, "[Echo(input)]") != NULL);
    cr_assert(strstr(t->prompt, "<INPUT>") != NULL);
    char out[256];
    tf_error err;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(tf_tool_execute(t, "hello world", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
        cr_assert(strncmp(out, "hello world from ", 17) == 0, "%s", out);
    }
    tf_tool_free(t);
    assert_no_children();
}

typedef struct {
    tf_tool *tool;
    int id, ok;
} thread_arg;

static void *call_many(void *p) {
    thread_arg *a = p;
    for (int i = 0; i < 25; i++) {
        char in[32], out[256];
        tf_error err;
        snprintf(in, sizeof in, "t%d-%d", a->id, i);
        if (tf_tool_execute(a->tool, in, NULL, out, sizeof out, &err) == TF_OK && strncmp(out, in, strlen(in)) == 0 &&
            out[strlen(in)] == ' ')
            a->ok++;
    }
    return NULL;
}

Test(external, calls_from_several_threads_are_serialised) {
    tf_tool *t = make(script("Echo", "echo.sh", ECHO_SH), 5000);
    pthread_t th[4];
    thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){t, i, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, call_many, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) cr_assert_eq(args[i].ok, 25, "thread %d got %d of its own replies", i, args[i].ok);
    tf_tool_free(t);
    assert_no_children();
}

Test(external, restarts_after_the_program_dies) {
    tf_tool *t = make(script("Echo", "echo.sh", ECHO_SH), 5000);
    char out[256], first[256];
    tf_error err;
    cr_assert_eq(tf_tool_execute(t, "a", NULL, first, sizeof first, &err), TF_OK, "%s", err.msg);
    cr_assert_eq(tf_tool_execute(t, "die", NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "exited with status 3") != NULL, "%s", err.msg);
    cr_assert_str_eq(out, "");
    cr_assert_eq(tf_tool_execute(t, "a", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert_str_neq(out, first, "same pid %s: not restarted", out);
    tf_tool_free(t);
    assert_no_children();
}

Test(external, hanging_program_is_killed_at_the_time_limit) {
    tf_tool *t = make(script("Slow", "hang.sh", "while read -r line; do sleep 30; done"), 300);
    char out[256];
    tf_error err;
    double t0 = tf_time_s();
    cr_assert_eq(tf_tool_execute(t, "x", NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "no reply in time") != NULL, "%s", err.msg);
    cr_assert_eq(tf_tool_execute(t, "y", NULL, out, sizeof out, &err), TF_ETOOL);  // restarted, hangs again
    double took = tf_time_s() - t0;
    cr_assert_lt(took, 10.0, "two timed-out calls took %.1f s", took);  // a hang would take 60 s
    assert_no_children();  // killed and reaped, the sleeping grandchild included in the group kill
    tf_tool_free(t);
}

Test(external, garbage_and_error_replies_give_clear_errors) {
    tf_tool *t = make(script("Junk", "junk.sh",
                             "while read -r line; do\n"
                             "  case \"$line\" in\n"
                             "    *err*) echo '{\"error\": \"cannot do that\"}';;\n"
                             "    *num*) echo '{\"result\": 42}';;\n"
                             "    *arr*) echo '[1, 2]';;\n"
                             "    *ok*) echo '{\"result\": \"fine\"}';;\n"
                             "    *) echo 'this is not JSON';;\n"
                             "  esac\n"
                             "done"), 5000);
    char out[256];
    tf_error err;
    cr_assert_eq(tf_tool_execute(t, "x", NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "not {\"result\"") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "this is not JSON") != NULL, "%s", err.msg);
    cr_assert_eq(tf_tool_execute(t, "err", NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "cannot do that") != NULL, "%s", err.msg);
    cr_assert_eq(tf_tool_execute(t, "num", NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert_eq(tf_tool_execute(t, "arr", NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert_eq(tf_tool_execute(t, "ok", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);  // still in sync
    cr_assert_str_eq(out, "fine");
    tf_tool_free(t);
    assert_no_children();
}

Test(external, huge_reply_line_is_capped) {
    tf_tool *t = make(script("Flood", "flood.sh",
                             "while read -r line; do\n"
                             "  case \"$line\" in\n"
                             "    *ok*) echo '{\"result\": \"fine\"}';;\n"
                             "    *) head -c 20000000 /dev/zero | tr '\\000' a; echo;;\n"
                             "  esac\n"
                             "done"), 5000);
    char out[256];
    tf_error err;
    cr_assert_eq(tf_tool_execute(t, "x", NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "longer than") != NULL, "%s", err.msg);
    cr_assert_eq(tf_tool_execute(t, "ok", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(out, "fine");
    tf_tool_free(t);
    assert_no_children();
}

Test(external, program_that_writes_endlessly_never_hangs_a_call) {
    // answers the first request, then prints forever: later calls must still end
    tf_tool *t = make(script("Chatty", "chatty.sh",
                             "read -r line\n"
                             "echo '{\"result\": \"first\"}'\n"
                             "exec yes '{\"result\": \"spam\"}'"), 2000);
    char out[256];
    tf_error err;
    cr_assert_eq(tf_tool_execute(t, "x", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(out, "first");
    for (int i = 0; i < 3; i++) tf_tool_execute(t, "x", NULL, out, sizeof out, &err);  // any outcome, but it returns
    tf_tool_free(t);
    assert_no_children();
}

Test(external, long_result_is_cut_to_the_cap) {
    tf_tool_options opt = {.timeout_ms = 5000, .max_result_bytes = 10};
    tf_error err;
    tf_tool *t = tf_tool_create_external(
        script("Long", "long.sh", "while read -r line; do echo '{\"result\": \"abcdefghij\\u00e9klmnop\"}'; done"),
        &opt, &err);
    cr_assert_not_null(t, "%s", err.msg);
    char out[256];
    cr_assert_eq(tf_tool_execute(t, "x", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(out, "abcdefghij");
    opt.max_result_bytes = 11;  // é would straddle the cap: cut before it
    tf_tool_free(t);
    t = tf_tool_create_external(
        script("Long", "long.sh", "while read -r line; do echo '{\"result\": \"abcdefghij\\u00e9klmnop\"}'; done"),
        &opt, &err);
    cr_assert_eq(tf_tool_execute(t, "x", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(out, "abcdefghij");
    tf_tool_free(t);
}

Test(external, program_that_exits_or_closes_stdout_never_hangs) {
    tf_tool *t = make(script("Quit", "quit.sh", "exit 0"), 2000);
    char out[256];
    tf_error err;
    cr_assert_eq(tf_tool_execute(t, "x", NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert_eq(tf_tool_execute(t, "x", NULL, out, sizeof out, &err), TF_ETOOL);
    tf_tool_free(t);
    t = make(script("Mute", "mute.sh", "exec >&-\nsleep 30"), 2000);
    double t0 = tf_time_s();
    cr_assert_eq(tf_tool_execute(t, "x", NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "without replying") != NULL, "%s", err.msg);
    cr_assert_lt(tf_time_s() - t0, 10.0);
    tf_tool_free(t);
    assert_no_children();
}

Test(external, writing_to_a_dead_program_raises_no_sigpipe) {
    // The program never reads; a 60 KB input fills the pipe and then the reader is gone.
    tf_tool *t = make(script("Deaf", "deaf.sh", "exec 0<&-\nsleep 0.2\nexit 0"), 3000);
    char *big = malloc(60001);
    memset(big, 'a', 60000);
    big[60000] = '\0';
    char out[256];
    tf_error err;
    for (int i = 0; i < 3; i++) cr_assert_eq(tf_tool_execute(t, big, NULL, out, sizeof out, &err), TF_ETOOL);
    free(big);
    tf_tool_free(t);  // reaching here means SIGPIPE did not kill the test process
    assert_no_children();
}

Test(external, missing_program_and_bad_specs_are_errors) {
    tf_error err;
    cr_assert_null(tf_tool_create_external("X=/nonexistent/prog --flag", NULL, &err));
    cr_assert_eq(err.code, TF_ETOOL);
    cr_assert(strstr(err.msg, "/nonexistent/prog") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "No such file") != NULL, "%s", err.msg);
    const char *bad[] = {"noequals", "=cmd", "1x=cmd", "X=", "X=   ", "X='unclosed", "a b=cmd", NULL};
    for (int i = 0; bad[i]; i++) {
        cr_assert_null(tf_tool_create_external(bad[i], NULL, &err), "'%s' accepted", bad[i]);
        cr_assert_eq(err.code, TF_EBADARG, "'%s': %s", bad[i], err.msg);
    }
    cr_assert_null(tf_tool_create_external(NULL, NULL, &err));
    assert_no_children();
}

Test(external, quoted_arguments_and_json_escapes) {
    // the argument with a space arrives as one word; the input's quotes and newline arrive escaped
    tf_tool *t = make(script("Args", "args.sh",
                             "while IFS= read -r line; do\n"
                             "  case \"$line\" in\n"
                             "    *'\\\"q\\\"\\n'*) printf '{\"result\":\"%s|escaped\"}\\n' \"$1\";;\n"
                             "    *) printf '{\"result\":\"%s|raw\"}\\n' \"$1\";;\n"
                             "  esac\n"
                             "done"), 5000);
    tf_tool_free(t);
    char spec[512];
    snprintf(spec, sizeof spec, "Args=/bin/sh %s/args.sh 'two words'", dir);
    t = make(spec, 5000);
    char out[256];
    tf_error err;
    cr_assert_eq(tf_tool_execute(t, "\"q\"\n", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(out, "two words|escaped");
    tf_tool_free(t);
    assert_no_children();
}

// Writes n bytes of data to dir/name.
static void put_file(const char *name, const char *data, size_t n) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

Test(external, nul_in_a_result_becomes_a_space_and_cuts_nothing) {
    // issue 21 #13: "\u0000" (and a raw NUL byte) used to end the result at the NUL
    static const char esc[] = "{\"result\":\"abc\\u0000def\"}\n";
    static const char raw[] = "{\"result\":\"left\0right\"}\n";
    // an escaped backslash before "u0000" is text, not an escape: it stays as written
    static const char text[] = "{\"result\":\"a\\\\u0000b \\\\\\u0000 c\"}\n";
    put_file("esc", esc, sizeof esc - 1);
    put_file("raw", raw, sizeof raw - 1);
    put_file("text", text, sizeof text - 1);
    char body[512];
    snprintf(body, sizeof body, "while IFS= read -r line; do\n"
                                "  case \"$line\" in\n"
                                "    *raw*) cat '%s/raw';;\n"
                                "    *text*) cat '%s/text';;\n"
                                "    *) cat '%s/esc';;\n"
                                "  esac\n"
                                "done", dir, dir, dir);
    tf_tool *t = make(script("Nul", "nul.sh", body), 5000);
    char out[256];
    tf_error err;
    cr_assert_eq(tf_tool_execute(t, "esc", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(out, "abc def");
    cr_assert_eq(tf_tool_execute(t, "raw", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(out, "left right");
    cr_assert_eq(tf_tool_execute(t, "text", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(out, "a\\u0000b \\ c");
    tf_tool_free(t);
    assert_no_children();
}

Test(external, example_units_tool) {
    if (access("/usr/bin/python3", X_OK) != 0) cr_skip_test("python3 is not installed");
    tf_toolset set = {0};
    tf_error err;
    cr_assert_eq(tf_toolset_add(&set, tf_tool_create_external("Units=python3 examples/tools/units.py", NULL, &err),
                                &err), TF_OK, "%s", err.msg);
    tf_tool *t = tf_toolset_find(&set, "units");
    cr_assert_not_null(t);
    char out[256];
    cr_assert_eq(tf_tool_execute(t, "5 km to miles", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(out, "3.11 miles");  // 5000 / 1609.344 = 3.1069
    cr_assert_eq(tf_tool_execute(t, "100 C to F", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(out, "212 F");
    cr_assert_eq(tf_tool_execute(t, "3 kg to km", NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "cannot convert") != NULL, "%s", err.msg);
    tf_toolset_free(&set);
    assert_no_children();
}
