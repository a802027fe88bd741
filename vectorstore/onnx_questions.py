"""Questions to the bundled e5 through ONNX Runtime: the same float32 weights, on one core.

PyTorch encodes one short question in about 14 ms on two cores (27–36 ms when the other core is
busy answering or ingesting); ONNX Runtime runs the same graph in about 12 ms on one core, leaving
the other free. The graph, the model's 12 layers without the 250 037-row word-embedding table, is
exported once from the sentence-transformers folder (`onnx/question-encoder.onnx`, 86 MB, beside
the weights). The table stays in `model.safetensors` and is read through a memory map, only the rows
a question uses. Passages are still embedded by sentence-transformers (batches, GPU); both give the
same vectors.
"""

import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

ENCODER_FILE = "onnx/question-encoder.onnx"
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"
MAX_TOKENS = 512
OPSET = 17


def export_question_encoder(folder: Path) -> Path | None:
    """The folder's question encoder, exported on first use; None (and a warning) when it cannot be made here.

    Written aside and renamed into place, so a run killed part-way leaves no half file behind.
    """
    target = Path(folder) / ENCODER_FILE
    if target.is_file():
        return target
    staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
    try:
        import torch
        from transformers import AutoModel

        class Layers(torch.nn.Module):
            """The model from its input embeddings on: positions, layer norm, the 12 layers."""

            def __init__(self, bert) -> None:
                super().__init__()
                self.bert = bert

            def forward(self, inputs_embeds, attention_mask):
                return self.bert(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state

        bert = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
        example = bert.embeddings.word_embeddings.weight.detach()[None, :5]
        target.parent.mkdir(parents=True, exist_ok=True)
        axes = {"inputs_embeds": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}, "hidden": {0: "batch", 1: "tokens"}}
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice: it is what exports this graph
            torch.onnx.export(
                Layers(bert), (example, torch.ones(1, 5, dtype=torch.int64)), str(staging),
                input_names=["inputs_embeds", "attention_mask"], output_names=["hidden"], dynamic_axes=axes,
                opset_version=OPSET, dynamo=False,
            )
        os.replace(staging, target)
        log.info("已为问题编码导出 ONNX 图 %s", target)
        return target
    except Exception as error:  # noqa: BLE001 - no onnx package, an exporter change: questions go through PyTorch
        log.warning("无法导出问题编码的 ONNX 图（%s: %s），问题改由 PyTorch 编码（较慢）", type(error).__name__, str(error)[:200])
        return None
    finally:
        staging.unlink(missing_ok=True)


def safetensors_array(path: Path, name: str) -> np.ndarray:
    """One float32 tensor of a safetensors file, memory-mapped (read from disk only where it is used)."""
    with open(path, "rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(size))
    entry = header[name]
    if entry["dtype"] != "F32":
        raise ValueError(f"{name} in {path} is {entry['dtype']}, not F32")
    start = entry["data_offsets"][0]
    return np.memmap(path, dtype="<f4", mode="r", offset=8 + size + start, shape=tuple(entry["shape"]))


def load_session(graph: Path, threads: int = 1):
    """An ONNX Runtime session over the graph, on `threads` cores, its threads idle between questions rather than spinning."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads  # a question is small: one core each, the other free for the next
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])


class OnnxQuestionEncoder:
    """Normalised mean-pooled vectors of questions, as the sentence-transformers folder computes them, through ONNX Runtime."""

    def __init__(self, folder: Path, session) -> None:
        self.session = session
        self.words = safetensors_array(Path(folder) / "model.safetensors", WORD_EMBEDDINGS)
        prompts = json.loads((Path(folder) / "config_sentence_transformers.json").read_text(encoding="utf-8")).get("prompts") or {}
        self.prompt = prompts.get("query", "")

    def encode(self, question: str, tokenizer) -> list[float]:
        """The vector of one question (the folder's query prompt put before it).

        `tokenizer` is the folder's own (a `tokenizers.Tokenizer`): the one sentence-transformers has
        loaded is passed in, as a second copy of its 250 000 pieces would cost 290 MB.
        """
        ids, mask = question_ids(self.prompt + question, tokenizer)
        embeds = np.ascontiguousarray(self.words[ids], dtype=np.float32)[None]
        hidden = self.session.run(None, {"inputs_embeds": embeds, "attention_mask": mask[None]})[0][0]
        vector = (hidden * mask[:, None]).sum(axis=0) / mask.sum()
        return (vector / np.linalg.norm(vector)).tolist()


def question_ids(text: str, tokenizer) -> tuple[np.ndarray, np.ndarray]:
    """The token ids the model reads for a text and their attention mask, cut as the model's tokenizer cuts.

    Past MAX_TOKENS the end-of-text piece is kept; padding, should the shared tokenizer add any, is masked.
    """
    encoding = tokenizer.encode(text)
    ids, mask = list(encoding.ids), list(encoding.attention_mask)
    if len(ids) > MAX_TOKENS:
        ids, mask = ids[: MAX_TOKENS - 1] + ids[-1:], mask[: MAX_TOKENS - 1] + mask[-1:]
    return np.asarray(ids, dtype=np.int64), np.asarray(mask, dtype=np.int64)


def question_encoder(folder: Path) -> OnnxQuestionEncoder | None:
    """The fast question encoder of an e5 folder (exported on first use); None when it cannot be had."""
    try:
        import onnxruntime  # noqa: F401 - without it there is nothing to export for
    except ImportError as error:
        log.warning("未安装 onnxruntime（%s），问题改由 PyTorch 编码（较慢）：请运行 .venv/bin/pip install onnxruntime", error)
        return None
    for attempt in range(2):  # a graph the runtime cannot load is exported again, once
        graph = export_question_encoder(folder)
        if graph is None:
            return None
        try:
            session = load_session(graph)
        except Exception as error:  # noqa: BLE001 - onnxruntime's refusals have no common type
            log.warning("问题编码的 ONNX 图 %s 无法加载（%s: %s）%s", graph, type(error).__name__, str(error)[:200],
                        "，重新导出" if attempt == 0 else "，问题改由 PyTorch 编码")
            graph.unlink(missing_ok=True)
            continue
        try:
            return OnnxQuestionEncoder(folder, session)
        except (OSError, KeyError, ValueError) as error:  # the folder's word table or prompts: PyTorch reads them its own way
            log.warning("问题编码器读不了 %s（%s: %s），问题改由 PyTorch 编码", folder, type(error).__name__, str(error)[:200])
            return None
    return None
