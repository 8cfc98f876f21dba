#!/usr/bin/env python3
"""Twin of bench_search.c: the same WikiSearch queries through Python's sqlite3 (the same SQLite
FTS5 engine and BM25 rank) on the index bench_search built, to show what the C tool adds on top.

usage: build/bench/bench_search --keep DIR && python3 bench/bench_search.py DIR
"""
import sqlite3
import sys
import time


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/tf_bench_search"
    db = sqlite3.connect(f"file:{d}/passages.db?mode=ro", uri=True)
    queries = [line.split() for line in open(f"{d}/queries.txt", encoding="utf-8")]
    sql = ("SELECT title, snippet(passages, 1, '', '', '...', 50) FROM passages "
           "WHERE passages MATCH ? ORDER BY rank LIMIT 1")
    half = len(queries) // 2
    for name, qs in (("3 words", queries[:half]), ("3 words + 3 commonest", queries[half:])):
        ms = []
        for q in qs:
            expr = " OR ".join('"%s"' % w.lower() for w in dict.fromkeys(q))
            t0 = time.perf_counter()
            db.execute(sql, (expr,)).fetchall()
            ms.append((time.perf_counter() - t0) * 1000)
        ms.sort()
        print("python sqlite3, %-22s %6d queries  mean %8.3f ms  p50 %8.3f  p99 %8.3f" %
              (name, len(ms), sum(ms) / len(ms), ms[len(ms) // 2], ms[int(len(ms) * 0.99)]))


if __name__ == "__main__":
    main()
