"""Run folders belong to the user: vecgraft removes or rewrites only what it wrote there.

Every run keeps `manifest.json` beside its files: the absolute folder it was created in, the
directory it was started from (its config's relative paths are from there) and the
top-level names the run wrote (`config.json`, `best/`, `metrics.json`, ...). With
`overwrite`, only the names a manifest lists are touched, and only once the new run's inputs
have been read and its model built: they are set aside in `.replaced/` and removed when the
new run writes its first checkpoint, put back if it fails before that (or is interrupted:
the checkpoint a Ctrl-C writes does not count, it is not written then). A folder holding a
run without a manifest, or foreign files and no run, is never emptied. `resume` writes only
into the folder it is given and refuses one whose manifest says it was created elsewhere (a
copy) unless `adopt` is set.
A run that fails before its first checkpoint removes what it wrote, and the folder itself
when it created it; one killed before it wrote `config.json` left only files its manifest
lists, which the same command (no `overwrite` needed) removes and starts again.
One run writes a folder at a time (`run_lock`): a second one started into it fails at once,
as do `evaluate`, `predict` and `export` of it (`read_lock`; the Python `load_run`,
`load_ensemble`, `read_source` and `export` take it while they read), and a run into a
folder one of them is reading.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vecgraft._util.atomic import (
    atomic_write_json,
    links_replaced,
    note_replaced_link,
    old_twin,
    plain_name,
    refuse_linked_run_folder,
    remove_stale_temps,
)
from vecgraft._util.folderlock import check_free, out_lock, read_lock
from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file
from vecgraft.errors import CheckpointError, ConfigError, Hint, Opt

__all__ = [
    "MANIFEST",
    "REPLACED",
    "RunFolder",
    "check_free",
    "read_json_record",
    "read_lock",
    "read_splits_notes",
    "record_overrides",
    "run_lock",
]

MANIFEST = "manifest.json"
# where `--overwrite` keeps the old run's files until the new run's first checkpoint
REPLACED = ".replaced"
_FORMAT = 1

# the settings a resume may change (`run.RESUMABLE_OVERRIDES`) that the run's config.json
# records when a resume changes them: they shape the run from then on (how far it trains,
# its training step, its plots), and a later plain --resume takes the saved ones (a resume
# 2 -> 9 steps, interrupted, then stopped at once at step 2). Not `out` (the folder is where
# the file is), `resume` (the file would then start a resume), `progress` (this terminal's
# bars) nor `device` (this machine's: a resume on another one names its own).
RECORDED_OVERRIDES = ("max_steps", "compile", "plots")


def read_json_record(file: Path, consequence: str = "") -> Any:
    """A run folder's JSON file (manifest, metrics); an unreadable one is a CheckpointError.

    `consequence` ends its message ("; so the ensemble cannot resume"). ValueError, not
    only JSONDecodeError: an integer past Python's 4300-digit limit is a plain ValueError
    of `json.loads`, which went out as a traceback naming no file.
    """
    try:
        return read_json_file(file, limit=RECORD_LIMIT)
    except (OSError, ValueError) as exc:  # UnicodeDecodeError, JSONDecodeError included
        raise CheckpointError(f"{file}: unreadable ({exc}){consequence}") from exc


def record_overrides(
    file: Path, config: Any, data: dict[str, Any] | None = None
) -> str | None:
    """Write into a resumed run's `file` (config.json) the `RECORDED_OVERRIDES` `config` changes.

    Returns the log line, None where none changed. Only those entries are rewritten
    (atomically): an older run's file keeps the rest as written, so it loads as before.
    `data`: the file's mapping where the caller has read it (`read_config_file`); else
    it is read here, once.
    """
    from vecgraft.finetune.config import FinetuneConfig, read_config_file

    if data is None:
        data = read_config_file(file)
    # an entry an old file lacks: its default
    saved = FinetuneConfig.from_file_data(data, file, saved_run=True)
    new = config.to_dict()
    changed = [name for name in RECORDED_OVERRIDES if getattr(saved, name) != new[name]]
    if not changed:
        return None
    data = {**data, **{name: new[name] for name in changed}}
    atomic_write_json(file, data, ensure_ascii=True, sort_keys=True)  # as `FinetuneConfig.save`
    said = ", ".join(f"{name} {new[name]} (was {getattr(saved, name)})" for name in changed)
    return f"{file} now records {said}"


class RunFolder:
    """The run folder at `path` and the manifest of what vecgraft wrote in it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.files: list[str] = []
        self.created = False  # this run made the folder (a failed run removes it again)
        self._kept: list[str] = []  # names a rollback leaves alone (a resumed run's own)
        self._claimed = False  # nothing to roll back before `claim` made the folder this run's
        # the directory the run started in: relative paths in its config.json are from there
        self.cwd = os.getcwd()
        # what the run computes with (`runenv.environment`), set by the caller before
        # `claim`; a resume keeps the started run's and lists its own under "resumes"
        self.environment: dict[str, Any] | None = None
        self.resumes: list[Any] = []
        self._listed_resume = False  # `resumes` ends with this session's (`rollback`)

    # -- manifest ------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any] | None:
        """The validated manifest, or None when the folder has none."""
        file = self.path / MANIFEST
        if not file.is_file():
            return None
        data = read_json_record(file)
        files = data.get("files") if isinstance(data, dict) else None
        ok = (
            isinstance(data, dict)
            and data.get("format") == _FORMAT
            and isinstance(data.get("out"), str)
            and isinstance(files, list)
            and all(plain_name(f) for f in files)
        )
        if not ok:
            raise CheckpointError(
                f"{file}: not a vecgraft run manifest (expected format {_FORMAT}, 'out' and "
                "'files' as a list of plain file names)"
            )
        return data

    def _write_manifest(self) -> None:
        data: dict[str, Any] = {"format": _FORMAT, "out": str(self.path.resolve()),
                                "files": self.files, "cwd": self.cwd}  # fmt: skip
        if self.environment is not None:
            data["environment"] = self.environment
        if self.resumes:
            data["resumes"] = self.resumes
        atomic_write_json(self.path / MANIFEST, data)

    def record(self, name: str) -> Path:
        """`path / name`, listed in the manifest before it is written (so a crash lists it)."""
        if name not in self.files:
            # best/ before last/, the order an uninterrupted run writes them in: a run
            # interrupted in its first epoch wrote last/ first, and its resumed manifest
            # differed from the uninterrupted run's
            last = name == "best" and "last" in self.files
            self.files.insert(self.files.index("last") if last else len(self.files), name)
            self._write_manifest()
        return self.path / name

    def list_later(self, name: str) -> None:
        """List `name`, written into a finished run by a later command (evaluate's JSON).

        Unlisted, `--overwrite` left it behind: the folder then reported the scores of a
        model it no longer held. A folder without a manifest is left as it is.
        """
        manifest = self.read_manifest()
        if manifest is None or name in manifest["files"] or not plain_name(name):
            return
        files = [*manifest["files"], name]
        atomic_write_json(self.path / MANIFEST, {**manifest, "files": files}, follow_links=False)

    # -- checks (before any input is read) -----------------------------------------------
    def check_new(self, *, overwrite: bool) -> None:
        """Raise unless a new run may use this folder; changes nothing."""
        out = self.path
        if out.exists() and not out.is_dir():
            raise ConfigError(f"--out {out}: is a file, not a folder; choose a folder path")
        if not out.exists():
            return
        manifest = self.read_manifest()
        if manifest is None and not (out / "config.json").exists():
            if any(out.iterdir()):
                raise ConfigError(f"{out} exists and is not empty; choose another --out")
            return
        if not (out / "config.json").exists():
            return  # a run stopped before its config.json: nothing to keep (`claim` clears it)
        if not overwrite:
            # the usual slip from Python is running a notebook cell twice: there the options
            # are keywords (resume=True in the config, finetune(..., overwrite=True))
            raise ConfigError(
                f"{out} already holds a run",
                hint=Hint(
                    "; use {} to continue it, {} to replace it, or another {}",
                    Opt("resume", "True"),
                    Opt("overwrite", "True"),
                    Opt("out", "...", "DIR"),
                ),
            )
        if manifest is None:
            raise ConfigError(
                f"{out} holds a config.json but no {MANIFEST} (an older vecgraft run, or not a "
                "run): --overwrite removes only files a manifest lists, so nothing was removed; "
                "delete the folder yourself or choose another --out"
            )

    def check_resume(self, *, adopt: bool) -> dict[str, Any] | None:
        """Raise unless `path` holds a run that may be continued in place; its manifest.

        The manifest read (None: the run has none) is returned so that a caller needing it
        (`resolve_resume`) does not read it again.
        """
        if not (self.path / "config.json").is_file():
            why = "no config.json"
            if (self.path / MANIFEST).is_file():  # killed between `claim` and config.json
                why = (
                    "the run stopped before it wrote config.json; start it again with the "
                    "same command, without --resume"
                )
            raise CheckpointError(f"{self.path}: nothing to resume ({why})")
        manifest = self.read_manifest()
        if manifest is None:
            return None
        here = str(self.path.resolve())
        if manifest["out"] != here and not adopt:
            raise CheckpointError(
                f"{self.path}: its {MANIFEST} says this run was created in {manifest['out']}; "
                "it was copied or moved here. Pass --adopt (adopt=True) to continue it in "
                f"{self.path}; nothing is written anywhere else"
            )
        return manifest

    # -- claim and roll back -------------------------------------------------------------
    def claim(self, *, overwrite: bool, resume: bool) -> None:
        """Make the folder this run's; call once its inputs are read and its model is built.

        A new run sets the old run's own files aside (overwrite; `discard_replaced` drops
        them, `rollback` puts them back) and starts a manifest; a resumed run keeps its
        manifest, now naming this folder.
        """
        if not resume:
            self.check_new(overwrite=overwrite)
        manifest = self.read_manifest() if self.path.is_dir() else None
        if resume:
            if manifest and isinstance(manifest.get("cwd"), str):
                self.cwd = manifest["cwd"]  # where it started, not where it was resumed
            self._resumed_environment(manifest or {})
            self.files = list(manifest["files"]) if manifest else []
            self._kept = [*self.files, MANIFEST] if manifest else []
            self._write_manifest()  # records the folder's own path (a copy, adopted)
            self._claimed = True
            self.recover()
            return
        aside = False
        if manifest is not None and (self.path / "config.json").exists() and overwrite:
            self._set_aside(manifest)
            aside = True
        elif manifest is not None:  # a run killed before its config.json: nothing to keep
            for name in reversed(manifest["files"]):
                self._remove(name)
        try:
            self.created = not self.path.exists()
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--out {self.path}: cannot create the folder ({exc})") from exc
        self.files = [REPLACED] if aside else []
        self._claimed = True
        self._write_manifest()

    def _resumed_environment(self, manifest: dict[str, Any]) -> None:
        """Keep the started run's `environment`; this session's joins its `resumes`.

        Why both: a run trained partly on another machine or release was said to be the
        last session's alone, or the first's.
        """
        earlier = manifest.get("resumes")
        self.resumes = list(earlier) if isinstance(earlier, list) else []
        self._listed_resume = self.environment is not None
        if self.environment is not None:
            self.resumes.append(self.environment)
        started = manifest.get("environment")
        self.environment = started if isinstance(started, dict) else None

    def _set_aside(self, manifest: dict[str, Any]) -> None:
        """Move the old run's listed files into `.replaced/`, newest first.

        `.replaced` is listed in the old manifest before anything moves, so a kill halfway
        leaves only names a later `--overwrite` removes; and since metrics.json moves before
        the checkpoints and config.json last, the folder is never a "finished" run without
        its checkpoints (resumable, or refused by predict as unfinished). An error halfway
        moves everything back.
        """
        files = [f for f in manifest["files"] if f != REPLACED]
        atomic_write_json(self.path / MANIFEST, {**manifest, "files": [*files, REPLACED]})
        held = self.path / REPLACED
        try:
            self._remove(REPLACED)  # a killed overwrite's: that run was being replaced
            held.mkdir()
            atomic_write_json(held / MANIFEST, {**manifest, "files": files})
            for name in reversed(files):
                self._move_aside(name)
        except BaseException:
            self._put_back(files)
            raise

    def _move_aside(self, name: str) -> None:
        """`name` into `.replaced/` (its half-written twins and temp files are removed)."""
        if not plain_name(name):
            return
        self._recover_name(name)
        source = self.path / name
        if os.path.lexists(source):
            source.rename(self.path / REPLACED / name)

    @property
    def replacing(self) -> bool:
        """Whether this run holds the run it replaces aside (`discard_replaced` not yet)."""
        return REPLACED in self.files and REPLACED not in self._kept

    def discard_replaced(self) -> None:
        """The new run is resumable on its own: the old run set aside goes for good."""
        if REPLACED not in self.files:
            return
        self._note_linked_folders()
        self._remove(REPLACED)
        self.files.remove(REPLACED)
        self._write_manifest()

    def _note_linked_folders(self) -> None:
        """Warn about each folder link the old run held (`best -> /disk2/best`): it goes now.

        Why: moved aside whole, a linked `best/` gave way to the new run's real one with no
        word, where any other write replaces it with a warning (`atomic_directory`).
        """
        held = self.path / REPLACED
        for entry in sorted(held.iterdir()) if held.is_dir() and not held.is_symlink() else ():
            if entry.is_symlink() and entry.is_dir() and os.path.lexists(self.path / entry.name):
                note_replaced_link(entry, self.path)

    def _restore_replaced(self) -> bool:
        """Put the old run set aside back (after this run removed its own files).

        The manifest first lists both runs' names, so a kill while files move back leaves
        only listed names. False when there is nothing to restore.
        """
        try:
            saved = read_json_file(self.path / REPLACED / MANIFEST, limit=RECORD_LIMIT)
            files = [f for f in saved["files"] if plain_name(f) and f != REPLACED]
        except (OSError, ValueError, KeyError, TypeError):
            return False
        self.files = [*files, REPLACED]
        self._write_manifest()
        self._put_back(files)
        self.files = files
        return True

    def _put_back(self, files: list[str]) -> None:
        """Move `files` from `.replaced/` back (where free), then its manifest; drop it."""
        held = self.path / REPLACED
        for name in files:
            source, target = held / name, self.path / name
            if os.path.lexists(source) and not os.path.lexists(target):
                source.rename(target)
        if (held / MANIFEST).is_file():
            (held / MANIFEST).replace(self.path / MANIFEST)  # the old manifest, as it was
        if held.is_dir() and not held.is_symlink():
            shutil.rmtree(held)

    def recover(self) -> None:
        """Finish what a killed writer left half done among the names the manifest lists.

        A kill between `atomic_directory`'s two renames leaves `.name.old` beside no `name`
        (the old folder is put back) or beside the new, whole `name` (the twin goes); a
        kill mid-write leaves a temp file of a dead process (removed). A resumed run
        rewrites only what it has not finished, so without this `best/` could live on as
        `.best.old` in a finished run.
        """
        for name in [*self.files, MANIFEST]:
            if plain_name(name):
                self._recover_name(name)

    def _recover_name(self, name: str) -> None:
        """`recover` for one listed name."""
        target, twin = self.path / name, old_twin(self.path / name)
        if twin.is_dir() and not twin.is_symlink():
            if os.path.lexists(target):
                shutil.rmtree(twin)
            else:
                twin.rename(target)
        remove_stale_temps(target)

    def rollback(self) -> None:
        """Remove what this run wrote (and the folder if this run created it).

        A resumed run's earlier files stay; its manifest goes back to listing just those.
        The run an `overwrite` set aside is put back as it was. Before `claim` finished
        this run wrote nothing: a claim that failed halfway has put the old run back itself.
        """
        if not self._claimed:
            return
        if REPLACED in self.files and REPLACED not in self._kept:
            for name in reversed(self.files):  # newest first, as `claim` removes
                if name != REPLACED:
                    self._remove(name)
            if self._restore_replaced():
                return
        for name in [*reversed(self.files), MANIFEST]:  # newest first, as `claim` removes
            if name not in self._kept:
                self._remove(name)
        if self._kept:
            self.files = [f for f in self.files if f in self._kept]
            if self._listed_resume:  # this resume left nothing of its own
                self.resumes = self.resumes[:-1]
            self._write_manifest()
            return
        self.files = []
        if self.created:
            with contextlib.suppress(OSError):
                self.path.rmdir()  # only when empty: never a user's file

    def _remove(self, name: str) -> None:
        """Remove `name`, its `.name.old` twin and temp files; symlinks are unlinked only."""
        if not plain_name(name):
            return
        victims = [self.path / name, old_twin(self.path / name)]
        victims += list(self.path.glob(f".{glob.escape(name)}.*.tmp"))
        for victim in victims:
            if victim.is_symlink() or victim.is_file():
                victim.unlink()
            elif victim.is_dir():
                shutil.rmtree(victim)


