"""Text -> vectors with one ONNX Runtime session per process.

Documents are embedded in batches bounded by a token budget (batch size x padded length), which
bounds both padding waste and the memory ONNX Runtime takes for activations.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from .errors import CceError
from .model import DEFAULT_MODEL_ID, ModelFiles, _one_line

# bge's instruction for the query side of retrieval; indexed chunks never get it.
QUERY_PREFIX = "Represent this sentence for searching relevant passages: "
# Measured with bge-small int8 on 2 cores, 300 code chunks of 100-400 tokens: budgets of 1024,
# 2048, 4096 and 8192 tokens embedded 7.6k, 7.4k, 6.9k and 6.0k tokens/s at peak RSS 237, 288,
# 392 and 631 MB. Small runs stay in the CPU caches; bigger ones only cost memory.
DEFAULT_MAX_BATCH_TOKENS = 1024
# Texts tokenized per encode_batch call: tokenizers' Encoding objects are large, so keep few alive.
_TOKENIZE_WINDOW = 512
_KNOWN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class Embedder:
    """Thread-safe: the tokenizers are configured once here and only read afterwards, and
    InferenceSession.run may be called from several threads at once."""

    max_tokens: int = 512
    tokens_embedded: int = 0  # running total over embed_documents calls (after truncation)

    def __init__(self, files: ModelFiles, threads: int, max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS) -> None:
        self.model_id = files.model_id
        self.max_batch_tokens = max_batch_tokens
        self._query_prefix = QUERY_PREFIX if files.model_id == DEFAULT_MODEL_ID else ""
        self._tokenizer = _load_tokenizer(files)
        pad_id = self._tokenizer.token_to_id("[PAD]")
        self._pad_id = 0 if pad_id is None else pad_id

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle worker threads would otherwise spin and burn CPU between runs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # Memory patterns pre-plan one block per input shape; every batch has a new shape here, so
        # they only held memory (measured: -19 MB after runs without them, same speed).
        options.enable_mem_pattern = False
        try:
            self._session = ort.InferenceSession(
                str(files.onnx), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
            raise CceError(f"cannot load the embedding model {files.onnx}: {_one_line(exc)}; {_FIX}") from None
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
        if _malloc_trim is not None:
            _malloc_trim(0)  # loading parsed and optimised the graph: give those buffers back

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Token counts including [CLS]/[SEP], before truncation."""
        counts: list[int] = []
        for start in range(0, len(texts), _TOKENIZE_WINDOW):
            counts.extend(len(e.ids) for e in self._tokenizer.encode_batch(texts[start : start + _TOKENIZE_WINDOW]))
        return counts

    def embed_documents(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """float32 [len(texts), dim], L2-normalised, in input order; progress(done so far) per batch."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self._encode(texts)
        lengths = np.fromiter((len(row) for row in ids), dtype=np.int64, count=len(ids))
        self.tokens_embedded += int(lengths.sum())
        batches = list(_batches(lengths, self.max_batch_tokens))
        done = 0
        for number, batch in enumerate(batches, 1):
            # After the last run, hand the memory back: a server stays resident between index jobs.
            out[batch] = self._run([ids[i] for i in batch], release_memory=number == len(batches))
            done += len(batch)
            if progress is not None:
                progress(done)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """float32 [dim], L2-normalised; the default bge model gets its query instruction first."""
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
        if release_memory and _malloc_trim is not None:
            # The arena shrink frees its memory to malloc, which keeps it (measured: RSS stayed at
            # ~270 MB, 135 MB after trimming); malloc_trim hands it to the OS.
            _malloc_trim(0)
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
