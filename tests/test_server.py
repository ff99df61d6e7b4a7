"""A real `cce serve` subprocess driven by the mcp SDK's stdio client, on a real tree with real inotify."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.helpers import ROOT, cce_env, run_cce, server_pids, start_cce
from tests.mcp_client import (
    search_paths,
    serve_params,
    status,
    wait_for_definition,
    wait_ready,
    wait_until,
    with_server,
)


@pytest.fixture
def env(tmp_path, tiny_model_dir):
    return cce_env(tmp_path, tiny_model_dir, CCE_DEBOUNCE_MS="100")


def children_of(pid: int) -> set[str]:
    found: set[str] = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            found.update(f.read().split())
    return found


def test_tools_answer_over_stdio(project, env):
    async def scenario(session: ClientSession) -> None:
        names = {t.name for t in (await session.list_tools()).tools}
        assert names == {"context_search", "expand_chunk", "find_symbol", "index_status", "reindex"}
        result = await session.call_tool("context_search", {"query": "bearer token validate", "top_k": 3})
        hits = result.structured_content["hits"]
        assert hits and hits[0]["path"] == "app/auth.py"
        assert {"chunk_id", "path", "start_line", "end_line", "symbol", "score", "code"} <= set(hits[0])
        assert "app/auth.py" in result.content[0].text

        found = (await session.call_tool("find_symbol", {"name": "validate"})).structured_content["matches"]
        assert found[0]["symbol"] == "TokenValidator.validate" and found[0]["path"] == "app/auth.py"

        expanded = await session.call_tool("expand_chunk", {"chunk_id": found[0]["chunk_id"], "context_lines": 1})
        data = expanded.structured_content
        assert "def validate" in data["code"]
        assert data["start_line"] == data["chunk_start"] - 1

        s = await status(session)
        assert s["files"] == 4 and s["chunks"] > 0 and s["last_error"] is None
        assert s["watcher"]["watches"] >= 4

        reindexed = await session.call_tool("reindex", {"path": "app"})
        assert not reindexed.is_error and reindexed.structured_content["path"] == "app"

    run_cce("index", str(project), "--quiet", env=env)
    with_server(project, env, scenario)


def test_budget_lists_hits_over_max_tokens_by_id(project, env):
    async def scenario(session: ClientSession) -> None:
        result = await session.call_tool("context_search", {"query": "token route retry guide", "max_tokens": 120})
        data = result.structured_content
        assert data["estimated_tokens"] <= 120
        assert data["omitted"], "a small budget must leave hits out"
        assert all("chunk_id" in o for o in data["omitted"])
        assert "expand_chunk" in result.content[-1].text

    run_cce("index", str(project), "--quiet", env=env)
    with_server(project, env, scenario)


def test_bad_arguments_get_tool_errors_and_the_server_lives_on(project, env, tmp_path):
    """Every bad argument gets a clear tool error (or a clamped value), and no file outside the
    project is ever opened: the server runs under an audit hook logging every open()."""
    sentinel = tmp_path / "outside-secret.txt"
    sentinel.write_text("sentinel outside the project\n")
    (project / "link_out").symlink_to(tmp_path)
    log = tmp_path / "opened.log"
    # A long debounce: the file swapped for a link below must still be in the index when expanded.
    probe_env = {**env, "CCE_DEBOUNCE_MS": "60000", "CCE_PROBE_LOG": str(log)}

    async def scenario(session: ClientSession) -> None:
        await wait_ready(session)
        found = (await session.call_tool("find_symbol", {"name": "hash_password"})).structured_content["matches"]
        auth_chunk = found[0]["chunk_id"]
        bad_calls = [
            ("context_search", {"query": ""}, "query is empty"),
            ("context_search", {"query": "   "}, "query is empty"),
            ("context_search", {"query": "x", "top_k": 0}, "top_k"),
            ("context_search", {"query": "x", "top_k": -1}, "top_k"),
            ("context_search", {"query": "x", "top_k": "many"}, "top_k"),
            ("context_search", {"query": "x", "max_tokens": -5}, "max_tokens"),
            ("expand_chunk", {"chunk_id": 12345}, "no chunk with id"),
            ("expand_chunk", {"chunk_id": "../../etc/passwd"}, "chunk_id"),
            ("expand_chunk", {"chunk_id": str(sentinel)}, "chunk_id"),
            ("expand_chunk", {"chunk_id": auth_chunk, "context_lines": 10**9}, "context_lines"),
            ("reindex", {"path": "../../etc/passwd"}, "outside the project"),
            ("reindex", {"path": "/etc/passwd"}, "outside the project"),
            ("reindex", {"path": str(sentinel)}, "outside the project"),
            ("reindex", {"path": "link_out/outside-secret.txt"}, "outside the project"),
            ("reindex", {"path": "app/../../outside-secret.txt"}, "outside the project"),
            ("reindex", {"path": "app\0evil"}, "bad path"),
            ("find_symbol", {"name": ""}, "empty"),
            ("find_symbol", {"name": "x", "limit": 10**9}, "limit"),
        ]
        for tool, args, message in bad_calls:
            result = await session.call_tool(tool, args)
            assert result.is_error, (tool, args)
            assert message in result.content[0].text, (tool, args, result.content[0].text)
        huge = await session.call_tool("context_search", {"query": "token " * 20_000, "top_k": 10**9})
        assert not huge.is_error and len(huge.structured_content["hits"]) <= 50
        assert len(huge.structured_content["query"]) <= 2_000  # cut, not refused
        long_word = await session.call_tool("context_search", {"query": "x" * 100_000})
        assert not long_word.is_error
        # A file inside the project swapped for a link to a file outside: never read through it.
        (project / "app/auth.py").unlink()
        (project / "app/auth.py").symlink_to(sentinel)
        swapped = await session.call_tool("expand_chunk", {"chunk_id": auth_chunk})
        assert swapped.is_error and "symlink" in swapped.content[0].text, swapped.content[0].text
        inside = await session.call_tool("reindex", {"path": str(project / "web")})  # absolute, inside
        assert not inside.is_error and inside.structured_content["path"] == "web"
        linked = await session.call_tool("reindex", {"path": "link_out"})  # the link itself: not followed
        assert not linked.is_error
        assert (await status(session))["files"] == 4

    run_cce("index", str(project), "--quiet", env=env)
    params = StdioServerParameters(
        command=sys.executable,
        args=[str(ROOT / "tests" / "cce_probe.py"), "serve", "--project-dir", str(project)],
        env=probe_env,
    )

    async def main() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await scenario(session)

    anyio.run(main)
    opened = [line for line in log.read_text().splitlines() if line.startswith("open\t")]
    assert opened, "the audit hook recorded nothing"
    assert not [line for line in opened if "outside-secret" in line], "a file outside the project was opened"


def test_edits_are_searchable_quickly(project, env):
    """Edit, create, delete, rename, atomic save and a new nested folder, each seen by search."""

    async def scenario(session: ClientSession) -> None:
        await wait_ready(session)

        async def has(query: str, path: str) -> bool:
            return path in await search_paths(session, query)

        async def lacks(query: str, path: str) -> bool:
            return path not in await search_paths(session, query)

        (project / "app/routes.py").write_text("def zebrafinch_handler():\n    return 1\n")
        await wait_until(lambda: has("zebrafinch", "app/routes.py"))

        (project / "app/new_module.py").write_text("def quokka_counter():\n    return 2\n")
        await wait_until(lambda: has("quokka", "app/new_module.py"))

        (project / "app/new_module.py").unlink()
        await wait_until(lambda: lacks("quokka", "app/new_module.py"))

        os.rename(project / "web/client.js", project / "web/renamed_client.js")
        await wait_until(lambda: has("RetryPolicy shouldRetry", "web/renamed_client.js"))
        assert await lacks("RetryPolicy shouldRetry", "web/client.js")

        tmp = project / "docs/.guide.md.swp"
        tmp.write_text("# Guide\n\n## Capybara section\n\nAll about capybaras.\n")
        os.replace(tmp, project / "docs/guide.md")  # an editor's atomic save
        await wait_until(lambda: has("capybara", "docs/guide.md"))

        nested = project / "deep/er/still"
        nested.mkdir(parents=True)
        (nested / "axolotl.py").write_text("AXOLOTL_LIMIT = 3\n")
        await wait_until(lambda: has("axolotl", "deep/er/still/axolotl.py"))

    run_cce("index", str(project), "--quiet", env=env)
    with_server(project, env, scenario)


def test_git_checkout_of_another_branch_is_reflected(project, env):
    def git(*args: str) -> None:
        subprocess.run(
            ["git", *args],
            cwd=project,
            check=True,
            capture_output=True,
            env={
                **env,
                "GIT_AUTHOR_NAME": "t",
                "GIT_AUTHOR_EMAIL": "t@t",
                "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@t",
            },
        )

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "one")
    git("checkout", "-q", "-b", "other")
    (project / "app/auth.py").write_text("def pangolin_login():\n    return True\n")
    (project / "app/other_only.py").write_text("NARWHAL = 1\n")
    git("add", "-A")
    git("commit", "-qm", "two")
    git("checkout", "-q", "main")

    async def scenario(session: ClientSession) -> None:
        await wait_ready(session)
        git("checkout", "-q", "other")

        async def switched() -> bool:
            return "app/other_only.py" in await search_paths(session, "narwhal") and "app/auth.py" in (
                await search_paths(session, "pangolin")
            )

        await wait_until(switched)
        git("checkout", "-q", "main")

        async def back() -> bool:
            return "app/other_only.py" not in await search_paths(session, "narwhal")

        await wait_until(back)

    run_cce("index", str(project), "--quiet", env=env)
    with_server(project, env, scenario)


def test_reads_and_sibling_indexing_cause_no_work_and_no_children(project, env):
    """The seed scenario: the replaced tool re-indexed in a loop when another process read files."""
    (project / "README.md").write_text("# Project\n\nA readme.\n")
    run_cce("index", str(project), "--quiet", env=env)

    async def scenario(session: ClientSession) -> None:
        await wait_ready(session)
        pids = server_pids(project)
        assert len(pids) == 1
        seen_children: set[str] = set()
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                seen_children.update(children_of(pids[0]))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            before = await status(session)
            assert run_cce("index", str(project), "--path", "README.md", "--quiet", env=env).returncode == 0
            assert run_cce("index", str(project), "--quiet", env=env).returncode == 0
            for _ in range(3):
                for path in project.rglob("*"):
                    if path.is_file():
                        path.read_bytes()
                subprocess.run(["cat", *map(str, project.rglob("*.py"))], capture_output=True, check=True)
            await anyio.sleep(0.5)  # longer than the debounce: any batch would have been cut
            after = await status(session)
            assert after["watcher"]["events_seen"] == before["watcher"]["events_seen"] == 0
            assert after["watcher"]["batches"] == before["watcher"]["batches"]
            assert after["last_reindex"] == before["last_reindex"]
            assert await search_paths(session, "bearer token")
        finally:
            stop.set()
            sampler.join()
        assert seen_children == set()
        assert len(server_pids(project)) == 1

    with_server(project, env, scenario)


def test_cli_index_beside_the_server_is_seen_by_searches(project, env):
    run_cce("index", str(project), "--quiet", env=env)
    # A one-minute debounce keeps the server's own watcher out of it: only the CLI's commit can show.
    server_env = {**env, "CCE_DEBOUNCE_MS": "60000"}

    async def scenario(session: ClientSession) -> None:
        await wait_ready(session)
        (project / "extra.py").write_text("def wombat_burrow():\n    pass\n")
        assert "extra.py" not in await search_paths(session, "wombat")
        assert run_cce("index", str(project), "--quiet", env=env).returncode == 0
        assert "extra.py" in await search_paths(session, "wombat")

    with_server(project, server_env, scenario)


def test_full_rebuild_beside_the_server_is_seen_by_searches(project, env):
    run_cce("index", str(project), "--quiet", env=env)
    server_env = {**env, "CCE_DEBOUNCE_MS": "60000"}  # only the CLI's rebuild can make the change visible

    async def scenario(session: ClientSession) -> None:
        await wait_ready(session)
        assert "app/auth.py" in await search_paths(session, "bearer token")
        (project / "app/auth.py").write_text("def marmoset_gate():\n    return False\n")
        assert run_cce("index", str(project), "--full", "--quiet", env=env).returncode == 0
        assert "app/auth.py" in await search_paths(session, "marmoset")
        assert (await status(session))["files"] == 4

    with_server(project, server_env, scenario)


def test_catch_up_at_start_indexes_what_changed_while_no_server_ran(project, env):
    run_cce("index", str(project), "--quiet", env=env)
    (project / "app/offline_edit.py").write_text("def tapir_offline():\n    return 0\n")
    (project / "docs/guide.md").unlink()

    async def scenario(session: ClientSession) -> None:
        await wait_ready(session)
        assert "app/offline_edit.py" in await search_paths(session, "tapir")
        assert (await status(session))["files"] == 4

    with_server(project, env, scenario)


def test_two_servers_on_one_project_both_work(project, env):
    run_cce("index", str(project), "--quiet", env=env)

    async def main() -> None:
        params = serve_params(project, env)
        async with (
            stdio_client(params) as (r1, w1),
            ClientSession(r1, w1) as first,
            stdio_client(params) as (r2, w2),
            ClientSession(r2, w2) as second,
        ):
            await first.initialize()
            await second.initialize()
            await wait_ready(first)
            await wait_ready(second)
            assert len(server_pids(project)) == 2
            (project / "app/shared_edit.py").write_text("def okapi_window():\n    return 2\n")

            async def both_see_it() -> bool:
                return all(["app/shared_edit.py" in await search_paths(s, "okapi") for s in (first, second)])

            await wait_until(both_see_it)

    anyio.run(main)
    assert server_pids(project) == []


def _start_raw(project: Path, env: dict[str, str]) -> subprocess.Popen:
    """A server driven by hand: initialize answered, so the SDK's loop and our threads are all up."""
    pipe = subprocess.PIPE
    proc = start_cce("serve", "--project-dir", str(project), env=env, stdin=pipe, stdout=pipe, stderr=pipe)
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}},
    }
    proc.stdin.write((json.dumps(hello) + "\n").encode())
    proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    proc.stdin.flush()
    line = proc.stdout.readline()
    assert b'"result"' in line, line
    time.sleep(1.5)  # let the loader, watcher and indexer threads start
    return proc


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "stdin-eof"])
def test_every_exit_path_is_quick_and_leaves_nothing(project, env, how):
    run_cce("index", str(project), "--quiet", env=env)
    proc = _start_raw(project, env)
    assert children_of(proc.pid) == set()
    started = time.monotonic()
    if how == "stdin-eof":
        proc.stdin.close()
    else:
        proc.send_signal(getattr(signal, how))
    code = proc.wait(timeout=5)
    elapsed = time.monotonic() - started
    assert elapsed <= 1.0, f"{how}: exit took {elapsed:.2f} s"
    assert code == 0, proc.stderr.read().decode()
    assert server_pids(project) == []
    assert run_cce("status", "--json", env=env, cwd=project).returncode == 0  # store still consistent


