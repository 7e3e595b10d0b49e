"""Atomic writes: a temp file (or folder) beside the target, then a rename.

A crash leaves either the old file or the new one, never half of one. A link the user named
is written through (its target gets the new file, the link stays), but a link at a name
inside an output folder (`links_replaced`: a run folder handed over, a shared cache) is
replaced, never written through: it could point anywhere. A device, FIFO or other file
that is neither a regular file nor a folder is written straight into, never renamed over
(`write_target`): `--metrics-out /dev/null` run as root replaced /dev/null itself.

Files come out with the permissions an ordinary `open()` would give them under the caller's
umask (0644 under umask 022), so a folder vecgraft writes is readable by whoever may read
the user's files — some writers (safetensors) create 0600 files, which `apply_umask` corrects.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import shutil
import socket
import stat
import tempfile
import warnings
from collections.abc import Callable, Collection, Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Any

from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file, special_kind
from vecgraft._util.processes import pid_alive
from vecgraft._util.signals import interrupts_deferred
from vecgraft._util.stack import caller_stacklevel

__all__ = [
    "TEMP_RE",
    "TEMP_TOKEN",
    "LinkRefusedError",
    "apply_umask",
    "atomic_directory",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_replaceable",
    "current_umask",
    "dead_writers_temp",
    "files_moved_in",
    "finish_move_in",
    "follows_links",
    "links_replaced",
    "folder_or_old_twin",
    "make_folder",
    "plain_name",
    "refuse_link",
    "refuse_linked_run_folder",
    "new_folder",
    "note_replaced_link",
    "old_twin",
    "owned_temp_dir",
    "remove_dead_temp_dirs",
    "remove_stale_temps",
    "replace_file",
    "staged_twin",
    "write_failure",
    "write_target",
    "writing",
]


def current_umask() -> int:
    """The process umask, read without changing it where /proc allows (threads stay safe)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # no /proc: the classic set-and-restore
    os.umask(mask)
    return mask


def apply_umask(path: str | os.PathLike[str]) -> None:
    """Give `path` (a file, or a folder and all below it) the modes `open()`/`mkdir()` would."""
    mask = current_umask()
    root = Path(path)
    targets = [root, *root.rglob("*")] if root.is_dir() else [root]
    for p in targets:
        base = 0o777 if p.is_dir() else 0o666
        os.chmod(p, base & ~mask)


# `.<name>.<pid>.w<8 hex>.tmp` (older versions: `.<name>.<pid>.tmp`): the pid says whose
TEMP_TOKEN = r"(?:\.w[0-9a-f]{8})?"
TEMP_RE = re.compile(rf"^\.(?P<name>.+)\.(?P<pid>\d+){TEMP_TOKEN}\.tmp$")


def _temp_path(path: Path) -> Path:
    """A fresh temp name beside `path`; its random part keeps others from planting it first."""
    return path.with_name(f".{path.name}.{os.getpid()}.w{os.urandom(4).hex()}.tmp")


