"""`cce init` and `cce mcp-config`: agent registration in each client's own file, against temp homes."""

from __future__ import annotations

import json
import os
import sys
import tomllib
from pathlib import Path

import pytest

from cce import clients
from tests.helpers import ROOT, cce_env, make_project, run_cce

EXPECTED_COMMAND = [sys.executable, str(ROOT / "cce.py")]  # how run_cce starts cce: from the checkout


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "proj")


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def env(tmp_path, tiny_model_dir, home):
    return cce_env(tmp_path, tiny_model_dir, HOME=str(home))


def config_file(client: str, project: Path, home: Path) -> Path:
    return {
        "claude": project / ".mcp.json",
        "cursor": project / ".cursor/mcp.json",
        "gemini": project / ".gemini/settings.json",
        "codex": home / ".codex/config.toml",
    }[client]


def read_entry(client: str, path: Path) -> dict:
    if client == "codex":
        return tomllib.loads(path.read_text())["mcp_servers"]["cce"]
    return json.loads(path.read_text())["mcpServers"]["cce"]


def init(*args: str, env: dict, project: Path):
    return run_cce("init", "--project-dir", str(project), "--no-index", *args, env=env)


def init_json(*args: str, env: dict, project: Path) -> dict:
    result = init("--json", *args, env=env, project=project)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("client", clients.CLIENTS)
def test_fresh_registration_writes_the_clients_own_file(client, project, home, env):
    report = init_json("--client", client, env=env, project=project)
    path = config_file(client, project, home)
    assert report["clients"] == [
        {"client": client, "path": str(path), "scope": "user" if client == "codex" else "project", "action": "create"}
    ]
    entry = read_entry(client, path)
    assert [entry["command"], *entry["args"]] == [*EXPECTED_COMMAND, "serve", "--project-dir", str(project)]
    assert report["command"] == EXPECTED_COMMAND and report["project"] == str(project)


@pytest.mark.parametrize("client", clients.CLIENTS)
def test_running_twice_changes_nothing(client, project, home, env):
    init_json("--client", client, env=env, project=project)
    path = config_file(client, project, home)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    report = init_json("--client", client, env=env, project=project)
    assert report["clients"][0]["action"] == "unchanged"
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    text = init(f"--client={client}", env=env, project=project)
    assert text.returncode == 0 and "already registered" in text.stdout


JSON_WITH_OTHERS = {
    "theme": "dark",
    "mcpServers": {
        "other": {"command": "other-server", "args": ["--flag"]},
        "cce": {"command": "old-cce", "args": ["serve", "--project-dir", "/elsewhere"], "env": {"A": "1"}},
    },
    "zzz": [1, 2, 3],
}

TOML_WITH_OTHERS = """# my Codex settings
model = "o3"  # keep this comment

[mcp_servers.other]
command = "other-server"
args = ["--flag"]

[mcp_servers.cce]   # registered earlier
command = "old-cce"
args = [
  "serve",
  "--project-dir", "/elsewhere",
]
startup_timeout_sec = 20

[mcp_servers.cce.env]
A = "1"

[profiles.fast]
model = "o4-mini"
"""


@pytest.mark.parametrize("client", clients.CLIENTS)
def test_unrelated_entries_are_kept_and_an_old_entry_is_updated(client, project, home, env):
    path = config_file(client, project, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TOML_WITH_OTHERS if client == "codex" else json.dumps(JSON_WITH_OTHERS, indent=4))
    report = init_json("--client", client, env=env, project=project)
    assert report["clients"][0]["action"] == "update"
    entry = read_entry(client, path)
    assert entry["command"] == EXPECTED_COMMAND[0] and entry["args"][-1] == str(project)
    assert entry["env"] == {"A": "1"}  # what the user added to the entry stays
    if client == "codex":
        data = tomllib.loads(path.read_text())
        assert data["model"] == "o3" and data["profiles"] == {"fast": {"model": "o4-mini"}}
        assert data["mcp_servers"]["other"] == {"command": "other-server", "args": ["--flag"]}
        assert data["mcp_servers"]["cce"]["startup_timeout_sec"] == 20
        # every line outside the two replaced keys is kept byte for byte
        kept = [
            line
            for line in TOML_WITH_OTHERS.splitlines()
            if line not in ('  "serve",', '  "--project-dir", "/elsewhere",', "]")
        ]
        kept = [line for line in kept if not line.startswith(('command = "old-cce"', "args = ["))]
        new_lines = path.read_text().splitlines()
        assert all(line in new_lines for line in kept)
        assert path.read_text().startswith('# my Codex settings\nmodel = "o3"  # keep this comment\n')
    else:
        data = json.loads(path.read_text())
        assert list(data) == ["theme", "mcpServers", "zzz"] and data["zzz"] == [1, 2, 3]
        assert data["mcpServers"]["other"] == JSON_WITH_OTHERS["mcpServers"]["other"]
    assert init_json("--client", client, env=env, project=project)["clients"][0]["action"] == "unchanged"


