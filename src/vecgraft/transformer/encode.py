"""Turn words into vectors with a transformer: input rows, a forward pass, or corpus contexts.

Every mode reduces to one primitive: a list of token-id sequences, each with one or more
*spans* (the positions of a word's subword tokens), pooled over a hidden state. `contextless`
has one sequence per word ([CLS] word [SEP]); `corpus` has one per sentence with a span per
occurrence, so a sentence holding five vocabulary words runs through the model once.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vecgraft._util.console import progress_meter
from vecgraft._util.extras import quiet_transformers, require
from vecgraft.errors import ConfigError, FormatError
from vecgraft.io.hf_checkpoint import check_weights, pickle_refused

if TYPE_CHECKING:
    import torch

# seconds between two plain "forward" lines when stderr is no terminal (a pipe, a log file)
FORWARD_LINE_SECONDS = 30.0

def default_dtype(device: torch.device) -> str:
    """The model's dtype where none is asked: bfloat16 on a GPU with native bf16, else float32.

    Why not every GPU: a T4 or V100 only emulates bf16 (`cuda_native_bf16`), slower than
    float32; a CPU without AMX does too.
    """
    from vecgraft._util.device import cuda_native_bf16

    return "bfloat16" if device.type == "cuda" and cuda_native_bf16(device) else "float32"


class Mode(StrEnum):
    """How a word's vector is made (see `from_transformer`)."""

    INPUT = "input"
    CONTEXTLESS = "contextless"
    CORPUS = "corpus"


class Pooling(StrEnum):
    """How a word's subword vectors become one vector."""

    MEAN = "mean"
    FIRST = "first"
    SUM = "sum"


def pool_rows(matrix: np.ndarray, ids: Sequence[Sequence[int]], pooling: Pooling) -> np.ndarray:
    """Pool rows of `matrix` [vocab, dim] per id list; returns [len(ids), dim] float32.

    One `embedding_bag` call for all words (a gather-and-reduce kernel made for exactly this),
    so 100k words take a fraction of a second. Every id list must be non-empty.
    """
    import torch
    import torch.nn.functional as F

    if len(ids) == 0:
        return np.zeros((0, matrix.shape[1]), np.float32)
    table = torch.from_numpy(np.asarray(matrix, dtype=np.float32))
    if pooling is Pooling.FIRST:
        first = torch.tensor([x[0] for x in ids], dtype=torch.long)
        return table[first].numpy()
    lengths = torch.tensor([len(x) for x in ids], dtype=torch.long)
    offsets = torch.cumsum(lengths, 0) - lengths
    flat = torch.tensor([i for x in ids for i in x], dtype=torch.long)
    with torch.inference_mode():
        pooled = F.embedding_bag(flat, table, offsets, mode=pooling.value)
    return pooled.numpy()


# model types whose learned positions start after the padding id (RoBERTa's
# `create_position_ids_from_input_ids`): their table's first pad_token_id + 1 rows are
# never a text position, so 514 rows hold 512 tokens
PADDED_POSITIONS = frozenset({
    "roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "longformer", "ibert",
    "data2vec-text", "roberta-prelayernorm", "xmod", "mpnet", "luke", "esm", "markuplm",
    "layoutlmv3",
})  # fmt: skip


def position_limit(config: Any, tok: Any = None) -> int | None:
    """The longest sequence a model of `config` takes, and `tok` too when given.

    The position table (`max_position_embeddings`, GPT-2's `n_positions`), less the rows a
    RoBERTa-style model reserves before its first position (`PADDED_POSITIONS`:
    pad_token_id + 1 of them; 514 rows hold 512 tokens), capped by the tokenizer's
    `model_max_length`. "Unlimited" sentinels (1e30) are ignored; None when neither says.
    Why the offset: a RoBERTa whose tokenizer_config.json names no model_max_length reached
    an IndexError at 129 tokens of a 130-row table.
    """
    table = [getattr(config, key, None) for key in ("max_position_embeddings", "n_positions")]
    sizes = [v for v in table if isinstance(v, int) and v > 0][:1]  # the first one named
    pad = getattr(config, "pad_token_id", None)
    if sizes and getattr(config, "model_type", None) in PADDED_POSITIONS and isinstance(pad, int):
        sizes = [v for v in [sizes[0] - pad - 1] if v > 0]
    stated = getattr(tok, "model_max_length", None)
    found = [v for v in [*sizes, stated] if isinstance(v, int) and 0 < v < 1_000_000]
    return min(found) if found else None


