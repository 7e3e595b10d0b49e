"""Model `hf`: a whole Hugging Face sequence classifier fine-tuned by vecgraft's `Trainer`.

`HFFamily.setup` loads `AutoModelForSequenceClassification` from a local folder
(`local_files_only`, no remote code, safetensors preferred) with its own fast tokenizer,
optionally grafts new corpus words into both (`vecgraft.transformer.graft.graft_vocab`), and
wraps it as `HFClassifier`, which has the call shape every vecgraft classifier has
(`forward(ids, lengths) -> logits`) and the Hugging Face model's own parameter names. So
the trainer's length bucketing, schedule, DDP, resume and early stopping apply unchanged, and
a checkpoint folder written by the recipe (`model.safetensors` + the files `save_files` adds:
`config.json`, the tokenizer, `graft_report.json`) is also a Hugging Face folder:
`AutoModelForSequenceClassification.from_pretrained(run / "best")` loads it. Decoder-only
checkpoints (GPT-2, LLaMA-style) without a pad token are padded with their end-of-text token
(`_set_padding`).
"""

from __future__ import annotations

import os
import pickle
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vecgraft._util.extras import quiet_transformers, require
from vecgraft.errors import CheckpointError, ConfigError, FormatError
from vecgraft.finetune.batching import EncodedData
from vecgraft.finetune.config import Task
from vecgraft.finetune.families import (
    ModelInputs,
    ModelSetup,
    note_truncation,
    register_family,
    scale_to_targets,
)
from vecgraft.io.hf_checkpoint import check_weights, pickle_refused
from vecgraft.nn.models import ModelKind, check_batch
from vecgraft.nn.target import restore_scale
from vecgraft.text.vocab import Vocab

__all__ = ["HFClassifier", "HFFamily", "load_hf_classifier"]

# a parameter name's layer index: "bert.encoder.layer.3.attention..." -> 3
_LAYER = re.compile(r"\.(?:layer|layers|h|block)\.(\d+)\.")
# input embeddings (depth 0): T5's and BART's `shared` table, BART's learned positions and
# the layer norm on its embeddings were read as head parameters, at the top depth
_EMBEDDINGS = re.compile(
    r"(^|\.)(embeddings|embed_tokens|wte|wpe|word_embeddings|shared|embed_positions"
    r"|layernorm_embedding)(\.|$)"
)
# A checkpoint whose vocabulary lacks the text's script reads most of it as [UNK]; English
# text under an English WordPiece vocabulary stays far below this share
UNK_WARN_SHARE = 0.05  # of the training tokens (no special tokens)


