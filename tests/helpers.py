"""Shared test helpers: a small sample project and a way to run the real `cce` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SAMPLE_FILES = {
    "app/auth.py": '''"""Authentication helpers."""

import hashlib


def hash_password(password: str, salt: str) -> str:
    """Hash a password with a salt using sha256."""
    return hashlib.sha256((salt + password).encode()).hexdigest()


class TokenValidator:
    """Validates bearer tokens sent in the Authorization header."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def validate(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and token == self.secret
''',
    "app/routes.py": '''from app.auth import TokenValidator

ROUTES = {}


def route(path):
    """Register a handler for an HTTP path."""
    def decorator(func):
        ROUTES[path] = func
        return func
    return decorator


@route("/users")
def list_users(request):
    return ["alice", "bob"]
''',
    "web/client.js": """// HTTP client used by the web front end.
export function fetchJson(url, options) {
  return fetch(url, options).then((response) => response.json());
}

export class RetryPolicy {
  constructor(attempts) {
    this.attempts = attempts;
  }

  shouldRetry(status) {
    return status >= 500 && this.attempts-- > 0;
  }
}
""",
    "docs/guide.md": """# Guide

## Installation

Install the package with pip and run the server.

## Configuration

Settings are read from environment variables.
""",
}


def make_project(root: Path, files: dict[str, str] | None = None) -> Path:
    for rel, text in (files or SAMPLE_FILES).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def cce_env(tmp: Path, model_dir: Path | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCE_")}
    env.update(HOME=str(tmp / "home"), CCE_HOME=str(tmp / "cce-home"), CCE_OFFLINE="1")
    if model_dir is not None:
        env["CCE_MODEL_DIR"] = str(model_dir)
    env.update(extra)
    return env


def run_cce(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "cce.py"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cce(*args: str, env: dict[str, str], **popen: object) -> subprocess.Popen:
    """`cce ARGS` started in the background (pipes and the like as for Popen)."""
    return subprocess.Popen([sys.executable, str(ROOT / "cce.py"), *args], env=env, **popen)


def server_pids(project: Path) -> list[int]:
    """Pids of `cce serve` processes serving `project`."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in cmdline and str(project).encode() in cmdline:
                pids.append(int(entry))
    return pids
