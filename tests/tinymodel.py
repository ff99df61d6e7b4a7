"""A tiny stand-in for the embedding model: same inputs, output and tokenizer format, ~100 KB.

The graph looks up a random vector per token; output position 0 (where CLS pooling reads) is the
masked mean of the token vectors, so texts sharing words get similar vectors.
"""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

DIM = 32
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_WORDS = """
a about after all an and any api are array as assert async at attempts auth authentication
authorization await be bearer before buffer by bytes cache call callback can catch char check class
client close code column config configuration const count create data database date db debug
decorator def delete dict dir do does each edge else embed environment error errors event except
exception false fetch file files find for format from function get graph guide handle handler hash
header headers how http id if import in index info init insert install int into is it item items
job json key lambda length let limit line lines list load lock log logger main map match model
module more most name new node none not null number object of offset on open or order other out
over package parse parser password path pip policy post print private public put query queue raise
read receive register request requests response result results retry return route router routes
row run salt save scheme search secret select self send server service session set settings should
size some sql start static status stop store str stream string table task test tests text the this
thread throw time to token tokens tree true try type types under up update url user users validate
validation validator value values var variables vector void warn what when where which while who
why will with word words worker would write xml yaml
"""
WORDS = _WORDS.split()


def build_tiny_model(dest: Path, *, token_type_ids: bool = True) -> Path:
    """Write model.onnx and tokenizer.json into `dest` (created if needed); returns `dest`.

    Deterministic. token_type_ids=False builds a model without that input, as some BERT exports are.
    The tokenizer.json deliberately carries truncation and padding settings of its own (as some
    published files do), which the embedder must override.
    """
    dest.mkdir(parents=True, exist_ok=True)
    vocab = _vocab()
    onnx.save(_graph(len(vocab), token_type_ids), dest / "model.onnx")
    _tokenizer(vocab).save(str(dest / "tokenizer.json"))
    return dest


def _vocab() -> dict[str, int]:
    chars = [c for c in string.printable if not c.isspace()]
    words = [w for w in dict.fromkeys(WORDS) if w not in chars]
    tokens = SPECIAL_TOKENS + chars + ["##" + c for c in chars] + words
    return {token: i for i, token in enumerate(tokens)}


def _tokenizer(vocab: dict[str, int]) -> Tokenizer:
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.enable_truncation(max_length=8)
    tokenizer.enable_padding(length=64, pad_id=0, pad_token="[PAD]")
    return tokenizer


def _graph(vocab_size: int, with_token_types: bool) -> onnx.ModelProto:
    rng = np.random.default_rng(20240601)
    table = rng.standard_normal((vocab_size, DIM)).astype(np.float32)
    table[: len(SPECIAL_TOKENS)] *= 0.1  # [CLS]/[SEP] appear everywhere: keep them from dominating
    table[0] = 0.0  # [PAD]
    type_table = np.zeros((2, DIM), dtype=np.float32)
    type_table[1] = rng.standard_normal(DIM).astype(np.float32)

    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
    ]
    initializers = [
        numpy_helper.from_array(table, "token_table"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
        numpy_helper.from_array(np.array([np.iinfo(np.int64).max], dtype=np.int64), "to_end"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
    ]
    nodes = [helper.make_node("Gather", ["token_table", "input_ids"], ["tokens"], axis=0)]
    embedded = "tokens"
    if with_token_types:
        inputs.append(helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, ["batch", "seq"]))
        initializers.append(numpy_helper.from_array(type_table, "type_table"))
        nodes += [
            helper.make_node("Gather", ["type_table", "token_type_ids"], ["types"], axis=0),
            helper.make_node("Add", ["tokens", "types"], ["embedded"]),
        ]
        embedded = "embedded"
    nodes += [
        helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask", "axis2"], ["mask3"]),
        helper.make_node("Mul", [embedded, "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["summed"], keepdims=1),
        helper.make_node("ReduceSum", ["mask3", "axis1"], ["count"], keepdims=1),
        helper.make_node("Max", ["count", "one"], ["count_at_least_1"]),
        helper.make_node("Div", ["summed", "count_at_least_1"], ["mean"]),
        helper.make_node("Slice", [embedded, "axis1", "to_end", "axis1"], ["rest"]),
        helper.make_node("Concat", ["mean", "rest"], ["last_hidden_state"], axis=1),
    ]
    output = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", DIM])
    graph = helper.make_graph(nodes, "tiny_embedder", inputs, [output], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="cce-tests")
    model.ir_version = 8  # readable by any onnxruntime the project supports
    onnx.checker.check_model(model)
    return model
