"""The project's store: SQLite (source of truth) + a derived usearch file + a writer lock.

SQLite in WAL mode holds files, chunks (with their vectors), an FTS5 index and `meta`. Every write
transaction bumps `generation`. The usearch file is only a cache stamped with the generation it
reflects; readers bring an in-memory index up to date by replaying the chunks added (`chunks.gen`)
and removed (`removed.gen`) since, or rebuild it from SQLite when the file is missing or damaged.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .chunk import searchable_text
from .errors import CceError
from .terms import index_terms

FORMAT_VERSION = "1"
# How chunks_fts is built (tokenizer and cce.terms). A store with another one keeps its vectors and
# has only its lexical index rebuilt: 1 was FTS5's Porter stemmer, 2 is cce.terms' light stems, 3
# leaves out a file's licence comment (cce.chunk.searchable_text).
LEXICON_VERSION = "3"
DB_NAME = "index.sqlite"
VECTORS_NAME = "vectors.usearch"
STAMP_NAME = "vectors.json"
LOCK_NAME = "lock"
# Tombstones older than this many rows are pruned; readers that far behind rebuild instead.
MAX_TOMBSTONES = 200_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files(
    path TEXT PRIMARY KEY, hash TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    lang TEXT, redactions INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY, path TEXT NOT NULL, start_line INTEGER NOT NULL, end_line INTEGER NOT NULL,
    symbol TEXT, kind TEXT, lang TEXT, text TEXT NOT NULL, hash TEXT NOT NULL, gen INTEGER NOT NULL,
    vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path);
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks(hash);
CREATE INDEX IF NOT EXISTS chunks_gen ON chunks(gen);
CREATE INDEX IF NOT EXISTS chunks_symbol ON chunks(symbol COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS removed(id INTEGER PRIMARY KEY, gen INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS removed_gen ON removed(gen);
CREATE TABLE IF NOT EXISTS skips(
    path TEXT PRIMARY KEY, reason TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    body, symbol, path, tokenize = 'unicode61 remove_diacritics 2');
"""

_FTS_INSERT = "INSERT INTO chunks_fts(rowid, body, symbol, path) VALUES (?, ?, ?, ?)"


def _fts_row(chunk_id: int, start: int, text: str, symbol: str | None, path: str) -> tuple[int, str, str, str]:
    """A chunk's row in chunks_fts: its searchable source, symbol and path as cce.terms terms."""
    return chunk_id, index_terms(searchable_text(start, text)), index_terms(symbol or ""), index_terms(path)


@dataclass(frozen=True)
class StoredChunk:
    id: int
    path: str
    start: int
    end: int
    symbol: str | None
    kind: str | None
    lang: str | None
    text: str


@dataclass(frozen=True)
class NewChunk:
    """A chunk ready to be written: its source, where it is, and its vector."""

    id: int
    start: int
    end: int
    symbol: str | None
    kind: str | None
    lang: str
    text: str
    hash: str
    vector: np.ndarray


@dataclass(frozen=True)
class FileRecord:
    path: str
    hash: str
    size: int
    mtime_ns: int


