"""benchmarks/textcls.py shares a split's fused linear fit between cells, keyed by its arguments."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_shared_linear_fits_are_keyed_by_the_tokenizer_configs_values(tmp_path, monkeypatch):
    # the config was keyed by its keys alone: a --halfwidth network's linear fit (its texts
    # normalised) was the one a plain network's cell of the same split had saved
    from vecgraft.finetune import fusion
    from vecgraft.text.tokenize import Tokenizer

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.setattr(fusion, "fit_linear_nested", fusion.fit_linear_nested)  # restored after
    monkeypatch.delitem(sys.modules, "textcls", raising=False)
    import textcls

    textcls.share_linear_fits(tmp_path)
    texts, valid = ["good fun", "bad dull", "fun", "dull"], ["ｆｕｎ", "ｄｕｌｌ"]
    targets = [1, 0] * 3
    plain = fusion.fit_linear_nested(texts, valid, targets, Tokenizer().config, False)
    wide = fusion.fit_linear_nested(texts, valid, targets, Tokenizer(halfwidth=True).config, False)
    again = fusion.fit_linear_nested(texts, valid, targets, Tokenizer().config, False)
    assert len(list(tmp_path.iterdir())) == 2  # two fits saved, the third loaded
    assert plain[1].config.normalization == {}
    assert wide[1].config.normalization == {"halfwidth": True}
    assert again[1].config.normalization == {}


def test_shared_linear_fits_take_a_runs_fit_progress_and_key_without_it(tmp_path, monkeypatch):
    # the recipe passes a FitProgress (where the fit's stage lines go) as the last argument:
    # the key read it as a list ("'FitProgress' object is not iterable") and every fused
    # benchmark cell stopped; it says nothing of the fit, so it is no part of the key
    from vecgraft.finetune import fusion
    from vecgraft.finetune.linear import FitProgress
    from vecgraft.text.tokenize import Tokenizer

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.setattr(fusion, "fit_linear_nested", fusion.fit_linear_nested)  # restored after
    monkeypatch.delitem(sys.modules, "textcls", raising=False)
    import textcls

    textcls.share_linear_fits(tmp_path)
    texts, valid, targets = ["good fun", "bad dull", "fun", "dull"], ["fun", "dull"], [1, 0] * 3
    config = Tokenizer().config
    said: list[str] = []
    fusion.fit_linear_nested(texts, valid, targets, config, False, None, None,
                             FitProgress(said.append))  # fmt: skip
    fusion.fit_linear_nested(texts, valid, targets, config, False, None, None, None)
    assert len(list(tmp_path.iterdir())) == 1  # one fit saved, the second loaded
