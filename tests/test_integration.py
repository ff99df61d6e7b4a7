"""The real pinned model end to end: `cce index` + `cce search` on a small project (CI pulls the model)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import cce_env, make_project, run_cce


@pytest.mark.model
def test_real_model_finds_code_by_meaning(tmp_path, real_model_dir):
    project = make_project(tmp_path / "proj")
    env = cce_env(tmp_path, None, XDG_CACHE_HOME=str(real_model_dir.parents[2]))
    result = run_cce("index", str(project), "--json", env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["chunks_embedded"] > 0
    status = json.loads(run_cce("status", "--json", env=env, cwd=project).stdout)
    assert status["model_id"] == "bge-small-en-v1.5-int8"

    for question, expected in [
        ("how are authorization headers checked?", "app/auth.py"),
        ("retry failed requests on server errors", "web/client.js"),
        ("how do I install it?", "docs/guide.md"),
    ]:
        data = json.loads(run_cce("search", question, "--json", env=env, cwd=project).stdout)
        assert data["hits"][0]["path"] == expected, (question, [h["path"] for h in data["hits"]])
