"""Which files make up a project, and reading them safely.

`IgnoreRules` answers "is this path part of the project?" (git's ignore rules, .cceignore, the
default excludes); `walk` lists the project's files; `read_source` reads one file, decides whether
it is indexable text and redacts secrets from it. Symlinks are never followed, so links out of the
project and link loops are harmless. Paths are POSIX strings relative to the project root.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pathspec.patterns.gitignore.base import GitIgnorePatternError
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

# Skip reasons: files that belong to the project but are not indexed (keys of the skip summary).
SKIP_BINARY = "binary"  # a NUL byte in the first 8 KiB, or a binary extension (BINARY_SUFFIXES)
SKIP_TOO_LARGE = "too-large"  # larger than max_file_size; decided from stat, never read
SKIP_UNREADABLE = "unreadable"  # permission denied or an I/O error
SKIP_SECRET = "secret"  # a secret-bearing file by name (is_secret_file)
SKIP_SYMLINK = "symlink"  # symlinks are never followed, to files or to directories
SKIP_VANISHED = "vanished"  # deleted or replaced between listing and reading
SKIP_MINIFIED = "minified"  # MINIFIED_SUFFIXES, or over MINIFIED_LINE_BYTES a line on average
SKIP_NOT_REGULAR = "not-regular"  # fifo, socket, device
# A file or folder name that is not valid UTF-8 (os.scandir hands it over surrogate-escaped): it
# could be neither stored as text nor shown, so it is skipped, a folder with all it holds.
SKIP_BAD_NAME = "undecodable-name"

# Files whose change alters the ignore rules of their directory (the watcher calls invalidate()).
IGNORE_FILE_NAMES = (".gitignore", ".cceignore")

# Never part of a project and not re-includable: version-control internals. A virtualenv (any
# directory holding pyvenv.cfg, whatever its name) is treated the same way.
VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr"})

# Default excludes in .gitignore syntax, lowest precedence (like git's global excludes file):
# a project's .gitignore or .cceignore can re-include any of them with "!".
# `vendor/`, `out/` and `.vscode/` are deliberately absent: they often hold code that matters.
DEFAULT_EXCLUDES = (
    # hidden files and folders (.github, .vscode, .env.example, agent skill folders): tool state and
    # configuration rather than code, skipped by default as ripgrep does; a .gitignore or .cceignore
    # line such as "!.github/" brings one back
    ".*",
    # dependencies, caches and tool state
    "node_modules/", "bower_components/", "__pycache__/", ".tox/", ".nox/", ".mypy_cache/",
    ".pytest_cache/", ".ruff_cache/", ".cache/", ".idea/", ".terraform/", ".gradle/", "*.egg-info/",
    # reports
    "coverage/",
    # lockfiles: long, generated, and they drown real hits
    "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "Cargo.lock", "Pipfile.lock",
    "composer.lock", "go.sum", "uv.lock", "Gemfile.lock",
    # compiled artifacts
    "*.pyc", "*.pyo", "*.o", "*.obj", "*.a", "*.so", "*.dylib", "*.dll", "*.exe", "*.class",
    ".DS_Store",
)

# Build output, skipped with the same low precedence where it is build output: beside a build
# manifest. Elsewhere these names are often source (Go's go/build, pypa's src/build/). And a
# package.json whose entry points into dist/ with no src/ beside it ships only its build: there
# dist/ is the code. (.next and .nuxt are hidden, so skipped anyway.)
BUILD_OUTPUT_DIRS = frozenset({"dist", "build", "target"})
BUILD_MANIFESTS = frozenset({
    "package.json", "deno.json", "pyproject.toml", "setup.py", "setup.cfg", "Cargo.toml", "go.mod",
    "pom.xml", "build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts", "build.sbt",
    "CMakeLists.txt", "Makefile", "meson.build", "build.zig", "composer.json", "Gemfile", "mix.exs",
    "Package.swift", "dune-project", "stack.yaml",
})
_PROJECT_FILE_SUFFIXES = (".csproj", ".fsproj", ".vbproj", ".sln", ".cabal", ".gemspec", ".nimble")
_PACKAGE_ENTRIES = ("main", "module", "exports", "types", "typings", "bin", "browser")

# Media, archives, fonts and documents: part of the project but not text, so counted as "binary"
# skips (decided from the name, never opened) rather than hidden.
BINARY_SUFFIXES = frozenset({
    # images
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".tif", ".tiff", ".psd", ".heic", ".avif",
    # audio and video
    ".mp3", ".wav", ".flac", ".ogg", ".opus", ".m4a", ".aac", ".mp4", ".m4v", ".mov", ".avi", ".mkv",
    ".webm", ".wmv",
    # archives and packages
    ".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".jar", ".war", ".whl", ".deb",
    ".rpm", ".dmg", ".iso",
    # fonts and documents
    ".woff", ".woff2", ".ttf", ".otf", ".eot", ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx",
    # data and model weights
    ".bin", ".db", ".sqlite", ".sqlite3", ".pkl", ".npy", ".npz", ".onnx", ".pt", ".pth", ".safetensors",
    ".parquet", ".wasm",
})

# Minified or generated-for-machines text: skipped by name, or when the bytes per line average
# over MINIFIED_LINE_BYTES (a bundle, a one-line JSON dump, an inlined base64 blob).
MINIFIED_SUFFIXES = (".min.js", ".min.mjs", ".min.css", ".map")
MINIFIED_LINE_BYTES = 1000
_NOTEBOOK_SOURCE = re.compile(rb'"source":\s*\[\r?\n')

BINARY_SNIFF_BYTES = 8192

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a fifo must not wait for a writer (fstat then rejects it).
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass(frozen=True)
class FileInfo:
    path: str  # POSIX path relative to the project root
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str  # decode(raw bytes) with secrets redacted
    hash: str  # sha256 hex of the raw bytes on disk
    size: int
    mtime_ns: int
    redactions: int  # how many secrets were redacted


# ----- ignore rules -----------------------------------------------------------------------------


class _Patterns:
    """One ignore file's patterns, answering for a path relative to that file's directory.

    pathspec's pattern regexes also match every path *under* a matching directory, which breaks
    git's rules once directories are judged on their own (as walk does, to prune): with
    `*` + `!*/` the negation would re-include every file. Each regex is therefore anchored to the
    whole path: git's answer for a path is the last pattern matching that very path, and a path in
    an ignored directory is ignored because its directory is checked first.

    For speed the patterns become two alternations, latest pattern first, so one regex call each
    decides: the single-name patterns (`*.log`, `node_modules/`, most of them), matched against
    the last path component only, and the rest, matched against the whole path.
    """

    def __init__(self, lines: Iterable[str]) -> None:
        by_name: list[tuple[str, int, bool]] = []
        by_path: list[tuple[str, int, bool]] = []
        for order, line in enumerate(lines):
            if line.rstrip().endswith("/**/"):
                # pathspec reads `dir/**/` as `dir/` (fine when only files are matched); git means
                # the directories strictly below dir, which is `dir/**/*/`.
                line = line.rstrip() + "*/"
            try:
                regex, include = GitIgnoreSpecPattern.pattern_to_regex(line)
            except GitIgnorePatternError:
                continue  # git skips a malformed pattern too
            if regex is None or include is None:
                continue  # blank line or comment
            name_regex = _name_regex(regex)
            if name_regex is not None:
                by_name.append((name_regex, order, include))
            else:
                by_path.append((_whole_path_regex(regex), order, include))
        self._by_name = _Alternation(by_name)
        self._by_path = _Alternation(by_path)

    def decide(self, path: str) -> bool | None:
        """True: ignored; False: re-included by a "!" pattern; None: no pattern matches.

        `path` ends with "/" for a directory, as pathspec's regexes expect.
        """
        name = path[path.rfind("/", 0, len(path) - 1) + 1:]
        by_name = self._by_name.latest(name)
        by_path = self._by_path.latest(path)
        if by_name is None or (by_path is not None and by_path[0] > by_name[0]):
            by_name = by_path
        return None if by_name is None else by_name[1]


class _Alternation:
    """Regexes tried as one, answering (order, include) of the latest pattern that matches."""

    def __init__(self, patterns: list[tuple[str, int, bool]]) -> None:
        self._results = [(order, include) for _, order, include in reversed(patterns)]
        alternatives = "|".join(f"({regex})" for regex, _, _ in reversed(patterns))
        self._regex = re.compile(alternatives, re.DOTALL) if patterns else None

    def latest(self, path: str) -> tuple[int, bool] | None:
        match = self._regex.match(path) if self._regex is not None else None
        if match is None or match.lastindex is None:
            return None
        return self._results[match.lastindex - 1]


# How GitIgnoreSpecPattern regexes are built: an unanchored pattern starts with `^(?:.+/)?`; one
# matching files and directories ends with `(?:(?P<ps_d>/)|$)`, a dir-only one with `(?P<ps_d>/)`,
# one ending in `/**` with a bare `/` (only what lies strictly below); `*` and `**` are `.`.
_ANY_PARENT = "^(?:.+/)?"
_FILE_OR_DIR = "(?:(?P<ps_d>/)|$)"
_DIR_ONLY = "(?P<ps_d>/)"


def _name_regex(regex: str) -> str | None:
    """For a pattern that names one path component anywhere (`*.log`, `build/`), the regex for
    that component alone ("name" or "name/" for a directory); None for any other pattern."""
    if not regex.startswith(_ANY_PARENT):
        return None
    body = regex[len(_ANY_PARENT):]
    for mark, tail in ((_FILE_OR_DIR, "/?"), (_DIR_ONLY, "/")):
        if body.endswith(mark):
            body = body[: -len(mark)]
            return "^" + body + tail + r"\Z" if "/" not in body.replace("[^/]", "") else None
    return None


def _whole_path_regex(regex: str) -> str:
    """Turn a pathspec gitignore regex ("this path or anything under it") into "exactly this
    path" (see the shapes above)."""
    regex = regex.replace("(?P<ps_d>", "(?:")  # the named group would repeat in the alternation
    if regex.endswith("/"):
        regex += ".+"
    if not regex.startswith("^"):
        regex = "^.*" + regex if regex != "." else "^.+"
    return regex + r"\Z"


