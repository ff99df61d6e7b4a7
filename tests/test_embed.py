"""The embedder on the tiny model (batching, pooling, truncation, query prefix, threads) and the real one."""

from __future__ import annotations

import threading

import numpy as np
import onnxruntime as ort
import pytest

from cce.embed import QUERY_PREFIX, Embedder
from cce.errors import CceError
from cce.model import DEFAULT_MODEL_ID, PINNED_FILES, ModelFiles
from tests.tinymodel import build_tiny_model

_WORDS = "parse json config request token user cache queue thread lock index search vector store file path"
WORDS = _WORDS.split()


def tiny_files(folder, model_id: str = "custom-tiny") -> ModelFiles:
    return ModelFiles(folder / "model.onnx", folder / "tokenizer.json", model_id=model_id, pinned=False)


@pytest.fixture(scope="module")
def tiny(tiny_model_dir) -> Embedder:
    return Embedder(tiny_files(tiny_model_dir), threads=2)


def texts_of_varied_length(count: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(1, 60)))) for _ in range(count)]


class RunSpy:
    """Wraps InferenceSession.run to record each batch's inputs."""

    def __init__(self, embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
        self.feeds: list[dict[str, np.ndarray]] = []
        self.options: list[object] = []
        real_run = embedder._session.run

        def run(outputs, feed, options=None):
            self.feeds.append(feed)
            self.options.append(options)
            return real_run(outputs, feed, options)

        monkeypatch.setattr(embedder._session, "run", run)

    @property
    def shapes(self) -> list[tuple[int, int]]:
        return [feed["input_ids"].shape for feed in self.feeds]


def test_shapes_and_normalisation(tiny):
    assert tiny.dim == 32 and tiny.model_id == "custom-tiny" and tiny.max_tokens == 512
    vectors = tiny.embed_documents(["def parse(text): return json.loads(text)", "x", "queue worker"])
    assert vectors.shape == (3, 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    query = tiny.embed_query("parse json")
    assert query.shape == (32,) and query.dtype == np.float32
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-5
    assert tiny.embed_documents([]).shape == (0, 32)


def test_similar_texts_get_similar_vectors(tiny):
    a, b, c = tiny.embed_documents(["parse json config", "json config parser", "thread lock queue worker"])
    assert float(a @ b) > float(a @ c) + 0.2


def test_each_text_runs_alone_longest_first(tiny_model_dir, monkeypatch):
    embedder = Embedder(tiny_files(tiny_model_dir), threads=1)
    texts = texts_of_varied_length(30)
    spy = RunSpy(embedder, monkeypatch)
    done: list[int] = []

    vectors = embedder.embed_documents(texts, progress=done.append)

    assert [rows for rows, _ in spy.shapes] == [1] * len(texts)  # no batch, so no padding
    widths = [width for _, width in spy.shapes]
    assert widths == sorted(widths, reverse=True)
    assert all(feed["attention_mask"].all() and not feed["token_type_ids"].any() for feed in spy.feeds)
    assert set(spy.feeds[0]) == {"input_ids", "attention_mask", "token_type_ids"}
    assert done == list(range(1, len(texts) + 1))
    # Memory goes back to the system once, after the last run: shrinking after every run is slow.
    assert [options is not None for options in spy.options] == [False] * (len(texts) - 1) + [True]
    assert len({row.tobytes() for row in vectors}) == len(set(texts))  # rows differ: order is observable


def test_count_tokens_is_untruncated(tiny):
    # The tiny tokenizer.json carries truncation at 8 tokens of its own: it must not apply.
    words = " ".join(["json"] * 20)
    assert tiny.count_tokens(["json", words, ""]) == [3, 22, 2]
    assert tiny.count_tokens([" ".join(["token"] * 5000)]) == [5002]


def test_long_texts_are_truncated_at_max_tokens(tiny, monkeypatch):
    head = " ".join(["parse"] * 600)
    long_text = head + " " + " ".join(["queue"] * 4400)
    spy = RunSpy(tiny, monkeypatch)

    long_vector, head_vector = tiny.embed_documents([long_text, head])

    assert [width for _, width in spy.shapes] == [512, 512]  # both cut to 512
    # Everything after the first 510 word tokens is cut, so the "queue" tail leaves no trace.
    np.testing.assert_allclose(long_vector, head_vector, atol=1e-6)
    assert tiny.embed_query(long_text).shape == (32,)


def test_query_prefix_only_for_the_default_model(tiny_model_dir):
    custom = Embedder(tiny_files(tiny_model_dir), threads=1)
    default = Embedder(tiny_files(tiny_model_dir, model_id=DEFAULT_MODEL_ID), threads=1)
    query = "where is the json config parsed"
    plain, prefixed = custom.embed_documents([query, QUERY_PREFIX + query])
    assert not np.allclose(plain, prefixed, atol=1e-3)  # the prefix makes a visible difference

    np.testing.assert_allclose(custom.embed_query(query), plain, atol=1e-6)
    np.testing.assert_allclose(default.embed_query(query), prefixed, atol=1e-6)


def test_a_model_without_token_type_ids_gets_only_its_inputs(tmp_path, monkeypatch):
    folder = build_tiny_model(tmp_path / "no-types", token_type_ids=False)
    embedder = Embedder(tiny_files(folder), threads=1)
    spy = RunSpy(embedder, monkeypatch)
    assert embedder.embed_documents(["parse json"]).shape == (1, 32)
    assert set(spy.feeds[0]) == {"input_ids", "attention_mask"}


def test_queries_from_threads_while_documents_embed(tiny_model_dir):
    embedder = Embedder(tiny_files(tiny_model_dir), threads=2)
    queries = ["parse json", "thread lock", "user cache", "vector store"]
    expected = {q: embedder.embed_query(q) for q in queries}
    documents = texts_of_varied_length(400, seed=1)
    reference = embedder.embed_documents(documents)
    errors: list[BaseException] = []
    results: dict[str, list[np.ndarray]] = {q: [] for q in queries}
    indexing_done = threading.Event()

    def ask(query: str) -> None:
        try:
            while not indexing_done.is_set() or len(results[query]) < 20:
                results[query].append(embedder.embed_query(query))
        except BaseException as exc:  # surfaced below: a thread's exception would otherwise be lost
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(q,)) for q in queries]
    for thread in threads:
        thread.start()
    try:
        vectors = embedder.embed_documents(documents)
    finally:
        indexing_done.set()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
    np.testing.assert_allclose(vectors, reference, atol=1e-5)
    for query, answers in results.items():
        assert answers and all(np.allclose(answer, expected[query], atol=1e-5) for answer in answers)


