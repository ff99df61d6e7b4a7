"""`cce serve`: an MCP stdio server over one Engine, with a live inotify watcher.

Threads, no processes: the SDK's event loop (and the worker threads it runs tools in), a loader,
the watcher, and one indexing thread. Every exit path (stdin EOF, SIGINT, SIGTERM, SIGHUP, SIGQUIT)
stops the background work at a commit boundary and ends the process within a second.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, NotificationParams, TextContent
from pydantic import BaseModel

from . import __version__
from .errors import CceError
from .render import estimate_tokens, hit_heading
from .settings import Settings

if TYPE_CHECKING:
    from .engine import Engine
    from .watch import Watcher

READY_TIMEOUT_S = 60.0  # a search that arrives while the model loads waits this long at most
REINDEX_TIMEOUT_S = 600.0
EXIT_GRACE_S = 0.6  # time the indexer gets to reach a commit boundary when the process is told to stop
MAX_QUERY_CHARS = 2_000  # the model reads 512 tokens; longer queries are cut, not refused
MAX_TOP_K = 50
DEFAULT_MAX_TOKENS = 6_000


def log(message: str) -> None:
    """Logs go to stderr: stdout is the protocol."""
    print(f"cce serve: {message}", file=sys.stderr, flush=True)


class SearchHit(BaseModel):
    chunk_id: int
    path: str
    start_line: int
    end_line: int
    symbol: str | None
    kind: str | None
    score: float
    code: str


class OmittedHit(BaseModel):
    chunk_id: int
    path: str
    start_line: int
    end_line: int
    symbol: str | None
    score: float


class SearchResult(BaseModel):
    query: str
    hits: list[SearchHit]
    omitted: list[OmittedHit]  # over the token budget: fetch with expand_chunk(chunk_id)
    estimated_tokens: int


class ExpandedChunk(BaseModel):
    chunk_id: int
    path: str
    symbol: str | None
    kind: str | None
    chunk_start: int
    chunk_end: int
    start_line: int
    end_line: int
    code: str


class SymbolMatch(BaseModel):
    chunk_id: int
    path: str
    start_line: int
    end_line: int
    symbol: str
    kind: str | None
    match: str


class SymbolResult(BaseModel):
    name: str
    matches: list[SymbolMatch]


class Status(BaseModel):
    project: str
    store: str
    ready: bool
    files: int
    chunks: int
    model_id: str | None
    model_loaded: bool  # False after CCE_MODEL_KEEP_ALIVE seconds unused; the next search reloads it
    generation: int
    watcher: dict[str, Any]
    last_reindex: dict[str, Any] | None
    last_error: str | None


class ReindexResult(BaseModel):
    path: str | None
    summary: dict[str, Any]


class Service:
    """The server's background work: loading, watching, and the one indexing thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.last_error: str | None = None
        self.last_reindex: dict[str, Any] | None = None
        self.watcher: Watcher | None = None
        self._started = False
        self._start_lock = threading.Lock()
        self._work = threading.Condition()
        self._queued: set[str] = set()
        self._rescan = False
        self._runs_done = 0  # completed index runs, for callers waiting on "their" run
        self._indexing = threading.Event()
        self._indexer: threading.Thread | None = None

    @property
    def engine(self) -> Engine:
        """The Engine, made on first use: importing it (numpy, SQLite, the indexer) is left until after
        the handshake, which then answers in ~0.15 s less."""
        with self._engine_lock:
            if self._engine is None:
                from .engine import Engine

                self._engine = Engine(self.settings)
            return self._engine

    def start(self) -> None:
        """Start loading in the background (idempotent): called after the handshake or on first use."""
        with self._start_lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._load, name="cce-loader", daemon=True).start()

    def _load(self) -> None:
        from .watch import Watcher

        try:
            has_index = (self.engine.store_dir / "index.sqlite").is_file()
            self.engine.model(allow_pull=True)  # the first run on a machine fetches it (unless CCE_OFFLINE)
            self.engine.embedder()  # the one ONNX session, shared by searches and indexing
            if has_index:
                try:
                    self.engine.searcher()
                    self.ready.set()  # searches are answered from the existing index during the catch-up
                except CceError as exc:
                    # Empty, damaged, or built by another format or model: the catch-up rebuilds it.
                    log(f"{exc}; rebuilding it")
                    self.engine.close()
                    has_index = False
            self._indexer = threading.Thread(target=self._index_loop, name="cce-indexer", daemon=True)
            self._indexer.start()
            self.watcher = Watcher(
                self.engine.root, self.engine.rules, self.enqueue, debounce_ms=self.engine.settings.debounce_ms
            )
            self.watcher.start()
            self.enqueue(set(), True)  # catch-up: what changed while no server ran
            if not has_index:
                self.wait_for_runs(self._runs_done + 1, READY_TIMEOUT_S)
                self.engine.searcher()
                self.ready.set()
        except CceError as exc:
            self.last_error = str(exc)
            log(str(exc))
        except Exception as exc:  # noqa: BLE001 - the server stays up and reports it in index_status
            self.last_error = f"{type(exc).__name__}: {exc}"
            log(f"loading failed: {self.last_error}")
            traceback.print_exc(file=sys.stderr)

    def enqueue(self, paths: set[str], full_rescan: bool) -> int:
        """Queue paths (or a whole-tree reconcile) for the indexing thread; returns the run number
        that will include them."""
        with self._work:
            self._queued |= paths
            self._rescan = self._rescan or full_rescan
            self._work.notify_all()
            return self._runs_done + 1 + (1 if self._indexing.is_set() else 0)

    def wait_for_runs(self, target: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._work:
            while self._runs_done < target and not self.stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._work.wait(min(left, 0.2))
        return self._runs_done >= target

    def _index_loop(self) -> None:
        while not self.stop.is_set():
            with self._work:
                while not (self._queued or self._rescan) and not self.stop.is_set():
                    self._work.wait(0.5)
                    keep_alive = self.engine.settings.model_keep_alive
                    if keep_alive is not None:
                        self.engine.release_idle_model(keep_alive)
                if self.stop.is_set():
                    return
                paths, rescan = self._queued, self._rescan
                self._queued, self._rescan = set(), False
                self._indexing.set()
            started = time.time()
            try:
                summary = self.engine.index(paths=None if rescan else sorted(paths), stop=self.stop)
                self.last_reindex = {"at": started, "paths": None if rescan else len(paths), **summary.as_dict()}
            except CceError as exc:
                self.last_error = str(exc)
                log(f"reindex failed: {exc}")
            except Exception as exc:  # noqa: BLE001 - one bad run must not end the watcher's work
                self.last_error = f"{type(exc).__name__}: {exc}"
                log(f"reindex failed: {self.last_error}")
                traceback.print_exc(file=sys.stderr)
            finally:
                with self._work:
                    self._indexing.clear()
                    self._runs_done += 1
                    self._work.notify_all()

    def wait_ready(self) -> None:
        self.start()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self.ready.wait(0.1):
            if self.last_error and not self.ready.is_set():
                raise ToolError(f"the index is not available: {self.last_error}")
            if time.monotonic() > deadline:
                raise ToolError("the index is still loading; try again in a minute")

    def shutdown(self) -> None:
        """Stop background work; give the indexer a moment to reach a commit boundary."""
        self.stop.set()
        with self._work:
            self._work.notify_all()
        if self.watcher is not None:
            self.watcher.stop(timeout=0.3)
        if self._indexer is not None:
            self._indexer.join(EXIT_GRACE_S)
        if self._engine is not None:
            with contextlib.suppress(Exception):
                self._engine.close()


def _tool_error(exc: CceError) -> ToolError:
    return ToolError(str(exc))


def _result(text: str, data: BaseModel) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=data.model_dump(mode="json")
    )


