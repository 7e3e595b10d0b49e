"""Terminal output: printable words, East-Asian-width-aware columns, progress without a TTY.

Words come from user files, so they may hold control characters (a stray tab or escape code
would break a table or the terminal) and wide CJK characters (two columns each, which
`str.ljust` counts as one). Long jobs draw tqdm bars on a terminal; when stderr is a pipe or
a log file, tqdm's carriage-return redraws are useless, so one plain line per step is
written instead.
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
import time
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TextIO

# seconds between two plain "still working" lines of a long step: an epoch's batches where no
# bar is drawn (`finetune.train.EPOCH_NOTE_SECONDS`), a linear model's blocking fit
PROGRESS_NOTE_SECONDS = 60.0

# Unicode categories that would move the cursor or be invisible: controls, format characters
# (zero-width joiners, bidi overrides), surrogates, private use, unassigned.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """A warning as one `warning: ...` line on stderr, without the source file and line.

    The `vecgraft` command installs it as `warnings.showwarning` while it runs (and its
    `tune --jobs` workers with it); library use keeps Python's form. Python's
    (`.../plots.py:77: UserWarning: ...` and the source line under it) points a
    command-line user at vecgraft's code, not at what to do.
    """
    stream = sys.stderr if file is None else file
    # stderr closed or None (pythonw): the warning is dropped, as Python's own hook does
    with contextlib.suppress(OSError, AttributeError):
        stream.write(f"warning: {message}\n")


def cli_warnings() -> bool:
    """Whether this process shows warnings the `vecgraft` command's way (`show_warning`)."""
    return warnings.showwarning is show_warning


def printable(text: str) -> str:
    r"""`text` with every control/invisible character escaped as in a Python literal.

    >>> printable("ok\tword\x1b[31m")
    'ok\\tword\\x1b[31m'
    >>> printable("café 北京")
    'café 北京'
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch == " " or unicodedata.category(ch) not in _HIDDEN:
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])
    return "".join(out)


def word_list(words: Iterable[str]) -> str:
    r"""`words` joined with ", ", each quoted and escaped where it would not read as itself.

    A private-use or zero-width character printed as a blank ("such as , , 琌"), and a word
    holding a comma or a space split the list; those are shown as Python literals. Whether a
    word needs it is `printable`'s rule (one rule for every word shown), plus the list's
    separators: a comma or any space (an ideographic one too).

    >>> word_list(["bon", "\ue4c7", "a, b", "琌"])
    "bon, '\\ue4c7', 'a, b', 琌"
    """
    return ", ".join(w if _reads_as_itself_in_list(w) else repr(w) for w in words)


def _reads_as_itself_in_list(word: str) -> bool:
    """Whether `word` shows unchanged (`printable`) and cannot blur a ", "-separated list."""
    return bool(word) and printable(word) == word and not any(
        ch == "," or ch.isspace() for ch in word
    )


def width(text: str) -> int:
    """Terminal columns `text` takes: East Asian Wide/Fullwidth characters count 2, combining 0.

    >>> width("king"), width("北京"), width("ｋ"), width("é")
    (4, 4, 2, 1)
    """
    total = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        total += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return total


def ljust(text: str, columns: int) -> str:
    """`text` padded with spaces to `columns` terminal columns (never truncated).

    >>> ljust("北京", 6) + "|"
    '北京  |'
    """
    return text + " " * max(columns - width(text), 0)


def rjust(text: str, columns: int) -> str:
    """`text` right-aligned in `columns` terminal columns (never truncated).

    >>> "|" + rjust("北京", 6)
    '|  北京'
    """
    return " " * max(columns - width(text), 0) + text


def percent(share: float) -> str:
    """`share` as a whole percentage, with the decimals it needs not to read 0% or 100%.

    `f"{5 / 2000:.0%}"` said "0%" of 5 conflicting rows in 2,000: a share of something that
    is there gets the fewest decimals that show it, plus one (two significant digits). Up
    to nine decimals: a share within about 1e-11 of 0 or 1 (no count of rows a run reads
    gives one) still reads "0%" or "100%".

        >>> percent(5 / 2000), percent(0.1), percent(0), percent(1), percent(0.004)
        ('0.25%', '10%', '0%', '100%', '0.4%')
        >>> percent(0.99996), percent(1 / 3000)
        ('99.996%', '0.033%')
        >>> percent(1 - 1e-12), percent(1e-12)
        ('100%', '0%')
    """
    text = f"{share:.0%}"
    if not 0 < share < 1 or text not in ("0%", "100%"):
        return text
    digits = 1
    while f"{share:.{digits}%}" in (f"{0:.{digits}%}", f"{1:.{digits}%}") and digits < 8:
        digits += 1
    return f"{share:.{digits + 1}%}".rstrip("%").rstrip("0").rstrip(".") + "%"


def byte_size(n: float, *, si: bool = False) -> str:
    """Bytes for a message, in binary units ("1.5 GiB": memory) or, with `si`, decimal ones.

    Decimal ("800.0 MB") is how `ls -h --si` and disk makers count a file's size.

        >>> byte_size(1023), byte_size(1536), byte_size(800e6), byte_size(800e6, si=True)
        ('1023 bytes', '1.5 KiB', '762.9 MiB', '800.0 MB')
        >>> byte_size(2e15, si=True)
        '2,000.0 TB'
    """
    base, units = (1000, ("bytes", "KB", "MB", "GB", "TB")) if si else (
        1024, ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"))  # fmt: skip
    for unit in units:
        if unit == "bytes" and n < base:
            return f"{n:.0f} {unit}"
        if n < base:
            return f"{n:.1f} {unit}"
        if unit == units[-1]:  # past the largest unit: "1,234.5 TB"
            return f"{n:,.1f} {unit}"
        n /= base
    raise AssertionError("unreachable")  # pragma: no cover


def is_terminal(stream: IO[str] | None = None) -> bool:
    """Whether `stream` (default stderr) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


