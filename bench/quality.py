"""Retrieval quality per mode on every query set: Recall@5, Recall@10, MRR, nDCG@10.

Scoring as ../shared/bench/README.md defines it: the files of the top 10 chunks, in rank order, each
file once. Usage: python bench/quality.py [--set NAME ...] [--per-query]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corpora import CACHE, CORPORA  # noqa: E402

from cce.engine import Engine  # noqa: E402
from cce.search import MODES  # noqa: E402
from cce.settings import Settings  # noqa: E402


def ranked_files(paths: list[str]) -> list[str]:
    return list(dict.fromkeys(paths))


def score(files: list[str], expected: list[str]) -> dict[str, float]:
    top10 = files[:10]
    rank = next((i + 1 for i, f in enumerate(top10) if f in expected), None)
    dcg = sum(1 / math.log2(i + 2) for i, f in enumerate(top10) if f in expected)
    idcg = sum(1 / math.log2(i + 2) for i in range(min(len(expected), 10)))
    return {
        "recall@5": len(set(files[:5]) & set(expected)) / len(expected),
        "recall@10": len(set(top10) & set(expected)) / len(expected),
        "mrr": 1 / rank if rank else 0.0,
        "ndcg@10": dcg / idcg,
    }


def identifier_check(engine: Engine, count: int = 40, seed: int = 7) -> tuple[int, int, list[str]]:
    """Sample `count` definitions whose name is unique in the corpus; query each bare name and count
    how often its defining chunk ranks first. Returns (first, sampled, misses)."""
    store = engine.searcher().store
    rows = store.query(
        "SELECT symbol, min(id) FROM chunks WHERE kind IN ('function', 'method', 'class', 'struct', 'interface', "
        "'type', 'enum', 'trait') AND symbol IS NOT NULL GROUP BY symbol HAVING count(DISTINCT path) = 1 "
        "ORDER BY symbol"
    )
    sample = random.Random(seed).sample(rows, min(count, len(rows)))
    misses = []
    for symbol, _cid in sample:
        hits = engine.search(symbol, top_k=1)
        if not hits or hits[0].symbol != symbol:
            misses.append(f"{symbol} -> {hits[0].symbol if hits else None}")
    return len(sample) - len(misses), len(sample), misses


def engine_for(folder: Path) -> Engine:
    env = dict(os.environ, CCE_HOME=os.environ.get("CCE_BENCH_HOME") or str(CACHE / "home"))
    return Engine(Settings.load(folder, env=env))


def evaluate(name: str, modes: tuple[str, ...] = MODES, per_query: bool = False) -> dict[str, dict[str, float]]:
    corpus = CORPORA[name]
    folder = corpus.fetch()
    engine = engine_for(folder)
    engine.index()
    queries = json.loads(corpus.queries.read_text())
    results: dict[str, dict[str, float]] = {}
    for mode in modes:
        rows = []
        for q in queries:
            hits = engine.search(q["query"], top_k=10, mode=mode)
            row = score(ranked_files([h.path for h in hits]), q["expected_files"])
            rows.append(row)
            if per_query:
                print(f"  {name:10} {mode:7} R@10 {row['recall@10']:.2f} RR {row['mrr']:.2f}  {q['query']}")
        results[mode] = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}
    first, sampled, misses = identifier_check(engine)
    results["identifiers"] = {"first": first, "sampled": sampled, "misses": misses}
    engine.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", action="append", choices=sorted(CORPORA), help="query set (default: all)")
    parser.add_argument("--per-query", action="store_true")
    args = parser.parse_args()
    print(f"{'set':12} {'mode':8} {'R@5':>6} {'R@10':>6} {'MRR':>6} {'nDCG@10':>8}")
    for name in args.set or sorted(CORPORA):
        results = evaluate(name, per_query=args.per_query)
        ids = results.pop("identifiers")
        for mode, m in results.items():
            print(f"{name:12} {mode:8} {m['recall@5']:6.3f} {m['recall@10']:6.3f} {m['mrr']:6.3f} {m['ndcg@10']:8.3f}")
        print(f"{name:12} identifier queries: defining chunk first for {ids['first']}/{ids['sampled']}")
        for miss in ids["misses"] if args.per_query else ():
            print(f"  miss: {miss}")


if __name__ == "__main__":
    main()
