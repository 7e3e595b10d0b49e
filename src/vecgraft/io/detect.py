"""Format detection from content.

Every registered format is tried in order; when none fits, the DetectionError lists each one
with the reason it was rejected, unless the content clearly is one of them (`Format.misfit`):
then that format's own error, with its line, is raised.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable
from pathlib import Path

from vecgraft._util.atomic import TEMP_RE, staged_twin
from vecgraft._util.folderlock import writer_holds
from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file
from vecgraft._util.processes import pid_alive
from vecgraft.errors import DetectionError, FormatError, Hint, Opt
from vecgraft.io.base import Format, Rejection, Source
from vecgraft.io.hf_checkpoint import PICKLE, SAFETENSORS, SAFETENSORS_INDEX
from vecgraft.io.model2vec import is_static_model, static_model_refusal


def detect(source: Source, head: bytes, formats: Iterable[Format]) -> Format:
    """The first format in `formats` whose `sniff` accepts the content.

    Args:
        source: the file (or folder).
        head: its first decompressed bytes (empty for a folder).
        formats: candidates, most specific first (binary magic numbers before text).

    Raises:
        FormatError: nothing fits, but one format's `misfit` knows the content as its own.
        DetectionError: nothing fits; the message lists "name: reason" per format.
    """
    _refuse_build_folder(source)
    candidates = list(formats)
    rejected: list[tuple[str, str]] = []
    for fmt in candidates:
        reason = fmt.sniff(source, head)
        if reason is None:
            return fmt
        rejected.append((fmt.name, reason))
    _refuse_checkpoint_folder(source)
    refuse_web_page(
        source, head, DetectionError
    )  # only once nothing fits: `<html> 0.1 ...` is a fine row
    for fmt in candidates:  # content that clearly is one format gets that reader's error
        misfit = fmt.misfit(source, head) if fmt.misfit is not None else None
        if misfit is not None:
            raise misfit
    what = "folder" if source.path.is_dir() else "content"
    tried = "; ".join(f"{name}: {reason}" for name, reason in rejected)
    empty = _empty_folder(source)
    if empty is not None:  # no format can be forced on nothing
        raise DetectionError(
            f"cannot detect the vector format of this folder: {empty} (tried {tried})",
            path=source.path,
        )
    # a format that knows how to read the content anyway says so (`Rejection`)
    known = [reason.hint for _, reason in rejected if isinstance(reason, Rejection)]
    raise DetectionError(
        f"cannot detect the vector format of this {what} (tried {tried})",
        path=source.path,
        hint=known[0] if known else Hint("; pass {} to force one", Opt("format", "...", "FORMAT")),
    )


def _empty_folder(source: Source) -> str | None:
    """What to say of a folder with no visible file in it; None: not such a folder.

    Why: a `vecgraft pretrain` or `build` killed before it moved its output in leaves its
    `--out` folder empty (or with a hidden staging leftover), and the per-format list
    ("native: folder has no vectors.safetensors; ...") read as if files were misnamed.
    """
    folder = source.path
    if not folder.is_dir():
        return None
    names = []
    for entry in folder.iterdir():
        if not entry.name.startswith("."):
            return None
        names.append(entry.name)
    what = "the folder is empty"
    if names:
        shown = ", ".join(sorted(names)[:3]) + (", ..." if len(names) > 3 else "")
        what = f"the folder holds only hidden files ({shown})"
    return f"{what}: {_writer_state(Path(os.path.realpath(folder)))}"


def _writer_state(folder: Path) -> str:
    """Whether a vecgraft still writes empty `folder`, or one was stopped: what to do.

    Why: "run it again" was said too while a `pretrain` into the folder ran (it holds the
    folder's lock while it trains, then stages its files in `..NAME.new.PID.*.tmp` beside
    it until all are written), and a second run would race the first. A whole staged
    `.NAME.new` was moved in before detection (`load`'s finishing), so that is never left.
    """
    staging = _staging_temps(folder)
    live = [pid for _, pid in staging if pid_alive(pid)]
    if live:
        return f"it is being written by a running vecgraft (pid {live[0]}): wait for it"
    if writer_holds(folder):
        return "it is being written by a running vecgraft (it holds the folder's lock): wait for it"
    if staging:
        left, pid = staging[0]
        return (
            f"an interrupted run left it so (its staged files {left.name} beside it are of "
            f"pid {pid}, no longer running); run it again"
        )
    return "an interrupted `vecgraft pretrain` or `vecgraft build` leaves one so; run it again"


def _staging_temps(folder: Path) -> list[tuple[Path, int]]:
    """The temp folders `files_moved_in` stages `folder`'s output in, with their writers' pids."""
    staged = staged_twin(folder).name  # `.NAME.new`, which `_temp_path` dots again
    found = []
    try:
        for p in folder.parent.iterdir():
            m = TEMP_RE.match(p.name)
            if m is not None and m["name"] == staged and p.is_dir() and not p.is_symlink():
                found.append((p, int(m["pid"])))
    except OSError:
        return []
    return sorted(found)


def _refuse_build_folder(source: Source) -> None:
    """Refuse a `vecgraft build` / `save_embedding` folder, naming what to pass instead.

    It is one vocabulary's aligned matrix, not a vector file; the usual slip (`--vectors
    emb/`) would otherwise list the formats tried and suggest forcing one, which cannot
    help. Its report names the vectors it came from.
    """
    folder = source.path
    if not (folder.is_dir() and (folder / "embedding.safetensors").is_file()):
        return
    origin = ""
    try:
        report = read_json_file(folder / "report.json", limit=RECORD_LIMIT)
        named = report["metadata"]["source"]
        origin = f" ({named})" if isinstance(named, str) and named else ""
    except (OSError, ValueError, KeyError, TypeError):
        pass
    raise DetectionError(
        "a `vecgraft build` folder (an embedding aligned to one vocabulary), not word vectors: "
        f"read it with vecgraft.load_embedding, or pass the vector file it was built from{origin}",
        path=folder,
    )


def _refuse_checkpoint_folder(source: Source) -> None:
    """Refuse a transformer checkpoint folder, naming what turns it into word vectors.

    Listing the vector formats tried and suggesting `--format` cannot help there: the words'
    vectors have to be derived (`from-transformer`), or the checkpoint read as it is.
    """
    folder = source.path
    if not (folder.is_dir() and (folder / "config.json").is_file()):
        return
    if not any((folder / name).is_file() for name in (SAFETENSORS, SAFETENSORS_INDEX, PICKLE)):
        return
    if is_static_model(folder):  # `export --to model2vec` writes config.json + safetensors too
        raise DetectionError(static_model_refusal(folder), path=folder)
    shown = shlex.quote(str(folder))
    raise DetectionError(
        "a transformer checkpoint folder (config.json + model weights), not word vectors: "
        f"`vecgraft from-transformer {shown} --out FILE` (vecgraft.from_transformer) "
        f"derives word vectors from it; `finetune --vectors hf:{shown}` and `compare --sources "
        f"hf:{shown}` read it as it is",
        path=folder,
    )


_HTML_START = re.compile(
    rb"\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])", re.I | re.S
)
_TITLE = re.compile(rb"<title[^>]*>([^<]{1,200})</title", re.I)


def web_page_title(head: bytes) -> str | None:
    """The title ("" when none) when `head` is the start of an HTML page, else None."""
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    if not _HTML_START.match(body[:4096]):
        return None
    title = _TITLE.search(body)
    return " ".join(title.group(1).decode("utf-8", "replace").split()) if title else ""


def refuse_web_page(source: Source, head: bytes, error: type[FormatError] = FormatError) -> None:
    """Refuse an HTML page saved under a vector file's name (a failed download), saying so.

    A mirror's error page, a login wall or a redirect saved by `wget`/`curl -o` otherwise
    reads as a text file whose first "row" has no numbers, or as a binary with an absurd
    header; neither message tells the user that the download itself failed.

    Raises:
        FormatError: (or `error`) the content starts like an HTML document.
    """
    title = web_page_title(head)
    if title is None:
        return
    shown = f" titled {title!r}" if title else ""
    raise error(
        f"is an HTML page{shown}, not word vectors: the download probably failed (an error "
        "page, a login wall or a redirect was saved instead); download the file again",
        path=source.path,
        line=1,
    )
