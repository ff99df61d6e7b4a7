"""The `cce` command line: a thin shell over Engine. It never imports mcp (only `cce serve` does)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__, clients
from .errors import CceError, UsageError
from .render import ProgressLine, hits_text, to_json
from .settings import SEARCH_MODES, Settings

if TYPE_CHECKING:
    from .engine import Engine
    from .index import Progress


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, instead of argparse's usage dump
        if message.endswith("required: query"):  # `cce search -x`: argparse took the query for an option
            message += "; a query that starts with '-' goes after the options and `--`: cce search -- '-x'"
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--project-dir", metavar="D", help="the project folder (default: the current one)")
    common.add_argument("--threads", metavar="N", help="model runs at once: a positive integer or auto (CCE_THREADS)")
    parser = _Parser(
        prog="cce",
        description="Code context engine: index a code base locally and search it by meaning and by name.",
    )
    parser.add_argument("--version", action="version", version=f"cce {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("index", parents=[common], help="index the project (incremental)")
    p.add_argument("path", nargs="?", metavar="PATH", help="the project folder (same as --project-dir)")
    p.add_argument("--full", action="store_true", help="rebuild the index from scratch")
    p.add_argument(
        "--path", dest="paths", action="append", metavar="SUBPATH", help="index only this file or folder (repeatable)"
    )
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = sub.add_parser("search", parents=[common], help="search the index")
    p.add_argument("query", help="what you are looking for: a question, words or an identifier")
    p.add_argument("--top-k", "-k", type=int, default=10, metavar="N", help="number of hits (default 10)")
    p.add_argument("--mode", choices=SEARCH_MODES, default="hybrid", help="retrieval mode (default hybrid)")
    p.add_argument("--json", action="store_true", help="machine-readable results")

    p = sub.add_parser("status", parents=[common], help="what is indexed, where, and what changed since")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("clear", parents=[common], help="remove this project's index")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("model", parents=[common], help="the embedding model: pull | path | verify")
    p.add_argument("action", choices=("pull", "path", "verify"))
    p.add_argument("--json", action="store_true")

    sub.add_parser("serve", parents=[common], help="run the MCP stdio server (for coding agents)")

    p = sub.add_parser("init", parents=[common], help="register cce with coding agents, then index the project")
    p.add_argument(
        "--client",
        action="append",
        choices=(*clients.CLIENTS, "all"),
        help="claude, cursor, codex, gemini or all (repeatable; default: the clients found in your home folder)",
    )
    p.add_argument("--dry-run", action="store_true", help="print what would be written; change nothing")
    p.add_argument("--no-index", action="store_true", help="register only; do not index the project")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    p.add_argument("--json", action="store_true", help="machine-readable report")

    sub.add_parser("mcp-config", parents=[common], help="print the MCP server JSON snippet for any other client")

    p = sub.add_parser("doctor", parents=[common], help="check the model, the index, inotify limits and packages")
    p.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        project = args.project_dir
        if args.command == "index" and args.path:
            if project and os.path.abspath(project) != os.path.abspath(args.path):
                raise UsageError("give the project folder either as PATH or as --project-dir, not both")
            project = args.path
        flags = {"threads": args.threads} if args.threads is not None else None
        settings = Settings.load(project, flags=flags)
        for notice in settings.notices:
            print(notice, file=sys.stderr)
        if args.command == "serve":
            from .server import serve  # mcp is imported only here; the server makes its Engine

            return serve(settings)
        from .engine import Engine  # numpy, SQLite, the indexer: after the arguments are known good

        return _COMMANDS[args.command](Engine(settings), args)
    except CceError as exc:
        print(f"cce: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("cce: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0  # `cce search ... | head` closed the pipe: not an error


def _index(engine: Engine, args: argparse.Namespace) -> int:
    summary = _run_index(engine, full=args.full, paths=args.paths, quiet=args.quiet)
    if args.json:
        print(to_json(summary.as_dict()))
    elif not args.quiet:
        print(summary.line())
    return 0


def _run_index(engine: Engine, full: bool = False, paths: list[str] | None = None, quiet: bool = False):
    """Index with a progress line on stderr when it is a terminal (and not quiet); returns the summary."""
    line = ProgressLine(enabled=False if quiet else None)

    def progress(p: Progress) -> None:
        rate = p.chunks_embedded / p.elapsed if p.elapsed > 0 else 0.0
        eta = f", ETA {p.eta:.0f} s" if p.eta is not None else ""
        line.show(
            f"indexing: {p.files_done}/{p.files_total} files, {p.chunks_embedded} chunks, {rate:.0f} chunks/s{eta}"
        )

    try:
        return engine.index(
            full=full,
            paths=paths,
            progress=progress,
            on_wait=lambda msg: print(msg, file=sys.stderr),
            pull_progress=line.show,
        )
    finally:
        line.done()


def _search(engine: Engine, args: argparse.Namespace) -> int:
    if args.top_k < 1:
        raise UsageError(f"--top-k must be at least 1 (got {args.top_k})")
    hits = engine.search(args.query, top_k=args.top_k, mode=args.mode)
    if args.json:
        print(to_json({"query": args.query, "mode": args.mode, "hits": [h.as_dict() for h in hits]}))
    else:
        print(hits_text(hits))
    return 0


def _status(engine: Engine, args: argparse.Namespace) -> int:
    info = engine.status()
    if args.json:
        print(to_json(info))
        return 0
    print(f"project:   {info['project']}")
    print(f"store:     {info['store']}")
    if not info["indexed"]:
        print("index:     none yet (run `cce index`)")
    else:
        print(f"index:     {info['files']} files, {info['chunks']} chunks, {info['store_bytes'] / 1e6:.1f} MB")
        print(f"model:     {info['model_id']}")
        from .engine import time_ago

        print(f"last run:  {time_ago(info['last_index_at'])}")
        print(f"changed:   {info['changed_since']} files changed or new, {info['deleted_since']} deleted since")
        skipped = ", ".join(f"{n} {r}" for r, n in info["skipped"].items()) or "none"
        print(f"skipped:   {skipped}")
        if info["writer_pid"]:
            print(f"writer:    pid {info['writer_pid']} is indexing now")
    print("settings:  " + ", ".join(f"{k}={v['value']} ({v['from']})" for k, v in info["settings"].items()))
    return 0


def _clear(engine: Engine, args: argparse.Namespace) -> int:
    removed = engine.clear()
    if args.json:
        print(to_json({"store": str(engine.store_dir), "removed": removed}))
    else:
        print(f"removed {engine.store_dir}" if removed else f"nothing to remove (no index at {engine.store_dir})")
    return 0


def _model(engine: Engine, args: argparse.Namespace) -> int:
    from . import model

    if args.action == "pull":
        line = ProgressLine()
        started = time.monotonic()
        try:
            files = model.pull_model(engine.settings, progress=line.show)
        finally:
            line.done()
        result = {
            "model_id": files.model_id,
            "onnx": str(files.onnx),
            "tokenizer": str(files.tokenizer),
            "seconds": round(time.monotonic() - started, 1),
        }
        print(to_json(result) if args.json else f"model {files.model_id} ready in {files.onnx.parent}")
        return 0
    if args.action == "path":
        files = engine.model(allow_pull=False)
        print(to_json({"model_id": files.model_id, "dir": str(files.onnx.parent)}) if args.json else files.onnx.parent)
        return 0
    checks = model.verify_model(engine.settings)
    if args.json:
        print(to_json([{"file": name, "ok": ok, "detail": detail} for name, ok, detail in checks]))
    else:
        for name, ok, detail in checks:
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    return 0 if checks and all(ok for _, ok, _ in checks) else 1


def _init(engine: Engine, args: argparse.Namespace) -> int:
    env = engine.settings.client_homes
    chosen = args.client or clients.detect_clients(Path(clients.home_dir(env)))
    names = list(clients.CLIENTS) if "all" in chosen else list(dict.fromkeys(chosen))
    command = clients.server_command()
    plans, errors = [], []
    for name in names:
        try:
            plans.append(clients.plan(name, engine.root, command, env))
        except clients.ConfigError as exc:
            errors.append(str(exc))
    if errors:  # all or nothing: a broken config stops every write, so a rerun after the fix is clean
        for error in errors:
            print(f"cce: {error}", file=sys.stderr)
        return 1
    report = {
        "project": str(engine.root),
        "command": command,
        "dry_run": args.dry_run,
        "clients": [p.as_dict() for p in plans],
        "index": None,
    }
    if args.dry_run:
        for p, entry in zip(plans, report["clients"], strict=True):
            entry["content"] = p.content
        if args.json:
            print(to_json(report))
        else:
            for p in plans:
                verb = _DRY_VERBS[p.action]
                print(f"{p.client}: {verb} {p.path}")
                if p.action != "unchanged":
                    print("    " + p.content.rstrip("\n").replace("\n", "\n    "))
        return 0
    for p in plans:
        clients.apply(p)
        if not (args.json or args.quiet):
            done = {"create": "created", "add": "added cce to", "update": "updated cce in"}.get(p.action)
            print(f"{p.client}: {done} {p.path}" if done else f"{p.client}: already registered in {p.path}")
    if not args.no_index:
        summary = _run_index(engine, quiet=args.quiet)
        report["index"] = summary.as_dict()
        if not (args.json or args.quiet):
            print(summary.line())
    if args.json:
        print(to_json(report))
    return 0


_DRY_VERBS = {
    "create": "would create",
    "add": "would add cce to",
    "update": "would update cce in",
    "unchanged": "already registered in",
}


def _mcp_config(engine: Engine, args: argparse.Namespace) -> int:
    print(to_json(clients.mcp_config(clients.server_command(), engine.root)))
    return 0


def _doctor(engine: Engine, args: argparse.Namespace) -> int:
    from . import doctor

    checks = doctor.run_checks(engine.settings)
    failed = any(c.status == doctor.FAIL for c in checks)
    if args.json:
        print(to_json({"ok": not failed, "checks": [c.as_dict() for c in checks]}))
    else:
        for c in checks:
            print(c.line())
    return 1 if failed else 0


_COMMANDS = {
    "index": _index,
    "search": _search,
    "status": _status,
    "clear": _clear,
    "model": _model,
    "init": _init,
    "mcp-config": _mcp_config,
    "doctor": _doctor,
}
