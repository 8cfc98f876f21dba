// test_tools_mt.c — the MT tool: language detection (libexttextcat), translation by the real
// Apertium spa-eng pair, and a fake `apertium` on PATH for the failure cases (missing binary,
// hang, flood, unknown-word marks).
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "toolformer.h"
#include "tools/tools_internal.h"

static tf_tool *mt_tool(int timeout_ms) {
    tf_tool_options opt = {.timeout_ms = timeout_ms};
    tf_error err = {0};
    tf_tool *t = tool_mt_new(&opt, &err);
    cr_assert_not_null(t, "%s", err.msg);
    return t;
}

static const char *SPANISH = "El gobierno anunci\xc3\xb3 ayer nuevas medidas econ\xc3\xb3micas para reducir la inflaci\xc3\xb3n.";

Test(mt, translates_spanish_to_english) {
    tf_tool *t = mt_tool(0);
    cr_assert_str_eq(t->name, "MT");
    char out[512];
    tf_error err = {0};
    cr_assert_eq(t->execute(t, SPANISH, NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert(strstr(out, "government") && strstr(out, "inflation"), "got '%s'", out);
    cr_assert(strchr(out, '\n') == NULL, "got '%s'", out);
    // A second sentence, split over lines.
    cr_assert_eq(t->execute(t, "La ciudad m\xc3\xa1s grande del pa\xc3\xads tiene\nmuchos museos y parques.", NULL, out,
                            sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert(strstr(out, "city") && strstr(out, "museums") && !strchr(out, '\n'), "got '%s'", out);
    tf_tool_free(t);
}

Test(mt, unknown_word_marks_are_removed) {
    tf_tool *t = mt_tool(0);
    char out[512];
    tf_error err = {0};
    const char *in = "El gobierno anunci\xc3\xb3 ayer nuevas medidas econ\xc3\xb3micas en Xyzzqlandia para reducir la inflaci\xc3\xb3n.";
    cr_assert_eq(t->execute(t, in, NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert(strstr(out, "Xyzzqlandia") != NULL, "got '%s'", out);
    cr_assert(!strchr(out, '*') && !strchr(out, '#') && !strchr(out, '@'), "got '%s'", out);
    tf_tool_free(t);
}

Test(mt, english_input_gives_no_result) {
    tf_tool *t = mt_tool(0);
    char out[512];
    tf_error err = {0};
    cr_assert_eq(t->execute(t, "The government announced new economic measures yesterday to reduce inflation.", NULL,
                            out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "English") != NULL, "%s", err.msg);
    cr_assert_str_eq(out, "");
    tf_tool_free(t);
}

Test(mt, language_without_pair_or_words_gives_no_result) {
    tf_tool *t = mt_tool(0);
    char out[512];
    tf_error err = {0};
    // German: detected, but CI installs only the Spanish-English pair.
    int rc = t->execute(t, "Die Regierung hat gestern neue wirtschaftliche Ma\xc3\x9fnahmen gegen die Inflation angek\xc3\xbc" "ndigt.",
                        NULL, out, sizeof out, &err);
    if (rc == TF_ETOOL) cr_assert(strstr(err.msg, "no Apertium pair") && strstr(err.msg, "'de'"), "%s", err.msg);
    else cr_assert(access("/usr/share/apertium/modes/deu-eng.mode", F_OK) == 0, "German translated without a pair: '%s'", out);
    cr_assert_eq(t->execute(t, "12,345 + 678 = 13,023 %", NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "nothing to translate") != NULL, "%s", err.msg);
    cr_assert_eq(t->execute(t, "", NULL, out, sizeof out, &err), TF_ETOOL);
    static char big[5000];
    memset(big, 'a', sizeof big - 1);
    cr_assert_eq(t->execute(t, big, NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "longer") != NULL, "%s", err.msg);
    tf_tool_free(t);
}

Test(mt, missing_apertium_binary_gives_no_result) {
    cr_assert_eq(setenv("PATH", "/nonexistent-bin", 1), 0);
    tf_tool *t = mt_tool(0);
    char out[512];
    tf_error err = {0};
    cr_assert_eq(t->execute(t, SPANISH, NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "apertium") != NULL, "%s", err.msg);
    cr_assert_str_eq(out, "");
    tf_tool_free(t);
}

// ---- a fake `apertium` on PATH -----------------------------------------------------------------

static char fakedir[64];

static void fake_apertium(const char *body) {
    strcpy(fakedir, "/tmp/tf_mt_XXXXXX");
    cr_assert_not_null(mkdtemp(fakedir));
    char path[128];
    snprintf(path, sizeof path, "%s/apertium", fakedir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "#!/bin/sh\nif [ \"$1\" = -l ]; then echo '  spa-eng'; exit 0; fi\n%s\n", body);
    fclose(f);
    cr_assert_eq(chmod(path, 0755), 0);
    char newpath[4096];
    snprintf(newpath, sizeof newpath, "%s:%s", fakedir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    cr_assert_eq(setenv("PATH", newpath, 1), 0);
}

static void remove_fake(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/apertium", fakedir);
    unlink(path);
    rmdir(fakedir);
}

Test(mt, hanging_apertium_is_killed_at_the_time_limit, .fini = remove_fake) {
    fake_apertium("cat >/dev/null; sleep 30");
    tf_tool *t = mt_tool(300);
    char out[512];
    tf_error err = {0};
    double t0 = tf_time_s();
    cr_assert_eq(t->execute(t, SPANISH, NULL, out, sizeof out, &err), TF_ETOOL);
    double el = tf_time_s() - t0;
    cr_assert(strstr(err.msg, "300 ms") != NULL, "%s", err.msg);
    cr_assert(el < 5.0, "took %.1f s for a 300 ms limit", el);
    tf_tool_free(t);
}

Test(mt, flooding_apertium_is_cut_off, .fini = remove_fake) {
    fake_apertium("cat >/dev/null; yes 'the flood goes on'");
    tf_tool *t = mt_tool(5000);
    char out[512];
    tf_error err = {0};
    cr_assert_eq(t->execute(t, SPANISH, NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "output longer") != NULL, "%s", err.msg);
    tf_tool_free(t);
}

Test(mt, marks_are_stripped_and_all_unknown_is_no_result, .fini = remove_fake) {
    fake_apertium("read line; case \"$line\" in *inflaci*) echo 'The *gobierno @announced #new measures (*ok)';;"
                  " *) echo '*todo *desconocido';; esac");
    tf_tool *t = mt_tool(5000);
    char out[512];
    tf_error err = {0};
    cr_assert_eq(t->execute(t, SPANISH, NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(out, "The gobierno announced new measures (ok)");
    cr_assert_eq(t->execute(t, "La ciudad m\xc3\xa1s grande del pa\xc3\xads tiene muchos museos y parques.", NULL, out,
                            sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "none of the words") != NULL, "%s", err.msg);
    tf_tool_free(t);
}

Test(mt, failing_apertium_gives_no_result_with_its_message, .fini = remove_fake) {
    fake_apertium("echo 'Error: Mode spa-eng does not exist' >&2; exit 1");
    tf_tool *t = mt_tool(5000);
    char out[512];
    tf_error err = {0};
    cr_assert_eq(t->execute(t, SPANISH, NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "does not exist") != NULL, "%s", err.msg);
    tf_tool_free(t);
}

Test(mt, prompt_is_the_papers_with_input_slot) {
    tf_tool *t = mt_tool(0);
    cr_assert(!strncmp(t->prompt, "Your task is to complete a given piece of text by using a Machine Translation API.", 81));
    cr_assert(strstr(t->prompt, "[MT(O homem suprimido)]") != NULL);
    const char *slot = strstr(t->prompt, "Input: <INPUT>\n");
    cr_assert_not_null(slot);
    cr_assert_str_eq(slot, "Input: <INPUT>\nOutput:");
    tf_tool_free(t);
}

// ---- prefilter and proposer ------------------------------------------------------------------

static const char *MIXED = "The mayor told the press: la ciudad m\xc3\xa1s grande del pa\xc3\xads tiene muchos museos y "
                           "parques, and then she left for the airport.";

Test(mt, prefilter_wants_a_foreign_chunk_among_english) {
    tf_tool *t = mt_tool(0);
    cr_assert_not_null(t->prefilter);
    cr_assert(t->prefilter(t, MIXED, NULL), "mixed English/Spanish text rejected");
    cr_assert(!t->prefilter(t, "The mayor told the press that the city has many museums, and then she left.", NULL));
    cr_assert(!t->prefilter(t, "La ciudad m\xc3\xa1s grande del pa\xc3\xads tiene muchos museos y parques.", NULL));
    cr_assert(!t->prefilter(t, "", NULL));
    cr_assert(!t->prefilter(t, "12, 345; 678. 90", NULL));
    tf_tool_free(t);
}

Test(mt, proposes_the_foreign_chunk_before_the_call_only) {
    tf_tool *t = mt_tool(0);
    cr_assert_not_null(t->propose);
    const char *after = strstr(MIXED, ", and then");
    tf_strlist l = {0};
    cr_assert_eq(t->propose(t, MIXED, (size_t)(after - MIXED), NULL, &l), TF_OK);
    cr_assert_eq(l.n, 1, "%d proposals", l.n);
    cr_assert_str_eq(l.items[0], "la ciudad m\xc3\xa1s grande del pa\xc3\xads tiene muchos museos y parques");
    tf_strlist_free(&l);
    // Before the Spanish has been read there is nothing to translate.
    const char *before = strstr(MIXED, "la ciudad");
    cr_assert_eq(t->propose(t, MIXED, (size_t)(before - MIXED), NULL, &l), TF_OK);
    cr_assert_eq(l.n, 0);
    tf_strlist_free(&l);
    tf_tool_free(t);
}

Test(mt, repeated_input_is_answered_from_memory, .fini = remove_fake) {
    // The fake counts its translations in a file next to it.
    fake_apertium("read line; echo x >> \"$(dirname \"$0\")/calls\"; echo 'The government announced new measures'");
    tf_tool *t = mt_tool(5000);
    char out[512], calls[160];
    tf_error err = {0};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(t->execute(t, SPANISH, NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
        cr_assert_str_eq(out, "The government announced new measures");
    }
    snprintf(calls, sizeof calls, "%s/calls", fakedir);
    FILE *f = fopen(calls, "r");
    cr_assert_not_null(f);
    int lines = 0;
    for (int c; (c = fgetc(f)) != EOF;) lines += c == '\n';
    fclose(f);
    unlink(calls);
    cr_assert_eq(lines, 1, "apertium ran %d times for one input", lines);
    // A no-result that depends on the input alone is remembered too, with its reason.
    cr_assert_eq(t->execute(t, "The government announced new economic measures yesterday.", NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert_eq(t->execute(t, "The government announced new economic measures yesterday.", NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "English") != NULL, "%s", err.msg);
    cr_assert_str_eq(out, "");
    tf_tool_free(t);
}
