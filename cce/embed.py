"""Text -> vectors with one ONNX Runtime session per process.

Documents are embedded in batches bounded by a token budget (batch size x padded length), which
bounds both padding waste and the memory ONNX Runtime takes for activations.
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
# Tokens per run (batch size x padded length), with up to CCE_THREADS runs at once. Measured with
# bge-small int8 on 2 cores: one two-thread run per batch took 24.8 s and 218 MB peak on the fastapi
# bench at 1024 tokens (bigger budgets only cost memory: 2048/4096/8192 -> 288/392/631 MB); two
# one-thread runs at once took 22.2 s / 283 MB at 1024 tokens each, and 20.8 s / 210 MB at 512.
DEFAULT_MAX_BATCH_TOKENS = 512
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
        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
        prepared_root: Path | None = None,
    ) -> None:
        self.model_id = files.model_id
        self._use_lock = threading.Lock()
        self._calls_running = 0
        self._last_used = time.monotonic()
        self.max_batch_tokens = max_batch_tokens
        self._query_prefix = QUERY_PREFIX if files.model_id == DEFAULT_MODEL_ID else ""
        self._tokenizer = _load_tokenizer(files)
        pad_id = self._tokenizer.token_to_id("[PAD]")
        self._pad_id = 0 if pad_id is None else pad_id

        # One thread per run, and up to `threads` runs at once over a document job's batches: a
        # short query on one thread took 4.0 ms against 6.0 ms on two (waking the second costs more
        # than it saves), and two one-thread runs side by side embedded documents 16% faster than
        # one two-thread run (bge-small int8, 2 cores).
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
        # Not on every run: shrinking after each batch cost 5-10% of throughput.
        self._release = ort.RunOptions()
        self._release.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

        # One tiny run learns the vector size and checks the output is [batch, seq, dim].
        probe = self._session.run([self._output], self._feed(self._encode(["probe"])))[0]
        if probe.ndim != 3:
            raise CceError(
                f"the model {files.onnx} returns shape {list(probe.shape)} first; cce needs "
                f"last_hidden_state [batch, seq, dim] as output 0; use such a model"
            )
        self.dim: int = int(probe.shape[2])
        return_free_memory()  # loading parsed and optimised the graph: give those buffers back

    def idle_seconds(self) -> float | None:
        """Seconds since the last call ended; None while one runs."""
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
        """float32 [len(texts), dim], L2-normalised, in input order; progress(done so far) per batch."""
        with self._in_use():
            return self._embed_documents(texts, progress)

    def _embed_documents(self, texts: list[str], progress: Callable[[int], None] | None) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self._encode(texts)
        lengths = np.fromiter((len(row) for row in ids), dtype=np.int64, count=len(ids))
        self.tokens_embedded += int(lengths.sum())
        *bulk, last = _batches(lengths, self.max_batch_tokens)
        done = 0

        def run(batch: list[int], release_memory: bool = False) -> np.ndarray:
            return self._run([ids[i] for i in batch], release_memory)

        def record(batch: list[int], vectors: np.ndarray) -> None:
            nonlocal done
            out[batch] = vectors
            done += len(batch)
            if progress is not None:
                progress(done)

        if self._parallel_runs > 1 and len(bulk) > 1:
            with ThreadPoolExecutor(self._parallel_runs, thread_name_prefix="cce-embed") as pool:
                for batch, vectors in zip(bulk, pool.map(run, bulk), strict=True):
                    record(batch, vectors)
        else:
            for batch in bulk:
                record(batch, run(batch))
        # The last (shortest) batch runs alone and hands the memory back: a server stays resident.
        record(last, run(last, release_memory=True))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """float32 [dim], L2-normalised; the default bge model gets its query instruction first."""
        with self._in_use():
            return self._run(self._encode([self._query_prefix + text]))[0]

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

    def _feed(self, rows: list[np.ndarray]) -> dict[str, np.ndarray]:
        width = max(len(row) for row in rows)
        input_ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            input_ids[i, : len(row)] = row
            attention_mask[i, : len(row)] = 1
        feed = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_type_ids": np.zeros_like(input_ids),
        }
        return {name: feed[name] for name in self._inputs}

    def _run(self, rows: list[np.ndarray], release_memory: bool = False) -> np.ndarray:
        feed = self._feed(rows)
        hidden = self._session.run([self._output], feed, self._release if release_memory else None)[0]
        if release_memory:
            return_free_memory()
        cls = np.ascontiguousarray(hidden[:, 0, :], dtype=np.float32)  # CLS pooling
        norms = np.linalg.norm(cls, axis=1, keepdims=True)
        return cls / np.maximum(norms, 1e-12)


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


def _batches(lengths: np.ndarray, budget: int) -> Iterator[list[int]]:
    """Indices grouped so that count x longest <= budget (a lone text may exceed it).

    Sorted by length to cut padding; longest first, so a job reaches its peak memory in its first
    run rather than at its end.
    """
    batch: list[int] = []
    width = 0
    for index in np.argsort(-lengths, kind="stable").tolist():
        if not batch:
            width = int(lengths[index])
        elif (len(batch) + 1) * width > budget:
            yield batch
            batch, width = [], int(lengths[index])
        batch.append(index)
    if batch:
        yield batch


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
    # Memory patterns pre-plan one block per input shape; every batch has a new shape here, so
    # they only held memory (measured: -19 MB after runs without them, same speed).
    options.enable_mem_pattern = False
    return options


def _open_session(files: ModelFiles, prepared_root: Path | None) -> ort.InferenceSession:
    """A session on the prepared copy of the model where one can be had, else on the model itself.

    The prepared copy is the graph ONNX Runtime optimised once, with its weights in a file of their
    own: ONNX Runtime maps that file instead of copying the weights into the process, so the
    30,522-row word-embedding table is only read where a token needs it, and the pages are shared
    by every cce process and reclaimable under memory pressure (measured on bge-small int8: 14 MB
    less resident per process, same vectors, same speed).
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
