"""Search: lexical hits (FTS5 BM25) + vector hits (usearch) -> fused, per-file capped hits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from .errors import UsageError
from .store import Store, VectorIndex
from .terms import query_terms

MODES = ("hybrid", "lexical", "vector")
MAX_TOP_K = 100
CANDIDATES = 100  # hits taken from each side before fusion
RRF_K = 60  # reciprocal-rank fusion constant (Cormack et al.)
LEXICAL_WEIGHT = 1.0
VECTOR_WEIGHT = 1.0
PER_FILE = 3  # at most this many hits from one file, so one big file cannot flood the list
# BM25 column weights: body, symbol, path. A term in a symbol name or the path says more than one in the body.
BM25_WEIGHTS = (1.0, 4.0, 2.0)


@dataclass(frozen=True)
class Hit:
    id: int
    path: str
    start: int
    end: int
    symbol: str | None
    kind: str | None
    lang: str | None
    score: float
    text: str

    def as_dict(self) -> dict:
        return asdict(self)


class Searcher:
    def __init__(self, store: Store, vectors: VectorIndex, embed_query: Callable[[str], np.ndarray]) -> None:
        self.store = store
        self.vectors = vectors
        self.embed_query = embed_query

    def search(self, query: str, top_k: int = 10, mode: str = "hybrid") -> list[Hit]:
        if mode not in MODES:
            raise UsageError(f"unknown search mode {mode!r}; use one of: {', '.join(MODES)}")
        if not query.strip():
            raise UsageError("the query is empty; say what code you are looking for")
        top_k = max(1, min(int(top_k), MAX_TOP_K))
        ranked: list[tuple[int, float]]
        if mode == "lexical":
            ranked = self.lexical(query, CANDIDATES)
        elif mode == "vector":
            ranked = self.vector(query, CANDIDATES)
        else:
            ranked = fuse(
                [(self.lexical(query, CANDIDATES), LEXICAL_WEIGHT), (self.vector(query, CANDIDATES), VECTOR_WEIGHT)]
            )
        return self._hits(ranked, top_k)

    def lexical(self, query: str, limit: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score, higher is better), best first."""
        terms = query_terms(query)[:64]
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        rows = self.store.query(
            f"SELECT rowid, bm25(chunks_fts, {weights}) AS s FROM chunks_fts WHERE chunks_fts MATCH ? "
            "ORDER BY s LIMIT ?",
            (match, limit),
        )
        return [(rowid, -score) for rowid, score in rows]

    def vector(self, query: str, limit: int) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity), best first."""
        self.vectors.sync()
        if not len(self.vectors):
            return []
        return self.vectors.search(self.embed_query(query), limit)

    def _hits(self, ranked: list[tuple[int, float]], top_k: int) -> list[Hit]:
        chunks = self.store.chunks_by_ids(cid for cid, _ in ranked)
        per_file: dict[str, int] = defaultdict(int)
        hits: list[Hit] = []
        for cid, score in ranked:
            chunk = chunks.get(cid)
            if chunk is None or per_file[chunk.path] >= PER_FILE:
                continue  # removed since the vector index was synced, or the file has its share
            per_file[chunk.path] += 1
            hits.append(
                Hit(
                    chunk.id,
                    chunk.path,
                    chunk.start,
                    chunk.end,
                    chunk.symbol,
                    chunk.kind,
                    chunk.lang,
                    round(score, 6),
                    chunk.text,
                )
            )
            if len(hits) == top_k:
                break
        return hits


def fuse(rankings: list[tuple[list[tuple[int, float]], float]]) -> list[tuple[int, float]]:
    """Weighted reciprocal-rank fusion of several best-first rankings."""
    scores: dict[int, float] = defaultdict(float)
    for ranking, weight in rankings:
        for rank, (cid, _score) in enumerate(ranking):
            scores[cid] += weight / (RRF_K + rank + 1)
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)


def find_symbol(store: Store, name: str, limit: int = 20) -> list[dict]:
    """Definitions whose symbol matches `name`: exact first, then last-part, prefix, substring."""
    name = name.strip()
    if not name:
        raise UsageError("the symbol name is empty")
    like = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = store.query(
        "SELECT id, path, start_line, end_line, symbol, kind, lang FROM chunks "
        "WHERE symbol LIKE ? ESCAPE '\\' ORDER BY path, start_line LIMIT 2000",
        (f"%{like}%",),
    )

    def rank(row: tuple) -> int:
        symbol = row[4]
        last = symbol.rsplit(".", 1)[-1]
        if symbol == name:
            return 0
        if symbol.lower() == name.lower() or last == name:
            return 1
        if last.lower() == name.lower():
            return 2
        if symbol.lower().startswith(name.lower()) or last.lower().startswith(name.lower()):
            return 3
        return 4

    seen: set[tuple[str, str]] = set()
    found = []
    for row in sorted(rows, key=rank):
        key = (row[1], row[4])
        if key in seen:
            continue  # a long definition split into windows is one definition
        seen.add(key)
        found.append(
            {
                "chunk_id": row[0],
                "path": row[1],
                "start": row[2],
                "end": row[3],
                "symbol": row[4],
                "kind": row[5],
                "lang": row[6],
                "match": ("exact", "exact", "name", "prefix", "substring")[rank(row)],
            }
        )
        if len(found) == limit:
            break
    return found
