"""Model `hf`: a tiny random BERT (built locally) fine-tuned whole by vecgraft's trainer."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest_transformer import bert_dir, gpt2_dir  # noqa: F401  (fixtures)
from finetune_helpers import write_csv
from vecgraft.cli import main
from vecgraft.errors import ConfigError, DataError, FormatError
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.predict import load_run
from vecgraft.finetune.run import finetune

pytest.importorskip("transformers")

# words of the tiny WordPiece vocabulary plus a few it splits: cats = cat ##s,
# playing = play ##ing, unbelievable = un ##believ ##able
POS = ["cat", "cats", "playing", "mat"]
NEG = ["dog", "dogs", "unbelievable", "home"]
FILL = ["the", "a", "sat", "on", "ran", "big", "."]


def _rows(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label, words = ("pos", POS) if i % 2 else ("neg", NEG)
        toks = rng.choices(words, k=rng.randint(1, 3)) + rng.choices(FILL, k=rng.randint(2, 6))
        rng.shuffle(toks)
        rows.append((" ".join(toks), label))
    return rows


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf-data")
    return {
        "train": write_csv(root / "train.csv", _rows(48, 1)),
        "test": write_csv(root / "test.csv", _rows(16, 2)),
    }


def _config(data, bert, out: Path, **changes) -> FinetuneConfig:
    base = {
        "train": str(data["train"]),
        "test": str(data["test"]),
        "dedupe": False,
        "model": "hf",
        "hf_model": str(bert),
        "out": str(out),
        "epochs": 2,
        "batch_size": 8,
        "lr": 1e-3,
        "plots": False,
        "device": "cpu",
        "progress": False,
    }
    return FinetuneConfig.from_dict({**base, **changes})


@pytest.fixture(scope="module")
def cli_run(data, bert_dir, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("hf-run") / "run"
    argv = ["finetune", "--train", str(data["train"]), "--test", str(data["test"])]
    argv += ["--no-dedupe", "--model", "hf", "--hf-model", str(bert_dir), "--out", str(out)]
    argv += ["--epochs", "2", "--batch-size", "8", "--lr", "1e-3", "--no-plots"]
    argv += ["--device", "cpu", "--layer-decay", "0.8", "--grad-accum", "2"]
    assert main(argv) == 0
    return out


def test_cli_run_writes_the_usual_run_folder(cli_run, data, tmp_path):
    config = json.loads((cli_run / "config.json").read_text())
    # family defaults fill what the command line did not set; flags win
    assert (config["max_length"], config["freeze_epochs"], config["weight_decay"]) == (128, 0, 0.01)
    assert (config["lr"], config["layer_decay"], config["grad_accum"]) == (1e-3, 0.8, 2)
    metrics = json.loads((cli_run / "metrics.json").read_text())
    history = json.loads((cli_run / "history.json").read_text())
    assert metrics["epochs_run"] == 2 and len(history) == 2
    assert metrics["sizes"]["test"] == 16
    # the same metrics.json as a static run
    static = finetune(
        FinetuneConfig(
            train=str(data["train"]),
            test=str(data["test"]),
            dedupe=False,
            model="boe",
            epochs=1,
            out=str(tmp_path / "boe"),
            plots=False,
            device="cpu",
            progress=False,
            fuse_linear=False,  # an hf run is never fused: compare like with like
        ),
        log=lambda _: None,
    )
    assert set(metrics) == set(static.metrics)
    assert set(metrics["test"]) == set(static.metrics["test"])
    for name in ("config.json", "tokenizer.json", "model.safetensors", "model.json"):
        assert (cli_run / "best" / name).is_file(), name


def test_best_folder_is_a_hugging_face_folder_with_identical_logits(cli_run):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    hf = AutoModelForSequenceClassification.from_pretrained(
        str(cli_run / "best"), local_files_only=True
    ).eval()
    tok = AutoTokenizer.from_pretrained(str(cli_run / "best"), local_files_only=True)
    texts = ["the cat sat on the mat", "a big dog ran home", "unbelievable"]
    batch = tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hf_logits = hf(**batch).logits
    ours = load_run(cli_run, device="cpu").predict_proba(texts)
    torch.testing.assert_close(ours, torch.softmax(hf_logits, -1), rtol=0, atol=1e-6)
    # the classifier head was trained (not the random head of a fresh load)
    saved = load_file(str(cli_run / "best" / "model.safetensors"))
    assert torch.equal(saved["classifier.weight"], hf.classifier.weight)
    # the run's labels, so a plain pipeline names them (it said LABEL_0 and LABEL_1)
    assert hf.config.id2label == {0: "neg", 1: "pos"}
    assert hf.config.label2id == {"neg": 0, "pos": 1}


def test_evaluate_and_predict_on_the_run(cli_run, data, capsys):
    assert main(["evaluate", str(cli_run), "--data", str(data["test"])]) == 0
    saved = json.loads((cli_run / "metrics.json").read_text())["test"]["accuracy"]
    evaluated = json.loads((cli_run / "eval-test.json").read_text())
    assert evaluated["test"]["accuracy"] == pytest.approx(saved)
    capsys.readouterr()
    texts = cli_run.parent / "texts.txt"
    texts.write_text("the cat sat\na big dog ran home\n", encoding="utf-8")
    assert main(["predict", str(cli_run), str(texts)]) == 0
    predicted = capsys.readouterr().out.split()
    assert predicted == load_run(cli_run, device="cpu").predict(
        ["the cat sat", "a big dog ran home"]
    )


def test_export_of_an_hf_run_names_the_folder_transformers_loads(cli_run, tmp_path, capsys):
    # the refusal ended at "not word vectors to export": a dead end
    argv = ["export", str(cli_run), "--to", "model2vec", "--out", str(tmp_path / "x")]
    assert main(argv) == 1
    err = " ".join(capsys.readouterr().err.split())
    best = cli_run / "best"
    assert f"{best} is a Hugging Face folder already: load it with transformers' " in err
    assert f'AutoModelForSequenceClassification.from_pretrained("{best}") (and ' in err


def test_a_decoder_only_checkpoint_pads_with_its_end_of_text_token(data, gpt2_dir, tmp_path):  # noqa: F811
    # GPT-2 has no pad token: transformers refused every batch of two ("Cannot handle batch
    # sizes > 1 if no padding token is defined") inside the first training step
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    out = tmp_path / "run"
    lines: list[str] = []
    finetune(_config(data, gpt2_dir, out, epochs=1), log=lines.append)
    assert (
        "Note: the checkpoint's tokenizer has no pad token; texts are padded with its "
        "end-of-text token '<|endoftext|>' (saved as the checkpoints' pad token)"
    ) in lines
    best = out / "best"
    tok = AutoTokenizer.from_pretrained(str(best), local_files_only=True)
    hf = AutoModelForSequenceClassification.from_pretrained(str(best), local_files_only=True)
    assert tok.pad_token == "<|endoftext|>"
    assert hf.config.pad_token_id == tok.eos_token_id == tok.pad_token_id
    assert json.loads((best / "model.json").read_text())["padding_idx"] == tok.eos_token_id
    texts = ["the cat sat on the mat", "a dog", "cats and dogs play in the big park"]
    batch = tok(texts, padding=True, return_tensors="pt")
    assert batch["input_ids"].shape[1] > len(tok("a dog")["input_ids"])  # padded
    with torch.no_grad():
        padded = hf.eval()(**batch).logits
        alone = torch.cat([hf(**tok([t], return_tensors="pt")).logits for t in texts])
    # each text is scored at its own last token, however far it was padded
    torch.testing.assert_close(padded, alone, rtol=0, atol=1e-5)
    ours = load_run(out, device="cpu").predict_proba(texts)
    torch.testing.assert_close(ours, torch.softmax(alone, -1), rtol=0, atol=1e-5)


def test_a_left_padding_checkpoint_is_saved_padding_as_it_was_trained(data, gpt2_dir, tmp_path):  # noqa: F811
    # training pads on the right, but best/ kept "left": a plain batch moved GPT-2's absolute
    # positions and disagreed with vecgraft predict on most texts
    import shutil

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = tmp_path / "left"
    shutil.copytree(gpt2_dir, folder)
    config_file = folder / "tokenizer_config.json"
    left = {**json.loads(config_file.read_text()), "padding_side": "left"}
    config_file.write_text(json.dumps(left))
    out = tmp_path / "run"
    lines: list[str] = []
    finetune(_config(data, folder, out, epochs=1), log=lines.append)
    texts = ["the cat sat on the mat", "a dog", "cats and dogs play in the big park"]
    ours = load_run(out, device="cpu").predict_proba(texts)
    for name in ("best", "last"):
        tok = AutoTokenizer.from_pretrained(str(out / name), local_files_only=True)
        assert tok.padding_side == "right"
        hf = AutoModelForSequenceClassification.from_pretrained(str(out / name)).eval()
        with torch.no_grad():
            batch = hf(**tok(texts, padding=True, return_tensors="pt")).logits
        torch.testing.assert_close(ours, torch.softmax(batch, -1), rtol=0, atol=1e-5)
    assert (
        "Note: the checkpoint's tokenizer pads on the left; vecgraft pads on the right, and "
        "saves its checkpoints' tokenizers so"
    ) in lines


def test_a_config_pad_id_replaced_by_the_end_of_text_token_is_said(data, gpt2_dir, tmp_path):  # noqa: F811
    # config.json named pad id 5, the tokenizer none: batches were padded with eos and the
    # saved config said so, without a word
    import shutil

    folder = tmp_path / "cfgpad"
    shutil.copytree(gpt2_dir, folder)
    config_file = folder / "config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "pad_token_id": 5}))
    lines: list[str] = []
    finetune(_config(data, folder, tmp_path / "run", epochs=1), log=lines.append)
    eos = json.loads(config_file.read_text())["eos_token_id"]
    assert (
        f"Note: config.json's pad_token_id 5 is replaced by the tokenizer's pad id {eos} "
        "('<|endoftext|>'), which batches are padded with"
    ) in lines


def test_a_checkpoint_with_neither_pad_nor_end_of_text_token_is_refused(
    data, gpt2_dir, tmp_path  # noqa: F811
):
    import shutil

    folder = tmp_path / "no-specials"
    shutil.copytree(gpt2_dir, folder)
    config_file = folder / "tokenizer_config.json"
    tok_config = json.loads(config_file.read_text())
    for key in ("eos_token", "bos_token", "unk_token", "pad_token"):
        tok_config.pop(key, None)
    tok_config["tokenizer_class"] = "PreTrainedTokenizerFast"  # GPT-2's has a default eos
    config_file.write_text(json.dumps(tok_config))
    with pytest.raises(FormatError) as caught:
        finetune(_config(data, folder, tmp_path / "run", epochs=1), log=lambda _: None)
    assert str(caught.value) == (
        f"{folder}: the tokenizer has no pad token, nor an end-of-text (eos) token to pad "
        'with: name one as "pad_token" in tokenizer_config.json'
    )


def test_a_tokenizer_with_ids_beyond_the_embedding_is_refused(data, gpt2_dir, tmp_path):  # noqa: F811
    # a pad token added without resizing the model: an IndexError from torch.embedding at
    # the first batch holding padding
    import shutil

    from transformers import AutoTokenizer

    folder = tmp_path / "pad-added"
    shutil.copytree(gpt2_dir, folder)
    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    rows = len(tok)
    tok.add_special_tokens({"pad_token": "<pad>"})
    tok.save_pretrained(str(folder))
    with pytest.raises(FormatError) as caught:
        finetune(_config(data, folder, tmp_path / "run", epochs=1), log=lambda _: None)
    assert str(caught.value) == (
        f"{folder}: the tokenizer has {rows + 1} tokens but the model only {rows} rows"
    )


class _Interrupt:
    def __init__(self, at: int) -> None:
        self.at = at

    def __call__(self, step: int) -> None:
        if step == self.at:
            raise KeyboardInterrupt


def test_resume_matches_an_uninterrupted_run(data, bert_dir, tmp_path):  # noqa: F811
    ref = tmp_path / "ref"
    finetune(_config(data, bert_dir, ref), log=lambda _: None)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        finetune(_config(data, bert_dir, out), log=lambda _: None, on_step=_Interrupt(7))
    assert json.loads((out / "last" / "state.json").read_text())["global_step"] == 7
    lines: list[str] = []
    finetune(_config(data, bert_dir, out).replace(resume=True), log=lines.append)
    assert any(line.startswith("Resuming") for line in lines)
    for name in ("best", "last"):
        a = load_file(str(ref / name / "model.safetensors"))
        b = load_file(str(out / name / "model.safetensors"))
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), (name, key)


def test_a_resume_names_its_add_tokens_file_when_gone_or_edited(data, bert_dir, tmp_path):  # noqa: F811
    # the file missing said "expected a number or a file of words"; edited, "the data
    # changed since this run started" of data that had not
    words = tmp_path / "words.txt"
    words.write_text("unbelievable\n", encoding="utf-8")
    out = tmp_path / "run"
    config = _config(data, bert_dir, out, add_tokens=str(words))
    with pytest.raises(KeyboardInterrupt):
        finetune(config, log=lambda _: None, on_step=_Interrupt(3))
    words.write_text("unbelievable\nplayful\n", encoding="utf-8")
    changed = rf"the data changed since this run started: add_tokens {words} \(size 13 -> 21\)"
    with pytest.raises(DataError, match=changed):
        finetune(config.replace(resume=True), log=lambda _: None)
    words.unlink()
    with pytest.raises(ConfigError, match=rf"add_tokens: {words}: no such file"):
        finetune(config.replace(resume=True), log=lambda _: None)


def _static_vectors(path: Path) -> Path:
    """GloVe text: the new words near a shared word of their class, the shared words apart."""
    rows = {
        "cat": [1.0, 0.0, 0.0, 0.0],
        "dog": [0.0, 1.0, 0.0, 0.0],
        "play": [0.0, 0.0, 1.0, 0.0],
        "home": [0.0, 0.0, 0.0, 1.0],
        "the": [0.5, 0.5, 0.5, 0.5],
        "cats": [0.9, 0.1, 0.0, 0.0],
        "dogs": [0.1, 0.9, 0.0, 0.0],
        "playing": [0.0, 0.1, 0.9, 0.0],
        "unbelievable": [0.0, 0.0, 0.1, 0.9],
    }
    path.write_text(
        "".join(f"{w} {' '.join(map(str, v))}\n" for w, v in rows.items()), encoding="utf-8"
    )
    return path


@pytest.mark.parametrize("init", ["subwords", "mean", "vectors"])
def test_add_tokens_grafts_then_trains_and_predicts(data, bert_dir, tmp_path, init):  # noqa: F811
    from transformers import AutoTokenizer

    extra = {"graft_vectors": str(_static_vectors(tmp_path / "v.txt"))} if init == "vectors" else {}
    out = tmp_path / "run"
    config = _config(data, bert_dir, out, add_tokens="3", graft_init=init, epochs=1, **extra)
    finetune(config, log=lambda _: None)
    report = json.loads((out / "best" / "graft_report.json").read_text())
    added = [row["token"] for row in report["new_tokens"]]
    # count x (pieces - 1): unbelievable (3 pieces) first, then the most frequent 2-piece words
    # of the training split (cats is rarer there than dogs and playing)
    assert sorted(added) == ["dogs", "playing", "unbelievable"]
    assert all(
        row["score"] == row["count"] * (len(row["pieces"]) - 1) for row in report["new_tokens"]
    )
    assert {row["rule"] for row in report["new_tokens"]} == {init}
    tok = AutoTokenizer.from_pretrained(str(out / "best"), local_files_only=True)
    assert len(tok) == 25 + 3
    assert tok.tokenize("unbelievable dogs cats") == ["unbelievable", "dogs", "cat", "##s"]
    model_meta = json.loads((out / "best" / "model.json").read_text())
    assert model_meta["vocab_size"] == 28
    predictor = load_run(out, device="cpu")
    assert set(predictor.predict(["the cats sat", "unbelievable dogs"])) <= {"pos", "neg"}
    assert predictor.predict_proba(["dogs"]).shape == (1, 2)


def test_add_tokens_from_a_file(data, bert_dir, tmp_path):  # noqa: F811
    words = tmp_path / "words.txt"
    words.write_text("playing\n", encoding="utf-8")
    out = tmp_path / "run"
    finetune(_config(data, bert_dir, out, add_tokens=str(words), epochs=1), log=lambda _: None)
    report = json.loads((out / "best" / "graft_report.json").read_text())
    assert [row["token"] for row in report["new_tokens"]] == ["playing"]


def test_layer_decay_gives_each_layer_its_learning_rate(data, bert_dir, tmp_path):  # noqa: F811
    from vecgraft.finetune.recipe import ClassifierRecipe
    from vecgraft.finetune.train import Trainer

    config = _config(data, bert_dir, tmp_path / "r", layer_decay=0.5, lr=0.1)
    recipe = ClassifierRecipe(config, write_files=False, log=lambda _: None)
    recipe.setup_data()
    recipe.setup_model()
    trainer = Trainer(
        recipe.model,
        config,
        recipe.data["train"],
        None,
        num_classes=2,
        device=torch.device("cpu"),
    )
    lrs = {g["name"]: g["lr"] for g in trainer.optimizer.param_groups}
    # 2 layers: embeddings depth 0, layers 1-2, pooler and head depth 3 (the top, at lr)
    assert lrs["layer3"] == pytest.approx(0.1) and lrs["layer2"] == pytest.approx(0.05)
    assert lrs["layer1"] == pytest.approx(0.025) and lrs["layer0"] == pytest.approx(0.0125)
    assert lrs["embedding"] == pytest.approx(0.0125)
    decays = {g["name"]: g["weight_decay"] for g in trainer.optimizer.param_groups}
    assert decays["layer1-no-decay"] == 0.0 and decays["layer1"] == config.weight_decay
    grouped = [id(p) for g in trainer.optimizer.param_groups for p in g["params"]]
    assert sorted(grouped) == sorted(id(p) for p in recipe.model.parameters())


def test_grad_accum_gives_the_same_update(data, tmp_path):
    def weights(accum: int) -> dict[str, torch.Tensor]:
        config = FinetuneConfig(
            train=str(data["train"]),
            test=str(data["test"]),
            dedupe=False,
            model="boe",
            epochs=1,
            max_steps=3,
            batch_size=8,
            grad_accum=accum,
            freeze_epochs=0,
            bf16=False,  # bf16 rounding (the default on AMX CPUs) depends on the piece size
            out=str(tmp_path / f"a{accum}"),
            plots=False,
            device="cpu",
            progress=False,
        )
        finetune(config, log=lambda _: None)
        return load_file(str(tmp_path / f"a{accum}" / "last" / "model.safetensors"))

    one, three = weights(1), weights(3)
    for key in one:
        torch.testing.assert_close(one[key], three[key], rtol=1e-5, atol=1e-6)


def test_a_bf16_checkpoint_trains_in_float32(bert_dir, tmp_path):  # noqa: F811
    # transformers 5 loads a checkpoint in the dtype it was saved in: bf16 weights then took
    # the optimizer's steps themselves, with no float32 master copy (small updates lost)
    from transformers import AutoModel

    from vecgraft.finetune.hf_family import load_hf_classifier

    half = tmp_path / "bf16"
    AutoModel.from_pretrained(str(bert_dir)).to(torch.bfloat16).save_pretrained(half)
    model = load_hf_classifier(half, num_labels=2)
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def test_hf_settings_are_checked(data, bert_dir, tmp_path):  # noqa: F811
    with pytest.raises(ConfigError, match="needs hf_model"):
        FinetuneConfig(model="hf")
    tuned = FinetuneConfig.for_model("hf", hf_model="m", lr=1e-4)
    assert (tuned.lr, tuned.epochs, tuned.max_length, tuned.freeze_epochs) == (1e-4, 3, 128, 0)
    assert tuned.embedding_lr is None  # embeddings train at the lowest layer's lr
    assert FinetuneConfig.for_model("cnn") == FinetuneConfig(model="cnn")
    # the constructor takes the family's defaults too: it trained a transformer at lr 2e-3
    # for 200 epochs while the CLI gave 5e-5 and 3; given values and copies keep theirs
    plain = FinetuneConfig(model="hf", hf_model="m")
    assert plain == FinetuneConfig.for_model("hf", hf_model="m")
    assert (plain.lr, plain.epochs, plain.max_length, plain.patience) == (5e-5, 3, 128, 2)
    assert FinetuneConfig(model="hf", hf_model="m", lr=2e-3).lr == 2e-3
    assert plain.replace(epochs=5).lr == 5e-5 and plain.replace(lr=1e-3).epochs == 3
    # any case of the name, or the model given by position, is the same family
    assert FinetuneConfig(model="HF", hf_model="m").lr == 5e-5
    assert FinetuneConfig.from_dict({"model": "Hf", "hf_model": "m"}).epochs == 3
    assert FinetuneConfig(None, None, None, "random", "hf", hf_model="m").max_length == 128
    with pytest.raises(ConfigError, match="add_tokens is only for model='hf'"):
        FinetuneConfig(model="cnn", add_tokens="10")
    with pytest.raises(ConfigError, match="vectors is not used by model='hf'"):
        FinetuneConfig(model="hf", hf_model="m", vectors="glove.txt")
    with pytest.raises(ConfigError, match="graft_vectors is only for model='hf'"):
        FinetuneConfig(graft_vectors="v.txt")
    with pytest.raises(ConfigError, match="layer_decay must be in"):
        FinetuneConfig(layer_decay=1.5)
    with pytest.raises(ConfigError, match="layer_decay needs a model with layers"):
        finetune(
            FinetuneConfig(
                train=str(data["train"]),
                model="boe",
                layer_decay=0.9,
                out=str(tmp_path / "x"),
                device="cpu",
            ),
            log=lambda _: None,
        )
    argv = [
        "finetune",
        "--train",
        str(data["train"]),
        "--model",
        "hf",
        "--out",
        str(tmp_path / "y"),
    ]
    assert main(argv) == 1


def test_compare_fine_tunes_an_hf_source_next_to_a_static_one(data, bert_dir, tmp_path):  # noqa: F811
    from vecgraft.evaluate.compare import CompareConfig, SourceKind, SourceSpec, cell_dir, compare

    spec = SourceSpec.parse(f"hf:{bert_dir}:finetune")
    assert (spec.kind, spec.mode, spec.path) == (SourceKind.FINETUNE, "finetune", str(bert_dir))
    assert spec.name == f"{bert_dir.name}-finetune"
    with pytest.raises(ConfigError, match="not a transformer checkpoint"):
        SourceSpec.parse(f"hf:{tmp_path}:finetune")
    out = tmp_path / "cmp"
    config = CompareConfig(
        train=str(data["train"]),
        test=str(data["test"]),
        sources=["random", f"bert=hf:{bert_dir}:finetune"],
        seeds=[0],
        out=str(out),
        finetune={"model": "boe", "epochs": 1, "plots": False, "progress": False},
        intrinsic=False,
        linear=False,
    )
    result = compare(config, log=lambda _m: None)
    assert [c.source for c in result.cells] == ["random", "bert"]
    bert_cell = json.loads((cell_dir(out, "bert", 1.0, 0) / "config.json").read_text())
    random_cell = json.loads((cell_dir(out, "random", 1.0, 0) / "config.json").read_text())
    assert (bert_cell["model"], bert_cell["hf_model"]) == ("hf", str(bert_dir.resolve()))
    # the comparison's settings apply to both; the rest are each family's defaults
    assert bert_cell["epochs"] == random_cell["epochs"] == 1
    assert (bert_cell["lr"], random_cell["lr"]) == (5e-5, FinetuneConfig().lr)
    assert (random_cell["model"], random_cell["hf_model"]) == ("boe", None)
    metrics = json.loads((cell_dir(out, "bert", 1.0, 0) / "metrics.json").read_text())
    assert result.cells[1].accuracy == metrics["test"]["accuracy"]
    assert "finetune" in (out / "report.md").read_text(encoding="utf-8")


def test_hf_run_without_a_validation_split(data, bert_dir, tmp_path):  # noqa: F811
    result = finetune(
        _config(data, bert_dir, tmp_path / "run", valid_fraction=0.0), log=lambda _m: None
    )
    assert result.metrics["valid"] is None and result.metrics["sizes"]["train"] == 48
    assert result.metrics["best_epoch"] == result.metrics["epochs_run"] == 2
    predictor = load_run(tmp_path / "run", device="cpu")
    assert predictor.evaluate(str(data["test"])).accuracy == result.metrics["test"]["accuracy"]


def _year_rows(n: int, seed: int) -> list[tuple[str, str]]:
    """Texts whose target is a year: 2000 + 10 per 'cat' - 10 per 'dog' (mean ~2000, sd ~8)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        toks = rng.choices(POS[:1] + NEG[:1] + FILL, k=5)
        rows.append((" ".join(toks), str(2000 + 10 * toks.count("cat") - 10 * toks.count("dog"))))
    return rows


