"""Everyday use: the documented --json shapes, settings and where they come from, progress only on a TTY."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

from tests.helpers import ROOT, make_project, run_cce

INDEX_KEYS = {
    "files",
    "files_indexed",
    "files_unchanged",
    "files_removed",
    "chunks_embedded",
    "chunks_reused",
    "tokens_embedded",
    "skipped",
    "seconds",
    "interrupted",
    "rechunked",
}
STATUS_KEYS_BEFORE = {"project", "store", "indexed", "settings"}
STATUS_KEYS_AFTER = STATUS_KEYS_BEFORE | {
    "files",
    "chunks",
    "store_bytes",
    "model_id",
    "format",
    "generation",
    "last_index_at",
    "changed_since",
    "deleted_since",
    "skipped",
    "writer_pid",
}
SETTING_NAMES = {"threads", "max_file_size", "debounce_ms", "model_keep_alive", "offline", "model_dir", "home"}


def as_json(*args: str, env: dict, cwd=None):
    result = run_cce(*args, "--json", env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_json_shapes_of_every_reporting_command(project, env, tiny_model_dir):
    status = as_json("status", env=env, cwd=project)
    assert set(status) == STATUS_KEYS_BEFORE and status["indexed"] is False
    assert set(status["settings"]) == SETTING_NAMES
    assert all(set(v) == {"value", "from"} for v in status["settings"].values())

    summary = as_json("index", str(project), env=env)
    assert set(summary) == INDEX_KEYS

    status = as_json("status", env=env, cwd=project)
    assert set(status) == STATUS_KEYS_AFTER and status["indexed"] is True

    search = as_json("search", "retry", env=env, cwd=project)
    assert set(search) == {"query", "mode", "hits"}

    assert as_json("model", "path", env=env, cwd=project) == {
        "model_id": status["model_id"],
        "dir": str(tiny_model_dir),
    }
    verify = as_json("model", "verify", env=env, cwd=project)
    assert verify and all(set(v) == {"file", "ok", "detail"} for v in verify)

    cleared = as_json("clear", env=env, cwd=project)
    assert cleared == {"store": status["store"], "removed": True}
    assert as_json("clear", env=env, cwd=project)["removed"] is False


def test_status_shows_each_setting_and_where_it_came_from(project, env):
    (project / ".cce.toml").write_text('max_file_size = "500K"\ndebounce_ms = 100\n')
    env = {**env, "CCE_DEBOUNCE_MS": "250"}
    status = as_json("status", "--threads", "1", env=env, cwd=project)
    settings = status["settings"]
    assert settings["threads"] == {"value": 1, "from": "flag"}
    assert settings["debounce_ms"] == {"value": 250, "from": "env"}  # env beats the file
    assert settings["max_file_size"] == {"value": 500_000, "from": ".cce.toml"}
    assert settings["offline"] == {"value": True, "from": "env"}
    assert settings["model_dir"]["from"] == "env"
    text = run_cce("status", env={**env, "CCE_THREADS": "1"}, cwd=project).stdout
    assert "threads=1 (env)" in text and "max_file_size=500000 (.cce.toml)" in text
    bad = run_cce("status", "--threads", "many", env=env, cwd=project)
    assert bad.returncode == 2 and "accepted values" in bad.stderr


def test_the_replaced_tools_setting_is_reported_once(project, env):
    result = run_cce("status", env={**env, "CCE_EMBED_PARALLEL": "4"}, cwd=project)
    assert result.returncode == 0
    notices = [line for line in result.stderr.splitlines() if "CCE_EMBED_PARALLEL" in line]
    assert len(notices) == 1
    assert "one process" in notices[0] and "CCE_THREADS" in notices[0]
    assert "CCE_EMBED_PARALLEL" not in run_cce("status", env=env, cwd=project).stderr


def test_no_progress_on_pipes(project, env):
    result = run_cce("index", str(project), env=env)
    assert result.returncode == 0 and result.stderr == ""


def test_progress_on_a_terminal(tmp_path, env):
    files = {f"pkg/mod{i}.py": f"def function_{i}(x):\n    return x * {i}\n" * 40 for i in range(60)}
    project = make_project(tmp_path / "big", files)
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, str(ROOT / "cce.py"), "index", str(project)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=secondary,
            text=True,
            timeout=120,
        )
        os.close(secondary)
        shown = b""
        while True:
            try:
                block = os.read(primary, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not block:
                break
            shown += block
    finally:
        os.close(primary)
    assert proc.returncode == 0
    assert b"indexing: " in shown and b"files" in shown and b"\r" in shown
    assert proc.stdout.startswith("cce: indexed 60 files")  # the summary stays on stdout