def test_unloadable_files_are_a_clear_error(tiny_model_dir, tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"not an onnx model")
    (tmp_path / "tokenizer.json").write_bytes((tiny_model_dir / "tokenizer.json").read_bytes())
    with pytest.raises(CceError, match="cannot load the embedding model .*cce model verify"):
        Embedder(tiny_files(tmp_path), threads=1)

    (tmp_path / "model.onnx").write_bytes((tiny_model_dir / "model.onnx").read_bytes())
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(CceError, match="cannot load the tokenizer"):
        Embedder(tiny_files(tmp_path), threads=1)


def test_the_tiny_model_is_deterministic(tiny_model_dir, tmp_path):
    again = build_tiny_model(tmp_path / "again")
    for name in ("model.onnx", "tokenizer.json"):
        assert (again / name).read_bytes() == (tiny_model_dir / name).read_bytes()


# ---------------------------------------------------------------------------- the real model

JSON_SNIPPET = '''def load_settings(path):
    """Read the JSON settings file and return it as a dict."""
    with open(path) as fh:
        return json.loads(fh.read())'''
UNRELATED_SNIPPET = '''def draw_circle(canvas, x, y, radius, colour):
    """Paint a filled circle on the canvas."""
    canvas.ellipse(x - radius, y - radius, x + radius, y + radius, fill=colour)'''


@pytest.fixture(scope="module")
def real(real_model_dir) -> Embedder:
    onnx, tokenizer = (real_model_dir / pin.name for pin in PINNED_FILES)
    return Embedder(ModelFiles(onnx, tokenizer, DEFAULT_MODEL_ID, pinned=True), threads=2)