def _read_lines(path: str) -> list[str] | None:
    """The lines of an ignore file, or None when there is none or it is not a regular file
    (git does not follow a symlinked .gitignore either; O_NONBLOCK: a fifo must not hang us)."""
    try:
        fd = os.open(path, _FILE_FLAGS)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = _read_at_most(fd, 1_000_000)  # bounded: an ignore file is small
    except OSError:
        return None
    finally:
        os.close(fd)
    return data.decode("utf-8-sig", errors="replace").splitlines()


def _git_dir(top: str) -> str | None:
    """The git directory holding info/exclude for the work tree at `top` (worktrees included)."""
    dot_git = os.path.join(top, ".git")
    if os.path.isdir(dot_git):
        return dot_git
    lines = _read_lines(dot_git)  # a worktree or submodule: ".git" is a file "gitdir: <path>"
    if not lines or not lines[0].startswith("gitdir:"):
        return None
    git_dir = os.path.join(top, lines[0][len("gitdir:"):].strip())
    common = _read_lines(os.path.join(git_dir, "commondir"))  # a worktree shares info/ with its repo
    return os.path.join(git_dir, common[0].strip()) if common else git_dir


_DEFAULT_PATTERNS = _Patterns(DEFAULT_EXCLUDES)


class IgnoreRules:
    """Decides which paths are not part of the project.

    Precedence, highest first, as git does it: the .gitignore of the path's own directory, then
    its parents' up to the repository top (which may lie above the project root), then
    .git/info/exclude, then DEFAULT_EXCLUDES. Within one directory the .cceignore lines come after
    the .gitignore lines, so they can add exclusions or re-include with "!". Not negatable: VCS
    directories, virtualenvs (pyvenv.cfg) and exclude_dirs. A path inside an ignored directory is
    ignored. The user's global git excludes file is not read (it is not part of the project).

    Ignore files are read lazily, once per directory; call invalidate(rel_dir) when one changes
    (reload() for .git/info/exclude). Shared by the indexer and the watcher threads: lookups only
    add to caches and invalidate() replaces them, so a racing reader at worst reads a file twice.
    """

    def __init__(self, root: Path, exclude_dirs: Iterable[Path] = ()) -> None:
        self.root = Path(root)
        self._root = os.fspath(self.root)
        real_root = os.path.realpath(self._root)
        self._excluded: set[str] = set()
        for directory in exclude_dirs:
            rel = os.path.relpath(os.path.realpath(directory), real_root)
            if rel != ".." and not rel.startswith("../"):
                self._excluded.add("" if rel == "." else rel.replace(os.sep, "/"))
        self._real_root = real_root
        self.reload()

    def reload(self) -> None:
        """Forget every loaded ignore file (and re-read the repository-level ones)."""
        self._dirs: dict[str, _Patterns | None] = {}
        self._chains: dict[str, list[tuple[int, _Patterns]]] = {}
        self._build_output: dict[str, bool] = {}
        # (patterns, prefix): rules above the root see a root-relative path as prefix + path.
        self._outer: list[tuple[_Patterns, str]] = []
        top = self._real_root
        while not os.path.lexists(os.path.join(top, ".git")):
            parent = os.path.dirname(top)
            if parent == top:
                return  # not in a git work tree: no repository-level rules
            top = parent
        between = os.path.relpath(self._real_root, top)
        parts = [] if between == "." else between.split(os.sep)
        # (depth below top, patterns) of the parents' .gitignore files, deepest first; the
        # root's own .gitignore is read lazily like any directory's.
        levels = []
        for depth in range(len(parts) - 1, -1, -1):
            lines = _read_lines(os.path.join(top, *parts[:depth], ".gitignore"))
            if lines:
                levels.append((depth, _Patterns(lines)))
        git_dir = _git_dir(top)
        lines = _read_lines(os.path.join(git_dir, "info", "exclude")) if git_dir else None
        if lines:
            levels.append((0, _Patterns(lines)))
        # If the enclosing repository ignores the root itself (a home directory kept in git with
        # "*" in its .gitignore), its rules say nothing about this project: leave them out.
        for end in range(1, len(parts) + 1):
            for depth, patterns in levels:
                if depth < end:
                    decision = patterns.decide("/".join(parts[depth:end]) + "/")
                    if decision is not None:
                        if decision:
                            return
                        break
        self._outer = [(patterns, "".join(part + "/" for part in parts[depth:])) for depth, patterns in levels]

    def invalidate(self, rel_dir: str) -> None:
        """Re-read the ignore files of one directory ("" is the root) on next use."""
        self._dirs.pop(_normalize(rel_dir), None)
        self._chains = {}  # the chains of every directory below include it
        self._build_output = {}

    def ignores(self, rel_path: str, is_dir: bool) -> bool:
        """Whether the path (relative to the root) is excluded, itself or through a parent dir."""
        rel = _normalize(rel_path)
        if rel == "":
            return False
        if rel == ".." or rel.startswith("../"):
            return True  # outside the project
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            if self._excluded_here("/".join(parts[:depth]), True):
                return True
        return self._excluded_here(rel, is_dir)

    @staticmethod
    def is_rules_file(rel_path: str) -> bool:
        """Whether a change to this file changes the rules (then invalidate its directory): an
        ignore file, or a build manifest (it decides whether a dist/ beside it is build output)."""
        name = rel_path.rsplit("/", 1)[-1]
        return name in IGNORE_FILE_NAMES or name in BUILD_MANIFESTS or name.endswith(_PROJECT_FILE_SUFFIXES)

    def _excluded_here(self, rel: str, is_dir: bool) -> bool:
        """Whether `rel` itself is excluded, assuming none of its parent directories is."""
        if rel.rsplit("/", 1)[-1] in VCS_DIRS or (is_dir and rel in self._excluded):
            return True  # (a submodule's or worktree's ".git" is a file)
        path = rel + "/" if is_dir else rel
        decision: bool | None = None
        # Deepest directory first: the first ignore file with a matching pattern decides.
        cut = rel.rfind("/")
        for offset, patterns in self._chain(rel[:cut] if cut > 0 else ""):
            decision = patterns.decide(path[offset:])
            if decision is not None:
                break
        for patterns, prefix in self._outer:
            if decision is not None:
                break
            decision = patterns.decide(prefix + path)
        if decision is None:
            decision = _DEFAULT_PATTERNS.decide(path)
        if decision is None and is_dir and rel.rpartition("/")[2] in BUILD_OUTPUT_DIRS:
            decision = self._is_build_output(rel)
        if decision:
            return True
        return is_dir and os.path.lexists(os.path.join(self._root, rel, "pyvenv.cfg"))

    def _is_build_output(self, rel_dir: str) -> bool:
        """Whether `dist`, `build` or `target` at rel_dir is build output (see BUILD_OUTPUT_DIRS)."""
        try:
            return self._build_output[rel_dir]
        except KeyError:
            pass
        parent, _, name = rel_dir.rpartition("/")
        try:
            siblings = set(os.listdir(os.path.join(self._root, parent)))
        except OSError:
            siblings = set()
        verdict = bool(siblings & BUILD_MANIFESTS) or any(n.endswith(_PROJECT_FILE_SUFFIXES) for n in siblings)
        if verdict and "package.json" in siblings and "src" not in siblings:
            verdict = not _package_entries_under(os.path.join(self._root, parent, "package.json"), name)
        self._build_output[rel_dir] = verdict
        return verdict

    def _chain(self, rel_dir: str) -> list[tuple[int, _Patterns]]:
        """The ignore files that apply inside rel_dir, deepest first, each with the offset at
        which a root-relative path becomes relative to that file's directory."""
        chains = self._chains
        pending = []
        missing = rel_dir
        while missing not in chains:  # iterative: no recursion limit on deep trees
            pending.append(missing)
            if not missing:
                break
            missing = missing.rpartition("/")[0]
        for directory in reversed(pending):
            above = chains[directory.rpartition("/")[0]] if directory else []
            own = self._patterns_of(directory)
            chains[directory] = [(len(directory) + 1 if directory else 0, own), *above] if own else above
        return chains[rel_dir]

    def _patterns_of(self, rel_dir: str) -> _Patterns | None:
        try:
            return self._dirs[rel_dir]
        except KeyError:
            pass
        lines: list[str] = []
        for name in IGNORE_FILE_NAMES:  # .gitignore first: .cceignore lines win over it
            lines += _read_lines(os.path.join(self._root, rel_dir, name)) or []
        patterns = _Patterns(lines) if lines else None
        self._dirs[rel_dir] = patterns
        return patterns