def _create_exclusive(tmp: Path) -> IO[bytes]:
    """Open new file `tmp` for writing; a file or link already there is an error, not reused.

    Why: a temp name others can guess, opened plainly, followed a link planted at it.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_BINARY", 0)
    return os.fdopen(os.open(tmp, flags, 0o666), "wb")


# the output folders (resolved) in which a link at a written name is replaced, not followed
_OUTPUT_FOLDERS: ContextVar[tuple[str, ...]] = ContextVar("vecgraft_output_folders", default=())


@contextlib.contextmanager
def links_replaced(folder: str | os.PathLike[str], *, alone: bool = False) -> Iterator[None]:
    """While the block runs, writes below `folder` never go through a link found there.

    Why: a run folder someone handed over (or a shared cache) may hold `report.txt ->
    ~/.bashrc`; writing through it overwrote a file outside the folder. A link at the
    written name is replaced by the new file (folder); a link to a folder on the way there
    is refused (`LinkRefusedError`). `folder` itself may be a link: the user named it.
    `alone`: the enclosing output folders do not apply below `folder` (the load cache, which
    a linked `~/.cache` inside a `compare --out ~` may hold: not one of compare's outputs).
    """
    outer = () if alone else _OUTPUT_FOLDERS.get()
    token = _OUTPUT_FOLDERS.set((*outer, os.path.realpath(folder)))
    try:
        yield
    finally:
        _OUTPUT_FOLDERS.reset(token)


class LinkRefusedError(OSError):
    """A write inside an output folder would have gone through a link to somewhere else."""


def _refused(link: Path, folder: Path) -> LinkRefusedError:
    target = os.readlink(link)
    return LinkRefusedError(
        errno.ELOOP,
        f"refusing to write through the link {link.name} -> {target} in {folder}: links "
        "inside an output folder are not followed; link the whole --out folder instead",
        os.fspath(link),
    )


def refuse_link(path: str | os.PathLike[str], what: str) -> None:
    """Raise `LinkRefusedError` where `path` itself is a link (a file appended to in place).

    Why: an appending writer (Optuna's journal, a lock file) opens the name as it is, so a
    link planted there in a handed-over run folder had it append to the link's target.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise LinkRefusedError(
            errno.ELOOP,
            f"refusing to write the {what} through the link {path} -> {os.readlink(path)}; "
            "remove the link (a fresh file is made in its place)",
            os.fspath(path),
        )


def follows_links(path: str | os.PathLike[str], follow_links: bool = True) -> bool:
    """Whether a write to `path` may go through a link there (see `links_replaced`).

    Raises `LinkRefusedError` where a folder between the output folder and `path` is a link.
    """
    full = Path(os.path.abspath(path))
    above = _outermost_output_folder(full)
    if above is None:
        return follow_links
    _refuse_links_between(above, full.parents)
    return False


def _outermost_output_folder(full: Path) -> Path | None:
    """The outermost output folder (`links_replaced`) above `full`, if any.

    Why the outermost: a run folder inside `compare`'s or `tune`'s --out registers itself
    too (resolved), so checking from the nearest one missed a link above it
    (`cells -> /elsewhere/cells`), and the runs were written there.
    """
    folders = _OUTPUT_FOLDERS.get()
    found, seen = None, set()
    for above in full.parents if folders else ():
        real = os.path.realpath(above)
        # the nearest folder that is a registered one: a --out linked to its own parent
        # (`out -> .`) resolves as that parent does, and is the user's own link
        if real in folders and real not in seen:
            seen.add(real)
            found = above
    return found


def _refuse_links_between(above: Path, paths: Sequence[Path]) -> None:
    """Raise `LinkRefusedError` for the first of `paths` below `above` that is a link."""
    for between in paths:
        if above in between.parents and between.is_symlink():
            raise _refused(between, above)


def refuse_linked_run_folder(path: str | os.PathLike[str]) -> None:
    """Raise `LinkRefusedError` where run folder `path` or one above it is a link in --out.

    The --out: an enclosing output folder (`compare`'s for its cells, `tune`'s for final/).

    Why: the run folder registers its own resolved path, so its writes never saw the link
    that took them out of `compare`'s or `tune`'s --out (`final -> /elsewhere/final2`).
    A run folder the user named (no enclosing output folder) may be a link.
    """
    full = Path(os.path.abspath(path))
    above = _outermost_output_folder(full)
    if above is not None:
        _refuse_links_between(above, [full, *full.parents])


def dead_writers_temp(path: Path) -> str | None:
    """The name `path`, a temp file `.<name>.<pid>.tmp`, was for, if its writer is dead.

    None for any other file, or while its writer runs: what `remove_stale_temps` removes.
    """
    m = TEMP_RE.match(path.name)
    if m is None or int(m["pid"]) == os.getpid() or pid_alive(int(m["pid"])):
        return None
    return m["name"]


def remove_stale_temps(path: Path) -> None:
    """Remove temp files/folders for `path` left by writers that were killed (dead pids)."""
    with contextlib.suppress(OSError):
        for p in path.parent.glob(f".{path.name}.*.tmp"):
            m = TEMP_RE.match(p.name)
            if m is None or m["name"] != path.name or pid_alive(int(m["pid"])):
                continue
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


# `vecgraft-KIND-HOST-PID-XXXXXXXX`: a scratch folder of process PID on machine HOST
_OWNED_RE = re.compile(r"^vecgraft-[a-z]+-(?P<host>[^-]+)-(?P<pid>\d+)-[^-]+$")


def _host() -> str:
    """The machine's name as `owned_temp_dir` writes it (no `-`: the name splits at them)."""
    return re.sub(r"[^A-Za-z0-9.]+", "_", socket.gethostname()) or "host"


def owned_temp_dir(
    kind: str, root: str | os.PathLike[str] | None = None
) -> tempfile.TemporaryDirectory[str]:
    """A scratch folder `vecgraft-KIND-HOST-PID-*` in `root` (default: the system's, $TMPDIR).

    Those that processes of this machine killed outright left (`kill -9`, the OOM killer: no
    cleanup runs) are removed first (`remove_dead_temp_dirs`): a corpus-sized token cache
    stayed in /tmp for good. The machine's name keeps a folder shared between machines
    (a cluster's scratch) from judging another machine's processes by this one's.

    >>> folder = Path(tempfile.mkdtemp())
    >>> scratch = owned_temp_dir("tokens", folder)
    >>> Path(scratch.name).name.startswith(f"vecgraft-tokens-{_host()}-{os.getpid()}-")
    True
    >>> scratch.cleanup()
    """
    base = Path(root) if root is not None else Path(tempfile.gettempdir())
    remove_dead_temp_dirs(base)
    return tempfile.TemporaryDirectory(prefix=f"vecgraft-{kind}-{_host()}-{os.getpid()}-", dir=base)


def remove_dead_temp_dirs(base: Path) -> None:
    """Remove the `owned_temp_dir` folders in `base` whose process (of this machine) is gone.

    Only this user's, and never one whose process runs, or whose name does not say whose
    it is (an older vecgraft's): those are left as they are.
    """
    host, uid = _host(), getattr(os, "getuid", lambda: None)()
    with contextlib.suppress(OSError):
        for p in base.glob("vecgraft-*"):
            m = _OWNED_RE.match(p.name)
            if m is None or m["host"] != host or int(m["pid"]) == os.getpid():
                continue
            if p.is_symlink() or not p.is_dir() or pid_alive(int(m["pid"])):
                continue
            if uid is not None and p.stat().st_uid != uid:
                continue
            shutil.rmtree(p, ignore_errors=True)


@contextlib.contextmanager
def _errors_name(path: Path, tmp: Path) -> Iterator[None]:
    """OSErrors about the temp file `tmp` name `path`, the file the user asked for.

    `--metrics-out runs/` read "error: .runs.4242.tmp: Is a directory", and an unwritable
    folder named a file the user never heard of.
    """
    try:
        yield
    except OSError as exc:
        # none: a write, flush or fsync (a full disk said only "No space left on device")
        if exc.errno is None or (exc.filename is not None and Path(exc.filename) != tmp):
            raise
        raise OSError(exc.errno, exc.strerror, os.fspath(path)) from None


# a Rust writer's (safetensors') I/O error: "... No space left on device (os error 28)"
_OS_ERROR_RE = re.compile(r"\(os error (?P<errno>\d+)\)")
# free bytes under which torch's wordless write failure is taken for a full disk
_NEARLY_FULL = 1 << 20
# what torch.save's failed writes say (a full disk, a quota): other errors are no write's
_TORCH_WRITE_FAILURES = (
    "unexpected pos",
    "inline_container",
    "PytorchStreamWriter failed",
    "file write failed",
)


def write_failure(exc: BaseException, path: str | os.PathLike[str]) -> OSError | None:
    """`exc`, raised by a writer of `path`, as an OSError naming `path` and the cause.

    Why: safetensors says "Error while serializing: I/O error: No space left on device (os
    error 28)" and torch.save on a full disk only "[enforce fail at inline_container.cc]
    unexpected pos 1777152 vs 1777048": the first gave a traceback, the second never said
    the disk was full. An OSError is what the CLI reports in one line. Torch's failure is a
    full disk where the folder has (almost) no room left; torch's words stay. None for an
    error that is no failed write (a CUDA error in torch.save): it is raised as it is.
    """
    if isinstance(exc, OSError) and exc.errno is not None:
        return OSError(exc.errno, exc.strerror, os.fspath(path))
    text = str(exc)
    m = _OS_ERROR_RE.search(text)
    if m is not None:
        code = int(m["errno"])
        return OSError(code, os.strerror(code), os.fspath(path))
    if not any(words in text for words in _TORCH_WRITE_FAILURES):
        return None
    if _free_bytes(Path(path)) < _NEARLY_FULL:
        return OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} ({text})", os.fspath(path))
    return OSError(errno.EIO, f"could not write ({text})", os.fspath(path))