def store_dir_for(data_dir: Path, project: Path) -> Path:
    """One store per project, outside the tree: <data>/projects/<name>-<hash of the real path>."""
    real = str(project.resolve())
    digest = hashlib.sha256(real.encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", project.name)[:40] or "root"
    return data_dir / "projects" / f"{name}-{digest}"


def chunk_id(path: str, start: int, text: str) -> int:
    """A stable id from what the chunk is: the same chunk gets the same id in any store (63 bits)."""
    digest = hashlib.sha256(f"{path}\0{start}\0{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def _damaged(where: Path, exc: Exception) -> CceError:
    return CceError(
        f"the index at {where} is damaged ({exc}); rebuild it with `cce index --full` or remove it with `cce clear`"
    )


class Store:
    """An open store. Reads may come from several threads; writes go through `Store.write()`."""

    def __init__(self, directory: Path, conn: sqlite3.Connection) -> None:
        self.directory = directory
        self.db_path = directory / DB_NAME
        self._conn = conn
        self._lock = threading.RLock()

    # ---- opening -------------------------------------------------------------------------------

    @classmethod
    def open_existing(cls, directory: Path) -> Store:
        """Open a store for reading; CceError when there is none or it is damaged."""
        no_index = NoIndexError(f"no index yet for this project (looked in {directory}); run `cce index` first")
        if not (directory / DB_NAME).is_file():
            raise no_index
        store = cls(directory, _connect(directory / DB_NAME))
        try:
            if not store._check_health():
                raise no_index  # created, but killed before its first commit
        except CceError:
            store.close()
            raise
        return store

    @classmethod
    def open_for_writing(cls, directory: Path, model_id: str) -> Store:
        """Open or create a store for `model_id`; a damaged, foreign-format or other-model store is
        rebuilt (its contents are derived from the project files, so nothing is lost). Call it with
        the writer lock held, so no other writer has the files open."""
        ensure_store_dir(directory)
        old_umask = os.umask(0o077)  # files 0600: indexed code may be private
        try:
            try:
                store = cls(directory, _connect(directory / DB_NAME))
                store._check_health()
                fmt, built_with = store._meta_value("format"), store._meta_value("model_id")
                if fmt not in (None, FORMAT_VERSION) or built_with not in (None, model_id):
                    store.close()
                    raise _Incompatible
            except (CceError, _Incompatible):
                _remove_store_files(directory)
                store = cls(directory, _connect(directory / DB_NAME))
            store._create(model_id)
            return store
        finally:
            os.umask(old_umask)

    def reset(self) -> None:
        """Empty the store in one transaction (for `cce index --full`). The database file stays, so
        a server reading it sees the change like any other commit; its vector index is rebuilt."""
        with self.write() as writer:
            for table in ("chunks", "chunks_fts", "files", "skips", "removed"):
                writer._conn.execute(f"DELETE FROM {table}")
            writer.set_meta("removed_floor", str(writer.gen))

    def _create(self, model_id: str) -> None:
        # One transaction: a kill here leaves either no tables (an empty store) or all of them.
        defaults = {"format": FORMAT_VERSION, "model_id": model_id, "generation": "0"}
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
                self._conn.executemany("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)", defaults.items())
                if self._meta_value("lexicon") != LEXICON_VERSION:  # none before the key: Porter
                    self._rebuild_lexicon()
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    @property
    def lexicon_outdated(self) -> bool:
        """True for a store of this format whose lexical index an older cce built: opening it for
        writing brings it up to date."""
        meta = self.meta()
        return meta.get("format") == FORMAT_VERSION and meta.get("lexicon") != LEXICON_VERSION

    def _rebuild_lexicon(self) -> None:
        """Remake chunks_fts from the chunks with this cce's tokenizer and terms (inside _create's
        transaction). Vectors stay: no chunk is embedded again."""
        self._conn.execute("DROP TABLE IF EXISTS chunks_fts")
        self._conn.execute(next(s for s in _SCHEMA.split(";") if "chunks_fts USING" in s))
        rows = self._conn.execute("SELECT c.id, c.start_line, c.text, c.symbol, c.path FROM chunks c")
        self._conn.executemany(_FTS_INSERT, (_fts_row(*row) for row in rows))
        self._conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('lexicon', ?)", (LEXICON_VERSION,))

    def _check_health(self) -> bool:
        """False for an empty database (no tables yet); CceError when it is damaged."""
        try:
            with self._lock:
                self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.db_path, exc) from None
        if tables and not {"meta", "files", "chunks", "chunks_fts"} <= tables:
            raise _damaged(self.db_path, ValueError("tables are missing"))
        return bool(tables)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # ---- metadata ------------------------------------------------------------------------------

    def _meta_value(self, key: str) -> str | None:
        try:
            with self._lock:
                row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise
        return row[0] if row else None

    def meta(self) -> dict[str, str]:
        with self._lock:
            return dict(self._conn.execute("SELECT key, value FROM meta").fetchall())

    def check_model(self, model_id: str) -> None:
        """Refuse to search vectors made by another model or format."""
        fmt, built_with = self._meta_value("format"), self._meta_value("model_id")
        if fmt != FORMAT_VERSION:
            raise CceError(
                f"the index at {self.directory} has format {fmt}, this cce reads format {FORMAT_VERSION}; "
                "run `cce index --full` to rebuild it"
            )
        if built_with != model_id:
            raise CceError(
                f"the index was built with model {built_with!r} but the model now is {model_id!r}; "
                "run `cce index --full` to rebuild it"
            )

    def generation(self) -> int:
        return int(self._meta_value("generation") or 0)

    # ---- reads ---------------------------------------------------------------------------------

    def query(self, sql: str, params: Iterable = ()) -> list[tuple]:
        """A read on the shared connection; raises CceError when the database is damaged."""
        try:
            with self._lock:
                return self._conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.db_path, exc) from None

    def files(self) -> dict[str, FileRecord]:
        rows = self.query("SELECT path, hash, size, mtime_ns FROM files")
        return {r[0]: FileRecord(*r) for r in rows}

    def skipped_files(self) -> dict[str, FileRecord]:
        """Files read and refused (binary, secret, ...): hash holds the reason."""
        rows = self.query("SELECT path, reason, size, mtime_ns FROM skips")
        return {r[0]: FileRecord(*r) for r in rows}

    def _rows_where_in(self, select: str, column: str, values: Iterable) -> list[tuple]:
        """`select ... WHERE column IN (values)`, in slices that stay under SQLite's variable limit."""
        wanted = list(values)
        rows: list[tuple] = []
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            rows += self.query(f"{select} WHERE {column} IN ({','.join('?' * len(part))})", part)
        return rows

    def chunks_by_ids(self, ids: Iterable[int]) -> dict[int, StoredChunk]:
        select = "SELECT id, path, start_line, end_line, symbol, kind, lang, text FROM chunks"
        return {r[0]: StoredChunk(*r) for r in self._rows_where_in(select, "id", ids)}

    def file_heads(self, paths: Iterable[str], chars: int = 600) -> dict[str, str]:
        """The first `chars` characters of each of these files (from the chunk at line 1)."""
        select = f"SELECT path, substr(text, 1, {int(chars)}) FROM (SELECT path, text FROM chunks WHERE start_line = 1)"
        return dict(self._rows_where_in(select, "path", paths))

    def vectors_by_hash(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors of chunks with these content hashes: reused instead of embedding again."""
        rows = self._rows_where_in("SELECT hash, vector FROM chunks", "hash", hashes)
        return {h: np.frombuffer(v, dtype=np.float16) for h, v in rows}

    def counts(self) -> dict[str, int]:
        files, chunks = self.query("SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM chunks)")[0]
        return {"files": files, "chunks": chunks}

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.directory.iterdir() if p.is_file())

    # ---- writes --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[Writer]:
        """One transaction that bumps the generation; rolled back on any error."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                gen = int(self._conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0]) + 1
                self._conn.execute("UPDATE meta SET value = ? WHERE key = 'generation'", (str(gen),))
                yield Writer(self._conn, gen)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

def ensure_store_dir(directory: Path) -> None:
    """Create the store folder, private to the user (0700)."""
    old_umask = os.umask(0o077)  # the parents cce creates (CCE_HOME, projects/) are private too
    try:
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
    except OSError as exc:
        raise CceError(
            f"cannot create the index folder {directory}: {exc.strerror or exc}; "
            "set CCE_HOME to a folder cce may write to"
        ) from None
    finally:
        os.umask(old_umask)


@contextlib.contextmanager
def writer_lock(
    directory: Path, on_wait: Callable[[str], None] | None = None, wait: bool = True
) -> Iterator[bool]:
    """Hold a store's cross-process writer lock (flock); waits, saying so, when another holds it.
    With wait=False it gives False at once instead of waiting (and holds nothing)."""
    ensure_store_dir(directory)
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            if not wait:
                yield False
                return
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            if on_wait:
                on_wait(f"cce: another cce process (pid {holder}) is writing this index; waiting for it")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield True
    finally:
        os.close(fd)  # closing releases the flock


def lock_holder(directory: Path) -> int | None:
    """The pid of the process writing this store now (-1 when unknown), or None."""
    try:
        fd = os.open(directory / LOCK_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return None
    except OSError:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        return int(text) if text.isdigit() else -1
    finally:
        os.close(fd)


class _Incompatible(Exception):
    pass


class NoIndexError(CceError):
    """There is no index (yet) for this project."""


class Writer:
    """Writes inside one transaction of generation `gen`."""

    def __init__(self, conn: sqlite3.Connection, gen: int) -> None:
        self._conn = conn
        self.gen = gen

    def replace_file(self, record: FileRecord, lang: str, redactions: int, chunks: list[NewChunk]) -> None:
        """Make the store hold exactly `chunks` for this file; unchanged chunks are left alone."""
        rows = self._conn.execute("SELECT id, hash, lang FROM chunks WHERE path = ?", (record.path,))
        old = {cid: (digest, stored_lang) for cid, digest, stored_lang in rows}
        new_ids = {c.id for c in chunks}
        self._delete_chunks(set(old) - new_ids)
        for c in chunks:
            # Same place and source but another hash: the chunker named it anew (symbol, kind); or
            # another language, which the hash leaves out (a `.pl` file found to be Prolog, not Perl).
            if old.get(c.id) == (c.hash, c.lang):
                continue
            vector = np.asarray(c.vector, dtype=np.float16).tobytes()
            self._conn.execute(
                "INSERT OR REPLACE INTO chunks(id, path, start_line, end_line, symbol, kind, lang, text, hash, gen,"
                " vector) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (c.id, record.path, c.start, c.end, c.symbol, c.kind, c.lang, c.text, c.hash, self.gen, vector),
            )
            self._conn.execute("DELETE FROM chunks_fts WHERE rowid = ?", (c.id,))
            self._conn.execute(_FTS_INSERT, _fts_row(c.id, c.start, c.text, c.symbol, record.path))
        self._conn.execute(
            "INSERT OR REPLACE INTO files(path, hash, size, mtime_ns, lang, redactions) VALUES (?,?,?,?,?,?)",
            (record.path, record.hash, record.size, record.mtime_ns, lang, redactions),
        )
        self._conn.execute("DELETE FROM skips WHERE path = ?", (record.path,))

    def touch_file(self, record: FileRecord) -> None:
        """Same content, new stat: remember the stat so the next run skips reading it."""
        self._conn.execute(
            "UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?", (record.size, record.mtime_ns, record.path)
        )

    def remove_file(self, path: str) -> None:
        ids = {r[0] for r in self._conn.execute("SELECT id FROM chunks WHERE path = ?", (path,))}
        self._delete_chunks(ids)
        self._conn.execute("DELETE FROM files WHERE path = ?", (path,))
        self._conn.execute("DELETE FROM skips WHERE path = ?", (path,))

    def set_skip(self, path: str, reason: str, size: int, mtime_ns: int) -> None:
        """Remember why a file is not indexed (and its stat, so an unchanged skip is not re-read)."""
        self.remove_file(path)
        self._conn.execute(
            "INSERT OR REPLACE INTO skips(path, reason, size, mtime_ns) VALUES (?, ?, ?, ?)",
            (path, reason, size, mtime_ns),
        )

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def _delete_chunks(self, ids: set[int]) -> None:
        for cid in ids:
            self._conn.execute("DELETE FROM chunks WHERE id = ?", (cid,))
            self._conn.execute("DELETE FROM chunks_fts WHERE rowid = ?", (cid,))
            self._conn.execute("INSERT OR REPLACE INTO removed(id, gen) VALUES (?, ?)", (cid, self.gen))

    def prune_tombstones(self) -> None:
        (count,) = self._conn.execute("SELECT count(*) FROM removed").fetchone()
        if count <= MAX_TOMBSTONES:
            return
        (cut,) = self._conn.execute(
            "SELECT gen FROM removed ORDER BY gen DESC LIMIT 1 OFFSET ?", (MAX_TOMBSTONES // 2,)
        ).fetchone()
        self._conn.execute("DELETE FROM removed WHERE gen <= ?", (cut,))
        self.set_meta("removed_floor", str(cut))


def _connect(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a crash loses at most the last commit
    except sqlite3.DatabaseError as exc:
        raise _damaged(path, exc) from None
    return conn


def _remove_store_files(directory: Path) -> None:
    for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", VECTORS_NAME, STAMP_NAME):
        with contextlib.suppress(FileNotFoundError):
            (directory / name).unlink()


def remove_store(directory: Path) -> bool:
    """Delete a project's store; False when there was none."""
    if not directory.exists():
        return False
    shutil.rmtree(directory)
    return True


class VectorIndex:
    """An in-memory usearch index kept equal to the store's chunks at some generation."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.dim = 0  # from the store's meta: known once the first vectors are written
        self.generation = -1
        self._index = None
        self._removed_since_build = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return 0 if self._index is None else len(self._index)

    def sync(self) -> None:
        """Bring the index up to the store's current generation (cheap when nothing changed)."""
        with self._lock:
            target = self.store.generation()
            if target == self.generation and self._index is not None:
                return
            if not self.dim:
                self.dim = int(self.store.meta().get("dim", 0))
                if not self.dim:
                    return  # nothing embedded yet
            if self._index is None:
                self._load_or_build()
            floor = int(self.store.meta().get("removed_floor", 0))
            if self.generation < floor:
                self._build()
            self._apply_delta(since=self.generation)

    def _load_or_build(self) -> None:
        stamp_path = self.store.directory / STAMP_NAME
        vectors_path = self.store.directory / VECTORS_NAME
        try:
            stamp = json.loads(stamp_path.read_text())
            if int(stamp["generation"]) > self.store.generation():
                raise ValueError("usearch file is newer than the database")  # the database was replaced
            index = _new_usearch(self.dim)
            index.load(str(vectors_path))
            if index.ndim != self.dim or len(index) != stamp["count"]:
                raise ValueError("usearch file does not match its stamp")
            self._index, self.generation = index, int(stamp["generation"])
            self._removed_since_build = 0
        except (OSError, ValueError, TypeError, KeyError, RuntimeError, json.JSONDecodeError):
            self._build()  # missing, truncated or stale beyond repair: SQLite has everything

    def _build(self) -> None:
        index = _new_usearch(self.dim)
        gen = self.store.generation()
        for ids, vectors in self._vector_batches("SELECT id, vector FROM chunks WHERE gen <= ?", (gen,)):
            index.add(ids, vectors)
        self._index, self.generation, self._removed_since_build = index, gen, 0

    def _apply_delta(self, since: int) -> None:
        target = self.store.generation()
        removed = [r[0] for r in self.store.query("SELECT id FROM removed WHERE gen > ?", (since,))]
        added = list(self._vector_batches("SELECT id, vector FROM chunks WHERE gen > ?", (since,)))
        stale = np.array(removed + [int(i) for ids, _ in added for i in ids], dtype=np.uint64)
        if len(stale):
            # Remove first: an id may come back (a file reverted); adding an existing key would fail.
            self._removed_since_build += int(self._index.remove(stale))
        for ids, vectors in added:
            self._index.add(ids, vectors)
        self.generation = max(target, since)

    def _vector_batches(self, sql: str, params: tuple) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        rows = self.store.query(sql, params)
        for start in range(0, len(rows), 4096):
            part = rows[start : start + 4096]
            ids = np.fromiter((r[0] for r in part), dtype=np.uint64, count=len(part))
            vectors = np.frombuffer(b"".join(r[1] for r in part), dtype=np.float16).reshape(len(part), self.dim)
            yield ids, vectors.astype(np.float32)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) best first."""
        with self._lock:
            if self._index is None or len(self._index) == 0 or k <= 0:
                return []
            k = min(k, len(self._index))
            # Exact search is as fast as HNSW at these sizes and never misses a neighbour.
            matches = self._index.search(vector.astype(np.float32), k, exact=len(self._index) <= 50_000)
            return [(int(key), 1.0 - float(dist)) for key, dist in zip(matches.keys, matches.distances, strict=True)]

    def save(self) -> None:
        """Write the index as the store's usearch cache (temp + rename), stamped with its generation."""
        with self._lock:
            if self._index is None:
                return
            if self._removed_since_build > max(1000, len(self._index) // 4):
                self._build()  # removed slots stay in the file until a rebuild
            directory = self.store.directory
            tmp = directory / (VECTORS_NAME + ".tmp")
            self._index.save(str(tmp))
            os.chmod(tmp, 0o600)
            os.replace(tmp, directory / VECTORS_NAME)
            stamp = {"generation": self.generation, "count": len(self._index), "saved_at": time.time()}
            tmp_stamp = directory / (STAMP_NAME + ".tmp")
            fd = os.open(tmp_stamp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(json.dumps(stamp))
            os.replace(tmp_stamp, directory / STAMP_NAME)


def _new_usearch(dim: int):
    # onnxruntime must be loaded before usearch: importing it after usearch segfaults the process
    # (usearch 2.26 + onnxruntime 1.32, seen here). Both are imported here, lazily: `cce status` and
    # `cce clear` need neither.
    import onnxruntime  # noqa: F401
    from usearch.index import Index

    return Index(ndim=dim, metric="cos", dtype="f16")
