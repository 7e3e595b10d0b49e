import hashlib
import json
import shutil

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from conftest_align import counted_vocab, random_vectors
from vecgraft.align import align
from vecgraft.errors import AlignmentError, CheckpointError, ConfigError, VocabError
from vecgraft.nn.embedding import (
    alignment_report,
    file_checksum,
    load_embedding,
    pretrained_embedding,
    pretrained_embedding_bag,
    random_embedding,
    save_embedding,
)
from vecgraft.text.vocab import Vocab
from vecgraft.vectors import Vectors


@pytest.fixture(scope="module")
def small():
    vectors = random_vectors([f"w{i}" for i in range(30)], dim=6, seed=3)
    vocab = counted_vocab({f"w{i}": 40 - i for i in range(0, 30, 3)} | {"oov": 1})
    return vocab, vectors


class BagOfEmbeddings(nn.Module):
    def __init__(self, embedding: nn.Embedding, classes: int = 3) -> None:
        super().__init__()
        self.embedding = embedding
        self.fc = nn.Linear(embedding.embedding_dim, classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids != self.embedding.padding_idx).unsqueeze(-1)
        summed = (self.embedding(ids) * mask).sum(1)
        return self.fc(summed / mask.sum(1).clamp(min=1))


def test_pretrained_embedding_matches_align(small):
    vocab, vectors = small
    emb = pretrained_embedding(vocab, vectors, seed=4)
    matrix, report = align(vocab, vectors, seed=4)
    assert isinstance(emb, nn.Embedding)
    assert torch.equal(emb.weight, matrix)
    assert emb.padding_idx == vocab.pad_index == 0
    assert not emb.weight.requires_grad
    assert alignment_report(emb) == report and emb.alignment_report == report
    assert "alignment_report" not in emb.state_dict()
    trainable = pretrained_embedding(vocab, vectors, freeze=False, dtype=torch.float64)
    assert trainable.weight.requires_grad and trainable.weight.dtype == torch.float64


def test_embedding_dtype_is_checked_and_recorded(small):
    vocab, vectors = small
    emb = pretrained_embedding(vocab, vectors, dtype=torch.float16)
    assert emb.weight.dtype == torch.float16
    # the report said float32, the dtype align worked in, not the weight's
    assert alignment_report(emb).options["dtype"] == "float16"
    big = Vectors(["w0"], np.full((1, 6), 1e5, np.float32))
    with pytest.raises(AlignmentError, match="beyond the largest float16"):
        pretrained_embedding(vocab, big, dtype=torch.float16)  # was rows of inf


def test_explicit_padding_idx_row_is_zeroed(small):
    vocab, vectors = small
    emb = pretrained_embedding(vocab, vectors, padding_idx=2)
    assert emb.padding_idx == 2 and not emb.weight[2].any()
    report = alignment_report(emb)
    assert report.rules[2] == "pad" and report.counts["pad"] == 2
    assert pretrained_embedding(vocab, vectors, padding_idx=None).padding_idx is None


def test_a_word_row_made_padding_leaves_the_coverage_like_the_vocab_pad():
    vocab = counted_vocab({"a": 5, "b": 3, "c": 2})  # rows <pad>, <unk>, a, b, c
    vectors = Vectors(["a", "b"], np.array([[1, 1], [3, 5]], np.float32))
    report = alignment_report(pretrained_embedding(vocab, vectors, padding_idx=2))
    assert report.rules == ["pad", "unk", "pad", "exact", "init"]
    # words b (matched) and c: 'a' is padding now, its zero row no vector of its 5 tokens
    assert (report.types, report.types_matched) == (2, 1) == (2, report.counts["exact"])
    assert (report.tokens, report.tokens_matched) == (5, 3)
    assert report.type_coverage == 0.5 and report.token_coverage == 3 / 5
    assert report.missing == [("c", 2)]
    unmatched = alignment_report(pretrained_embedding(vocab, vectors, padding_idx=4))
    assert (unmatched.types, unmatched.types_matched, unmatched.tokens) == (2, 2, 8)
    assert unmatched.missing == [] and unmatched.token_coverage == 1.0