def test_kill_9_leaves_no_process(project, env):
    run_cce("index", str(project), "--quiet", env=env)
    proc = _start_raw(project, env)
    assert children_of(proc.pid) == set()
    proc.kill()
    proc.wait(timeout=5)
    assert server_pids(project) == []


def test_many_edit_events_do_not_grow_memory(project, env):
    run_cce("index", str(project), "--quiet", env=env)

    def rss_kb(pid: int) -> int:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    async def scenario(session: ClientSession) -> None:
        await wait_ready(session)
        pid = server_pids(project)[0]
        target = project / "app/routes.py"
        for round_ in range(2):
            for i in range(500):
                target.write_text(f"def handler_{round_}_{i}():\n    return {i}\n")
            await wait_for_definition(session, f"handler_{round_}_499", timeout=30)
            if round_ == 0:
                baseline = rss_kb(pid)
        assert rss_kb(pid) - baseline < 20_000, "1,000 edit events grew the server by more than 20 MB"

    with_server(project, env, scenario)


def test_an_idle_model_is_released_and_reloaded_on_the_next_search(project, env):
    async def scenario(session: ClientSession) -> None:
        assert (await wait_ready(session))["model_loaded"] is True
        before = await search_paths(session, "bearer token validate")

        async def released() -> bool:
            return (await status(session))["model_loaded"] is False

        await wait_until(released, timeout=10)
        assert await search_paths(session, "bearer token validate") == before  # reloaded, same answer
        assert (await status(session))["model_loaded"] is True

        await wait_until(released, timeout=10)
        (project / "app" / "late.py").write_text("def zebra_crossing_signal():\n    return 'walk'\n")
        await wait_for_definition(session, "zebra_crossing_signal")  # the watcher's reindex reloads it too
        assert "app/late.py" in await search_paths(session, "zebra crossing signal")

    run_cce("index", str(project), "--quiet", env=env)
    with_server(project, {**env, "CCE_MODEL_KEEP_ALIVE": "1"}, scenario)
