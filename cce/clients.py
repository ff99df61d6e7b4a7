"""Register `cce serve` with coding agents, each in its own config format and place.

| client | file                                    | format                          |
| claude | <project>/.mcp.json                     | JSON, mcpServers.cce            |
| cursor | <project>/.cursor/mcp.json              | JSON, mcpServers.cce            |
| gemini | <project>/.gemini/settings.json         | JSON, mcpServers.cce            |
| codex  | $CODEX_HOME or ~/.codex/config.toml     | TOML, [mcp_servers.cce] table   |

Idempotent: an entry already equal to ours is left alone and the file is not rewritten. Everything
else in a file is kept (JSON: every other key, in order; TOML: every other byte). A file that does not
parse is reported and never touched. No subprocess: the files are written directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import CceError

SERVER_NAME = "cce"
CLIENTS = ("claude", "cursor", "codex", "gemini")
_JSON_FILES = {"claude": ".mcp.json", "cursor": ".cursor/mcp.json", "gemini": ".gemini/settings.json"}
# What in the user's home says a client is installed (for `cce init` without --client).
_HOME_MARKERS = {
    "claude": (".claude", ".claude.json"),
    "cursor": (".cursor",),
    "codex": (".codex",),
    "gemini": (".gemini",),
}


class ConfigError(CceError):
    """An existing client config cannot be read; it is left untouched (exit status 1)."""


@dataclass(frozen=True)
class Plan:
    """What registering with one client means: the file, what happens to it, and its new content."""

    client: str
    path: Path
    scope: str  # "project" | "user"
    action: str  # "create" (new file) | "add" (entry added) | "update" (entry replaced) | "unchanged"
    content: str  # the file's full content after the change (equal to the old one when unchanged)

    def as_dict(self) -> dict:
        return {"client": self.client, "path": str(self.path), "scope": self.scope, "action": self.action}


# ---------------------------------------------------------------------------- the command itself


def server_command(argv0: str | None = None, executable: str | None = None) -> list[str]:
    """How a client should start this cce: the installed `cce` script when that is what runs, else
    `python /abs/cce.py` from a checkout, else `python -m cce`; always absolute paths."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    python = os.path.abspath(executable or sys.executable)  # not resolved: a venv's python must stay the venv's
    name = os.path.basename(argv0)
    if name == "cce" and os.path.isfile(argv0):
        return [os.path.abspath(argv0)]
    checkout_script = Path(__file__).resolve().parent.parent / "cce.py"
    if name == "cce.py" and os.path.isfile(argv0):
        return [python, os.path.abspath(argv0)]
    beside = shutil.which("cce", path=os.path.dirname(python))  # the script installed with this python
    if beside:
        return [os.path.abspath(beside)]
    if checkout_script.is_file():
        return [python, str(checkout_script)]
    return [python, "-m", "cce"]


def server_entry(command: Sequence[str], project: Path) -> dict:
    return {"command": command[0], "args": [*command[1:], "serve", "--project-dir", str(project)]}


def mcp_config(command: Sequence[str], project: Path) -> dict:
    """The generic snippet most MCP clients accept (`cce mcp-config`)."""
    return {"mcpServers": {SERVER_NAME: server_entry(command, project)}}


# ---------------------------------------------------------------------------- which clients, where


def detect_clients(home: Path) -> list[str]:
    """The clients whose folders exist in `home`; Claude Code alone when none is found."""
    found = [c for c in CLIENTS if any((home / marker).exists() for marker in _HOME_MARKERS[c])]
    return found or ["claude"]


def config_path(client: str, project: Path, env: Mapping[str, str]) -> tuple[Path, str]:
    if client in _JSON_FILES:
        return project / _JSON_FILES[client], "project"
    if client == "codex":
        codex_home = env.get("CODEX_HOME") or os.path.join(home_dir(env), ".codex")
        return Path(codex_home) / "config.toml", "user"
    raise ValueError(f"unknown client {client!r}")


def home_dir(env: Mapping[str, str]) -> str:
    return env.get("HOME") or str(Path.home())


# ---------------------------------------------------------------------------- planning


def plan(client: str, project: Path, command: Sequence[str], env: Mapping[str, str]) -> Plan:
    """What registering with `client` would change; ConfigError for an unreadable existing file."""
    path, scope = config_path(client, project, env)
    entry = server_entry(command, project)
    try:
        old = path.read_text(encoding="utf-8") if path.exists() else None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path} ({_one_line(exc)}); fix it, nothing was written") from None
    if client == "codex":
        action, content = _plan_toml(path, old, entry)
    else:
        action, content = _plan_json(path, old, entry)
    return Plan(client, path, scope, action, content)


