"""`cce serve` on the indexed fastapi corpus: handshake time, idle RSS, search latency, edit-to-searchable
latency, and the CPU the server spends while every file is read 10 times (it should be ~0).

Usage: python bench/serve_bench.py   (run after bench/bench.py or bench/quality.py indexed the corpus)
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from corpora import CORPORA  # noqa: E402

sys.path.insert(0, str(ROOT))
from tests.helpers import server_pids  # noqa: E402

KEEP_ALIVE_S = 10  # shorter than the default 60 s so the bench need not wait a minute per run


def proc_stat(pid: int) -> tuple[float, int]:
    """(CPU seconds used so far, RSS in KB) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    return cpu, rss


def server_pid(project: Path) -> int:
    pids = server_pids(project)
    if not pids:
        raise RuntimeError("server not found")
    return pids[0]


async def measure(project: Path, env: dict[str, str]) -> dict[str, float]:
    queries = [q["query"] for q in json.loads(CORPORA["fastapi"].queries.read_text())]
    params = StdioServerParameters(
        command=sys.executable, args=[str(ROOT / "cce.py"), "serve", "--project-dir", str(project)], env=env
    )
    started = time.perf_counter()
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        await session.list_tools()
        handshake = time.perf_counter() - started
        pid = server_pid(project)

        t = time.perf_counter()
        await session.call_tool("context_search", {"query": queries[0]})
        first = time.perf_counter() - t
        while not (await session.call_tool("index_status", {})).structured_content["last_reindex"]:
            await anyio.sleep(0.1)  # let the catch-up pass finish before measuring steady state
        warm = []
        for i in range(50):
            t = time.perf_counter()
            result = await session.call_tool("context_search", {"query": queries[i % len(queries)]})
            warm.append(time.perf_counter() - t)
            assert not result.is_error
        await anyio.sleep(2)
        _, idle_rss = proc_stat(pid)

        cpu_before, _ = proc_stat(pid)
        files = [p for p in project.rglob("*") if p.is_file()]
        for _ in range(10):
            for path in files:
                path.read_bytes()
        await anyio.sleep(1.0)  # past the debounce: any reaction would have started
        cpu_reads = proc_stat(pid)[0] - cpu_before

        target = project / "encoders.py"
        marker = f"zanzibar_quokka_{time.monotonic_ns()}"
        target.write_text(
            target.read_text().replace(
                "def jsonable_encoder(", f"def {marker}(x):\n    return x\n\n\ndef jsonable_encoder(", 1
            )
        )
        t = time.perf_counter()
        while True:
            result = await session.call_tool("find_symbol", {"name": marker})
            if result.structured_content["matches"]:
                break
            await anyio.sleep(0.02)
        edit = time.perf_counter() - t

        while (await session.call_tool("index_status", {})).structured_content["model_loaded"]:
            await anyio.sleep(0.5)  # CCE_MODEL_KEEP_ALIVE seconds after the last use
        await anyio.sleep(1)
        _, released_rss = proc_stat(pid)
        t = time.perf_counter()
        await session.call_tool("context_search", {"query": queries[1]})
        after_release = time.perf_counter() - t
    return {
        "handshake": handshake,
        "first": first,
        "p50": statistics.median(warm),
        "p95": sorted(warm)[int(len(warm) * 0.95) - 1],
        "idle_rss_mb": idle_rss / 1024,
        "released_rss_mb": released_rss / 1024,
        "after_release": after_release,
        "cpu_reads": cpu_reads,
        "edit": edit,
    }


def main() -> None:
    corpus = CORPORA["fastapi"].fetch()
    work = Path(tempfile.mkdtemp(prefix="cce-serve-bench-"))
    try:
        project = work / "fastapi"
        shutil.copytree(corpus, project)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CCE_")}
        env["CCE_HOME"] = str(work / "home")
        env["CCE_MODEL_KEEP_ALIVE"] = str(KEEP_ALIVE_S)
        # The index must land in the same CCE_HOME the server uses, or its catch-up pass indexes from scratch.
        subprocess.run([sys.executable, str(ROOT / "cce.py"), "index", str(project), "--quiet"], env=env, check=True)
        runs = [anyio.run(measure, project, env) for _ in range(3)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print("cce serve on fastapi 0.141.1, median of 3 server runs")
    print(f"  initialize + tools/list   {med['handshake']:6.2f} s")
    print(f"  idle RSS, model loaded    {med['idle_rss_mb']:6.0f} MB (2 s after 50 searches)")
    print(f"  idle RSS, model released  {med['released_rss_mb']:6.0f} MB ({KEEP_ALIVE_S} s without use; default 60)")
    print(f"  search after the release  {med['after_release'] * 1000:6.0f} ms (reloads the model)")
    print(f"  first context_search      {med['first'] * 1000:6.0f} ms (model loading in the background)")
    print(f"  warm context_search       p50 {med['p50'] * 1000:.1f} ms, p95 {med['p95'] * 1000:.1f} ms (50 queries)")
    print(f"  edit to searchable        {med['edit']:6.2f} s (one new function, default 300 ms debounce)")
    print(f"  CPU while reading files   {med['cpu_reads']:6.2f} s (every file read 10 times)")


if __name__ == "__main__":
    main()
