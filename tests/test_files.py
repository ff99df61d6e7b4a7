"""cce.files on real temp trees: ignore rules, walking, safe reading, secrets."""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import time
from collections import Counter
from pathlib import Path

import pytest

import cce.files
from cce.files import (
    REDACTED,
    FileInfo,
    IgnoreRules,
    SourceFile,
    is_secret_file,
    read_source,
    redact,
    walk,
)

MAX = 1_000_000


def make(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def listed(root: Path, rules: IgnoreRules | None = None, skipped: Counter[str] | None = None) -> list[str]:
    rules = rules or IgnoreRules(root)
    return [info.path for info in walk(root, rules, MAX, skipped if skipped is not None else Counter())]


def on_disk(root: Path) -> tuple[list[str], list[str]]:
    """Every file and directory under root (relative), without following symlinks."""
    files: list[str] = []
    dirs: list[str] = []
    for top, dirnames, filenames in os.walk(root):
        rel_top = os.path.relpath(top, root)
        prefix = "" if rel_top == "." else rel_top + "/"
        dirs += [prefix + d for d in dirnames]
        files += [prefix + f for f in filenames]
    return sorted(files), sorted(dirs)


def assert_ignores_agrees_with_walk(root: Path, rules: IgnoreRules) -> None:
    found = set(listed(root, rules))
    files, dirs = on_disk(root)
    for rel in files:
        assert rules.ignores(rel, False) == (rel not in found), rel
    for rel in dirs:
        # An admitted directory is one with an admitted file below it, or one walk entered.
        if any(f.startswith(rel + "/") for f in found):
            assert not rules.ignores(rel, True), rel


def read(root: Path, rel: str, max_size: int = MAX) -> SourceFile:
    source = read_source(root, rel, max_size)
    assert isinstance(source, SourceFile), source
    return source


# ----- ignore rules -----------------------------------------------------------------------------


def test_gitignore_semantics_nested_negation_anchoring_dir_only(tmp_path: Path) -> None:
    make(tmp_path, {
        ".gitignore": "*.log\n!keep.log\n/gen\nlogs/\n**/cache/*.txt\n# a comment\n\n",
        ".cceignore": "generated/\n!wanted.log\n",
        ".git/info/exclude": "local-notes.txt\n",
        "app.py": "x",
        "a.log": "x", "keep.log": "x", "wanted.log": "x",
        "gen/out.txt": "x", "sub/gen/src.txt": "x",  # only the root's gen/ is anchored
        "logs/x.txt": "x", "sub/logs/y.txt": "x", "sub/other/logs": "x",  # a *file* named logs stays
        "cache/a.txt": "x", "deep/er/cache/b.txt": "x", "deep/er/cache/c.py": "x",
        "generated/g.py": "x",
        "local-notes.txt": "x", "sub/local-notes.txt": "x",  # info/exclude, unanchored
        "sub/.gitignore": "*.md\n!/special.log\n",
        "sub/.cceignore": "fixtures/\n",
        "sub/special.log": "x", "sub/b.log": "x", "sub/keep.log": "x",
        "sub/notes.md": "x", "sub/deeper/more.md": "x", "readme.md": "x",
        "sub/fixtures/f.json": "x",
    })
    assert listed(tmp_path) == [
        "app.py", "deep/er/cache/c.py", "keep.log", "readme.md",
        "sub/gen/src.txt", "sub/keep.log", "sub/other/logs",
        "sub/special.log", "wanted.log",
    ]
    assert_ignores_agrees_with_walk(tmp_path, IgnoreRules(tmp_path))


def test_files_under_an_ignored_directory_cannot_be_re_included(tmp_path: Path) -> None:
    make(tmp_path, {
        ".gitignore": "logs/\n!logs/keep.txt\nout/**\n!out/keep.txt\n",
        "logs/keep.txt": "x", "out/keep.txt": "x", "out/drop.txt": "x", "out/sub/keep.txt": "x",
    })
    # git: logs/ itself is excluded, so nothing inside comes back; out/** excludes only what is
    # inside out/, so out/keep.txt can be re-included (but not out/sub/keep.txt: out/sub/ is out).
    assert listed(tmp_path) == ["out/keep.txt"]
    rules = IgnoreRules(tmp_path)
    assert rules.ignores("logs/keep.txt", False)
    assert not rules.ignores("out", True)
    assert rules.ignores("out/sub", True)


def test_whitelist_idiom_star_then_negated_dirs(tmp_path: Path) -> None:
    # "*" + "!*/" + "!*.py": only Python files, at any depth. pathspec alone re-includes every
    # file under a re-included directory here; git (and cce) do not.
    make(tmp_path, {".gitignore": "*\n!*/\n!*.py\n", "a.py": "x", "a.txt": "x", "src/pkg/b.py": "x",
                    "src/pkg/b.txt": "x"})
    assert listed(tmp_path) == ["a.py", "src/pkg/b.py"]


def test_double_star_patterns(tmp_path: Path) -> None:
    make(tmp_path, {
        ".gitignore": "**/tmp\na/**/z.txt\nsrc/**/\n",
        "tmp/x.py": "x", "q/tmp/x.py": "x", "a/z.txt": "x", "a/b/c/z.txt": "x", "b/z.txt": "x",
        "src/top.py": "x", "src/inner/low.py": "x",
    })
    # src/**/ matches the directories below src/, not src/ itself
    assert listed(tmp_path) == ["b/z.txt", "src/top.py"]


def test_patterns_and_names_with_spaces_and_non_ascii(tmp_path: Path) -> None:
    make(tmp_path, {".gitignore": "my\\ notes.txt\nü*.log\n\\#hash\n", "my notes.txt": "x", "ü1.log": "x",
                    "#hash": "x", "u1.log": "x"})
    assert listed(tmp_path) == ["u1.log"]


def test_default_excludes_and_virtualenvs_by_pyvenv_cfg(tmp_path: Path) -> None:
    make(tmp_path, {
        "main.py": "x", "pyproject.toml": "x",  # a manifest: dist/, build/ and target/ are its build output
        ".git/config": "x", ".hg/store": "x", "node_modules/a/index.js": "x", "pkg/__pycache__/m.pyc": "x",
        "dist/a.js": "x", "build/b.js": "x", "target/c.rs": "x", "foo.egg-info/PKG-INFO": "x",
        "package-lock.json": "{}", "sub/yarn.lock": "x", "go.sum": "x", "m.pyc": "x", "lib.so": "x",
        ".DS_Store": "x", ".mypy_cache/x": "x", ".pytest_cache/x": "x", ".idea/ws.xml": "x",
        "myenv/pyvenv.cfg": "home = /usr", "myenv/lib/site.py": "x",  # a venv, whatever its name
        "env/settings.py": "x",  # named env but no pyvenv.cfg: ordinary code
        "vendor/lib.go": "x", ".vscode/settings.json": "{}", "out/gen.py": "x",
    })
    assert listed(tmp_path) == ["env/settings.py", "main.py", "out/gen.py", "pyproject.toml",
                                "vendor/lib.go"]
    rules = IgnoreRules(tmp_path)
    assert rules.ignores("myenv", True) and rules.ignores("myenv/lib/site.py", False)
    assert not rules.ignores("env", True)


def test_build_output_is_skipped_only_where_it_is_build_output(tmp_path: Path) -> None:
    make(tmp_path, {
        # A Python package named build, in a src layout: source.
        "py/pyproject.toml": "x", "py/src/build/__init__.py": "x", "py/build/lib/build/__init__.py": "x",
        # Go's go/build package and a Rust crate with its target/.
        "go/go.mod": "x", "go/go/build/build.go": "x", "rs/Cargo.toml": "x", "rs/src/lib.rs": "x",
        "rs/target/debug/out.rs": "x",
        # A TypeScript package: its dist/ is built from src/.
        "ts/package.json": '{"main": "dist/index.js"}', "ts/src/index.ts": "x", "ts/dist/index.js": "x",
        # A package that ships only its build: there dist/ is the code.
        "js/package.json": '{"exports": {".": {"import": "./dist/index.mjs"}}}', "js/dist/index.mjs": "x",
        # No manifest beside it: a folder like any other.
        "site/dist/app.js": "x",
    })
    assert listed(tmp_path) == [
        "go/go.mod", "go/go/build/build.go", "js/dist/index.mjs", "js/package.json", "py/pyproject.toml",
        "py/src/build/__init__.py", "rs/Cargo.toml", "rs/src/lib.rs", "site/dist/app.js", "ts/package.json",
        "ts/src/index.ts",
    ]


def test_project_rules_can_re_include_a_default_exclude_but_not_vcs_or_venv(tmp_path: Path) -> None:
    make(tmp_path, {".gitignore": "!dist/\n!.git/\n!venv/\n", "dist/a.js": "x", ".git/HEAD": "x",
                    "venv/pyvenv.cfg": "x", "venv/x.py": "x"})
    assert listed(tmp_path) == ["dist/a.js"]


def test_exclude_dirs_are_never_entered(tmp_path: Path) -> None:
    make(tmp_path, {"a.py": "x", "cce/index/data.txt": "x", "cce/kept.py": "x", "other/x.py": "x"})
    outside = tmp_path.parent / (tmp_path.name + "-elsewhere")
    rules = IgnoreRules(tmp_path, exclude_dirs=[tmp_path / "cce" / "index", outside])
    assert listed(tmp_path, rules) == ["a.py", "cce/kept.py", "other/x.py"]
    assert rules.ignores("cce/index", True) and rules.ignores("cce/index/data.txt", False)
    assert not rules.ignores("cce", True)


def test_rules_of_an_enclosing_repository_apply_to_a_subfolder_project(tmp_path: Path) -> None:
    make(tmp_path, {
        ".git/info/exclude": "svc/local.txt\n",
        ".gitignore": "*.gen\n",
        "svc/.gitignore": "*.tmp\n",
        "svc/a.py": "x", "svc/a.gen": "x", "svc/local.txt": "x", "svc/b.tmp": "x",
    })
    assert listed(tmp_path / "svc") == ["a.py"]


def test_enclosing_repository_that_ignores_the_project_itself_is_disregarded(tmp_path: Path) -> None:
    # A home directory kept in git with "*" ignored: a project below it is still a project.
    make(tmp_path, {".git/HEAD": "x", ".gitignore": "*\n", "proj/a.py": "x"})
    assert listed(tmp_path / "proj") == ["a.py"]


def test_invalidate_picks_up_a_changed_gitignore(tmp_path: Path) -> None:
    make(tmp_path, {"sub/a.txt": "x", "sub/b.txt": "x"})
    rules = IgnoreRules(tmp_path)
    assert not rules.ignores("sub/a.txt", False)
    (tmp_path / "sub/.gitignore").write_text("a.txt\n")
    assert not rules.ignores("sub/a.txt", False)  # cached until told
    rules.invalidate("sub")
    assert rules.ignores("sub/a.txt", False)
    assert listed(tmp_path, rules) == ["sub/b.txt"]
    assert IgnoreRules.is_rules_file("sub/.gitignore") and IgnoreRules.is_rules_file(".cceignore")
    assert not IgnoreRules.is_rules_file("sub/gitignore.py")


def test_ignores_normalises_paths_and_rejects_outside(tmp_path: Path) -> None:
    make(tmp_path, {".gitignore": "*.log\n"})
    rules = IgnoreRules(tmp_path)
    assert rules.ignores("./a.log", False)
    assert not rules.ignores("", True)
    assert rules.ignores("../x.py", False)


# ----- walking ----------------------------------------------------------------------------------


def test_walk_counts_skips_and_lists_sorted_fileinfo(tmp_path: Path) -> None:
    make(tmp_path, {"b.py": "bbb", "a/z.py": "z", "logo.png": b"\x89PNG", "id_rsa": "k", "app.min.js": "x",
                    "huge.txt": "x" * 2000})
    skipped: Counter[str] = Counter()
    infos = walk(tmp_path, IgnoreRules(tmp_path), 1000, skipped)
    assert [i.path for i in infos] == ["a/z.py", "b.py"]
    st = (tmp_path / "b.py").stat()
    assert infos[1] == FileInfo("b.py", 3, st.st_mtime_ns)
    assert skipped == Counter({"binary": 1, "secret": 1, "minified": 1, "too-large": 1})


def test_symlinks_are_counted_never_followed(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    outside = tmp_path / "outside"
    make(outside, {"secret.txt": "outside"})
    make(root, {"real/a.py": "x"})
    (root / "loop").symlink_to(".")  # a loop
    (root / "real/up").symlink_to("..")  # another loop
    (root / "out").symlink_to(outside)  # a directory outside the project
    (root / "f.txt").symlink_to(outside / "secret.txt")  # a file outside
    (root / "dangling").symlink_to(root / "nowhere")
    skipped: Counter[str] = Counter()
    assert listed(root, skipped=skipped) == ["real/a.py"]
    assert skipped == Counter({"symlink": 5})
    assert read_source(root, "f.txt", MAX) == "symlink"
    assert read_source(root, "out/secret.txt", MAX) == "symlink"  # a symlinked directory on the way
    assert read_source(root, "loop/real/a.py", MAX) == "symlink"
    assert walk(root, IgnoreRules(root), MAX, Counter(), under="out") == []


def test_ignored_symlinks_are_not_counted(tmp_path: Path) -> None:
    make(tmp_path, {".gitignore": "link\n", "a.py": "x"})
    (tmp_path / "link").symlink_to(".")
    skipped: Counter[str] = Counter()
    assert listed(tmp_path, skipped=skipped) == ["a.py"]
    assert skipped == Counter()


def test_fifo_and_socket_are_not_regular_and_never_block(tmp_path: Path) -> None:
    make(tmp_path, {"a.py": "x", "swap.py": "x"})
    os.mkfifo(tmp_path / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / "sock"))
        skipped: Counter[str] = Counter()
        infos = walk(tmp_path, IgnoreRules(tmp_path), MAX, skipped)
        assert [i.path for i in infos] == ["a.py", "swap.py"]
        assert skipped == Counter({"not-regular": 2})
        assert read_source(tmp_path, "pipe", MAX) == "not-regular"
        # A fifo swapped in after listing is opened (O_NONBLOCK: no writer needed), then refused.
        (tmp_path / "swap.py").unlink()
        os.mkfifo(tmp_path / "swap.py")
        started = time.monotonic()
        assert read_source(tmp_path, infos[1], MAX) == "not-regular"
        assert time.monotonic() - started < 2
    finally:
        sock.close()


def test_a_tree_100_levels_deep(tmp_path: Path) -> None:
    rel = "/".join(["d"] * 100) + "/leaf.py"
    make(tmp_path, {rel: "deep = True\n", ".gitignore": "skip.py\n"})
    make(tmp_path, {rel.replace("leaf.py", "skip.py"): "x"})
    assert listed(tmp_path) == [rel]
    assert read(tmp_path, rel).text == "deep = True\n"
    assert IgnoreRules(tmp_path).ignores(rel.replace("leaf.py", "skip.py"), False)


def test_walk_under_a_subdirectory(tmp_path: Path) -> None:
    make(tmp_path, {".gitignore": "*.log\n", "a/x.py": "x", "a/b/y.py": "y", "a/z.log": "x", "c/w.py": "w",
                    "node_modules/m.js": "x"})
    rules = IgnoreRules(tmp_path)
    assert [i.path for i in walk(tmp_path, rules, MAX, Counter(), under="a")] == ["a/b/y.py", "a/x.py"]
    assert walk(tmp_path, rules, MAX, Counter(), under="node_modules") == []


def test_odd_file_names(tmp_path: Path) -> None:
    names = ["with space.py", "quote'\"s.py", "new\nline.py", "ünïcödé.py", "-dash.py", "back\\slash.py",
             "日本語/ファイル.py"]
    make(tmp_path, {name: f"# {i}\n" for i, name in enumerate(names)})
    raw = os.fsencode(tmp_path) + b"/latin1-\xe9.py"  # a name that is not UTF-8
    with open(raw, "wb") as handle:
        handle.write(b"# raw\n")
    found = listed(tmp_path)
    # A name that is not UTF-8 could be neither stored (SQLite text) nor shown: skipped, counted.
    assert sorted(names) == found
    skipped: Counter = Counter()
    walk(tmp_path, IgnoreRules(tmp_path), MAX, skipped)
    assert skipped == Counter({"undecodable-name": 1})
    assert read_source(tmp_path, os.fsdecode(b"latin1-\xe9.py"), MAX) == "undecodable-name"
    for rel in found:
        assert read(tmp_path, rel).text.startswith("# ")


def test_too_large_sparse_file_is_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make(tmp_path, {"small.py": "x"})
    with open(tmp_path / "huge.txt", "wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # sparse: 100 MB of size, no data
    opened: list[str] = []
    real_open = os.open

    def spy(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(os.fsdecode(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(cce.files.os, "open", spy)
    started = time.monotonic()
    skipped: Counter[str] = Counter()
    infos = walk(tmp_path, IgnoreRules(tmp_path), MAX, skipped)
    assert time.monotonic() - started < 1
    assert [i.path for i in infos] == ["small.py"] and skipped == Counter({"too-large": 1})
    assert read_source(tmp_path, "huge.txt", MAX) == "too-large"
    assert read_source(tmp_path, FileInfo("huge.txt", 100 * 1024 * 1024, 0), MAX) == "too-large"
    assert "huge.txt" not in opened


def test_a_file_bigger_than_listed_is_caught_by_fstat(tmp_path: Path) -> None:
    make(tmp_path, {"grew.txt": "x" * 2000})
    assert read_source(tmp_path, FileInfo("grew.txt", 10, 0), 1000) == "too-large"


def test_binary_by_nul_byte_or_extension(tmp_path: Path) -> None:
    make(tmp_path, {"data.txt": b"abc\x00def", "late.txt": b"a = 1\n" * 2000 + b"\x00", "pic.png": b"not even png"})
    assert read_source(tmp_path, "data.txt", MAX) == "binary"
    assert read_source(tmp_path, "pic.png", MAX) == "binary"
    # only the first 8 KiB are sniffed
    assert isinstance(read_source(tmp_path, "late.txt", MAX), SourceFile)


def test_minified_by_name_or_by_average_line_length(tmp_path: Path) -> None:
    make(tmp_path, {
        "lib.min.js": "var a=1;\n", "app.js.map": "{}\n", "bundle.js": "x" * 5000,
        "long_lines.py": ("y" * 900 + "\n") * 10,  # long but under 1000 bytes a line on average
    })
    assert read_source(tmp_path, "lib.min.js", MAX) == "minified"
    assert read_source(tmp_path, "app.js.map", MAX) == "minified"
    assert read_source(tmp_path, "bundle.js", MAX) == "minified"
    assert read(tmp_path, "long_lines.py").text.count("\n") == 10


def test_a_notebook_with_a_plot_is_read_not_skipped_as_minified(tmp_path: Path) -> None:
    # Its long lines are outputs (a plot's base64), which the chunker leaves out.
    plot = "iVBORw0KGgo" * 3000
    notebook = f'{{\n "cells": [\n  {{\n   "outputs": [{{"data": {{"image/png": "{plot}"}}}}],\n   "source": [\n'
    notebook += '    "x = 1\\n"\n   ]\n  }}\n ]\n}}\n'
    flat = notebook.replace("\n", "")  # written on one line: as minified as any JSON dump
    make(tmp_path, {"analysis.ipynb": notebook, "analysis.json": notebook, "flat.ipynb": flat})
    assert read(tmp_path, "analysis.ipynb").text == notebook
    assert read_source(tmp_path, "analysis.json", MAX) == "minified"
    assert read_source(tmp_path, "flat.ipynb", MAX) == "minified"


def test_invalid_utf8_is_replaced_and_hash_is_of_raw_bytes(tmp_path: Path) -> None:
    raw = b"\xef\xbb\xbfok = 1\nbad = '\xff\xfe'\n"
    make(tmp_path, {"m.py": raw})
    source = read(tmp_path, "m.py")
    assert source.text == "ok = 1\nbad = '\ufffd\ufffd'\n"  # BOM dropped, bad bytes replaced
    assert source.hash == hashlib.sha256(raw).hexdigest()
    st = (tmp_path / "m.py").stat()
    assert (source.size, source.mtime_ns, source.redactions) == (len(raw), st.st_mtime_ns, 0)
    assert read(tmp_path, "m.py") == source  # the same every time


def test_empty_file(tmp_path: Path) -> None:
    make(tmp_path, {"empty.py": ""})
    source = read(tmp_path, "empty.py")
    assert (source.text, source.size, source.hash) == ("", 0, hashlib.sha256(b"").hexdigest())


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make(tmp_path, {"locked.py": "x", "ok.py": "y"})
    (tmp_path / "locked.py").chmod(0)
    if os.geteuid() != 0:
        assert read_source(tmp_path, "locked.py", MAX) == "unreadable"
    # As root chmod 000 does not stop reads, so simulate what the kernel would say.
    real_open = os.open

    def deny(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if path == "locked.py":
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(cce.files.os, "open", deny)
    assert read_source(tmp_path, "locked.py", MAX) == "unreadable"
    assert read(tmp_path, "ok.py").text == "y"


def test_unreadable_directory_is_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make(tmp_path, {"open/a.py": "x", "closed/b.py": "x"})
    real_scandir = os.scandir

    def deny(path):  # type: ignore[no-untyped-def]
        if os.fspath(path).endswith("closed"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(cce.files.os, "scandir", deny)
    skipped: Counter[str] = Counter()
    assert listed(tmp_path, skipped=skipped) == ["open/a.py"]
    assert skipped == Counter({"unreadable": 1})


def test_vanished_and_replaced_files(tmp_path: Path) -> None:
    make(tmp_path, {"gone.py": "x", "dir/f.py": "x", "swapped.py": "x", "target.py": "t"})
    infos = {i.path: i for i in walk(tmp_path, IgnoreRules(tmp_path), MAX, Counter())}
    (tmp_path / "gone.py").unlink()
    assert read_source(tmp_path, infos["gone.py"], MAX) == "vanished"
    # a directory replaced by a file
    (tmp_path / "dir/f.py").unlink()
    (tmp_path / "dir").rmdir()
    (tmp_path / "dir").write_text("now a file")
    assert read_source(tmp_path, infos["dir/f.py"], MAX) == "vanished"
    # a symlink swapped in for a listed file: O_NOFOLLOW refuses it (ELOOP)
    (tmp_path / "swapped.py").unlink()
    (tmp_path / "swapped.py").symlink_to(tmp_path / "target.py")
    assert read_source(tmp_path, infos["swapped.py"], MAX) == "symlink"
    # and a path that is not inside the project at all
    assert read_source(tmp_path, "../outside.py", MAX) == "vanished"


# ----- secrets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [".env", "config/.env", ".env.local", ".env.production", ".envrc", "server.pem", "tls.key", "cert.p12",
     "store.pfx", "release.keystore", "app.jks", "id_rsa", "home/.ssh/id_ed25519", "id_ecdsa", "id_dsa",
     ".npmrc", ".pypirc", ".netrc", "_netrc", ".pgpass", ".git-credentials", ".htpasswd",
     "credentials.json", ".aws/credentials", "config/secrets.yml", "secrets.json", "SECRETS.YAML"],
)
def test_secret_files(name: str) -> None:
    assert is_secret_file(name)


@pytest.mark.parametrize(
    "name",
    [".env.example", ".env.sample", ".env.template", "id_rsa.pub", "keys.py", "secrets.py", "credentials",
     "environment.py", "env.py", "monkey.keynote.txt", "pem.py"],
)
def test_not_secret_files(name: str) -> None:
    assert not is_secret_file(name)


def test_secret_files_are_skipped_and_templates_redacted(tmp_path: Path) -> None:
    make(tmp_path, {".env": "API_KEY=live\n", "deploy/id_rsa": "k", ".env.example": 'API_TOKEN="abc123def456"\n',
                    "a.py": "x"})
    skipped: Counter[str] = Counter()
    assert listed(tmp_path, skipped=skipped) == ["a.py"]
    assert skipped == Counter({"secret": 1})  # .env is hidden: not part of the project at all
    assert read_source(tmp_path, ".env", MAX) == "secret"
    example = read(tmp_path, ".env.example")
    assert example.text == f'API_TOKEN="{REDACTED}"\n' and example.redactions == 1


PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "-----END RSA PRIVATE KEY-----"
)

# (line with a secret, what must remain afterwards); the secret part must be gone.
SECRETS = [
    ('aws_id = "AKIAIOSFODNN7EXAMPLE"  # id', f'aws_id = "{REDACTED}"  # id', "AKIAIOSFODNN7"),
    ('sts = "ASIAY34FZKBOKMUTVV7A"', f'sts = "{REDACTED}"', "ASIAY34"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     f"aws_secret_access_key = {REDACTED}", "wJalrXUtn"),
    ('"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",', f'"SecretAccessKey": "{REDACTED}",',
     "wJalrXUtn"),
    ('gh = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"', f'gh = "{REDACTED}"', "ghp_16C7"),
    ('push(token="gho_16C7e42F292c6912E7710c838347Ae178B4a")', f'push(token="{REDACTED}")', "gho_16C7"),
    ("GH=github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN", f"GH={REDACTED}",
     "github_pat_11"),
    ('slack("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx")', f'slack("{REDACTED}")', "xoxb-1234"),
    ("stripe.api = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'", f"stripe.api = '{REDACTED}'", "sk_live_4eC"),
    ("rk = 'rk_test_4eC39HqLyjWDarjtT1zdp7dc'", f"rk = '{REDACTED}'", "rk_test_4eC"),
    ('client = OpenAI("sk-proj-abcDEF123_ghiJKL456-mnoPQR789stuVWX")', f'client = OpenAI("{REDACTED}")',
     "sk-proj-abc"),
    ('old = "sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL"', f'old = "{REDACTED}"', "sk-abcdef"),
    ('anthropic("sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345")', f'anthropic("{REDACTED}")', "sk-ant-api"),
    ('maps_key = "AIzaSyA-1234567890abcdefghijklmnopqrstu"', f'maps_key = "{REDACTED}"', "AIzaSyA"),
    ("auth: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     f"auth: Bearer {REDACTED}", "eyJhbGci"),
    ('DB_PASSWORD = "hunter2hunter2"', f'DB_PASSWORD = "{REDACTED}"', "hunter2"),
    ("config = {'api_key': 'abcdef123456'}", f"config = {{'api_key': '{REDACTED}'}}", "abcdef123456"),
    ('  password: "correct-horse-battery-staple"', f'  password: "{REDACTED}"', "horse"),
    ('secret := "s3cr3tvalue"', f'secret := "{REDACTED}"', "s3cr3t"),
    ("$conf = ['apiKey' => 'k9Fh2Lq8Zp'];", f"$conf = ['apiKey' => '{REDACTED}'];", "k9Fh2"),
    ('this.clientSecret = "Zx81kkJq22"', f'this.clientSecret = "{REDACTED}"', "Zx81kk"),
]


@pytest.mark.parametrize(("line", "kept", "secret"), SECRETS)
def test_each_secret_kind_is_redacted_in_place(line: str, kept: str, secret: str) -> None:
    text = f"before()\n{line}\nafter()\n"
    out, count = redact(text)
    assert out == f"before()\n{kept}\nafter()\n"
    assert secret not in out and count == 1


@pytest.mark.parametrize(
    "line",
    [
        'password = request.form["password"]',  # code, not a literal
        'tokenizer = "bert-base-uncased"',  # not a key name ending there
        'max_tokens: "1234567"',
        'token = "short"',  # under 6 characters
        'url = "${SECRET_TOKEN_VALUE}"', 'password = "{{ vault_password }}"', 'api_key = "<your-key>"',
        'password_help = "Enter your password"',  # has spaces: prose
        'EXPIRED_TOKEN = "token_expired"', 'secret = "my-secret"',  # names and placeholders
        'if password == "hunter2hunter2":',  # a comparison is not an assignment
        'if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):',  # names the marker only
        'key = "AKIAIOSFODNN7EXAMPLEXX"',  # too long for an access key id
        'task-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL = 1',  # "sk-" inside a word
    ],
)
def test_code_that_only_looks_like_a_secret_is_kept(line: str) -> None:
    assert redact(line + "\n") == (line + "\n", 0)


def test_pem_block_keeps_its_line_count_and_surroundings() -> None:
    text = f'KEY = """\n{PEM}\n"""\nuse(KEY)\n'
    out, count = redact(text)
    assert count == 1
    assert out == f'KEY = """\n{REDACTED}\n\n\n\n"""\nuse(KEY)\n'
    assert out.count("\n") == text.count("\n")
    crlf = text.replace("\n", "\r\n")
    out, _ = redact(crlf)
    assert out == f'KEY = """\r\n{REDACTED}\r\n\r\n\r\n\r\n"""\r\nuse(KEY)\r\n'


def test_pem_variants() -> None:
    escaped = '{"private_key": "' + PEM.replace("\n", "\\n") + '\\n", "client_email": "a@b.c"}'
    assert redact(escaped) == ('{"private_key": "' + REDACTED + '\\n", "client_email": "a@b.c"}', 1)
    openssh = PEM.replace("RSA", "OPENSSH")
    assert redact(openssh) == (REDACTED + "\n\n\n", 1)
    truncated = "k = '''\n" + PEM.rsplit("\n", 1)[0] + "\n'''\nnext_line()\n"  # no END line
    out, _ = redact(truncated)
    assert "MIIE" not in out and out.endswith("'''\nnext_line()\n")
    assert out.count("\n") == truncated.count("\n")


def test_many_secrets_in_one_text_and_nothing_else_changes() -> None:
    lines = [line for line, _, _ in SECRETS]
    filler = [f"def f{i}(x):  # ordinary code {i}" for i in range(len(lines))]
    text = "\n".join(a + "\n" + b for a, b in zip(filler, lines, strict=True)) + "\n" + PEM + "\nend\n"
    out, count = redact(text)
    assert count == len(SECRETS) + 1
    assert out.splitlines()[::2][: len(filler)] == filler
    assert out.count("\n") == text.count("\n")
    for _, _, secret in SECRETS:
        assert secret not in out


def test_redaction_offsets_survive_text_whose_lowercase_changes_length() -> None:
    # "İ".lower() is two characters: the case-folded search must not shift the replacement.
    text = 'İstanbul = 1\npassword = "hunter2hunter2"\nİ = 2\n'
    assert redact(text) == (f'İstanbul = 1\npassword = "{REDACTED}"\nİ = 2\n', 1)


def test_read_source_redacts_and_counts(tmp_path: Path) -> None:
    raw = 'import os\nTOKEN = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"\nprint(TOKEN)\n'
    make(tmp_path, {"conf.py": raw})
    source = read(tmp_path, "conf.py")
    assert source.text == f'import os\nTOKEN = "{REDACTED}"\nprint(TOKEN)\n'
    assert source.redactions == 1
    assert source.hash == hashlib.sha256(raw.encode()).hexdigest()  # of the file, not the redacted text


def test_hidden_files_and_folders_are_skipped_unless_brought_back(tmp_path: Path) -> None:
    make(tmp_path, {
        "app.py": "x", ".eslintrc.js": "x", ".github/workflows/ci.yml": "x", ".agents/skill.md": "x",
        "src/.hidden.py": "x",
    })
    assert listed(tmp_path) == ["app.py"]
    (tmp_path / ".cceignore").write_text("!.github/\n")
    assert listed(tmp_path) == [".github/workflows/ci.yml", "app.py"]
