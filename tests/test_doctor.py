"""`cce doctor`: every check passes on a healthy setup, and each failing check fails with its fix."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from pathlib import Path

import pytest

from cce import cli, doctor
from cce.model import DEFAULT_MODEL_ID, PINNED_FILES
from tests.helpers import cce_env, run_cce


def doctor_json(env: dict, project: Path) -> tuple[int, dict[str, dict]]:
    result = run_cce("doctor", "--json", "--project-dir", str(project), env=env)
    assert "Traceback" not in result.stderr, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"ok", "checks"}
    for check in data["checks"]:
        assert set(check) == {"check", "status", "detail", "fix"}
        assert check["status"] in ("ok", "warn", "fail")
        assert check["status"] == "ok" or check["fix"], check
    assert data["ok"] == (result.returncode == 0)
    return result.returncode, {c["check"]: c for c in data["checks"]}


def indexed(project: Path, env: dict) -> Path:
    result = run_cce("index", str(project), "--quiet", env=env)
    assert result.returncode == 0, result.stderr
    return Path(json.loads(run_cce("status", "--json", env=env, cwd=project).stdout)["store"])


def test_a_healthy_setup_passes_every_check(project, env):
    indexed(project, env)
    rc, checks = doctor_json(env, project)
    assert rc == 0
    assert {"python", "cce", "packages", "store", "lock", "inotify"} <= set(checks)
    assert any(name.startswith("model ") for name in checks)
    assert all(c["status"] == "ok" for c in checks.values()), checks
    text = run_cce("doctor", "--project-dir", str(project), env=env)
    assert text.returncode == 0 and text.stdout.startswith("ok    python: Python 3.")


def test_no_index_yet_is_a_warning_not_a_failure(project, env):
    rc, checks = doctor_json(env, project)
    assert rc == 0 and checks["store"]["status"] == "warn" and checks["store"]["fix"] == "cce index"


def test_a_missing_model_fails(project, tmp_path):
    env = cce_env(tmp_path, None)  # the default model, in an empty cache under the temporary HOME
    rc, checks = doctor_json(env, project)
    assert rc == 1
    for pin in PINNED_FILES:
        assert checks[f"model {pin.name}"]["status"] == "fail"
        assert "missing" in checks[f"model {pin.name}"]["detail"]
        assert "cce model pull" in checks[f"model {pin.name}"]["fix"]


def test_a_corrupt_model_file_fails_its_hash(project, tmp_path):
    env = cce_env(tmp_path, None)
    folder = Path(env["HOME"]) / ".cache/cce/models" / DEFAULT_MODEL_ID
    folder.mkdir(parents=True)
    for pin in PINNED_FILES:
        (folder / pin.name).write_bytes(b"\0" * 1000)
    result = run_cce("doctor", "--project-dir", str(project), env=env)
    assert result.returncode == 1
    assert "fail  model model_quantized.onnx" in result.stdout and "does not match the pin" in result.stdout


def test_a_broken_custom_model_fails(project, tmp_path, tiny_model_dir):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "model.onnx").write_bytes(b"not a model")
    (broken / "tokenizer.json").write_text((tiny_model_dir / "tokenizer.json").read_text())
    rc, checks = doctor_json(cce_env(tmp_path, broken), project)
    assert rc == 1 and checks["model model.onnx"]["status"] == "fail"
    assert "CCE_MODEL_DIR" in checks["model model.onnx"]["fix"]


def test_a_corrupt_store_fails(project, env):
    store = indexed(project, env)
    for name in ("index.sqlite-wal", "index.sqlite-shm"):
        (store / name).unlink(missing_ok=True)
    (store / "index.sqlite").write_bytes(b"this is not a database" * 100)
    rc, checks = doctor_json(env, project)
    assert rc == 1 and checks["store"]["status"] == "fail"
    assert "cce index --full" in checks["store"]["fix"]


def test_a_store_of_another_format_fails(project, env):
    store = indexed(project, env)
    with sqlite3.connect(store / "index.sqlite") as conn:
        conn.execute("UPDATE meta SET value = '0' WHERE key = 'format'")
    rc, checks = doctor_json(env, project)
    assert rc == 1 and "format 0" in checks["store"]["detail"]


def test_a_held_writer_lock_fails(project, env):
    store = indexed(project, env)
    fd = os.open(store / "lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        rc, checks = doctor_json(env, project)
    finally:
        os.close(fd)
    assert rc == 1 and checks["lock"]["status"] == "fail"
    assert f"pid {os.getpid()}" in checks["lock"]["detail"] and f"kill {os.getpid()}" in checks["lock"]["fix"]
    assert doctor_json(env, project)[1]["lock"]["status"] == "ok"


def run_in_process(monkeypatch, capsys, env: dict, project: Path) -> tuple[int, dict[str, dict]]:
    for key in [k for k in os.environ if k.startswith("CCE_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    rc = cli.main(["doctor", "--json", "--project-dir", str(project)])
    return rc, {c["check"]: c for c in json.loads(capsys.readouterr().out)["checks"]}


def test_a_low_inotify_watch_limit_fails(project, env, tmp_path, monkeypatch, capsys):
    for i in range(5):
        (project / f"pkg{i}/sub").mkdir(parents=True)
    (project / "node_modules/dep").mkdir(parents=True)  # ignored folders are not watched
    proc = tmp_path / "proc-inotify"
    proc.mkdir()
    monkeypatch.setattr(doctor, "INOTIFY_DIR", proc)

    (proc / "max_user_watches").write_text("8\n")
    rc, checks = run_in_process(monkeypatch, capsys, env, project)
    # root, app, web, docs, pkg0..4 and their sub folders: 14 folders
    assert rc == 1 and checks["inotify"]["status"] == "fail"
    assert "14 folders" in checks["inotify"]["detail"]
    assert "sudo sysctl fs.inotify.max_user_watches=524288" in checks["inotify"]["fix"]

    (proc / "max_user_watches").write_text("20\n")
    rc, checks = run_in_process(monkeypatch, capsys, env, project)
    assert checks["inotify"]["status"] == "warn"

    (proc / "max_user_watches").write_text("524288\n")
    rc, checks = run_in_process(monkeypatch, capsys, env, project)
    assert checks["inotify"]["status"] == "ok"

    (proc / "max_user_watches").unlink()
    rc, checks = run_in_process(monkeypatch, capsys, env, project)
    assert checks["inotify"]["status"] == "warn" and "unavailable" in checks["inotify"]["detail"]


def test_a_replaced_setting_is_a_warning(project, env):
    rc, checks = doctor_json({**env, "CCE_EMBED_PARALLEL": "4"}, project)
    assert checks["settings"]["status"] == "warn" and "CCE_THREADS" in checks["settings"]["detail"]


@pytest.mark.parametrize(
    ("version", "spec", "ok"),
    [
        ("2.4.6", ">=1.26,<3", True),
        ("3.0.0", ">=1.26,<3", False),
        ("1.25.2", ">=1.26,<3", False),
        ("0.23.3", ">=0.15,<1", True),
        ("2.3.0rc1", ">=2.3,<3", True),
        ("1.0", "", True),
    ],
)
def test_version_bounds(version, spec, ok):
    assert doctor._satisfies(version, spec) is ok


def test_a_package_outside_its_bounds_fails(monkeypatch):
    monkeypatch.setattr(doctor, "_requirements", lambda: ("cce test", ["numpy>=99", "no-such-package-cce>=1"]))
    checks = {c.check: c for c in doctor.check_packages()}
    assert checks["packages"].status == "fail"
    assert "numpy" in checks["packages"].detail and "no-such-package-cce is missing" in checks["packages"].detail