def tqdm_draws_widgets() -> bool:
    """Whether `tqdm.auto` draws notebook widgets here (a Jupyter kernel with ipywidgets).

    Why: in Jupyter stderr is no terminal, yet tqdm's widget shows progress there; plain
    lines must not replace it. The class `tqdm.auto` resolved to decides, so the rule
    stays tqdm's (`tqdm.autonotebook`: a kernel, not qtconsole or Spyder, and ipywidgets);
    with no kernel loaded it is the console class, and tqdm is not imported to say so.
    """
    kernels = ("ipykernel.zmqshell", "IPython.utils._process_emscripten")
    if not any(name in sys.modules for name in kernels):
        return False
    from tqdm.auto import tqdm

    notebook = sys.modules.get("tqdm.notebook")  # imported by tqdm.auto where it chose it
    return notebook is not None and issubclass(tqdm, notebook.tqdm)


def plain_progress_lines(progress: bool | None) -> bool:
    """Whether a long pass shows `progress` as plain lines on stderr rather than a tqdm bar.

    Only for None (the default) where stderr is neither a terminal nor a notebook's
    widget: there tqdm is silent (a pipe or log file), so a line every so often says how
    far it got. True and False keep tqdm's bar or nothing.
    """
    return progress is None and not is_terminal() and not tqdm_draws_widgets()


def progress_meter(
    progress: bool | None,
    total: int | None,
    desc: str,
    *,
    interval: float,
    lines_desc: str | None = None,
    unit: str = "it",
    in_bytes: bool = False,
    **tqdm_options: Any,
) -> Any:
    """A tqdm bar, or plain lines every `interval` seconds where tqdm would be silent.

    `progress` is the user's choice: True/False force the bar on/off; None shows one on a
    terminal or in a notebook, and plain `Progress` lines (`lines_desc`, default `desc`)
    where stderr is a pipe or log file (`plain_progress_lines`). Long reads, counts and
    forward passes all choose the same way, so they go through here. `tqdm_options` (e.g.
    `leave`, `unit_scale`, `disable` overriding `progress`) reach the bar only.
    """
    if plain_progress_lines(progress):
        return Progress(
            total, lines_desc or desc, enabled=tqdm_options.get("disable") is not True,
            bar=False, interval=interval, in_bytes=in_bytes,
        )  # fmt: skip
    from tqdm.auto import tqdm

    options: dict[str, Any] = {"disable": None if progress is None else not progress}
    # a `disable` of None overrides nothing: the default above is what it asks for
    options.update({k: v for k, v in tqdm_options.items() if k != "disable" or v is not None})
    if in_bytes:
        unit, options["unit_scale"] = "B", True
    return tqdm(total=total, desc=desc, unit=unit, **options)


