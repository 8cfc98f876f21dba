#!/usr/bin/python3
"""demo_report.py — the demo's figures.

  demo_report.py RESULTS
      prints the demo's table (like the paper's Tables 4 and 7) from the JSON files in RESULTS and
      writes RESULTS/report.json (everything) and RESULTS/summary.json (the figures as printed)
  demo_report.py --compare WANT GOT [--what TEXT]
      compares two sets of figures: each a summary.json, or a Markdown file (docs/demo.md,
      README.md, models/toolformer/README.md) holding them in a fenced block tagged
      `json demo-figures`, in tables headed "| held-out set | n | base | Toolformer | ..." (or
      "| this model |"), in the annotation rounds' table ("| round | proposer, filter's model |
      documents with kept calls | Calendar kept / executed (mean score) | ...", each tool's cell
      "kept (+ displaced) / executed (mean score)") and in the sentence "calls disabled:
      Toolformer P, control Q" (or "P against the control's Q"); every one of these that the file
      has is checked, and a rounds cell not written that way is bad input. Prints every
      figure that differs and exits 1 when any does, 0 when all agree, 2 on bad usage or
      unreadable input.
"""
import json
import os
import re
import sys

SETS = [("math", "math (recipe)"), ("dates", "dates (recipe)"), ("facts", "facts (recipe)"),
        ("ood_math", "word problems (ood)"), ("ood_dates", "dates (ood)"), ("ood_facts", "facts (ood)"),
        ("val_math", "word problems (validation)"), ("val_dates", "dates (validation)"),
        ("val_facts", "facts (validation)")]
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
                                    "kept_total": sum(t["kept"] for t in s["tools"]),
                                    "executed": {t["tool"]: t["executed"] for t in s["tools"]},
                                    "displaced": {t["tool"]: t["displaced"] for t in s["tools"]},
                                    "mean_score": {t["tool"]: round(t["mean_score"], 2) for t in s["tools"]}}
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


TABLE_HEAD = [["held-out set", "n", "base", "Toolformer"], ["held-out set", "n", "base", "this model"]]
TABLE_COLS = ["n", "base", "toolformer", "disabled", "call_rate"]
ROUNDS_HEAD = ["round", "proposer, filter's model", "documents with kept calls"]
ROUND_CELL = re.compile(r"([0-9,]+)(?: \(\+ ([0-9,]+)\))? / ([0-9,]+) \(([0-9.]+)\)$")
PPL = re.compile(r"calls disabled:\s+(?:Toolformer )?([0-9]+(?:\.[0-9]+)?),? (?:against the )?control(?:'s)? ([0-9]+(?:\.[0-9]+)?)")


def table_set(label):
    """The set a table row's first cell names ("dates (recipe: ...)" -> dates, "facts (validation
    ...)" -> val_facts, any other "facts ..." -> ood_facts), or None."""
    recipe, validation = "recipe" in label, "validation" in label
    for word, name in (("word problems", "math"), ("math", "math"), ("dates", "dates"), ("facts", "facts")):
        if label.startswith(word):
            if validation:
                return "val_" + name
            return name if recipe and word != "word problems" else "ood_" + name
    return None


def round_figures(cells, tools, where):
    """[(key, value, where)] of a rounds-table row: "| 1 | ... | 548 | 216 / 3,983 (2.22) | 253 (+ 82) / ..."."""
    r, out = f"rounds.round{cells[0]}", []
    num = lambda x: int(x.replace(",", ""))
    out.append((f"{r}.documents_written", num(cells[2]), where))
    for tool, cell in zip(tools, cells[3:]):
        m = ROUND_CELL.match(cell)
        if not m:
            refuse(f"{where}: {tool}'s cell {cell!r} is not 'kept (+ displaced) / executed (mean score)'")
        out += [(f"{r}.kept.{tool}", num(m.group(1)), where), (f"{r}.executed.{tool}", num(m.group(3)), where),
                (f"{r}.mean_score.{tool}", float(m.group(4)), where)]
        if m.group(2):
            out.append((f"{r}.displaced.{tool}", num(m.group(2)), where))
    return out


def markdown_figures(path, text):
    """[(key, value, where)] of the held-out tables, the annotation rounds' table and the perplexity
    sentence of a Markdown file."""
    out, in_table, tools = [], False, None
    for i, line in enumerate(text.splitlines(), 1):
        if not line.startswith("|"):
            in_table, tools = False, None
            continue
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        if cells[:4] in TABLE_HEAD:
            in_table = True
            continue
        if cells[:3] == ROUNDS_HEAD:
            tools = [c.split()[0] for c in cells[3:]]
            continue
        if tools and cells[0].isdigit() and len(cells) >= 4:
            out += round_figures(cells, tools, f"{path}:{i}")
            continue
        name = table_set(cells[0]) if in_table and len(cells) >= 6 else None
        for col, cell in zip(TABLE_COLS, cells[1:6] if name else []):
            v = cell.strip("*% ")
            out.append((f"eval.{name}.{col}", int(v) if col == "n" else float(v), f"{path}:{i}"))
    for m in PPL.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        out += [("ppl.toolformer", float(m.group(1)), f"{path}:{line}"), ("ppl.control", float(m.group(2)), f"{path}:{line}")]
    return out


def refuse(msg):
    """Bad usage or unreadable input: one line on stderr, exit 2."""
    sys.stderr.write(f"demo_report.py: {msg}\n")
    sys.exit(2)


def figures(path):
    """The figures a file gives: {key: value} from JSON (a summary.json or a Markdown file's fenced
    block), and [(key, value, where)] from a Markdown file's tables and sentences."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        refuse(f"{path}: {e.strerror}")
    prose = [] if path.endswith(".json") else markdown_figures(path, text)
    if not path.endswith(".json"):
        m = FENCE.search(text)
        if not m and not prose:
            refuse(f"{path}: no ```json demo-figures block and no figures table")
        text = m.group(1) if m else "{}"
    try:
        return json.loads(text), prose
    except ValueError as e:
        refuse(f"{path}: the figures are not JSON: {e}")


def flat(x, key=""):
    if isinstance(x, dict):
        out = {}
        for k, v in x.items():
            out.update(flat(v, f"{key}.{k}" if key else k))
        return out
    return {key: x}


def compare(want_path, got_path, what):
    (want, want_prose), (got, _) = figures(want_path), figures(got_path)
    want, got = flat(want), flat(got)
    keys = sorted(set(want) | set(got)) if want else []
    diff = [(k, want.get(k), got.get(k), want_path) for k in keys if want.get(k) != got.get(k)]
    diff += [(k, v, got.get(k), where) for k, v, where in want_prose if got.get(k) != v]
    for k, a, b, where in diff:
        delta = f" ({b - a:+.1f})" if isinstance(a, (int, float)) and isinstance(b, (int, float)) else ""
        print(f"  {k}: {a} in {where}, {b} in {got_path}{delta}")
    n = len(keys) + len(want_prose)
    if diff:
        print(f"{what}: {len(diff)} of {n} figures differ")
        return 1
    print(f"{what}: all {n} figures agree")
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
