#!/usr/bin/python3
"""demo_failures.py — where the demo's Toolformer answers are lost, and how useful its calls are.

  demo_failures.py RESULTS
      reads RESULTS/eval_SET_toolformer.details.jsonl (written by `toolformer eval --details`) for
      each held-out set of the demo and prints, per set, its wrong answers counted by their first
      call: no call; a call to another tool; a call that failed or gave no result; a Calculator
      result that is not the answer (a wrong operation or operand); a WikiSearch passage without the
      capital (the query missed it); or a right result the answer did not copy.
      Then, for each annotation round (RESULTS/round1.jsonl, round2.jsonl), the calls written into
      the texts and how many are useful: a Calculator result that is the number the text states
      next, a WikiSearch passage holding the word that follows the call, every Calendar call.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from demo_report import SETS as REPORT_SETS  # noqa: E402  (the demo's sets, in the report's order)

# each set's tool, from its task ("ood_math" -> math -> Calculator)
TOOL = {"math": "Calculator", "dates": "Calendar", "facts": "WikiSearch"}
SETS = [(name, TOOL[name.split("_")[-1]]) for name, _ in REPORT_SETS]


def number(s):
    try:
        v = float(str(s).replace(",", ""))
        return int(v) if v.is_integer() else v
    except ValueError:
        return None


def failure(ex, tool):
    """The class of one wrong answer, from its first call."""
    calls = ex.get("calls") or []
    if not calls:
        return "no call"
    c = calls[0]
    if c.get("tool") != tool:
        return f"other tool ({c.get('tool')})"
    result = c.get("result")
    if not result:
        return "call failed/no result"
    answer = ex["answer"]
    if tool == "Calculator":
        right = number(result) is not None and number(result) == number(answer)
        return "right result, answer not copied" if right else "wrong operation or operand"
    if tool == "WikiSearch":
        return "right passage, answer not copied" if answer in result else "query missed the passage"
    return "right result, answer not copied" if answer in result else "result lacks the answer"


def useful(call, text):
    """Whether a call written at call["char_pos"] of the source text gives what the text says next."""
    rest, result = text[call["char_pos"]:], call.get("result") or ""
    if call["tool"] == "Calculator":
        m = re.search(r"\d+(?:\.\d+)?", rest)
        return m is not None and number(result) is not None and number(result) == number(m.group())
    if call["tool"] == "WikiSearch":
        m = re.search(r"[A-Za-z][A-Za-z'-]*", rest)
        return m is not None and m.group() in result
    return True


def rounds(res):
    for r in ("round1", "round2"):
        path = os.path.join(res, r + ".jsonl")
        if not os.path.exists(path):
            continue
        tot, good = {}, {}
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                doc = json.loads(line)
                for c in doc["calls"]:
                    tot[c["tool"]] = tot.get(c["tool"], 0) + 1
                    good[c["tool"]] = good.get(c["tool"], 0) + useful(c, doc["source_text"])
        per = ", ".join(f"{t} {good[t]}/{tot[t]}" for t in sorted(tot))
        print(f"{r}: {sum(tot.values())} calls written, {sum(good.values())} useful ({per})")


def main():
    a = sys.argv[1:]
    if len(a) != 1 or a[0].startswith("-"):
        sys.stderr.write(__doc__)
        return 0 if a and a[0] in ("-h", "--help") else 2
    for name, tool in SETS:
        path = os.path.join(a[0], f"eval_{name}_toolformer.details.jsonl")
        if not os.path.exists(path):
            continue
        n, counts = 0, {}
        with open(path, encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    ex = json.loads(line)
                except ValueError:
                    sys.stderr.write(f"demo_failures.py: {path}:{line_no}: not JSON\n")
                    return 1
                n += 1
                if not ex.get("correct"):
                    k = failure(ex, tool)
                    counts[k] = counts.get(k, 0) + 1
        wrong = sum(counts.values())
        parts = "; ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        print(f"{name}: {n} examples, {wrong} wrong" + (f": {parts}" if parts else ""))
    rounds(a[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
