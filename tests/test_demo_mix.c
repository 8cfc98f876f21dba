// test_demo_mix.c — scripts/mix_plain.py, the demo's fine-tuning data: C* beside plain documents for
// the Toolformer fine-tune, and the very same documents without calls for the control.
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline_util.h"

// The "text" of each line of a JSONL file, in order (n set; at most 64).
static int read_texts(const char *path, char *texts[64]) {
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < 64) {
        cJSON *j = cJSON_Parse(line);
        cr_assert_not_null(j, "%s: not JSON: %s", path, line);
        texts[n++] = strdup(cJSON_GetObjectItem(j, "text")->valuestring);
        cJSON_Delete(j);
    }
    fclose(f);
    return n;
}

static void mix(const char *dir, const char *ratio, int seed, const char *tag) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "python3 scripts/mix_plain.py %s/cstar.jsonl %s/plain.jsonl %s %d %s/%s.jsonl %s/%s.control.jsonl 2>/dev/null",
             dir, dir, ratio, seed, dir, tag, dir, tag);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

Test(demo_mix, control_holds_the_same_documents_without_calls) {
    char dir[] = "/tmp/tf_mix_XXXXXX", p[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/cstar.jsonl", dir);
    FILE *f = fopen(p, "w");
    for (int i = 0; i < 4; i++)
        fprintf(f, "{\"id\": \"a%d\", \"text\": \"Sum %d [Calculator(%d + 1) -> %d] %d.\", \"calls\": [], "
                   "\"source_text\": \"Sum %d %d.\"}\n", i, i, i, i + 1, i + 1, i, i + 1);
    fclose(f);
    snprintf(p, sizeof p, "%s/plain.jsonl", dir);
    f = fopen(p, "w");
    for (int i = 0; i < 30; i++)  // a third hold a bracket note, which is never drawn
        fprintf(f, i % 3 ? "{\"text\": \"plain document %d\"}\n" : "{\"text\": \"plain [%d + 1 -> x] note\"}\n", i);
    fclose(f);
    mix(dir, "2.5", 7, "a");
    mix(dir, "2.5", 7, "b");
    mix(dir, "2.5", 8, "c");
    char *tf[64], *ctl[64], *again[64], *other[64], path[256];
    snprintf(path, sizeof path, "%s/a.jsonl", dir);
    int n = read_texts(path, tf);
    snprintf(path, sizeof path, "%s/a.control.jsonl", dir);
    cr_assert_eq(read_texts(path, ctl), n);
    cr_assert_eq(n, 4 + 10, "4 annotated texts and 2.5 plain documents for each");
    int annotated = 0, same_order = 1;
    snprintf(path, sizeof path, "%s/b.jsonl", dir);
    cr_assert_eq(read_texts(path, again), n);
    snprintf(path, sizeof path, "%s/c.jsonl", dir);
    cr_assert_eq(read_texts(path, other), n);
    for (int i = 0; i < n; i++) {
        if (strstr(tf[i], "[Calculator(")) {  // an annotated text: the control has its source text
            int k = -1, v = -1;
            cr_assert_eq(sscanf(tf[i], "Sum %d [Calculator(%*d + 1) -> %*d] %d.", &k, &v), 2, "%s", tf[i]);
            char want[64];
            snprintf(want, sizeof want, "Sum %d %d.", k, v);
            cr_assert_str_eq(ctl[i], want);
            annotated++;
        } else {
            cr_assert_str_eq(ctl[i], tf[i]);
            cr_assert_eq(strncmp(tf[i], "plain document ", 15), 0, "%s", tf[i]);
        }
        cr_assert_str_eq(again[i], tf[i], "the same seed gives the same mix");
        same_order &= !strcmp(other[i], tf[i]);
    }
    cr_assert_eq(annotated, 4);
    cr_assert_not(same_order, "another seed gives another order");
    for (int i = 0; i < n; i++) free(tf[i]), free(ctl[i]), free(again[i]), free(other[i]);
    rm_rf_dir(dir);
}