def is_encoder_decoder(model: Any) -> bool:
    """Whether `model` is an encoder-decoder base model (T5, BART, a T5EncoderModel save).

    The config's `is_encoder_decoder` says so, except for a T5EncoderModel folder: it states
    `is_encoder_decoder: false` (its `architectures` name an `...EncoderModel`) but loads as
    a T5Model with a decoder of random weights. A `decoder` module alone does not decide:
    a Funnel Transformer's is its upsampling stack, and reading its "encoder" had failed.
    """
    from torch import nn

    if not callable(getattr(model, "get_encoder", None)):
        return False
    if bool(getattr(model.config, "is_encoder_decoder", False)):
        return True
    names = getattr(model.config, "architectures", None) or ()
    encoder_save = any(str(name).endswith("EncoderModel") for name in names)
    return encoder_save and isinstance(getattr(model, "decoder", None), nn.Module)


def encoder_stack(model: Any) -> Any:
    """The encoder of an encoder-decoder `model` (`is_encoder_decoder`); else `model` itself.

    Why: its forward pass needs decoder inputs (T5 stopped inside transformers asking for
    decoder_input_ids), and BART's `last_hidden_state` is the decoder's, made from the
    shifted input: word vectors are the encoder's hidden states of the word.
    """
    return model.get_encoder() if is_encoder_decoder(model) else model


