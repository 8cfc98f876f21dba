#!/usr/bin/python3
"""demo_report.py — the demo's figures.

  demo_report.py RESULTS
      prints the demo's table (like the paper's Tables 4 and 7) from the JSON files in RESULTS and
      writes RESULTS/report.json (everything) and RESULTS/summary.json (the figures as printed)
  demo_report.py --compare WANT GOT [--what TEXT]
      compares two sets of figures: each a summary.json, or a Markdown file holding one in a
      fenced block tagged `json demo-figures` (docs/demo.md). Prints every figure that differs and
      exits 1 when any does, 0 when all agree, 2 on bad usage or unreadable input.
"""
import json
import os
import re
import sys

SETS = [("math", "math (recipe)"), ("dates", "dates (recipe)"), ("facts", "facts (recipe)"),
        ("ood_math", "word problems (ood)"), ("ood_dates", "dates (ood)"), ("ood_facts", "facts (ood)")]
FENCE = re.compile(r"```json demo-figures\n(.*?)\n```", re.S)


def report(res):
    def load(name):
        p = os.path.join(res, name)
        return json.load(open(p)) if os.path.exists(p) else None

    full = {"rounds": {}, "eval": {}, "ppl": {}}
    summary = {"rounds": {}, "eval": {}, "ppl": {}}
    print("annotation rounds (kept calls per tool)")
    for r in ("round1", "round2"):
        s = load(r + ".summary.json")
        if s:
            full["rounds"][r] = s
            kept = ", ".join(f"{t['tool']} {t['kept']}/{t['executed']}" for t in s["tools"])
            summary["rounds"][r] = {"documents": s["documents"], "documents_written": s["documents_written"],
                                    "kept": {t["tool"]: t["kept"] for t in s["tools"]},
                                    "kept_total": sum(t["kept"] for t in s["tools"])}
            print(f"  {r}: {s['documents']} documents, {s['documents_written']} with calls; kept/executed: {kept}")
    print()
    print(f"{'held-out set':22} {'n':>4} {'base':>7} {'Toolformer':>11} {'disabled':>9} {'call rate':>10}")
    for name, label in SETS:
        row = {m: load(f"eval_{name}_{m}.json") for m in ("base", "toolformer", "disabled")}
        if not any(row.values()):
            continue
        full["eval"][name] = row
        pct = lambda x: round(100 * x, 1)
        fig = {m: pct(row[m]["accuracy"]) for m in row if row[m]}
        if row["toolformer"]:
            fig["call_rate"] = pct(row["toolformer"]["call_rate"])
            fig["n"] = row["toolformer"]["n"]
        summary["eval"][name] = fig
        show = lambda k: f"{fig[k]:.1f}%" if k in fig else "-"
        print(f"{label:22} {fig.get('n', 0):>4} {show('base'):>7} {show('toolformer'):>11} {show('disabled'):>9} "
              f"{show('call_rate'):>10}")
    pt, pc = load("ppl_toolformer.json"), load("ppl_control.json")
    if pt and pc:
        full["ppl"] = {"toolformer": pt["ppl"], "control": pc["ppl"], "ratio": pt["ppl"] / pc["ppl"]}
        summary["ppl"] = {"toolformer": round(pt["ppl"], 2), "control": round(pc["ppl"], 2),
                          "change_pct": round(100 * (pt["ppl"] / pc["ppl"] - 1), 1)}
        print(f"\nperplexity (calls disabled): Toolformer {pt['ppl']:.3f}, control {pc['ppl']:.3f} "
              f"({100 * (pt['ppl'] / pc['ppl'] - 1):+.1f}%)")
    json.dump(full, open(os.path.join(res, "report.json"), "w"), indent=1)
    with open(os.path.join(res, "summary.json"), "w") as fh:
        json.dump(summary, fh, indent=1, sort_keys=True)
        fh.write("\n")


def figures(path):
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        sys.stderr.write(f"demo_report.py: {path}: {e.strerror}\n")
        sys.exit(2)
    if not path.endswith(".json"):
        m = FENCE.search(text)
        if not m:
            sys.stderr.write(f"demo_report.py: {path}: no ```json demo-figures block\n")
            sys.exit(2)
        text = m.group(1)
    try:
        return json.loads(text)
    except ValueError as e:
        sys.stderr.write(f"demo_report.py: {path}: the figures are not JSON: {e}\n")
        sys.exit(2)


def flat(x, key=""):
    if isinstance(x, dict):
        out = {}
        for k, v in x.items():
            out.update(flat(v, f"{key}.{k}" if key else k))
        return out
    return {key: x}


def compare(want_path, got_path, what):
    want, got = flat(figures(want_path)), flat(figures(got_path))
    diff = [(k, want.get(k), got.get(k)) for k in sorted(set(want) | set(got)) if want.get(k) != got.get(k)]
    for k, a, b in diff:
        delta = f" ({b - a:+.1f})" if isinstance(a, (int, float)) and isinstance(b, (int, float)) else ""
        print(f"  {k}: {a} in {want_path}, {b} in {got_path}{delta}")
    if diff:
        print(f"{what}: {len(diff)} of {len(set(want) | set(got))} figures differ")
        return 1
    print(f"{what}: all {len(want)} figures agree")
    return 0


def main():
    a = sys.argv[1:]
    if a and a[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if len(a) == 1 and not a[0].startswith("-"):
        report(a[0])
        return 0
    if len(a) in (3, 5) and a[0] == "--compare" and (len(a) == 3 or a[3] == "--what"):
        return compare(a[1], a[2], a[4] if len(a) == 5 else "figures")
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
