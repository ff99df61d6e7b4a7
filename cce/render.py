"""Rendering: hits and reports as terminal text, JSON, or text under a token budget."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .search import Hit

SNIPPET_LINES = 6


def estimate_tokens(text: str) -> int:
    """Tokens an LLM will count for `text`: code runs about 3 characters a token; round up."""
    return math.ceil(len(text) / 3) + text.count("\n") // 4


def hit_heading(hit: Hit) -> str:
    symbol = f"  {hit.symbol}" if hit.symbol else ""
    kind = f" ({hit.kind})" if hit.kind and hit.symbol else ""
    return f"{hit.path}:{hit.start}-{hit.end}{symbol}{kind}  score {hit.score:.4f}  [id {hit.id}]"


def snippet(text: str, lines: int = SNIPPET_LINES) -> str:
    body = text.strip("\n").splitlines()
    shown = body[:lines]
    more = f"\n    … {len(body) - lines} more lines" if len(body) > lines else ""
    return "\n".join("    " + line[:160] for line in shown) + more


def hits_text(hits: Sequence[Hit]) -> str:
    if not hits:
        return "no matches"
    return "\n\n".join(f"{n}. {hit_heading(h)}\n{snippet(h.text)}" for n, h in enumerate(hits, 1))


def to_json(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


class ProgressLine:
    """One self-rewriting status line on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._shown = False

    def show(self, text: str) -> None:
        if self.enabled:
            sys.stderr.write("\r\x1b[2K" + text[:200])
            sys.stderr.flush()
            self._shown = True

    def done(self) -> None:
        if self._shown:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()
            self._shown = False
