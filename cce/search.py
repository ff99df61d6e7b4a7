"""Search: lexical hits (FTS5 BM25) + vector hits (usearch) -> fused, per-file capped hits."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from .errors import UsageError
from .settings import SEARCH_MODES as MODES
from .store import Store, VectorIndex
from .terms import query_terms

_IDENTIFIER_QUERY = re.compile(r"[A-Za-z_$][\w$]*(?:(?:\.|::)[A-Za-z_$][\w$]*)*")
MAX_TOP_K = 100
CANDIDATES = 100  # hits taken from each side before fusion
# Reciprocal-rank fusion constant. The classic 60 flattens ranks; a small constant keeps each side's
# top hits decisive (chosen on the query sets in bench/: fastapi, chi, mobx).
RRF_K = 10
LEXICAL_WEIGHT = 1.0
VECTOR_WEIGHT = 1.0
# A file is ranked by its best chunk plus this share of its next two: several good chunks raise a file.
FILE_SUPPORT = 0.3
# Tests and examples repeat the words of the code they exercise, so for a question they often
# outrank the implementation it is about (chi: the _test.go file first for 5 of its 6 imperfect
# queries). They keep this share of their file score unless the query asks for tests or examples.
SUPPORTING_FILE_WEIGHT = 0.5
_SUPPORTING_PATH = re.compile(
    r"(?:^|/)(?:tests?|__tests__|specs?|testdata|examples?|_examples)/"
    r"|(?:^|/)(?:test_[^/]*|[^/]*_test\.[^/.]+|[^/]*\.(?:test|spec)\.[^/.]+|[^/]*_spec\.rb|conftest\.py"
    r"|[^/]*Tests?\.(?:java|kt|cs|scala))$"
)
# Unit tests inside a source file: Rust's `mod tests` (the chunker names its items `tests.x`).
_TEST_MODULE_SYMBOL = re.compile(r"^tests?(?:\.|$)")
_ASKS_FOR_SUPPORTING = re.compile(r"\b(?:tests?|testing|tested|specs?|examples?|fixtures?)\b", re.IGNORECASE)
# Prose about the code (READMEs, docs/, licences, changelogs) answers a question in its own words,
# so it outranks the code the question is about (regex-syntax: README.md 3rd to 9th for 8 of 20
# questions, the licences 2nd, 5th and 8th for one). It weighs the same as tests unless asked for,
# by name or by a question that only prose answers (installing, contributing, release notes).
_DOCS_PATH = re.compile(
    r"(?:^|/)(?:docs?|documentation)/|\.(?:md|markdown|mdx|rst|adoc|txt)$"
    r"|(?:^|/)(?i:licen[cs]e|copying|notice|authors|changelog|changes|history|readme)(?:-[A-Z0-9][A-Z0-9._-]*)?$"
)
_ASKS_FOR_DOCS = re.compile(
    r"\b(?:docs?|documentation|documented|readme|changelog|licen[cs]e[sd]?|guides?|tutorials?|install\w*"
    r"|contribut\w*|release notes|quick ?start|getting started)\b",
    re.IGNORECASE,
)
_DEFINITION_WORD = r"(?:class|function|method|struct|type|interface|module|object|instance|constructor)\b"
# BM25 column weights: body, symbol, path. A term in a symbol name or the path says more than one in the body.
BM25_WEIGHTS = (1.0, 8.0, 2.0)


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
    def __init__(
        self,
        store: Store,
        vectors: VectorIndex,
        embed_query: Callable[[str], np.ndarray],
        project_names: frozenset[str] = frozenset(),
    ) -> None:
        self.store = store
        self.vectors = vectors
        self.embed_query = embed_query
        # "How does FastAPI serve static files?": in its own code base the project's name says nothing
        # about where to look, and it pulls both sides towards the class or file of that name.
        self._project_name: re.Pattern[str] | None = None
        self._project_definition: re.Pattern[str] | None = None
        if project_names:
            name = r"(?<![\w`.])(?:" + "|".join(map(re.escape, sorted(project_names))) + r")(?![\w`]|\.\w)"
            self._project_name = re.compile(name, re.IGNORECASE)
            self._project_definition = re.compile(
                rf"{name}\s+{_DEFINITION_WORD}|{_DEFINITION_WORD}\s+{name}", re.IGNORECASE
            )

    def search(self, query: str, top_k: int = 10, mode: str = "hybrid") -> list[Hit]:
        if mode not in MODES:
            raise UsageError(f"unknown search mode {mode!r}; use one of: {', '.join(MODES)}")
        if not query.strip():
            raise UsageError("the query is empty; say what code you are looking for")
        top_k = max(1, min(int(top_k), MAX_TOP_K))
        definitions = self._definitions(query)
        question = query if definitions else self._without_project_name(query)
        rankings = []
        if mode in ("lexical", "hybrid"):
            rankings.append((self.lexical(question, CANDIDATES), LEXICAL_WEIGHT))
        if mode in ("vector", "hybrid"):
            rankings.append((self.vector(question, CANDIDATES), VECTOR_WEIGHT))
        # Every mode goes through the same fusion and file ranking, so modes compare fairly.
        demote = _Demote(tests=not _ASKS_FOR_SUPPORTING.search(query), docs=not _ASKS_FOR_DOCS.search(query))
        return self._hits(fuse(rankings), top_k, definitions, demote)

    def _without_project_name(self, query: str) -> str:
        """The query less the project's own name, unless it names a class or the like (`the FastAPI
        class`), is written as code, or nothing would be left to search for."""
        if self._project_name is None or self._project_definition.search(query):
            return query
        stripped = " ".join(self._project_name.sub(" ", query).split())
        return stripped if query_terms(stripped) and stripped != query else query

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

    def _definitions(self, query: str) -> list[int]:
        """For a query that is one identifier (`jsonable_encoder`, `APIRouter.add_api_route`), the
        chunks defining it: exact qualified name first, then the last part of the name."""
        name = query.strip()
        if not _IDENTIFIER_QUERY.fullmatch(name):
            return []
        name = name.replace("::", ".")  # Rust/C++ paths: chunk symbols are dotted
        rows = self.store.query(
            "SELECT id, symbol FROM chunks WHERE symbol = ? OR symbol LIKE ? ESCAPE '\\' ORDER BY path, start_line",
            (name, "%." + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")),
        )
        return [cid for cid, symbol in sorted(rows, key=lambda r: r[1] != name)]

    def _hits(
        self, ranked: list[tuple[int, float]], top_k: int, first: list[int], demote: _Demote
    ) -> list[Hit]:
        """Best chunk of each file first, files ordered by their chunks' combined score; then the
        second-best chunk of each file, and so on, so one file cannot flood the list. Definitions
        of an identifier query (`first`) lead; tests, examples and docs weigh less (`demote`)."""
        candidates = ranked[:CANDIDATES]
        chunks = self.store.chunks_by_ids([cid for cid, _ in candidates] + first)
        by_file: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for cid, score in candidates:
            if cid in chunks:  # a chunk removed since the vector index was synced is skipped
                symbol = chunks[cid].symbol
                if demote.tests and symbol and _TEST_MODULE_SYMBOL.match(symbol):
                    score *= SUPPORTING_FILE_WEIGHT
                by_file[chunks[cid].path].append((cid, score))
        for scored in by_file.values():
            scored.sort(key=lambda item: -item[1])
        file_score = {p: s[0][1] + FILE_SUPPORT * sum(x for _, x in s[1:3]) for p, s in by_file.items()}
        for path in file_score:
            if demote.applies_to(path):
                file_score[path] *= SUPPORTING_FILE_WEIGHT
        order = sorted(
            ((turn, -file_score[path], cid, score) for path, scored in by_file.items()
             for turn, (cid, score) in enumerate(scored)),
        )
        top = candidates[0][1] if candidates else 1.0
        lead = [(cid, top) for cid in dict.fromkeys(first) if cid in chunks]
        seen: set[int] = set()
        hits: list[Hit] = []
        for cid, score in lead + [(cid, score) for _turn, _neg, cid, score in order]:
            if cid in seen:
                continue
            seen.add(cid)
            c = chunks[cid]
            hits.append(Hit(c.id, c.path, c.start, c.end, c.symbol, c.kind, c.lang, round(score, 6), c.text))
            if len(hits) == top_k:
                break
        return hits


@dataclass(frozen=True)
class _Demote:
    """Which supporting files count less for a query: tests and examples, docs."""

    tests: bool
    docs: bool

    def applies_to(self, path: str) -> bool:
        return bool(
            (self.tests and _SUPPORTING_PATH.search(path)) or (self.docs and _DOCS_PATH.search(path))
        )


def fuse(rankings: list[tuple[list[tuple[int, float]], float]]) -> list[tuple[int, float]]:
    """Weighted reciprocal-rank fusion of several best-first rankings."""
    scores: dict[int, float] = defaultdict(float)
    for ranking, weight in rankings:
        for rank, (cid, _score) in enumerate(ranking):
            scores[cid] += weight / (RRF_K + rank + 1)
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)


# A line that defines `name` in most languages: a definition keyword (and modifiers) before the name,
# or the name assigned at the start of a line. Used for definitions nested inside a chunk.
_DEFINITION = (
    r"^\s*(?:(?:export|default|pub(?:\([^)]*\))?|public|private|protected|internal|static|async|abstract|final|"
    r"override|open|inline|extern|virtual|unsafe|const|readonly|declare)\s+)*"
    r"(?:def|class|function\*?|func(?:\s*\([^)]*\))?|fn|struct|enum|trait|impl|interface|type|module|object|"
    r"record|fun|val|var|let|const|macro_rules!|protocol|extension|namespace)\s+{name}\b"
    r"|^\s*(?:self\.)?{name}\s*(?::[^=]*)?=[^=]"
)


def find_symbol(store: Store, name: str, limit: int = 20) -> list[dict]:
    """Definitions whose name matches `name`: exact first, then last part, prefix, substring.

    Chunk symbols give the top-level definitions; a definition nested in a chunk (a method of a
    small class kept whole) is found by scanning the lines of chunks that mention the name."""
    name = name.strip()
    if not name:
        raise UsageError("the symbol name is empty")
    like = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = store.query(
        "SELECT id, path, start_line, end_line, symbol, kind, lang FROM chunks "
        "WHERE symbol LIKE ? ESCAPE '\\' ORDER BY path, start_line LIMIT 2000",
        (f"%{like}%",),
    )
    candidates = [
        {"chunk_id": r[0], "path": r[1], "start": r[2], "end": r[3], "symbol": r[4], "kind": r[5], "lang": r[6]}
        for r in rows
    ]
    candidates += _nested_definitions(store, name)

    def rank(found: dict) -> int:
        symbol = found["symbol"]
        last = symbol.rsplit(".", 1)[-1]
        if symbol == name or last == name:
            return 0 if symbol == name else 1
        if last.lower() == name.lower() or symbol.lower() == name.lower():
            return 2
        if symbol.lower().startswith(name.lower()) or last.lower().startswith(name.lower()):
            return 3
        return 4

    matches: dict[tuple[str, str], dict] = {}
    for found in sorted(candidates, key=lambda f: (rank(f), f["path"], f["start"])):
        key = (found["path"], found["symbol"])
        if key in matches:  # a long definition split into windows is one definition
            matches[key]["end"] = max(matches[key]["end"], found["end"])
            continue
        if len(matches) == limit:
            break
        matches[key] = {**found, "match": ("exact", "exact", "name", "prefix", "substring")[rank(found)]}
    return list(matches.values())


def _nested_definitions(store: Store, name: str) -> list[dict]:
    last = name.rsplit(".", 1)[-1]
    terms = query_terms(last)
    if not terms or not last.replace("_", "").replace("$", "").isalnum():
        return []
    pattern = re.compile(_DEFINITION.format(name=re.escape(last)), re.MULTILINE)
    rows = store.query(
        "SELECT c.id, c.path, c.start_line, c.end_line, c.symbol, c.kind, c.lang, c.text FROM chunks_fts "
        "JOIN chunks c ON c.id = chunks_fts.rowid WHERE chunks_fts MATCH ? LIMIT 500",
        (" AND ".join('"' + t + '"' for t in terms[:1]),),
    )
    found = []
    for cid, path, start, end, symbol, kind, lang, text in rows:
        for match in pattern.finditer(text):
            line = start + text.count("\n", 0, match.start() + len(match.group(0)) - len(match.group(0).lstrip()))
            owner = symbol if symbol and kind in ("class", "struct", "interface", "impl", "trait", "object") else None
            if symbol and symbol.rsplit(".", 1)[-1] == last:
                continue  # the chunk's own definition: already a candidate by its symbol
            qualified = f"{owner}.{last}" if owner else last
            found.append(
                {"chunk_id": cid, "path": path, "start": line, "end": end, "symbol": qualified,
                 "kind": "definition", "lang": lang}
            )
    return found