def test_embedding_bag_skips_padding(small):
    vocab, vectors = small
    bag = pretrained_embedding_bag(vocab, vectors, mode="mean")
    emb = pretrained_embedding(vocab, vectors)
    ids = torch.tensor([[2, 3, 0, 0], [4, 5, 6, 7]])
    out = bag(ids)
    assert torch.allclose(out[0], emb.weight[[2, 3]].mean(0))
    assert torch.allclose(out[1], emb.weight[[4, 5, 6, 7]].mean(0))
    assert alignment_report(bag) is not None


def test_embedding_bag_refuses_an_unknown_mode_when_built(small):
    # torch builds an EmbeddingBag with any mode string and fails only at the first forward,
    # after the (possibly long) alignment.
    vocab, vectors = small
    with pytest.raises(ConfigError, match="mode must be one of mean, sum, max; got 'median'"):
        pretrained_embedding_bag(vocab, vectors, mode="median")


@pytest.mark.parametrize("dim", [0, -3])
def test_random_embedding_dim_below_one_is_a_config_error(dim):
    """It was a VocabError: the vocabulary was fine, the option was not."""
    with pytest.raises(ConfigError, match=f"^dim must be positive, got {dim}$"):
        random_embedding(counted_vocab({"a": 1}), dim)


def test_random_embedding_seeded_with_zero_padding():
    vocab = counted_vocab({f"t{i}": 1 for i in range(500)})
    a = random_embedding(vocab, 16, seed=1)
    b = random_embedding(vocab, 16, seed=1)
    c = random_embedding(vocab, 16, seed=2)
    assert torch.equal(a.weight, b.weight) and not torch.equal(a.weight, c.weight)
    assert not a.weight[0].any() and a.weight[1:].all()
    assert a.weight.requires_grad
    assert a.weight[1:].std().item() == pytest.approx(0.25, rel=0.05)
    report = alignment_report(a)
    assert report.counts["init"] == len(vocab) - 1 and "random baseline" in report.notes[0]
    # options say the unk asked for ("mean"); the note kept says <unk> was drawn instead
    assert report.options["unk"] == "mean"
    assert report.notes[1] == "no matched rows to average: <unk> initialised like other rows"


def test_save_embedding_refuses_a_word_list_before_writing(tmp_path, small):
    # a list of words failed on `.save` after embedding.safetensors was written
    vocab, vectors_ = small
    emb = pretrained_embedding(vocab, vectors_)
    with pytest.raises(VocabError, match="vocab must be a vecgraft Vocab, got list"):
        save_embedding(tmp_path / "emb", emb, list(vocab.tokens))  # type: ignore[arg-type]
    assert not (tmp_path / "emb").exists()