def _bar_shows(stream: IO[str] | None) -> bool:
    """Whether a tqdm bar shows on `stream` (None: stderr): a terminal, or a notebook's widget.

    Why the widget: in Jupyter stderr is no terminal, so pretraining's epochs printed a plain
    line each where a widget shows them (the rule of `plain_progress_lines`).
    """
    return is_terminal(stream) or (stream is None and tqdm_draws_widgets())


class Progress:
    """A tqdm bar on a terminal or a notebook's widget, else one plain line per `update`.

    Args:
        total: number of steps (None: unknown).
        desc: what is counted, printed before each line ("glove epoch", "cell").
        enabled: True/False force it on/off; None: on (a bar on a terminal or in a
            notebook, lines elsewhere).
        stream: where to write (default stderr).
        bar: True/False force a bar / plain lines; None: a bar only on a terminal or as a
            notebook's widget (`tqdm_draws_widgets`; stderr only), as `progress_meter`'s.
        interval: plain lines only: at least this many seconds between two lines, for
            steps too many to log each (documents, bytes); `close` then writes the last
            count if a line is due. 0: a line per `update`.
        in_bytes: the steps are bytes: shown as "1.2 MB/4.9 MB (25%)", not "1200000/4900000".
        say: plain lines go to this callable instead of `stream` (a caller's `log=`: a
            library user's logger gets them, not stderr).
        elapsed_suffix: words after a plain line's elapsed time, where a step's own time is
            shown too ("3.2s, 12.6s in all": `tune`'s trials).
    """

    def __init__(
        self,
        total: int | None = None,
        desc: str = "",
        *,
        enabled: bool | None = None,
        stream: IO[str] | None = None,
        bar: bool | None = None,
        interval: float = 0.0,
        in_bytes: bool = False,
        say: Callable[[str], None] | None = None,
        elapsed_suffix: str = "",
    ) -> None:
        self.total = total
        self.elapsed_suffix = elapsed_suffix
        self.desc = desc
        self.count = 0
        self.enabled = enabled is not False
        self.interval = interval
        self.in_bytes = in_bytes
        self._stream = stream
        self._say = say
        self._start = time.perf_counter()
        self._logged = self._start  # when the last plain line was written
        self._unlogged = False  # steps counted since that line
        self._bar: Any = None
        self._postfix: dict[str, Any] = {}  # the last `update`'s, kept by `show`
        use_bar = _bar_shows(stream) if bar is None else bar
        if self.enabled and use_bar:
            from tqdm.auto import tqdm

            units: dict[str, Any] = {}
            if in_bytes:
                units = {"unit": "B", "unit_scale": True, "unit_divisor": 1000}
            self._bar = tqdm(total=total, desc=desc, file=stream, **units)

    def update(self, n: int = 1, **postfix: Any) -> None:
        """Advance `n` steps; `postfix` (e.g. loss=0.12) is shown on the bar or the line."""
        self.count += n
        if not self.enabled:
            return
        if self._bar is not None:
            self._postfix = postfix
            if postfix:
                self._bar.set_postfix(postfix, refresh=False)
            self._bar.update(n)
            return
        if self.interval:
            now = time.perf_counter()
            if now - self._logged < self.interval:
                self._unlogged = True
                return
            self._logged = now
        self._unlogged = False
        self.log(", ".join(f"{k} {v}" for k, v in postfix.items()))

    def begin(self, detail: str) -> None:
        """Say that step `count + 1` starts, as a plain line, but only when no bar is drawn.

        For steps long enough that silence looks like a hang (a 2-minute compare cell).
        """
        if self.enabled and self._bar is None:
            self.log(f"started: {detail}", step=self.count + 1)

    def show(self, **more: Any) -> None:
        """Redraw the bar, if one is drawn, with `more` after the last `update`'s postfix.

        For how far a long step got (a tune trial's epochs) between two updates.
        """
        if self._bar is not None:
            self._bar.set_postfix({**self._postfix, **more})

    @property
    def drawn(self) -> bool:
        """Whether a tqdm bar is drawn (else plain lines, or nothing when not enabled)."""
        return self._bar is not None

    def note(self, line: str) -> None:
        """Write `line` as it is, above the bar when one is drawn (nothing when not enabled).

        For what a step says besides its count (a tune trial's settings as it starts).
        """
        if not self.enabled:
            return
        if self._bar is not None:
            # tqdm.write's own default is stdout, not the bar's stderr
            self._bar.write(line, file=sys.stderr if self._stream is None else self._stream)
            return
        if self._say is not None:
            self._say(line)
            return
        print(line, file=sys.stderr if self._stream is None else self._stream, flush=True)

    def log(self, detail: str = "", *, step: int | None = None) -> None:
        """Write one plain progress line: `desc step/total (detail, elapsed)`."""
        if not self.enabled:
            return
        shown: int | str = self.count if step is None else step
        of = f"/{self.total}" if self.total is not None else ""
        share = ""
        if self.in_bytes:
            of = f"/{byte_size(self.total, si=True)}" if self.total is not None else ""
            if self.total:
                share = f"{min(self.count / self.total, 1.0):.0%}"
            shown = byte_size(self.count, si=True)
        elapsed = f"{time.perf_counter() - self._start:.1f}s{self.elapsed_suffix}"
        parts = [p for p in (detail, share, elapsed) if p]
        self.note(f"{self.desc} {shown}{of} ({', '.join(parts)})".lstrip())

    def close(self, *, last: bool = True) -> None:
        """Close the bar, if one is drawn; with `interval`, log the last count (`last`).

        The last count is logged only when the pass took `interval` or longer, so a short
        pass stays as quiet as before; never after an error or Ctrl-C (`__exit__`).
        """
        if last and self._unlogged and time.perf_counter() - self._start >= self.interval:
            self._unlogged = False
            self.log()
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(last=exc_type is None)