def test_codex_tables_are_appended_without_touching_a_byte_of_the_rest(project, home, env):
    path = config_file("codex", project, home)
    path.parent.mkdir(parents=True)
    original = 'model = "o3"\n\n[mcp_servers.other]\ncommand = "x"   # odd   spacing\n'
    path.write_text(original)
    assert init_json("--client", "codex", env=env, project=project)["clients"][0]["action"] == "add"
    text = path.read_text()
    assert text.startswith(original)
    assert tomllib.loads(text)["mcp_servers"]["other"] == {"command": "x"}


def test_codex_home_is_honoured(project, home, env, tmp_path):
    codex_home = tmp_path / "codex-home"
    report = init_json("--client", "codex", env={**env, "CODEX_HOME": str(codex_home)}, project=project)
    assert report["clients"][0]["path"] == str(codex_home / "config.toml")
    assert (codex_home / "config.toml").is_file() and not (home / ".codex").exists()


@pytest.mark.parametrize(
    ("client", "bad"),
    [
        ("claude", '{"mcpServers": {'),
        ("cursor", "[1, 2]"),
        ("gemini", '{"mcpServers": ["not", "an", "object"]}'),
        ("codex", "model = \n[mcp_servers.cce"),
    ],
)
def test_a_malformed_config_is_reported_in_one_line_and_left_untouched(client, bad, project, home, env):
    path = config_file(client, project, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(bad)
    result = init("--client", "all", env=env, project=project)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "nothing was written" in lines[0]
    assert "Traceback" not in result.stderr
    assert path.read_text() == bad
    others = [config_file(c, project, home) for c in clients.CLIENTS if c != client]
    assert not any(p.exists() for p in others), "all or nothing: no other client was registered"


def test_a_codex_entry_written_another_way_is_not_rewritten(project, home, env):
    path = config_file("codex", project, home)
    path.parent.mkdir(parents=True)
    inline = 'mcp_servers = { cce = { command = "old", args = [] } }\n'
    path.write_text(inline)
    result = init("--client", "codex", env=env, project=project)
    assert result.returncode == 1 and "by hand" in result.stderr
    assert path.read_text() == inline


def test_dry_run_prints_and_writes_nothing(project, home, env):
    result = init("--client", "all", "--dry-run", env=env, project=project)
    assert result.returncode == 0, result.stderr
    for client in clients.CLIENTS:
        path = config_file(client, project, home)
        assert f"{client}: would create {path}" in result.stdout
        assert not path.exists()
    assert '"--project-dir"' in result.stdout and "[mcp_servers.cce]" in result.stdout
    report = init_json("--client", "all", "--dry-run", env=env, project=project)
    assert set(report) == {"project", "command", "dry_run", "clients", "index"}
    assert report["dry_run"] is True and report["index"] is None
    assert [c["client"] for c in report["clients"]] == list(clients.CLIENTS)
    for entry in report["clients"]:
        assert set(entry) == {"client", "path", "scope", "action", "content"}
        assert entry["action"] == "create" and entry["content"]
    claude = json.loads(report["clients"][0]["content"])
    assert claude["mcpServers"]["cce"]["args"][-1] == str(project)
    assert not any(config_file(c, project, home).exists() for c in clients.CLIENTS)


def test_without_client_it_registers_the_clients_found_in_home(project, home, env):
    report = init_json(env=env, project=project)  # nothing found: Claude Code
    assert [c["client"] for c in report["clients"]] == ["claude"]
    (home / ".cursor").mkdir()
    (home / ".gemini").mkdir()
    report = init_json(env=env, project=project)
    assert [c["client"] for c in report["clients"]] == ["cursor", "gemini"]


def test_init_indexes_the_project_with_the_index_code(project, home, env):
    result = run_cce("init", "--client", "claude", "--project-dir", str(project), env=env)
    assert result.returncode == 0, result.stderr
    assert "claude: created" in result.stdout and "cce: indexed 4 files" in result.stdout
    result = run_cce("init", "--client", "claude", "--json", env=env, cwd=project)
    report = json.loads(result.stdout)
    assert report["index"]["files"] == 4 and report["index"]["files_unchanged"] == 4
    status = json.loads(run_cce("status", "--json", env=env, cwd=project).stdout)
    assert status["indexed"] and status["files"] == 4


def test_mcp_config_prints_the_generic_snippet(project, env):
    result = run_cce("mcp-config", "--project-dir", str(project), env=env)
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data == {
        "mcpServers": {
            "cce": {
                "command": EXPECTED_COMMAND[0],
                "args": [EXPECTED_COMMAND[1], "serve", "--project-dir", str(project)],
            }
        }
    }


def test_server_command_prefers_the_installed_script(tmp_path):
    script = tmp_path / "venv/bin/cce"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    python = str(tmp_path / "venv/bin/python")
    assert clients.server_command(str(script), python) == [str(script)]
    checkout = str(ROOT / "cce.py")
    assert clients.server_command(checkout, python) == [python, checkout]
    os.chmod(script, 0o755)  # `python -m cce` with a cce script installed beside that python
    assert clients.server_command("/x/cce/__main__.py", python) == [str(script)]
    no_script = str(tmp_path / "other/bin/python")
    assert clients.server_command("/x/cce/__main__.py", no_script) == [no_script, checkout]
