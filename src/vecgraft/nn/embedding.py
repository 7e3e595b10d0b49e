"""`nn.Embedding` factories over aligned vectors, and a pickle-free save/load of the result.

A saved embedding is a folder with three files:

* `embedding.safetensors`: one tensor, `weight` [vocab_size, dim];
* `vocab.json`: the vocabulary (`tokens` in id order, see `Vocab.save`);
* `report.json`: the alignment report and metadata (vector source, its sha256, options).
"""

from __future__ import annotations

import hashlib
import inspect
import os
from collections.abc import Mapping
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch
from torch import nn

from vecgraft._util.atomic import (
    atomic_write_bytes,
    atomic_write_json,
    files_moved_in,
    finish_move_in,
    new_folder,
    staged_twin,
)
from vecgraft._util.device import has_float64, resolve_device
from vecgraft._util.fingerprint import file_fingerprint
from vecgraft._util.finite import refuse_non_finite
from vecgraft._util.jsonfile import RECORD_LIMIT, JsonFileError, read_json_file
from vecgraft._util.options import boolean, integer
from vecgraft.align import PAD, AlignmentReport, MatchRule, align
from vecgraft.errors import (
    ArgumentTypeError,
    CheckpointError,
    ConfigError,
    Hint,
    Opt,
    VocabError,
)
from vecgraft.text.vocab import Vocab
from vecgraft.vectors import Vectors

EMBEDDING_FILE = "embedding.safetensors"
VOCAB_FILE = "vocab.json"
REPORT_FILE = "report.json"


class _FromVocab(Enum):
    """Sentinel: take the padding index from the vocabulary."""

    PAD = "vocab.pad_index"


FROM_VOCAB = _FromVocab.PAD
PaddingIdx = Union[int, None, _FromVocab]


def _attach(module: nn.Module, report: AlignmentReport) -> None:
    # A plain attribute (not a buffer): it is metadata, invisible to state_dict and compile.
    module.__dict__["alignment_report"] = report


def alignment_report(module: nn.Module) -> AlignmentReport | None:
    """The `AlignmentReport` attached to an embedding built or loaded by vecgraft, or None."""
    report = module.__dict__.get("alignment_report")
    return report if isinstance(report, AlignmentReport) else None



def _padding(vocab: Vocab, padding_idx: PaddingIdx) -> int | None:
    _check_vocab(vocab)
    if isinstance(padding_idx, _FromVocab):
        return vocab.pad_index
    return None if padding_idx is None else integer(padding_idx, "padding_idx")


def _check_vocab(vocab: Any) -> None:
    """Refuse what is not a `Vocab` before it is used (or anything is written)."""
    # a list of words failed on `.pad_index` with an AttributeError, or in `save_embedding`
    # on `.save` after embedding.safetensors was written
    if not isinstance(vocab, Vocab):
        raise VocabError(
            f"vocab must be a vecgraft Vocab, got {type(vocab).__name__}; build one with "
            f"Vocab(tokens), Vocab.from_counts(counts) or build_vocab(texts, tokenizer)"
        )


_OWN = ("dtype", "device")


def _check_align_kwargs(align_kwargs: Mapping[str, Any], function: str) -> None:
    """Refuse a keyword `align` does not take, naming the function the user called.

    Python's own error named align ("align() got an unexpected keyword argument 'foo'"),
    a function the caller of `pretrained_embedding` never called.
    """
    takes = inspect.signature(align).parameters
    options = [  # dtype and device are the function's own parameters
        name for name, p in takes.items() if p.kind is p.KEYWORD_ONLY and name not in _OWN
    ]
    unknown = [name for name in align_kwargs if name not in options]
    if unknown:
        raise ArgumentTypeError(
            f"{function}() got an unexpected keyword argument {unknown[0]!r}; its extra "
            f"keywords go to vecgraft.align: {', '.join(options)}"
        )


