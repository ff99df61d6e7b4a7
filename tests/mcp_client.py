"""Driving a real `cce serve` subprocess with the mcp SDK's stdio client, shared by the server tests."""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.helpers import ROOT

PROBE = ROOT / "tests" / "cce_probe.py"  # runs the CLI under an audit hook (see that file)
FRESH_S = 5.0  # edits must show up well within this (the acceptance figure, 2 s, is measured by the bench)


def serve_params(project: Path, env: dict[str, str], probe: bool = False) -> StdioServerParameters:
    script = PROBE if probe else ROOT / "cce.py"
    return StdioServerParameters(
        command=sys.executable, args=[str(script), "serve", "--project-dir", str(project)], env=env
    )


def with_server(
    project: Path,
    env: dict[str, str],
    scenario: Callable[[ClientSession], Awaitable[None]],
    probe: bool = False,
) -> None:
    """Start a server, hand its initialized session to `scenario`, then close stdin (the server exits)."""

    async def main() -> None:
        params = serve_params(project, env, probe)
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await scenario(session)

    anyio.run(main)


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = FRESH_S) -> float:
    """Seconds until `check` held; AssertionError past `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await check():
            return time.monotonic() - started
        await anyio.sleep(0.05)
    raise AssertionError(f"not reached within {timeout} s")


async def status(session: ClientSession) -> dict:
    return (await session.call_tool("index_status", {})).structured_content


async def wait_ready(session: ClientSession) -> dict:
    """Wait for the model, the index and the catch-up pass; returns index_status then."""

    async def ready() -> bool:
        s = await status(session)
        return s["ready"] and s["last_reindex"] is not None

    await wait_until(ready, timeout=60)
    return await status(session)


async def search_paths(session: ClientSession, query: str) -> list[str]:
    result = await session.call_tool("context_search", {"query": query, "top_k": 5})
    assert not result.is_error, result.content
    return [h["path"] for h in result.structured_content["hits"]]


async def wait_for_definition(session: ClientSession, name: str, timeout: float = FRESH_S) -> None:
    """Wait until find_symbol knows `name` (a definition the test just wrote)."""

    async def found() -> bool:
        result = await session.call_tool("find_symbol", {"name": name})
        return any(m["symbol"] == name for m in result.structured_content["matches"])

    await wait_until(found, timeout)
