"""Robustness: SIGKILL at any moment, damaged or foreign stores, a hostile corpus, edge inputs, load.

Every scenario runs the real CLI or the real server (tiny model) and then reads the store's SQLite
directly to check it is whole: the files and chunks of a fresh index, nothing orphaned or doubled.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession

from cce.chunk import CHUNKER_VERSION
from cce.store import LEXICON_VERSION, lock_holder, writer_lock
from tests.helpers import cce_env, make_project, run_cce, server_pids, start_cce
from tests.mcp_client import PROBE, status, wait_ready, wait_until, with_server

# ----- helpers ------------------------------------------------------------------------------------


def store_dir(env: dict[str, str], project: Path) -> Path:
    from cce.store import store_dir_for

    return store_dir_for(Path(env["CCE_HOME"]), project)


def snapshot(store: Path) -> dict:
    """The store's content as a fresh index would have it, after checking it is consistent."""
    conn = sqlite3.connect(store / "index.sqlite")
    try:
        files = dict(conn.execute("SELECT path, hash FROM files"))
        chunks = {row[0]: row[1:] for row in conn.execute("SELECT id, path, start_line, end_line, text FROM chunks")}
        fts = [r[0] for r in conn.execute("SELECT rowid FROM chunks_fts")]
        skips = dict(conn.execute("SELECT path, reason FROM skips"))
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert sorted(fts) == sorted(chunks), "FTS rows differ from chunk rows"
    orphans = {c[0] for c in chunks.values()} - set(files)
    assert not orphans, f"chunks without a file: {sorted(orphans)[:5]}"
    places = [(c[0], c[1], c[3]) for c in chunks.values()]
    assert len(places) == len(set(places)), "duplicate chunks"
    assert not set(skips) & set(files), "a path both indexed and skipped"
    return {"files": files, "chunks": chunks, "skips": skips}