def _package_entries_under(package_json: str, folder: str) -> bool:
    """Whether package.json's entry points (main, exports, bin, ...) lead into `folder`."""
    lines = _read_lines(package_json)
    try:
        manifest = json.loads("\n".join(lines or ()))
    except ValueError:
        return False
    if not isinstance(manifest, dict):
        return False
    found: list[str] = []
    pending = [manifest.get(key) for key in _PACKAGE_ENTRIES]
    while pending:  # exports and bin may nest objects and lists of paths
        value = pending.pop()
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            pending += value.values()
        elif isinstance(value, list):
            pending += value
    return any(_normalize(entry).startswith(folder + "/") for entry in found)


def _normalize(rel_path: str) -> str:
    rel = rel_path.replace(os.sep, "/").strip("/")
    while rel.startswith("./"):
        rel = rel[2:]
    return "" if rel == "." else rel


# ----- listing ----------------------------------------------------------------------------------


def is_secret_file(rel_path: str) -> bool:
    """Whether the file holds credentials by its nature, so it is never read.

    `.env` and `.env.*` (except templates: .example/.sample/.template/.dist, which are read and
    redacted like any file), `.envrc`, keys and keystores (*.pem, *.key, *.p12, *.pfx, *.jks,
    *.keystore), SSH private keys (id_rsa, id_dsa, id_ecdsa, id_ed25519; the .pub halves are
    fine), credential stores (.npmrc, .pypirc, .netrc, _netrc, .pgpass, .git-credentials,
    .htpasswd, credentials.json, .aws/credentials) and secrets.{yml,yaml,json,toml}.
    """
    parts = rel_path.lower().rsplit("/", 2)
    name = parts[-1]
    if name == ".env" or name.startswith(".env."):
        return not name.endswith((".example", ".sample", ".template", ".dist"))
    if name in _SECRET_NAMES or name.endswith(_SECRET_SUFFIXES):
        return True
    return name == "credentials" and len(parts) > 1 and parts[-2] == ".aws"