def test_save_load_round_trip(tmp_path, small):
    vocab, vectors_ = small
    src = tmp_path / "vecs.txt"
    src.write_text("hello 1 2\n", encoding="utf-8")
    vectors_.source = str(src)
    emb = pretrained_embedding(vocab, vectors_, init="uniform", seed=9)
    out = save_embedding(tmp_path / "emb", emb, vocab, metadata={"note": "x"})
    assert sorted(p.name for p in out.iterdir()) == [
        "embedding.safetensors",
        "report.json",
        "vocab.json",
    ]
    loaded, vocab2, report = load_embedding(out)
    assert torch.equal(loaded.weight, emb.weight) and loaded.weight.dtype == torch.float32
    assert vocab2 == vocab and loaded.padding_idx == 0
    assert not loaded.weight.requires_grad
    assert alignment_report(loaded) == alignment_report(emb)
    assert json.loads((out / "vocab.json").read_text())["tokens"] == vocab.tokens
    meta = report["metadata"]
    assert meta["note"] == "x" and meta["source"] == str(src)
    assert meta["checksum"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert meta["options"]["init"] == "uniform" and meta["options"]["seed"] == 9
    assert report["shape"] == [len(vocab), 6]
    from safetensors import safe_open

    with safe_open(out / "embedding.safetensors", "pt") as fh:
        assert list(fh.keys()) == ["weight"]
    assert load_embedding(out, freeze=False)[0].weight.requires_grad


def test_file_checksum_of_folder_uses_main_file(tmp_path):
    folder = tmp_path / "kumo"
    folder.mkdir()
    (folder / "index.parquet").write_bytes(b"a" * 10)
    (folder / "emb.npy").write_bytes(b"b" * 100)
    info = file_checksum(folder)
    assert info["file"] == "emb.npy" and info["size"] == 100
    assert info["sha256"] == hashlib.sha256(b"b" * 100).hexdigest()
    (folder / "vectors.safetensors").write_bytes(b"c")
    assert file_checksum(folder)["file"] == "vectors.safetensors"


def test_load_embedding_errors(tmp_path, small):
    vocab, vectors = small
    with pytest.raises(CheckpointError, match=r"emb[/\\]embedding.safetensors: missing"):
        load_embedding(tmp_path / "emb")
    out = save_embedding(tmp_path / "emb", pretrained_embedding(vocab, vectors), vocab)
    Vocab(["<pad>", "<unk>", "a"]).save(out / "vocab.json")
    with pytest.raises(CheckpointError, match=r"embedding.safetensors: 13 rows but .*3 tokens"):
        load_embedding(out)
    (out / "embedding.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_embedding(out)


def test_a_matrix_paired_with_another_builds_vocabulary_is_refused(tmp_path, small):
    # each file is replaced atomically but not the three together: a save interrupted after
    # the matrix (or a vocab.json copied from another build of the same size) paired rows
    # with other words, silently
    vocab, vectors = small
    first = save_embedding(tmp_path / "a", pretrained_embedding(vocab, vectors), vocab)
    shuffled = Vocab([*vocab.tokens[:2], *reversed(vocab.tokens[2:])])
    second = save_embedding(tmp_path / "b", pretrained_embedding(shuffled, vectors), shuffled)
    (first / "copied").mkdir()
    for name in ("embedding.safetensors", "vocab.json", "report.json"):  # a copied folder
        shutil.copy(first / name, first / "copied" / name)
    assert torch.equal(load_embedding(first / "copied")[0].weight, load_embedding(first)[0].weight)
    shutil.copy(second / "vocab.json", first / "vocab.json")
    with pytest.raises(CheckpointError, match=r"vocab.json: not the file report.json was saved"):
        load_embedding(first)
    doc = json.loads((first / "report.json").read_text(encoding="utf-8"))
    del doc["files"]  # saved before the stamps (or the change was deliberate): loads as before
    (first / "report.json").write_text(json.dumps(doc), encoding="utf-8")
    assert load_embedding(first)[1] == shuffled


class _Ops(TorchDispatchMode):
    """Records the aten ops run under it."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        self.ops.add(func.__name__.split(".")[0])
        return func(*args, **(kwargs or {}))


def test_a_saved_embedding_holding_nan_or_inf_is_refused_naming_file_and_count(tmp_path, small):
    # it loaded without a word: a model trained on it, `export` wrote "nan" rows (a build
    # with --allow-nonfinite keeps such rows; so does a damaged file)
    vocab, vectors = small
    weight = pretrained_embedding(vocab, vectors).weight.detach().clone()
    weight[3, 1:4] = torch.tensor([float("nan"), float("inf"), float("-inf")])
    out = save_embedding(tmp_path / "emb", nn.Embedding.from_pretrained(weight), vocab)
    with pytest.raises(CheckpointError) as caught:
        load_embedding(out)
    assert str(caught.value) == (
        f"{out / 'embedding.safetensors'}: tensor 'weight' holds 3 non-finite values (NaN/Inf): "
        "build it again from finite vectors, or pass allow_nonfinite=True to load it anyway"
    )
    loaded = load_embedding(out, allow_nonfinite=True)[0].weight  # as it says
    assert torch.equal(loaded.isnan(), weight.isnan()) and int(loaded.isinf().sum()) == 2
    with pytest.raises(ConfigError, match="allow_nonfinite must be true or false, got 'yes'"):
        load_embedding(out, allow_nonfinite="yes")  # type: ignore[arg-type]
    # cheap where finite: one sum, no value-by-value isfinite pass over the matrix
    finite = save_embedding(tmp_path / "ok", pretrained_embedding(vocab, vectors), vocab)
    with _Ops() as seen:
        load_embedding(finite)
    assert "sum" in seen.ops and "isfinite" not in seen.ops, seen.ops


@pytest.mark.parametrize("bad", [99, "0", 1.5, True])
def test_load_embedding_names_a_bad_padding_idx(tmp_path, small, bad):
    # an edited or foreign report.json: torch's AssertionError, a str/int TypeError, or a
    # float padding_idx accepted as is
    vocab, vectors = small
    out = save_embedding(tmp_path / "emb", pretrained_embedding(vocab, vectors), vocab)
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    doc["padding_idx"] = bad
    (out / "report.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"report.json: padding_idx .* is not a row of"):
        load_embedding(out)


def test_autocast_bf16(small):
    vocab, vectors = small
    model = BagOfEmbeddings(pretrained_embedding(vocab, vectors, freeze=False))
    ids = torch.tensor([[2, 3, 0], [4, 5, 6]])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(ids)
        bag_out = pretrained_embedding_bag(vocab, vectors)(ids)
    assert logits.dtype == torch.bfloat16 and torch.isfinite(logits.float()).all()
    assert bag_out.shape == (2, 6) and torch.isfinite(bag_out.float()).all()
    logits.float().sum().backward()
    assert model.embedding.weight.grad is not None
    assert not model.embedding.weight.grad[0].any()  # padding gets no gradient


@pytest.mark.slow
def test_trains_one_step_under_torch_compile(small):
    vocab, vectors = small
    torch.manual_seed(0)
    model = BagOfEmbeddings(pretrained_embedding(vocab, vectors, freeze=False))
    # aot_eager: full Dynamo capture + AOTAutograd (the part that breaks on odd modules)
    # without minutes of C++ codegen on a 2-core CI box; inductor is checked in the benchmark.
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    ids = torch.tensor([[2, 3, 0], [4, 5, 6]])
    before = model.embedding.weight.detach().clone()
    loss = nn.functional.cross_entropy(compiled(ids), torch.tensor([0, 2]))
    loss.backward()
    opt.step()
    after = model.embedding.weight.detach()
    assert torch.isfinite(loss)
    assert not torch.equal(before[2], after[2])  # used rows moved
    assert torch.equal(before[0], after[0]) and not after[0].any()  # padding stays zero
    assert torch.equal(before[10], after[10])  # unused rows untouched


def test_untrained_rows_follow_the_map_the_trained_rows_took():
    # the trained rows moved by an exact affine map: the other pretrained rows move by it too;
    # rows without a pretrained vector (drawn, pad) stay where they are
    from vecgraft.nn.embedding import UntrainedRows

    gen = torch.Generator().manual_seed(0)
    start = torch.randn(40, 4, generator=gen)
    emb = nn.Embedding.from_pretrained(start.clone(), freeze=False, padding_idx=0)
    pretrained = list(range(2, 36))  # 0 pad, 1 unk, 36-39 drawn rows
    trained = set(range(1, 26))  # 2-25 fitted on; 26-35 moved
    rows = UntrainedRows(emb, pretrained, trained, ridge=0.0)
    assert rows.active and rows.fit_ids.tolist() == list(range(2, 26))
    assert rows.move_ids.tolist() == list(range(26, 36))
    w = torch.randn(4, 4, generator=gen)
    b = torch.randn(4, generator=gen)
    with torch.no_grad():
        emb.weight[2:26] = start[2:26] @ w + b
        emb.weight[36:] += 1.0  # drawn rows a training step moved: not the map's business
    rows()
    torch.testing.assert_close(emb.weight[26:36], start[26:36] @ w + b, atol=1e-5, rtol=0)
    torch.testing.assert_close(emb.weight[36:], start[36:] + 1.0)
    torch.testing.assert_close(emb.weight[:2], start[:2])
    # refitted each call from the pretrained rows, not from the rows it moved last time
    with torch.no_grad():
        emb.weight[2:26] = start[2:26] * 2.0
    rows()
    torch.testing.assert_close(emb.weight[26:36], start[26:36] * 2.0, atol=1e-5, rtol=0)


def test_untrained_rows_stay_put_while_the_embedding_is_frozen():
    # frozen (freeze_epochs, CNN-static): the trained rows did not move, so neither may the
    # others; the ridge fit used to shrink them (here by up to 2.8e-3)
    from vecgraft.nn.embedding import UntrainedRows

    torch.manual_seed(0)
    emb = nn.Embedding(60, 4, padding_idx=0)
    emb.weight.requires_grad_(False)
    before = emb.weight.detach().clone()
    rows = UntrainedRows(emb, list(range(2, 60)), set(range(2, 40)))
    assert rows.active
    rows()
    assert torch.equal(emb.weight, before)


def test_untrained_rows_need_more_fitted_rows_than_map_parameters():
    from vecgraft.nn.embedding import UntrainedRows

    emb = nn.Embedding(20, 4)
    before = emb.weight.detach().clone()
    rows = UntrainedRows(emb, list(range(20)), set(range(10)))  # 10 rows for 20 parameters
    assert not rows.active
    rows()
    torch.testing.assert_close(emb.weight, before)


class _NoFloat64OnDevice(TorchDispatchMode):
    """Fails any float64 result off the CPU (Apple's MPS has none), with the weight on `meta`.

    A copy from `meta` to the CPU gets random values of the shape (meta holds none), so the
    code runs on as it would on a real accelerator.
    """

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        src = args[0] if args and isinstance(args[0], torch.Tensor) else None
        if func is torch.ops.aten._to_copy.default and src is not None and src.is_meta:
            target = kwargs.get("device") or src.device
            if torch.device(target).type == "cpu":
                return torch.randn(src.shape, dtype=kwargs.get("dtype") or src.dtype)
        out = func(*args, **kwargs)
        for o in out if isinstance(out, tuple | list) else [out]:
            if isinstance(o, torch.Tensor) and o.dtype == torch.float64:
                assert o.device.type == "cpu", f"{func} made float64 on {o.device}"
        return out


def test_untrained_rows_fit_in_float64_on_the_cpu_where_the_device_has_none(monkeypatch):
    # Apple's MPS has no float64: the (dim + 1)^2 fit runs on the CPU; the rows move on
    # the weight's own device and dtype (`meta` stands for the device here)
    from vecgraft.nn import embedding
    from vecgraft.nn.embedding import UntrainedRows

    monkeypatch.setattr(embedding, "has_float64", lambda device: device.type == "cpu")
    emb = nn.Embedding(60, 4, padding_idx=0, device="meta")
    with _NoFloat64OnDevice():
        rows = UntrainedRows(emb, list(range(2, 60)), set(range(2, 40)))
        assert rows.active and rows.gram.device.type == "cpu"
        rows()
    assert emb.weight.is_meta and emb.weight.dtype == torch.float32


def test_untrained_rows_fit_on_a_device_that_has_float64():
    # CUDA holds float64: the fit's rows stay there, with no copy of the trained rows to the
    # host at every scoring (`meta` stands for the device)
    from vecgraft.nn import embedding

    rows = torch.empty(5, 4, device="meta")
    assert embedding._float64(rows).device.type == "meta"
    assert embedding._float64(rows).dtype == torch.float64


def test_a_report_of_other_rows_is_not_saved_or_loaded_with_the_matrix(tmp_path, small):
    # the report of the alignment before the vocabulary was extended was written beside the
    # larger matrix, and load_embedding attached it: 13 rules for 14 rows
    from vecgraft.errors import VocabError

    vocab, vectors = small
    report = alignment_report(pretrained_embedding(vocab, vectors))
    extended = vocab.extended(["w1"])
    grown = nn.Embedding(len(extended), vectors.dim, padding_idx=0)
    with pytest.raises(VocabError, match="report describes 13 rows but the embedding has 14"):
        save_embedding(tmp_path / "emb", grown, extended, report=report)
    out = save_embedding(tmp_path / "emb", grown, extended, report={})
    assert alignment_report(load_embedding(out)[0]) is None  # report={}: none kept
    out = save_embedding(tmp_path / "ok", pretrained_embedding(vocab, vectors), vocab)
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    doc["alignment"]["rules"].append("init")  # a report.json edited or written elsewhere
    (out / "report.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"report.json: its alignment describes 14 rows"):
        load_embedding(out)


def test_vectors_follow_a_replaced_matrix_or_word_list_and_take_a_tensor():
    # most_similar kept ranking by the old matrix, and the index kept the old words; an
    # embedding's weight (requires grad) was torch's "Can't call numpy()" error
    import numpy as np

    from vecgraft import Vectors

    v = Vectors(["a", "b", "c"], np.array([[1, 0], [0, 1], [1, 1]], np.float32))
    assert v.most_similar("a", k=1)[0][0] == "c"
    v.matrix = np.array([[1, 0], [1, 0.01], [0, 1]], np.float32)
    assert v.most_similar("a", k=1)[0][0] == "b"
    assert v["a"].tolist() == [1.0, 0.0]
    # rows edited in place are seen once the matrix is assigned again, as documented
    v.matrix[2] = [2, 0]  # now a twin of "a"
    assert v.most_similar("a", k=1)[0][0] == "b"  # the cached unit rows
    v.matrix = v.matrix
    assert v.most_similar("a", k=1)[0][0] == "c"
    v.words = ["x", "y", "z"]
    assert "x" in v and "a" not in v and v.get("a") is None
    weight = torch.nn.Embedding(2, 3).weight
    assert np.array_equal(Vectors(["p", "q"], weight).matrix, weight.detach().numpy())


def test_integer_arguments_take_numpy_integers_and_refuse_floats_and_bools(tmp_path):
    # dim=2.0 was numpy's "slice indices must be integers", padding_idx=1.0 torch's
    # IndexError, padding_idx=True was kept as True, and load refused numpy's int64
    import numpy as np

    import vecgraft
    from vecgraft import Vectors

    vocab = counted_vocab({"a": 2, "b": 1, "c": 1})
    vectors = Vectors(["a", "b", "c", "d"], np.eye(4, 3, dtype=np.float32))
    with pytest.raises(ConfigError, match=r"dim must be an integer, got float 2\.0"):
        vecgraft.align(vocab, vectors, dim=2.0)
    with pytest.raises(ConfigError, match=r"dim must be an integer, got float 8\.0"):
        random_embedding(vocab, 8.0)
    for bad in (1.0, True):
        with pytest.raises(ConfigError, match="padding_idx must be an integer"):
            pretrained_embedding(vocab, vectors, padding_idx=bad)
    assert vecgraft.align(vocab, vectors, dim=np.int64(2))[0].shape == (len(vocab), 2)
    assert random_embedding(vocab, np.int64(4)).weight.shape == (len(vocab), 4)
    path = tmp_path / "v.txt"
    path.write_text("a 1 2\nb 3 4\nc 5 6\n", encoding="utf-8")
    assert vecgraft.load(path, limit=np.int64(2), cache=False).words == ["a", "b"]


def test_a_zero_row_is_never_a_nearest_neighbour():
    # it came out as "zero 0.0", ranked above every word pointing away from the query;
    # gensim gives it NaN and ranks it last
    import numpy as np

    from vecgraft import Vectors

    v = Vectors(["q", "b", "zero", "neg"], np.array([[1, 0], [1, 0.1], [0, 0], [-1, 0]],
                                                  np.float32))  # fmt: skip
    assert [w for w, _ in v.most_similar("q", k=5)] == ["b", "neg"]
    assert [w for w, _ in v.most_similar(np.array([0, 1], np.float32), k=1)] == ["b"]