def _free_bytes(path: Path) -> float:
    """Free bytes on the file system holding `path` (or its nearest existing folder)."""
    for folder in (path, *path.parents):
        with contextlib.suppress(OSError):
            if folder.exists():
                return shutil.disk_usage(folder).free
    return math.inf


@contextlib.contextmanager
def writing(
    path: str | os.PathLike[str], *errors: type[BaseException], temp: Path | None = None
) -> Iterator[None]:
    """Raise a failed write of one of `errors`, or an OSError of a file in `temp`, as `path`'s.

    `errors` are a writer's own. For writers that are not Python's files (safetensors,
    torch.save), and for the files of a folder written in a temp folder (`temp`): the error
    names the output the user asked for, not `.last.4242.tmp/model.json`. Other OSErrors
    (a file read meanwhile) pass as they are.
    """
    try:
        yield
    except OSError as exc:
        if temp is None or exc.errno is None or not _inside(exc.filename, temp):
            raise
        raise OSError(exc.errno, exc.strerror, os.fspath(path)) from exc
    except errors as exc:
        failure = write_failure(exc, path)
        if failure is None:  # no failed write (a CUDA error): raised as it is
            raise
        raise failure from exc


def _inside(filename: object, folder: Path) -> bool:
    """Whether `filename` (an OSError's) is `folder` or below it."""
    if not isinstance(filename, (str, os.PathLike)):
        return False
    return Path(filename) == folder or folder in Path(filename).parents