class HFClassifier(nn.Module):
    """A Hugging Face sequence classifier with vecgraft's call shape.

    The wrapped model's child modules are registered on this module under their own names,
    so `state_dict()` keys equal the Hugging Face model's and a saved checkpoint loads with
    `from_pretrained`. Padding is defined by `lengths` (the attention mask), as for every
    vecgraft model.

    Args:
        hf: an `AutoModelForSequenceClassification` model.
    """

    def __init__(self, hf: nn.Module) -> None:
        super().__init__()
        if any(True for _ in hf.named_parameters(recurse=False)):
            raise ConfigError(f"{type(hf).__name__}: parameters outside submodules")
        for name, child in hf.named_children():
            self.add_module(name, child)
        object.__setattr__(self, "hf", hf)  # not a submodule: its children are ours
        self.hf: Any

    @property
    def embedding(self) -> nn.Embedding:
        """The input token embedding (the trainer's `model.embedding`)."""
        emb = self.hf.get_input_embeddings()
        if not isinstance(emb, nn.Embedding):
            raise ConfigError(f"{type(self.hf).__name__}: the input embedding is not nn.Embedding")
        return emb

    def train(self, mode: bool = True) -> HFClassifier:
        """Set training mode here and on the wrapped model (its own flag is read too)."""
        super().train(mode)
        self.hf.train(mode)
        return self

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits [B, C] of right-padded `ids` [B, T] with `lengths` [B].

        A malformed batch is `check_batch`'s DataError, as for every vecgraft model (it was
        an IndexError or a reshape error from inside transformers). An empty batch [0, T]
        gives logits [0, C], and ids [B, 0] (every text empty) get one padding position,
        masked out, as an empty text beside longer ones already was.
        """
        check_batch(ids, lengths, self.embedding.num_embeddings)
        if ids.shape[0] == 0:
            return self.embedding.weight.new_zeros(0, int(self.hf.config.num_labels))
        if ids.shape[1] == 0:
            pad = getattr(self.hf.config, "pad_token_id", None)
            ids = ids.new_full((ids.shape[0], 1), 0 if pad is None else int(pad))
        positions = torch.arange(ids.shape[1], device=ids.device)
        mask = (positions[None, :] < lengths.to(ids.device)[:, None]).long()
        counts = _eos_counts(self.hf.config, ids)
        values = None if counts is None else counts.unique()
        if values is None or values.numel() <= 1:
            return self.hf(input_ids=ids, attention_mask=mask).logits
        # rows of one count make a batch transformers takes
        groups = [(counts == count).nonzero().squeeze(1) for count in values]
        parts = [self.hf(input_ids=ids[rows], attention_mask=mask[rows]).logits for rows in groups]
        out = parts[0].new_empty((ids.shape[0], parts[0].shape[1]))
        for rows, part in zip(groups, parts):
            out[rows] = part
        return out

    def parameter_depths(self) -> tuple[dict[str, int], int]:
        """(parameter name -> depth, top depth): embeddings 0, layer i at i + 1, heads top."""
        layers = int(getattr(self.hf.config, "num_hidden_layers", 0) or 0)
        top = layers + 1
        depths: dict[str, int] = {}
        for name, _ in self.named_parameters():
            match = _LAYER.search(name)
            if match:
                depths[name] = min(int(match.group(1)) + 1, top)
            elif _EMBEDDINGS.search(name):
                depths[name] = 0
            else:
                depths[name] = top
        return depths, top


def _eos_counts(config: Any, ids: torch.Tensor) -> torch.Tensor | None:
    """End-of-text tokens per row [B] of an encoder-decoder classifier's `ids`; else None.

    Why: T5's and BART's sequence classifiers read each text at its last eos token and
    refuse a batch whose rows hold different numbers of them ("All examples must have the
    same number of <eos> tokens"), so one text with a literal "</s>" stopped training or
    `predict` from inside transformers. Rows are then run in groups of one count, which
    scores each text as plain transformers scores it alone.
    """
    eos = getattr(config, "eos_token_id", None)
    if not getattr(config, "is_encoder_decoder", False) or not isinstance(eos, int):
        return None
    return ids.eq(eos).sum(1)


def _transformers() -> Any:
    return require("transformers", "hf", feature="fine-tuning Hugging Face models")


def load_hf_classifier(
    path: str | os.PathLike[str],
    num_labels: int | None = None,
    labels: Sequence[str] | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> Any:
    """`AutoModelForSequenceClassification` from a local folder (no download, no remote code).

    safetensors weights are used when the folder has them. The weights are float32 whatever
    dtype the checkpoint was saved in: transformers 5 loads a bf16/fp16 checkpoint as saved
    (`dtype="auto"`), and training those weights directly, with no float32 master copy,
    loses the small updates (bf16) or overflows (fp16). bf16 autocast still applies.

    The checkpoint's own classification head is fitted to `labels` (by class id; or to
    `num_labels` outputs) as `_fit_head` says, and each change is said through `log`.
    """
    transformers = _transformers()
    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise FormatError("not a Hugging Face checkpoint folder (no config.json)", path=folder)
    if labels is not None:
        num_labels = len(labels) if num_labels is None else num_labels
        labels = [str(label) for label in labels] if len(labels) == num_labels else None
    config = _load_config(transformers, folder)
    saved = _head_labels(config)
    if num_labels is not None and num_labels != config.num_labels:
        config.num_labels = num_labels  # transformers then trains a new head of this size
    if labels is not None:  # a plain from_pretrained / pipeline of the run names its labels
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: i for i, label in enumerate(labels)}
    kwargs: dict[str, Any] = {
        "config": config,
        "local_files_only": True,
        "trust_remote_code": False,
        "dtype": torch.float32,
        "ignore_mismatched_sizes": len(saved) != config.num_labels,
        "output_loading_info": True,
    }
    if any(folder.glob("*.safetensors")):
        kwargs["use_safetensors"] = True
    check_weights(folder)
    try:
        with quiet_transformers():
            model, info = transformers.AutoModelForSequenceClassification.from_pretrained(
                str(folder), **kwargs
            )
    except (pickle.UnpicklingError, EOFError) as exc:  # a pytorch_model.bin of more than tensors
        raise pickle_refused(folder, exc) from exc
    except (OSError, ValueError, KeyError) as exc:
        raise FormatError(f"cannot load a sequence classifier ({exc})", path=folder) from exc
    _check_mismatches(info, len(saved), config.num_labels, folder)
    _fit_head(model, info, saved, labels, folder, log)
    _note_missing_body(model, info, folder, log)
    return model


def _note_missing_body(
    model: Any, info: Mapping[str, Any], folder: Path, log: Callable[[str], None]
) -> None:
    """Warn when weights of the base model, not only of the head, start random.

    Why: a T5EncoderModel save loads as T5ForSequenceClassification with its whole decoder
    randomly initialised, and nothing said so (transformers' own report is silenced). A
    pooler (absent from masked-LM saves) is a head layer here, as transformers trains it.
    """
    base = str(getattr(model, "base_model_prefix", "") or "")
    missing = sorted(
        str(name)
        for name in info.get("missing_keys") or ()
        if base and str(name).startswith(base + ".") and ".pooler." not in str(name)
    )
    if missing:
        log(
            f"WARNING: {len(missing):,} weight{'s' if len(missing) != 1 else ''} of the model "
            f"outside its classification head {'are' if len(missing) != 1 else 'is'} not in "
            f"{folder} and start{'' if len(missing) != 1 else 's'} random (e.g. {missing[0]}); "
            "a checkpoint saved without part of the model (an encoder-only save of an "
            "encoder-decoder, a T5EncoderModel) trains that part from scratch: use a "
            "checkpoint of the whole model"
        )


def _load_config(transformers: Any, folder: Path) -> Any:
    """The checkpoint's `config.json` as a transformers config (no remote code)."""
    try:
        with quiet_transformers():
            return transformers.AutoConfig.from_pretrained(
                str(folder), local_files_only=True, trust_remote_code=False
            )
    except (OSError, ValueError, KeyError) as exc:
        raise FormatError(f"cannot read config.json ({exc})", path=folder) from exc


def _head_labels(config: Any) -> list[str]:
    """The label names of the checkpoint's classification head, by output row."""
    names = getattr(config, "id2label", None) or {}
    return [str(names.get(i, f"LABEL_{i}")) for i in range(int(config.num_labels))]


def _check_mismatches(info: Mapping[str, Any], saved: int, wanted: int, folder: Path) -> None:
    """Refuse weights of another shape than the model's, except the head's label rows.

    Why: `ignore_mismatched_sizes` lets transformers train a new head for another number
    of labels, but it would as quietly reinitialise any other tensor of a changed shape.
    """
    for name, was, now in sorted(info.get("mismatched_keys") or (), key=str):
        if not (was[0] == saved and now[0] == wanted and tuple(was[1:]) == tuple(now[1:])):
            raise FormatError(
                f"weight {name} has shape {tuple(was)} where the model needs {tuple(now)}",
                path=folder,
            )


def _output_layer(model: Any, rows: int) -> tuple[str, nn.Linear] | None:
    """The head's last layer: the one `nn.Linear` outside the base model giving `rows` outputs."""
    base = str(getattr(model, "base_model_prefix", "") or "")
    found = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear)
        and module.out_features == rows
        and not (base and (name == base or name.startswith(base + ".")))
    ]
    return found[0] if len(found) == 1 else None