@pytest.mark.model
def test_real_model_dimension_and_ranking(real):
    assert real.dim == 384
    query = real.embed_query("parse json")
    related, unrelated = real.embed_documents([JSON_SNIPPET, UNRELATED_SNIPPET])
    assert float(query @ related) > float(query @ unrelated) + 0.05


@pytest.mark.model
def test_real_model_vectors_do_not_depend_on_the_other_texts(real):
    texts = [JSON_SNIPPET, UNRELATED_SNIPPET, "class Cache:\n    pass", "SELECT * FROM users WHERE id = ?"]
    together = real.embed_documents(texts)
    # int8 dynamic quantization scales activations per run: texts share none, so vectors are exact.
    assert np.array_equal(together, np.stack([real.embed_documents([text])[0] for text in texts]))


# ---------------------------------------------------------------------------- the prepared copy


def test_prepared_copy_is_made_once_and_gives_the_same_vectors(tiny_model_dir, tmp_path, tiny):
    root = tmp_path / "prepared"
    prepared = Embedder(tiny_files(tiny_model_dir), threads=1, prepared_root=root)
    (folder,) = root.iterdir()
    assert (folder / "model.onnx").is_file() and folder.name.startswith("custom-tiny-onnxruntime-")
    texts = texts_of_varied_length(20, seed=3)
    np.testing.assert_allclose(prepared.embed_documents(texts), tiny.embed_documents(texts), atol=1e-6)

    made = (folder / "model.onnx").stat().st_mtime_ns
    Embedder(tiny_files(tiny_model_dir), threads=1, prepared_root=root)
    assert (folder / "model.onnx").stat().st_mtime_ns == made  # loaded, not made again
    assert [p.name for p in root.iterdir()] == [folder.name]  # no temp folders left behind


def test_a_damaged_prepared_copy_is_replaced(tiny_model_dir, tmp_path, tiny):
    root = tmp_path / "prepared"
    Embedder(tiny_files(tiny_model_dir), threads=1, prepared_root=root)
    (folder,) = root.iterdir()
    (folder / "model.onnx").write_bytes(b"garbage")
    damaged = Embedder(tiny_files(tiny_model_dir), threads=1, prepared_root=root)
    np.testing.assert_allclose(damaged.embed_query("parse json"), tiny.embed_query("parse json"), atol=1e-6)
    Embedder(tiny_files(tiny_model_dir), threads=1, prepared_root=root)
    assert (folder / "model.onnx").read_bytes() != b"garbage"  # made again on the next load


def test_an_unwritable_cache_falls_back_to_the_model_itself(tiny_model_dir, tmp_path, tiny):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    embedder = Embedder(tiny_files(tiny_model_dir), threads=1, prepared_root=blocker / "prepared")
    np.testing.assert_allclose(embedder.embed_query("lock queue"), tiny.embed_query("lock queue"), atol=1e-6)


def test_idle_seconds_is_none_while_a_call_runs(tiny_model_dir):
    embedder = Embedder(tiny_files(tiny_model_dir), threads=1)
    with embedder._in_use():
        assert embedder.idle_seconds() is None
    assert 0 <= embedder.idle_seconds() < 1


def test_parallel_runs_keep_input_order_and_report_progress(tiny_model_dir):
    texts = texts_of_varied_length(120, seed=7)
    one = Embedder(tiny_files(tiny_model_dir), threads=1).embed_documents(texts)
    seen: list[int] = []
    two = Embedder(tiny_files(tiny_model_dir), threads=2).embed_documents(texts, seen.append)
    assert np.array_equal(two, one)
    assert seen == list(range(1, len(texts) + 1))


def test_two_loads_preparing_at_once_both_get_a_whole_copy(tiny_model_dir, tmp_path, tiny):
    root = tmp_path / "prepared"
    loaded: list[Embedder] = []
    threads = [
        threading.Thread(target=lambda: loaded.append(Embedder(tiny_files(tiny_model_dir), 1, prepared_root=root)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(loaded) == 4
    assert [p.name for p in root.iterdir()] == [f"custom-tiny-onnxruntime-{ort.__version__}"]  # no temp left
    for embedder in loaded:
        np.testing.assert_allclose(embedder.embed_query("user cache"), tiny.embed_query("user cache"), atol=1e-6)