@dataclass
class Encoder:
    """A transformer run for pooling: the model, its device/dtype and which layer to read.

    Attributes:
        model: a transformers `AutoModel` (base model, eval mode) on `device`; of an
            encoder-decoder, its encoder (`encoder_stack`).
        pad_id: id used to pad batches (masked out by the attention mask).
        device: torch device the model is on.
        layer: hidden state to read; -1 is the last layer, 0 the embedding output.
        pooling: how span tokens are combined.
        batch_size: sequences per forward pass.
        progress: None draws a bar on a terminal or in a notebook and, where stderr is a
            file or pipe, a plain line every 30 s; True always draws the bar, False is silent.
        stack: "encoder" where `model` is the encoder of an encoder-decoder; else None.
    """

    model: Any
    pad_id: int
    device: Any
    layer: int = -1
    pooling: Pooling = Pooling.MEAN
    batch_size: int = 64
    progress: bool | None = None
    stack: str | None = None

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        pad_id: int,
        device: str | None = None,
        dtype: str | None = None,
        **options: Any,
    ) -> Encoder:
        """Load the base model from a local folder, by default in `default_dtype(device)`."""
        import torch

        from vecgraft._util.device import resolve_device

        transformers = require("transformers", "hf", feature="transformer forward passes")
        dev = resolve_device(device)
        if dtype is None:
            dtype = default_dtype(dev)
        torch_dtype = getattr(torch, dtype, None)
        if not isinstance(torch_dtype, torch.dtype):
            raise ConfigError(f"unknown dtype {dtype!r} (use float32, bfloat16 or float16)")
        check_weights(path)
        try:
            with quiet_transformers():
                model = transformers.AutoModel.from_pretrained(
                    str(path), local_files_only=True, trust_remote_code=False
                )
        except (pickle.UnpicklingError, EOFError) as exc:
            # transformers unpickles pytorch_model.bin weights-only too; say so in one line
            raise pickle_refused(path, exc) from exc
        except (OSError, ValueError, KeyError) as exc:
            raise FormatError(f"cannot load the model: {exc}", path=path) from exc
        stack = "encoder" if is_encoder_decoder(model) else None
        model = encoder_stack(model).to(device=dev, dtype=torch_dtype).eval()
        return cls(model, pad_id, dev, stack=stack, **options)

    @property
    def hidden_size(self) -> int:
        """Width of the hidden states read: the config's hidden size, not the input table's.

        Why: ALBERT's and ELECTRA's input embeddings (embedding_size) are narrower than the
        layers they feed, so vectors sized by the table could not hold a hidden state.
        """
        size = getattr(self.model.config, "hidden_size", None)
        if isinstance(size, int) and size > 0:
            return size
        return int(self.model.get_input_embeddings().weight.shape[1])

    @property
    def dtype_name(self) -> str:
        """The model's dtype, e.g. "float32" (for metadata)."""
        return str(next(self.model.parameters()).dtype).removeprefix("torch.")

    def max_length(self) -> int:
        """Longest sequence the model takes (position table size)."""
        return position_limit(self.model.config) or 512

    def usable_length(self, tok: Any) -> int:
        """Longest sequence both the model and `tok` take (`position_limit`)."""
        return position_limit(self.model.config, tok) or 512

    def pool(
        self, items: Sequence[tuple[Sequence[int], Sequence[Sequence[int]]]]
    ) -> list[np.ndarray]:
        """Pooled hidden states: for each (ids, spans) item an array [len(spans), dim].

        Sequences are sorted by length before batching so little compute goes to padding;
        results come back in input order.
        """
        import torch

        order = sorted(range(len(items)), key=lambda i: len(items[i][0]))
        out: list[np.ndarray] = [np.zeros((0, 0), np.float32)] * len(items)
        bar = progress_meter(
            self.progress, len(items), "forward", interval=FORWARD_LINE_SECONDS,
            lines_desc="forward (sequences)", unit="seq",
        )  # fmt: skip
        with torch.inference_mode(), bar:
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                pooled = self._pool_batch([items[i] for i in batch])
                for i, arr in zip(batch, pooled):
                    out[i] = arr
                bar.update(len(batch))
        return out

    def _pool_batch(
        self, items: Sequence[tuple[Sequence[int], Sequence[Sequence[int]]]]
    ) -> list[np.ndarray]:
        import torch

        width = max(len(ids) for ids, _ in items)
        ids = np.full((len(items), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(items), width), dtype=np.int64)
        # one (span, flat token position, weight) triple per pooled token: pooling of any kind
        # is then a single gather + index_add, with no [spans, seq_len, dim] intermediate
        span_of: list[int] = []
        position: list[int] = []
        weight: list[float] = []
        s = 0
        for b, (seq, spans) in enumerate(items):
            ids[b, : len(seq)] = seq
            mask[b, : len(seq)] = 1
            for span in spans:
                chosen = span[:1] if self.pooling is Pooling.FIRST else span
                w = 1.0 / len(chosen) if self.pooling is Pooling.MEAN else 1.0
                span_of.extend([s] * len(chosen))
                position.extend(b * width + t for t in chosen)
                weight.extend([w] * len(chosen))
                s += 1
        hidden = self._hidden(
            torch.from_numpy(ids).to(self.device), torch.from_numpy(mask).to(self.device)
        )  # [batch, seq_len, dim]
        flat = hidden.reshape(-1, hidden.shape[-1])
        rows = flat[torch.tensor(position, device=self.device)].float()
        rows *= torch.tensor(weight, device=self.device)[:, None]
        pooled = torch.zeros((s, flat.shape[1]), device=self.device)
        pooled.index_add_(0, torch.tensor(span_of, device=self.device), rows)
        pooled_np = pooled.cpu().numpy()
        result, s = [], 0
        for _, spans in items:
            result.append(pooled_np[s : s + len(spans)])
            s += len(spans)
        return result

    def _hidden(self, ids: Any, mask: Any) -> Any:
        """Hidden state [batch, seq_len, dim] of the chosen layer."""
        if self.layer == -1:
            return self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        states = self.model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        hidden = states.hidden_states
        if not -len(hidden) <= self.layer < len(hidden):
            raise ConfigError(
                f"layer {self.layer} out of range: the model has {len(hidden)} hidden states "
                f"(0 = embeddings, {len(hidden) - 1} = last)"
            )
        return hidden[self.layer]


def word_spans(
    tok: Any, texts: Sequence[str], *, max_length: int
) -> list[tuple[list[int], list[int]]]:
    """Each text tokenised with the model's special tokens: (ids, non-special positions)."""
    if not texts:
        return []
    enc = tok(
        list(texts),
        add_special_tokens=True,
        return_special_tokens_mask=True,
        truncation=True,
        max_length=max_length,
    )
    out = []
    for ids, special in zip(enc["input_ids"], enc["special_tokens_mask"]):
        out.append((list(ids), [i for i, flag in enumerate(special) if not flag]))
    return out