def _aligned(
    vocab: Vocab,
    vectors: Vectors,
    padding_idx: int | None,
    device: str | torch.device | None,
    dtype: torch.dtype | None,
    align_kwargs: dict[str, Any],
) -> tuple[torch.Tensor, AlignmentReport]:
    if dtype is not None:  # align casts, so it can refuse a dtype the values overflow
        align_kwargs = {**align_kwargs, "dtype": dtype}
    if device is not None:  # a device this machine lacks: a ConfigError before the work
        device = resolve_device(device)
    matrix, report = align(vocab, vectors, **align_kwargs)
    if padding_idx is not None and padding_idx != vocab.pad_index:
        # An explicit padding row must be zero too, or padded positions leak a word vector.
        if not -len(vocab) <= padding_idx < len(vocab):
            raise VocabError(
                f"padding_idx {padding_idx} is outside the {len(vocab)}-token vocabulary"
            )
        padding_idx %= len(vocab)
        matrix[padding_idx] = 0
        old = report.rules[padding_idx]
        report.rules[padding_idx] = PAD
        report.counts[old] -= 1
        report.counts[PAD] += 1
        _uncount_padding_word(report, vocab, padding_idx, old)
    return matrix.to(device=device), report


def _uncount_padding_word(report: AlignmentReport, vocab: Vocab, row: int, old: str) -> None:
    """Take a word row made the padding row out of the coverage, as the vocabulary's pad is.

    Why: its vector is now zero and gets no gradient; still counted as a matched word, the
    report claimed vectors for tokens embedded as padding (types_matched above the rows
    its rule counts say were matched).
    """
    token = vocab.tokens[row]
    if token in vocab.specials or row in (vocab.pad_index, vocab.unk_index):
        return  # specials are outside the coverage already
    count = int(vocab.counts.get(token, 0))
    matched = old in {rule.value for rule in MatchRule}
    report.types -= 1
    report.types_matched -= int(matched)
    report.tokens -= count
    report.tokens_matched -= count if matched else 0
    if old == MatchRule.SUBWORD.value:
        report.types_subword -= 1
        report.tokens_subword -= count
    if row in report.subword_untrained_rows:
        report.subword_untrained_rows.remove(row)
        report.types_subword_untrained -= 1
        report.tokens_subword_untrained -= count
    report.type_coverage = report.types_matched / report.types if report.types else 0.0
    report.token_coverage = report.tokens_matched / report.tokens if report.tokens else None
    report.missing = [(word, n) for word, n in report.missing if word != token]


