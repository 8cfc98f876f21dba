// sampler.c — greedy, temperature, top-k and top-p (nucleus) sampling from logits.
#include <math.h>
#include <stdlib.h>

#include "tf_model.h"

float tf_logprob(const float *logits, int V, int id) {
    float mx = -INFINITY;
    for (int i = 0; i < V; i++) mx = logits[i] > mx ? logits[i] : mx;
    double s = 0.0;
    for (int i = 0; i < V; i++) s += exp((double)logits[i] - mx);
    return (float)((double)logits[id] - mx - log(s));
}

typedef struct { float p; int id; } prob_id;

static int by_prob_desc(const void *a, const void *b) {
    const prob_id *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->id - y->id;
}

int tf_sample(const float *logits, int V, const tf_sampler *s, tf_rng *rng) {
    int best = 0;
    for (int i = 1; i < V; i++)
        if (logits[i] > logits[best]) best = i;
    if (!s || s->temperature <= 0.0f || !rng) return best;
    prob_id *pi = malloc((size_t)V * sizeof *pi);
    if (!pi) return best;
    double sum = 0.0;
    for (int i = 0; i < V; i++) {
        pi[i].id = i;
        pi[i].p = (float)exp(((double)logits[i] - logits[best]) / s->temperature);
        sum += pi[i].p;
    }
    int n = V;
    if ((s->top_k > 0 && s->top_k < V) || (s->top_p > 0.0f && s->top_p < 1.0f)) {
        qsort(pi, V, sizeof *pi, by_prob_desc);
        if (s->top_k > 0 && s->top_k < n) n = s->top_k;
        if (s->top_p > 0.0f && s->top_p < 1.0f) {
            double kept = 0.0, total = 0.0;
            for (int i = 0; i < n; i++) total += pi[i].p;
            for (int i = 0; i < n; i++) {
                kept += pi[i].p;
                if (kept >= s->top_p * total) { n = i + 1; break; }
            }
        }
        sum = 0.0;
        for (int i = 0; i < n; i++) sum += pi[i].p;
    }
    double u = tf_rng_uniform(rng) * sum, acc = 0.0;
    int pick = pi[n - 1].id;
    for (int i = 0; i < n; i++) {
        acc += pi[i].p;
        if (u < acc) { pick = pi[i].id; break; }
    }
    free(pi);
    return pick;
}
