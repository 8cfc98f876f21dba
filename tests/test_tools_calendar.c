// test_tools_calendar.c — the Calendar tool: the paper's sentence, date sources, the Gregorian
// calendar from year 1 to 9999 checked against Zeller's congruence, bad dates, prefilter, prompt.
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "toolformer.h"

static tf_tool *calendar(const char *today) {
    tf_tool_options opt = {.today = today};
    tf_error err;
    tf_tool *t = tf_tool_create("calendar", &opt, &err);
    cr_assert_not_null(t, "%s", err.msg);
    return t;
}

static int run(tf_tool *t, const char *date, char *out, size_t cap) {
    tf_tool_context ctx = {.date = date};
    tf_error err;
    return tf_tool_execute(t, "", date ? &ctx : NULL, out, cap, &err);
}

Test(calendar, writes_the_papers_sentence) {
    tf_tool *t = calendar(NULL);
    char out[128];
    cr_assert_eq(run(t, "2023-01-30", out, sizeof out), TF_OK);
    cr_assert_str_eq(out, "Today is Monday, January 30, 2023.");
    cr_assert_str_eq(t->name, "Calendar");
    tf_tool_free(t);
}

Test(calendar, document_date_wins_over_today_option) {
    tf_tool *t = calendar("1999-12-31");
    char out[128];
    cr_assert_eq(run(t, "2000-01-01", out, sizeof out), TF_OK);
    cr_assert_str_eq(out, "Today is Saturday, January 1, 2000.");
    cr_assert_eq(run(t, NULL, out, sizeof out), TF_OK);
    cr_assert_str_eq(out, "Today is Friday, December 31, 1999.");
    tf_tool_free(t);
}

Test(calendar, uses_the_clock_without_dates) {
    tf_tool *t = calendar(NULL);
    char out[128];
    time_t before = time(NULL);
    cr_assert_eq(run(t, NULL, out, sizeof out), TF_OK);
    struct tm tm;
    localtime_r(&before, &tm);
    char year[16];
    snprintf(year, sizeof year, ", %d.", tm.tm_year + 1900);
    cr_assert(strncmp(out, "Today is ", 9) == 0, "%s", out);
    cr_assert(strstr(out, year) != NULL, "%s lacks %s", out, year);
    tf_tool_free(t);
}

Test(calendar, accepts_timestamps_after_the_date) {
    tf_tool *t = calendar(NULL);
    char out[128];
    cr_assert_eq(run(t, "1776-07-04T12:00:00Z", out, sizeof out), TF_OK);
    cr_assert_str_eq(out, "Today is Thursday, July 4, 1776.");
    tf_tool_free(t);
}

// Zeller's congruence (Gregorian): h = (q + 13(m+1)/5 + K + K/4 + J/4 + 5J) mod 7, 0 = Saturday,
// January and February counted as months 13 and 14 of the previous year.
static int zeller(int y, int m, int d) {
    if (m < 3) m += 12, y -= 1;
    int K = y % 100, J = y / 100;
    return (d + 13 * (m + 1) / 5 + K + K / 4 + J / 4 + 5 * J) % 7;
}

Test(calendar, weekdays_match_zellers_congruence_from_year_1_to_9999) {
    static const char *ZELLER_DAYS[7] = {"Saturday", "Sunday",   "Monday", "Tuesday",
                                         "Wednesday", "Thursday", "Friday"};
    static const char *MONTHS[13] = {"", "January", "February", "March", "April", "May", "June", "July",
                                     "August", "September", "October", "November", "December"};
    tf_tool *t = calendar(NULL);
    char date[40], out[128], want[160];
    int checked = 0;
    for (int y = 1; y <= 9999; y++) {
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        int md[][2] = {{1, 1}, {2, 28}, {2, 29}, {3, 1}, {7, 15}, {12, 31}};
        for (size_t k = 0; k < sizeof md / sizeof md[0]; k++) {
            int m = md[k][0], d = md[k][1];
            snprintf(date, sizeof date, "%04d-%02d-%02d", y, m, d);
            int rc = run(t, date, out, sizeof out);
            if (m == 2 && d == 29 && !leap) {
                cr_assert_eq(rc, TF_ETOOL, "%s is not a date but gave '%s'", date, out);
                continue;
            }
            cr_assert_eq(rc, TF_OK, "%s", date);
            snprintf(want, sizeof want, "Today is %s, %s %d, %d.", ZELLER_DAYS[zeller(y, m, d)], MONTHS[m], d, y);
            cr_assert_str_eq(out, want, "%s", date);
            checked++;
        }
    }
    cr_assert_gt(checked, 9999 * 5);
    tf_tool_free(t);
}