def pretrained_embedding(
    vocab: Vocab,
    vectors: Vectors,
    freeze: bool = True,
    padding_idx: PaddingIdx = FROM_VOCAB,
    sparse: bool = False,
    max_norm: float | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    **align_kwargs: Any,
) -> nn.Embedding:
    """An `nn.Embedding` whose row `i` is the aligned vector of `vocab.tokens[i]`.

    Args:
        vocab: the vocabulary the model's ids come from.
        vectors: pretrained vectors (e.g. `vecgraft.load(path, vocab=vocab.tokens)`).
        freeze: keep the weights fixed during training.
        padding_idx: row that gets no gradient and stays zero (default: the vocab's pad id).
        sparse: sparse gradients, as in `nn.Embedding`.
        max_norm: renormalise looked-up rows to this norm, as in `nn.Embedding`.
        device: of the weight.
        dtype: of the weight (default float32).
        **align_kwargs: passed to `vecgraft.align` (order, init, seed, unk, dim, ...).

    Returns:
        The embedding [len(vocab), dim]; its `alignment_report` attribute holds the
        `AlignmentReport` (attached at run time: type checkers see it through
        `vecgraft.nn.embedding.alignment_report(emb)`).

    Example:
        >>> vocab = Vocab.from_counts({"cat": 3, "Dog": 2, "emu": 1})
        >>> vectors = Vectors(["cat", "dog"], np.eye(2, dtype=np.float32))  # or vecgraft.load
        >>> emb = pretrained_embedding(vocab, vectors)
        >>> emb.alignment_report.rules  # "Dog" matched "dog"; "emu" got a drawn row
        ['pad', 'unk', 'exact', 'casefold', 'init']
        >>> emb.weight[2:4].tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    _check_align_kwargs(align_kwargs, "pretrained_embedding")
    freeze, sparse = boolean(freeze, "freeze"), boolean(sparse, "sparse")  # "no" is truthy
    pad = _padding(vocab, padding_idx)
    matrix, report = _aligned(vocab, vectors, pad, device, dtype, align_kwargs)
    emb = nn.Embedding.from_pretrained(
        matrix, freeze=freeze, padding_idx=pad, max_norm=max_norm, sparse=sparse
    )
    _attach(emb, report)
    return emb


_BAG_MODES = ("mean", "sum", "max")


def pretrained_embedding_bag(
    vocab: Vocab,
    vectors: Vectors,
    mode: str = "mean",
    freeze: bool = True,
    padding_idx: PaddingIdx = FROM_VOCAB,
    sparse: bool = False,
    max_norm: float | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    **align_kwargs: Any,
) -> nn.EmbeddingBag:
    """An `nn.EmbeddingBag` (`mode` "mean", "sum" or "max") over the aligned matrix.

    Padding ids are skipped inside each bag, so a padded batch [batch, seq_len] gives the
    mean of the real tokens only. Other arguments as in `pretrained_embedding`.
    """
    if mode not in _BAG_MODES:  # torch accepts any string here and fails at the first call
        raise ConfigError(f"mode must be one of {', '.join(_BAG_MODES)}; got {mode!r}")
    _check_align_kwargs(align_kwargs, "pretrained_embedding_bag")
    freeze, sparse = boolean(freeze, "freeze"), boolean(sparse, "sparse")
    pad = _padding(vocab, padding_idx)
    matrix, report = _aligned(vocab, vectors, pad, device, dtype, align_kwargs)
    bag = nn.EmbeddingBag.from_pretrained(
        matrix, freeze=freeze, max_norm=max_norm, mode=mode, sparse=sparse, padding_idx=pad
    )
    _attach(bag, report)
    return bag


def random_embedding(
    vocab: Vocab,
    dim: int,
    seed: int = 0,
    *,
    init: str = "normal",
    freeze: bool = False,
    padding_idx: PaddingIdx = FROM_VOCAB,
    sparse: bool = False,
    max_norm: float | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
) -> nn.Embedding:
    """The `random` baseline: every row drawn like an unmatched word's, padding row zero.

    With nothing to take statistics from, rows have mean 0 and std 1/sqrt(dim) per
    dimension (`init="uniform"`: the uniform law with that mean and variance). Trainable by
    default, since a frozen random embedding teaches the model nothing.
    """
    dim = integer(dim, "dim")
    if dim < 1:
        raise ConfigError(f"dim must be positive, got {dim}")  # an option, not the vocab
    empty = Vectors([], np.zeros((0, dim), dtype=np.float32), source="random")
    emb = pretrained_embedding(
        vocab,
        empty,
        freeze=freeze,
        padding_idx=padding_idx,
        sparse=sparse,
        max_norm=max_norm,
        device=device,
        dtype=dtype,
        init=init,
        seed=seed,
    )
    report = alignment_report(emb)
    if report is not None:  # its "<unk> initialised like other rows" note stays: the
        # options still say the unk asked for (mean), which had no matched rows to average
        said = [n for n in report.notes if "<unk>" in n]
        report.notes = [f"random baseline: mean 0, std 1/sqrt({dim}) per dimension, seed {seed}",
                        *said]  # fmt: skip
    return emb


# -- provenance ------------------------------------------------------------------------------
def _main_file(path: Path) -> Path:
    """The file that identifies a vector source: itself, or the biggest file of a folder."""
    if not path.is_dir():
        return path
    native = path / "vectors.safetensors"
    if native.is_file():
        return native
    files = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
    if not files:
        raise CheckpointError(f"{path}: folder holds no file to checksum")
    return max(files, key=lambda p: (p.stat().st_size, p.name))


@lru_cache(maxsize=32)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    # Keyed on size and mtime so a re-save in the same process does not re-read 1 GB.
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def file_checksum(path: str | os.PathLike[str]) -> dict[str, Any]:
    """{"path", "file", "size", "sha256"} of a vector file (a folder: of its main file).

    Streamed in chunks, and cached per (file, size, mtime) within the process.
    """
    p = Path(path)
    main = _main_file(p)
    try:
        st = main.stat()
        digest = _sha256(str(main.resolve()), st.st_size, st.st_mtime_ns)
    except OSError as exc:
        raise CheckpointError(f"{main}: cannot read for its checksum ({exc})") from exc
    return {"path": os.fspath(p), "file": main.name, "size": st.st_size, "sha256": digest}


# -- persistence -----------------------------------------------------------------------------
def save_embedding(
    directory: str | os.PathLike[str],
    embedding: nn.Embedding,
    vocab: Vocab,
    report: AlignmentReport | Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write `embedding.safetensors`, `vocab.json` and `report.json` into `directory`.

    Args:
        directory: created if needed; existing files of these names are replaced, all three
            or none (`files_moved_in`); other files in it stay.
        embedding: its `weight` [len(vocab), dim] is saved (moved to the CPU). An
            `nn.EmbeddingBag` is refused (ArgumentTypeError): `load_embedding` gives an
            `nn.Embedding`, and the bag's mode would be lost; save
            `nn.Embedding.from_pretrained(bag.weight, padding_idx=bag.padding_idx)` with
            `report=alignment_report(bag)`, and rebuild the bag from the loaded weight.
        vocab: the vocabulary behind the rows.
        report: the alignment report (default: `embedding.alignment_report` when present).
        metadata: extra JSON-able facts; when absent, "source" and "checksum" are filled from
            the report's vector source if that file exists.

    Returns:
        The directory.
    """
    from safetensors.torch import save as st_save

    _check_vocab(vocab)
    if isinstance(embedding, nn.EmbeddingBag):
        # it was saved as its weight alone: `load_embedding` gave an nn.Embedding, the
        # bag's mode ("sum", "max") silently gone
        raise ArgumentTypeError(
            f"save_embedding(): embedding is an nn.EmbeddingBag (mode {embedding.mode!r}), "
            "which load_embedding would give back as an nn.Embedding without its mode; save "
            "nn.Embedding.from_pretrained(bag.weight, padding_idx=bag.padding_idx) with "
            "report=alignment_report(bag), and after loading rebuild the bag with "
            f"nn.EmbeddingBag.from_pretrained(emb.weight, mode={embedding.mode!r}, "
            "padding_idx=emb.padding_idx)"
        )
    if not isinstance(embedding, nn.Embedding):
        # an nn.Linear has a 2-D weight too: its rows were compared with the vocabulary
        raise ArgumentTypeError(
            f"save_embedding(): embedding must be an nn.Embedding, got "
            f"{type(embedding).__name__}"
        )
    out = Path(directory)
    weight = embedding.weight.detach().to("cpu").contiguous()
    if weight.shape[0] != len(vocab):
        raise VocabError(
            f"embedding has {weight.shape[0]} rows but the vocabulary has {len(vocab)} tokens"
        )
    if report is None:
        report = alignment_report(embedding)
    rep = (
        report.to_dict()
        if isinstance(report, AlignmentReport)
        else (dict(report) if report is not None else None)
    )
    rules = rep.get("rules") if rep else None
    if isinstance(rules, list) and len(rules) != weight.shape[0]:
        # a report of another build (say, before the vocabulary was extended) would tell
        # `load_embedding` and `export --to projector` which rule filled rows it never saw
        raise VocabError(
            f"the alignment report describes {len(rules)} rows but the embedding has "
            f"{weight.shape[0]}; pass the report of this embedding's alignment, or report={{}}"
        )
    meta: dict[str, Any] = {}
    source = rep.get("source") if rep else None
    if source and source != "random" and Path(source).exists():
        meta["source"] = os.fspath(source)
        meta["checksum"] = file_checksum(source)
    if rep:
        meta["options"] = rep.get("options", {})
    meta.update(metadata or {})
    from vecgraft._util.version import __version__

    doc = {
        "vecgraft_version": __version__,
        "shape": list(weight.shape),
        "dtype": str(weight.dtype).replace("torch.", ""),
        "padding_idx": embedding.padding_idx,
        "metadata": meta,
        "alignment": rep,
    }
    blob = st_save({"weight": weight}, metadata={"format": "pt"})
    # written beside `out`, then moved in (report.json last): a rebuild stopped halfway
    # left the new matrix beside the old vocab.json and report.json; a failed write (a full
    # disk) leaves no folder it created, empty or with some files
    own = (EMBEDDING_FILE, VOCAB_FILE, REPORT_FILE)
    with new_folder(out, files=own), files_moved_in(out, last=REPORT_FILE) as staged:
        atomic_write_bytes(staged / EMBEDDING_FILE, blob)
        vocab.save(staged / VOCAB_FILE)
        doc["files"] = {name: _stamp(staged / name) for name in (EMBEDDING_FILE, VOCAB_FILE)}
        atomic_write_json(staged / REPORT_FILE, doc, indent=1)  # it vouches for the other two
    return out


