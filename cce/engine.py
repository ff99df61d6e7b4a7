"""Engine: the one object the CLI and the MCP server both use. Neither knows about SQLite, ONNX or inotify."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import UsageError
from .files import IgnoreRules, project_names, walk
from .index import Indexer, IndexSummary, Progress
from .model import ModelFiles, prepared_models_dir, resolve_model
from .search import Hit, Searcher, find_symbol
from .settings import Settings
from .store import NoIndexError, Store, VectorIndex, lock_holder, remove_store, store_dir_for, writer_lock

EXPAND_CONTEXT_LINES = 5


class Engine:
    """One project: its settings, store, model and searcher. Safe to share between threads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.project_dir
        self.store_dir = store_dir_for(settings.data_dir, self.root)
        self.rules = IgnoreRules(self.root, exclude_dirs=[self.store_dir, settings.data_dir])
        self._lock = threading.RLock()
        self._model: ModelFiles | None = None
        self._embedder = None
        self._store: Store | None = None
        self._searcher: Searcher | None = None

    # ---- model ---------------------------------------------------------------------------------

    def model(self, allow_pull: bool = False, progress: Callable[[str], None] | None = None) -> ModelFiles:
        with self._lock:
            if self._model is None:
                self._model = resolve_model(self.settings, allow_pull=allow_pull, progress=progress)
            return self._model

    def embedder(self):
        """The process's one ONNX session, loaded on first use (and again after release_idle_model)."""
        with self._lock:
            if self._embedder is None:
                from .embed import Embedder  # onnxruntime costs ~0.2 s to import: only when embedding

                self._embedder = Embedder(
                    self.model(), self.settings.threads, prepared_root=prepared_models_dir(self.settings)
                )
            self._embedder.touch()  # handed out counts as used: the caller is about to run it
            return self._embedder

    @property
    def model_loaded(self) -> bool:
        return self._embedder is not None

    def release_idle_model(self, keep_alive_s: float) -> bool:
        """Drop the ONNX session and tokenizer if nothing has used them for keep_alive_s seconds.

        A server sits idle for hours between an agent's searches: this hands ~40 MB back to the
        machine, and the next search or edit reloads the model (~0.06 s from the prepared copy).
        """
        with self._lock:
            embedder = self._embedder
            idle = None if embedder is None else embedder.idle_seconds()  # None while a call runs
            if idle is None or idle < keep_alive_s:
                return False
            self._embedder = None
        del embedder
        from .embed import return_free_memory

        return_free_memory()
        return True

    # ---- index ---------------------------------------------------------------------------------

    def index(
        self,
        full: bool = False,
        paths: Iterable[str] | None = None,
        progress: Callable[[Progress], None] | None = None,
        stop: threading.Event | None = None,
        on_wait: Callable[[str], None] | None = None,
        pull_progress: Callable[[str], None] | None = None,
    ) -> IndexSummary:
        """Bring the store up to date with the files (all of them, or `paths` relative to the root)."""
        rel_paths = None if paths is None else [self.relative(p) for p in paths]
        model = self.model(allow_pull=True, progress=pull_progress)
        with writer_lock(self.store_dir, on_wait):  # every change to the store files happens under it
            store = Store.open_for_writing(self.store_dir, model.model_id)
            try:
                if full:
                    store.reset()
                indexer = Indexer(self.root, store, self.rules, self.embedder, self.settings.max_file_size)
                summary = indexer.run(rel_paths, progress=progress, stop=stop)
                vectors = VectorIndex(store)
                vectors.sync()
                vectors.save()
            finally:
                store.close()
        return summary

    def relative(self, path: str | Path) -> str:
        """A path inside the project as a POSIX path relative to the root ("" for the root itself);
        relative paths are taken from the project root. UsageError for anything outside."""
        text = str(path)
        if not text.strip() or "\0" in text:
            raise UsageError(f"bad path {text!r}: give a file or folder inside the project")
        candidate = Path(text)
        normal = Path(*_normalise((self.root / candidate).parts))  # '..' resolved lexically
        outside = UsageError(f"{text!r} is outside the project {self.root}")
        try:
            rel = normal.relative_to(self.root)
        except ValueError:
            raise outside from None
        real_parent = normal.parent.resolve()  # a symlinked folder on the way must not lead out
        if real_parent != self.root and self.root not in real_parent.parents:
            raise outside
        return rel.as_posix() if rel.parts else ""

    # ---- search --------------------------------------------------------------------------------

    def searcher(self) -> Searcher:
        with self._lock:
            if self._searcher is None:
                store = self._open_store()
                store.check_model(self.model().model_id)
                self._searcher = Searcher(
                    store, VectorIndex(store), lambda q: self.embedder().embed_query(q), project_names(self.root)
                )
            return self._searcher

    def _open_store(self) -> Store:
        if self._store is None:
            store = Store.open_existing(self.store_dir)
            if store.lexicon_outdated:
                # Made by an older cce: its lexical index is rebuilt (a second or two; no re-embedding).
                # Never wait for the lock here: its holder may be this process's indexer, which needs
                # self._lock to proceed; a writer opening the store updates the index the same way.
                with writer_lock(self.store_dir, wait=False) as held:
                    if held:
                        Store.open_for_writing(self.store_dir, store.meta().get("model_id", "")).close()
            self._store = store
        return self._store

    def search(self, query: str, top_k: int = 10, mode: str = "hybrid") -> list[Hit]:
        return self.searcher().search(query, top_k=top_k, mode=mode)

    def find_symbol(self, name: str, limit: int = 20) -> list[dict]:
        return find_symbol(self._open_store(), name, limit)

    def expand_chunk(self, chunk_id: int, context: int = EXPAND_CONTEXT_LINES) -> dict:
        """The chunk's lines with `context` lines around them, read from the file as it is now."""
        chunk = self._open_store().chunks_by_ids([chunk_id]).get(chunk_id)
        if chunk is None:
            raise UsageError(f"no chunk with id {chunk_id}; ids come from search results and change when files do")
        from .files import read_source

        source = read_source(self.root, chunk.path, self.settings.max_file_size)
        if isinstance(source, str):
            raise UsageError(f"{chunk.path} can no longer be read ({source}); reindex to refresh")
        lines = source.text.splitlines()
        start = max(1, chunk.start - context)
        end = min(len(lines), chunk.end + context)
        return {
            "chunk_id": chunk.id,
            "path": chunk.path,
            "symbol": chunk.symbol,
            "kind": chunk.kind,
            "chunk_start": chunk.start,
            "chunk_end": chunk.end,
            "start": start,
            "end": end,
            "text": "\n".join(lines[start - 1 : end]),
        }

    # ---- status --------------------------------------------------------------------------------

    def index_counts(self) -> dict:
        """Files, chunks, model and generation of the store: cheap (no walk of the files).
        Raises NoIndexError when there is no index yet."""
        meta = self._open_store().meta()
        return {
            **self._open_store().counts(),
            "model_id": meta.get("model_id"),
            "generation": int(meta.get("generation", 0)),
        }

    def status(self) -> dict:
        """What is indexed, where, with which model, and how far the files have moved on since."""
        info: dict = {
            "project": str(self.root),
            "store": str(self.store_dir),
            "indexed": False,
            "settings": self.settings_report(),
        }
        try:
            store = self._open_store()
        except NoIndexError:
            return info
        meta = store.meta()
        known = store.files()
        walk_skips: Counter = Counter()
        on_disk = {f.path: f for f in walk(self.root, self.rules, self.settings.max_file_size, walk_skips)}
        refused = store.skipped_files()
        # Refusals remembered for files still listed (one gone or turned into a symlink since is
        # counted by the walk, or not at all): each file counts once.
        skipped = Counter(record.hash for path, record in refused.items() if path in on_disk)
        changed = sum(
            1
            for p, f in on_disk.items()
            if p not in refused and (p not in known or (known[p].size, known[p].mtime_ns) != (f.size, f.mtime_ns))
        )
        deleted = sum(1 for p in known if p not in on_disk)
        last = meta.get("last_index_at")
        info.update(
            indexed=True,
            **self.index_counts(),
            store_bytes=store.size_bytes(),
            format=meta.get("format"),
            last_index_at=float(last) if last else None,
            changed_since=changed,
            deleted_since=deleted,
            skipped=dict(sorted((skipped + walk_skips).items())),
            writer_pid=lock_holder(self.store_dir),
        )
        return info

    def settings_report(self) -> dict:
        s = self.settings
        values = {
            "threads": s.threads,
            "max_file_size": s.max_file_size,
            "debounce_ms": s.debounce_ms,
            "model_keep_alive": "forever" if s.model_keep_alive is None else int(s.model_keep_alive),
            "offline": s.offline,
            "model_dir": str(s.model_dir) if s.model_dir else None,
            "home": str(s.data_dir),
        }
        return {k: {"value": v, "from": s.origins.get(k, "default")} for k, v in values.items()}

    def clear(self) -> bool:
        self.close()
        return remove_store(self.store_dir)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
            self._store = None
            if self._searcher is not None:
                self._searcher.close()
            self._searcher = None


def _normalise(parts: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if part == "..":
            if len(out) > 1:
                out.pop()
        elif part != ".":
            out.append(part)
    return out


def time_ago(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    seconds = max(0, time.time() - timestamp)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"