def make_folder(path: str | os.PathLike[str]) -> Path:
    """Create folder `path` (and its parents); a file in the way is named as such.

    `mkdir` says "File exists" when `--out` names a file, as if the folder were there.
    """
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        kind = None
        with contextlib.suppress(OSError, TypeError):
            kind = special_kind(os.stat(exc.filename).st_mode)
        what = f"is {kind}, not a folder" if kind else "is a file, not a folder"
        raise NotADirectoryError(errno.ENOTDIR, what, exc.filename) from None
    return folder


@contextlib.contextmanager
def new_folder(path: str | os.PathLike[str], files: Sequence[str] = ()) -> Iterator[None]:
    """Remove `path` and the parents the block created, should it fail.

    `files` (names the block writes into `path`) go first, where the block created `path`:
    they are its own. Why: `vecgraft build --out new/` on a full disk left an empty `new/`,
    as if built. A folder that was there before, or holds anything else, stays.
    """
    folder = Path(os.path.abspath(path))
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        yield
    except BaseException:
        if missing and missing[0] == folder:
            for name in files:
                with contextlib.suppress(OSError):
                    (folder / name).unlink()
        for p in missing:  # the deepest first; rmdir leaves one that holds anything
            with contextlib.suppress(OSError):
                p.rmdir()
        raise


def _make_parent(path: Path) -> None:
    make_folder(path.parent)


def write_target(path: str | os.PathLike[str]) -> tuple[Path, int | None]:
    """Where a write to `path` lands, and the mode of what is there now (None: nothing).

    A symbolic link gives the file it names (`os.path.realpath`), so the new file takes
    that file's place and the link stays a link: a rename over the link put a regular file
    in its place. Anything else is `path` itself.
    """
    target = Path(path)
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    try:
        mode: int | None = target.stat().st_mode
    except OSError:  # missing, a loop of links, unreadable: open() says which
        mode = None
    return target, mode


def _write_stream(
    path: Path, target: Path, kind: str, write: Callable[[IO[bytes]], object]
) -> None:
    """Write straight into `target`, a device or FIFO: no temp file, no rename.

    Renaming a regular file over `/dev/null` replaced the device for every program on the
    machine, and over a FIFO left its reader waiting forever. A stream has no half-written
    state for a rename to protect against. A socket cannot be opened as a file at all.
    """
    if kind == "a socket":
        raise OSError(errno.ENXIO, f"is {kind}, not a file; name a file to write", os.fspath(path))
    try:
        with open(target, "wb") as fh:
            write(fh)
    except OSError as exc:
        if exc.filename is None or Path(exc.filename) != target:
            raise
        raise OSError(exc.errno, exc.strerror, os.fspath(path)) from None


def _own_target(path: Path) -> tuple[Path, int | None]:
    """`write_target` for a name inside an output folder: `path` itself, never a link's target.

    Whatever is there (a link, a FIFO) is renamed over, except a folder.
    """
    try:
        mode: int | None = os.lstat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISDIR(mode):
        mode = stat.S_IFREG
    return path, mode


def atomic_write(
    path: str | os.PathLike[str],
    write: Callable[[IO[bytes]], object],
    *,
    follow_links: bool = True,
    keep_mode: bool = False,
) -> None:
    """Call `write` on a temp file beside `path`, then rename it over `path`.

    A link is written through (the temp file goes beside the file it names), and a device
    or FIFO is written straight into (`write_target`). With `follow_links=False`, or inside
    `links_replaced`, a link at `path` is replaced instead. The new file gets the umask's
    modes, or with `keep_mode` those of the regular file it replaces: an edit in place
    (`rewrite_native_metadata`) made a read-only or shared file 0644.
    """
    path = Path(path)
    follow = follows_links(path, follow_links)
    target, mode = write_target(path) if follow else _own_target(path)
    if mode is not None and stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", os.fspath(path))
    kind = None if mode is None else special_kind(mode)
    if kind is not None:
        _write_stream(path, target, kind, write)
        return
    _make_parent(target)
    remove_stale_temps(target)
    tmp = _temp_path(target)
    try:
        with _errors_name(path, tmp):
            with _create_exclusive(tmp) as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            kept = _regular_mode(target) if keep_mode else None
            if kept is None:
                apply_umask(tmp)
            else:
                os.chmod(tmp, kept)
            os.replace(tmp, target)  # over a link: the link itself goes
    finally:
        if os.path.lexists(tmp):
            tmp.unlink()


