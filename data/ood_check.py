#!/usr/bin/env python3
"""ood_check.py — the out-of-template test sets (data/ood/*.jsonl) against the recipe's output.

usage: ood_check.py DATA_DIR [OOD_DIR]

Fails (exit 1, one line per finding on stderr) when any 6-word span of an out-of-template prompt
occurs inside one string of any JSONL file in DATA_DIR (what
data/make_data.sh writes: pretraining, annotation, eval and passage texts), or when a label does
not follow from its example (a date's weekday / month / year / day; a word problem's sum,
difference, product or quotient of its two numbers). Words are runs of letters and digits,
compared in lower case. Exit 2: bad usage or unreadable input.
"""
import datetime as dt
import glob
import json
import os
import re
import sys

SPAN = 6
WORD = re.compile(r"[a-z0-9]+")
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december"]


def read_jsonl(path):
    try:
        with open(path, encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield i, json.loads(line)
                    except ValueError:
                        sys.stderr.write("ood_check.py: %s:%d: not JSON\n" % (path, i))
                        sys.exit(2)
    except OSError as e:
        sys.stderr.write("ood_check.py: %s: %s\n" % (path, e.strerror))
        sys.exit(2)


def strings(x):
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from strings(v)
    elif isinstance(x, list):
        for v in x:
            yield from strings(v)


def label_problem(rec):
    """None when the label follows from the example, else what is wrong."""
    p, a = rec["prompt"], rec["answer"]
    if "date" in rec:
        d = dt.date.fromisoformat(rec["date"])
        want = a.lower().split()
        if len(want) == 2:  # "Month D"
            ok = want == [MONTHS[d.month - 1], str(d.day)]
        else:
            ok = want[0] in (WEEKDAYS[d.weekday()], MONTHS[d.month - 1], str(d.year), str(d.day))
            ok = ok and (want[0] not in WEEKDAYS or want[0] == WEEKDAYS[d.weekday()])
            ok = ok and (want[0] not in MONTHS or want[0] == MONTHS[d.month - 1])
        return None if ok else "answer %r does not fit date %s" % (a, rec["date"])
    nums = [int(x) for x in re.findall(r"\d+", p)]
    if len(nums) == 2 and p.endswith("The answer is"):
        x, y = max(nums), min(nums)
        if int(a) in (x + y, x - y, x * y) or (y and x % y == 0 and int(a) == x // y):
            return None
        return "answer %s is no sum, difference, product or quotient of %d and %d" % (a, x, y)
    if len(nums) == 0 and not re.search(r"\d", a):
        return None  # a fact
    return "not a date, a word problem of two numbers or a fact"


def main():
    args = sys.argv[1:]
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if len(args) not in (1, 2) or not os.path.isdir(args[0]):
        sys.stderr.write(__doc__)
        return 2
    data = args[0]
    ood = args[1] if len(args) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "ood")
    spans, bad = {}, 0
    n_ood = 0
    for path in sorted(glob.glob(os.path.join(ood, "*.jsonl"))):
        for line, rec in read_jsonl(path):
            n_ood += 1
            if not isinstance(rec.get("prompt"), str) or not isinstance(rec.get("answer"), str):
                sys.stderr.write("ood_check.py: %s:%d: expected {\"prompt\", \"answer\"}\n" % (path, line))
                return 2
            why = label_problem(rec)
            if why:
                sys.stderr.write("ood_check.py: %s:%d: %s\n" % (path, line, why))
                bad += 1
            w = WORD.findall(rec["prompt"].lower())
            for i in range(len(w) - SPAN + 1):
                spans.setdefault(" ".join(w[i:i + SPAN]), "%s:%d" % (os.path.basename(path), line))
    if n_ood == 0:
        sys.stderr.write("ood_check.py: no examples in %s/*.jsonl\n" % ood)
        return 2
    firsts = set(s.split(" ", 1)[0] for s in spans)
    files = sorted(glob.glob(os.path.join(data, "*.jsonl")))
    if not files:
        sys.stderr.write("ood_check.py: no JSONL files in %s\n" % data)
        return 2
    hits, n_str = {}, 0
    for path in files:
        for line, rec in read_jsonl(path):
            for s in strings(rec):
                n_str += 1
                w = WORD.findall(s.lower())
                for i in range(len(w) - SPAN + 1):
                    if w[i] in firsts:
                        k = " ".join(w[i:i + SPAN])
                        if k in spans and k not in hits:
                            hits[k] = "%s:%d" % (os.path.basename(path), line)
    for k, where in sorted(hits.items()):
        sys.stderr.write("ood_check.py: \"%s\" (%s) occurs in %s\n" % (k, spans[k], where))
    bad += len(hits)
    sys.stderr.write("ood_check.py: %d examples, %d spans of %d words against %d strings of %s: %s\n" % (
        n_ood, len(spans), SPAN, n_str, data, "%d problems" % bad if bad else "none shared, labels right"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