def _stamp(path: Path) -> dict[str, Any]:
    """Size and sampled hash of a saved file (not its time: a copied folder stays valid).

    Why: each file is replaced atomically, but not the three together; a save interrupted
    between them (or one file copied over from another build) would pair a matrix with
    another vocabulary of the same size, rows silently meaning other words.
    """
    stamp = file_fingerprint(path, sampled=True) or {}
    return {key: stamp.get(key) for key in ("size", "sample")}


def _check_stamps(folder: Path, report: Mapping[str, Any]) -> None:
    """The matrix and vocabulary are the ones report.json was written with (when it says)."""
    files = report.get("files")
    if not isinstance(files, dict):
        return  # saved before the stamps
    for name, saved in sorted(files.items()):
        if name in (EMBEDDING_FILE, VOCAB_FILE) and saved != _stamp(folder / name):
            raise CheckpointError(
                f"{folder / name}: not the file {REPORT_FILE} was saved with (a save "
                "interrupted between files, or a file copied in from another build): its rows "
                "may mean other words; build the embedding again (or remove the 'files' entry "
                f"of {REPORT_FILE} if the change was deliberate)"
            )


def load_embedding(
    directory: str | os.PathLike[str],
    freeze: bool = True,
    device: str | torch.device | None = None,
    *,
    allow_nonfinite: bool = False,
) -> tuple[nn.Embedding, Vocab, dict[str, Any]]:
    """Read a folder written by `save_embedding` or `vecgraft build` (no pickle involved).

    The three files are checked against each other before anything is returned: a matrix
    whose rows do not match `vocab.json` (an interrupted rebuild, a file copied in from
    another build) would give every word another word's vector without any error later.

    Args:
        directory: the folder (`embedding.safetensors`, `vocab.json`, `report.json`).
        freeze: keep the weights fixed during training (as in `nn.Embedding.from_pretrained`).
        device: of the weight (default: the CPU).
        allow_nonfinite: load a matrix holding NaN or Inf (a build from vectors loaded
            with `allow_nonfinite`) instead of refusing it, as `vecgraft.load` does.

    Returns:
        (embedding with `alignment_report` when saved, vocabulary, report.json as a dict).

    Raises:
        CheckpointError: a file is missing or unreadable, the files are not one build's, or
            the matrix holds NaN or Inf (without `allow_nonfinite`), naming the count.
        ConfigError: a device this machine lacks ("cuda" on a CPU-only torch).

    Example:
        >>> import tempfile
        >>> vocab = Vocab.from_counts({"cat": 2, "dog": 1})
        >>> folder = save_embedding(tempfile.mkdtemp(), random_embedding(vocab, dim=4), vocab)
        >>> emb, vocab2, report = load_embedding(folder)
        >>> emb.weight.shape, vocab2.tokens == vocab.tokens, emb.weight.requires_grad
        (torch.Size([4, 4]), True, False)
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    allow_nonfinite = boolean(allow_nonfinite, "allow_nonfinite")
    if device is not None:  # "cuda" on a CPU-only torch: a ConfigError, not torch's assert
        device = resolve_device(device)
    folder = Path(directory)
    try:  # a save killed while its files moved in: the staged rest is whole, moved in first
        finish_move_in(folder)
    except OSError as exc:
        raise CheckpointError(
            f"{folder}: a save was stopped while its files moved in from "
            f"{staged_twin(os.path.realpath(folder))}, and finishing it failed "
            f"({exc.strerror}); build the embedding again"
        ) from None
    for name in (EMBEDDING_FILE, VOCAB_FILE, REPORT_FILE):
        if not (folder / name).is_file():
            raise CheckpointError(f"{folder / name}: missing (not a saved vecgraft embedding)")
    weights_path = folder / EMBEDDING_FILE
    try:
        tensors = load_file(weights_path, device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights_path}: not a readable safetensors file ({exc})") from exc
    weight = tensors.get("weight")
    if weight is None or weight.ndim != 2:
        found = {k: tuple(v.shape) for k, v in tensors.items()}
        raise CheckpointError(f"{weights_path}: expected one 2-D tensor 'weight', found {found}")
    if not allow_nonfinite:
        _refuse_non_finite(weights_path, weight)
    vocab = Vocab.load(folder / VOCAB_FILE)
    if weight.shape[0] != len(vocab):
        raise CheckpointError(
            f"{weights_path}: {weight.shape[0]} rows but {folder / VOCAB_FILE} has "
            f"{len(vocab)} tokens"
        )
    try:
        report = read_json_file(folder / REPORT_FILE, limit=RECORD_LIMIT)
    except JsonFileError as exc:
        raise CheckpointError(f"{folder / REPORT_FILE}: {exc}") from exc
    except ValueError as exc:
        raise CheckpointError(f"{folder / REPORT_FILE}: not valid JSON ({exc})") from exc
    if not isinstance(report, dict):
        raise CheckpointError(f"{folder / REPORT_FILE}: expected a JSON object")
    _check_stamps(folder, report)
    pad = report.get("padding_idx", vocab.pad_index)
    if pad is not None and (
        isinstance(pad, bool) or not isinstance(pad, int) or not -len(vocab) <= pad < len(vocab)
    ):  # torch would fail an assert or compare a str with an int
        raise CheckpointError(
            f"{folder / REPORT_FILE}: padding_idx {pad!r} is not a row of the "
            f"{len(vocab)}-token vocabulary"
        )
    alignment = report.get("alignment")
    rules = alignment.get("rules") if isinstance(alignment, dict) else None
    if isinstance(rules, list) and len(rules) != weight.shape[0]:
        raise CheckpointError(
            f"{folder / REPORT_FILE}: its alignment describes {len(rules)} rows but "
            f"{weights_path} has {weight.shape[0]}"
        )
    emb = nn.Embedding.from_pretrained(weight.to(device), freeze=freeze, padding_idx=pad)
    if alignment:
        _attach(emb, AlignmentReport.from_dict(alignment))
    return emb, vocab, report


def _refuse_non_finite(path: Path, weight: torch.Tensor) -> None:
    """A matrix holding NaN or Inf is a CheckpointError naming the file and the count.

    Why: it loaded without a word, and a model trained on NaN rows, `export` wrote "nan".
    One sum reads a finite matrix (`non_finite_count`), as the checkpoint readers do.
    """
    hint = Hint(", or pass {} to load it anyway", Opt("allow_nonfinite", "True"))
    refuse_non_finite(path, [("weight", weight)],
                      advice="build it again from finite vectors", hint=hint)  # fmt: skip


class UntrainedRows:
    """Carries the pretrained rows training never updates along with the rows it does.

    Why: fine-tuning moves the rows of the words in the training texts. A word met only in
    validation, test or prediction texts (or past the training texts' length cut) keeps its
    pretrained row, which no longer sits where its neighbours went. A linear map W, b fitted
    by least squares on the trained words' (pretrained -> tuned) rows, applied to the other
    pretrained rows, carries them along (Madhyastha et al. 2016, "Mapping unseen words to
    task-trained embedding spaces", with a linear map). Random rows have nothing to carry.

    Args:
        embedding: the model's embedding; its current weight is the pretrained one.
        pretrained: ids of rows that hold a pretrained vector (not drawn, pad or unk).
        trained: ids that occur in the training data (they get gradients).
        ridge: L2 penalty on W and b (b too: a tiny pull of the shift towards 0), relative to
            the mean diagonal of the fitted rows' Gram matrix (bias column included).
    """

    def __init__(
        self,
        embedding: nn.Embedding,
        pretrained: list[int],
        trained: set[int],
        ridge: float = 1e-3,
    ) -> None:
        self.embedding = embedding
        weight = embedding.weight.detach()
        device = weight.device
        self.fit_ids = torch.tensor([i for i in pretrained if i in trained], dtype=torch.long,
                                    device=device)  # fmt: skip
        self.move_ids = torch.tensor([i for i in pretrained if i not in trained],
                                     dtype=torch.long, device=device)  # fmt: skip
        # only the rows the map reads are kept: the fitted words' (float64 for the solve, on
        # the CPU where the device has none: Apple's MPS) and the moved words' (the weight's
        # dtype and device: one matrix product per call)
        self.fit_start = _with_bias(_float64(weight[self.fit_ids]))
        self.move_start = weight[self.move_ids].clone()
        gram = self.fit_start.T @ self.fit_start
        scale = ridge * float(gram.diagonal().mean()) if len(gram) else 0.0
        self.gram = gram + scale * torch.eye(len(gram), dtype=gram.dtype, device=gram.device)

    @property
    def active(self) -> bool:
        """Enough fitted rows for the map (more than its parameters) and rows to move."""
        return len(self.move_ids) > 0 and len(self.fit_ids) > 2 * (self.embedding.embedding_dim + 1)

    @torch.no_grad()
    def __call__(self) -> None:
        """Refit the map on the trained rows as they are now and move the others by it."""
        if not self.active:
            return
        weight = self.embedding.weight
        tuned = _float64(weight[self.fit_ids])
        if torch.equal(tuned, self.fit_start[:, :-1]):
            # Nothing tuned yet (a frozen embedding: `freeze_epochs`, Kim's CNN-static): the
            # map is the identity, which the ridge fit would miss by its shrinkage, moving
            # rows of an embedding that must stay as it is.
            weight.index_copy_(0, self.move_ids, self.move_start)
            return
        coef = torch.linalg.solve(self.gram, self.fit_start.T @ tuned).to(weight)
        moved = torch.addmm(coef[-1], self.move_start, coef[:-1])
        weight.index_copy_(0, self.move_ids, moved)


def _float64(x: torch.Tensor) -> torch.Tensor:
    """`x` in float64 on its device, or on the CPU where the device has none (Apple's MPS).

    Why not always the CPU: on CUDA that copied the trained rows to the host at every
    scoring (0.3 s for 15k x 300 on 2 cores), a fit the GPU does at once.
    """
    return x.double() if has_float64(x.device) else x.cpu().double()


def _with_bias(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype, device=x.device)], dim=1)
