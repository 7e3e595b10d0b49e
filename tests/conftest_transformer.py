"""Tiny randomly initialised transformer checkpoints saved locally (nothing from a hub).

Import the fixtures into a test module (`from conftest_transformer import bert_dir, gpt2_dir`).
All are session-scoped: building them takes about a second.
"""

from __future__ import annotations

from pathlib import Path

import pytest

WORDPIECE = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "the", "cat", "dog", "sat", "on", "mat", "a", "play", "un", "##believ", "##able",
    "##s", "##ing", ".", ",", "!", "ran", "home", "big", "[unused0]",
]  # fmt: skip

BPE_TEXTS = [
    "the cat sat on the mat.",
    "a dog ran home, the dog sat.",
    "cats and dogs play in the big park!",
    "unbelievable things happen to the cat and the dog",
    "a naïve cat in a café",
] * 5


def _save_bert(path: Path, words: list[str] = WORDPIECE, hidden: int = 32) -> Path:
    """A randomly initialised BERT; `words` its WordPiece vocabulary, `hidden` its width."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    vocab = path / "vocab.txt"
    vocab.write_text("\n".join(words) + "\n", encoding="utf-8")
    # from a folder holding only vocab.txt, as an old WordPiece checkpoint ships it
    tok = BertTokenizerFast.from_pretrained(str(path), do_lower_case=True)
    tok.save_pretrained(path)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(words),
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).eval().save_pretrained(path)
    return path


def _save_gpt2(path: Path) -> Path:
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        BPE_TEXTS,
        vocab_size=400,
        min_frequency=2,
        special_tokens=["<|endoftext|>"],
        show_progress=False,
    )
    tok = GPT2TokenizerFast(
        tokenizer_object=bpe._tokenizer,
        eos_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    tok.save_pretrained(path)
    torch.manual_seed(1)
    eos = tok.eos_token_id
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=64,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=eos,
        eos_token_id=eos,
    )
    GPT2LMHeadModel(config).eval().save_pretrained(path)
    return path


def _save_t5(path: Path) -> Path:
    """A T5 with a SentencePiece-style Unigram tokenizer: `$A </s>`, pad 0, eos 1, unk 2."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    path.mkdir(parents=True, exist_ok=True)
    unigram = Tokenizer(models.Unigram())
    unigram.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(prepend_scheme="always")]
    )
    unigram.decoder = decoders.Metaspace(prepend_scheme="always")
    unigram.train_from_iterator(
        BPE_TEXTS,
        trainers.UnigramTrainer(
            vocab_size=120, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>",
            show_progress=False,
        ),
    )  # fmt: skip
    unigram.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=unigram, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    tok.save_pretrained(path)
    torch.manual_seed(2)
    config = T5Config(
        vocab_size=len(tok), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_decoder_layers=1,
        num_heads=2, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    )  # fmt: skip
    T5ForConditionalGeneration(config).eval().save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide BERT with a 25-token WordPiece vocabulary."""
    return _save_bert(tmp_path_factory.mktemp("bert"))


@pytest.fixture(scope="session")
def gpt2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide GPT-2 (LM head, tied weights) with a byte-level BPE tokenizer."""
    return _save_gpt2(tmp_path_factory.mktemp("gpt2"))


@pytest.fixture(scope="session")
def t5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1+1-layer, 16-wide T5 (tied shared/encoder/decoder embeddings), Unigram tokenizer."""
    return _save_t5(tmp_path_factory.mktemp("t5"))