def _labels_text(labels: Sequence[str] | None, count: int) -> str:
    """'2 labels (neg, pos)', at most 10 named; a regression's one output as such.

    Several outputs without names are classes whose names are unknown, not a regression.
    """
    if labels is None:
        return "1 output (a regression)" if count == 1 else f"{count} outputs"
    shown = ", ".join(labels[:10]) + (f", ... {len(labels) - 10} more" if len(labels) > 10 else "")
    return f"{len(labels)} label{'s' if len(labels) != 1 else ''} ({shown})"


def _generic(labels: Sequence[str]) -> bool:
    """Whether `labels` are transformers' placeholder names LABEL_0, LABEL_1, ..."""
    return list(labels) == [f"LABEL_{i}" for i in range(len(labels))]


def _fit_head(
    model: Any,
    info: Mapping[str, Any],
    saved: list[str],
    labels: list[str] | None,
    folder: Path,
    log: Callable[[str], None],
) -> None:
    """Make the loaded head's output rows those of `labels`, saying what was done.

    Why: a later run from a run's best/ on data of other labels stopped inside transformers
    ("You set ignore_mismatched_sizes to False"), and one of the same number of other or
    reordered labels trained on the old head's rows as if they were its own. Now a head of
    another size, or of other names, is replaced by a new one; the same names in another
    order have their rows reordered; the placeholder names LABEL_i keep their rows in order.
    A checkpoint without a head (a base model) gets a new one, as before, without a note.
    """
    rows = int(model.config.num_labels)
    ours = _labels_text(labels, rows)
    theirs = f"{folder}'s classification head is for {_labels_text(saved, len(saved))}"
    if info.get("mismatched_keys"):
        log(f"Note: {theirs}; this run has {ours}: a new head is trained")
        return
    found = _output_layer(model, rows)
    missing = set(info.get("missing_keys") or ())
    if labels is None or labels == saved or (found and f"{found[0]}.weight" in missing):
        return
    if found is None:
        raise FormatError(
            f"cannot find the classification head's output layer to fit it to {ours}",
            path=folder,
        )
    layer = found[1]
    if sorted(labels) == sorted(saved) and len(set(saved)) == len(saved):
        order = torch.tensor([saved.index(label) for label in labels])
        with torch.no_grad():
            layer.weight.copy_(layer.weight[order])
            if layer.bias is not None:
                layer.bias.copy_(layer.bias[order])
        log(f"Note: {theirs}; its rows are reordered to this run's order ({', '.join(labels)})")
    elif _generic(saved):
        log(f"Note: {theirs}, unnamed: its rows are kept in order as this run's {ours}")
    else:
        for param in layer.parameters():  # loaded weights may be marked as initialised
            setattr(param, "_is_hf_initialized", False)  # noqa: B010
        model._init_weights(layer)
        log(f"Note: {theirs}; this run has {ours}: a new head is trained")