@contextlib.contextmanager
def heartbeat(beat: Callable[[], None], every: float | None) -> Iterator[None]:
    """Call `beat()` every `every` seconds from a thread while the block runs (None: never).

    For a blocking call that cannot report how far it got (scikit-learn's fits hold the
    caller for minutes on large data). The thread is stopped and joined before the block's
    exit returns, whether it ends or raises, so no beat is heard after it. `beat` runs on
    that thread: what it writes to must take a line from another thread (print, a log).
    A `beat` that raises stops the beats, not the block (a progress line is not a result).
    """
    if every is None:
        yield
        return
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every):
            try:
                beat()
            except Exception:  # a closed stream or a failing log: no more beats
                return

    thread = threading.Thread(target=run, name="vecgraft-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class WarningsOnce:
    """A run log that passes on only its WARNING lines, each once.

    `tune`'s trials and `compare`'s cells run `finetune` quietly, but what it warns about
    (Chinese left unsegmented without --tokenizer, vectors covering few tokens, test labels
    never trained on) would make its user look again, and holds for every run alike.

    >>> log = WarningsOnce(print)
    >>> for line in ["Epoch 1", "WARNING: few tokens", "WARNING: few tokens"]:
    ...     log(line)
    WARNING: few tokens
    """

    def __init__(
        self, say: Callable[[str], None], key: Callable[[str], str] | None = None
    ) -> None:
        self.say = say
        self.key = key  # what makes two lines one warning (default: the whole line)
        self.seen: set[str] = set()

    def __call__(self, msg: str) -> None:
        kind = msg if self.key is None else self.key(msg)
        if msg.startswith("WARNING") and kind not in self.seen:
            self.seen.add(kind)
            self.say(msg)


# a quoted name (a label '1', a file 'a2.csv') kept whole, or a number
_QUOTED_OR_NUMBER = re.compile(r"'[^']*'|\"[^\"]*\"|\d[\d,.]*")


def warning_kind(msg: str) -> str:
    """`msg` with its numbers masked: one warning, whatever rows it measured.

    `tune`'s final run warned again of what its trials had: "only 52.8% of training
    tokens ...", after "52.7%" measured on the trials' rows. Quoted names keep their digits.

    >>> warning_kind("WARNING: only 52.7% of 1,200 tokens; label '2'")
    "WARNING: only #% of # tokens; label '2'"
    """
    return _QUOTED_OR_NUMBER.sub(lambda m: m[0] if m[0][0] in "'\"" else "#", msg)