@contextlib.contextmanager
def run_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the run folder `path` while a run writes it; a second run into it fails at once.

    Why: two `--overwrite` runs into one folder both succeeded, leaving one run's
    checkpoints beside the other's fusion/, which `evaluate` scored at a number matching
    neither. The lock is a non-blocking `flock` on the folder itself, not a lock file, so
    the manifest rules (a folder of foreign files, `--overwrite` removing listed names
    only) see nothing new, and the kernel drops it with the process: a killed run leaves
    no stale lock. While held, writes in the folder replace a link found at a name instead
    of writing through it (`links_replaced`). A missing folder is made here (the lock needs
    it) and removed on the way out if the run left it empty. Where flock fails (some network
    file systems) the run goes on unlocked. On Windows, which cannot lock a folder, the lock
    is a file standing for the folder (`_windows_lock`).

    Not reentrant: a second hold fails at once even in the process holding it (a callback
    starting another run into the folder would set the running one aside), so code run
    under a hold must not take it again (`finetune` runs an ensemble through
    `ensemble._run_ensemble`, the public `run_ensemble` takes the lock). `read_lock` is the
    reader's side.
    """
    folder = Path(path)
    refuse_linked_run_folder(folder)  # a link above it in compare's/tune's --out
    with out_lock(folder), links_replaced(folder):  # a planted link: not followed
        yield


def data_inputs(config: Any) -> dict[str, Any]:
    """The state of a run's input files (`splits.json`'s "inputs"): train, valid, test.

    And its own jieba user dictionary (`--user-dict`): edited between a run's start and its
    `--resume`, or between two `compare` invocations over the same cells, it segmented the
    rest of the run into other words with no word of why. And an `--add-tokens` word file.
    And the vector file or folder (`vectors_input`): rewritten with other values for the
    same words, a resume trained the rest of the run on a mix of both. And model `hf`'s
    checkpoint folder (`hf_model`), whose tokenizer a resume reads again: a `compare` rerun
    reused the cells of a checkpoint since replaced. And a `--stopwords` file (not a
    built-in language's list): edited before a resume, the rest of the run dropped other
    words. A run recorded before an entry existed has none: `changed_inputs` skips it.
    """
    from vecgraft._util.fingerprint import input_fingerprints

    paths = {"train": config.train, "valid": config.valid, "test": config.test}
    # an --add-tokens word file too: edited before a resume, it was "the data changed"
    words = getattr(config, "add_tokens", None)
    listed = words if isinstance(words, str) and not words.strip().isdigit() else None
    vectors = vectors_input(getattr(config, "vectors", None))
    checkpoint = getattr(config, "hf_model", None)
    local = isinstance(checkpoint, str) and bool(checkpoint) and Path(checkpoint).is_dir()
    return input_fingerprints(
        {**paths, "user_dict": config.user_dict, "add_tokens": listed, "vectors": vectors,
         "hf_model": checkpoint if local else None,
         "stopwords": stopword_file(getattr(config, "stopwords", None))}
    )  # fmt: skip


def stopword_file(stopwords: Any) -> str | None:
    """The stopword file a run reads (None: none, or a built-in language's list, "en")."""
    from vecgraft.text.stopwords import is_language_code

    if not isinstance(stopwords, str) or not stopwords or is_language_code(stopwords):
        return None
    return stopwords


def vectors_input(vectors: Any) -> str | None:
    """The file or folder a run's `vectors` are read from; None: none to fingerprint.

    "random" and vectors passed in memory name no file; `hf:FOLDER` derives its vectors
    from the checkpoint folder, which counts when it is a local one (a hub id is not).
    """
    from vecgraft.finetune.config import in_memory_vectors

    if not isinstance(vectors, str | os.PathLike):
        return None
    text = os.fspath(vectors)
    if text in ("", "random") or in_memory_vectors(text):
        return None
    if text.startswith("hf:"):
        folder = Path(text[3:]).expanduser()
        return str(folder) if folder.is_dir() else None
    return text


def read_splits_notes(folder: Path) -> dict[str, Any] | None:
    """The run's `splits.json`; None without one or unreadable, {} when no JSON object.

    One reader for what a run recorded of its data: its "inputs" (a resume's data check,
    `data_changed`) and its "vector_options" (a resume's reading flags, `compare`'s cells).
    A run stopped before writing the file has none; what is wrong with a broken one is for
    the resume's own checks to say.
    """
    try:
        notes = read_json_file(folder / "splits.json", limit=RECORD_LIMIT)
    except (OSError, ValueError):
        return None
    return notes if isinstance(notes, dict) else {}


def data_changed(folder: Path, config: Any) -> list[str]:
    """How the data files of `config` differ from those the run in `folder` read ([]: same).

    Empty too when the run recorded none (a run from before they were kept, or one that
    stopped before writing `splits.json`).
    """
    from vecgraft._util.fingerprint import changed_inputs

    notes = read_splits_notes(folder)
    if notes is None or "inputs" not in notes:
        return []
    return changed_inputs(notes["inputs"], data_inputs(config))