def index_ok(project: Path, env: dict[str, str], *extra: str) -> dict:
    result = run_cce("index", str(project), "--json", *extra, env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


def writer_active(store: Path) -> bool:
    """Whether some process holds the store's writer lock now."""
    return lock_holder(store) is not None


@pytest.fixture
def env(tmp_path, tiny_model_dir):
    return cce_env(tmp_path, tiny_model_dir, CCE_DEBOUNCE_MS="100")


# ----- crash safety -------------------------------------------------------------------------------


def _versions(n: int) -> tuple[dict[str, str], dict[str, str]]:
    """Two versions of a project: B changes a third of A's files, deletes a sixth, adds new ones."""

    def module(i: int, variant: str) -> str:
        return "\n\n".join(
            f"def handler_{i}_{j}_{variant}(request, limit):\n"
            f"    '''Handle request {i} step {j} ({variant}).'''\n"
            f"    items = [x * {j} for x in range(limit)]\n"
            f"    return sum(items) + {i}\n"
            for j in range(6)
        )

    a = {f"pkg{i % 12}/mod{i}.py": module(i, "a") for i in range(n)}
    b = {p: text for i, (p, text) in enumerate(a.items()) if i % 6 != 5}
    for i in range(0, n, 3):
        b.pop(f"pkg{i % 12}/mod{i}.py", None)
        b[f"pkg{i % 12}/mod{i}.py"] = module(i, "b")
    b.update({f"extra/new{i}.py": module(1000 + i, "b") for i in range(n // 8)})
    return a, b


def _switch(project: Path, files: dict[str, str]) -> None:
    for path in list(project.rglob("*.py")):
        rel = path.relative_to(project).as_posix()
        if rel not in files:
            path.unlink()
    for rel, text in files.items():
        path = project / rel
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)


def test_sigkill_at_20_random_points_never_damages_the_store(tmp_path, tiny_model_dir):
    """Kill `cce index` at random moments (fresh store, incremental update, --full); after each kill
    `cce status` works, the next `cce index` completes and the store equals a fresh index."""
    version_a, version_b = _versions(180)
    versions = {"a": version_a, "b": version_b}
    project = tmp_path / "proj"
    project.mkdir()
    env = cce_env(tmp_path, tiny_model_dir)

    # The reference: a fresh full index of each version, in a store of its own.
    reference = {}
    durations = []
    for name, files in versions.items():
        _switch(project, files)
        ref_env = {**env, "CCE_HOME": str(tmp_path / f"ref-{name}")}
        started = time.monotonic()
        index_ok(project, ref_env)
        durations.append(time.monotonic() - started)
        reference[name] = snapshot(store_dir(ref_env, project))
    longest = max(durations)

    store = store_dir(env, project)
    rng = random.Random(20240611)
    interrupted = 0
    for attempt in range(20):
        name = "ab"[attempt % 2]
        _switch(project, versions[name])
        extra = []
        if attempt % 5 == 0 and store.exists():
            subprocess.run(["rm", "-rf", str(store)], check=True)  # from nothing
        elif attempt % 5 == 3:
            extra = ["--full"]
        delay = rng.uniform(0.0, longest)
        proc = start_cce(
            "index", str(project), "--quiet", *extra, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.kill()
            interrupted += 1
        proc.wait(timeout=30)
        assert b"Traceback" not in proc.stderr.read()
        proc.stderr.close()

        status = run_cce("status", "--json", env=env, cwd=project)
        assert status.returncode == 0, (attempt, delay, status.stderr)
        json.loads(status.stdout)

        index_ok(project, env)
        got = snapshot(store)
        want = reference[name]
        assert got["files"] == want["files"], (attempt, delay)
        assert got["chunks"] == want["chunks"], (attempt, delay)

        search = run_cce("search", f"handler request step {attempt}", "--json", "-k", "3", env=env, cwd=project)
        assert search.returncode == 0, search.stderr
        hits = json.loads(search.stdout)["hits"]
        assert hits and all(h["id"] in got["chunks"] for h in hits)
    print(f"crash test: {interrupted} of 20 index runs killed mid-way, all recovered to a fresh index's state")
    assert interrupted >= 10, f"only {interrupted} of 20 runs were killed before they finished"


def test_sigkill_of_the_server_while_it_indexes(tmp_path, tiny_model_dir):
    version_a, _ = _versions(150)
    project = make_project(tmp_path / "proj", version_a)
    env = cce_env(tmp_path, tiny_model_dir)
    ref_env = {**env, "CCE_HOME": str(tmp_path / "ref")}
    index_ok(project, ref_env)
    want = snapshot(store_dir(ref_env, project))
    store = store_dir(env, project)
    rng = random.Random(7)
    for _ in range(2):
        subprocess.run(["rm", "-rf", str(store)], check=True)
        quiet = subprocess.DEVNULL
        proc = start_cce(
            "serve", "--project-dir", str(project), env=env, stdin=subprocess.PIPE, stdout=quiet, stderr=quiet
        )
        try:
            deadline = time.monotonic() + 30
            while not writer_active(store):  # the server's catch-up index has begun
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.8))
            assert writer_active(store), "the server finished indexing before the kill"
        finally:
            proc.kill()
            proc.wait(timeout=10)
            proc.stdin.close()
        assert run_cce("status", "--json", env=env, cwd=project).returncode == 0
        index_ok(project, env)
        got = snapshot(store)
        assert (got["files"], got["chunks"]) == (want["files"], want["chunks"])


# ----- damaged and foreign stores -----------------------------------------------------------------


@pytest.mark.parametrize("damage", ["missing", "truncated", "garbage", "stamp-missing", "db-restored"])
def test_damaged_vector_file_is_rebuilt_from_sqlite(tmp_path, env, damage):
    project = make_project(tmp_path / "proj")
    index_ok(project, env)
    store = store_dir(env, project)
    if damage == "db-restored":
        # The database is put back to an older copy: the vector file (of a later generation, other
        # chunks) must not be trusted.
        conn = sqlite3.connect(store / "index.sqlite")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        saved = (store / "index.sqlite").read_bytes()
        for path in project.rglob("*.*"):
            path.write_text(path.read_text().replace("e", "E") + "\n# rewritten\n")
        index_ok(project, env)
        for name in ("index.sqlite-wal", "index.sqlite-shm"):
            (store / name).unlink(missing_ok=True)
        (store / "index.sqlite").write_bytes(saved)
    vectors = store / "vectors.usearch"
    stamp = store / "vectors.json"
    if damage == "missing":
        vectors.unlink()
    elif damage == "truncated":
        os.truncate(vectors, vectors.stat().st_size // 2)
    elif damage == "garbage":
        vectors.write_bytes(os.urandom(vectors.stat().st_size))
    elif damage == "stamp-missing":
        stamp.unlink()
    result = run_cce("search", "bearer token validate", "--mode", "vector", "--json", env=env, cwd=project)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)["hits"]
    assert hits, "vector search found nothing after the usearch file was damaged"
    assert {h["id"] for h in hits} <= set(snapshot(store)["chunks"])
    if damage == "db-restored":
        return
    # The next index run writes a sound file again.
    index_ok(project, env)
    stamp_data = json.loads(stamp.read_text())
    assert stamp_data["count"] == len(snapshot(store)["chunks"])


def test_empty_database_left_by_a_kill_reads_as_no_index(tmp_path, env):
    project = make_project(tmp_path / "proj")
    store = store_dir(env, project)
    store.mkdir(parents=True)
    sqlite3.connect(store / "index.sqlite").close()  # created, killed before the first commit
    status = run_cce("status", "--json", env=env, cwd=project)
    assert status.returncode == 0 and json.loads(status.stdout)["indexed"] is False
    search = run_cce("search", "token", env=env, cwd=project)
    assert search.returncode == 1 and "run `cce index` first" in search.stderr
    assert "Traceback" not in search.stderr
    assert index_ok(project, env)["files_indexed"] == 4


def _meta(store: Path) -> dict[str, str]:
    conn = sqlite3.connect(store / "index.sqlite")
    try:
        return dict(conn.execute("SELECT key, value FROM meta"))
    finally:
        conn.close()


def _set_meta(store: Path, key: str, value: str) -> None:
    conn = sqlite3.connect(store / "index.sqlite")
    with conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
    conn.close()


@pytest.mark.parametrize("format_version", ["0", "99"])
def test_store_of_another_format_is_refused_by_search_and_rebuilt_by_index(tmp_path, env, format_version):
    project = make_project(tmp_path / "proj")
    index_ok(project, env)
    store = store_dir(env, project)
    _set_meta(store, "format", format_version)
    result = run_cce("search", "token", env=env, cwd=project)
    assert result.returncode == 1
    assert f"format {format_version}" in result.stderr and "cce index --full" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    summary = index_ok(project, env)
    assert summary["files_indexed"] == 4  # rebuilt from scratch
    assert _meta(store)["format"] == "1"
    assert run_cce("search", "token", env=env, cwd=project).returncode == 0


def _as_left_by_cce_0_1(store: Path) -> None:
    """Make the store as cce 0.1 left it: FTS5's Porter tokenizer, no `lexicon` or `chunker` key."""
    conn = sqlite3.connect(store / "index.sqlite")
    with conn:
        conn.execute("DROP TABLE chunks_fts")
        conn.execute("CREATE VIRTUAL TABLE chunks_fts USING fts5(body, symbol, path, tokenize = 'porter unicode61')")
        conn.execute("INSERT INTO chunks_fts(rowid, body, symbol, path) SELECT id, text, symbol, path FROM chunks")
        conn.execute("DELETE FROM meta WHERE key IN ('lexicon', 'chunker')")
    conn.close()


def test_store_from_an_older_lexicon_gets_its_lexical_index_rebuilt_and_keeps_its_vectors(tmp_path, env):
    project = make_project(tmp_path / "proj")
    index_ok(project, env)
    store = store_dir(env, project)
    _as_left_by_cce_0_1(store)
    conn = sqlite3.connect(store / "index.sqlite")
    vectors = dict(conn.execute("SELECT id, vector FROM chunks"))
    conn.close()

    with writer_lock(store):  # a writer at work: search answers at once and leaves the update to it
        busy = run_cce("search", "hashed passwords", "--mode", "lexical", "--json", env=env, cwd=project)
    assert busy.returncode == 0, busy.stderr
    assert json.loads(busy.stdout)["hits"][0]["path"] == "app/auth.py"  # Porter still stems the query
    assert "lexicon" not in _meta(store)

    result = run_cce("search", "hashed passwords", "--mode", "lexical", "--json", env=env, cwd=project)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["hits"][0]["path"] == "app/auth.py"
    snapshot(store)  # one FTS row per chunk
    assert _meta(store)["lexicon"] == LEXICON_VERSION
    conn = sqlite3.connect(store / "index.sqlite")
    fts_sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'chunks_fts'").fetchone()[0]
    assert "porter" not in fts_sql
    assert dict(conn.execute("SELECT id, vector FROM chunks")) == vectors  # nothing embedded again
    assert conn.execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'hash'").fetchone()[0] > 0
    conn.close()


def test_a_server_on_a_store_from_an_older_cce_searches_it_and_brings_it_up_to_date(tmp_path, env):
    # The lexical index is rebuilt when the server opens the store; the catch-up re-chunks every file.
    project = make_project(tmp_path / "proj")
    index_ok(project, env)
    store = store_dir(env, project)
    _as_left_by_cce_0_1(store)

    async def scenario(session: ClientSession) -> None:
        with anyio.fail_after(30):
            result = await session.call_tool("context_search", {"query": "hashed passwords", "top_k": 3})
        assert not result.is_error and result.structured_content["hits"][0]["path"] == "app/auth.py"
        await wait_ready(session)
        meta = _meta(store)
        assert meta["lexicon"] == LEXICON_VERSION and meta["chunker"] == CHUNKER_VERSION

    with_server(project, env, scenario)


def test_chunks_of_an_older_chunker_are_remade_on_the_next_full_index_reusing_vectors(tmp_path, env):
    project = make_project(tmp_path / "proj")
    first = index_ok(project, env)
    store = store_dir(env, project)
    before = snapshot(store)
    conn = sqlite3.connect(store / "index.sqlite")
    with conn:  # as an older chunker left it: the same lines and source, but nameless
        cid = conn.execute("SELECT id FROM chunks WHERE symbol = 'hash_password'").fetchone()[0]
        conn.execute("UPDATE chunks SET symbol = NULL, kind = 'block', hash = 'old' WHERE id = ?", (cid,))
    conn.close()
    _set_meta(store, "chunker", "1")
    assert index_ok(project, env, "--path", "app")["files_indexed"] == 0  # a partial run leaves it
    summary = index_ok(project, env)
    assert summary["files_indexed"] == first["files_indexed"] and summary["chunks_embedded"] == 1
    assert summary["rechunked"] and not first["rechunked"]
    assert snapshot(store) == before
    conn = sqlite3.connect(store / "index.sqlite")
    renamed = conn.execute("SELECT symbol, kind FROM chunks WHERE id = ?", (cid,)).fetchone()
    conn.close()
    assert renamed == ("hash_password", "function")
    assert _meta(store)["chunker"] == CHUNKER_VERSION
    assert index_ok(project, env)["files_indexed"] == 0


def test_a_chunk_an_older_chunker_read_in_another_language_gets_its_language_back(tmp_path, env):
    # Its text, name and vector are the same, so only the language tells the rows apart.
    project = make_project(tmp_path / "proj")
    index_ok(project, env)
    store = store_dir(env, project)
    conn = sqlite3.connect(store / "index.sqlite")
    with conn:
        cid = conn.execute("SELECT id FROM chunks WHERE symbol = 'hash_password'").fetchone()[0]
        conn.execute("UPDATE chunks SET lang = 'perl' WHERE id = ?", (cid,))
    conn.close()
    _set_meta(store, "chunker", "1")
    summary = index_ok(project, env)
    assert summary["rechunked"] and summary["chunks_embedded"] == 0
    conn = sqlite3.connect(store / "index.sqlite")
    lang = conn.execute("SELECT lang FROM chunks WHERE id = ?", (cid,)).fetchone()[0]
    conn.close()
    assert lang == "python"


def test_store_of_another_model_is_refused_by_search_and_rebuilt_by_index(tmp_path, env):
    from tests.tinymodel import build_tiny_model

    project = make_project(tmp_path / "proj")
    index_ok(project, env)
    first_model = json.loads(run_cce("status", "--json", env=env, cwd=project).stdout)["model_id"]
    other = build_tiny_model(tmp_path / "other-model", token_type_ids=False)
    other_env = {**env, "CCE_MODEL_DIR": str(other)}
    result = run_cce("search", "token", env=other_env, cwd=project)
    assert result.returncode == 1
    assert "built with model" in result.stderr and "cce index --full" in result.stderr
    assert "Traceback" not in result.stderr
    summary = index_ok(project, other_env)
    assert summary["files_indexed"] == 4 and summary["chunks_embedded"] > 0
    status = json.loads(run_cce("status", "--json", env=other_env, cwd=project).stdout)
    assert status["model_id"].startswith("custom-") and status["model_id"] != first_model
    assert run_cce("search", "token", env=other_env, cwd=project).returncode == 0
    # and the first model is refused now
    assert "built with model" in run_cce("search", "token", env=env, cwd=project).stderr


def test_server_rebuilds_a_store_it_cannot_read(tmp_path, env):
    project = make_project(tmp_path / "proj")
    index_ok(project, env)
    store = store_dir(env, project)
    _set_meta(store, "format", "99")

    async def scenario(session: ClientSession) -> None:
        s = await wait_ready(session)
        assert s["files"] == 4 and s["last_error"] is None
        result = await session.call_tool("context_search", {"query": "bearer token"})
        assert not result.is_error and result.structured_content["hits"]

    with_server(project, env, scenario)


# ----- hostile corpus -----------------------------------------------------------------------------

SENTINEL_NAME = "SENTINEL-outside-7f3a9c.txt"
ODD_NAMES = ["with space.py", "quote'\"s.py", "new\nline.py", "ünïcödé_名前.py"]
DEEP_LEVELS = 100


def build_hostile(project: Path, outside: Path, with_races: bool) -> dict[str, int]:
    """Write the hostile tree; returns the skip counts an index run should report."""
    outside.mkdir(exist_ok=True)
    (outside / SENTINEL_NAME).write_text("sentinel_outside_the_project = 1\n")
    project.mkdir(exist_ok=True)
    (project / "sane.py").write_text("def ordinary_function(a, b):\n    return a + b\n")
    (project / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(256))
    (project / "blob.txt").write_bytes(b"header\x00\x01\x02 binary body")
    (project / "latin1.py").write_bytes(b"def caf\xe9_invalid_utf8():\n    return '\xff\xfe stray bytes'\n")
    with open(project / "huge.py", "wb") as f:
        f.truncate(100 * 1024 * 1024)  # sparse: 100 MB that takes no disk
    (project / "bundle.js").write_text("var a=1;" * 6250)  # one 50,000-character line
    os.symlink("loop_b", project / "loop_a")
    os.symlink("loop_a", project / "loop_b")
    os.symlink(outside, project / "link_out")
    (project / "unreadable.py").write_text("def never_seen():\n    pass\n")
    for i, name in enumerate(ODD_NAMES):
        (project / name).write_text(f"def odd_name_function_{i}():\n    return {i}\n")
    with open(os.path.join(os.fsencode(project), b"bad\xffname.py"), "wb") as f:
        f.write(b"def undecodable_name():\n    pass\n")
    deep = project.joinpath(*["d"] * DEEP_LEVELS)
    deep.mkdir(parents=True)
    (deep / "leaf.py").write_text("def deepest_leaf_function():\n    return 'leaf'\n")
    (project / "empty.py").write_text("")
    (project / "blank.py").write_text("   \n\n\t\t\n  \n")
    expected = {"binary": 2, "too-large": 1, "minified": 1, "symlink": 3, "unreadable": 1, "undecodable-name": 1}
    if with_races:
        (project / "vanishing.py").write_text("def gone_before_read():\n    pass\n")
        (project / "replaced.py").write_text("def swapped_for_a_link():\n    pass\n")
        expected["vanished"] = 1
        expected["symlink"] += 1
    return expected


def probe_env(env: dict[str, str], log: Path, **extra: str) -> dict[str, str]:
    return {**env, "CCE_PROBE_LOG": str(log), "CCE_PROBE_UNREADABLE": "unreadable", "CCE_PROBE_NO_NET": "1", **extra}


def run_probe(*args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, int]:
    """Run cce under the probe; returns the result and the child's peak RSS in KB."""
    proc = subprocess.Popen(
        [sys.executable, str(PROBE), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out, err = proc.communicate(timeout=120)
    _, _, usage = os.wait4(proc.pid, 0) if proc.returncode is None else (0, 0, None)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), usage.ru_maxrss if usage else 0


def test_hostile_corpus_with_the_cli(tmp_path, env):
    project, outside = tmp_path / "proj", tmp_path / "outside"
    expected = build_hostile(project, outside, with_races=True)
    log = tmp_path / "probe.log"
    races = os.pathsep.join(str(project / n) for n in ("vanishing.py", "replaced.py"))
    penv = probe_env(env, log, CCE_PROBE_VANISH=races, CCE_PROBE_LINK_TO=str(outside / SENTINEL_NAME))

    proc = subprocess.Popen(
        [sys.executable, str(PROBE), "index", str(project), "--json"],
        env=penv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, status_code, usage = os.wait4(proc.pid, 0)
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    proc.stdout.close()
    proc.stderr.close()
    assert os.waitstatus_to_exitcode(status_code) == 0, err
    peak_mb = usage.ru_maxrss / 1024
    print(f"hostile corpus: cce index peak RSS {peak_mb:.0f} MB")
    assert peak_mb < 400, f"peak RSS {peak_mb:.0f} MB"
    summary = json.loads(out)
    assert summary["skipped"] == expected
    assert "Traceback" not in err

    store = store_dir(env, project)
    snap = snapshot(store)
    deep_leaf = "/".join(["d"] * DEEP_LEVELS) + "/leaf.py"
    assert {"sane.py", "latin1.py", "empty.py", "blank.py", deep_leaf, *ODD_NAMES} == set(snap["files"])
    latin = [c for c in snap["chunks"].values() if c[0] == "latin1.py"]
    assert latin and "\ufffd" in latin[0][3]  # invalid UTF-8 decoded with replacement characters

    # Status counts the same skips (the vanished file is simply gone now).
    status = json.loads(run_cce("status", "--json", env=env, cwd=project).stdout)
    assert status["skipped"] == {k: v for k, v in expected.items() if k != "vanished"}
    assert status["changed_since"] == 0 and status["files"] == len(snap["files"])

    # A second run reads nothing again, remembers every skip, and is decoded the same way.
    again, _ = run_probe("index", str(project), "--json", env=probe_env(env, log))
    again_summary = json.loads(again.stdout)
    assert again_summary["files_indexed"] == 0 and again_summary["chunks_embedded"] == 0
    assert again_summary["skipped"] == status["skipped"]
    assert snapshot(store)["chunks"] == snap["chunks"]

    search = run_cce("search", "deepest_leaf_function", "--json", "--mode", "lexical", env=env, cwd=project)
    assert json.loads(search.stdout)["hits"][0]["path"] == deep_leaf
    search = run_cce("search", "odd_name_function_3", "--json", "--mode", "lexical", env=env, cwd=project)
    assert json.loads(search.stdout)["hits"][0]["path"] == "ünïcödé_名前.py"

    opened = log.read_text()
    assert SENTINEL_NAME not in opened, "a file outside the project was opened"
    assert "sentinel_outside_the_project" not in (store / "index.sqlite").read_bytes().decode("latin-1")


def _server_pid(project: Path) -> int:
    pids = server_pids(project)
    assert pids, "server process not found"
    return pids[0]


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_hostile_corpus_through_the_watcher(tmp_path, env):
    project, outside = make_project(tmp_path / "proj"), tmp_path / "outside"
    log = tmp_path / "probe.log"
    penv = probe_env(env, log)
    deep_leaf = "/".join(["d"] * DEEP_LEVELS) + "/leaf.py"
    seen: dict = {}

    async def scenario(session: ClientSession) -> None:
        await wait_ready(session)
        seen["expected"] = build_hostile(project, outside, with_races=False)

        async def indexed() -> bool:
            found = []
            for name in ("deepest_leaf_function", "odd_name_function_3", "caf"):
                result = await session.call_tool("find_symbol", {"name": name})
                found.append(bool(result.structured_content["matches"]))
            return all(found)

        await wait_until(indexed, timeout=30)
        found = (await session.call_tool("find_symbol", {"name": "deepest_leaf_function"})).structured_content
        assert found["matches"][0]["path"] == deep_leaf
        hits = (await session.call_tool("context_search", {"query": "odd name function"})).structured_content
        assert hits["hits"]
        full = await session.call_tool("reindex", {})
        assert not full.is_error, full.content
        seen["summary"] = full.structured_content["summary"]
        s = await status(session)
        assert s["last_error"] is None
        seen["peak_mb"] = _peak_rss_mb(_server_pid(project))

    with_server(project, penv, scenario, probe=True)
    print(f"hostile corpus: cce serve peak RSS {seen['peak_mb']:.0f} MB")
    assert seen["peak_mb"] < 400
    assert seen["summary"]["skipped"] == seen["expected"]
    # What the watcher built equals a fresh index of the same files.
    ref_env = {**env, "CCE_HOME": str(tmp_path / "ref")}
    result, _ = run_probe("index", str(project), "--json", env=probe_env(ref_env, tmp_path / "ref.log"))
    assert result.returncode == 0, result.stderr
    got, want = snapshot(store_dir(env, project)), snapshot(store_dir(ref_env, project))
    assert (got["files"], got["chunks"]) == (want["files"], want["chunks"])
    assert SENTINEL_NAME not in log.read_text()


# ----- settings and arguments ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "extra_env", "message"),
    [
        (["index"], {"CCE_THREADS": "0"}, "CCE_THREADS=0"),
        (["index"], {"CCE_THREADS": "-3"}, "CCE_THREADS"),
        (["index"], {"CCE_MAX_FILE_SIZE": "big"}, "CCE_MAX_FILE_SIZE=big"),
        (["index"], {"CCE_MAX_FILE_SIZE": "0"}, "CCE_MAX_FILE_SIZE"),
        (["index"], {"CCE_DEBOUNCE_MS": "-1"}, "CCE_DEBOUNCE_MS"),
        (["index"], {"CCE_DEBOUNCE_MS": "999999"}, "between 0 and 60000"),
        (["serve"], {"CCE_MODEL_KEEP_ALIVE": "soon"}, "CCE_MODEL_KEEP_ALIVE=soon"),
        (["index"], {"CCE_OFFLINE": "maybe"}, "CCE_OFFLINE=maybe"),
        (["index"], {"CCE_MODEL_DIR": "/no/such/model/folder"}, "is not a folder"),
        (["index"], {"CCE_MODEL_DIR": "{tmp}"}, "holds no .onnx"),
        (["index"], {"CCE_MODEL_DIR": ""}, "CCE_MODEL_DIR"),
        (["index"], {"CCE_HOME": ""}, "CCE_HOME"),
        (["index"], {"CCE_HOME": "{tmp}/a-file"}, "not a folder"),
        (["search", "x"], {"CCE_HOME": "{tmp}/a-file"}, "not a folder"),
        ([], {}, "required"),
        (["search"], {}, "required"),
        (["search", "x", "--top-k", "many"], {}, "invalid int"),
        (["search", "x", "--frobnicate"], {}, "unrecognized arguments"),
        (["status", "--bogus"], {}, "unrecognized arguments"),
        (["model", "frob"], {}, "invalid choice"),
        (["serve", "extra"], {}, "unrecognized arguments"),
    ],
)
def test_every_bad_setting_or_argument_is_one_line_with_exit_2(tmp_path, env, args, extra_env, message):
    (tmp_path / "a-file").write_text("not a folder\n")
    project = make_project(tmp_path / "proj")
    extra = {k: v.replace("{tmp}", str(tmp_path)) for k, v in extra_env.items()}
    result = run_cce(*args, env={**env, **extra}, cwd=project)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not store_dir(env, project).exists()


def test_an_unwritable_home_is_one_line(tmp_path, env):
    project = make_project(tmp_path / "proj")
    home = tmp_path / "home-below-a-file"
    (tmp_path / "blocker").write_text("x")
    env = {**env, "CCE_HOME": str(tmp_path / "blocker" / "sub")}  # its parent is a file
    result = run_cce("index", str(project), env=env)
    assert result.returncode in (1, 2) and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "CCE_HOME" in result.stderr
    assert not home.exists()


# ----- load ---------------------------------------------------------------------------------------


def test_200_concurrent_searches_while_the_watcher_reindexes_500_files(tmp_path, env):
    def module(i: int, variant: str) -> str:
        # Several functions a file, so the reindex lasts long enough on a fast machine for the
        # overlap below to be a property of cce, not of the timing.
        handler = f"def load_handler_{i}_{variant}(request):\n    '''Serve load request {i}.'''\n    return {i}\n"
        helpers = "".join(
            f"\n\ndef load_step_{i}_{k}_{variant}(request, limit={k}):\n"
            f"    '''Step {k} of load request {i}: check the limit and count the retries.'''\n"
            + "".join(f"    retries_{n} = request.get('retry_{n}', {n}) + limit\n" for n in range(8))
            + "    return limit\n"
            for k in range(3)
        )
        return handler + helpers

    project = make_project(tmp_path / "proj", {f"load/m{i:03d}.py": module(i, "old") for i in range(500)})
    index_ok(project, env)
    store = store_dir(env, project)
    outcome: dict = {}

    async def scenario(session: ClientSession) -> None:
        await wait_ready(session)
        for i in range(500):  # the burst
            (project / f"load/m{i:03d}.py").write_text(module(i, "new"))
        results: list = []
        overlapping = 0

        async def reindexing() -> bool:
            return writer_active(store)

        await wait_until(reindexing, timeout=10)  # the watcher's run has begun

        async def one(n: int) -> None:
            nonlocal overlapping
            result = await session.call_tool("context_search", {"query": f"load handler request {n}", "top_k": 5})
            overlapping += writer_active(store)
            results.append(result)

        started = time.monotonic()
        async with anyio.create_task_group() as tg:
            for n in range(200):
                tg.start_soon(one, n)
        outcome["seconds"] = time.monotonic() - started
        outcome["overlapping"] = overlapping
        assert overlapping >= 20, f"only {overlapping} answers came while the watcher was indexing"
        assert len(results) == 200
        errors = [r.content[0].text for r in results if r.is_error]
        assert not errors, errors[:3]
        assert all(r.structured_content["hits"] for r in results)

        async def caught_up() -> bool:
            s = await status(session)
            if s["watcher"]["pending"] or s["last_reindex"] is None:
                return False
            conn = sqlite3.connect(store / "index.sqlite")
            try:
                old = conn.execute("SELECT count(*) FROM chunks WHERE text LIKE '%_old(request%'").fetchone()[0]
                new = conn.execute("SELECT count(*) FROM chunks WHERE text LIKE '%load_handler_%_new(%'").fetchone()[0]
            finally:
                conn.close()
            return old == 0 and new == 500

        await wait_until(caught_up, timeout=60)
        outcome["during_reindex"] = sum(
            1 for r in results if any("_old" in h["code"] for h in r.structured_content["hits"])
        )

    with_server(project, env, scenario)
    print(
        f"load: 200 concurrent searches answered in {outcome['seconds']:.1f} s, "
        f"{outcome['overlapping']} answered during the reindex, {outcome['during_reindex']} saw pre-burst code"
    )
    ref_env = {**env, "CCE_HOME": str(tmp_path / "ref")}
    index_ok(project, ref_env)
    got, want = snapshot(store), snapshot(store_dir(ref_env, project))
    assert (got["files"], got["chunks"]) == (want["files"], want["chunks"])
