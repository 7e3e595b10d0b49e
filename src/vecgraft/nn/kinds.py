"""The classifier architectures by name, in a module that imports no torch.

`ModelKind` is re-exported by `vecgraft.nn.models` (the same class); it lives here so that
`FinetuneConfig` and the CLI's `--model` choices (`vecgraft finetune --help`) do not import
torch to name a model.

>>> ModelKind("cnn") is ModelKind.CNN
True
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ModelKind"]


class ModelKind(StrEnum):
    """Classifier architectures `build_model` knows."""

    BOE = "boe"
    CNN = "cnn"
    RNN = "rnn"
    TRANSFORMER = "transformer"
    SWEM = "swem"  # Shen et al. 2018: parameter-free pooling of word embeddings
    FASTTEXT = "fasttext"  # Joulin et al. 2017: bag of words + hashed word bigrams
    BILSTM = "bilstm"  # BiLSTM with max pooling (Conneau et al. 2017's InferSent encoder)
    LINEAR = "linear"  # TF-IDF n-grams + a linear model (vecgraft.finetune.linear), no embedding
    HF = "hf"  # a Hugging Face sequence classifier, built by vecgraft.finetune.hf_family
