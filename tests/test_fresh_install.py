"""The README's two commands, run as written in a fresh clone with a brand-new virtualenv.

A missing dependency, package file or install step cannot hide here: nothing comes from the
developer's environment but the model cache (XDG_CACHE_HOME points at it, so the 35 MB are not
downloaded again; the code path that finds or pulls the model is the real one).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, make_project

pytestmark = [pytest.mark.slow, pytest.mark.model, pytest.mark.timeout(900)]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, re.S)


def fresh_clone(dest: Path) -> Path:
    """The files a clone would have: tracked ones and new ones git does not ignore (no build output)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def shell(command: str, cwd: Path, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def clone(tmp_path_factory, real_model_dir):
    tmp = tmp_path_factory.mktemp("fresh")
    clone = fresh_clone(tmp / "clone")
    home = tmp / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCE_", "VIRTUAL_ENV", "PYTHON"))}
    # The venv's python must not be the one running pytest: PATH starts with the base interpreter.
    base_bin = str(Path(sys.base_prefix) / "bin")
    env.update(
        HOME=str(home),
        PATH=os.pathsep.join([base_bin, *[p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p]]),
        XDG_CACHE_HOME=str(real_model_dir.parents[2]),
        XDG_DATA_HOME=str(tmp / "data"),
    )
    return clone, env


def test_readme_command_1_installs_indexes_and_searches(clone):
    path, env = clone
    command = readme_commands()[0]
    assert "pip install ." in command and "cce index" in command and "cce search" in command
    result = shell(command, path, env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "cce: indexed" in result.stdout
    assert re.search(r"^1\. \S+:\d+-\d+", result.stdout, re.M), result.stdout[-3000:]

    # The installed `cce` on a small sample project, with the real model.
    cce = path / ".venv/bin/cce"
    sample = make_project(path.parent / "sample")
    run = subprocess.run([cce, "index", str(sample), "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["chunks_embedded"] > 0
    run = subprocess.run(
        [cce, "search", "how are bearer tokens validated", "--json", "--project-dir", str(sample)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["hits"][0]["path"] == "app/auth.py"

    # `cce init` registers the installed script itself.
    run = subprocess.run(
        [cce, "init", "--dry-run", "--json", "--client", "claude", "--project-dir", str(sample)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert json.loads(run.stdout)["command"] == [str(cce)]
    doctor = subprocess.run([cce, "doctor", "--project-dir", str(sample)], env=env, capture_output=True, text=True)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


def test_a_built_wheel_gives_a_working_cce(clone):
    path, env = clone
    pip = path / ".venv/bin/pip"
    if not pip.exists():
        pytest.skip("needs the virtualenv of the README command 1 test")
    dist = path.parent / "dist"
    result = shell(f"{pip} wheel . --no-deps -q -w {dist}", path, env)
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = dist.glob("cce-*.whl")
    result = shell(f"{pip} install -q --force-reinstall --no-deps {wheel}", path, env)
    assert result.returncode == 0, result.stderr[-3000:]
    sample = path.parent / "sample"
    run = subprocess.run(
        [path / ".venv/bin/cce", "search", "retry failed requests", "--project-dir", str(sample)],
        cwd=path.parent,  # not the checkout: the wheel's own files are imported
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and run.stdout.startswith("1. "), run.stderr


def test_cce_py_runs_from_the_checkout_without_installing(clone):
    path, env = clone
    python = path / ".venv/bin/python"
    # cce.py puts the checkout first on sys.path: this runs the checkout's code, not the installed copy.
    result = subprocess.run([python, "cce.py", "--version"], cwd=path, env=env, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("cce ")


def test_readme_command_2_installs_the_test_tools_and_runs_the_tests(clone):
    path, env = clone
    command = readme_commands()[1]
    assert "pip install -e '.[test]'" in command and command.rstrip().endswith("pytest -q")
    dry = shell(f"{path}/.venv/bin/pip install --dry-run --ignore-installed -q '{path}[test]'", path, env)
    assert dry.returncode == 0, dry.stderr[-3000:]
    # As written, limited to two quick tests (the whole suite would run this test again).
    result = shell(
        command + " tests/test_cli.py::test_index_then_search_prints_ranked_hits tests/test_settings.py", path, env
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
