"""Each command of the real `cce` CLI, run as a subprocess on a sample project with the tiny model."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT, cce_env, make_project, run_cce, start_cce


def index_json(project: Path, env: dict[str, str], *extra: str) -> dict:
    result = run_cce("index", str(project), "--json", *extra, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_index_then_search_prints_ranked_hits(project, env):
    result = run_cce("index", str(project), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("cce: indexed 4 files")
    assert "chunks embedded" in result.stdout and "skipped" in result.stdout
    result = run_cce("search", "bearer token validation", "--project-dir", str(project), env=env)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("1. app/auth.py:")
    assert "score" in first


def test_search_json_shape(project, env):
    index_json(project, env)
    result = run_cce("search", "TokenValidator", "--json", "--top-k", "3", env=env, cwd=project)
    data = json.loads(result.stdout)
    assert data["query"] == "TokenValidator" and data["mode"] == "hybrid"
    assert 1 <= len(data["hits"]) <= 3
    hit = data["hits"][0]
    assert set(hit) == {"id", "path", "start", "end", "symbol", "kind", "lang", "score", "text"}
    assert hit["symbol"].startswith("TokenValidator")
    lines = (project / hit["path"]).read_text().splitlines()
    assert "\n".join(lines[hit["start"] - 1 : hit["end"]]) == hit["text"]


@pytest.mark.parametrize("mode", ["lexical", "vector", "hybrid"])
def test_every_search_mode_answers(project, env, mode):
    index_json(project, env)
    data = json.loads(run_cce("search", "retry policy", "--mode", mode, "--json", env=env, cwd=project).stdout)
    assert data["hits"], mode
    if mode != "vector":  # the tiny test model knows few words: its vector ranking is not meaningful
        assert data["hits"][0]["path"] == "web/client.js"


def test_incremental_index_reuses_everything_when_nothing_changed(project, env):
    first = index_json(project, env)
    assert first["chunks_embedded"] > 0 and first["files_indexed"] == 4
    second = index_json(project, env)
    assert second["chunks_embedded"] == 0 and second["files_indexed"] == 0 and second["files_unchanged"] == 4


def test_editing_one_function_embeds_only_its_changed_chunks(project, env):
    index_json(project, env)
    auth = project / "app/auth.py"
    auth.write_text(auth.read_text().replace("return scheme.lower()", "return scheme.casefold()"))
    summary = index_json(project, env)
    assert summary["files_indexed"] == 1
    assert summary["chunks_embedded"] == 1
    assert summary["chunks_reused"] >= 1


def test_deleted_files_are_pruned_and_touched_files_are_not_reembedded(project, env):
    index_json(project, env)
    (project / "docs/guide.md").unlink()
    os.utime(project / "app/routes.py", None)
    summary = index_json(project, env)
    assert summary["files_removed"] == 1 and summary["chunks_embedded"] == 0
    hits = json.loads(run_cce("search", "Installation", "--json", "--mode", "lexical", env=env, cwd=project).stdout)
    assert all(h["path"] != "docs/guide.md" for h in hits["hits"])


def test_index_only_a_subpath(project, env):
    summary = index_json(project, env, "--path", "web")
    assert summary["files"] == 1 and summary["files_indexed"] == 1
    summary = index_json(project, env, "--path", "app/auth.py")
    assert summary["files"] == 1
    status = json.loads(run_cce("status", "--json", env=env, cwd=project).stdout)
    assert status["files"] == 2
    result = run_cce("index", str(project), "--path", "../outside", env=env)
    assert result.returncode == 2 and "outside the project" in result.stderr


def test_full_rebuild(project, env):
    index_json(project, env)
    summary = index_json(project, env, "--full")
    assert summary["files_indexed"] == 4 and summary["chunks_embedded"] > 0


def test_status_before_and_after(project, env):
    result = run_cce("status", env=env, cwd=project)
    assert result.returncode == 0 and "none yet" in result.stdout
    index_json(project, env)
    (project / "new.py").write_text("def added(): pass\n")
    data = json.loads(run_cce("status", "--json", env=env, cwd=project).stdout)
    assert data["indexed"] and data["files"] == 4 and data["chunks"] > 0
    assert data["changed_since"] == 1 and data["deleted_since"] == 0
    assert data["model_id"].startswith("custom-")
    assert data["store"].startswith(env["CCE_HOME"])
    assert data["settings"]["model_dir"]["from"] == "env"
    text = run_cce("status", env=env, cwd=project).stdout
    assert "4 files" in text and "1 files changed" in text


def test_clear_removes_the_store(project, env):
    index_json(project, env)
    store = Path(json.loads(run_cce("status", "--json", env=env, cwd=project).stdout)["store"])
    assert store.is_dir()
    result = run_cce("clear", env=env, cwd=project)
    assert result.returncode == 0 and not store.exists()
    assert "nothing to remove" in run_cce("clear", env=env, cwd=project).stdout


def test_model_path_and_verify_with_a_custom_model(env, tiny_model_dir, tmp_path):
    result = run_cce("model", "path", env=env, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == str(tiny_model_dir)
    result = run_cce("model", "verify", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "extra_env", "message"),
    [
        (["search", "x"], {"CCE_THREADS": "four"}, "accepted values"),
        (["frobnicate"], {}, "invalid choice"),
        (["index", "--bogus"], {}, "unrecognized arguments"),
        (["search", "x", "--top-k", "0"], {}, "--top-k must be at least 1"),
        (["search", "x", "--mode", "fuzzy"], {}, "invalid choice"),
        (["search", "-x"], {}, "goes after the options and `--`"),
        (["index", "/no/such/folder"], {}, "does not exist"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(env, tmp_path, args, extra_env, message):
    result = run_cce(*args, env={**env, **extra_env}, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_search_without_an_index_says_what_to_do(env, project):
    result = run_cce("search", "anything", env=env, cwd=project)
    assert result.returncode == 1
    assert "run `cce index` first" in result.stderr and "Traceback" not in result.stderr


def test_missing_model_offline_says_how_to_fix(tmp_path, project):
    env = cce_env(tmp_path, None, XDG_CACHE_HOME=str(tmp_path / "empty-cache"))
    result = run_cce("index", str(project), env=env)
    assert result.returncode == 1
    assert "cce model pull" in result.stderr and "Traceback" not in result.stderr


def test_corrupt_database_names_the_fix(project, env):
    index_json(project, env)
    store = Path(json.loads(run_cce("status", "--json", env=env, cwd=project).stdout)["store"])
    for name in ("index.sqlite-wal", "index.sqlite-shm"):
        (store / name).unlink(missing_ok=True)
    (store / "index.sqlite").write_bytes(b"this is not a database" * 100)
    result = run_cce("search", "token", env=env, cwd=project)
    assert result.returncode == 1
    assert "cce index --full" in result.stderr and "Traceback" not in result.stderr
    assert index_json(project, env, "--full")["files_indexed"] == 4


def test_python_dash_m_and_installed_entry_point_agree(env, tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "cce", "--version"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.startswith("cce ")


def test_cli_never_imports_mcp_outside_serve(env):
    import subprocess
    import sys

    code = "import sys, cce.cli; sys.exit(1 if any(m == 'mcp' or m.startswith('mcp.') for m in sys.modules) else 0)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env).returncode == 0


def test_index_creates_no_child_process(tmp_path, env):
    big = {f"pkg{i // 20}/mod{i}.py": f"def function_{i}(x):\n    return x * {i}\n" * 30 for i in range(150)}
    project = make_project(tmp_path / "big", big)

    proc = start_cce("index", str(project), "--quiet", env=env)
    children: set[str] = set()
    samples = 0

    def sample() -> None:
        nonlocal samples
        while proc.poll() is None:
            try:
                for tid in os.listdir(f"/proc/{proc.pid}/task"):
                    with open(f"/proc/{proc.pid}/task/{tid}/children") as f:
                        children.update(f.read().split())
                samples += 1
            except (FileNotFoundError, ProcessLookupError):
                pass
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    assert proc.wait(timeout=120) == 0
    sampler.join()
    assert samples > 5, "the index finished before it could be observed"
    assert children == set()


def test_a_second_writer_waits_for_the_lock_and_says_so(project, env):
    import fcntl
    import subprocess

    index_json(project, env)
    store = Path(json.loads(run_cce("status", "--json", env=env, cwd=project).stdout)["store"])
    fd = os.open(store / "lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # this test process is "the other writer"
    os.pwrite(fd, str(os.getpid()).encode().ljust(16), 0)
    try:
        proc = start_cce(
            "index", str(project), "--json", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        time.sleep(2.0)
        assert proc.poll() is None, "the second writer did not wait"
        status = json.loads(run_cce("status", "--json", env=env, cwd=project).stdout)
        assert status["writer_pid"] == os.getpid()
    finally:
        os.close(fd)  # releases the lock
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"another cce process (pid {os.getpid()}) is writing this index; waiting" in err
    assert json.loads(out)["files"] == 4
