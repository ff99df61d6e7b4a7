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
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corpora import CACHE, CORPORA  # noqa: E402

from cce.engine import Engine  # noqa: E402
from cce.search import INTERFACE_PATH, MODES, declares_only  # noqa: E402
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
    """Sample `count` definitions whose name is unique in the corpus; query each name and count
    how often its defining chunk ranks first. Returns (first, sampled, misses)."""
    store = engine.searcher().store
    rows = store.query(
        "SELECT symbol, min(id) FROM chunks WHERE kind IN ('function', 'method', 'class', 'struct', 'interface', "
        "'type', 'enum', 'trait') AND symbol IS NOT NULL GROUP BY symbol HAVING count(DISTINCT path) = 1 "
        "ORDER BY symbol"
    )
    # A bare name is queried bare, so it must not be the last part of a name defined in another file
    # either (a Rust test `fn io_driver_ready_count` beside `RuntimeMetrics.io_driver_ready_count`).
    files_by_last: dict[str, set[str]] = {}
    for symbol, path in store.query("SELECT symbol, path FROM chunks WHERE symbol IS NOT NULL"):
        files_by_last.setdefault(symbol.rsplit(".", 1)[-1], set()).add(path)
    # An interface or stub file (.mli, .pyi) or a C prototype declares what another chunk defines,
    # where the lookup rightly goes instead.
    chunks = store.chunks_by_ids(cid for _symbol, cid in rows)
    rows = [
        (symbol, cid)
        for symbol, cid in rows
        if not INTERFACE_PATH.search(chunks[cid].path)
        and not declares_only(chunks[cid].text)
        and ("." in symbol or len(files_by_last[symbol]) == 1)
    ]
    sample = random.Random(seed).sample(rows, min(count, len(rows)))
    misses = []
    for symbol, _cid in sample:
        hits = engine.search(symbol, top_k=1)
        if not hits or hits[0].symbol != symbol:
            misses.append(f"{symbol} -> {hits[0].symbol if hits else None}")
    return len(sample) - len(misses), len(sample), misses


# Definitions as a reader finds them in the source, one regex per language (group 1 or 2: the name).
# identifier_check samples names cce itself gave its chunks, so it cannot see a definition that
# shares a chunk with another; these are independent of cce's chunking.
_MODIFIERS = r"(?:(?:public|private|protected|internal|static|final|abstract|sealed|override|virtual)\s+)"
SOURCE_DEFINITIONS = {
    "python": r"^\s*(?:async\s+)?def\s+(\w+)|^\s*class\s+(\w+)",
    "javascript": r"^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\s*\*?\s*(\w+)"
    r"|^\s*(?:export\s+)?class\s+(\w+)",
    "go": r"^func\s+(?:\([^)]*\)\s*)?(\w+)|^type\s+(\w+)",
    "rust": r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+(\w+)"
    r"|^\s*(?:pub(?:\([^)]*\))?\s+)?(?:struct|enum|trait)\s+(\w+)",
    "java": rf"^\s*{_MODIFIERS}*(?:class|interface|enum|record)\s+(\w+)|^\s+{_MODIFIERS}+[\w<>\[\],.? ]+\s(\w+)\s*\(",
    "php": rf"^\s*{_MODIFIERS}*function\s+(\w+)|^\s*{_MODIFIERS}*class\s+(\w+)",
    "ruby": r"^\s*def\s+(?:self\.)?(\w+[?!=]?)|^\s*class\s+(\w+)",
    "lua": r"^\s*(?:local\s+)?function\s+(?:[\w.:]*[.:])?(\w+)\s*\(",
    # A receiver may have type arguments (`fun <T> Lazy<T>.getValue`): the name is after its dot.
    "kotlin": r"^\s*(?:[\w@]+\s+)*fun\s+(?:<(?:[^<>]|<[^<>]*>)*>\s*)?(?:[\w.]+(?:<(?:[^<>]|<[^<>]*>)*>)?\??\.)?(\w+)"
    r"|^\s*(?:[\w@]+\s+)*class\s+(\w+)",
    "swift": r"^\s*(?:[\w@]+\s+)*func\s+(\w+)|^\s*(?:[\w@]+\s+)*(?:class|struct|enum|protocol)\s+(\w+)",
    "perl": r"^\s*sub\s+(\w+)",
    "erlang": r"^([a-z]\w*)\(",
    "prolog": r"^([a-z]\w*)\([^\n]*\)\s*(?::-|-->)",
    "cmake": r"^\s*(?i:function|macro)\s*\(\s*([\w.+-]+)",
    "pascal": r"^\s*(?i:(?:class\s+)?(?:procedure|function|constructor|destructor)\s+)(?:\w+\.)*(\w+)",
    "elisp": r"^\(def\w*\s+([^\s()]+)",
    "clojure": r"^\(def(?:n-?|macro|multi|protocol|record|type|once)?\s+(?:\^[^\s{]+\s+)*([^\s()\[\]{}^]+)",
    "ocaml": r"^let\s+(?:rec\s+)?([a-z_][\w']*)",
    "shell": r"^\s*function\s+([\w:.-]+)|^\s*([\w:.-]+)\s*\(\s*\)",
    "haskell": r"^([a-z_][\w']*)\s*::",
    "elixir": r"^\s*def(?:p|macro|macrop)?\s+([a-z_][\w?!]*)",
    "scala": r"^\s*(?:(?:override|final|private|protected|implicit|sealed|abstract|case|lazy)\s+)*"
    r"(?:def|class|object|trait)\s+(\w+)",
    "r": r"^([\w.]+)\s*<-\s*function\b",
    "zig": r"^\s*(?:pub\s+)?(?:(?:inline|export|extern|noinline)\s+)*fn\s+(\w+)",
    "nim": r"^\s*(?:proc|func|iterator|template|macro|method|converter)\s+(\w+)\*?\s*[(\[:=]",
    "scheme": r"^\((?:define|define-public|define\*|define-syntax|define-inlinable)\s+\(?([^\s()]+)",
    "solidity": r"^\s*(?:function|modifier)\s+(\w+)|^\s*(?:abstract\s+)?(?:contract|library|interface)\s+(\w+)",
    "tcl": r"^\s*proc\s+(?:::)?(?:\w+::)*(\w+)",
    "haxe": r"^\s*(?:(?:public|private|static|inline|override|extern|macro|dynamic|final)\s+)*function\s+(\w+)"
    r"|^\s*(?:(?:extern|final|abstract|private)\s+)*(?:class|interface|enum|typedef)\s+(\w+)",
    # D: types, and functions whose parameters close the line (Phobos opens the body on the next)
    "d": r"^\s*(?:struct|class|interface|union|template)\s+(\w+)"
    r"|^\s*(?:[\w!().\[\]*@]+\s+)+(\w+)\([^;{}()=]*\)\s*(?:const|pure|nothrow|@safe|@trusted|@nogc|\s)*$",
    # A function defined at column 0: return type words, the name, parameters, then its body.
    "c": r"^(?!return\b|typedef\b|else\b)(?:[A-Za-z_]\w*[ \t*&]+)+\**([A-Za-z_]\w*)\s*\([^;{}]*\)\s*(?:const\s*)?\{"
    # GNU style: the return type on a line of its own, the name at column 0 below it
    r"|^(?:(?:static|inline|const|unsigned|signed|struct|enum|extern)\s+)*[A-Za-z_]\w*[ \t*]*\n"
    r"([A-Za-z_]\w*)\s*\([^;{}]*\)\s*\{",
}
SOURCE_DEFINITIONS["cpp"] = SOURCE_DEFINITIONS["c"]
# Objective-C: a method's first selector part, or a C function.
SOURCE_DEFINITIONS["objc"] = r"^[-+]\s*\([^()\n]*\)\s*(\w+)|" + SOURCE_DEFINITIONS["c"]
SOURCE_DEFINITIONS["typescript"] = SOURCE_DEFINITIONS["javascript"]
SOURCE_DEFINITIONS["commonlisp"] = SOURCE_DEFINITIONS["elisp"]
SOURCE_DEFINITIONS["csharp"] = SOURCE_DEFINITIONS["java"]
SOURCE_DEFINITIONS["racket"] = SOURCE_DEFINITIONS["scheme"].replace("define-inlinable", "define/contract")


