// calendar.c — the Calendar tool (Toolformer §3): "Today is Monday, January 30, 2023." for the
// document's date (data generation, Appendix A.1: "the date that the document was created"), else
// the --today date, else the clock. Proleptic Gregorian calendar, years 1..9999; the weekday comes
// from our own day count, so the names are English whatever the C locale says.
#include "tools_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// Paper, Appendix A.2, verbatim; the document slot "x" is written <INPUT>.
static const char CALENDAR_PROMPT[] =
    "Your task is to add calls to a Calendar API to a piece of text. The API calls should help you "
    "get information required to complete the text. You can call the API by writing \"[Calendar()]\" "
    "Here are some examples of API calls:\n"
    "Input: Today is the first Friday of the year.\n"
    "Output: Today is the first [Calendar()] Friday of the year.\n"
    "Input: The president of the United States is Joe Biden.\n"
    "Output: The president of the United States is [Calendar()] Joe Biden.\n"
    "Input: The current day of the week is Wednesday.\n"
    "Output: The current day of the week is [Calendar()] Wednesday.\n"
    "Input: The number of days from now until Christmas is 30.\n"
    "Output: The number of days from now until Christmas is [Calendar()] 30.\n"
    "Input: The store is never open on the weekend, so today it is closed.\n"
    "Output: The store is never open on the weekend, so today [Calendar()] it is closed.\n"
    "Input: <INPUT>\n"
    "Output:";

static const char *const WEEKDAYS[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday"};
static const char *const MONTHS[12] = {"January", "February", "March",     "April",   "May",      "June",
                                       "July",    "August",   "September", "October", "November", "December"};

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int y, int m) {
    static const int DAYS[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : DAYS[m - 1];
}

// Days since 1970-01-01 of a Gregorian date: years are counted from March so that the leap day
// is the last day of the year; 400-year eras hold 146097 days.
static long days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;                                      // [0, 399]
    long doy = (153L * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;   // [0, 365]
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;              // [0, 146096]
    return era * 146097 + doe - 719468;
}

// 0 = Sunday; 1970-01-01 was a Thursday.
static int weekday(int y, int m, int d) {
    long days = days_from_civil(y, m, d);
    return (int)(((days % 7) + 7 + 4) % 7);
}

static int digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int tool_parse_date(const char *s, int *y, int *m, int *d) {
    if (!s || strnlen(s, 11) < 10 || s[4] != '-' || s[7] != '-') return -1;
    if (s[10] != '\0' && s[10] != 'T' && s[10] != ' ') return -1;
    int yy, mm, dd;
    if (digits(s, 4, &yy) || digits(s + 5, 2, &mm) || digits(s + 8, 2, &dd)) return -1;
    if (yy < 1 || mm < 1 || mm > 12 || dd < 1 || dd > days_in_month(yy, mm)) return -1;
    *y = yy, *m = mm, *d = dd;
    return 0;
}

typedef struct {
    char today[16];  // --today, "" for the clock
} calendar_state;

static int calendar_execute(tf_tool *t, const char *input, const tf_tool_context *ctx, char *out,
                            size_t cap, tf_error *err) {
    (void)input;  // Calendar() takes no input; whatever the model wrote there is ignored
    calendar_state *st = t->state;
    int y, m, d;
    if (ctx && ctx->date) {
        if (tool_parse_date(ctx->date, &y, &m, &d))
            return tf_errorf(err, TF_ETOOL, "Calendar: document date '%.40s' is not a date YYYY-MM-DD "
                             "(years 1-9999)", ctx->date);
    } else if (st->today[0]) {
        tool_parse_date(st->today, &y, &m, &d);  // checked when the tool was created
    } else {
        time_t now = time(NULL);
        struct tm tm;
        if (now == (time_t)-1 || !localtime_r(&now, &tm))
            return tf_errorf(err, TF_ETOOL, "Calendar: the clock is not available");
        y = tm.tm_year + 1900, m = tm.tm_mon + 1, d = tm.tm_mday;
        if (y < 1 || y > 9999) return tf_errorf(err, TF_ETOOL, "Calendar: the clock says year %d", y);
    }
    int n = snprintf(out, cap, "Today is %s, %s %d, %d.", WEEKDAYS[weekday(y, m, d)], MONTHS[m - 1], d, y);
    if (n < 0 || (size_t)n >= cap) return tf_errorf(err, TF_ETOOL, "Calendar: result buffer too small");
    return TF_OK;
}

// Paper, Appendix A: Calendar calls are only generated for documents with a date.
static int calendar_prefilter(const tf_tool *t, const char *text, const tf_tool_context *ctx) {
    (void)t, (void)text;
    int y, m, d;
    return ctx && ctx->date && tool_parse_date(ctx->date, &y, &m, &d) == 0;
}

// Calendar has one possible call, so it proposes it everywhere.
static int calendar_propose(const tf_tool *t, const char *text, size_t pos, const tf_tool_context *ctx,
                            tf_strlist *out) {
    (void)t, (void)text, (void)pos, (void)ctx;
    return tf_strlist_push(out, "");
}

static void calendar_destroy(tf_tool *t) {
    free(t->state);
    t->state = NULL;
}

tf_tool *tool_calendar_new(const tf_tool_options *opt, tf_error *err) {
    int y, m, d;
    if (opt && opt->today && tool_parse_date(opt->today, &y, &m, &d)) {
        tf_errorf(err, TF_EBADARG, "--today: '%.40s' is not a date YYYY-MM-DD (years 1-9999)", opt->today);
        return NULL;
    }
    calendar_state *st = calloc(1, sizeof *st);
    tf_tool *t = st ? tool_alloc("Calendar", CALENDAR_PROMPT, opt, 1000, 64, err) : NULL;
    if (!t) {
        free(st);
        if (!st) tf_errorf(err, TF_ENOMEM, "out of memory creating tool 'Calendar'");
        return NULL;
    }
    if (opt && opt->today) snprintf(st->today, sizeof st->today, "%.10s", opt->today);
    t->state = st;
    t->execute = calendar_execute;
    t->prefilter = calendar_prefilter;
    t->propose = calendar_propose;
    t->destroy = calendar_destroy;
    return t;
}
