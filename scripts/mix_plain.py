#!/usr/bin/python3
"""mix_plain.py CSTAR PRETRAIN RATIO SEED OUT_TOOLFORMER OUT_CONTROL

Fine-tuning data for the demo. The paper fine-tunes a 6.7B model at learning rate 1e-5 on a C*
drawn from its pretraining distribution, so fine-tuning barely moves it away from ordinary text. A
2.6M model fine-tuned on a few hundred short annotated texts forgets instead (perplexity 76 -> 530,
and it loses the in-context copying that using a result needs). So both fine-tunes see the same
plain pretraining documents beside their texts, RATIO of them per annotated text, drawn with SEED
among those with no "[" (the recipe's copying notes such as "[12 + 30 -> 42]" look like calls
without a tool name; beside C* they taught the model to open a bracket of that kind where a call
should go: 21 of 150 held-out sums, against 3 without them):
  OUT_TOOLFORMER: the texts of C* (with their calls) + the plain documents
  OUT_CONTROL:    the same texts without calls (C*'s source_text) + the same plain documents
Both files list the same documents in the same order, so the two fine-tunes differ only in the calls.
"""
import json
import random
import sys

cstar, pretrain, ratio, seed, out_tf, out_ctl = sys.argv[1:7]
rows = [json.loads(line) for line in open(cstar) if line.strip()]
plain = [t for t in (json.loads(line)["text"] for line in open(pretrain) if line.strip()) if "[" not in t]
rng = random.Random(int(seed))
n_plain = min(len(plain), round(float(ratio) * len(rows)))
docs = [(r["text"], r["source_text"]) for r in rows]
docs += [(t, t) for t in rng.sample(plain, n_plain)]
rng.shuffle(docs)
with open(out_tf, "w") as f_tf, open(out_ctl, "w") as f_ctl:
    for with_calls, without in docs:
        f_tf.write(json.dumps({"text": with_calls}) + "\n")
        f_ctl.write(json.dumps({"text": without}) + "\n")
print(f"{len(rows)} annotated texts + {n_plain} plain documents", file=sys.stderr)
