"""`from_transformer` on families beyond BERT/GPT-2: tiny random checkpoints built here.

ALBERT (input rows narrower than its hidden states), encoder-decoders (T5, BART, a saved
T5EncoderModel) and RoBERTa (positions start after the padding id).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest_transformer import bert_dir, t5_dir  # noqa: F401  (fixtures)
from vecgraft.transformer import from_transformer
from vecgraft.transformer.encode import position_limit

pytest.importorskip("transformers")

WORDS = ["cat", "unbelievable", "the"]


def _with_model(tok_dir: Path, path: Path, model: Any) -> Path:
    """`model` saved in `path` with the tokenizer files of `tok_dir`."""
    path.mkdir(parents=True, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (tok_dir / name).is_file():
            shutil.copy(tok_dir / name, path / name)
    model.eval().save_pretrained(path)
    return path


def _encoder_forward(model: Any, tok_dir: Path, word: str) -> np.ndarray:
    """Mean of the word's non-special last hidden states, run by hand through `model`."""
    import torch
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tok_dir))
    enc = tok(word, return_special_tokens_mask=True, return_tensors="pt")
    keep = enc["special_tokens_mask"][0] == 0
    with torch.no_grad():
        hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
    return hidden.last_hidden_state[0][keep].mean(0).numpy()


