"""Indexing: diff the files on disk against the store, embed only what changed, prune what is gone.

files -> chunks -> vectors -> store, in batches: each batch of files is embedded, then committed in
one transaction, so a kill at any moment loses at most the batch in flight.
"""

from __future__ import annotations

import hashlib
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .chunk import CHUNKER_VERSION, chunk_source, embedding_text, language_for
from .files import (
    SKIP_BAD_NAME,
    SKIP_NOT_REGULAR,
    SKIP_SYMLINK,
    SKIP_TOO_LARGE,
    FileInfo,
    IgnoreRules,
    SourceFile,
    is_valid_name,
    read_source,
    walk,
)
from .store import FileRecord, NewChunk, Store, chunk_id

if TYPE_CHECKING:
    from .embed import Embedder  # onnxruntime is imported only when something is embedded

# Chunks embedded per committed batch: big enough to keep the model busy, small enough that a kill
# loses little and a reader sees progress.
BATCH_CHUNKS = 256
CHUNK_TOKEN_BUDGET = 510  # the model's 512 minus nothing: the header counts inside the budget


@dataclass
class IndexSummary:
    files_total: int = 0  # files of the project in scope
    files_indexed: int = 0  # new or changed files (re)chunked
    files_unchanged: int = 0
    files_removed: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0  # vectors taken from unchanged chunks
    tokens_embedded: int = 0
    skipped: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    interrupted: bool = False
    rechunked: bool = False  # every file chunked anew: the store's chunks came from another chunker version

    def line(self) -> str:
        skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(self.skipped.items())) or "none"
        verb = "interrupted after" if self.interrupted else "indexed"
        changed = "all chunked anew for this cce" if self.rechunked else f"{self.files_indexed} changed"
        return (
            f"cce: {verb} {self.files_total} files ({changed}, {self.files_removed} removed): "
            f"{self.chunks_embedded} chunks embedded, {self.chunks_reused} reused; skipped: {skipped}; "
            f"{self.seconds:.1f} s"
        )

    def as_dict(self) -> dict:
        return {
            "files": self.files_total,
            "files_indexed": self.files_indexed,
            "files_unchanged": self.files_unchanged,
            "files_removed": self.files_removed,
            "chunks_embedded": self.chunks_embedded,
            "chunks_reused": self.chunks_reused,
            "tokens_embedded": self.tokens_embedded,
            "skipped": dict(sorted(self.skipped.items())),
            "seconds": round(self.seconds, 3),
            "interrupted": self.interrupted,
            "rechunked": self.rechunked,
        }


@dataclass(frozen=True)
class Progress:
    files_done: int
    files_total: int  # files to read (new or changed on disk)
    chunks_embedded: int
    bytes_done: int
    bytes_total: int
    elapsed: float

    @property
    def eta(self) -> float | None:
        if not self.bytes_done or self.elapsed < 1:
            return None
        return self.elapsed * (self.bytes_total - self.bytes_done) / self.bytes_done


@dataclass
class _Batch:
    """What one transaction will write: files to (re)chunk, files to touch, files refused."""

    embed: list[tuple[SourceFile, list, list[str], list[str]]] = field(
        default_factory=list
    )  # source, chunks, texts, hashes
    touch: list[FileRecord] = field(default_factory=list)
    skip: list[tuple[FileInfo, str]] = field(default_factory=list)
    chunks: int = 0

    def __bool__(self) -> bool:
        return bool(self.embed or self.touch or self.skip)


