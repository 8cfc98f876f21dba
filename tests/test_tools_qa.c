// test_tools_qa.c — the QA tool: retrieval from the passage index and the extractive reading rule
// (qa.c) on a small fact corpus; short answers; the reader-model option refused for now.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "toolformer.h"
#include "tools/search_index.h"
#include "tools/tools_internal.h"

#define FIXTURE "tests/fixtures/search/passages.jsonl"

static char tmpdir[64], dbpath[128];

static void setup(void) {
    strcpy(tmpdir, "/tmp/tf_qa_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    snprintf(dbpath, sizeof dbpath, "%s/facts.db", tmpdir);
    search_build_opts o = {0};
    tf_error err;
    cr_assert_eq(search_index_build(FIXTURE, dbpath, &o, NULL, &err), TF_OK, "%s", err.msg);
}

static void teardown(void) {
    remove(dbpath);
    rmdir(tmpdir);
}

static tf_tool *qa_tool(void) {
    tf_tool_options opt = {.index_path = dbpath};
    tf_error err = {0};
    tf_tool *t = tool_qa_new(&opt, &err);
    cr_assert_not_null(t, "%s", err.msg);
    return t;
}

static void free_tool(tf_tool *t) {
    t->destroy(t);
    free(t);
}

Test(qa, answers_fact_questions_from_the_index, .init = setup, .fini = teardown) {
    static const char *const cases[][2] = {
        {"Where was Joe Biden born?", "Scranton, Pennsylvania"},
        {"When was the Knights of Columbus founded?", "March 29, 1882"},
        {"Where was the Knights of Columbus founded?", "New Haven, Connecticut"},
        {"Who manufactures Coca-Cola?", "Coca-Cola Company"},
        {"What other name is Coca-Cola known by?", "Coke"},
        {"How long is the Nile?", "6,650 km"},
        {"Who created Python?", "Guido van Rossum"},
        {"When was Python first released?", "1991"},
        {"How high is Mount Everest?", "8,849 metres"},
        {"Who designed the Eiffel Tower?", "Gustave Eiffel"},
        {"In what year was Joe Biden born?", "November 20, 1942"},
        {"Who invented Coca-Cola?", "John Stith Pemberton"},
        {"How many countries does the Nile drain?", "eleven countries"},
        {"In which state is Scranton?", "Pennsylvania"},
        {"Which city is the Eiffel Tower in?", "Paris, France"},
    };
    tf_tool *t = qa_tool();
    cr_assert_str_eq(t->name, "QA");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[256];
        tf_error err = {0};
        int rc = t->execute(t, cases[i][0], NULL, out, sizeof out, &err);
        cr_expect_eq(rc, TF_OK, "'%s': %s", cases[i][0], err.msg);
        if (rc == TF_OK) cr_expect_str_eq(out, cases[i][1], "'%s' answered '%s'", cases[i][0], out);
    }
    free_tool(t);
}

