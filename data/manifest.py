#!/usr/bin/env python3
"""manifest.py OUT_DIR SEED VOCAB QUICK TIMINGS RECIPE_SHA256 — writes OUT_DIR/manifest.json: for
every file the recipe produced, its size, line count (JSONL) and sha256; the seed, the vocabulary
size, the tokenizer's end-of-text id, and the recipe's own checksum (make_data.sh --if-stale)."""
import hashlib
import json
import os
import sys


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    out, seed, vocab, quick, timings, recipe = sys.argv[1:7]
    files = {}
    for root, _, names in os.walk(out):
        for n in sorted(names):
            p = os.path.join(root, n)
            rel = os.path.relpath(p, out)
            if rel == "manifest.json":
                continue
            e = {"bytes": os.path.getsize(p), "sha256": sha256(p)}
            if n.endswith(".jsonl"):
                with open(p, "rb") as fh:
                    e["records"] = sum(1 for line in fh if line.strip())
            files[rel] = e
    eos = None
    try:
        with open(os.path.join(out, "tokenizer", "vocab.json"), encoding="utf-8") as fh:
            eos = json.load(fh).get("<|endoftext|>")
    except (OSError, ValueError):
        pass
    if eos is None:
        try:
            with open(os.path.join(out, "tokenizer", "tokenizer.json"), encoding="utf-8") as fh:
                for t in json.load(fh).get("added_tokens", []):
                    if t.get("content") == "<|endoftext|>":
                        eos = t.get("id")
        except (OSError, ValueError):
            pass
    man = {
        "recipe": "data/make_data.sh",
        "recipe_sha256": recipe,
        "seed": int(seed),
        "quick": quick == "1",
        "vocab_size": int(vocab),
        "eos_id": eos,
        "timings_s": dict(kv.split("=") for kv in timings.split()),
        "files": dict(sorted(files.items())),
    }
    man["timings_s"] = {k: int(v) for k, v in man["timings_s"].items()}
    with open(os.path.join(out, "manifest.json"), "w") as fh:
        json.dump(man, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
