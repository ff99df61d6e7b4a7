"""Secrets and privacy: nothing secret is kept, the store is private, nothing touches the network."""

from __future__ import annotations

import json
import secrets
import socket
import stat
import string
import subprocess
import sys
from pathlib import Path

from mcp import ClientSession

from tests.helpers import cce_env, make_project, run_cce
from tests.mcp_client import PROBE, wait_for_definition, wait_ready, with_server
from tests.test_robustness import store_dir


def _rand(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


UPPER_DIGITS = string.ascii_uppercase + string.digits
ALNUM = string.ascii_letters + string.digits


def planted_secrets() -> dict[str, str]:
    pem_body = "\n".join(_rand(ALNUM + "+/", 64) for _ in range(6))
    return {
        "aws_key_id": "AKIA" + _rand(UPPER_DIGITS, 16),
        "aws_secret": _rand(ALNUM + "/+", 40),
        "github": "ghp_" + _rand(ALNUM, 36),
        "slack": f"xoxb-{_rand(string.digits, 12)}-{_rand(string.digits, 13)}-{_rand(ALNUM, 24)}",
        "stripe": "sk_live_" + _rand(ALNUM, 24),
        "openai": "sk-proj-" + _rand(ALNUM, 40),
        "pem": pem_body,
        "password": "Pw-" + _rand(ALNUM, 14),
        "dotenv": "dotenv_" + _rand(ALNUM, 20),
    }


def secret_project(root: Path, s: dict[str, str]) -> Path:
    files = {
        "billing/client.py": f'''"""Billing API client."""

AWS_ACCESS_KEY_ID = "{s["aws_key_id"]}"
aws_secret_access_key = "{s["aws_secret"]}"
GITHUB_TOKEN = "{s["github"]}"


def connect_to_billing_gateway(region):
    """Open a session with the billing gateway."""
    slack_hook_token = "{s["slack"]}"
    stripe_key = "{s["stripe"]}"
    return open_session(region, stripe_key, slack_hook_token)


def summarise_with_language_model(text):
    client = LanguageModel(api_key="{s["openai"]}")
    return client.summarise(text)
''',
        "deploy/keys.py": f'''SIGNING_KEY = """-----BEGIN RSA PRIVATE KEY-----
{s["pem"]}
-----END RSA PRIVATE KEY-----"""


def sign_release_artifact(path):
    return rsa_sign(SIGNING_KEY, path)
''',
        "config/settings.ini": f'''[database]
host = db.internal
user = reporting
password = "{s["password"]}"
pool_size = 5
''',
        ".env": f"API_TOKEN={s['dotenv']}\nOTHER=1\n",
    }
    return make_project(root, files)


def secret_fragments(s: dict[str, str]) -> list[bytes]:
    """The secrets, and distinctive pieces of them (a tokenizer may split a token at '_' or '-')."""
    out = []
    for value in s.values():
        for piece in [value, *value.replace("-", "_").split("_"), *value.splitlines()]:
            if len(piece) >= 12:
                out.append(piece.encode())
    return out


def assert_no_secret_in_store(store: Path, s: dict[str, str]) -> None:
    blobs = {p.name: p.read_bytes() for p in store.iterdir() if p.is_file()}
    assert "index.sqlite" in blobs and "vectors.usearch" in blobs
    for name, data in blobs.items():
        for fragment in secret_fragments(s):
            assert fragment not in data, f"a secret is in {name}"


def assert_private(store: Path) -> None:
    assert stat.S_IMODE(store.stat().st_mode) == 0o700, oct(store.stat().st_mode)
    files = [p for p in store.iterdir()]
    assert files
    for path in files:
        assert path.is_file(), path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, (path.name, oct(path.stat().st_mode))


def test_planted_secrets_never_reach_the_store_or_results(tmp_path, tiny_model_dir):
    s = planted_secrets()
    project = secret_project(tmp_path / "proj", s)
    env = cce_env(tmp_path, tiny_model_dir, CCE_DEBOUNCE_MS="100")
    result = run_cce("index", str(project), "--json", env=env)
    assert result.returncode == 0, result.stderr
    store = store_dir(env, project)
    assert_no_secret_in_store(store, s)
    assert_private(store)

    outputs = []
    for query, expected in [
        ("connect_to_billing_gateway", "billing/client.py"),
        ("summarise_with_language_model", "billing/client.py"),
        ("sign_release_artifact", "deploy/keys.py"),
        ("database password pool_size", "config/settings.ini"),
    ]:
        found = run_cce("search", query, "--json", "--mode", "lexical", env=env, cwd=project)
        hits = json.loads(found.stdout)["hits"]
        assert hits and hits[0]["path"] == expected, (query, hits)
        outputs.append(found.stdout)
    for query in [*s.values(), "AKIA", "BEGIN RSA PRIVATE KEY", "API_TOKEN"]:
        found = run_cce("search", query[:200], "--json", env=env, cwd=project)
        outputs.append(json.dumps(json.loads(found.stdout)["hits"]))  # (the query is echoed: left out)
    text = "\n".join(outputs)
    assert "[REDACTED]" in text  # the code around the secret is found, the secret is not
    for fragment in secret_fragments(s):
        assert fragment.decode() not in text

    async def scenario(session: ClientSession) -> None:
        await wait_ready(session)
        (project / "billing/extra.py").write_text(f'def rotate_credentials():\n    token = "{s["github"]}"\n')
        await wait_for_definition(session, "rotate_credentials", timeout=20)
        answers = []
        for query in ["connect_to_billing_gateway stripe key", "rotate_credentials token", s["stripe"]]:
            result = await session.call_tool("context_search", {"query": query})
            data = result.structured_content
            answers.append(json.dumps([data["hits"], data["omitted"]]) + result.content[0].text)
            for hit in result.structured_content["hits"]:
                expanded = await session.call_tool("expand_chunk", {"chunk_id": hit["chunk_id"], "context_lines": 50})
                answers.append(json.dumps(expanded.structured_content))
        joined = "\n".join(answers)
        assert "rotate_credentials" in joined
        for fragment in secret_fragments(s):
            assert fragment.decode() not in joined

    with_server(project, env, scenario)
    assert_no_secret_in_store(store, s)
    assert_private(store)


def test_store_is_private_after_a_server_creates_it(tmp_path, tiny_model_dir):
    project = make_project(tmp_path / "proj")
    env = cce_env(tmp_path, tiny_model_dir, CCE_DEBOUNCE_MS="100")

    async def scenario(session: ClientSession) -> None:
        await wait_ready(session)
        (project / "new.py").write_text("def freshly_written():\n    pass\n")

        await wait_for_definition(session, "freshly_written", timeout=20)

    with_server(project, env, scenario)
    store = store_dir(env, project)
    assert_private(store)
    for parent in (store.parent, store.parent.parent):  # <CCE_HOME>/projects and CCE_HOME, created by cce
        assert stat.S_IMODE(parent.stat().st_mode) == 0o700


def _events(log: Path) -> list[tuple[str, str]]:
    return [tuple(line.split("\t", 1)) for line in log.read_text().splitlines() if "\t" in line]


def _assert_offline(log: Path) -> None:
    events = _events(log)
    families = {eval(detail)[0] for event, detail in events if event == "socket.__new__"}  # noqa: S307
    # asyncio's self-pipe is an AF_UNIX socketpair: local, not network.
    assert families <= {int(socket.AF_UNIX)}, families
    assert not [e for e, _ in events if e in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname")]
    assert not [e for e, _ in events if e in ("subprocess.Popen", "os.fork", "os.posix_spawn", "os.exec")], (
        "cce started a process"
    )


def test_index_search_and_serve_open_no_socket_and_start_no_process(tmp_path, tiny_model_dir):
    project = make_project(tmp_path / "proj")
    log = tmp_path / "probe.log"
    env = {
        **cce_env(tmp_path, tiny_model_dir, CCE_DEBOUNCE_MS="100"),
        "CCE_PROBE_LOG": str(log),
        "CCE_PROBE_NO_NET": "1",
    }
    for args in (["index", str(project)], ["search", "bearer token", "--project-dir", str(project)]):
        result = subprocess.run(
            [sys.executable, str(PROBE), *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
    _assert_offline(log)
    assert any(e == "open" for e, _ in _events(log)), "the probe recorded nothing"
    log.unlink()

    async def scenario(session: ClientSession) -> None:
        await wait_ready(session)
        (project / "added.py").write_text("def watched_addition():\n    pass\n")

        await wait_for_definition(session, "watched_addition", timeout=20)
        result = await session.call_tool("context_search", {"query": "watched addition"})
        assert not result.is_error

    with_server(project, env, scenario, probe=True)
    _assert_offline(log)
    assert any(e == "open" for e, _ in _events(log)), "the probe recorded nothing"