@pytest.fixture(scope="module")
def albert_dir(bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    import torch
    from transformers import AlbertConfig, AlbertModel

    torch.manual_seed(3)
    config = AlbertConfig(
        vocab_size=25, embedding_size=8, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64,
    )  # fmt: skip
    return _with_model(bert_dir, tmp_path_factory.mktemp("albert"), AlbertModel(config))


@pytest.mark.parametrize("mode", ["contextless", "corpus"])
def test_albert_vectors_have_the_hidden_width_not_the_input_rows(albert_dir, bert_dir, mode):  # noqa: F811
    # the matrix took its width from the 8-wide input table: "could not broadcast (3,32)
    # into (3,8)"
    from transformers import AutoModel

    v = from_transformer(albert_dir, WORDS, mode=mode, corpus=["a dog ran home"])
    assert v.matrix.shape == (3, 32)
    model = AutoModel.from_pretrained(str(albert_dir)).eval()
    for word in WORDS:
        np.testing.assert_allclose(v[word], _encoder_forward(model, bert_dir, word), atol=1e-5)


def test_a_t5_reads_its_encoder(t5_dir):  # noqa: F811
    # T5Model's forward asked for decoder_input_ids from inside transformers
    from transformers import T5EncoderModel

    v = from_transformer(t5_dir, ["cat", "dog"], mode="contextless")
    assert v.metadata["stack"] == "encoder"
    encoder = T5EncoderModel.from_pretrained(str(t5_dir)).eval()
    for word in v.words:
        np.testing.assert_allclose(v[word], _encoder_forward(encoder, t5_dir, word), atol=1e-5)


def test_a_saved_t5_encoder_model_reads_as_its_encoder(t5_dir, tmp_path):  # noqa: F811
    # its config says is_encoder_decoder: false, yet AutoModel makes a T5Model of it
    from transformers import T5EncoderModel

    encoder = T5EncoderModel.from_pretrained(str(t5_dir)).eval()
    folder = _with_model(t5_dir, tmp_path / "t5enc", encoder)
    v = from_transformer(folder, ["cat", "dog"], mode="contextless")
    assert v.metadata["stack"] == "encoder"
    for word in v.words:
        np.testing.assert_allclose(v[word], _encoder_forward(encoder, t5_dir, word), atol=1e-5)


def test_bart_vectors_are_the_encoders_not_the_decoders(bert_dir, tmp_path):  # noqa: F811
    # BartModel's last_hidden_state is the decoder's (of the shifted input): those were
    # the vectors, silently
    import torch
    from transformers import BartConfig, BartModel

    torch.manual_seed(4)
    config = BartConfig(
        vocab_size=25, d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
        max_position_embeddings=64, pad_token_id=0, bos_token_id=2, eos_token_id=3,
        decoder_start_token_id=3, forced_eos_token_id=3,
    )  # fmt: skip
    model = BartModel(config).eval()
    folder = _with_model(bert_dir, tmp_path / "bart", model)
    v = from_transformer(folder, WORDS, mode="contextless")
    assert v.metadata["stack"] == "encoder"
    for word in WORDS:
        want = _encoder_forward(model.get_encoder(), bert_dir, word)
        np.testing.assert_allclose(v[word], want, atol=1e-5)
    assert "stack" not in from_transformer(bert_dir, WORDS, mode="contextless").metadata


@pytest.mark.parametrize("mode", ["contextless", "corpus"])
def test_a_funnel_transformer_is_not_read_as_an_encoder_decoder(bert_dir, tmp_path, mode):  # noqa: F811
    # its `decoder` (the upsampling stack) made it an encoder-decoder: "'FunnelEncoder'
    # object has no attribute 'get_input_embeddings'"
    import torch
    from transformers import FunnelConfig, FunnelModel

    torch.manual_seed(5)
    config = FunnelConfig(
        vocab_size=25, d_model=16, n_head=2, d_head=8, d_inner=32, block_sizes=[1, 1],
        num_decoder_layers=1, max_position_embeddings=64,
    )  # fmt: skip
    model = FunnelModel(config).eval()
    folder = _with_model(bert_dir, tmp_path / "funnel", model)
    # one word a batch: a Funnel's pooling mixes padding positions into a padded batch
    v = from_transformer(folder, WORDS, mode=mode, corpus=["a dog ran home"], batch_size=1)
    assert "stack" not in v.metadata
    assert v.matrix.shape == (3, 16)
    if mode == "contextless":
        for word in WORDS:
            np.testing.assert_allclose(v[word], _encoder_forward(model, bert_dir, word), atol=1e-5)


def _roberta(bert_dir: Path, path: Path, rows: int) -> Path:  # noqa: F811
    import torch
    from transformers import RobertaConfig, RobertaModel

    torch.manual_seed(5)
    config = RobertaConfig(
        vocab_size=25, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=rows, pad_token_id=0,
    )  # fmt: skip
    return _with_model(bert_dir, path, RobertaModel(config))


def test_position_limit_leaves_out_robertas_padding_offset():
    from transformers import BertConfig, RobertaConfig, XLMRobertaConfig

    assert position_limit(RobertaConfig(max_position_embeddings=514, pad_token_id=1)) == 512
    assert position_limit(XLMRobertaConfig(max_position_embeddings=130, pad_token_id=1)) == 128
    assert position_limit(BertConfig(max_position_embeddings=512, pad_token_id=0)) == 512


def test_a_roberta_without_model_max_length_reads_long_contexts(bert_dir, tmp_path):  # noqa: F811
    # the tokenizer states no model_max_length (1e30): a 20-row table was taken for 20
    # tokens, and position pad + 20 reached an IndexError
    from transformers import AutoTokenizer

    folder = _roberta(bert_dir, tmp_path / "roberta", rows=20)
    assert AutoTokenizer.from_pretrained(str(folder)).model_max_length > 10**6
    line = " ".join(["the cat sat on the mat"] * 6)
    v = from_transformer(folder, ["cat", "dog"], mode="corpus", corpus=[line])
    assert v.metadata["corpus_words"] == 1 and v.matrix.shape == (2, 16)


def test_input_mode_finds_modernberts_table(bert_dir, tmp_path):  # noqa: F811
    # refused: "cannot find the input-embedding tensor for model_type 'modernbert'; tensors
    # seen: embeddings.tok_embeddings.weight, ..."
    import torch
    from safetensors import safe_open
    from transformers import AutoTokenizer, ModernBertConfig, ModernBertModel

    torch.manual_seed(6)
    config = ModernBertConfig(
        vocab_size=25, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=64, pad_token_id=0, cls_token_id=2,
        sep_token_id=3, bos_token_id=2, eos_token_id=3,
    )  # fmt: skip
    folder = _with_model(bert_dir, tmp_path / "modernbert", ModernBertModel(config))
    v = from_transformer(folder, ["cat", "dog"], mode="input")
    with safe_open(folder / "model.safetensors", framework="np") as fh:
        table = fh.get_tensor("embeddings.tok_embeddings.weight")
    cat = AutoTokenizer.from_pretrained(str(folder)).get_vocab()["cat"]
    np.testing.assert_array_equal(v["cat"], table[cat])


def test_an_unknown_table_name_suggests_contextless(tmp_path):
    from vecgraft.errors import FormatError
    from vecgraft.io.hf_checkpoint import find_embedding_name

    with pytest.raises(FormatError, match=r"tensors seen: odd\.weight; --mode contextless"):
        find_embedding_name(["odd.weight"], "newfamily", path=tmp_path)


def _depths(model: Any) -> dict[str, int]:
    from vecgraft.finetune.hf_family import HFClassifier

    return HFClassifier(model).parameter_depths()[0]


def test_layer_decay_puts_t5_and_bart_embeddings_at_depth_0(t5_dir):  # noqa: F811
    # `shared.weight` (T5, BART) and BART's embed_positions / layernorm_embedding got the top
    # depth, so --layer-decay trained the input embeddings at the head's rate
    from transformers import (
        BartConfig,
        BartForSequenceClassification,
        T5ForSequenceClassification,
    )

    t5 = _depths(T5ForSequenceClassification.from_pretrained(str(t5_dir), num_labels=2))
    assert t5["transformer.shared.weight"] == 0
    assert t5["transformer.encoder.block.0.layer.0.SelfAttention.q.weight"] == 1
    config = BartConfig(
        vocab_size=25, d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
        max_position_embeddings=64, num_labels=2,
    )  # fmt: skip
    bart = _depths(BartForSequenceClassification(config))
    for name in (
        "model.shared.weight",
        "model.encoder.embed_positions.weight",
        "model.decoder.embed_positions.weight",
        "model.encoder.layernorm_embedding.weight",
    ):
        assert bart[name] == 0, name
    assert bart["classification_head.dense.weight"] == 2


def test_finetune_warns_when_weights_beyond_the_head_start_random(t5_dir, tmp_path):  # noqa: F811
    # a T5EncoderModel save became T5ForSequenceClassification with a random decoder, and
    # nothing said so
    from transformers import T5EncoderModel

    from vecgraft.finetune.hf_family import load_hf_classifier

    folder = _with_model(t5_dir, tmp_path / "t5enc", T5EncoderModel.from_pretrained(str(t5_dir)))
    lines: list[str] = []
    load_hf_classifier(folder, 2, ["neg", "pos"], log=lines.append)
    (line,) = [x for x in lines if x.startswith("WARNING")]
    assert "weights of the model outside its classification head are not in" in line
    assert "start random (e.g. transformer.decoder." in line
    whole: list[str] = []
    load_hf_classifier(t5_dir, 2, ["neg", "pos"], log=whole.append)
    assert not [x for x in whole if x.startswith("WARNING")]


def test_graft_keeps_a_t5_v11_untied_lm_head(t5_dir, tmp_path):  # noqa: F811
    # transformers 5's T5Config says tie_word_embeddings=True whatever config.json says, and
    # resize_token_embeddings tied the trained lm_head to the input table: its rows were
    # lost and the report said "tied"
    import json

    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    from vecgraft.text import Texts
    from vecgraft.transformer.graft import graft_vocab, save_grafted

    config = T5Config.from_pretrained(str(t5_dir))
    config.tie_word_embeddings, config.feed_forward_proj = False, "gated-gelu"
    torch.manual_seed(7)
    model = T5ForConditionalGeneration(config)
    folder = _with_model(t5_dir, tmp_path / "t5v11", model)
    head = model.lm_head.weight.detach().clone()
    rows = head.shape[0]
    texts = ["unbelievable cats play", "the unbelievable dog", "unbelievable"] * 3
    result = graft_vocab(folder, Texts(texts), add_tokens=["unbelievable"], init="subwords")
    assert result.report.tied is False
    out = save_grafted(result, tmp_path / "grafted")
    assert json.loads((out / "config.json").read_text())["tie_word_embeddings"] is False
    again = T5ForConditionalGeneration.from_pretrained(str(out)).eval()
    assert again.lm_head.weight.data_ptr() != again.shared.weight.data_ptr()
    torch.testing.assert_close(again.lm_head.weight[:rows], head, rtol=0, atol=0)
    (entry,) = result.report.new_tokens
    pieces = result.tokenizer.convert_tokens_to_ids(entry.pieces)
    torch.testing.assert_close(again.lm_head.weight[entry.id], head[pieces].mean(0))


def test_finetune_caps_a_robertas_max_length_below_its_padding_offset(bert_dir, tmp_path):  # noqa: F811
    # "max_length 200 -> 20" then an IndexError at the first long batch: the same limit as
    # from_transformer's (position_limit)
    from vecgraft.finetune.hf_family import _max_length, load_hf_classifier
    from vecgraft.transformer.tokens import load_tokenizer

    folder = _roberta(bert_dir, tmp_path / "roberta", rows=20)
    hf = load_hf_classifier(folder, 2)
    lines: list[str] = []
    assert _max_length(200, hf, load_tokenizer(folder), lines.append, folder) == 19
    assert lines == ["max_length 200 -> 19: the model takes at most 19 tokens"]