def _regular_mode(path: Path) -> int | None:
    """The permission bits of regular file `path`; None: none there (or no regular file)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else None


def replace_file(
    source: str | os.PathLike[str], path: str | os.PathLike[str], *, follow_links: bool = True
) -> None:
    """Put the finished file `source` at `path` as `atomic_write` would, consuming `source`.

    For writers that can only write to a path of their own (a temp file, a staged folder):
    a plain `os.replace` when `path` is a regular file or nothing; a link or a device at
    `path` gets `source`'s bytes through `atomic_write` (the link stays, the device is
    written into) instead of being renamed over.
    """
    src, dst = Path(source), Path(path)
    follow = follows_links(dst, follow_links)
    target, mode = write_target(dst) if follow else _own_target(dst)
    if target == dst and (mode is None or stat.S_ISREG(mode)):
        os.replace(src, dst)
        return
    with open(src, "rb") as fh:
        atomic_write(dst, lambda out: shutil.copyfileobj(fh, out, 1 << 20), follow_links=follow)
    src.unlink()


def check_replaceable(path: str | os.PathLike[str], markers: Sequence[str]) -> Path:
    """`path` as a folder an output of one kind may replace whole: new, empty, or earlier.

    An earlier output holds every file of `markers`. Anything else at `path` (a file, a
    project folder, a home directory) would be deleted by the replacing rename, so it is
    refused: NotADirectoryError for a file, FileExistsError for a folder of other files.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> check_replaceable(folder / "new", ["a.json"]) == folder / "new"
    True
    >>> _ = (folder / "notes.txt").write_text("mine")
    >>> try:
    ...     check_replaceable(folder, ["a.json"])
    ... except FileExistsError as exc:
    ...     print(exc.strerror.split(",")[0])
    holds files but no a.json
    """
    final = Path(path)
    if final.exists() and not final.is_dir():
        kind = special_kind(final.stat().st_mode)
        what = f"is {kind}, not a folder" if kind else "exists and is not a folder"
        raise NotADirectoryError(errno.ENOTDIR, what, str(final))
    if final.is_dir() and any(final.iterdir()):
        missing = [m for m in markers if not (final / m).is_file()]
        if missing:
            raise FileExistsError(
                errno.EEXIST,
                f"holds files but no {missing[0]}, so it is not an earlier output of "
                "this kind; writing replaces the whole folder: choose a new or empty one",
                str(final),
            )
    return final


def old_twin(path: str | os.PathLike[str]) -> Path:
    """`.<name>.old` beside `path`: where `atomic_directory` keeps the old folder meanwhile."""
    final = Path(path)
    return final.with_name(f".{final.name}.old")


def folder_or_old_twin(path: str | os.PathLike[str]) -> Path | None:
    """Folder `path`, else its `old_twin` (a crash between the two renames), else None."""
    for folder in (Path(path), old_twin(path)):
        if folder.is_dir():
            return folder
    return None


@contextlib.contextmanager
def atomic_directory(
    path: str | os.PathLike[str],
    *,
    replaces: Sequence[str] | None = None,
    follow_links: bool = True,
) -> Iterator[Path]:
    """Yield a temp folder beside `path`; on success it replaces `path` in one rename.

    An existing empty folder (the current one, `.`, say) is kept and the files are moved
    into it instead: renamed away, it would leave the user's shell in a deleted folder.

    A failure or Ctrl-C during the swap leaves the old folder (signals wait for the
    renames; an error between them puts it back); a kill between the two renames leaves
    its `old_twin`, which `folder_or_old_twin` falls back to and the next call puts back
    — never a half-written one.
    Whatever the caller wrote inside gets umask-normal permissions before the rename.
    With `replaces` (file names an earlier output of this kind holds), a user-named `path`
    that is a file or a folder of other files is refused first (`check_replaceable`).
    """
    # the folder itself: a link to one is written through (a rename put a folder in the
    # link's place), and `.` has a name (it was "PosixPath('.') has an empty name");
    # inside an output folder (`links_replaced`) a link there is replaced instead
    follow = follows_links(path, follow_links)
    if follow:
        path = os.path.realpath(path)
    else:
        path = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(path))),
                            os.path.basename(os.path.abspath(path)))
    _restore_old_twin(Path(path), old_twin(path))  # a kill between a swap's two renames
    if follow or not Path(path).is_symlink():
        final = check_replaceable(path, replaces or ())  # a file, a device: never renamed away
    else:
        final = Path(path)
    _make_parent(final)
    remove_stale_temps(final)
    tmp = _temp_path(final)
    old = old_twin(final)
    shutil.rmtree(tmp, ignore_errors=True)
    with _errors_name(final, tmp):
        tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    apply_umask(tmp)
    try:
        with interrupts_deferred():  # a Ctrl-C or SIGTERM waits for the few renames
            if not follow and final.is_symlink():
                note_replaced_link(final)
                final.unlink()  # the link goes, never what it names
            _swap_in(tmp, final, old)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # only left when the swap failed
        if final.exists():  # the new folder, or the old one put back: the twin is spare
            shutil.rmtree(old, ignore_errors=True)


def note_replaced_link(link: Path, folder: Path | None = None) -> None:
    """Say that the folder link `link` (`best -> /disk2/best`) gives way to a real folder.

    Why: a user who linked `best/` to another disk found it silently replaced, the new
    output on this disk and the linked copy left stale. `folder`: the output folder the
    link stood in, where it was moved away first (`--overwrite`'s `.replaced/`).
    """
    where = link.parent if folder is None else folder
    warnings.warn(
        f"replaced the link {link.name} -> {os.readlink(link)} in {where} with a "
        "folder: links inside an output folder are not followed; link the whole --out "
        "folder instead",
        stacklevel=caller_stacklevel(),
    )


def _restore_old_twin(final: Path, old: Path) -> None:
    """Put back the `old_twin` a kill between the two renames of a swap left beside no `final`."""
    if old.is_dir() and not old.is_symlink() and not os.path.lexists(final):
        old.rename(final)


def _swap_in(tmp: Path, final: Path, old: Path) -> None:
    """Put the finished folder `tmp` at `final`; any failure leaves the old `final` there.

    The old folder is set aside as `old` first, then `tmp` renamed into place: failing
    between the two (an error, a KeyboardInterrupt) put the old folder back, where it left
    no `final` at all. An existing empty folder (`.`) stays, and the files move in; failing
    halfway removes those moved, so it is empty again.
    """
    if final.is_dir() and not any(final.iterdir()):  # e.g. `.`: the folder stays, files move in
        moved: list[Path] = []
        try:
            for child in sorted(tmp.iterdir()):
                os.replace(child, final / child.name)
                moved.append(final / child.name)
        except BaseException:
            for path in moved:
                _remove(path)
            raise
        return
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    try:
        tmp.rename(final)
    except BaseException:
        with contextlib.suppress(OSError):
            _restore_old_twin(final, old)
        raise


def _remove(path: Path) -> None:
    """Delete file or folder `path`, whichever it is; nothing there is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# the record a staged folder (`files_moved_in`) holds while its files move into the output
MOVE_JOURNAL = ".move-in.json"


def staged_twin(path: str | os.PathLike[str]) -> Path:
    """`.<name>.new` beside `path`: where `files_moved_in` stages an output before moving it in."""
    final = Path(path)
    return final.with_name(f".{final.name}.new")


@contextlib.contextmanager
def files_moved_in(
    path: str | os.PathLike[str], *, last: str, stale: Collection[str] = ()
) -> Iterator[Path]:
    """Yield a temp folder for an output's files; on success they all move into folder `path`.

    For outputs written into a folder that may hold files of the user's, which stay (so the
    folder cannot be swapped whole). The staged folder (`staged_twin`) is complete, with a
    journal naming `last` (the file that vouches for the others: metadata.json,
    report.json) and the earlier output's files this one does not write (`stale`, removed),
    before any file moves. Then, with Ctrl-C and SIGTERM held: the old `last` goes, the
    files move in, the stale ones go, the new `last` comes last. A failure in there is
    retried once at once; a kill leaves the staged folder, which `finish_move_in` (the next
    run's, a reader's) completes: never the new files beside the old `last` for good.
    The error is raised only when the retry failed too.
    """
    final = Path(os.path.realpath(path))  # a link to a folder, `.`: the folder itself
    make_folder(final)
    finish_move_in(final)
    staged = staged_twin(final)
    # a folder of that name holding other files is the user's: refused, not replaced
    with atomic_directory(staged, replaces=[MOVE_JOURNAL]) as tmp:
        try:
            yield tmp
        except OSError as exc:  # a full disk: named as the file the user asked for
            if exc.errno is None or not _inside(exc.filename, tmp):
                raise
            where = final / Path(exc.filename).relative_to(tmp)
            raise OSError(exc.errno, exc.strerror, str(where)) from exc
        written = {p.name for p in tmp.iterdir()}
        gone = sorted(n for n in set(stale) - written if plain_name(n))
        atomic_write_json(tmp / MOVE_JOURNAL, {"last": last, "stale": gone})
    if _finish_claimed(final, staged, None, retry=True):  # a reader may have finished it first
        _drop_superseded_claims(final)


def _drop_superseded_claims(final: Path) -> None:
    """Remove the claims of `final` no process here is moving in: this output supersedes them.

    Why: a claim a run on another machine left (killed mid move-in) is never finished here,
    since its finisher's liveness cannot be told; finished later on that machine, it wrote
    its older files over this newer output. A live claim of this machine's is left.
    """
    for p, host, pid in _claims(final):
        if host == _host() and pid != os.getpid() and pid_alive(pid):
            continue
        shutil.rmtree(p, ignore_errors=True)


def _claims(final: Path) -> list[tuple[Path, str, int]]:
    """`final`'s claim folders no move-in of this process holds: (folder, host, pid) each."""
    name = re.escape(final.name)
    pattern = re.compile(rf"^\.{name}\.new\.(?P<host>.+)\.(?P<pid>\d+)\.[0-9a-f]+\.claim$")
    found = []
    with contextlib.suppress(OSError):
        for p in final.parent.iterdir():
            m = pattern.match(p.name)
            if m is None or p.is_symlink() or not p.is_dir() or p in _CLAIMS_IN_PROGRESS:
                continue
            found.append((p, m["host"], int(m["pid"])))
    return found


def plain_name(name: object) -> bool:
    """Whether `name` is a file name of the folder itself (no path, not `.` or `..`).

    The only names a move-in journal or a run's manifest may list: `../x` would move or
    delete outside the folder.
    """
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and "/" not in name
        and "\\" not in name
        and "\0" not in name
    )


# the claims (folders renamed from a staged one) this process is moving in now
_CLAIMS_IN_PROGRESS: set[Path] = set()


def finish_move_in(path: str | os.PathLike[str], *, legacy: str | None = None) -> bool:
    """Complete the move-in a killed `files_moved_in` left; True when there was one.

    A staged folder with its journal is complete, so its files move in. One without (from
    versions that wrote none) moves in only when it holds `legacy`, the file that version
    moved in last (pretrain's metadata.json); any other (an empty one, the user's) stays as
    it is. The finisher first claims the folder with one rename (`_finish_claimed`), so two
    processes never move the same files; a claim whose finisher died (or failed, in this
    process) is claimed and finished in turn. `/` has no folder beside it: nothing to do.
    """
    final = Path(os.path.realpath(path))
    if not final.name:
        return False
    done = False
    for claimed in _abandoned_claims(final, legacy):
        done = _finish_claimed(final, claimed, legacy) or done
    staged = staged_twin(final)
    if staged.is_dir() and not staged.is_symlink() and _complete(staged, legacy):
        done = _finish_claimed(final, staged, legacy) or done
    return done


def _complete(staged: Path, legacy: str | None) -> bool:
    """Whether staged folder `staged` is vecgraft's, whole: a journal, or `legacy` in it."""
    if (staged / MOVE_JOURNAL).is_file():
        return True
    return legacy is not None and (staged / legacy).is_file()


