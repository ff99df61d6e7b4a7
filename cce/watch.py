"""Watch a project tree with inotify and hand debounced sets of changed paths to a callback.

Reading a file must cause no work at all: the mask carries only events that mean "content or
names changed" (CLOSE_WRITE, CREATE, DELETE, MOVED_*, *_SELF). OPEN, ACCESS, CLOSE_NOWRITE,
MODIFY and ATTRIB are never requested, so a reader (cat, a hasher, git status) produces no
events and therefore no batches.

Everything runs on one daemon thread; on_changes is called from it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import inotify_simple
from inotify_simple import INotify
from inotify_simple import flags as F

from .errors import CceError
from .files import IgnoreRules

if TYPE_CHECKING:
    from inotify_simple import Event

# Only "the final state changed" events: CLOSE_WRITE not MODIFY (MODIFY fires per write syscall).
FILE_MASK = F.CLOSE_WRITE | F.CREATE | F.DELETE | F.MOVED_FROM | F.MOVED_TO | F.DELETE_SELF | F.MOVE_SELF
# ONLYDIR + DONT_FOLLOW: never watch a file or follow a symlink; EXCL_UNLINK: no events from
# files already unlinked but still open.
WATCH_MASK = FILE_MASK | F.ONLYDIR | F.DONT_FOLLOW | F.EXCL_UNLINK
# Upper bound on a single read's wait, so stop() is noticed quickly.
POLL_MS = 100
# A never-ending stream of events still flushes after this many debounce periods.
MAX_DELAY_FACTOR = 5


def _load_libc() -> None:
    """Hand inotify_simple the C library ourselves: left alone, it calls ctypes.util.find_library,
    which runs `/sbin/ldconfig -p` in a child process (cce creates no processes). CDLL(None) is the
    running program with libc already linked in."""
    if getattr(inotify_simple, "_libc", None) is None:
        inotify_simple._libc = ctypes.CDLL(None, use_errno=True)


def _log(message: str) -> None:
    # stdout is the MCP protocol in the server: diagnostics go to stderr only.
    print(f"cce watch: {message}", file=sys.stderr, flush=True)


def _read_limit(name: str) -> str:
    try:
        return Path("/proc/sys/fs/inotify", name).read_text().strip()
    except OSError:
        return "?"


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def _under(path: str, top: str) -> bool:
    return not top or path == top or path.startswith(top + "/")


@dataclass
class WatchStats:
    watches: int
    pending: int  # paths waiting for the debounce
    events_seen: int
    events_ignored: int  # events on ignored paths or irrelevant kinds
    batches: int  # batches handed to on_changes
    overflows: int
    degraded: str | None
    last_batch_at: float | None


class Watcher:
    """Recursive inotify watcher: one watch per directory the rules admit, one thread."""

    def __init__(
        self,
        root: Path,
        rules: IgnoreRules,
        on_changes: Callable[[set[str], bool], None],
        debounce_ms: int = 300,
        rescan_interval_s: float = 30.0,
    ) -> None:
        self.root = Path(root)
        self.rules = rules
        self.on_changes = on_changes
        self.debounce_s = debounce_ms / 1000.0
        self.rescan_interval_s = rescan_interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._inotify: INotify | None = None
        # Guards everything stats() reads; the thread is the only writer.
        self._lock = threading.Lock()
        self._wd_to_path: dict[int, str] = {}
        self._path_to_wd: dict[str, int] = {}
        # Directories moved away (MOVED_FROM) whose watches wait for a MOVED_TO in the same
        # read: cookie -> wds. A matching MOVED_TO re-claims them under the new name;
        # the rest are removed, since a watch on a directory moved out keeps reporting.
        self._limbo: dict[int, set[int]] = {}
        self._pending: set[str] = set()
        self._pending_full = False
        self._first_pending_at = 0.0
        self._last_event_at = 0.0
        self._next_rescan_at = 0.0
        self._events_seen = 0
        self._events_ignored = 0
        self._batches = 0
        self._overflows = 0
        self._degraded: str | None = None
        self._last_batch_at: float | None = None

    # ----- public API -------------------------------------------------------------------

    def start(self) -> None:
        """Watch every admitted directory under root, then start the watcher thread."""
        if self._thread is not None:
            raise RuntimeError("Watcher already started")
        try:
            _load_libc()
            self._inotify = INotify()
        except OSError as exc:
            # Usually fs.inotify.max_user_instances (128 by default) used up by other tools.
            self._degrade(
                f"inotify unavailable ({exc.strerror}; fs.inotify.max_user_instances="
                f"{_read_limit('max_user_instances')})",
                "if the instance limit is the cause, raise it with: "
                "sudo sysctl fs.inotify.max_user_instances=1024",
            )
        else:
            self._sync_tree("", report=False)
            if "" not in self._path_to_wd and self._degraded is None:
                self._inotify.close()
                raise CceError(f"cannot watch {self.root}: not an existing, readable directory")
        self._thread = threading.Thread(target=self._run, name="cce-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the thread (noticed within one POLL_MS read) and close the inotify fd.

        Pending, not yet flushed paths are dropped: the caller is shutting down.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        elif self._inotify is not None:
            self._inotify.close()

    def stats(self) -> WatchStats:
        with self._lock:
            return WatchStats(
                watches=len(self._wd_to_path),
                pending=len(self._pending),
                events_seen=self._events_seen,
                events_ignored=self._events_ignored,
                batches=self._batches,
                overflows=self._overflows,
                degraded=self._degraded,
                last_batch_at=self._last_batch_at,
            )

    # ----- the thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._inotify is None:
                    # No inotify at all: only the degraded-mode rescan timer runs.
                    self._stop.wait(self._timeout_ms() / 1000)
                    self._maybe_flush(time.monotonic())
                    continue
                try:
                    events = self._inotify.read(timeout=self._timeout_ms())
                except OSError as exc:
                    if self._stop.is_set():
                        break
                    _log(f"reading inotify events failed: {exc}")
                    self._stop.wait(1.0)
                    continue
                if events:
                    self._handle_events(events)
                self._maybe_flush(time.monotonic())
        finally:
            # Closed by the thread itself so the fd is never closed under a pending read.
            if self._inotify is not None:
                self._inotify.close()

    def _timeout_ms(self) -> int:
        now = time.monotonic()
        wait = POLL_MS / 1000.0
        if self._pending or self._pending_full:
            wait = min(wait, self._flush_due_at() - now)
        if self._degraded:
            wait = min(wait, self._next_rescan_at - now)
        return max(1, int(wait * 1000))

    def _flush_due_at(self) -> float:
        return min(
            self._last_event_at + self.debounce_s,
            self._first_pending_at + MAX_DELAY_FACTOR * self.debounce_s,
        )

    def _maybe_flush(self, now: float) -> None:
        due = (self._pending or self._pending_full) and now >= self._flush_due_at()
        rescan = self._degraded is not None and now >= self._next_rescan_at
        if not (due or rescan):
            return
        if rescan:
            self._next_rescan_at = now + self.rescan_interval_s
        with self._lock:
            paths, self._pending = self._pending, set()
            full, self._pending_full = self._pending_full or rescan, False
            self._batches += 1
            self._last_batch_at = time.time()
        try:
            self.on_changes(paths, full)
        except Exception as exc:  # the thread must survive a failing consumer
            _log(f"on_changes failed: {type(exc).__name__}: {exc}")

    # ----- events -----------------------------------------------------------------------

    def _handle_events(self, events: Iterable[Event]) -> None:
        for event in events:
            with self._lock:
                self._events_seen += 1
            if not self._handle_event(event):
                with self._lock:
                    self._events_ignored += 1
        # Directories moved away with no MOVED_TO in this read left the tree.
        for wds in self._limbo.values():
            for wd in wds:
                self._rm_watch(wd)
        self._limbo.clear()

    def _handle_event(self, event: Event) -> bool:
        """Apply one event; return False when it was irrelevant (ignored path or kind)."""
        mask = event.mask
        if mask & F.Q_OVERFLOW:
            # Events were lost, including maybe directory creations: re-sync the watches
            # and have the caller reconcile everything.
            with self._lock:
                self._overflows += 1
            self._sync_tree("", report=False)
            self._mark(full=True)
            return True
        parent = self._wd_to_path.get(event.wd)
        if parent is None:
            # A watch already removed (moved out, deleted, ignored): stale events.
            return False
        if mask & F.IGNORED:
            self._forget(event.wd)
            return False
        if mask & (F.DELETE_SELF | F.MOVE_SELF):
            if parent == "":
                # The root itself went away or moved: only a full reconcile makes sense.
                self._mark(full=True)
                return True
            if mask & F.DELETE_SELF:
                self._drop_subtree(parent)
                self._mark(parent)
                return True
            return False  # a move is handled through the parent's MOVED_FROM/MOVED_TO
        rel = _join(parent, event.name)
        is_dir = bool(mask & F.ISDIR)
        if not is_dir and self.rules.is_rules_file(event.name):
            # The ignore sets changed, or a manifest that decides what is build output: admitted
            # directories may differ now.
            self.rules.invalidate(parent)
            self._sync_tree(parent, report=False)
            self._mark(full=True)
            return True
        if self.rules.ignores(rel, is_dir):
            return False
        if is_dir:
            if mask & (F.CREATE | F.MOVED_TO):
                # A rename within the tree re-claims the moved watches from limbo here.
                self._sync_tree(rel, report=True)
            elif mask & F.MOVED_FROM:
                self._limbo[event.cookie] = self._detach_subtree(rel)
            elif mask & F.DELETE:
                self._drop_subtree(rel)
        self._mark(rel)
        return True

    def _mark(self, path: str | None = None, full: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            if not self._pending and not self._pending_full:
                self._first_pending_at = now
            self._last_event_at = now
            if path is not None:
                self._pending.add(path)
            self._pending_full = self._pending_full or full

    # ----- watches ----------------------------------------------------------------------

    def _sync_tree(self, top: str, report: bool) -> None:
        """Watch every admitted directory under top; drop watches on ones no longer admitted.

        With report=True the directory and every admitted file found are marked changed:
        files written before the watch existed produced no event (mkdir -p a/b && echo > a/b/f
        reports only CREATE a). The watch is added before listing, so nothing falls between.
        """
        seen: set[str] = set()
        stack = [top]
        while stack:
            rel = stack.pop()
            if self._watch(rel):
                seen.add(rel)
            elif self._degraded is None:
                continue  # vanished, not a directory, or unreadable
            # Degraded: no watch, but a new directory's files are still reported now.
            if report:
                self._mark(rel)
            try:
                entries = list(os.scandir(self.root / rel))
            except OSError:
                continue  # vanished or unreadable meanwhile; its parent's events cover it
            for entry in entries:
                child = _join(rel, entry.name)
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if self.rules.ignores(child, is_dir):
                    continue
                if is_dir:
                    stack.append(child)
                elif report:
                    self._mark(child)
        for path in [p for p in self._path_to_wd if _under(p, top) and p not in seen]:
            self._rm_watch(self._path_to_wd[path])

    def _watch(self, rel: str) -> bool:
        assert self._inotify is not None
        try:
            wd = self._inotify.add_watch(self.root / rel, WATCH_MASK)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                self._degrade(
                    f"inotify watch limit reached (fs.inotify.max_user_watches="
                    f"{_read_limit('max_user_watches')})",
                    "raise the limit with: sudo sysctl fs.inotify.max_user_watches=524288",
                )
            elif exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                _log(f"cannot watch {rel or '.'}: {exc.strerror}")
            return False
        # The kernel returns the existing wd for an inode already watched: after a rename
        # within the tree this re-maps the directory (and, via the walk, its children).
        for cookie in list(self._limbo):
            self._limbo[cookie].discard(wd)
        with self._lock:
            old = self._wd_to_path.get(wd)
            if old is not None and old != rel and self._path_to_wd.get(old) == wd:
                del self._path_to_wd[old]
            self._wd_to_path[wd] = rel
            self._path_to_wd[rel] = wd
        return True

    def _degrade(self, cause: str, remedy: str) -> None:
        """Events are incomplete from now on: say so once, and rescan on a timer."""
        if self._degraded is not None:
            return
        message = f"{cause}: falling back to a rescan every {self.rescan_interval_s:g} s; {remedy}"
        with self._lock:
            self._degraded = message
        self._next_rescan_at = time.monotonic() + self.rescan_interval_s
        _log(message)

    def _detach_subtree(self, top: str) -> set[int]:
        """Unmap the watches under top (keeping them in the kernel) and return their wds."""
        with self._lock:
            paths = [p for p in self._path_to_wd if _under(p, top)]
            wds = {self._path_to_wd.pop(p) for p in paths}
            for wd in wds:
                del self._wd_to_path[wd]
        return wds

    def _drop_subtree(self, top: str) -> None:
        for wd in self._detach_subtree(top):
            self._rm_watch(wd)

    def _rm_watch(self, wd: int) -> None:
        self._forget(wd)
        assert self._inotify is not None
        # EINVAL when the kernel already dropped it (directory deleted: IN_IGNORED is queued).
        with contextlib.suppress(OSError):
            self._inotify.rm_watch(wd)

    def _forget(self, wd: int) -> None:
        with self._lock:
            path = self._wd_to_path.pop(wd, None)
            if path is not None and self._path_to_wd.get(path) == wd:
                del self._path_to_wd[path]