def _add_tokens_arg(value: str) -> int | str:
    """`--add-tokens`: a count (`parse_add_tokens`), or a file of words (one per line)."""
    from vecgraft._util.graft_options import parse_add_tokens

    text = parse_add_tokens(value)
    if isinstance(text, str) and not Path(text).is_file():  # a resume reads it again: gone?
        raise ConfigError(f"add_tokens: {text}: no such file (expected a number of words to "
                          "pick from the corpus, or a file of words, one per line)")  # fmt: skip
    return text


class _Encoder:
    """The checkpoint's tokenizer as `encode(texts) -> ids`, and what of a text it lacks."""

    def __init__(self, tok: Any, max_length: int | None) -> None:
        self.tok = tok
        self.max_length = max_length

    def __call__(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        limit = self.max_length
        out = self.tok(list(texts), truncation=limit is not None, max_length=limit)
        return [list(ids) for ids in out["input_ids"]]

    def unknown_tokens(self, texts: Sequence[str]) -> Any:
        """`UnknownTokens` of the first texts: the word pieces read as the unknown token.

        Why: `evaluate` warned of unreadable text for every run but these (an English
        checkpoint reads Chinese as 64 % [UNK]), on the belief that word pieces leave
        nothing unknown. The examples are the spans of text behind the unknown pieces.
        """
        from itertools import islice

        from vecgraft.finetune.unknown import UNKNOWN_SAMPLE, UnknownTokens, with_missing
        from vecgraft.transformer.tokens import plain_backend

        sample = list(islice(texts, UNKNOWN_SAMPLE))
        report = UnknownTokens(texts=len(sample))
        unk = self.tok.unk_token_id
        if unk is None or not sample:
            return report
        backend = plain_backend(self.tok)
        missing: Counter[str] = Counter()
        for text, enc in zip(sample, backend.encode_batch(sample, add_special_tokens=False)):
            report.tokens += len(enc.ids)
            missing.update(text[a:b] for i, (a, b) in zip(enc.ids, enc.offsets) if i == unk)
        return with_missing(report, missing)


def _note_unused_text_settings(cfg: Any, log: Callable[[str], None]) -> None:
    """Name the text settings given that the checkpoint's own tokenizer makes moot.

    Why: `--stopwords en` or `--lower` with model `hf` trained as if they were absent, without
    a word (a comparison passes its shared settings to every cell, so this is a note, not an
    error).
    """
    unused = [
        flag
        for flag, given in (
            ("--stopwords", cfg.stopwords is not None),
            ("--lower/--no-lower", cfg.lower is not None),
            ("--zh-mode", cfg.zh_mode is not None),
            ("--min-freq", cfg.min_freq != 1),
            ("--max-size", cfg.max_size is not None),
            ("--tokenizer", cfg.tokenizer is not None and not cfg.add_tokens),
            ("--user-dict", cfg.user_dict is not None and not cfg.add_tokens),
        )
        if given
    ]
    if unused:
        picks = "--tokenizer" in unused or "--user-dict" in unused
        why = " (--tokenizer and --user-dict only pick the words --add-tokens grafts)"
        log(
            f"Note: model 'hf' reads the texts with the checkpoint's own tokenizer; "
            f"{', '.join(unused)} not used{why if picks else ''}"
        )


def _graft_words_tokenizer(cfg: Any) -> list[Any]:
    """How `--add-tokens N` finds corpus words: the kinds (pooled), jieba with its dictionary."""
    from vecgraft.transformer.graft_words import graft_text_tokenizers

    kinds = cfg.tokenizer if isinstance(cfg.tokenizer, list) else [cfg.tokenizer or "regex"]
    return graft_text_tokenizers(kinds, cfg.user_dict)


def _note_text_fit(
    tok: Any,
    texts: Sequence[str],
    max_length: int | None,
    log: Callable[[str], None],
    grafted: int | None = None,
) -> None:
    """Say how many training texts `max_length` cuts and warn when much of them is [UNK].

    Why: the static families say both (truncation, low vector coverage); here Chinese
    reviews under an English checkpoint trained on 65 % [UNK] tokens, and 88 % of them were
    cut at 32 tokens, without a word.
    """
    from vecgraft.transformer.tokens import encode_words

    rows = encode_words(tok, list(texts))
    if max_length is not None:
        specials = int(tok.num_special_tokens_to_add())
        cut = [len(r) + specials for r in rows if len(r) + specials > max_length]
        note_truncation(cut, len(rows), max_length, log,  # 0 is no limit only for the rest
                        "--max-length N to change, up to what the checkpoint's positions hold")
    unk = tok.unk_token_id
    tokens = sum(len(r) for r in rows)
    if unk is None or not tokens:
        return
    share = sum(r.count(unk) for r in rows) / tokens
    if share < UNK_WARN_SHARE:
        return
    if not grafted:  # none asked for, or --add-tokens 0
        log(
            f"WARNING: {share:.1%} of the training tokens are {tok.unk_token} under the "
            "checkpoint's tokenizer: its vocabulary lacks much of this text (another script?). "
            "--add-tokens N grafts the commonest missing words (with --tokenizer jieba or "
            "char for Chinese), or choose a checkpoint that covers the language"
        )
    else:
        log(
            f"WARNING: {share:.1%} of the training tokens are still {tok.unk_token} after "
            f"grafting {grafted:,} tokens: a larger --add-tokens (with --tokenizer char for "
            "Chinese), or a checkpoint that covers the language"
        )


def _max_length(
    asked: int | None, hf: Any, tok: Any, log: Callable[[str], None], folder: Path
) -> int | None:
    """`asked`, capped to what the model takes, said in the log when it is cut.

    Why: a text longer than the position table stops training with a raw shape error in
    the embeddings (a 64-position model and the hf default of 128, or `--max-length 1000` on a
    512 one). The cap is kept in model.json, so prediction truncates the same way. Only
    where `folder` is a vecgraft run is the tokenizer's cap named as one to raise: a stock
    RoBERTa's table has 514 rows for its 512 tokens (positions start after the padding id),
    and raising its cap would reach an IndexError.
    """
    from vecgraft.transformer.encode import position_limit

    limit = position_limit(hf.config, tok)
    if limit is None or (asked is not None and asked <= limit):
        return asked
    table = position_limit(hf.config)
    shown = f"max_length {asked if asked is not None else 'unlimited'} -> {limit}"
    if table is not None and table > limit and _is_vecgraft_run(folder):
        # a run's best/ states its own max_length there (`_keep_max_length`): the model
        # itself takes more, so say where the cap is and how far it can be raised
        log(
            f"{shown}: the tokenizer's model_max_length in tokenizer_config.json (a vecgraft "
            f"run states its --max-length there); the model's position table holds {table}, "
            "raise model_max_length to read more"
        )
    else:
        log(f"{shown}: the model takes at most {limit} tokens")
    return limit


def _is_vecgraft_run(folder: Path) -> bool:
    """Whether `folder` is a vecgraft run's checkpoint (best/, last/) or grafted model."""
    from vecgraft.finetune.checkpoint import MODEL_META
    from vecgraft.transformer.graft import REPORT_FILE

    return (folder / MODEL_META).is_file() or (folder / REPORT_FILE).is_file()


def _keep_max_length(tok: Any, max_length: int | None) -> None:
    """State the run's `max_length` as the tokenizer's `model_max_length`.

    Why: best/ and last/ are Hugging Face folders too, and their tokenizer kept the
    checkpoint's limit (512, or none at all), so a plain `AutoTokenizer` / pipeline of them
    with `truncation=True` cut texts elsewhere than training and `vecgraft predict` did.
    """
    if max_length is not None:
        tok.model_max_length = max_length


def _scale_targets(model: HFClassifier, inputs: ModelInputs, config: Any) -> dict[str, float]:
    """`scale_to_targets`, with the map also in the checkpoint's `config.json`.

    Why there too: a plain `from_pretrained` of the folder returns the z-scores; its
    `vecgraft_target_scale` says how to map them back (`shift + scale * logits`).
    """
    kept = scale_to_targets(model, inputs, "model").to_dict()
    config.vecgraft_target_scale = kept
    return kept


def _set_padding(tok: Any, hf: Any, folder: Path, log: Callable[[str], None]) -> int:
    """The id batches are padded with, set as the model's `config.pad_token_id` too.

    Why: decoder-only checkpoints (GPT-2, LLaMA) ship no pad token, and their sequence
    classifiers score each text's last token that is not `config.pad_token_id`; without one,
    transformers refused every batch of two or more, deep inside the first training step.
    Padding with the end-of-text token is their usual recipe: padded positions are masked
    out, and the last token that is not padding is the text's own last token.
    """
    if tok.pad_token_id is None:
        if tok.eos_token is None:
            raise FormatError(
                "the tokenizer has no pad token, nor an end-of-text (eos) token to pad with: "
                'name one as "pad_token" in tokenizer_config.json',
                path=folder,
            )
        tok.pad_token = tok.eos_token
        log(
            f"Note: the checkpoint's tokenizer has no pad token; texts are padded with its "
            f"end-of-text token {tok.eos_token!r} (saved as the checkpoints' pad token)"
        )
    pad = int(tok.pad_token_id)
    before = getattr(hf.config, "pad_token_id", None)
    if before is not None and before != pad:  # config.json named another pad id: say so
        log(f"Note: config.json's pad_token_id {before} is replaced by the tokenizer's "
            f"pad id {pad} ({tok.pad_token!r}), which batches are padded with")  # fmt: skip
    hf.config.pad_token_id = pad  # where a decoder-only classifier finds each text's end
    return pad


def _check_rows(hf: Any, tok: Any, folder: Path) -> None:
    """Refuse a tokenizer with ids beyond the model's embedding rows, naming the folder."""
    from vecgraft.transformer.graft import model_rows

    try:
        model_rows(hf, tok)
    except ConfigError as exc:
        raise FormatError(str(exc), path=folder) from None


def _pad_right(tok: Any, log: Callable[[str], None]) -> None:
    """Make the tokenizer pad on the right, as vecgraft's batches are padded.

    Why: a checkpoint whose tokenizer pads on the left (common for decoder-only models that
    generate) was trained and scored right-padded, but best/ and last/ kept "left", so a
    plain `tok(texts, padding=True)` batch moved GPT-2's absolute positions and scored 51
    of 60 texts differently from `vecgraft predict`.
    """
    if getattr(tok, "padding_side", "right") != "right":
        log(
            f"Note: the checkpoint's tokenizer pads on the {tok.padding_side}; vecgraft pads "
            "on the right, and saves its checkpoints' tokenizers so"
        )
        tok.padding_side = "right"


class HFFamily:
    """Model `hf`: `config.hf_model` fine-tuned whole, optionally with grafted vocabulary."""

    def setup(self, inputs: ModelInputs) -> ModelSetup:
        """Load (and graft) the checkpoint; encoding is its own tokenizer's."""
        from vecgraft.transformer.tokens import load_tokenizer

        cfg = inputs.config
        if not cfg.hf_model:
            raise ConfigError("model 'hf' needs hf_model (a local checkpoint folder)")
        folder = Path(cfg.hf_model)
        _note_unused_text_settings(cfg, inputs.log)
        torch.manual_seed(cfg.seed)  # the new classification head
        hf = load_hf_classifier(folder, inputs.num_classes, inputs.labels, inputs.log)
        tok = load_tokenizer(folder)
        _check_rows(hf, tok, folder)
        report = None
        if cfg.add_tokens:
            from vecgraft.text.corpus import Texts
            from vecgraft.transformer.graft import graft_vectors_arg, graft_vocab

            add_tokens = _add_tokens_arg(cfg.add_tokens)
            result = graft_vocab(
                hf,
                Texts(inputs.train_texts),
                add_tokens=add_tokens,
                tokenizer=tok,
                text_tokenizer=_graft_words_tokenizer(cfg),
                init=cfg.graft_init,
                vectors=graft_vectors_arg(cfg.graft_vectors, cfg.graft_vectors_encoding),
            )
            hf, tok, report = result.model, result.tokenizer, result.report
            inputs.log(report.format_table())
            # finetune has no --min-count: graft_vocab's default applies
            fewer = report.shortfall(add_tokens, min_count_flag=None)
            if fewer:
                inputs.log(f"{len(report.new_tokens)} tokens added{fewer}")
        pad = _set_padding(tok, hf, folder, inputs.log)
        _pad_right(tok, inputs.log)
        hf.config.architectures = [type(hf).__name__]
        model = HFClassifier(hf)
        # a GPT-2 tokenizer's end-of-text token is its unknown one and, by `_set_padding`,
        # its pad token too
        vocab = Vocab.from_transformer_tokenizer(tok, unk_may_be_pad=True)
        max_length = _max_length(cfg.max_length, hf, tok, inputs.log, folder)
        _keep_max_length(tok, max_length)
        encode_ids = _Encoder(tok, max_length)

        regression = cfg.task is Task.REGRESSION
        told: list[bool] = []

        def encode(texts: Sequence[str], labels: Sequence[Any]) -> EncodedData:
            if not told:  # the first texts encoded are the training split's
                told.append(True)
                grafted = None if report is None else len(report.new_tokens)
                _note_text_fit(tok, texts, max_length, inputs.log, grafted)
            return EncodedData(encode_ids(texts), list(labels), pad, regression=regression)

        meta: dict[str, Any] = {
            "kind": ModelKind.HF.value,
            "task": str(cfg.task),
            "model_config": {"hf_config": hf.config.to_dict()},
            "num_classes": inputs.num_classes,
            "vocab_size": len(vocab),
            "embedding_dim": int(model.embedding.embedding_dim),
            "padding_idx": pad,
            "tokenizer": {"kind": "hf", "source": str(folder)},
            "max_length": max_length,
        }
        if regression and inputs.train_targets is not None:
            meta["target_scale"] = _scale_targets(model, inputs, hf.config)
        inputs.log(
            f"Model: {type(hf).__name__} from {folder}, "
            f"{sum(p.numel() for p in model.parameters()):,} parameters, {len(vocab)} tokens"
        )

        def save_files(path: Path) -> None:
            hf.config.save_pretrained(str(path))
            tok.save_pretrained(str(path))
            if report is not None:
                from vecgraft.transformer.graft import REPORT_FILE

                report.save(path / REPORT_FILE)

        return ModelSetup(model, vocab, meta, encode, save_files=save_files)

    def rebuild(self, meta: Mapping[str, Any], *, source: str) -> nn.Module:
        """An untrained `HFClassifier` of the saved Hugging Face config."""
        transformers = _transformers()
        try:
            config = dict(meta["model_config"]["hf_config"])
            model_type = config.pop("model_type")
            hf_config = transformers.AutoConfig.for_model(model_type, **config)
            hf = transformers.AutoModelForSequenceClassification.from_config(hf_config)
            model = HFClassifier(hf)
            restore_scale(model, meta.get("target_scale"))
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{source}: cannot rebuild the model ({exc!r})") from exc
        return model

    def load_encoder(
        self, meta: Mapping[str, Any], path: Path
    ) -> Callable[[Sequence[str]], list[list[int]]]:
        """The tokenizer saved in checkpoint folder `path`, as `encode(texts) -> ids`."""
        from vecgraft.transformer.tokens import load_tokenizer

        max_length = meta.get("max_length")
        return _Encoder(load_tokenizer(path), max_length if isinstance(max_length, int) else None)


register_family(HFFamily(), ModelKind.HF)
