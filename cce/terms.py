"""Lexical terms for the FTS index: code identifiers split so that both words and whole names match.

`HTTPBearer` is indexed as `httpbearer http bearer`, `get_openapi` as `getopenapi get openapi`;
a query goes through the same function, so `jsonable_encoder` matches the whole name first.
"""

from __future__ import annotations

import re
from itertools import pairwise

_IDENTIFIER = re.compile(r"[^\W_]+(?:_+[^\W_]+)*|_+[^\W_]+(?:_+[^\W_]+)*", re.UNICODE)
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+\d*|[A-Z]+\d*|\d+")

# Words of natural-language questions that say nothing about code; dropping them keeps BM25 on the
# words that do ("How does the router handle errors?" -> router handle errors).
STOP_WORDS = frozenset(
    """a an and are as at be by can could do does doing did for from has have how i if in
    into is it its me my of on or our should so that the their them then there these this those to
    up use used uses using via was we were what when where which while who why will with would you
    your implement implemented implementation work works working handle handled""".split()
)


def identifier_terms(word: str) -> list[str]:
    """Terms for one identifier: its parts, lowercased, plus the whole name when it has several parts."""
    parts = [
        part.lower()
        for piece in word.split("_")
        if piece
        for part in (_CAMEL_PART.findall(piece) if piece.isascii() else [piece])
    ]
    if len(parts) > 1:
        return ["".join(parts), *parts]
    return parts or [word.lower()]


def index_terms(text: str) -> str:
    """The FTS body for a piece of source: every identifier expanded by identifier_terms."""
    return " ".join(term for word in _IDENTIFIER.findall(text) for term in identifier_terms(word))


def query_terms(query: str) -> list[str]:
    """Distinct search terms of a query, stop words dropped (unless nothing else is left)."""
    words = _IDENTIFIER.findall(query)
    kept = [w for w in words if w.lower() not in STOP_WORDS]
    terms: list[str] = []
    for word in kept:
        for term in identifier_terms(word):
            if term not in terms:
                terms.append(term)
    # Adjacent words may name one identifier: "static files" -> staticfiles, "api key" -> apikey.
    for first, second in pairwise(kept):
        joined = (first + second).lower()
        if joined.isalnum() and joined not in terms:
            terms.append(joined)
    if not terms:
        terms = list(dict.fromkeys(t for w in words for t in identifier_terms(w)))
    return terms
