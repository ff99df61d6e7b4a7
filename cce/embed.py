"""Text -> vectors with one ONNX Runtime session per process.

Each text is embedded in a run of its own, one thread per run, with up to `threads` runs at once.
The int8 model quantises activations per run, so a text batched with others got a slightly
different vector depending on its neighbours; alone, a chunk's vector depends on its text only, an
incremental index equals a fresh one, and there is no padding to compute.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from .errors import CceError
from .model import DEFAULT_MODEL_ID, ModelFiles, _one_line

# bge's instruction for the query side of retrieval; indexed chunks never get it.
QUERY_PREFIX = "Represent this sentence for searching relevant passages: "
# Texts tokenized per encode_batch call: tokenizers' Encoding objects are large, so keep few alive.
_TOKENIZE_WINDOW = 512
_KNOWN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class Embedder:
    """Thread-safe: the tokenizers are configured once here and only read afterwards, and
    InferenceSession.run may be called from several threads at once."""

    max_tokens: int = 512
    tokens_embedded: int = 0  # running total over embed_documents calls (after truncation)

    def __init__(
        self,
        files: ModelFiles,
        threads: int,
        prepared_root: Path | None = None,
    ) -> None:
        self.model_id = files.model_id
        self._use_lock = threading.Lock()
        self._calls_running = 0
        self._last_used = time.monotonic()
        self._query_prefix = QUERY_PREFIX if files.model_id == DEFAULT_MODEL_ID else ""
        self._tokenizer = _load_tokenizer(files)

        # One thread per run and up to `threads` runs at once. Measured with bge-small int8 on 2
        # cores: a query took 4.0 ms on one thread against 6.0 ms on two (waking the second costs
        # more than it saves). The fastapi bench indexed in 24.8 s at 218 MB peak with one
        # two-thread run per 1024-token batch, 20.8 s at 210 MB with two one-thread runs at once over
        # 512-token batches, and 2-5% slower than that with one text per run, which also ranked
        # better (fastapi MRR 0.812 -> 0.838): vectors no longer shift with their batch.
        self._parallel_runs = threads
        self._session = _open_session(files, prepared_root)
        declared = [i.name for i in self._session.get_inputs()]
        unknown = sorted(set(declared) - set(_KNOWN_INPUTS))
        if unknown or not {"input_ids", "attention_mask"} <= set(declared):
            raise CceError(
                f"the model {files.onnx} takes inputs {', '.join(declared)}; cce feeds a BERT-style model "
                f"input_ids, attention_mask and optionally token_type_ids; use such a model"
            )
        self._inputs = declared  # some BERT exports lack token_type_ids: feed only what is declared
        self._output = self._session.get_outputs()[0].name
        # Not on every run: shrinking after each one cost 5-10% of throughput.
        self._release = ort.RunOptions()
        self._release.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

        # One tiny run learns the vector size and checks the output is [batch, seq, dim].
        probe = self._session.run([self._output], self._feed(self._encode(["probe"])[0]))[0]
        if probe.ndim != 3:
            raise CceError(
                f"the model {files.onnx} returns shape {list(probe.shape)} first; cce needs "
                f"last_hidden_state [batch, seq, dim] as output 0; use such a model"
            )
        self.dim: int = int(probe.shape[2])
        return_free_memory()  # loading parsed and optimised the graph: give those buffers back

    def touch(self) -> None:
        """Count as used now (see idle_seconds)."""
        with self._use_lock:
            self._last_used = time.monotonic()

    def idle_seconds(self) -> float | None:
        """Seconds since the last call ended (or touch); None while one runs."""
        with self._use_lock:
            return None if self._calls_running else time.monotonic() - self._last_used

    @contextmanager
    def _in_use(self) -> Iterator[None]:
        with self._use_lock:
            self._calls_running += 1
        try:
            yield
        finally:
            with self._use_lock:
                self._calls_running -= 1
                self._last_used = time.monotonic()

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Token counts including [CLS]/[SEP], before truncation."""
        counts: list[int] = []
        with self._in_use():
            for start in range(0, len(texts), _TOKENIZE_WINDOW):
                batch = texts[start : start + _TOKENIZE_WINDOW]
                counts.extend(len(e.ids) for e in self._tokenizer.encode_batch(batch))
        return counts

    def embed_documents(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """float32 [len(texts), dim], L2-normalised, in input order; progress(texts done) after each."""
        with self._in_use():
            return self._embed_documents(texts, progress)

    def _embed_documents(self, texts: list[str], progress: Callable[[int], None] | None) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self._encode(texts)
        self.tokens_embedded += sum(len(row) for row in ids)
        # Longest first: the job reaches its peak memory at once, and parallel runs finish together.
        *bulk, last = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        done = 0

        def record(index: int, vector: np.ndarray) -> None:
            nonlocal done
            out[index] = vector
            done += 1
            if progress is not None:
                progress(done)

        if self._parallel_runs > 1 and len(bulk) > 1:
            with ThreadPoolExecutor(self._parallel_runs, thread_name_prefix="cce-embed") as pool:
                for index, vector in zip(bulk, pool.map(lambda i: self._run(ids[i]), bulk), strict=True):
                    record(index, vector)
        else:
            for index in bulk:
                record(index, self._run(ids[index]))
        # The last (shortest) text runs alone and hands the memory back: a server stays resident.
        record(last, self._run(ids[last], release_memory=True))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """float32 [dim], L2-normalised; the default bge model gets its query instruction first."""
        with self._in_use():
            return self._run(self._encode([self._query_prefix + text])[0])

    def _encode(self, texts: list[str]) -> list[np.ndarray]:
        """Token ids, truncated to max_tokens keeping the closing special token ([SEP])."""
        ids: list[np.ndarray] = []
        limit = self.max_tokens
        for start in range(0, len(texts), _TOKENIZE_WINDOW):
            for encoding in self._tokenizer.encode_batch(texts[start : start + _TOKENIZE_WINDOW]):
                row = encoding.ids
                if len(row) > limit:
                    row = row[: limit - 1] + row[-1:]
                ids.append(np.asarray(row, dtype=np.int64))
        return ids

    def _feed(self, row: np.ndarray) -> dict[str, np.ndarray]:
        input_ids = row[np.newaxis, :]
        feed = {
            "input_ids": input_ids,
            "attention_mask": np.ones_like(input_ids),
            "token_type_ids": np.zeros_like(input_ids),
        }
        return {name: feed[name] for name in self._inputs}

    def _run(self, row: np.ndarray, release_memory: bool = False) -> np.ndarray:
        """The L2-normalised CLS vector of one text's token ids."""
        feed = self._feed(row)
        hidden = self._session.run([self._output], feed, self._release if release_memory else None)[0]
        if release_memory:
            return_free_memory()
        cls = hidden[0, 0, :].astype(np.float32)  # CLS pooling
        return cls / max(float(np.linalg.norm(cls)), 1e-12)


def _find_malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    try:
        # CDLL(None): the symbols already loaded into this process, libc's among them. (Not
        # ctypes.util.find_library, which runs ldconfig in a child process.)
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


_malloc_trim = _find_malloc_trim()


def return_free_memory() -> None:
    """Hand malloc's free memory back to the OS. ONNX Runtime's arena shrink and a dropped session
    free to malloc, which keeps it (measured: RSS stayed at ~270 MB after a big batch, 135 MB
    after trimming)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


_FIX = "run `cce model verify`, and `cce model pull` to replace a damaged model"
_PREPARED_ONNX = "model.onnx"
_PREPARED_DATA = "model.data"  # weights beside the graph, which ONNX Runtime maps instead of copying
_STALE_TEMP_S = 3600  # a temp folder this old was left by a process killed while preparing


def _session_options(level: ort.GraphOptimizationLevel) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # parallelism comes from concurrent runs (see Embedder)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = level
    # Memory patterns pre-plan one block per input shape; texts come in every length, so they
    # only held memory (measured: -19 MB after runs without them, same speed).
    options.enable_mem_pattern = False
    return options


def _open_session(files: ModelFiles, prepared_root: Path | None) -> ort.InferenceSession:
    """A session on the prepared copy of the model where one can be had, else on the model itself.

    The prepared copy is the graph ONNX Runtime optimised once, with its weights in a file of their
    own: ONNX Runtime maps that file instead of copying the weights into the process. Measured on
    bge-small int8: 14 MB less resident after loading, the same vectors and speed, and a reload in
    0.06 s instead of 0.15 s. Pages of the 30,522-row word-embedding table come in as tokens need
    them (searches bring back most of those 14 MB), but as file pages: shared by every cce process
    and reclaimable under memory pressure, where a copy would be private and swapped.
    """
    options = _session_options(ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    if prepared_root is not None:
        folder = prepared_root / f"{files.model_id}-onnxruntime-{ort.__version__}"
        if _prepare(files, folder):
            try:
                return ort.InferenceSession(
                    str(folder / _PREPARED_ONNX), sess_options=options, providers=["CPUExecutionProvider"]
                )
            except Exception:  # a damaged copy: drop it and use the model itself; the next load remakes it
                shutil.rmtree(folder, ignore_errors=True)
    try:
        return ort.InferenceSession(str(files.onnx), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
        raise CceError(f"cannot load the embedding model {files.onnx}: {_one_line(exc)}; {_FIX}") from None


def _prepare(files: ModelFiles, folder: Path) -> bool:
    """Make the prepared copy in `folder` unless it is there; False where it cannot be made (a
    read-only cache, a full disk, a model ONNX Runtime cannot load): the model itself serves then.

    Written into a temp folder renamed into place, so a reader never sees half a copy and two
    processes preparing at once both end up with a whole one.
    """
    if (folder / _PREPARED_ONNX).is_file():
        return True
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(folder.parent)
        temp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
    except OSError:
        return False
    try:
        # EXTENDED, not ALL: ALL may add layouts tuned to this CPU, and a cache folder can move.
        options = _session_options(ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED)
        options.optimized_model_filepath = str(temp / _PREPARED_ONNX)
        options.add_session_config_entry("session.optimized_model_external_initializers_file_name", _PREPARED_DATA)
        options.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
        ort.InferenceSession(str(files.onnx), sess_options=options, providers=["CPUExecutionProvider"])
        os.rename(temp, folder)
    except Exception:  # includes losing the rename to another process, which made the same copy
        shutil.rmtree(temp, ignore_errors=True)
    return (folder / _PREPARED_ONNX).is_file()


def _remove_stale_temps(parent: Path) -> None:
    cutoff = time.time() - _STALE_TEMP_S
    for temp in parent.glob(".tmp-*"):
        try:
            if temp.stat().st_mtime < cutoff:
                shutil.rmtree(temp, ignore_errors=True)
        except OSError:
            pass


def _load_tokenizer(files: ModelFiles) -> Tokenizer:
    """The model's tokenizer with no truncation and no padding of its own (tokenizer.json may carry
    settings): counting needs the full length, and the embedder truncates and pads by hand. One
    instance whose settings never change after this, so threads can share it."""
    try:
        tokenizer = Tokenizer.from_file(str(files.tokenizer))
    except Exception as exc:  # tokenizers raises a plain Exception for malformed files
        raise CceError(f"cannot load the tokenizer {files.tokenizer}: {_one_line(exc)}; {_FIX}") from None
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer
