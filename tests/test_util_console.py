"""`vecgraft._util.console`: where progress shows as a tqdm bar, where as plain lines."""

from __future__ import annotations

import sys
import types

import pytest
from tqdm.std import tqdm as std_tqdm

from vecgraft._util import console
from vecgraft._util.console import Progress, plain_progress_lines, tqdm_draws_widgets

KERNELS = ("ipykernel.zmqshell", "IPython.utils._process_emscripten")


def _kernel(monkeypatch: pytest.MonkeyPatch, *, widgets: bool) -> None:
    """A Jupyter kernel loaded; `tqdm.auto` resolved to the notebook class where `widgets`."""

    class NotebookTqdm:
        pass

    class AutoTqdm(NotebookTqdm if widgets else object):  # type: ignore[misc]
        pass

    notebook, auto = types.ModuleType("tqdm.notebook"), types.ModuleType("tqdm.auto")
    notebook.tqdm = NotebookTqdm  # type: ignore[attr-defined]
    auto.tqdm = AutoTqdm  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ipykernel.zmqshell", types.ModuleType("ipykernel.zmqshell"))
    monkeypatch.setitem(sys.modules, "tqdm.notebook", notebook)
    monkeypatch.setitem(sys.modules, "tqdm.auto", auto)


def test_widgets_are_drawn_where_tqdm_auto_chose_its_notebook_class(monkeypatch):
    # in Jupyter stderr is no terminal: loads, token counts and forward passes printed
    # plain lines where tqdm's widget used to show
    monkeypatch.setattr(console, "is_terminal", lambda stream=None: False)  # a notebook's
    for name in KERNELS:
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert tqdm_draws_widgets() is False  # no kernel: the console class
    _kernel(monkeypatch, widgets=True)
    assert tqdm_draws_widgets() is True
    assert plain_progress_lines(None) is False
    _kernel(monkeypatch, widgets=False)  # qtconsole, Spyder, no ipywidgets: console class
    assert tqdm_draws_widgets() is False
    assert plain_progress_lines(None) is True
    assert plain_progress_lines(True) is plain_progress_lines(False) is False


@pytest.mark.parametrize("widgets", [True, False])
def test_a_notebook_keeps_the_bar_of_a_load_and_a_token_count(widgets, monkeypatch):
    from vecgraft.io._rows import progress_bar
    from vecgraft.io.base import LoadOptions
    from vecgraft.text.vocab_build import _counting_bar

    monkeypatch.setattr(console, "is_terminal", lambda stream=None: False)
    monkeypatch.setattr(console, "tqdm_draws_widgets", lambda: widgets)
    load = progress_bar(LoadOptions(), 10, "reading x.txt")
    _, count = _counting_bar(["a b"], None)
    for shown in (load, count):
        assert isinstance(shown, std_tqdm if widgets else Progress)
        shown.close()


def test_progress_meter_forms(monkeypatch):
    # one rule for loads, token counts and forward passes: lines in a log, a bar (or a
    # disabled one) otherwise, tqdm options reaching the bar only
    monkeypatch.setattr(console, "is_terminal", lambda stream=None: False)
    monkeypatch.setattr(console, "tqdm_draws_widgets", lambda: False)
    lines = console.progress_meter(None, 5, "forward", interval=30.0, lines_desc="forward (seqs)")
    assert isinstance(lines, Progress)
    assert (lines.desc, lines.total, lines.interval) == ("forward (seqs)", 5, 30.0)
    assert lines.enabled is True
    quiet = console.progress_meter(None, 5, "reading", interval=30.0, disable=True)
    assert isinstance(quiet, Progress) and quiet.enabled is False
    bar = console.progress_meter(True, 5, "reading", interval=30.0, in_bytes=True, leave=False)
    assert isinstance(bar, std_tqdm)
    assert (bar.disable, bar.unit, bar.unit_scale, bar.leave) == (False, "B", True, False)
    bar.close()
    off = console.progress_meter(False, 5, "reading", interval=30.0)
    assert isinstance(off, std_tqdm) and off.disable is True


@pytest.mark.filterwarnings("ignore:word2vec trained on")  # a tiny corpus: barely trained
@pytest.mark.parametrize("widgets", [True, False])
def test_pretrain_epochs_show_as_a_notebooks_widget_not_lines(
    widgets, monkeypatch, tmp_path, capsys
):
    import vecgraft
    from vecgraft.pretrain import PretrainConfig

    # Progress chose a bar on a terminal only: in Jupyter (stderr no terminal) pretrain
    # wrote a plain line per epoch where tqdm draws its widget
    monkeypatch.setattr(console, "is_terminal", lambda stream=None: False)
    monkeypatch.setattr(console, "tqdm_draws_widgets", lambda: widgets)
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 20, encoding="utf-8")
    for method in ("glove", "word2vec"):
        config = PretrainConfig(corpus=str(corpus), method=method, dim=4, min_count=1,
                                epochs=2, workers=1, out=str(tmp_path / method))  # fmt: skip
        vecgraft.pretrain(config)
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.startswith(f"{method} epoch 2/2 (")]
        assert len(lines) == (0 if widgets else 1), err
        assert (f"{method} epoch" in err) is True  # the bar (a console one in this test)
    shown = Progress(2, "tune trial")  # the same rule for every Progress on stderr
    assert shown.drawn is widgets
    shown.close()


def test_a_heartbeat_beats_while_its_block_runs_and_never_after() -> None:
    import threading
    import time

    from vecgraft._util.console import heartbeat

    beats: list[str] = []
    with heartbeat(lambda: beats.append(threading.current_thread().name), 0.01):
        time.sleep(0.2)
    heard = len(beats)
    time.sleep(0.05)
    assert heard >= 2 and len(beats) == heard  # joined before the block's end returned
    assert set(beats) == {"vecgraft-heartbeat"}  # from its own thread
    with heartbeat(lambda: beats.append("never"), None):  # None: no thread, no beat
        time.sleep(0.05)
    assert len(beats) == heard

    def failing() -> None:  # a log that fails stops the beats, not the block
        beats.append("failed")
        raise OSError("closed")

    with pytest.raises(ValueError, match="the block's own"), heartbeat(failing, 0.01):
        time.sleep(0.1)
        raise ValueError("the block's own error")
    assert beats.count("failed") == 1
