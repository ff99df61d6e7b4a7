from pathlib import Path

import pytest

from cce.errors import UsageError
from cce.settings import DEFAULT_MAX_FILE_BYTES, Settings, available_cpus


def load(tmp_path: Path, **env: str) -> Settings:
    return Settings.load(tmp_path, env={"HOME": str(tmp_path), **env})


def test_defaults(tmp_path):
    s = load(tmp_path)
    assert s.project_dir == tmp_path.resolve()
    assert s.threads == available_cpus()
    assert s.max_file_size == DEFAULT_MAX_FILE_BYTES
    assert s.origins["threads"] == "default"
    assert s.data_dir == tmp_path / ".local/share/cce"
    assert s.cache_dir == tmp_path / ".cache/cce"


@pytest.mark.parametrize("bad", ["0", "-1", "none", "four", "", "1.5"])
def test_bad_thread_counts_name_the_accepted_values(tmp_path, bad):
    with pytest.raises(UsageError, match=r"CCE_THREADS=.*accepted values: 'auto' or a positive integer"):
        load(tmp_path, CCE_THREADS=bad)


def test_thread_count_is_capped_at_the_cpus_with_a_notice(tmp_path):
    s = load(tmp_path, CCE_THREADS="4096")
    assert s.threads == available_cpus()
    assert any("4096 threads" in n for n in s.notices)
    assert load(tmp_path, CCE_THREADS="auto").threads == available_cpus()
    assert load(tmp_path, CCE_THREADS="1").threads == 1


def test_sizes_and_flags(tmp_path):
    assert load(tmp_path, CCE_MAX_FILE_SIZE="2M").max_file_size == 2_000_000
    assert load(tmp_path, CCE_MAX_FILE_SIZE="500k").max_file_size == 500_000
    with pytest.raises(UsageError, match="CCE_MAX_FILE_SIZE"):
        load(tmp_path, CCE_MAX_FILE_SIZE="big")
    assert load(tmp_path, CCE_OFFLINE="1").offline is True
    with pytest.raises(UsageError, match="CCE_OFFLINE"):
        load(tmp_path, CCE_OFFLINE="maybe")


def test_precedence_flags_over_env_over_project_file(tmp_path):
    (tmp_path / ".cce.toml").write_text("debounce_ms = 50\nmax_file_size = '3M'\n")
    s = load(tmp_path, CCE_DEBOUNCE_MS="70")
    assert (s.debounce_ms, s.origins["debounce_ms"]) == (70, "env")
    assert (s.max_file_size, s.origins["max_file_size"]) == (3_000_000, ".cce.toml")
    s = Settings.load(tmp_path, env={"CCE_DEBOUNCE_MS": "70"}, flags={"debounce_ms": "90"})
    assert (s.debounce_ms, s.origins["debounce_ms"]) == (90, "flag")


def test_bad_project_file_is_reported(tmp_path):
    (tmp_path / ".cce.toml").write_text("threads = [\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        load(tmp_path)
    (tmp_path / ".cce.toml").write_text("colour = 'blue'\n")
    with pytest.raises(UsageError, match="unknown setting 'colour'"):
        load(tmp_path)


def test_missing_project_folder(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load(tmp_path / "nope")


def test_cce_home_moves_the_stores_but_not_the_model_cache(tmp_path):
    s = load(tmp_path, CCE_HOME=str(tmp_path / "h"))
    assert s.data_dir == tmp_path / "h"
    assert s.cache_dir == tmp_path / ".cache/cce"


def test_old_parallel_setting_is_called_out(tmp_path):
    s = load(tmp_path, CCE_EMBED_PARALLEL="4")
    assert any("CCE_THREADS" in n and "one process" in n for n in s.notices)


def test_model_keep_alive(tmp_path):
    assert load(tmp_path).model_keep_alive == 60
    assert load(tmp_path, CCE_MODEL_KEEP_ALIVE="5").model_keep_alive == 5
    assert load(tmp_path, CCE_MODEL_KEEP_ALIVE="forever").model_keep_alive is None
    for bad in ("0", "-3", "soon", "1.5"):
        with pytest.raises(UsageError, match=r"CCE_MODEL_KEEP_ALIVE=.*whole seconds between 1 and 86400, or forever"):
            load(tmp_path, CCE_MODEL_KEEP_ALIVE=bad)
