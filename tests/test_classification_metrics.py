import json
import re

import numpy as np
import pytest
from sklearn.metrics import f1_score

from vecgraft.errors import ConfigError, DataError
from vecgraft.finetune.metrics import ClassificationMetrics, classification_metrics
from vecgraft.finetune.plots import plot_confusion, plot_history

Y_TRUE = [0, 0, 0, 1, 1, 2]
Y_PRED = [0, 0, 1, 1, 2, 2]
NAMES = ["a", "b", "c", "d"]  # "d" occurs nowhere


@pytest.fixture(scope="module")
def metrics() -> ClassificationMetrics:
    return classification_metrics(Y_TRUE, Y_PRED, NAMES)


def test_metrics_equal_hand_computed_values(metrics):
    approx = pytest.approx
    assert metrics.accuracy == approx(4 / 6)
    assert metrics.per_class["a"] == approx(
        {"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3}
    )
    assert metrics.per_class["b"] == approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    )
    assert metrics.per_class["c"] == approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    )
    assert "d" not in metrics.per_class  # neither a gold label nor predicted: not a row
    # macro over the classes that occur (a, b, c), as scikit-learn's default does
    assert metrics.macro_precision == approx(2 / 3)
    assert metrics.macro_recall == approx(13 / 18)
    assert metrics.macro_f1 == approx(59 / 90)
    assert metrics.macro_f1 == approx(f1_score(Y_TRUE, Y_PRED, average="macro"))
    assert metrics.weighted_f1 == approx(61 / 90)
    assert metrics.confusion == [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    assert metrics.support == 6 and metrics.label_names == NAMES


def test_averages_equal_scikit_learns_classification_report(metrics):
    # the report's weighted avg row has precision and recall too; metrics.json had only F1
    from sklearn.metrics import classification_report

    names = [NAMES[i] for i in Y_TRUE], [NAMES[i] for i in Y_PRED]
    report = classification_report(*names, output_dict=True, zero_division=0)
    got = metrics.to_dict()
    for avg in ("macro", "weighted"):
        for key in ("precision", "recall", "f1"):
            assert got[f"{avg}_{key}"] == pytest.approx(report[f"{avg} avg"][f"{key}-score"
                                                        if key == "f1" else key])  # fmt: skip
    assert got["accuracy"] == pytest.approx(report["accuracy"])
    weighted = next(line for line in metrics.format_table().splitlines() if "weighted" in line)
    assert weighted.split() == ["weighted", "avg", "0.750", "0.667", "0.678", "6"]


def test_never_predicted_class_scores_zero_without_warning(recwarn):
    m = classification_metrics([0, 1, 1], [1, 1, 1], ["x", "y"])
    assert m.per_class["x"]["precision"] == 0.0 and m.per_class["x"]["f1"] == 0.0
    assert not [w for w in recwarn if "zero" in str(w.message).lower()]


def test_to_dict_is_json_and_round_trips(metrics):
    obj = json.loads(json.dumps(metrics.to_dict()))
    assert obj["accuracy"] == pytest.approx(4 / 6)
    assert obj["labels"] == NAMES
    assert ClassificationMetrics.from_dict(obj) == metrics
    with pytest.raises(DataError, match="not a classification metrics dict"):
        ClassificationMetrics.from_dict({"accuracy": 1.0})


def test_format_table(metrics):
    table = metrics.format_table()
    lines = table.splitlines()
    assert lines[0].split() == ["precision", "recall", "f1", "support"]
    assert lines[1].split() == ["a", "1.000", "0.667", "0.800", "3"]
    assert any(line.split() == ["macro", "avg", "0.667", "0.722", "0.656", "6"] for line in lines)
    assert any(line.split() == ["accuracy", "0.667", "6"] for line in lines)
    assert any(line.split() == ["a", "2", "1", "0", "0"] for line in lines)  # confusion row
    assert "true \\ pred" in table


def test_format_table_leaves_out_the_classes_the_macro_average_leaves_out(metrics):
    # "d" was listed with 0.000 but is not in the macro average: the listed F1s averaged
    # 0.492, the row said 0.656; scikit-learn's classification_report has no such row
    lines = metrics.format_table().splitlines()
    assert not [line for line in lines if line.split()[:1] == ["d"] and "0.000" in line]
    assert ("not listed (as in scikit-learn's report): 'd', in neither the labels nor the "
            "predictions nor the macro avg") in lines  # fmt: skip
    assert any(line.split() == ["d", "0", "0", "0", "0"] for line in lines)  # confusion row
    full = classification_metrics([0, 1], [0, 0], ["x", "y"]).format_table()
    assert "not listed" not in full  # every class takes part: nothing to say


def test_per_class_rows_are_scikit_learns_classification_report_rows():
    """`evaluate` on a file with one class, of a run trained on two, printed a row for the
    other class (f1 0.000, support 0), then `macro avg 1.000`, which leaves that row out;
    metrics.json's per_class held it too. Both now have the report's rows."""
    from sklearn.metrics import classification_report

    m = classification_metrics([1, 1], [1, 1], ["0", "1"])
    report = classification_report(["1", "1"], ["1", "1"], output_dict=True, zero_division=0)
    rows = {k: v for k, v in report.items() if k not in ("accuracy", "macro avg", "weighted avg")}
    assert list(m.per_class) == list(rows) == ["1"]
    got = m.to_dict()
    assert got["per_class"] == {"1": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}}
    assert got["labels"] == ["0", "1"] and got["confusion"] == [[0, 0], [0, 2]]
    table = m.format_table().splitlines()
    assert table[1].split() == ["1", "1.000", "1.000", "1.000", "2"] and table[2] == ""
    assert ClassificationMetrics.from_dict(json.loads(json.dumps(got))) == m
    # a class predicted but never a gold label is a row (precision 0), as in the report
    m = classification_metrics([0, 0], [0, 1], ["a", "b", "c"])
    assert list(m.per_class) == ["a", "b"] and m.per_class["b"]["support"] == 0
    assert m.only_prediction() is None and m.absent_labels() == ["c"]


def test_a_saved_per_class_with_every_class_still_prints_the_report_rows(metrics):
    # metrics.json written before held a row for every class: "d" is still left out
    saved = metrics.to_dict()
    saved["per_class"]["d"] = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    lines = ClassificationMetrics.from_dict(saved).format_table().splitlines()
    assert lines[1:5] == metrics.format_table().splitlines()[1:5] and lines[4] == ""


def test_format_table_aligns_chinese_labels():
    """A CJK character takes two terminal columns: the numbers still line up under their headers."""
    from vecgraft._util.console import width

    m = classification_metrics([0, 0, 1, 1, 2], [0, 1, 1, 1, 2], ["正面", "负面", "neutral"])
    lines = m.format_table().splitlines()
    head, rows = lines[0], lines[1:4]
    assert {width(row) for row in rows} == {width(head)}  # support ends where its header does
    assert width(lines[lines.index("") + 1]) == width(head)  # macro avg row too
    confusion = lines[-4:]
    assert confusion[0].startswith("true \\ pred")

    def right_edges(line: str) -> list[int]:  # terminal column where each field ends
        return [width(line[: m.end()]) for m in re.finditer(r"\S+", line)]

    labels_end = right_edges(confusion[0])[-3:]
    for line in confusion[1:]:
        assert right_edges(line)[1:] == labels_end, confusion


@pytest.mark.parametrize(
    ("y_true", "y_pred", "match"),
    [
        ([], [], "empty"),
        ([0, 1], [0], "2 class ids but y_pred has 1"),
        ([0, 4], [0, 1], "y_true holds class id 4 but there are 4 labels"),
        ([0, 1], [0, -1], "y_pred holds class id -1"),
    ],
)
def test_bad_inputs_raise_data_error(y_true, y_pred, match):
    with pytest.raises(DataError, match=match):
        classification_metrics(y_true, y_pred, NAMES)


def is_png(path) -> bool:
    data = path.read_bytes()
    return len(data) > 1000 and data.startswith(b"\x89PNG\r\n\x1a\n")


def test_plot_confusion_writes_png(metrics, tmp_path):
    out = plot_confusion(metrics, tmp_path / "sub" / "confusion.png")
    assert out == tmp_path / "sub" / "confusion.png" and is_png(out)
    norm = plot_confusion(metrics, tmp_path / "norm.png", normalize=True, title="t")
    assert is_png(norm)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_the_confusion_colour_bar_says_what_it_counts(metrics, tmp_path, monkeypatch):
    # the bar had no label: counts of texts, or with normalize the share of a row
    from vecgraft.finetune import plots

    drawn = []
    monkeypatch.setattr(plots, "save_png", lambda fig, path: drawn.append(fig) or path)
    plot_confusion(metrics, tmp_path / "c.png")
    plot_confusion(metrics, tmp_path / "n.png", normalize=True)
    assert [fig.axes[1].get_ylabel() for fig in drawn] == [
        "texts", "share of the true label's texts"]  # fmt: skip
    assert drawn[0].axes[0].get_title() == plots.confusion_title(metrics)
    assert plots.confusion_title(metrics, "test", "cnn network") == (
        f"test: accuracy {metrics.accuracy:.3f}, macro F1 {metrics.macro_f1:.3f}\ncnn network")


def test_plot_history_writes_png(tmp_path):
    history = [
        {
            "epoch": 1,
            "train_loss": 1.2,
            "train_accuracy": 0.5,
            "valid_loss": 1.0,
            "valid_accuracy": 0.6,
        },
        {
            "epoch": 2,
            "train_loss": 0.8,
            "train_accuracy": 0.7,
            "valid_loss": 0.9,
            "valid_accuracy": 0.65,
        },
        {"epoch": 3, "train_loss": 0.5, "train_accuracy": 0.8},  # no validation this epoch
    ]
    out = plot_history(history, tmp_path / "history.png", title="run")
    assert is_png(out)
    with pytest.raises(ConfigError, match="empty"):
        plot_history([], tmp_path / "empty.png")
    assert not (tmp_path / "empty.png").exists()


def test_a_regression_history_plots_its_validation_pearson(tmp_path, monkeypatch):
    # a regression's history has no accuracy: history.png's right panel was an empty frame
    from vecgraft.finetune import plots

    drawn = []
    monkeypatch.setattr(plots, "save_png", lambda fig, path: drawn.append(fig) or path)
    history = [{"epoch": e, "train_loss": 1.0 / e, "valid_loss": 1.2 / e, "valid_rmse": 1.1 / e,
                "valid_pearson": 0.2 * e} for e in (1, 2, 3)]  # fmt: skip
    plot_history(history, tmp_path / "history.png")
    loss, right = drawn[0].axes[:2]
    assert right.get_ylabel() == "Pearson r"
    assert [line.get_ydata() for line in right.get_lines()] == [pytest.approx([0.2, 0.4, 0.6])]
    assert len(loss.get_lines()) == 2


def test_the_history_accuracy_axis_is_ticked_in_percent(tmp_path, monkeypatch):
    # the console says "accuracy 80.0 %"; the plot's axis read 0.80 beside it
    from matplotlib.ticker import PercentFormatter

    from vecgraft.finetune import plots

    drawn = []
    monkeypatch.setattr(plots, "save_png", lambda fig, path: drawn.append(fig) or path)
    history = [{"epoch": e, "train_loss": 1.0 / e, "train_accuracy": 0.4 * e} for e in (1, 2)]
    plot_history(history, tmp_path / "history.png")
    loss, accuracy = drawn[0].axes[:2]
    assert isinstance(accuracy.yaxis.get_major_formatter(), PercentFormatter)
    label = accuracy.yaxis.get_major_formatter()(0.8)
    assert label.startswith("80") and label.endswith("%")
    assert not isinstance(loss.yaxis.get_major_formatter(), PercentFormatter)
    assert list(accuracy.get_lines()[0].get_ydata()) == [0.4, 0.8]  # the values stay fractions


def test_an_epoch_max_steps_cut_is_plotted_at_the_part_that_ran(tmp_path, monkeypatch):
    # history.json now ends with the cut epoch's row: 2 of 8 steps of epoch 2 sit at 1.25
    from vecgraft.finetune import plots

    drawn = []
    monkeypatch.setattr(plots, "save_png", lambda fig, path: drawn.append(fig) or path)
    history = [{"epoch": 1, "train_loss": 1.0},
               {"epoch": 2, "steps": 2, "steps_per_epoch": 8, "train_loss": 0.5}]  # fmt: skip
    plot_history(history, tmp_path / "history.png")
    assert list(drawn[0].axes[0].get_lines()[0].get_xdata()) == [1.0, 1.25]


def test_plotting_does_not_switch_the_global_backend(metrics, tmp_path):
    import matplotlib

    before = matplotlib.get_backend()
    plot_confusion(metrics, tmp_path / "c.png")
    assert matplotlib.get_backend() == before


def test_chinese_labels_get_a_cjk_font_or_one_warning(tmp_path, monkeypatch):
    import warnings

    from vecgraft._util import figures
    from vecgraft.finetune.metrics import classification_metrics
    from vecgraft.finetune.plots import plot_confusion

    metrics = classification_metrics([0, 0, 1, 1], [0, 1, 1, 1], ["负面", "正面"])
    monkeypatch.setattr(figures, "_CJK_INSTALLED", [])  # as on a machine without CJK fonts
    monkeypatch.setattr(figures, "_CJK_WARNED", False)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        plot_confusion(metrics, tmp_path / "zh.png")
        plot_confusion(metrics, tmp_path / "zh2.png")  # compare/tune: a plot per cell or trial
    # not the deprecations matplotlib 3.7 triggers in a newer pyparsing
    shown = [w for w in seen if not issubclass(w.category, DeprecationWarning)]
    assert [str(w.message) for w in shown] == [
        f"{tmp_path / 'zh.png'}: no CJK font is installed, so Chinese text in this plot "
        "and the next ones shows as boxes (install one, e.g. fonts-noto-cjk)"
    ]  # one line a process, not one per missing glyph nor one per plot
    fig = figures.new_figure(2, 2)
    label = fig.add_subplot().set_title("正面")
    monkeypatch.setattr(figures, "_CJK_INSTALLED", ["Fake CJK Sans"])
    assert figures._use_cjk_font(fig)  # the fallback is added where a font exists
    assert label.get_fontfamily()[-1] == "Fake CJK Sans"
    english = figures.new_figure(2, 2)
    plain = english.add_subplot().set_title("positive")
    assert figures._use_cjk_font(english) and "Fake CJK Sans" not in plain.get_fontfamily()


def test_a_model_that_predicts_one_class_is_named():
    # 95/5 labels, every row predicted the majority: the majority baseline's accuracy, and
    # nothing said so
    gold = [0] * 19 + [1]
    one = classification_metrics(gold, [0] * 20, ["neg", "pos"])
    assert one.accuracy == 0.95 and one.only_prediction() == "neg"
    assert classification_metrics(gold, [0] * 19 + [1], ["neg", "pos"]).only_prediction() is None
    # one gold class: predicting it alone is right, not a warning
    assert classification_metrics([0, 0], [0, 0], ["neg", "pos"]).only_prediction() is None


def test_labels_with_control_characters_plot_escaped_without_a_glyph_warning(
    tmp_path, monkeypatch, recwarn
):
    # a tab in a label printed matplotlib's "Glyph 9 (\t) missing from font(s) DejaVu Sans"
    # and drew a box; the plot shows the label as the terminal does, `bad\tfilm`
    import numpy as np

    from vecgraft.evaluate.wordmap import plot_word_map
    from vecgraft.finetune import plots

    figures = []

    def kept(fig, path):
        figures.append(fig)
        return save_png(fig, path)

    save_png = plots.save_png
    monkeypatch.setattr(plots, "save_png", kept)
    tabbed = classification_metrics([0, 1, 2], [0, 1, 1], ["bad\tfilm", "good\x1b", "ok"])
    plot_confusion(tabbed, tmp_path / "confusion.png")
    ax = figures[0].axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["bad\\tfilm", "good\\x1b", "ok"]
    rng = np.random.default_rng(0)
    vectors = {w: rng.normal(size=4) for w in ["a\tb", "c", "d"]}
    plot_word_map(vectors, list(vectors), tmp_path / "map.png")
    assert [str(w.message) for w in recwarn] == []


def test_metrics_refuse_logits_and_fractional_ids():
    """A 2-D y_pred was flattened (accuracy 0.5 from logits), 1.7 was cut to 1 (accuracy 1.0)."""
    import numpy as np
    import torch

    logits = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    with pytest.raises(DataError, match=r"y_pred must be a 1-D .*shape \(2, 2\).*argmax"):
        classification_metrics([0, 1, 1, 0], logits, ["n", "p"])
    with pytest.raises(DataError, match=r"y_pred holds 0\.9, not a class id .*argmax"):
        classification_metrics([0, 1], [0.9, 1.7], ["n", "p"])
    with pytest.raises(DataError, match=r"y_true has 3 class ids but y_pred has 2"):
        classification_metrics([0, 1, 1], [0, 1], ["n", "p"])
    # what it takes: tensors (with grad), arrays, integer-valued floats
    ok = classification_metrics(
        torch.tensor([0, 1]), logits.requires_grad_().argmax(-1), ["n", "p"]
    )
    assert ok.accuracy == 1.0
    assert classification_metrics(np.array([0.0, 1.0]), [0, 0], ["n", "p"]).accuracy == 0.5


def test_metrics_take_label_names_from_label_names():
    """Names raised `ValueError: invalid literal for int()`; each maps to its index."""
    m = classification_metrics(["a", "b"], ["a", "a"], ["a", "b"])
    assert m.accuracy == 0.5 and m.confusion == [[1, 0], [1, 0]]
    # a digit string is a name too: "1" is label_names[0] here, not id 1
    assert classification_metrics(["1"], ["1"], ["1", "0"]).confusion == [[1, 0], [0, 0]]
    with pytest.raises(DataError, match=r"y_pred\[1\] is 'c', which is neither a class id"):
        classification_metrics(["a", "b"], ["a", "c"], ["a", "b"])


def test_integers_of_an_object_array_are_ids():
    """A pandas object column of ids gave "y_true[0] is 0, which is neither a class id nor
    one of label_names": its integers (numpy's too) and bools are ids, as in an int array."""
    true = np.array([0, 1, 1, 0], dtype=object)
    assert classification_metrics(true, [0, 1, 0, 0], ["n", "p"]).accuracy == 0.75
    pred = np.array([np.int64(0), np.int32(1), True, False], dtype=object)
    assert classification_metrics(true, pred, ["n", "p"]).confusion == [[2, 0], [0, 2]]
    mixed = np.array(["p", 0], dtype=object)  # names and ids each read as such
    assert classification_metrics(mixed, [1, 0], ["n", "p"]).accuracy == 1.0
    with pytest.raises(DataError, match=r"y_true\[1\] is 0.5, not a class id \(an integer\)"):
        classification_metrics(np.array([0, 0.5], dtype=object), [0, 0], ["n", "p"])


def test_integer_valued_floats_of_an_object_array_are_ids():
    """float64 [0., 1.] was scored while the same values in an object array were refused
    ("neither a class id nor one of label_names"); NaN names its position."""
    true = np.array([0, 1.0, np.float64(1.0), 0.0], dtype=object)
    pred = np.array([0.0, 1.0, 0.0, 0.0])
    m = classification_metrics(true, pred, ["n", "p"])
    assert (m.accuracy, m.confusion) == (0.75, [[2, 0], [1, 1]])
    mixed = np.array(["p", 0.0], dtype=object)
    assert classification_metrics(mixed, [1, 0], ["n", "p"]).accuracy == 1.0
    with pytest.raises(DataError, match=r"y_pred\[2\] is nan, not a class id \(an integer\)"):
        nan = np.array([0, 1.0, float("nan")], dtype=object)
        classification_metrics([0, 1, 0], nan, ["n", "p"])
    with pytest.raises(DataError, match=r"y_true\[0\] is inf, not a class id"):
        classification_metrics(np.array([float("inf")], dtype=object), [0], ["n", "p"])


@pytest.mark.parametrize(
    ("pred", "shown"),
    [
        (np.array([0, 1, 1e19], dtype=object), "1e+19"),
        (np.array([0, 1, 10**30], dtype=object), "1000000000000000000000000000000"),
        (np.array([0, 1, 1e300]), "1e+300"),
        (np.array([0, 1, np.inf]), "inf"),
    ],
)
def test_a_number_beyond_int64_is_a_data_error_naming_its_position(pred, shown):
    # an object array's 1e19 raised a bare OverflowError; a float array's 1e300 or inf was
    # cast to -9223372036854775808 ("holds class id -9223372036854775808")
    with pytest.raises(DataError) as caught:
        classification_metrics([0, 1, 1], pred, ["n", "p"])
    assert str(caught.value) == f"y_pred[2] is {shown}, not a class id of the 2 labels (0 to 1)"


@pytest.mark.parametrize("missing", [float("nan"), None])
def test_a_missing_label_name_is_called_missing(missing):
    # NaN among names said "not a class id (an integer); for probabilities pass their argmax"
    true = np.array(["n", "p", missing], dtype=object)
    with pytest.raises(DataError) as caught:
        classification_metrics(true, ["n", "p", "p"], ["n", "p"])
    assert str(caught.value) == (
        f"y_true[2] is {missing!r}, a missing label: not one of label_names ['n', 'p']; "
        "drop or fill the row"
    )


def test_label_names_as_one_string_are_refused():
    """classification_metrics([0, 1], [0, 1], "ab") scored labels 'a' and 'b'."""
    with pytest.raises(DataError, match=r"^label_names must be a list of names, not one string "
                       r"'ab'; for one label pass \['ab'\]$"):
        classification_metrics([0, 1], [0, 1], "ab")