class Indexer:
    """Indexes one project into one store with one (lazily loaded) embedder."""

    def __init__(
        self,
        root: Path,
        store: Store,
        rules: IgnoreRules,
        embedder: Callable[[], Embedder],
        max_file_size: int,
    ) -> None:
        self.root = root
        self.store = store
        self.rules = rules
        self._embedder = embedder
        self.max_file_size = max_file_size

    def run(
        self,
        paths: Iterable[str] | None = None,
        progress: Callable[[Progress], None] | None = None,
        stop: threading.Event | None = None,
    ) -> IndexSummary:
        """Index the whole project, or only `paths` (files or folders, relative POSIX paths)."""
        started = time.monotonic()
        summary = IndexSummary()
        scope = None if paths is None else sorted({p.strip("/") for p in paths})
        listing = self._list(scope, summary.skipped)
        known = self.store.files()
        refused = self.store.skipped_files()
        # Chunks made by another chunker version: a full run reads every file again.
        rechunk = bool(paths is None and known and self.store.meta().get("chunker") != CHUNKER_VERSION)
        summary.rechunked = rechunk
        on_disk = {info.path for info in listing}
        gone = sorted(p for p in {*known, *refused} if _within(p, scope) and p not in on_disk)
        if gone:
            with self.store.write() as writer:
                for path in gone:
                    writer.remove_file(path)
            summary.files_removed = sum(1 for p in gone if p in known)

        summary.files_total = len(listing)
        todo: list[FileInfo] = []
        for info in listing:
            before = known.get(info.path) or refused.get(info.path)
            if before and before.size == info.size and before.mtime_ns == info.mtime_ns and not rechunk:
                if info.path in refused:
                    summary.skipped[refused[info.path].hash] += 1  # hash holds the remembered reason
                else:
                    summary.files_unchanged += 1
            else:
                todo.append(info)

        bytes_total = sum(info.size for info in todo)
        state = {"files": 0, "bytes": 0}

        def report(in_flight: int = 0) -> None:
            if progress:
                progress(
                    Progress(
                        state["files"],
                        len(todo),
                        summary.chunks_embedded + in_flight,
                        state["bytes"],
                        bytes_total,
                        time.monotonic() - started,
                    )
                )

        batch = _Batch()
        for info in todo:
            if stop is not None and stop.is_set():
                summary.interrupted = True
                break
            self._prepare(info, known, summary, batch, rechunk)
            if batch.chunks >= BATCH_CHUNKS:
                self._commit(batch, summary, report)
                batch = _Batch()
            state["files"] += 1
            state["bytes"] += info.size
        if batch:
            self._commit(batch, summary, report)
        if summary.files_indexed or gone or paths is None:
            with self.store.write() as writer:
                writer.set_meta("last_index_at", f"{time.time():.3f}")
                if paths is None and not summary.interrupted:
                    writer.set_meta("chunker", CHUNKER_VERSION)
                writer.prune_tombstones()
        report()
        summary.seconds = time.monotonic() - started
        return summary

    def _list(self, scope: list[str] | None, skipped: Counter) -> list[FileInfo]:
        if scope is None:
            return walk(self.root, self.rules, self.max_file_size, skipped)
        found: dict[str, FileInfo] = {}
        for rel in scope:
            target = self.root / rel
            try:
                st = target.lstat()
            except OSError:
                continue  # gone (or unreachable) since the event: pruned as gone if it was known
            is_dir = stat.S_ISDIR(st.st_mode)
            if self.rules.ignores(rel, is_dir):
                continue
            if not is_valid_name(rel):
                skipped[SKIP_BAD_NAME] += 1  # not storable as text: never listed, so never written
            elif stat.S_ISLNK(st.st_mode):
                skipped[SKIP_SYMLINK] += 1
            elif is_dir:
                for info in walk(self.root, self.rules, self.max_file_size, skipped, under=rel):
                    found[info.path] = info
            elif not stat.S_ISREG(st.st_mode):
                skipped[SKIP_NOT_REGULAR] += 1
            elif st.st_size > self.max_file_size:
                skipped[SKIP_TOO_LARGE] += 1
            else:
                found[rel] = FileInfo(rel, st.st_size, st.st_mtime_ns)
        return sorted(found.values(), key=lambda info: info.path)

    def _prepare(
        self, info: FileInfo, known: dict[str, FileRecord], summary: IndexSummary, batch: _Batch, rechunk: bool
    ) -> None:
        """Read one file and decide what the batch does with it."""
        source = read_source(self.root, info, self.max_file_size)
        if isinstance(source, str):
            summary.skipped[source] += 1
            batch.skip.append((info, source))
            return
        before = known.get(source.path)
        if before is not None and before.hash == source.hash and not rechunk:
            summary.files_unchanged += 1
            batch.touch.append(FileRecord(source.path, source.hash, source.size, source.mtime_ns))
            return
        summary.files_indexed += 1
        embedder = self._embedder()
        chunks = chunk_source(
            source.path, source.text, CHUNK_TOKEN_BUDGET, lambda text: embedder.count_tokens([text])[0]
        )
        texts = [embedding_text(source.path, c) for c in chunks]
        hashes = [hashlib.sha256(t.encode()).hexdigest()[:32] for t in texts]
        batch.embed.append((source, chunks, texts, hashes))
        batch.chunks += len(chunks)

    def _commit(self, batch: _Batch, summary: IndexSummary, report: Callable[[int], None]) -> None:
        """Embed what no stored chunk already has a vector for, then write the batch in one transaction."""
        reusable = self.store.vectors_by_hash({h for *_, hashes in batch.embed for h in hashes})
        missing: dict[str, str] = {}
        for _source, _chunks, texts, hashes in batch.embed:
            for text, digest in zip(texts, hashes, strict=True):
                if digest not in reusable:
                    missing.setdefault(digest, text)
        vectors: dict[str, np.ndarray] = dict(reusable)
        if missing:
            embedder = self._embedder()
            texts = list(missing.values())
            before = embedder.tokens_embedded
            vectors.update(zip(missing, embedder.embed_documents(texts, progress=report), strict=True))
            summary.tokens_embedded += embedder.tokens_embedded - before
            summary.chunks_embedded += len(texts)
        summary.chunks_reused += batch.chunks - len(missing)
        with self.store.write() as writer:
            if missing:
                writer.set_meta("dim", str(len(vectors[next(iter(missing))])))
            for info, reason in batch.skip:
                if reason == "vanished":
                    writer.remove_file(info.path)
                else:
                    writer.set_skip(info.path, reason, info.size, info.mtime_ns)
            for record in batch.touch:
                writer.touch_file(record)
            for source, chunks, _texts, hashes in batch.embed:
                record = FileRecord(source.path, source.hash, source.size, source.mtime_ns)
                new = [
                    NewChunk(
                        id=chunk_id(source.path, c.start, c.text),
                        start=c.start,
                        end=c.end,
                        symbol=c.symbol,
                        kind=c.kind,
                        lang=c.lang,
                        text=c.text,
                        hash=digest,
                        vector=vectors[digest],
                    )
                    for c, digest in zip(chunks, hashes, strict=True)
                ]
                writer.replace_file(record, language_for(source.path, source.text), source.redactions, _dedupe(new))


def _dedupe(chunks: list[NewChunk]) -> list[NewChunk]:
    """Two identical chunks at one start line would share an id; keep the first."""
    seen: set[int] = set()
    unique = []
    for c in chunks:
        if c.id not in seen:
            seen.add(c.id)
            unique.append(c)
    return unique


def _within(path: str, scope: list[str] | None) -> bool:
    return scope is None or any(path == s or path.startswith(s + "/") or s == "" for s in scope)
