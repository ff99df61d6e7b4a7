"""Settings: built once from flags > environment > .cce.toml > defaults, validated, then passed down.

No other module reads os.environ: they take a Settings.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError

PROJECT_FILE = ".cce.toml"
DEFAULT_MAX_FILE_BYTES = 1_000_000
DEFAULT_DEBOUNCE_MS = 300
DEFAULT_MODEL_KEEP_ALIVE_S = 60
DEFAULT_INDEX_URL = "https://pypi.org/simple"
SEARCH_MODES = ("hybrid", "lexical", "vector")  # what `cce search --mode` accepts


def available_cpus() -> int:
    """CPUs this process may run on (affinity-aware, so containers and taskset are honoured)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _parse_threads(raw: str) -> int:
    text = raw.strip().lower()
    if text == "auto":
        return available_cpus()
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise ValueError("accepted values: 'auto' or a positive integer such as 2")


def _parse_size(raw: str) -> int:
    text = raw.strip().upper().removesuffix("B")
    scale = 1
    for suffix, factor in (("K", 1_000), ("M", 1_000_000), ("G", 1_000_000_000)):
        if text.endswith(suffix):
            text, scale = text[:-1], factor
            break
    if not text.isdigit() or int(text) <= 0:
        raise ValueError("accepted values: a positive number of bytes, optionally with K, M or G (e.g. 2M)")
    return int(text) * scale


def _parse_ms(raw: str) -> int:
    text = raw.strip()
    if not text.isdigit() or not 0 <= int(text) <= 60_000:
        raise ValueError("accepted values: whole milliseconds between 0 and 60000")
    return int(text)


def _parse_keep_alive(raw: str) -> float | None:
    text = raw.strip().lower()
    if text == "forever":
        return None
    if not text.isdigit() or not 1 <= int(text) <= 86_400:
        raise ValueError("accepted values: whole seconds between 1 and 86400, or forever")
    return float(text)


def _parse_bool(raw: str) -> bool:
    text = raw.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise ValueError("accepted values: 1/true/yes/on or 0/false/no/off")


def _parse_dir(raw: str) -> Path:
    if not raw.strip():
        raise ValueError("it is empty; give a folder path")
    return Path(raw).expanduser().resolve()


def _parse_home(raw: str) -> Path:
    path = _parse_dir(raw)
    if path.exists() and not path.is_dir():
        raise ValueError("it is a file, not a folder; give a folder where cce may keep its data")
    return path


@dataclass(frozen=True)
class _Knob:
    name: str
    env: str
    parse: Callable[[str], Any]
    default: Any


# The settings a user may change; each has an environment variable and a .cce.toml key of the same name.
_KNOBS = (
    _Knob("threads", "CCE_THREADS", _parse_threads, None),  # None -> available_cpus()
    _Knob("max_file_size", "CCE_MAX_FILE_SIZE", _parse_size, DEFAULT_MAX_FILE_BYTES),
    _Knob("debounce_ms", "CCE_DEBOUNCE_MS", _parse_ms, DEFAULT_DEBOUNCE_MS),
    # How long `cce serve` keeps the embedding model loaded after its last use (None: for good).
    _Knob("model_keep_alive", "CCE_MODEL_KEEP_ALIVE", _parse_keep_alive, float(DEFAULT_MODEL_KEEP_ALIVE_S)),
    _Knob("offline", "CCE_OFFLINE", _parse_bool, False),
    _Knob("model_dir", "CCE_MODEL_DIR", _parse_dir, None),
    _Knob("home", "CCE_HOME", _parse_home, None),
)
_TOML_KEYS = {"threads", "max_file_size", "debounce_ms"}


@dataclass(frozen=True)
class Settings:
    project_dir: Path
    threads: int
    max_file_size: int
    debounce_ms: int
    model_keep_alive: float | None
    offline: bool
    model_dir: Path | None
    data_dir: Path  # stores live under data_dir/projects/ (CCE_HOME moves them)
    cache_dir: Path  # the model cache (XDG_CACHE_HOME/cce: shared by every store and CCE_HOME)
    index_url: str
    # Where agent clients keep their configs (`cce init`): HOME and, when set, CODEX_HOME.
    client_homes: Mapping[str, str] = field(default_factory=dict)
    origins: Mapping[str, str] = field(default_factory=dict)  # setting -> "flag" | "env" | file | "default"
    notices: tuple[str, ...] = ()  # one-line messages for the user (e.g. a capped thread count)

    @classmethod
    def load(
        cls,
        project_dir: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        flags: Mapping[str, str] | None = None,
    ) -> Settings:
        """Build validated settings; raises UsageError with a one-line message naming the fix."""
        env = os.environ if env is None else env
        flags = flags or {}
        project = Path(project_dir or ".").expanduser()
        if not project.is_dir():
            raise UsageError(f"project folder {str(project)!r} does not exist or is not a folder")
        project = project.resolve()

        file_values = _read_project_file(project / PROJECT_FILE)
        values: dict[str, Any] = {}
        origins: dict[str, str] = {}
        for knob in _KNOBS:
            for origin, source in (("flag", flags), ("env", env), (PROJECT_FILE, file_values)):
                if knob.name in _TOML_KEYS or origin != PROJECT_FILE:
                    key = knob.env if origin == "env" else knob.name
                    raw = source.get(key)
                    if raw is not None:
                        where = f"{knob.env}={raw}" if origin == "env" else f"{knob.name} in {origin}"
                        try:
                            values[knob.name] = knob.parse(str(raw))
                        except ValueError as exc:
                            raise UsageError(f"bad setting {where}: {exc}") from None
                        origins[knob.name] = origin
                        break
            else:
                values[knob.name] = knob.default
                origins[knob.name] = "default"

        notices = []
        cpus = available_cpus()
        if values["threads"] is None:
            values["threads"] = cpus
        elif values["threads"] > cpus:
            notices.append(f"cce: {values['threads']} threads asked for but {cpus} CPUs available; using {cpus}")
            values["threads"] = cpus
        if env.get("CCE_EMBED_PARALLEL"):
            notices.append(
                "cce: CCE_EMBED_PARALLEL is no longer used: cce runs one process with threads; set CCE_THREADS instead"
            )

        home = values.pop("home")
        user_home = Path(env.get("HOME") or Path.home())
        data_root = Path(env.get("XDG_DATA_HOME") or user_home / ".local/share") / "cce"
        cache_root = Path(env.get("XDG_CACHE_HOME") or user_home / ".cache") / "cce"
        return cls(
            project_dir=project,
            data_dir=home or data_root,
            cache_dir=cache_root,
            index_url=(env.get("PIP_INDEX_URL") or DEFAULT_INDEX_URL).rstrip("/"),
            client_homes={k: env[k] for k in ("HOME", "CODEX_HOME") if env.get(k)},
            origins=origins,
            notices=tuple(notices),
            **values,
        )


def _read_project_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not valid TOML ({exc}); fix or remove it") from None
    unknown = sorted(set(data) - _TOML_KEYS)
    if unknown:
        raise UsageError(f"{path}: unknown setting {unknown[0]!r}; accepted keys: {', '.join(sorted(_TOML_KEYS))}")
    return data
