#!/usr/bin/python3
"""demo_report.py RESULTS — the demo's table (like the paper's Tables 4 and 7) from its JSON files."""
import json
import os
import sys

res = sys.argv[1]


def load(name):
    p = os.path.join(res, name)
    return json.load(open(p)) if os.path.exists(p) else None


report = {"rounds": {}, "eval": {}, "ppl": {}}
print("annotation rounds (kept calls per tool)")
for r in ("round1", "round2"):
    s = load(r + ".summary.json")
    if s:
        report["rounds"][r] = s
        kept = ", ".join(f"{t['tool']} {t['kept']}/{t['executed']}" for t in s["tools"])
        print(f"  {r}: {s['documents']} documents, {s['documents_written']} with calls; kept/executed: {kept}")
print()
print(f"{'task':8} {'base':>8} {'Toolformer':>11} {'disabled':>9} {'call rate':>10}")
for task in ("math", "dates", "facts"):
    row = {m: load(f"eval_{task}_{m}.json") for m in ("base", "toolformer", "disabled")}
    report["eval"][task] = row
    acc = lambda m: f"{100 * row[m]['accuracy']:.1f}%" if row[m] else "-"
    rate = f"{100 * row['toolformer']['call_rate']:.1f}%" if row["toolformer"] else "-"
    print(f"{task:8} {acc('base'):>8} {acc('toolformer'):>11} {acc('disabled'):>9} {rate:>10}")
pt, pc = load("ppl_toolformer.json"), load("ppl_control.json")
if pt and pc:
    report["ppl"] = {"toolformer": pt["ppl"], "control": pc["ppl"], "ratio": pt["ppl"] / pc["ppl"]}
    print(f"\nperplexity (calls disabled): Toolformer {pt['ppl']:.3f}, control {pc['ppl']:.3f} "
          f"({100 * (pt['ppl'] / pc['ppl'] - 1):+.1f}%)")
json.dump(report, open(os.path.join(res, "report.json"), "w"), indent=1)