def test_hf_regression_learns_years_and_predicts_numbers(bert_dir, tmp_path, capsys):  # noqa: F811
    # Before: the hf head started at 0 and stayed there (test RMSE ~2000 against the mean's ~8)
    # and, with no "task" in model.json, predict printed the label "value" for every text.
    train = write_csv(tmp_path / "train.csv", _year_rows(80, 1))
    test = write_csv(tmp_path / "test.csv", _year_rows(24, 2))
    data = {"train": train, "test": test}
    run = tmp_path / "run"
    config = _config(data, bert_dir, run, task="regression", epochs=30, valid_fraction=0.0)
    result = finetune(config, log=lambda _m: None)
    targets = [float(label) for _, label in _year_rows(80, 1)]
    meta = json.loads((run / "best" / "model.json").read_text())
    assert meta["task"] == "regression"
    assert meta["target_scale"]["shift"] == pytest.approx(sum(targets) / len(targets))
    test_block = result.metrics["regression"]["test"]
    assert test_block["rmse"] < 0.8 * result.metrics["mean_baseline"]["rmse"]
    # the map is in the Hugging Face folder too: a plain load gives z-scores
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    hf = AutoModelForSequenceClassification.from_pretrained(
        str(run / "best"), local_files_only=True
    ).eval()
    tok = AutoTokenizer.from_pretrained(str(run / "best"), local_files_only=True)
    texts = ["the cat sat on the mat", "a big dog ran home"]
    with torch.no_grad():
        z = hf(**tok(texts, padding=True, return_tensors="pt")).logits[:, 0]
    kept = hf.config.vecgraft_target_scale
    predictor = load_run(run, device="cpu")
    torch.testing.assert_close(
        torch.tensor(predictor.predict_values(texts), dtype=torch.float32),
        z * kept["scale"] + kept["shift"], rtol=0, atol=1e-3,
    )
    listed = tmp_path / "texts.txt"
    listed.write_text("\n".join(texts) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", str(run), str(listed)]) == 0
    printed = [float(v) for v in capsys.readouterr().out.split()]
    assert printed[0] > printed[1] and 1980 < printed[1] < printed[0] < 2020
    # export's advice to load best/ with transformers did not say that it returns z-scores
    argv = ["export", str(run), "--to", "model2vec", "--out", str(tmp_path / "x")]
    assert main(argv) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert err.endswith(
        "; this regression's model returns z-scores: the number is shift + scale x logit, "
        "with shift and scale from vecgraft_target_scale in that folder's config.json"
    )


def test_max_length_beyond_the_position_table_is_capped_not_a_crash(bert_dir, tmp_path):  # noqa: F811
    # the tiny BERT has 64 positions: a 100-token cap let a long text through to the embeddings,
    # which stopped training with a raw RuntimeError (expanded size 77 vs 64)
    rows = [*_rows(16, 3), (" ".join(["cat"] * 90), "pos"), (" ".join(["dog"] * 90), "neg")]
    train, test = write_csv(tmp_path / "train.csv", rows), write_csv(tmp_path / "t.csv", rows[:4])
    data = {"train": train, "test": test}
    lines: list[str] = []
    run = tmp_path / "run"
    finetune(_config(data, bert_dir, run, epochs=1, max_length=100), log=lines.append)
    assert "max_length 100 -> 64: the model takes at most 64 tokens" in lines
    assert json.loads((run / "best" / "model.json").read_text())["max_length"] == 64
    predictor = load_run(run, device="cpu")
    assert len(predictor.predict([" ".join(["mat"] * 200), "the cat"])) == 2


def test_best_and_last_truncate_as_the_run_did(data, bert_dir, tmp_path):  # noqa: F811
    # their tokenizers kept the checkpoint's model_max_length (here none at all), so a plain
    # AutoTokenizer with truncation=True read 20 tokens where the run had read 6
    from transformers import AutoTokenizer

    run = tmp_path / "run"
    finetune(_config(data, bert_dir, run, epochs=1, max_length=6), log=lambda _: None)
    text = " ".join(["cat", "dog"] * 10)
    ours = load_run(run, device="cpu").encoder([text])[0]
    assert len(ours) == 6
    for name in ("best", "last"):
        tok = AutoTokenizer.from_pretrained(str(run / name), local_files_only=True)
        assert tok.model_max_length == 6
        assert tok(text, truncation=True)["input_ids"] == ours
    # a later run from best/ is capped there, and told where the cap comes from
    lines: list[str] = []
    again = _config(data, run / "best", tmp_path / "again", epochs=1, max_length=100)
    finetune(again, log=lines.append)
    assert (
        "max_length 100 -> 6: the tokenizer's model_max_length in tokenizer_config.json (a "
        "vecgraft run states its --max-length there); the model's position table holds 64, "
        "raise model_max_length to read more"
    ) in lines


def test_truncation_and_an_unknown_script_are_said(bert_dir, tmp_path):  # noqa: F811
    # both went unsaid: Chinese reviews under an English checkpoint trained on 65 % [UNK]
    # tokens, most of them cut at --max-length, while the static families report each
    zh = ["我爱中国", "中国很大", "我们爱人", "很好很好"]
    rows = [(f"the cat sat on the mat {zh[i % 4]}", "pos" if i % 2 else "neg") for i in range(16)]
    data = {
        "train": write_csv(tmp_path / "train.csv", rows),
        "test": write_csv(tmp_path / "t.csv", rows[:4]),
    }
    lines: list[str] = []
    finetune(_config(data, bert_dir, tmp_path / "run", epochs=1, max_length=8), log=lines.append)
    truncation = [line for line in lines if line.startswith("Truncation:")]
    # 6 known tokens + 4 [UNK] + [CLS] [SEP] = 12 > 8, in every training text
    assert len(truncation) == 1 and "longer than --max-length 8 tokens" in truncation[0]
    assert "(median of those 12, longest 12)" in truncation[0]
    unk = [line for line in lines if "[UNK]" in line]
    assert len(unk) == 1 and unk[0].startswith("WARNING: 40.0% of the training tokens are [UNK]")
    # after a graft too small to cover them, the advice is not to graft (it was the same)
    lines.clear()
    config = _config(data, bert_dir, tmp_path / "g", epochs=1, add_tokens="1", tokenizer="char")
    finetune(config, log=lines.append)
    unk = [line for line in lines if line.startswith("WARNING") and "[UNK]" in line]
    assert len(unk) == 1 and "are still [UNK] after grafting 1 tokens" in unk[0]
    # --add-tokens 0 grafted nothing: the advice is the ungrafted one, not "still ... 0 tokens"
    lines.clear()
    config = _config(data, bert_dir, tmp_path / "z", epochs=1, add_tokens="0", tokenizer="char")
    finetune(config, log=lines.append)
    unk = [line for line in lines if line.startswith("WARNING") and "[UNK]" in line]
    assert len(unk) == 1 and "--add-tokens N grafts the commonest missing words" in unk[0]
    # English within the vocabulary and the length: neither line
    lines.clear()
    finetune(_config(_english(tmp_path), bert_dir, tmp_path / "en", epochs=1), log=lines.append)
    assert not [line for line in lines if "Truncation:" in line or "[UNK]" in line]


def test_evaluate_counts_the_pieces_an_hf_run_reads_as_unknown(bert_dir, tmp_path):  # noqa: F811
    # evaluate warned of unreadable text for every run but hf ones ("word pieces leave
    # nothing unknown"): an English checkpoint reads Chinese as [UNK]
    from vecgraft.finetune.predict import load_run

    data = _english(tmp_path)
    finetune(_config(data, bert_dir, tmp_path / "run", epochs=1), log=lambda _m: None)
    predictor = load_run(tmp_path / "run")
    zh = predictor.unknown_tokens(["我爱中国 the cat", "中国很大"] * 20)
    # each character one [UNK] piece: 8 of the pair's 10 pieces (the, cat known)
    assert zh.texts == 40 and zh.tokens == 200 and zh.unknown == 160
    assert zh.examples == ["中", "国", "我", "爱", "很", "大"]
    assert zh.warning("zh.csv") is not None
    english = predictor.unknown_tokens(["the cat sat on the mat"] * 20)
    assert english.unknown == 0 and english.warning("en.csv") is None


def _english(tmp_path: Path) -> dict[str, Path]:
    rows = _rows(16, 4)
    return {
        "train": write_csv(tmp_path / "en.csv", rows),
        "test": write_csv(tmp_path / "e.csv", rows[:4]),
    }


def test_text_settings_the_checkpoint_tokenizer_makes_moot_are_named(data, bert_dir, tmp_path):  # noqa: F811
    # --stopwords en and --lower trained as if absent, without a word
    lines: list[str] = []
    config = _config(data, bert_dir, tmp_path / "run", epochs=1, stopwords="en", lower=True)
    finetune(config, log=lines.append)
    notes = [line for line in lines if line.startswith("Note: model 'hf' reads the texts")]
    assert len(notes) == 1 and "; --stopwords, --lower/--no-lower not used" in notes[0]
    lines.clear()
    finetune(_config(data, bert_dir, tmp_path / "plain", epochs=1), log=lines.append)
    assert not [line for line in lines if line.startswith("Note: model 'hf'")]


def test_add_tokens_0_prints_one_line_not_an_empty_table(data, bert_dir, tmp_path):  # noqa: F811
    lines: list[str] = []
    finetune(_config(data, bert_dir, tmp_path / "run", add_tokens="0", epochs=1), log=lines.append)
    text = "\n".join(lines)
    assert "no tokens added: the vocabulary stays 25 tokens" in text
    assert not any(line.startswith(("rule ", "subwords", "total")) for line in text.splitlines())


def test_fewer_grafted_words_than_asked_say_why(data, bert_dir, tmp_path):  # noqa: F811
    # --add-tokens 100 printed only "total 46"; graft-vocab said why, finetune did not
    lines: list[str] = []
    config = _config(data, bert_dir, tmp_path / "run", add_tokens="50", epochs=1)
    finetune(config, log=lines.append)
    said = [line for line in lines if "asked" in line]
    assert said == [
        "4 tokens added (of 50 asked: only 4 corpus words qualify, each seen at least 2 "
        "times, not one token already, and read whole beside the better picks)"
    ]


@pytest.mark.parametrize("min_valid", [50, 2])  # keeps its last weights / chooses an epoch
def test_one_step_is_tested_as_epoch_1(data, bert_dir, tmp_path, min_valid):  # noqa: F811
    # --max-steps 1 printed "Test (80 texts, last epoch 0)" (choosing: "best epoch None")
    lines: list[str] = []
    config = _config(data, bert_dir, tmp_path / "run", max_steps=1, min_valid=min_valid)
    finetune(config, log=lines.append)
    assert any(line.startswith("Test (16 texts, last epoch 1, cut at step 1 by max_steps): ")
               for line in lines), lines  # fmt: skip


def test_only_a_vecgraft_runs_cap_is_named_as_one_to_raise(tmp_path):
    # a stock RoBERTa's table has 514 rows for its 512 tokens (positions start after the
    # padding id): told to raise model_max_length to 514, a user reached an IndexError
    from types import SimpleNamespace

    from vecgraft.finetune.hf_family import _max_length

    hf = SimpleNamespace(config=SimpleNamespace(max_position_embeddings=514))
    tok = SimpleNamespace(model_max_length=512)
    lines: list[str] = []
    assert _max_length(1000, hf, tok, lines.append, tmp_path) == 512
    assert lines == ["max_length 1000 -> 512: the model takes at most 512 tokens"]
    lines.clear()
    (tmp_path / "model.json").write_text("{}", encoding="utf-8")  # a run's best/
    assert _max_length(1000, hf, tok, lines.append, tmp_path) == 512
    assert lines == [
        "max_length 1000 -> 512: the tokenizer's model_max_length in tokenizer_config.json "
        "(a vecgraft run states its --max-length there); the model's position table holds "
        "514, raise model_max_length to read more"
    ]
    lines.clear()
    (tmp_path / "model.json").unlink()
    (tmp_path / "graft_report.json").write_text("{}", encoding="utf-8")  # a grafted model
    _max_length(1000, hf, tok, lines.append, tmp_path)
    assert "raise model_max_length" in lines[0]


def _headed(bert: Path, folder: Path, id2label: dict[int, str]) -> dict[str, torch.Tensor]:
    """A copy of `bert` with a classification head for `id2label`; its head's tensors."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(5)
    hf = AutoModelForSequenceClassification.from_pretrained(
        str(bert), num_labels=len(id2label), id2label=id2label,
        label2id={label: i for i, label in id2label.items()},
    )  # fmt: skip
    hf.save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(bert)).save_pretrained(folder)
    return {"weight": hf.classifier.weight.detach().clone(),
            "bias": hf.classifier.bias.detach().clone()}  # fmt: skip


def test_a_checkpoint_head_is_fitted_to_the_run_labels(bert_dir, tmp_path):  # noqa: F811
    # a later run from a run's best/ on data of other labels stopped inside transformers
    # ("You set ignore_mismatched_sizes to False"); the same labels in another order trained
    # on the old head's rows as if they were in the run's order
    from vecgraft.finetune.hf_family import load_hf_classifier

    folder = tmp_path / "headed"
    head = _headed(bert_dir, folder, {0: "pos", 1: "neg"})
    lines: list[str] = []
    same = load_hf_classifier(folder, 2, ["neg", "pos"], lines.append)
    assert torch.equal(same.classifier.weight, head["weight"][[1, 0]])
    assert torch.equal(same.classifier.bias, head["bias"][[1, 0]])
    assert same.config.id2label == {0: "neg", 1: "pos"}
    assert lines == [
        f"Note: {folder}'s classification head is for 2 labels (pos, neg); its rows are "
        "reordered to this run's order (neg, pos)"
    ]
    lines.clear()
    more = load_hf_classifier(folder, 3, ["a", "b", "c"], lines.append)
    assert more.classifier.weight.shape == (3, 32)
    assert more.config.id2label == {0: "a", 1: "b", 2: "c"}
    assert lines == [
        f"Note: {folder}'s classification head is for 2 labels (pos, neg); this run has "
        "3 labels (a, b, c): a new head is trained"
    ]
    lines.clear()
    other = load_hf_classifier(folder, 2, ["no", "yes"], lines.append)
    assert not torch.equal(other.classifier.weight, head["weight"])
    assert not torch.equal(other.classifier.weight, head["weight"][[1, 0]])
    assert torch.equal(other.classifier.bias, torch.zeros(2))
    assert lines == [
        f"Note: {folder}'s classification head is for 2 labels (pos, neg); this run has "
        "2 labels (no, yes): a new head is trained"
    ]
    lines.clear()
    kept = load_hf_classifier(folder, 2, ["pos", "neg"], lines.append)  # its own order
    assert torch.equal(kept.classifier.weight, head["weight"]) and lines == []
    regression = load_hf_classifier(folder, 1, None, lines.append)
    assert regression.classifier.weight.shape == (1, 32)
    assert lines == [
        f"Note: {folder}'s classification head is for 2 labels (pos, neg); this run has "
        "1 output (a regression): a new head is trained"
    ]
    lines.clear()  # classes without names are no regression (it said "3 outputs (a regression)")
    load_hf_classifier(folder, 3, None, lines.append)
    assert lines == [
        f"Note: {folder}'s classification head is for 2 labels (pos, neg); this run has "
        "3 outputs: a new head is trained"
    ]
    # placeholder names: the rows are kept, and that is said
    lines.clear()
    unnamed = tmp_path / "unnamed"
    head = _headed(bert_dir, unnamed, {0: "LABEL_0", 1: "LABEL_1"})
    model = load_hf_classifier(unnamed, 2, ["neg", "pos"], lines.append)
    assert torch.equal(model.classifier.weight, head["weight"])
    assert lines == [
        f"Note: {unnamed}'s classification head is for 2 labels (LABEL_0, LABEL_1), unnamed: "
        "its rows are kept in order as this run's 2 labels (neg, pos)"
    ]
    # a base model without a head: a new one, as always, without a note
    lines.clear()
    load_hf_classifier(bert_dir, 3, ["a", "b", "c"], lines.append)
    assert lines == []


def test_a_run_from_best_on_data_of_other_labels_trains_a_new_head(data, bert_dir, tmp_path):  # noqa: F811
    first = tmp_path / "first"
    finetune(_config(data, bert_dir, first, epochs=1), log=lambda _: None)
    rows = [(text, {"pos": "x", "neg": "y"}[label] if i % 3 else "z")
            for i, (text, label) in enumerate(_rows(24, 7))]  # fmt: skip
    three = {"train": write_csv(tmp_path / "t3.csv", rows),
             "test": write_csv(tmp_path / "e3.csv", rows[:6])}  # fmt: skip
    lines: list[str] = []
    chain = tmp_path / "chain"
    finetune(_config(three, first / "best", chain, epochs=1), log=lines.append)
    assert (
        f"Note: {first / 'best'}'s classification head is for 2 labels (neg, pos); this run "
        "has 3 labels (x, y, z): a new head is trained"
    ) in lines
    assert load_run(chain, device="cpu").predict_proba(["the cat"]).shape == (1, 3)
    config = json.loads((chain / "best" / "config.json").read_text())
    assert config["id2label"] == {"0": "x", "1": "y", "2": "z"}


def test_repeated_tokenizers_pool_the_words_an_hf_graft_picks(bert_dir, tmp_path, capsys):  # noqa: F811
    # --tokenizer jieba --tokenizer char kept only char for --add-tokens, where graft-vocab
    # pools both; a network model took the last one as quietly
    zh = ["我爱中国人", "中国很大", "我们爱中国", "中国人很好"]
    rows = [(f"the cat {zh[i % 4]}", "pos" if i % 2 else "neg") for i in range(16)]
    train, test = write_csv(tmp_path / "zh.csv", rows), write_csv(tmp_path / "t.csv", rows[:4])
    argv = ["finetune", "--train", str(train), "--test", str(test), "--no-dedupe", "--no-plots",
            "--device", "cpu", "--epochs", "1", "--max-steps", "1"]  # fmt: skip
    out = tmp_path / "run"
    hf = ["--model", "hf", "--hf-model", str(bert_dir), "--add-tokens", "6"]
    assert main([*argv, *hf, "--tokenizer", "jieba", "--tokenizer", "char", "--out", str(out)]) == 0
    report = json.loads((out / "best" / "graft_report.json").read_text())
    assert report["options"]["text_tokenizer"] == ["jieba", "char"]
    assert "中国" in {row["token"] for row in report["new_tokens"]}  # a jieba word
    assert json.loads((out / "config.json").read_text())["tokenizer"] == ["jieba", "char"]
    capsys.readouterr()
    boe = ["--model", "boe", "--tokenizer", "jieba", "--tokenizer", "char"]
    assert main([*argv, *boe, "--out", str(tmp_path / "boe")]) == 1
    assert capsys.readouterr().err.strip().endswith(
        "error: --tokenizer takes one kind for --model boe; several (jieba, char) only pool "
        "the words that --add-tokens grafts with --model hf"
    )
    with pytest.raises(ConfigError) as caught:
        FinetuneConfig(model="cnn", tokenizer=["jieba", "char"])
    assert str(caught.value) == (
        "tokenizer takes one kind for model='cnn'; several (jieba, char) only pool the "
        "words that add_tokens grafts with model='hf'"
    )
    # one kind, given twice or in a list of one, is that kind
    assert FinetuneConfig(model="cnn", tokenizer=["Char", "char"]).tokenizer == "char"


def test_a_run_saved_before_graft_settings_were_refused_still_resumes(tmp_path, monkeypatch):
    # config.json of a run made when --graft-init mean without --add-tokens was accepted:
    # its load (by --resume, the CLI's resume checks, compare cells) raised OptionError
    from vecgraft.finetune.run import resolve_resume

    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    settings = {"train": "t.csv", "model": "hf", "hf_model": "m", "out": str(run),
                "graft_init": "mean", "graft_vectors": None}  # fmt: skip
    (run / "config.json").write_text(json.dumps(settings))
    resumed = resolve_resume(FinetuneConfig(train="t.csv", out=str(run), resume=True))
    assert (resumed.graft_init, resumed.resume, resumed.out) == ("mean", True, str(run))
    saved = FinetuneConfig.load(run / "config.json", saved_run=True)
    assert (saved.graft_init, saved.add_tokens) == ("mean", None)
    assert saved.replace(epochs=1).graft_init == "mean"  # a copy is still the saved run's
    # new settings are still refused, from a file as from keywords
    with pytest.raises(ConfigError, match="graft_init='mean' is only used with add_tokens=N"):
        FinetuneConfig.load(run / "config.json")
    with pytest.raises(ConfigError, match="graft_init='mean' is only used with add_tokens=N"):
        FinetuneConfig(**settings)


def test_graft_settings_that_do_nothing_are_refused_as_graft_vocab_refuses_them(
    data, bert_dir, tmp_path, capsys  # noqa: F811
):
    # --graft-vectors with the default subwords rule was never read, and --graft-init
    # vectors without --add-tokens grafted nothing, both without a word
    argv = ["finetune", "--train", str(data["train"]), "--model", "hf", "--hf-model",
            str(bert_dir), "--out", str(tmp_path / "run")]  # fmt: skip
    vectors = str(_static_vectors(tmp_path / "v.txt"))
    said = {
        ("--add-tokens", "10", "--graft-vectors", vectors):
            "--graft-vectors is only used with --graft-init vectors, not --graft-init subwords",
        ("--add-tokens", "10", "--graft-init", "vectors"):
            "--graft-init vectors needs --graft-vectors V",
        ("--graft-init", "vectors", "--graft-vectors", vectors):
            "--graft-init vectors and --graft-vectors are only used with --add-tokens N",
        ("--graft-init", "mean"): "--graft-init mean is only used with --add-tokens N",
    }  # fmt: skip
    for flags, message in said.items():
        capsys.readouterr()
        assert main([*argv, *flags]) == 1
        assert capsys.readouterr().err == f"vecgraft finetune: error: {message}\n"
    with pytest.raises(ConfigError) as caught:
        FinetuneConfig(model="hf", hf_model="m", add_tokens="10", graft_vectors=vectors)
    assert str(caught.value) == (
        "graft_vectors is only used with graft_init='vectors', not graft_init='subwords'"
    )
    # graft-vocab's own flags, by the same check
    graft = ["graft-vocab", str(bert_dir), "--corpus", str(data["train"]), "--add-tokens", "2",
             "--out", str(tmp_path / "g")]  # fmt: skip
    capsys.readouterr()
    assert main([*graft, "--vectors", vectors]) == 1
    assert capsys.readouterr().err == (
        "vecgraft graft-vocab: error: --vectors is only used with --init vectors, not --init "
        "subwords\n"
    )


def test_a_resume_checks_only_the_flags_given_against_the_run(
    data, bert_dir, tmp_path, capsys  # noqa: F811
):
    # a run made with --add-tokens 3 --graft-init mean, resumed with its flags repeated but
    # not --add-tokens, was refused: "--graft-init mean is only used with --add-tokens N"
    # (and with --model hf alone: "--model hf needs --hf-model"), the flags checked as a
    # new run's rather than against the run's settings
    out = tmp_path / "run"
    model = ["--model", "hf", "--hf-model", str(bert_dir), "--graft-init", "mean"]
    first = ["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
             "--no-dedupe", *model, "--add-tokens", "3", "--out", str(out), "--max-steps", "1",
             "--batch-size", "8", "--device", "cpu", "--no-plots", "--no-progress"]  # fmt: skip
    assert main(first) == 0
    resume = ["finetune", "--resume", "--out", str(out), "--no-progress"]
    for flags in ([], model[:2], model, model[4:]):
        capsys.readouterr()
        assert main([*resume, *flags]) == 0, capsys.readouterr().err
        assert f"{out}: training had finished (epoch 0, step 1)" in capsys.readouterr().out
    # settings that contradict the run's are refused still
    said = {
        ("--add-tokens", "5"): "--add-tokens 5 (the run's: 3)",
        ("--graft-init", "subwords"): "--graft-init subwords (the run's: mean)",
    }
    for flags, differ in said.items():
        assert main([*resume, *model, *flags]) == 1
        assert capsys.readouterr().err == (
            f"vecgraft finetune: error: {out}: a resumed run keeps the settings it was started "
            f"with, and these differ: {differ}; leave them out to resume, or start a new run "
            "(--overwrite, or another --out)\n"
        )


def test_a_resume_without_out_checks_the_flags_against_the_default_folders_run(
    data, bert_dir, tmp_path, monkeypatch, capsys  # noqa: F811
):
    # `--resume` without --out continues runs/finetune (FinetuneConfig.out's default), but
    # its flags were checked as a new run's there: "--model hf needs --hf-model (a folder)"
    monkeypatch.chdir(tmp_path)
    model = ["--model", "hf", "--hf-model", str(bert_dir), "--graft-init", "mean"]
    first = ["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
             "--no-dedupe", *model, "--add-tokens", "3", "--max-steps", "1",
             "--batch-size", "8", "--device", "cpu", "--no-plots", "--no-progress"]  # fmt: skip
    assert main(first) == 0
    assert (tmp_path / "runs" / "finetune" / "config.json").is_file()
    capsys.readouterr()
    assert main(["finetune", "--resume", "--no-progress", *model[:2], *model[4:]]) == 0, (
        capsys.readouterr().err
    )
    assert "runs/finetune: training had finished (epoch 0, step 1)" in capsys.readouterr().out
    # and a setting that contradicts the run's is refused as the run's, not a new run's
    assert main(["finetune", "--resume", "--no-progress", "--add-tokens", "5"]) == 1
    assert "differ: --add-tokens 5 (the run's: 3)" in capsys.readouterr().err


def test_vectors_encoding_reads_the_graft_vectors_of_a_run_and_of_graft_vocab(
    data, bert_dir, tmp_path, capsys  # noqa: F811
):
    # finetune --model hf ignored --vectors-encoding for --graft-vectors (its error said
    # "pass --vectors-encoding NAME", as passed); graft-vocab had no such flag nor hint
    from gensim.test.utils import datapath

    path = datapath("cp852_fasttext.bin")
    out = tmp_path / "run"
    argv = ["finetune", "--train", str(data["train"]), "--no-dedupe", "--model", "hf",
            "--hf-model", str(bert_dir), "--add-tokens", "5", "--graft-init", "vectors",
            "--graft-vectors", path, "--max-steps", "1", "--out", str(out)]  # fmt: skip
    graft = ["graft-vocab", str(bert_dir), "--corpus", str(data["train"]), "--add-tokens", "5",
             "--init", "vectors", "--vectors", path, "--out", str(tmp_path / "g")]  # fmt: skip
    undecoded = (
        f"error: {path} (byte 88): word b'kter\\xec' is not valid UTF-8 (unexpected end of "
        "data); pass --vectors-encoding NAME\n"
    )
    capsys.readouterr()
    assert main(argv) == 1
    # only the advice the graft's read applies: "or --unicode-errors replace" (a reading
    # flag of --vectors) gave the same error again when followed
    assert capsys.readouterr().err == f"vecgraft finetune: {undecoded}"
    assert main([*argv, "--unicode-errors", "replace"]) == 1
    assert capsys.readouterr().err == f"vecgraft finetune: {undecoded}"
    assert main(graft) == 1
    assert capsys.readouterr().err == f"vecgraft graft-vocab: {undecoded}"
    assert main([*argv, "--vectors-encoding", "cp852"]) == 0
    saved = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert saved["graft_vectors_encoding"] == "cp852"  # a --resume reads them so
    capsys.readouterr()
    assert main([*argv, "--vectors-encoding", "latin-1", "--resume"]) == 1
    assert capsys.readouterr().err == (
        f"vecgraft finetune: error: {out}: a resumed run keeps the settings it was started "
        "with, and these differ: --vectors-encoding latin-1 (the run's: cp852); leave them "
        "out to resume, or start a new run (--overwrite, or another --out)\n"
    )
    assert main([*graft, "--vectors-encoding", "cp852"]) == 0
    report = json.loads((tmp_path / "g" / "graft_report.json").read_text(encoding="utf-8"))
    assert report["init"] == "vectors"
    # the flag without the file it reads is refused, as an unknown codec is
    no_vectors = [a for a in argv if a not in ("--graft-vectors", path, "vectors")]
    no_vectors[no_vectors.index("--graft-init") + 1 :] = ["mean", *no_vectors[
        no_vectors.index("--graft-init") + 1 :]]
    capsys.readouterr()
    assert main([*no_vectors, "--vectors-encoding", "cp852", "--overwrite"]) == 1
    assert capsys.readouterr().err == (
        "vecgraft finetune: error: --vectors-encoding is only used with --graft-vectors PATH\n"
    )
    assert main([*graft[:-2], "--out", str(tmp_path / "h"), "--vectors-encoding", "nope"]) == 1
    assert capsys.readouterr().err == (
        "vecgraft graft-vocab: error: --vectors-encoding nope: not a text encoding Python "
        "knows (e.g. utf-8, cp852, latin-1, gb18030)\n"
    )


def test_class_weight_weighs_the_transformers_training_loss(data, bert_dir, tmp_path, monkeypatch):  # noqa: F811
    # model hf trains through vecgraft's Trainer: its cross-entropy takes the weights
    from finetune_helpers import loss_weights

    seen = loss_weights(monkeypatch)
    lines: list[str] = []
    finetune(_config(data, bert_dir, tmp_path / "w", class_weight={"neg": 3}, max_steps=1),
             log=lines.append)  # fmt: skip
    assert seen[0] is not None and seen[0].tolist() == [3.0, 1.0]
    assert "class weights (given): neg 3.0, pos 1.0" in lines


def test_hf_classifier_checks_batches_and_reads_empty_ones_as_other_models_do(bert_dir):  # noqa: F811
    from transformers import AutoModelForSequenceClassification

    from vecgraft.finetune.hf_family import HFClassifier

    torch.manual_seed(0)
    hf = AutoModelForSequenceClassification.from_pretrained(bert_dir, num_labels=3)
    model = HFClassifier(hf).eval()
    with torch.no_grad():
        # every text empty: one masked padding position, the logits an empty text gets
        # beside a longer one (it was a reshape error from inside transformers)
        alone = model(torch.zeros(1, 0, dtype=torch.long), torch.tensor([0]))
        beside = model(torch.tensor([[2, 6, 3], [0, 0, 0]]), torch.tensor([3, 0]))
        assert alone.shape == (1, 3) and torch.isfinite(alone).all()
        assert torch.allclose(alone[0], beside[1], atol=1e-5)
        empty = model(torch.zeros(0, 4, dtype=torch.long), torch.zeros(0, dtype=torch.long))
        assert empty.shape == (0, 3)
    with pytest.raises(DataError, match=r"for one text use ids.unsqueeze\(0\)"):
        model(torch.tensor([2, 6, 3]), torch.tensor([3]))
    with pytest.raises(DataError, match=r"ids\[0, 1\] is 99, outside the embedding's 25 rows"):
        model(torch.tensor([[2, 99, 3]]), torch.tensor([3]))
