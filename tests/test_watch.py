"""Watcher behaviour on real inotify and real temp trees (debounce 80 ms)."""

from __future__ import annotations

import errno
import hashlib
import mmap
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import inotify_simple
import pytest

import cce.watch
from cce.errors import CceError
from cce.files import IgnoreRules
from cce.watch import Watcher

DEBOUNCE_MS = 80
QUIET_S = DEBOUNCE_MS / 1000 * 4  # long enough for any batch to have been flushed


class RecordingRules(IgnoreRules):
    """The real rules, remembering which directories were invalidated."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.invalidated: list[str] = []

    def invalidate(self, rel_dir: str) -> None:
        self.invalidated.append(rel_dir)
        super().invalidate(rel_dir)


class Recorder:
    """on_changes target: keeps every batch, lets a test wait for one."""

    def __init__(self) -> None:
        self.batches: list[tuple[set[str], bool]] = []
        self.cond = threading.Condition()

    def __call__(self, paths: set[str], full_rescan: bool) -> None:
        with self.cond:
            self.batches.append((set(paths), full_rescan))
            self.cond.notify_all()

    def paths(self) -> set[str]:
        with self.cond:
            return set().union(*(p for p, _ in self.batches))

    def wait_for(self, pred: Callable[[], bool], timeout: float = 3.0) -> None:
        with self.cond:
            assert self.cond.wait_for(pred, timeout), f"timed out; batches: {self.batches}"

    def wait_paths(self, *paths: str) -> None:
        self.wait_for(lambda: set(paths) <= set().union(*(p for p, _ in self.batches)))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "mod.py").write_text("x = 1\n")
    (root / "src" / "main.py").write_text("print(1)\n")
    (root / "README.md").write_text("hi\n")
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    return path


@pytest.fixture
def start(tree: Path) -> Iterator[Callable[..., tuple[Watcher, Recorder]]]:
    watchers: list[Watcher] = []

    def _start(on_changes: Callable[[set[str], bool], None] | None = None, **kw: object):
        rec = Recorder()
        w = Watcher(tree, RecordingRules(tree), on_changes or rec, debounce_ms=DEBOUNCE_MS, **kw)
        w.start()
        watchers.append(w)
        return w, rec

    yield _start
    for w in watchers:
        w.stop()


def test_mask_never_asks_for_read_or_metadata_events() -> None:
    F = inotify_simple.flags
    for flag in (F.OPEN, F.ACCESS, F.CLOSE_NOWRITE, F.MODIFY, F.ATTRIB):
        assert not cce.watch.WATCH_MASK & flag, flag.name


def test_reading_files_causes_no_events_at_all(tree: Path, start) -> None:
    files = []
    for d in range(20):
        sub = tree / f"d{d}"
        sub.mkdir()
        for f in range(15):
            path = sub / f"f{f}.py"
            path.write_text(f"value = {d * f}\n" * 50)
            files.append(path)
    w, rec = start()
    assert w.stats().watches == 3 + 20

    for _ in range(5):
        for path in files:
            with open(path) as fh:
                fh.read()
            with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                hashlib.sha1(mm[:]).hexdigest()
            fd = os.open(path, os.O_RDONLY)
            os.read(fd, 100)
            os.close(fd)
            os.stat(path)
            os.access(path, os.R_OK)
        for dirpath, _dirs, names in os.walk(tree):
            os.listdir(dirpath)
            for name in names:
                os.lstat(os.path.join(dirpath, name))
        # A sibling process hashing every file: the loop the old watcher fell into.
        subprocess.run(["sha1sum", *map(str, files)], check=True, capture_output=True)
        subprocess.run(["cat", *map(str, files)], check=True, capture_output=True)

    time.sleep(QUIET_S)
    stats = w.stats()
    assert (stats.events_seen, stats.events_ignored, stats.batches, stats.pending) == (0, 0, 0, 0)
    assert rec.batches == []

    # Positive control: the watcher was alive all along.
    (tree / "d3" / "f1.py").write_text("changed\n")
    rec.wait_paths("d3/f1.py")


def test_write_in_place(tree: Path, start) -> None:
    w, rec = start()
    with open(tree / "src" / "main.py", "r+") as fh:
        fh.write("print(2)")
    rec.wait_paths("src/main.py")
    time.sleep(QUIET_S)
    assert rec.batches == [({"src/main.py"}, False)]


def test_create_touch_and_hardlink(tree: Path, outside: Path, start) -> None:
    w, rec = start()
    (tree / "src" / "new.py").write_text("y = 2\n")
    (tree / "src" / "touched").touch()
    (outside / "orig.txt").write_text("linked\n")
    os.link(outside / "orig.txt", tree / "src" / "link.txt")  # CREATE only, no CLOSE_WRITE
    rec.wait_paths("src/new.py", "src/touched", "src/link.txt")


def test_delete_file(tree: Path, start) -> None:
    w, rec = start()
    (tree / "README.md").unlink()
    rec.wait_paths("README.md")


def test_rename_file_reports_both_paths(tree: Path, start) -> None:
    w, rec = start()
    (tree / "src" / "main.py").rename(tree / "src" / "app.py")
    rec.wait_paths("src/main.py", "src/app.py")


def test_move_file_in_from_outside(tree: Path, outside: Path, start) -> None:
    w, rec = start()
    (outside / "a.py").write_text("a = 1\n")
    time.sleep(QUIET_S)
    os.rename(outside / "a.py", tree / "src" / "a.py")  # MOVED_TO only
    rec.wait_paths("src/a.py")


@pytest.mark.parametrize("style", ["temp_then_rename", "backup_then_write"])
def test_editor_save_coalesces_into_one_batch(tree: Path, start, style: str) -> None:
    w, rec = start()
    target = tree / "src" / "main.py"
    if style == "temp_then_rename":
        tmp = tree / "src" / ".main.py.tmp"
        tmp.write_text("print(2)\n")
        os.replace(tmp, target)
    else:  # vim with backupcopy=no: rename away, write anew, drop the backup
        backup = tree / "src" / "main.py~"
        os.rename(target, backup)
        target.write_text("print(2)\n")
        backup.unlink()
    rec.wait_paths("src/main.py")
    time.sleep(QUIET_S)
    assert len(rec.batches) == 1
    paths, full = rec.batches[0]
    assert "src/main.py" in paths and not full


def test_mkdir_p_then_file_is_found_by_the_scan(tree: Path, start) -> None:
    w, rec = start()
    before = w.stats().watches
    deep = tree / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (deep / "f.py").write_text("f = 1\n")
    rec.wait_paths("a", "a/b/c/f.py")
    assert w.stats().watches == before + 3
    (deep / "g.py").write_text("g = 1\n")  # the new watches work
    rec.wait_paths("a/b/c/g.py")


def test_directory_moved_out_stops_reporting(tree: Path, outside: Path, start) -> None:
    w, rec = start()
    before = w.stats().watches
    shutil.move(tree / "src" / "pkg", outside / "pkg")
    rec.wait_paths("src/pkg")
    assert w.stats().watches == before - 1
    time.sleep(QUIET_S)
    n = len(rec.batches)
    (outside / "pkg" / "mod.py").write_text("changed outside\n")
    (outside / "pkg" / "new.py").write_text("new outside\n")
    time.sleep(QUIET_S)
    assert len(rec.batches) == n
    assert not any(p.startswith("src/pkg/") for p in rec.paths())


def test_directory_moved_in_reports_its_files(tree: Path, outside: Path, start) -> None:
    (outside / "lib" / "deep").mkdir(parents=True)
    (outside / "lib" / "a.py").write_text("a\n")
    (outside / "lib" / "deep" / "b.py").write_text("b\n")
    w, rec = start()
    before = w.stats().watches
    os.rename(outside / "lib", tree / "src" / "lib")
    rec.wait_paths("src/lib", "src/lib/a.py", "src/lib/deep/b.py")
    assert w.stats().watches == before + 2
    (tree / "src" / "lib" / "deep" / "c.py").write_text("c\n")
    rec.wait_paths("src/lib/deep/c.py")


def test_directory_renamed_within_tree(tree: Path, start) -> None:
    (tree / "src" / "pkg" / "sub").mkdir()
    w, rec = start()
    before = w.stats().watches
    os.rename(tree / "src", tree / "code")
    (tree / "code" / "pkg" / "sub" / "x.py").write_text("x\n")
    rec.wait_paths("src", "code", "code/pkg/mod.py", "code/pkg/sub/x.py")
    assert w.stats().watches == before
    assert not any(p.startswith("src/") for p in rec.paths())
    (tree / "code" / "pkg" / "sub" / "y.py").write_text("y\n")
    rec.wait_paths("code/pkg/sub/y.py")


def test_directory_deleted(tree: Path, start) -> None:
    w, rec = start()
    before = w.stats().watches
    shutil.rmtree(tree / "src")
    rec.wait_paths("src")
    rec.wait_for(lambda: w.stats().watches == before - 2)


def test_burst_of_200_files_is_one_batch(tree: Path, start) -> None:
    w, rec = start()
    expected = set()
    for i in range(200):
        (tree / "src" / f"gen{i}.py").write_text(f"n = {i}\n")
        expected.add(f"src/gen{i}.py")
    rec.wait_paths(*expected)
    time.sleep(QUIET_S)
    assert len(rec.batches) <= 3  # one unless this machine stalls for a debounce period
    assert set().union(*(p for p, _ in rec.batches)) == expected

    # git checkout: unlink and recreate every file, plus a new directory.
    first = len(rec.batches)
    for i in range(200):
        (tree / "src" / f"gen{i}.py").unlink()
        (tree / "src" / f"gen{i}.py").write_text(f"n = {i + 1}\n")
    rec.wait_for(lambda: len(rec.batches) > first)
    time.sleep(QUIET_S)
    assert len(rec.batches) - first <= 3
    assert set().union(*(p for p, _ in rec.batches[first:])) == expected


def test_ignored_paths_produce_nothing(tree: Path, start) -> None:
    (tree / ".gitignore").write_text("generated/\n*.log\n")
    (tree / "node_modules" / "dep").mkdir(parents=True)
    (tree / "generated").mkdir()
    w, rec = start()
    assert w.stats().watches == 3  # root, src, src/pkg
    for i in range(20):
        (tree / "node_modules" / "dep" / f"i{i}.js").write_text("x")
        (tree / "generated" / f"o{i}.py").write_text("x")
        (tree / f"debug{i}.log").write_text("x")  # watched dir, ignored name
    (tree / "node_modules" / "more").mkdir()
    (tree / "generated" / "deeper").mkdir()
    (tree / "coverage").mkdir()  # a default exclude, in a watched directory
    (tree / "src" / "node_modules").mkdir()
    (tree / "src" / "node_modules" / "x.js").write_text("x")
    time.sleep(QUIET_S)
    stats = w.stats()
    assert rec.batches == [] and stats.batches == 0 and stats.pending == 0
    assert stats.events_seen == stats.events_ignored > 0
    assert stats.watches == 3


@pytest.mark.parametrize("name", [".gitignore", ".cceignore"])
def test_ignore_file_change_asks_for_full_rescan_and_rewatches(tree: Path, start, name: str) -> None:
    (tree / "src" / name).write_text("generated/\n")
    (tree / "src" / "generated").mkdir()
    w, rec = start()
    assert w.stats().watches == 3
    tmp = tree / "src" / f"{name}.swp"  # saved the way editors do: temp file, then rename
    tmp.write_text("# nothing ignored now\n")
    os.replace(tmp, tree / "src" / name)
    rec.wait_for(lambda: any(full for _, full in rec.batches))
    assert "src" in w.rules.invalidated
    assert w.stats().watches == 4
    (tree / "src" / "generated" / "out.py").write_text("now part of the project\n")
    rec.wait_paths("src/generated/out.py")

    # And ignoring it again drops the watch.
    (tree / "src" / name).write_text("generated/\n")
    rec.wait_for(lambda: w.stats().watches == 3)


def test_a_manifest_beside_dist_makes_it_build_output(tree: Path, start) -> None:
    (tree / "src" / "dist").mkdir()
    w, rec = start()
    assert w.stats().watches == 4  # no manifest yet: src/dist is a folder like any other
    (tree / "src" / "package.json").write_text('{"name": "pkg"}\n')
    rec.wait_for(lambda: any(full for _, full in rec.batches))
    assert "src" in w.rules.invalidated
    rec.wait_for(lambda: w.stats().watches == 3)
    assert w.rules.ignores("src/dist/bundle.js", False)


def test_real_queue_overflow_gives_one_full_rescan(tree: Path, start) -> None:
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    if limit > 100_000:
        pytest.skip(f"max_queued_events={limit} is too large to overflow quickly")
    release = threading.Event()
    rec = Recorder()

    def blocking(paths: set[str], full: bool) -> None:
        rec(paths, full)
        release.wait(10)  # hold the thread so the kernel queue fills up

    w, _ = start(blocking)
    a, b = tree / "src" / "a.txt", tree / "src" / "b.txt"
    a.write_text("start")
    rec.wait_for(lambda: len(rec.batches) == 1)
    for _ in range(limit // 2 + 100):  # alternate names: the kernel merges only repeats
        for path in (a, b):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT))
    release.set()
    rec.wait_for(lambda: any(full for _, full in rec.batches[1:]), timeout=5)
    assert w.stats().overflows == 1
    time.sleep(QUIET_S)
    assert sum(full for _, full in rec.batches) == 1
    n = len(rec.batches)
    (tree / "README.md").write_text("after overflow\n")
    rec.wait_for(lambda: len(rec.batches) > n and "README.md" in rec.batches[-1][0])


def test_watch_limit_degrades_to_periodic_rescan(
    tree: Path, start, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    for i in range(5):
        (tree / f"dir{i}").mkdir()
    real_add = inotify_simple.INotify.add_watch
    calls = {"n": 0}

    def limited_add(self, path, mask):
        calls["n"] += 1
        if calls["n"] > 4:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_add(self, path, mask)

    monkeypatch.setattr(inotify_simple.INotify, "add_watch", limited_add)
    w, rec = start(rescan_interval_s=0.15)
    stats = w.stats()
    assert stats.watches == 4
    assert stats.degraded is not None
    assert "fs.inotify.max_user_watches=" in stats.degraded and "every 0.15 s" in stats.degraded
    rec.wait_for(lambda: sum(p == set() and full for p, full in rec.batches) >= 3)
    # A new directory's files are still reported while degraded (no watch is possible).
    (tree / "src" / "fresh").mkdir()
    (tree / "src" / "fresh" / "f.py").write_text("f\n")
    rec.wait_for(lambda: any(full for _, full in rec.batches[-1:]) and len(rec.batches) >= 5)
    assert w._thread is not None and w._thread.is_alive()
    err = capfd.readouterr().err
    assert err.count("inotify watch limit reached") == 1


def test_no_inotify_instance_degrades_too(
    tree: Path, start, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    def no_instances() -> None:
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    monkeypatch.setattr(cce.watch, "INotify", no_instances)
    w, rec = start(rescan_interval_s=0.1)
    stats = w.stats()
    assert stats.watches == 0
    assert stats.degraded is not None and "fs.inotify.max_user_instances=" in stats.degraded
    rec.wait_for(lambda: len(rec.batches) >= 2)
    assert all(batch == (set(), True) for batch in rec.batches)
    assert capfd.readouterr().err.count("inotify unavailable") == 1


def test_missing_root_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "nope"
    with pytest.raises(CceError, match="cannot watch"):
        Watcher(root, RecordingRules(root), Recorder()).start()


def test_stop_is_prompt_and_ends_the_thread(tree: Path) -> None:
    rec = Recorder()
    w = Watcher(tree, RecordingRules(tree), rec, debounce_ms=DEBOUNCE_MS)
    w.start()
    thread, ino = w._thread, w._inotify
    assert thread is not None and ino is not None and thread.daemon
    time.sleep(0.05)
    t0 = time.monotonic()
    w.stop()
    assert time.monotonic() - t0 < 1.0
    assert not thread.is_alive()
    assert ino.closed


def test_callback_exception_does_not_kill_the_thread(
    tree: Path, start, capfd: pytest.CaptureFixture[str]
) -> None:
    rec = Recorder()

    def flaky(paths: set[str], full: bool) -> None:
        rec(paths, full)
        if len(rec.batches) == 1:
            raise RuntimeError("indexer exploded")

    w, _ = start(flaky)
    (tree / "README.md").write_text("1\n")
    rec.wait_for(lambda: len(rec.batches) == 1)
    time.sleep(QUIET_S)
    (tree / "src" / "main.py").write_text("2\n")
    rec.wait_paths("src/main.py")
    err = capfd.readouterr().err.strip().splitlines()
    assert err == ["cce watch: on_changes failed: RuntimeError: indexer exploded"]
    assert w.stats().batches == 2