def _plan_json(path: Path, old: str | None, entry: dict) -> tuple[str, str]:
    if old is None or not old.strip():
        return "create" if old is None else "add", _dump_json({"mcpServers": {SERVER_NAME: entry}})
    try:
        data = json.loads(old)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); fix or remove it, nothing was written") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} does not hold a JSON object; fix or remove it, nothing was written")
    servers = data.setdefault("mcpServers", {})
    if not isinstance(servers, dict):
        raise ConfigError(f"{path}: mcpServers is not a JSON object; fix it, nothing was written")
    current = servers.get(SERVER_NAME)
    if current == entry:
        return "unchanged", old
    if isinstance(current, dict):  # keep what the user added to our entry (env, timeouts, ...)
        action, merged = "update", {**current, **entry}
        if merged == current:
            return "unchanged", old
        servers[SERVER_NAME] = merged
    else:
        action = "add" if current is None else "update"
        servers[SERVER_NAME] = entry
    return action, _dump_json(data)


def _dump_json(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _plan_toml(path: Path, old: str | None, entry: dict) -> tuple[str, str]:
    table = f"[mcp_servers.{SERVER_NAME}]\n" + _toml_pairs(entry)
    if old is None:
        return "create", table
    try:
        before = tomllib.loads(old)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix or remove it, nothing was written") from None
    servers = before.get("mcp_servers", {})
    if not isinstance(servers, dict):
        raise ConfigError(f"{path}: mcp_servers is not a table; fix it, nothing was written")
    current = servers.get(SERVER_NAME)
    if isinstance(current, dict) and all(current.get(k) == v for k, v in entry.items()):
        return "unchanged", old
    if current is None:
        sep = "" if not old.strip() else ("\n" if old.endswith("\n") else "\n\n")
        content, action = old + sep + table, "add"
    else:
        content, action = _replace_in_table(old, entry), "update"
    if content is None or not _toml_change_is_exactly(before, content, entry):
        raise ConfigError(
            f"{path}: cannot update the existing [mcp_servers.{SERVER_NAME}] entry safely (it is not written as "
            f"a [mcp_servers.{SERVER_NAME}] table); replace it by hand with: {table.strip()!r}"
        )
    return action, content


def _toml_str(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(value: object) -> str:
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(type(value))


def _toml_pairs(entry: dict) -> str:
    return "".join(f"{key} = {_toml_value(value)}\n" for key, value in entry.items())


def _is_header(line: str) -> bool:
    """A `[table]` or `[[array]]` header line (a line of a multi-line array does not parse alone)."""
    if not line.lstrip().startswith("["):
        return False
    try:
        tomllib.loads(line.strip() + "\n")
    except tomllib.TOMLDecodeError:
        return False
    return True


def _header_key(line: str) -> list[str] | None:
    """The dotted key of a `[a.b]` table header line, or None for anything else."""
    text = line.strip()
    if not text.startswith("[") or text.startswith("[["):
        return None
    try:
        parsed = tomllib.loads(text + "\n")
    except tomllib.TOMLDecodeError:
        return None
    keys = []
    while isinstance(parsed, dict) and len(parsed) == 1:
        key, parsed = next(iter(parsed.items()))
        keys.append(key)
    return keys


def _replace_in_table(old: str, entry: dict) -> str | None:
    """Set entry's keys inside an existing [mcp_servers.cce] table, leaving every other byte alone."""
    lines = old.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _header_key(line) == ["mcp_servers", SERVER_NAME]), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if _is_header(lines[i])), len(lines))
    body: list[str] = []
    i = start + 1
    while i < end:
        stripped = lines[i].lstrip()
        key = stripped.split("=", 1)[0].strip().strip('"') if "=" in stripped else None
        if key in entry and not stripped.startswith("#"):
            # The statement may span lines (a multi-line array): it ends where it first parses alone.
            for j in range(i, end):
                with contextlib.suppress(tomllib.TOMLDecodeError):
                    tomllib.loads("".join(lines[i : j + 1]))
                    i = j + 1
                    break
            else:
                return None
            continue
        body.append(lines[i])
        i += 1
    head = lines[start] if lines[start].endswith("\n") else lines[start] + "\n"
    return "".join(lines[:start]) + head + _toml_pairs(entry) + "".join(body) + "".join(lines[end:])


def _toml_change_is_exactly(before: dict, content: str, entry: dict) -> bool:
    """The new text parses, and differs from the old only in our entry's keys."""
    try:
        after = tomllib.loads(content)
    except tomllib.TOMLDecodeError:
        return False
    expected = json.loads(json.dumps(before))  # a deep copy (config values are JSON-like)
    servers = expected.setdefault("mcp_servers", {})
    servers[SERVER_NAME] = {**servers.get(SERVER_NAME, {}), **entry}
    return after == expected


# ---------------------------------------------------------------------------- writing


def apply(p: Plan) -> None:
    """Write the plan's content atomically (temp file + rename), keeping an existing file's mode."""
    if p.action == "unchanged":
        return
    try:
        p.path.parent.mkdir(parents=True, exist_ok=True)
        mode = p.path.stat().st_mode & 0o777 if p.path.exists() else 0o644
        fd, tmp = tempfile.mkstemp(dir=p.path.parent, prefix=f".{p.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(p.content)
                fh.flush()
                os.fchmod(fh.fileno(), mode)
                os.fsync(fh.fileno())
            os.replace(tmp, p.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    except OSError as exc:
        raise CceError(f"cannot write {p.path}: {exc.strerror or exc}") from None


def _one_line(value: object) -> str:
    return " ".join(str(value).split()) or type(value).__name__
