"""Speed and memory on the pinned fastapi corpus, measured on this machine (not a timed test).

Prints: full index wall seconds, chunks, tokens embedded, tokens/s, the raw model's tokens/s on the
same chunk texts in the same run and the ratio, peak RSS, processes seen, no-change reindex seconds,
one-function-edit reindex, cold `cce search` seconds, Recall@10 and MRR.
Usage: python bench/bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from corpora import CORPORA  # noqa: E402
from quality import evaluate  # noqa: E402

CCE = [sys.executable, str(ROOT / "cce.py")]


class Sampler(threading.Thread):
    """Samples a process tree: peak RSS (VmHWM), the most threads, and every child pid ever seen."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.children, self.max_threads, self.peak_kb = pid, set(), 0, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                tasks = os.listdir(f"/proc/{self.pid}/task")
                self.max_threads = max(self.max_threads, len(tasks))
                for tid in tasks:
                    with open(f"/proc/{self.pid}/task/{tid}/children") as f:
                        self.children.update(f.read().split())
                with open(f"/proc/{self.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError):
                pass
            time.sleep(0.02)


def run_cce(args: list[str], env: dict[str, str]) -> tuple[float, str, Sampler]:
    started = time.perf_counter()
    proc = subprocess.Popen(CCE + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = Sampler(proc.pid)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"cce {' '.join(args)} failed ({proc.returncode}): {err.strip()}")
    return wall, out, sampler


def raw_model_rate(home: Path, corpus: Path) -> tuple[float, int]:
    """The bare model's tokens/s on exactly the texts the index embedded (same batching code)."""
    from cce.chunk import embedding_text
    from cce.engine import Engine
    from cce.settings import Settings
    from cce.store import Store

    engine = Engine(Settings.load(corpus, env=dict(os.environ, CCE_HOME=str(home))))
    store = Store.open_existing(engine.store_dir)
    rows = store.query("SELECT path, start_line, end_line, symbol, kind, lang, text FROM chunks")
    from cce.chunk import Chunk

    texts = [embedding_text(r[0], Chunk(r[1], r[2], r[6], r[3], r[4], r[5])) for r in rows]
    embedder = engine.embedder()
    tokens = sum(embedder.count_tokens(texts))
    started = time.perf_counter()
    embedder.embed_documents(texts)
    return tokens / (time.perf_counter() - started), tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="full-index runs (median reported)")
    args = parser.parse_args()
    corpus = CORPORA["fastapi"].fetch()
    work = Path(tempfile.mkdtemp(prefix="cce-bench-"))
    try:
        fulls = []
        for _ in range(args.runs):
            home = work / f"home{len(fulls)}"
            env = dict(os.environ, CCE_HOME=str(home))
            wall, out, sampler = run_cce(["index", str(corpus), "--json"], env)
            fulls.append((wall, json.loads(out), sampler, home))
        wall, summary, sampler, home = sorted(fulls, key=lambda f: f[0])[len(fulls) // 2]
        env = dict(os.environ, CCE_HOME=str(home))
        noop = statistics.median(run_cce(["index", str(corpus), "--json"], env)[0] for _ in range(3))
        noop_summary = json.loads(run_cce(["index", str(corpus), "--json"], env)[1])

        # Edit one function in a copy: only that file's changed chunks may be embedded again.
        copy = work / "edit" / "fastapi"
        shutil.copytree(corpus, copy)
        edit_env = dict(os.environ, CCE_HOME=str(work / "edit-home"))
        run_cce(["index", str(copy), "--json"], edit_env)
        target = copy / "encoders.py"
        target.write_text(target.read_text().replace("def jsonable_encoder(", "def jsonable_encoder(  # edited\n", 1))
        edit_wall, edit_out, _ = run_cce(["index", str(copy), "--json"], edit_env)
        edit = json.loads(edit_out)

        colds = [
            run_cce(["search", "How are HTTP exceptions handled?", "--project-dir", str(corpus)], env)[0]
            for _ in range(5)
        ]
        raw_rate, raw_tokens = raw_model_rate(home, corpus)
        quality = evaluate("fastapi", modes=("hybrid",))["hybrid"]  # also runs the identifier check
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rate = summary["tokens_embedded"] / wall
    procs = 1 + len(sampler.children)
    print(f"fastapi 0.141.1 ({summary['files']} files) on {os.cpu_count()} CPUs, median of {args.runs} full runs")
    print(f"  full index wall          {wall:7.1f} s   (runs: {', '.join(f'{f[0]:.1f}' for f in fulls)})")
    print(f"  chunks                   {summary['chunks_embedded']:7d}")
    print(f"  tokens embedded          {summary['tokens_embedded']:7d}")
    print(f"  pipeline tokens/s        {rate:7.0f}")
    print(
        f"  raw model tokens/s       {raw_rate:7.0f}   ({raw_tokens} tokens, same texts)   ratio {rate / raw_rate:.2f}"
    )
    print(f"  peak RSS                 {sampler.peak_kb / 1024:7.0f} MB")
    print(
        f"  processes                {procs:7d}   (child pids seen: {len(sampler.children)}; "
        f"max threads {sampler.max_threads})"
    )
    print(f"  no-change reindex        {noop:7.2f} s   ({noop_summary['chunks_embedded']} chunks embedded)")
    print(
        f"  one-function edit        {edit_wall:7.2f} s   ({edit['files_indexed']} file, "
        f"{edit['chunks_embedded']} chunks embedded, {edit['chunks_reused']} reused)"
    )
    print(f"  cold cce search          {statistics.median(colds):7.2f} s   (median of 5)")
    print(f"  Recall@10 / MRR          {quality['recall@10']:.3f} / {quality['mrr']:.3f}")


if __name__ == "__main__":
    main()