def source_identifier_check(
    engine: Engine, folder: Path, count: int = 40, seed: int = 11
) -> tuple[int, int, list[str]]:
    """Sample `count` names defined once (one line) in the corpus's non-test code (SOURCE_DEFINITIONS), query
    each bare name, and count how often the first hit shows its definition: in its file, over its
    line. Returns (found, sampled, misses)."""
    defined: dict[str, list[tuple[str, int]]] = {}
    # The language cce read each file in: a script without an extension is known by its #! line.
    for path, lang in engine.searcher().store.query("SELECT path, lang FROM files ORDER BY path"):
        pattern = SOURCE_DEFINITIONS.get(lang)
        if pattern is None or "test" in path.lower():
            continue
        text = (folder / path).read_text(errors="replace")
        for match in re.finditer(pattern, text, re.MULTILINE):
            group = next(i for i, name in enumerate(match.groups(), 1) if name)
            line = text.count("\n", 0, match.start(group)) + 1  # `^\s*` may start on a blank line above
            defined.setdefault(match[group], []).append((path, line))
    # Names defined once: not overloads, not a method of the same name in two classes.
    names = sorted(name for name, where in defined.items() if len(where) == 1 and len(name) > 3)
    sample = random.Random(seed).sample(names, min(count, len(names)))
    misses = []
    for name in sample:
        ((path, line),) = defined[name]
        hits = engine.search(name, top_k=1)
        hit = hits[0] if hits else None
        if hit is None or hit.path != path or not hit.start <= line <= hit.end:
            misses.append(f"{name} ({path}:{line}) -> {hit.path}:{hit.start} {hit.symbol}" if hit else name)
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
    found, from_source, source_misses = source_identifier_check(engine, folder)
    results["identifiers"] = {
        "first": first,
        "sampled": sampled,
        "misses": misses + source_misses,
        "found": found,
        "from_source": from_source,
    }
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
        source = f"; names from the source: {ids['found']}/{ids['from_source']}" if ids["from_source"] else ""
        print(f"{name:12} identifier queries: defining chunk first for {ids['first']}/{ids['sampled']}{source}")
        for miss in ids["misses"] if args.per_query else ():
            print(f"  miss: {miss}")


if __name__ == "__main__":
    main()