Test(calendar, known_dates_across_centuries) {
    tf_tool *t = calendar(NULL);
    char out[128];
    struct { const char *date, *want; } cases[] = {
        {"0001-01-01", "Today is Monday, January 1, 1."},  // proleptic Gregorian
        {"1582-10-15", "Today is Friday, October 15, 1582."},
        {"1900-03-01", "Today is Thursday, March 1, 1900."},
        {"2000-02-29", "Today is Tuesday, February 29, 2000."},
        {"2024-02-29", "Today is Thursday, February 29, 2024."},
        {"9999-12-31", "Today is Friday, December 31, 9999."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(run(t, cases[i].date, out, sizeof out), TF_OK, "%s", cases[i].date);
        cr_assert_str_eq(out, cases[i].want);
    }
    tf_tool_free(t);
}

Test(calendar, bad_document_dates_give_no_result) {
    tf_tool *t = calendar("2023-01-30");
    char out[128];
    const char *bad[] = {"1900-02-29", "2023-02-29", "2023-04-31", "0000-01-01", "10000-01-01", "2023-1-30",
                         "2023-13-01", "2023-00-10", "2023-01-00", "2023/01/30", "", "yesterday",
                         "2023-01-30x", "\xff\xfe"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tf_tool_context ctx = {.date = bad[i]};
        tf_error err;
        cr_assert_eq(tf_tool_execute(t, "", &ctx, out, sizeof out, &err), TF_ETOOL, "'%s' accepted", bad[i]);
        cr_assert_str_eq(out, "");
    }
    tf_tool_free(t);
}

Test(calendar, bad_today_option_is_a_usage_error) {
    tf_tool_options opt = {.today = "2023-02-30"};
    tf_error err;
    cr_assert_null(tf_tool_create("Calendar", &opt, &err));
    cr_assert_eq(err.code, TF_EBADARG);
    cr_assert(strstr(err.msg, "2023-02-30") != NULL, "%s", err.msg);
}

Test(calendar, ignores_its_input_and_fits_a_small_buffer_or_fails) {
    tf_tool *t = calendar(NULL);
    tf_tool_context ctx = {.date = "2023-01-30"};
    char out[128], tiny[8];
    tf_error err;
    cr_assert_eq(tf_tool_execute(t, "anything at all", &ctx, out, sizeof out, &err), TF_OK);
    cr_assert_str_eq(out, "Today is Monday, January 30, 2023.");
    cr_assert_eq(tf_tool_execute(t, "", &ctx, tiny, sizeof tiny, &err), TF_ETOOL);
    cr_assert_str_eq(tiny, "");
    tf_tool_free(t);
}

Test(calendar, prefilter_needs_a_document_date) {
    tf_tool *t = calendar("2023-01-30");
    tf_tool_context dated = {.date = "2023-01-30"}, bad = {.date = "soon"}, none = {0};
    cr_assert(t->prefilter(t, "some text", &dated));
    cr_assert_not(t->prefilter(t, "some text", &bad));
    cr_assert_not(t->prefilter(t, "some text", &none));
    cr_assert_not(t->prefilter(t, "some text", NULL));
    tf_tool_free(t);
}

Test(calendar, proposes_the_empty_call) {
    tf_tool *t = calendar(NULL);
    tf_strlist l = {0};
    cr_assert_eq(t->propose(t, "Today is", 8, NULL, &l), TF_OK);
    cr_assert_eq(l.n, 1);
    cr_assert_str_eq(l.items[0], "");
    tf_strlist_free(&l);
    tf_tool_free(t);
}

Test(calendar, prompt_is_the_papers_with_an_input_slot) {
    tf_tool *t = calendar(NULL);
    cr_assert(strstr(t->prompt, "Your task is to add calls to a Calendar API to a piece of text.") == t->prompt);
    cr_assert(strstr(t->prompt, "Output: The store is never open on the weekend, so today [Calendar()] it is "
                                "closed.\nInput: <INPUT>\nOutput:") != NULL);
    size_t n = strlen(t->prompt);
    cr_assert_str_eq(t->prompt + n - 7, "Output:");
    tf_tool_free(t);
}
