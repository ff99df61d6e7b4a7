"""Run the real `cce` CLI under a Python audit hook that records (and can refuse) what it touches.

    python tests/cce_probe.py <cce arguments...>

Configured by environment variables read here, before cce starts (cce itself reads only its own
CCE_* settings):

- CCE_PROBE_LOG: a file that receives one line per `open`, `os.scandir`, socket and subprocess
  event: "<event>\\t<repr of the path or details>".
- CCE_PROBE_UNREADABLE: opening any file whose name contains this text fails with EACCES (tests
  run as root, where chmod 000 does not stop a read).
- CCE_PROBE_VANISH: absolute paths, separated by os.pathsep; the first time cce opens one of them
  it is deleted just before the open (deleted between listing and reading). A path whose name
  contains "replaced" is replaced by a symlink to CCE_PROBE_LINK_TO instead.
- CCE_PROBE_NO_NET=1: creating an AF_INET/AF_INET6 socket, connecting or resolving a name fails.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NET_FAMILIES = {int(socket.AF_INET), int(socket.AF_INET6)}


def _install() -> None:
    log_path = os.environ.pop("CCE_PROBE_LOG", "")
    unreadable = os.environ.pop("CCE_PROBE_UNREADABLE", "")
    vanish = {p for p in os.environ.pop("CCE_PROBE_VANISH", "").split(os.pathsep) if p}
    link_to = os.environ.pop("CCE_PROBE_LINK_TO", "/")
    no_net = os.environ.pop("CCE_PROBE_NO_NET", "") == "1"
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if log_path else -1
    busy = False

    def record(event: str, detail: object) -> None:
        if log_fd >= 0:
            os.write(log_fd, f"{event}\t{detail!r}\n".encode("utf-8", "backslashreplace"))

    def hook(event: str, args: tuple) -> None:
        nonlocal busy
        if busy:
            return
        if event in ("open", "os.scandir", "os.listdir"):
            path = args[0] if args else None
            if isinstance(path, int):
                return
            name = os.fsdecode(path) if path is not None else ""
            record(event, name)
            if event != "open":
                return
            if unreadable and unreadable in os.path.basename(name):
                raise PermissionError(errno.EACCES, "Permission denied (simulated)", name)
            base = os.path.basename(name)
            for target in list(vanish):
                if os.path.basename(target) == base:
                    vanish.discard(target)
                    busy = True
                    try:
                        os.unlink(target)
                        if "replaced" in base:
                            os.symlink(link_to, target)
                    finally:
                        busy = False
        elif event.startswith("socket."):
            record(event, args[1:] if event == "socket.__new__" else args)
            if no_net and (
                (event == "socket.__new__" and int(args[1]) in NET_FAMILIES)
                or event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname")
            ):
                raise OSError(errno.ENETUNREACH, f"network use refused by the test probe ({event})")
        elif event in ("subprocess.Popen", "os.fork", "os.posix_spawn", "os.exec"):
            record(event, args[:2])

    sys.addaudithook(hook)


if __name__ == "__main__":
    _install()
    sys.path.insert(0, str(ROOT))
    from cce.cli import main

    sys.exit(main(sys.argv[1:]))
