"""Shared fixtures: the tiny test model, the real pinned model, isolated settings."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cce.errors import CceError
from cce.model import default_model_dir, pull_model, resolve_model
from cce.settings import Settings
from tests.helpers import cce_env, make_project
from tests.tinymodel import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a tiny model.onnx + tokenizer.json, usable as CCE_MODEL_DIR."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def real_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pinned default model in the user's cache (~/.cache/cce or $XDG_CACHE_HOME/cce), pulled if missing.

    A failed pull fails the test: a skipped real-model test would hide a broken pull.
    """
    env = {k: os.environ[k] for k in ("XDG_CACHE_HOME", "PIP_INDEX_URL") if os.environ.get(k)}
    settings = Settings.load(tmp_path_factory.mktemp("real-model-project"), env=env)
    try:
        resolve_model(settings, allow_pull=False)
    except CceError:
        try:
            pull_model(settings)
        except CceError as exc:
            pytest.fail(f"could not pull the real model: {exc}", pytrace=False)
    return default_model_dir(settings)


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    """settings_factory(project_dir=None, **env) -> Settings isolated under tmp_path plus the given env."""

    def make(project_dir: str | Path | None = None, **env: object) -> Settings:
        if project_dir is None:
            project_dir = tmp_path / "project"
            project_dir.mkdir(exist_ok=True)
        base = {
            "CCE_HOME": str(tmp_path / "cce-home"),
            "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
            "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
            "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        }
        base.update({key: str(value) for key, value in env.items()})
        return Settings.load(project_dir, env=base)

    return make


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The small sample project of tests/helpers.py, in a temp folder."""
    return make_project(tmp_path / "proj")


@pytest.fixture
def env(tmp_path: Path, tiny_model_dir: Path) -> dict[str, str]:
    """An isolated environment for a `cce` subprocess using the tiny model."""
    return cce_env(tmp_path, tiny_model_dir)