def _claim_name(final: Path) -> Path:
    """A claim of `final`'s staged folder by this process: `.<name>.new.HOST.PID.TOKEN.claim`."""
    token = os.urandom(4).hex()  # two threads' claims differ too
    return final.with_name(f".{final.name}.new.{_host()}.{os.getpid()}.{token}.claim")


def _abandoned_claims(final: Path, legacy: str | None) -> list[Path]:
    """`final`'s claims whose finisher (of this machine and user) died or, here, failed."""
    uid = getattr(os, "getuid", lambda: None)()
    found = []
    for p, host, pid in _claims(final):
        if host != _host() or (pid != os.getpid() and pid_alive(pid)):
            continue
        with contextlib.suppress(OSError):
            if uid is not None and p.stat().st_uid != uid:
                continue
            if _complete(p, legacy) or not any(p.iterdir()):  # empty: its removal was stopped
                found.append(p)
    return sorted(found)


def _finish_claimed(final: Path, folder: Path, legacy: str | None, retry: bool = False) -> bool:
    """Claim `folder` (staged, or an abandoned claim) and move its files into `final`.

    False when another process claimed it first: that one finishes it. With `retry`, a
    failed claim or move is retried once at once (`_retried`). A move that fails puts the
    folder back where it was found; a kill leaves the claim, for the next run to finish.
    """
    claimed = _claim_name(final)
    _CLAIMS_IN_PROGRESS.add(claimed)
    try:
        with interrupts_deferred():
            return _retried(lambda: _claim_and_move(final, folder, claimed, legacy), retry)
    except BaseException:
        if claimed.is_dir():
            with contextlib.suppress(OSError):
                claimed.rename(folder)  # e.g. read-only files: the next run finds it as it was
        raise
    finally:
        _CLAIMS_IN_PROGRESS.discard(claimed)