_SECRET_NAMES = frozenset({
    ".envrc", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", ".npmrc", ".pypirc", ".netrc", "_netrc",
    ".pgpass", ".git-credentials", ".htpasswd", "credentials.json",
    "secrets.yml", "secrets.yaml", "secrets.json", "secrets.toml",
})
_SECRET_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore")


def _skip_by_name(rel_path: str) -> str | None:
    """The skip reason decided from the name alone (no I/O), if any."""
    if is_secret_file(rel_path):
        return SKIP_SECRET
    if os.path.splitext(rel_path)[1].lower() in BINARY_SUFFIXES:
        return SKIP_BINARY
    if rel_path.lower().endswith(MINIFIED_SUFFIXES):
        return SKIP_MINIFIED
    return None


def walk(
    root: Path, rules: IgnoreRules, max_file_size: int, skipped: Counter[str], under: str = ""
) -> list[FileInfo]:
    """The project's indexable-looking files, sorted by path; skips are counted into `skipped`.

    `under` limits the walk to one directory (paths stay relative to root). Ignored paths are not
    counted: they are not part of the project. Iterative, so depth is unlimited; symlinks are
    counted and never followed; ignored directories are pruned before being entered. Files are
    judged by name and lstat only: read_source decides the rest.
    """
    base = os.fspath(root)
    top = _normalize(under)
    if top and (
        rules.ignores(top, True)
        # A symlink on the way to `under` would make scandir follow it.
        or os.path.realpath(os.path.join(base, top)) != os.path.join(os.path.realpath(base), top)
    ):
        return []
    found: list[FileInfo] = []
    stack = [top]
    while stack:
        rel_dir = stack.pop()
        try:
            with os.scandir(os.path.join(base, rel_dir)) as listing:
                entries = list(listing)
        except (FileNotFoundError, NotADirectoryError):
            skipped[SKIP_VANISHED] += 1  # gone, or replaced by a file, since it was listed
            continue
        except OSError:
            skipped[SKIP_UNREADABLE] += 1
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            reason: str | None = None
            if not is_valid_name(entry.name):
                if not rules._excluded_here(rel, False):
                    skipped[SKIP_BAD_NAME] += 1
                continue
            try:
                if entry.is_symlink():
                    # git records a symlink as a file, so dir-only patterns do not apply to it.
                    if not rules._excluded_here(rel, False):
                        skipped[SKIP_SYMLINK] += 1
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if not rules._excluded_here(rel, True):
                        stack.append(rel)
                    continue
                if rules._excluded_here(rel, False):
                    continue
                reason = _skip_by_name(rel) if entry.is_file(follow_symlinks=False) else SKIP_NOT_REGULAR
                if reason is None:
                    st = entry.stat(follow_symlinks=False)
                    if st.st_size > max_file_size:
                        reason = SKIP_TOO_LARGE
                    else:
                        found.append(FileInfo(rel, st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                reason = SKIP_VANISHED
            except OSError:
                reason = SKIP_UNREADABLE
            if reason:
                skipped[reason] += 1
    found.sort(key=lambda info: info.path)
    return found


def is_valid_name(path: str) -> bool:
    """Whether a path decoded by the OS (surrogate escapes for bytes that are not UTF-8) is text."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# ----- reading ----------------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """The one way cce turns file bytes into text: UTF-8, a leading BOM dropped, invalid bytes
    replaced with U+FFFD (never an error, and the same text every time)."""
    return data.decode("utf-8-sig", errors="replace")


def read_source(root: Path, info: FileInfo | str, max_file_size: int) -> SourceFile | str:
    """Read one file as indexable text, or return the reason it is skipped (a SKIP_* value).

    `info` is a walk() result or a bare relative path (the watcher's), which is then lstat'ed
    first so that fifos, devices and too-large files are never opened. No symlink is followed,
    in the file name or in any directory on the way (each is opened with O_NOFOLLOW). Size and
    mtime come from fstat of the opened file; memory is bounded by max_file_size.
    """
    rel = _normalize(info if isinstance(info, str) else info.path)
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return SKIP_VANISHED  # not a path inside the project
    if not is_valid_name(rel):
        return SKIP_BAD_NAME
    reason = _skip_by_name(rel)
    if reason:
        return reason
    if not isinstance(info, str) and info.size > max_file_size:
        return SKIP_TOO_LARGE
    parent_fd = -1
    fd = -1
    try:
        parent_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        for part in parts[:-1]:
            try:
                next_fd = os.open(part, _DIR_FLAGS, dir_fd=parent_fd)
            except NotADirectoryError:
                # A symlink (or a file) where a directory was: say which.
                st = os.stat(part, dir_fd=parent_fd, follow_symlinks=False)
                return SKIP_SYMLINK if stat.S_ISLNK(st.st_mode) else SKIP_VANISHED
            os.close(parent_fd)
            parent_fd = next_fd
        if isinstance(info, str):
            st = os.stat(parts[-1], dir_fd=parent_fd, follow_symlinks=False)
            reason = _skip_by_stat(st, max_file_size)
            if reason:
                return reason
        fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=parent_fd)
        st = os.fstat(fd)
        reason = _skip_by_stat(st, max_file_size)
        if reason:
            return reason
        data = _read_at_most(fd, max_file_size + 1)
    except (FileNotFoundError, NotADirectoryError):
        return SKIP_VANISHED
    except OSError as exc:
        # O_NOFOLLOW on a symlink fails with ELOOP: one was swapped in after listing.
        return SKIP_SYMLINK if exc.errno == errno.ELOOP else SKIP_UNREADABLE
    finally:
        for opened in (fd, parent_fd):
            if opened >= 0:
                os.close(opened)
    if len(data) > max_file_size:
        return SKIP_TOO_LARGE  # it grew since fstat
    if data.find(b"\0", 0, BINARY_SNIFF_BYTES) >= 0:
        return SKIP_BINARY
    # A notebook written line by line has long lines only in its outputs (a plot's base64), which
    # the chunker leaves out; one written on a single line is as minified as any JSON dump.
    notebook = rel.lower().endswith(".ipynb") and _NOTEBOOK_SOURCE.search(data) is not None
    if not notebook and len(data) > MINIFIED_LINE_BYTES * (data.count(b"\n") + 1):
        return SKIP_MINIFIED
    text, redactions = redact(decode(data))
    return SourceFile(
        path=rel,
        text=text,
        hash=hashlib.sha256(data).hexdigest(),
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        redactions=redactions,
    )


def _skip_by_stat(st: os.stat_result, max_file_size: int) -> str | None:
    if stat.S_ISLNK(st.st_mode):
        return SKIP_SYMLINK
    if not stat.S_ISREG(st.st_mode):
        return SKIP_NOT_REGULAR
    if st.st_size > max_file_size:
        return SKIP_TOO_LARGE
    return None


def _read_at_most(fd: int, limit: int) -> bytes:
    """Up to `limit` bytes, looping because a read may return less than asked."""
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


# ----- secrets ----------------------------------------------------------------------------------

REDACTED = "[REDACTED]"

# Secrets recognisable by their own shape. Each regex starts with a literal, which lets `re` jump
# between candidates (hundreds of MB/s); one alternation of all of them, or a leading lookbehind,
# would make it try every pattern at every position (measured: 3 MB/s). The left boundary (no
# letter, digit or "_" just before) is therefore checked in code.
_TOKEN_SECRETS = tuple(re.compile(pattern) for pattern in (
    # PEM private keys, multi-line or with escaped "\n" (JSON); an unterminated block is redacted
    # as far as its base64 goes. 16+ body characters, so code that merely names the marker stays.
    r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
    r"(?:(?!-----END)[A-Za-z0-9+/=\\\s:,.-]){16,}"
    r"(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
    r"AKIA[A-Z0-9]{16}(?![A-Z0-9])",  # AWS access key ids (long-lived and STS)
    r"ASIA[A-Z0-9]{16}(?![A-Z0-9])",
    r"gh[pousr]_[A-Za-z0-9]{30,255}(?![A-Za-z0-9_])",  # GitHub tokens
    r"github_pat_[A-Za-z0-9_]{30,255}",
    r"xox[abprs]-[A-Za-z0-9-]{10,250}",  # Slack
    r"sk_(?:live|test)_[A-Za-z0-9]{16,247}(?![A-Za-z0-9])",  # Stripe secret and restricted keys
    r"rk_(?:live|test)_[A-Za-z0-9]{16,247}(?![A-Za-z0-9])",
    # OpenAI (sk-..., sk-proj-..., sk-svcacct-..., sk-admin-...) and Anthropic (sk-ant-...).
    r"sk-(?:(?:proj|svcacct|admin|ant)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{32,})(?![A-Za-z0-9_-])",
    r"AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])",  # Google API keys
    r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",  # JWTs
))

# Secrets recognisable only by their key name. Matched on lower-cased text (a case-insensitive
# regex is 10x slower); only the group `v` is replaced, so the key name stays searchable.
_KEYED_SECRETS = (
    # An AWS secret key: 40 base64 characters after (aws_)secret_access_key, quoted or not.
    r"secret_?access_?key[\"']?[ \t]*(?::=|=>|[=:])[ \t]*[\"']?(?P<v>[a-z0-9/+]{40})(?![a-z0-9/+])",
    # `password = "..."`, `"api_key": '...'`, `TOKEN := "..."`: only a quoted literal of 6+
    # characters without spaces, not a template (${...}, {{...}}, <...>, %s) and not code
    # (`password = request.form["password"]` has no literal after the "="). The key name must end
    # the identifier (an allowed suffix aside), so `tokenizer = "bert-base"` is left alone.
    # A value naming its own kind (`EXPIRED_TOKEN = "token_expired"`, `secret="my-secret"`) is a
    # name or a placeholder, not a secret: redact() keeps it.
    r"(?P<k>passw(?:or)?d|passphrase|secret|api[_-]?key|token|private[_-]?key|access[_-]?key)"
    r"(?:[_.-]?(?:key|base|value|str|string|hash|salt|b64)){0,2}"
    r"[\"']?[ \t]*(?::=|=>|[=:])[ \t]*(?P<quote>[\"'])"
    r"(?P<v>(?![$<{%])[^\s\"'\\]{6,500})(?P=quote)",
)
_KEYED = tuple(re.compile(pattern) for pattern in _KEYED_SECRETS)
# For the rare text whose length lower() changes (e.g. "İ"), offsets would not line up.
_KEYED_ANY_CASE = tuple(re.compile(pattern, re.IGNORECASE) for pattern in _KEYED_SECRETS)

_SEPARATORS = str.maketrans("", "", "-_. ")


def _squash(name: str) -> str:
    """"API-Key", "api_key" and "apiKey" all become "apikey"."""
    return name.lower().translate(_SEPARATORS)


_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def redact(text: str) -> tuple[str, int]:
    """Replace secrets with REDACTED, keeping the code around them and the line count.

    A multi-line PEM block keeps its line breaks: its first line becomes the marker and the
    rest empty lines, so chunk line numbers still match the file on disk.
    """
    spans: list[tuple[int, int]] = []
    for regex in _TOKEN_SECRETS:
        for match in regex.finditer(text):
            start = match.start()
            if start == 0 or text[start - 1] not in _WORD_CHARS:
                spans.append(match.span())
    lowered = text.lower()
    keyed, subject = (_KEYED, lowered) if len(lowered) == len(text) else (_KEYED_ANY_CASE, text)
    for regex in keyed:
        for match in regex.finditer(subject):
            kind = match.groupdict().get("k")
            if kind is None or _squash(kind) not in _squash(match.group("v")):
                spans.append(match.span("v"))
    if not spans:
        return text, 0
    spans.sort()
    out: list[str] = []
    done = 0
    count = 0
    for start, end in spans:
        if start < done:
            continue  # overlaps one already redacted (a token inside a `token = "..."`)
        out.append(text[done:start])
        # Keep line breaks (and a \r before them) so nothing below moves.
        breaks = ["\r\n" if line.endswith("\r") else "\n" for line in text[start:end].split("\n")[:-1]]
        out.append(REDACTED + "".join(breaks))
        done = end
        count += 1
    out.append(text[done:])
    return "".join(out), count


# Manifests that name a project, and how to read the name out of each.
_MANIFEST_NAMES = (
    ("package.json", re.compile(r'"name"\s*:\s*"(?:@[^/"]+/)?([^"]+)"')),
    ("pyproject.toml", re.compile(r'^\s*name\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)),
    ("Cargo.toml", re.compile(r'^\s*name\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)),
    ("go.mod", re.compile(r"^module\s+\S*?([^/\s]+)(?:/v\d+)?\s*$", re.MULTILINE)),
)
_VERSION_SUFFIX = re.compile(r"[-_.]v?\d+(?:\.\d+)*(?:[-.]\w+)?$")
_MANIFEST_LEVELS = 3  # the root and two folders up: a checkout's src/ or a package's subfolder
# Folder names that say where code sits, not what the project is called.
_GENERIC_FOLDERS = frozenset(
    "app apps code lib libs main master package packages project repo root source sources src trunk work "
    "workspace".split()
)


def project_names(root: Path) -> frozenset[str]:
    """Lowercased names the project goes by: its folder's (less a version suffix) and the names in
    package.json, pyproject.toml, Cargo.toml or go.mod at the root or up to two folders above it."""
    names = {_VERSION_SUFFIX.sub("", root.name)}
    for folder in [root, *root.parents][:_MANIFEST_LEVELS]:
        for manifest, pattern in _MANIFEST_NAMES:
            try:
                with open(folder / manifest, encoding="utf-8", errors="replace") as f:
                    found = pattern.search(f.read(64_000))
            except OSError:
                continue
            if found:
                names.add(found.group(1))
    return frozenset(n.lower() for n in names if len(n) >= 3 and n.lower() not in _GENERIC_FOLDERS)