def test_confusion_heads_are_whole_labels_padded_to_terminal_columns():
    # heads were cut to 8 characters ("rare cla", "très bie", "only in ")
    m = classification_metrics([0, 1, 2, 3, 4, 4], [0, 1, 2, 3, 2, 2],
                               ["bad stuff", "rare class", "très bien", "好评", "only in test"],
                               predictable=4)  # fmt: skip
    assert m.format_confusion().splitlines() == [
        "true \\ pred   bad stuff  rare class  très bien  好评  only in test",
        "bad stuff             1           0          0     0             0",
        "rare class            0           1          0     0             0",
        "très bien             0           0          1     0             0",
        "好评                  0           0          0     1             0",
        "only in test          0           0          2     0             0",
    ]


def test_a_confusion_matrix_too_wide_for_its_labels_numbers_the_columns():
    names = [f"a label of many words, number {i}" for i in range(4)] + ["好评"]
    m = classification_metrics([0, 1, 2, 3, 4, 4], [0, 1, 2, 3, 4, 0], names)
    assert m.format_confusion().splitlines() == [
        "true \\ pred                        1  2  3  4  5",
        "1 a label of many words, number 0  1  0  0  0  0",
        "2 a label of many words, number 1  0  1  0  0  0",
        "3 a label of many words, number 2  0  0  1  0  0",
        "4 a label of many words, number 3  0  0  0  1  0",
        "5 好评                             1  0  0  0  1",
        "(columns: the predicted labels, numbered as the rows)",
    ]


def test_word_map_labels_of_close_words_do_not_overlap(tmp_path, monkeypatch):
    # "woman" was written over "man": each label takes a spot no earlier label covers
    import numpy as np

    from vecgraft.evaluate import wordmap

    drawn = []
    monkeypatch.setattr(wordmap, "save_png", lambda fig, path: drawn.append(fig) or path)
    vectors = {"king": np.array([1.0, 0.0, 0.0]), "queen": np.array([0.0, 1.0, 0.0]),
               "man": np.array([0.0, 0.0, 1.0]), "woman": np.array([0.0, 0.001, 1.0]),
               "boy": np.array([0.001, 0.0, 1.0])}  # fmt: skip
    wordmap.plot_word_map(vectors, list(vectors), tmp_path / "map.png")
    fig = drawn[0]
    renderer = fig.canvas.get_renderer()
    texts = [t for t in fig.axes[0].texts]
    assert sorted(t.get_text() for t in texts) == sorted(vectors)
    boxes = [t.get_window_extent(renderer) for t in texts]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_a_word_maps_label_is_not_written_over_another_words_point():
    # a label nudged off another label could sit on a third word's point; here b's point
    # is where a's first spot (up right) would put a's label
    from vecgraft._util.figures import new_figure
    from vecgraft.evaluate import wordmap

    fig = new_figure(8, 6)
    ax = fig.add_subplot(1, 1, 1)
    xy = [[0.0, 0.0], [3.0, 1.5], [60.0, 60.0]]
    ax.scatter([p[0] for p in xy], [p[1] for p in xy], s=12)
    ax.set_xlim(-10, 100)
    ax.set_ylim(-10, 100)
    wordmap._place_labels(fig, ax, xy, ["aaaaaaaa", "b", "c"])
    renderer = fig.canvas.get_renderer()
    boxes = {t.get_text(): t.get_window_extent(renderer) for t in ax.texts}
    points = ax.transData.transform(xy)
    assert not boxes["aaaaaaaa"].contains(*points[1])


def test_a_word_map_of_many_words_puts_every_label_up_right(tmp_path, monkeypatch):
    # finding a free spot for each of 1000 labels took 25 s (6.8 s up right)
    import numpy as np

    from vecgraft.evaluate import wordmap

    drawn = []
    monkeypatch.setattr(wordmap, "save_png", lambda fig, path: drawn.append(fig) or path)
    monkeypatch.setattr(wordmap, "PLACED_LABELS_CAP", 3)
    vectors = {"king": np.array([1.0, 0.0, 0.0]), "queen": np.array([0.0, 1.0, 0.0]),
               "man": np.array([0.0, 0.0, 1.0]), "woman": np.array([0.0, 0.001, 1.0])}
    wordmap.plot_word_map(vectors, list(vectors), tmp_path / "map.png")
    assert [t.xyann for t in drawn[0].axes[0].texts] == [(3, 3)] * 4
