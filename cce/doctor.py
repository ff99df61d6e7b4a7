"""`cce doctor`: check what cce depends on and say how to fix what is wrong.

Each check is ok, warn or fail, with a one-line detail and, when not ok, the fix. Nothing is changed:
the store is opened read-only, the model files are only hashed.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from . import __version__
from .errors import CceError
from .files import IgnoreRules
from .model import resolve_model, verify_model
from .settings import Settings
from .store import DB_NAME, FORMAT_VERSION, lock_holder, store_dir_for

OK, WARN, FAIL = "ok", "warn", "fail"
INOTIFY_DIR = Path("/proc/sys/fs/inotify")  # a module attribute so tests can point it elsewhere
WATCH_LIMIT_FIX = (
    "sudo sysctl fs.inotify.max_user_watches=524288 (and add that line to /etc/sysctl.d/60-inotify.conf to keep it)"
)
MIN_PYTHON = (3, 11)


@dataclass(frozen=True)
class Check:
    check: str
    status: str  # ok | warn | fail
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict:
        return {"check": self.check, "status": self.status, "detail": self.detail, "fix": self.fix}

    def line(self) -> str:
        fix = f" -> fix: {self.fix}" if self.fix and self.status != OK else ""
        return f"{self.status:<4}  {self.check}: {self.detail}{fix}"


def run_checks(settings: Settings, inotify_dir: Path | None = None) -> list[Check]:
    checks = [check_python(), *check_packages(), *check_model(settings)]
    store_dir = store_dir_for(settings.data_dir, settings.project_dir)
    checks += check_store(store_dir, settings)
    checks.append(check_watches(settings, INOTIFY_DIR if inotify_dir is None else inotify_dir))
    checks += [
        Check("settings", WARN, notice.removeprefix("cce: "), _notice_fix(notice)) for notice in settings.notices
    ]
    return checks


def _notice_fix(notice: str) -> str:
    if "CCE_EMBED_PARALLEL" in notice:
        return "unset CCE_EMBED_PARALLEL; CCE_THREADS sets the model's threads"
    return "adjust the setting; `cce status` shows each value and where it came from"


# ---------------------------------------------------------------------------- runtime


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] < MIN_PYTHON:
        return Check("python", FAIL, f"Python {version} at {sys.executable}", "use Python 3.11 or newer")
    return Check("python", OK, f"Python {version} at {sys.executable}")


def _requirements() -> tuple[str, list[str]]:
    """(where cce runs from, its dependency specifiers): installed metadata, else the checkout's pyproject."""
    try:
        dist = metadata.distribution("cce")
        return f"cce {dist.version} installed", [r for r in dist.requires or [] if "extra ==" not in r]
    except metadata.PackageNotFoundError:
        pass
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        deps = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        deps = []
    return f"cce {__version__} from the checkout {pyproject.parent} (not installed)", deps


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        match = re.match(r"\d+", piece)
        if not match:
            break
        parts.append(int(match.group()))
    return tuple(parts)


def _satisfies(version: str, spec: str) -> bool:
    have = _version_tuple(version)
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        match = re.match(r"(>=|<=|==|!=|>|<|~=)\s*([\w.]+)", clause)
        if not match:
            continue
        op, want = match.group(1), _version_tuple(match.group(2))
        width = max(len(have), len(want))
        a, b = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
        ok = {
            ">=": a >= b,
            "<=": a <= b,
            ">": a > b,
            "<": a < b,
            "==": a == b,
            "!=": a != b,
            "~=": a >= b,
        }[op]
        if not ok:
            return False
    return True


def check_packages() -> list[Check]:
    where, requirements = _requirements()
    checks = [Check("cce", OK, where)]
    bad, found = [], []
    for requirement in requirements:
        match = re.match(r"\s*([A-Za-z0-9._-]+)\s*(?:\[[^\]]*\])?\s*\(?([^;)]*)\)?", requirement)
        if not match:
            continue
        name, spec = match.group(1), match.group(2).strip()
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            bad.append(f"{name} is missing (needs {spec or 'any version'})")
            continue
        if _satisfies(version, spec):
            found.append(f"{name} {version}")
        else:
            bad.append(f"{name} {version} is outside {spec}")
    if bad:
        checks.append(
            Check(
                "packages",
                FAIL,
                "; ".join(bad),
                "reinstall cce into a clean virtualenv: python3 -m venv .venv && .venv/bin/pip install .",
            )
        )
    else:
        checks.append(Check("packages", OK, ", ".join(found) or "no dependencies listed"))
    return checks


# ---------------------------------------------------------------------------- model


