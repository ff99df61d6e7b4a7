"""Lexical terms for the FTS index: code identifiers split so that both words and whole names match.

`HTTPBearer` is indexed as `httpbearer http bearer`, `get_openapi` as `getopenapi get openapi`;
a query goes through the same function, so `jsonable_encoder` matches the whole name first.
Each term also brings its light stem (`batched` -> batched batch), so inflections meet while the
exact word still scores higher.
"""

from __future__ import annotations

import re
from functools import lru_cache
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


@lru_cache(maxsize=65536)
def stem(term: str) -> str:
    """A light English stem: plurals, -ed and -ing and a final e go (Porter's steps 1 and 5a:
    batches/batched -> batch, caches/cached -> cach, dependencies/dependency -> dependenci).

    Porter's later steps are left out on purpose: they merge words that code keeps apart
    (observable, observer and observed all become `observ`; in mobx the three name different things).
    """
    if len(term) <= 3 or not term.isascii() or not term.isalpha():
        return term
    if term.endswith("sses") or term.endswith("ies"):
        term = term[:-2]
    elif term.endswith("s") and not term.endswith(("ss", "us")):
        term = term[:-1]
    if term.endswith("eed"):
        if _measure(term[:-3]) > 0:
            term = term[:-1]
    else:
        for suffix in ("ed", "ing"):
            base = term[: -len(suffix)]
            if term.endswith(suffix) and len(base) >= 3 and _VOWEL.search(base):
                term = _restore_base(base)
                break
    if term.endswith("y") and _VOWEL.search(term[:-1]):
        term = term[:-1] + "i"
    if term.endswith("e") and len(term) > 3:
        m = _measure(term[:-1])
        if m > 1 or (m == 1 and not _ends_cvc(term[:-1])):
            term = term[:-1]
    return term


_VOWEL = re.compile(r"[aeiou]|(?<=[^aeiou])y")


def _shape(word: str) -> str:
    """Porter's consonant/vowel pattern: 'v' for a vowel (y after a consonant counts), else 'c'."""
    return "".join(
        "v" if c in "aeiou" or (c == "y" and i > 0 and word[i - 1] not in "aeiou") else "c"
        for i, c in enumerate(word)
    )


def _measure(word: str) -> int:
    return len(re.findall(r"v+c+", _shape(word)))


def _ends_cvc(word: str) -> bool:
    return _shape(word).endswith("cvc") and word[-1] not in "wxy"


def _restore_base(base: str) -> str:
    """Porter's step 1b repair after -ed/-ing: relat -> relate, stopp -> stop, hop -> hope."""
    if base.endswith(("at", "bl", "iz")):
        return base + "e"
    if base[-1] == base[-2] and base[-1] not in "aeioulsz":
        return base[:-1]
    if _measure(base) == 1 and _ends_cvc(base):
        return base + "e"
    return base


def _with_stems(terms: list[str]) -> list[str]:
    return [t for term in terms for t in ((term,) if stem(term) == term else (term, stem(term)))]


def index_terms(text: str) -> str:
    """The FTS body for a piece of source: every identifier expanded by identifier_terms, each term
    followed by its stem where that differs."""
    return " ".join(_with_stems([term for word in _IDENTIFIER.findall(text) for term in identifier_terms(word)]))


def name_terms(name: str) -> list[str]:
    """One indexed term per word of an identifier, each found wherever the name is written:
    `magit-log-all-branches` -> magit log all branches, `jsonable_encoder` -> jsonableencoder."""
    return [identifier_terms(word)[0] for word in _IDENTIFIER.findall(name)]


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
    return list(dict.fromkeys(_with_stems(terms)))