def _claim_and_move(final: Path, folder: Path, claimed: Path, legacy: str | None) -> bool:
    """Rename `folder` to `claimed` (unless done already), then move its files in.

    One rename: of two processes finishing one move-in, only one gets the folder. An
    empty claim is a finished move whose last step (its removal) was stopped.
    """
    if not claimed.is_dir():
        try:
            folder.rename(claimed)
        except FileNotFoundError:  # claimed by another process, which finishes it
            return False
        except OSError:
            if folder.is_dir() and not any(folder.iterdir()):
                return False  # an empty one a reader cannot remove: nothing to move in
            raise
    _move_in(final, claimed, legacy)
    return True


def _retried(step: Callable[[], bool], retry: bool) -> bool:
    """`step()`, retried once at once with `retry` (e.g. after a second Ctrl-C: a few renames).

    The error is raised only when the retry failed too: a retry that succeeded left a
    whole output, which `new_folder` deleted as failed. A Ctrl-C or SystemExit still
    stops the run, once the retry has completed the move.
    """
    try:
        return step()
    except BaseException as exc:
        if not retry:
            raise
        try:
            done = step()
        except OSError:
            raise exc from None
        if not isinstance(exc, Exception):  # the output is whole; the stop still stops
            raise
        return done


def _read_journal(staged: Path) -> tuple[str | None, list[str]]:
    """(last, stale) from `staged`'s journal; (None, []) without a readable one."""
    try:
        # bounded, and never a FIFO opened: a handed-over folder's journal may be a planted link
        journal = read_json_file(staged / MOVE_JOURNAL, limit=RECORD_LIMIT)
        last, stale = journal["last"], journal["stale"]
    except (OSError, ValueError, KeyError, TypeError):
        return None, []
    if not isinstance(last, str) or not plain_name(last) or not isinstance(stale, list):
        return None, []  # a `last` of `../x` would move and delete outside the folder
    return last, [str(n) for n in stale if plain_name(str(n))]


def _move_in(final: Path, staged: Path, legacy: str | None = None) -> None:
    """Move the files of complete staged folder `staged` into `final` (see `files_moved_in`).

    Each step can be run again after a kill: a file already moved is no longer staged.
    Without a journal (a version that wrote none) `legacy` is the file that goes last.
    """
    last, stale = _read_journal(staged)
    last = last or legacy
    if last is None:  # the journal went last: all moved in
        staged.rmdir()
        return
    if (staged / last).exists():  # the old one vouched for files that are about to change
        (final / last).unlink(missing_ok=True)
    for child in sorted(staged.iterdir()):
        if child.name not in (last, MOVE_JOURNAL):
            replace_file(child, final / child.name)  # a link or device there stays one
    for name in stale:
        (final / name).unlink(missing_ok=True)
    if (staged / last).exists():
        replace_file(staged / last, final / last)
    (staged / MOVE_JOURNAL).unlink(missing_ok=True)
    staged.rmdir()


def atomic_write_bytes(
    path: str | os.PathLike[str], data: bytes, *, follow_links: bool = True
) -> None:
    """Write `data` to `path` atomically (see `atomic_write`)."""
    atomic_write(Path(path), lambda fh: fh.write(data), follow_links=follow_links)


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, follow_links: bool = True
) -> None:
    """Write `text` as UTF-8 to `path` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"), follow_links=follow_links)


def finite_json(data: Any) -> Any:
    """`data` with every NaN or infinite float replaced by None (JSON's null).

    Why: Python writes NaN as a bare `NaN`, which is not JSON: jq, JavaScript and strict
    parsers refuse the whole file over one undefined Pearson r.
    """
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite_json(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite_json(v) for v in data]
    return data


def atomic_write_json(
    path: str | os.PathLike[str],
    data: Any,
    *,
    indent: int = 2,
    ensure_ascii: bool = False,
    sort_keys: bool = False,
    default: Callable[[Any], Any] | None = None,
    finite: bool = False,
    follow_links: bool = True,
) -> None:
    """Write `data` as human-readable JSON to `path` atomically.

    `finite=True` writes NaN and infinities as null (`finite_json`): for result files that
    other tools read (metrics, evaluations, comparisons). Records vecgraft reads back as
    numbers (a trainer state's -inf best score) keep Python's spelling.
    """
    if finite:
        data = finite_json(data)
    text = json.dumps(
        data,
        indent=indent,
        ensure_ascii=ensure_ascii,
        sort_keys=sort_keys,
        default=default,
        allow_nan=not finite,
    )
    atomic_write_text(path, text, follow_links=follow_links)