def check_model(settings: Settings) -> list[Check]:
    try:
        results = verify_model(settings)
    except CceError as exc:
        return [Check("model", FAIL, str(exc), "set CCE_MODEL_DIR to a folder with a model .onnx and tokenizer.json")]
    where = f"CCE_MODEL_DIR={settings.model_dir}" if settings.model_dir else "the pinned default model"
    fix = (
        "fix the files in CCE_MODEL_DIR or unset it to use the default model"
        if settings.model_dir
        else "cce model pull (offline: put the pinned files in the cache folder, or set CCE_MODEL_DIR)"
    )
    results = [(name, ok, detail.split("; run `cce model pull`")[0]) for name, ok, detail in results]
    return [
        Check(f"model {name}", OK if ok else FAIL, f"{where}: {detail}", None if ok else fix)
        for name, ok, detail in results
    ]


# ---------------------------------------------------------------------------- store


def check_store(store_dir: Path, settings: Settings) -> list[Check]:
    db = store_dir / DB_NAME
    if not db.is_file():
        return [Check("store", WARN, f"no index yet at {store_dir}", "cce index")]
    rebuild = "cce index --full (the index is derived from the files: nothing is lost)"
    conn = None
    try:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=5)
        (quick,) = conn.execute("PRAGMA quick_check").fetchone()
        if quick != "ok":
            checks = [Check("store", FAIL, f"{db} fails its integrity check: {quick}", rebuild)]
        else:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            checks = [_store_meta_check(db, meta, settings, rebuild)]
    except sqlite3.DatabaseError as exc:
        checks = [Check("store", FAIL, f"{db} cannot be read: {exc}", rebuild)]
    finally:
        if conn is not None:
            conn.close()
    checks.append(check_lock(store_dir))
    return checks


def _store_meta_check(db: Path, meta: dict, settings: Settings, rebuild: str) -> Check:
    fmt, built_with = meta.get("format"), meta.get("model_id")
    if fmt != FORMAT_VERSION:
        return Check("store", FAIL, f"{db} has format {fmt}, this cce reads format {FORMAT_VERSION}", rebuild)
    try:
        model_id = resolve_model(settings, allow_pull=False).model_id
    except CceError:
        model_id = None  # the model check reports that
    if model_id is not None and built_with != model_id:
        return Check("store", FAIL, f"{db} was built with model {built_with!r}, the model now is {model_id!r}", rebuild)
    return Check(
        "store", OK, f"{db}: format {fmt}, model {built_with}, generation {meta.get('generation', '?')}, quick_check ok"
    )


def check_lock(store_dir: Path) -> Check:
    holder = lock_holder(store_dir)
    if holder is None:
        return Check("lock", OK, "no cce process is writing this index")
    who = f"pid {holder}" if holder > 0 else "another process"
    return Check(
        "lock",
        FAIL,
        f"{who} holds the writer lock of {store_dir} (an index run or a `cce serve` reindexing)",
        f"wait for it to finish; if it is stuck, stop it (kill {holder})" if holder > 0 else "wait for it to finish",
    )


# ---------------------------------------------------------------------------- inotify


def count_watch_dirs(settings: Settings) -> int:
    """The folders `cce serve` would watch: every folder of the project its ignore rules admit."""
    rules = IgnoreRules(settings.project_dir, exclude_dirs=[settings.data_dir])
    root = os.fspath(settings.project_dir)
    count, stack = 0, [""]
    while stack:
        rel = stack.pop()
        count += 1
        try:
            with os.scandir(os.path.join(root, rel)) as listing:
                entries = list(listing)
        except OSError:
            continue
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            try:
                if entry.is_dir(follow_symlinks=False) and not rules.ignores(child, True):
                    stack.append(child)
            except OSError:
                continue
    return count


def check_watches(settings: Settings, inotify_dir: Path) -> Check:
    try:
        limit = int((inotify_dir / "max_user_watches").read_text().strip())
    except (OSError, ValueError):
        return Check(
            "inotify",
            WARN,
            f"cannot read {inotify_dir / 'max_user_watches'}: inotify is unavailable",
            "cce serve needs Linux inotify to follow edits; `cce index` still works",
        )
    dirs = count_watch_dirs(settings)
    detail = f"{dirs} folders to watch, fs.inotify.max_user_watches={limit}"
    if dirs > limit:
        return Check("inotify", FAIL, detail + ": the watcher would run out", WATCH_LIMIT_FIX)
    if dirs * 2 > limit:  # editors and other tools share the per-user limit
        return Check("inotify", WARN, detail + ": little room left for other tools", WATCH_LIMIT_FIX)
    return Check("inotify", OK, detail)