def build_server(service: Service) -> MCPServer:
    server = MCPServer(
        name="cce",
        version=__version__,
        instructions=(
            f"Code search over the project at {service.settings.project_dir}. Use context_search first with a "
            "question or identifiers; expand_chunk to read more around a hit; find_symbol to jump to a definition."
        ),
    )

    @server.tool()
    def context_search(
        query: str, top_k: int = 10, max_tokens: int = DEFAULT_MAX_TOKENS
    ) -> Annotated[CallToolResult, SearchResult]:
        """Search the project's code by meaning and by name (hybrid semantic + keyword search).

        Use a natural-language question ("where are request bodies validated?") or identifiers
        ("jsonable_encoder", "APIRouter.add_api_route"). Returns the best matching code chunks, best
        first, each with chunk_id, path, line range, symbol and code. The code returned stays within
        max_tokens; hits that did not fit are listed under `omitted` by chunk_id: read them with
        expand_chunk. top_k: 1-50 (default 10).
        """
        if not query.strip():
            raise ToolError("query is empty: describe the code you are looking for")
        if top_k < 1:
            raise ToolError(f"top_k must be at least 1 (got {top_k})")
        if max_tokens < 100:
            raise ToolError(f"max_tokens must be at least 100 (got {max_tokens})")
        service.wait_ready()
        query = query[:MAX_QUERY_CHARS]
        try:
            hits = service.engine.search(query, top_k=min(top_k, MAX_TOP_K))
        except CceError as exc:
            raise _tool_error(exc) from None
        kept: list[SearchHit] = []
        omitted: list[OmittedHit] = []
        used = 0
        lines = []
        for hit in hits:
            block = f"## {hit_heading(hit)}\n{hit.text}\n"
            cost = estimate_tokens(block)
            if used + cost <= max_tokens:
                used += cost
                lines.append(block)
                kept.append(
                    SearchHit(
                        chunk_id=hit.id,
                        path=hit.path,
                        start_line=hit.start,
                        end_line=hit.end,
                        symbol=hit.symbol,
                        kind=hit.kind,
                        score=hit.score,
                        code=hit.text,
                    )
                )
            else:
                omitted.append(
                    OmittedHit(
                        chunk_id=hit.id,
                        path=hit.path,
                        start_line=hit.start,
                        end_line=hit.end,
                        symbol=hit.symbol,
                        score=hit.score,
                    )
                )
        if omitted:
            listed = ", ".join(f"{o.chunk_id} ({o.path}:{o.start_line})" for o in omitted)
            lines.append(f"Over the token budget, read with expand_chunk: {listed}")
        text = "\n".join(lines) if hits else "No matches."
        return _result(text, SearchResult(query=query, hits=kept, omitted=omitted, estimated_tokens=used))

    @server.tool()
    def expand_chunk(chunk_id: int, context_lines: int = 5) -> Annotated[CallToolResult, ExpandedChunk]:
        """Read a chunk in full from the current file, with context_lines (0-50) lines around it.

        chunk_id comes from context_search or find_symbol results.
        """
        if not 0 <= context_lines <= 50:
            raise ToolError(f"context_lines must be between 0 and 50 (got {context_lines})")
        service.wait_ready()
        try:
            data = service.engine.expand_chunk(chunk_id, context_lines)
        except CceError as exc:
            raise _tool_error(exc) from None
        result = ExpandedChunk(
            chunk_id=data["chunk_id"],
            path=data["path"],
            symbol=data["symbol"],
            kind=data["kind"],
            chunk_start=data["chunk_start"],
            chunk_end=data["chunk_end"],
            start_line=data["start"],
            end_line=data["end"],
            code=data["text"],
        )
        return _result(f"{result.path}:{result.start_line}-{result.end_line}\n{result.code}", result)

    @server.tool()
    def find_symbol(name: str, limit: int = 20) -> Annotated[CallToolResult, SymbolResult]:
        """Find definitions (functions, classes, methods, ...) by name: exact matches first, then
        names that start with or contain it. `Class.method` and plain `method` both work. limit: 1-100."""
        if not 1 <= limit <= 100:
            raise ToolError(f"limit must be between 1 and 100 (got {limit})")
        service.wait_ready()
        try:
            found = service.engine.find_symbol(name, limit)
        except CceError as exc:
            raise _tool_error(exc) from None
        matches = [
            SymbolMatch(
                chunk_id=f["chunk_id"],
                path=f["path"],
                start_line=f["start"],
                end_line=f["end"],
                symbol=f["symbol"],
                kind=f["kind"],
                match=f["match"],
            )
            for f in found
        ]
        text = (
            "\n".join(
                f"{m.path}:{m.start_line}-{m.end_line}  {m.symbol} ({m.kind or 'symbol'}, {m.match})  [id {m.chunk_id}]"
                for m in matches
            )
            or f"No definition matches {name!r}."
        )
        return _result(text, SymbolResult(name=name, matches=matches))

    @server.tool()
    def index_status() -> Annotated[CallToolResult, Status]:
        """How the index stands: files, chunks, store path, model, watcher state, last reindex, last error."""
        from .store import NoIndexError

        service.start()
        engine = service.engine
        info: dict[str, Any] = {"files": 0, "chunks": 0, "model_id": None, "generation": 0}
        try:
            if (engine.store_dir / "index.sqlite").is_file():
                info = engine.index_counts()
        except NoIndexError:
            pass  # created, nothing committed yet: the first index run is on its way
        except CceError as exc:
            service.last_error = str(exc)
        watcher = service.watcher.stats().__dict__ if service.watcher else {"state": "starting"}
        status = Status(
            project=str(engine.root),
            store=str(engine.store_dir),
            ready=service.ready.is_set(),
            model_loaded=engine.model_loaded,
            watcher=watcher,
            last_reindex=service.last_reindex,
            last_error=service.last_error,
            **info,
        )
        text = (
            f"{status.files} files, {status.chunks} chunks, model {status.model_id} "
            f"({'loaded' if status.model_loaded else 'released until the next search'}), "
            f"{'ready' if status.ready else 'loading'}; watcher: {watcher}"
            + (f"; last error: {status.last_error}" if status.last_error else "")
        )
        return _result(text, status)

    @server.tool()
    def reindex(path: str | None = None) -> Annotated[CallToolResult, ReindexResult]:
        """Re-index the project now (incremental: unchanged files cost nothing), or only `path`,
        a file or folder inside the project. The watcher normally keeps the index fresh by itself."""
        try:
            rel = None if path is None else service.engine.relative(path)
        except CceError as exc:
            raise _tool_error(exc) from None
        service.start()
        run = service.enqueue(set() if rel is None else {rel}, rel is None or rel == "")
        if not service.wait_for_runs(run, REINDEX_TIMEOUT_S):
            raise ToolError("the reindex did not finish in time; it goes on in the background")
        summary = dict(service.last_reindex or {})
        return _result(
            f"reindexed {path or 'the project'}: {summary.get('files_indexed', 0)} files changed, "
            f"{summary.get('chunks_embedded', 0)} chunks embedded",
            ReindexResult(path=rel, summary=summary),
        )

    async def on_initialized(ctx: Any, params: NotificationParams) -> None:
        service.start()  # after the handshake: loading must not delay `initialize`

    server._lowlevel_server.add_notification_handler("notifications/initialized", NotificationParams, on_initialized)
    return server


def serve(settings: Settings) -> int:
    service = Service(settings)
    server = build_server(service)

    def finish(code: int) -> None:
        service.shutdown()
        sys.stderr.flush()
        # The SDK reads stdin in a thread that cannot be cancelled: end the process ourselves.
        os._exit(code)

    def on_signal(signum: int, _frame: object) -> None:
        log(f"{signal.Signals(signum).name}: stopping")
        finish(0)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, on_signal)
    # If the client never sends `initialized`, start anyway shortly after.
    timer = threading.Timer(2.0, service.start)
    timer.daemon = True
    timer.start()
    try:
        server.run()
    except Exception as exc:  # noqa: BLE001
        log(f"server error: {type(exc).__name__}: {exc}")
        finish(1)
    finish(0)
    return 0