Test(qa, answers_are_short, .init = setup, .fini = teardown) {
    tf_tool *t = qa_tool();
    const char *qs[] = {"Who founded the Knights of Columbus?", "What is Metformin?", "Where is the Eiffel Tower?",
                        "What is spin fishing?"};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        char out[256];
        tf_error err = {0};
        if (t->execute(t, qs[i], NULL, out, sizeof out, &err) != TF_OK) continue;
        int words = 1;
        for (const char *p = out; *p; p++) words += *p == ' ';
        cr_assert(words <= 8 && strlen(out) <= 100, "'%s' answered '%s'", qs[i], out);
    }
    char out[256];
    tf_error err;
    cr_assert_eq(t->execute(t, "Who founded the Knights of Columbus?", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(out, "Michael J. McGivney");
    free_tool(t);
}

Test(qa, no_answer_is_no_result, .init = setup, .fini = teardown) {
    tf_tool *t = qa_tool();
    char out[256];
    tf_error err = {0};
    cr_assert_eq(t->execute(t, "Who painted the Mona Lisa?", NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert_eq(t->execute(t, "What is it?", NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert(strstr(err.msg, "no content words") != NULL, "%s", err.msg);
    cr_assert_eq(t->execute(t, "\" NEAR( * -title: AND", NULL, out, sizeof out, &err), TF_ETOOL);
    cr_assert_eq(t->execute(t, "", NULL, out, sizeof out, &err), TF_ETOOL);
    // A TIME question gets no name for an answer.
    cr_assert_eq(t->execute(t, "When is Metformin taken?", NULL, out, sizeof out, &err), TF_ETOOL, "answered '%s'", out);
    free_tool(t);
}

Test(qa, reader_model_is_refused_for_now) {
    tf_tool_options opt = {.index_path = "/tmp/whatever.db", .qa_model = "models/reader"};
    tf_error err = {0};
    cr_assert_null(tool_qa_new(&opt, &err));
    cr_assert_eq(err.code, TF_EBADARG);
    cr_assert(strstr(err.msg, "not supported yet") && strstr(err.msg, "models/reader"), "%s", err.msg);
}

Test(qa, missing_index_is_a_clear_error) {
    tf_tool_options opt = {.index_path = "/nonexistent/facts.db"};
    tf_error err = {0};
    cr_assert_null(tool_qa_new(&opt, &err));
    cr_assert(strstr(err.msg, "/nonexistent/facts.db") && strstr(err.msg, "toolformer index"), "%s", err.msg);
    tf_tool_options none = {0};
    cr_assert_null(tool_qa_new(&none, &err));
    cr_assert_eq(err.code, TF_EBADARG);
}

Test(qa, prompt_is_the_papers_with_input_slot, .init = setup, .fini = teardown) {
    tf_tool *t = qa_tool();
    cr_assert(!strncmp(t->prompt, "Your task is to add calls to a Question Answering API to a piece of text.", 73));
    cr_assert(strstr(t->prompt, "[QA(\"Who manufactures Coca-Cola?\")] the Coca-Cola Company.") != NULL);
    const char *slot = strstr(t->prompt, "Input: <INPUT>\n");
    cr_assert_not_null(slot);
    cr_assert_str_eq(slot, "Input: <INPUT>\nOutput:");
    free_tool(t);
}

// Issue 21 #14: a question about a name the index does not hold gets no answer, not a name from a
// passage that only shares a verb ("Who wrote Hamlet?" answered "Roman").
Test(qa, answers_only_from_passages_about_what_is_asked) {
    char dir[] = "/tmp/tf_qa_hamlet_XXXXXX", data[128], db[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(data, sizeof data, "%s/p.jsonl", dir);
    snprintf(db, sizeof db, "%s/p.db", dir);
    FILE *f = fopen(data, "w");
    cr_assert_not_null(f);
    fputs("{\"title\": \"Roman Empire\", \"text\": \"The Roman historian Tacitus wrote the Annals in Rome.\"}\n"
          "{\"title\": \"Julius Caesar\", \"text\": \"Julius Caesar wrote about the Gallic Wars.\"}\n", f);
    fclose(f);
    search_build_opts o = {0};
    tf_error err;
    cr_assert_eq(search_index_build(data, db, &o, NULL, &err), TF_OK, "%s", err.msg);
    tf_tool_options opt = {.index_path = db};
    tf_tool *t = tool_qa_new(&opt, &err);
    cr_assert_not_null(t, "%s", err.msg);
    char out[256];
    cr_assert_eq(t->execute(t, "Who wrote Hamlet?", NULL, out, sizeof out, &err), TF_ETOOL, "answered '%s'", out);
    cr_assert_eq(t->execute(t, "Who wrote the Annals?", NULL, out, sizeof out, &err), TF_OK, "%s", err.msg);
    cr_assert_str_eq(out, "Tacitus");
    free_tool(t);
    remove(data);
    remove(db);
    rmdir(dir);
}
