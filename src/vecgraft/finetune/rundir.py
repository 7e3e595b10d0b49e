"""Run folders belong to the user: vecgraft removes or rewrites only what it wrote there.

Every run keeps `manifest.json` beside its files: the absolute folder it was created in and
the top-level names the run wrote (`config.json`, `best/`, `metrics.json`, ...). With
`overwrite`, only the names a manifest lists are removed, and only once the new run's inputs
have been read and its model built; a folder holding a run without a manifest, or foreign
files and no run, is never emptied. `resume` writes only into the folder it is given and
refuses one whose manifest says it was created elsewhere (a copy) unless `adopt` is set.
A run that fails before its first checkpoint removes what it wrote, and the folder itself
when it created it; one killed before it wrote `config.json` left only files its manifest
lists, which the same command (no `overwrite` needed) removes and starts again.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
from pathlib import Path
from typing import Any

from vecgraft._util.atomic import atomic_write_json, old_twin, remove_stale_temps
from vecgraft.errors import CheckpointError, ConfigError

__all__ = ["MANIFEST", "RunFolder"]

MANIFEST = "manifest.json"
_FORMAT = 1


def _plain_name(name: object) -> bool:
    """A single path component (no separators, no `..`): the only names a manifest may list."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and "/" not in name
        and "\\" not in name
        and "\0" not in name
    )


class RunFolder:
    """The run folder at `path` and the manifest of what vecgraft wrote in it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.files: list[str] = []
        self.created = False  # this run made the folder (a failed run removes it again)
        self._kept: list[str] = []  # names a rollback leaves alone (a resumed run's own)

    # -- manifest ------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any] | None:
        """The validated manifest, or None when the folder has none."""
        file = self.path / MANIFEST
        if not file.is_file():
            return None
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{file}: unreadable ({exc})") from exc
        files = data.get("files") if isinstance(data, dict) else None
        ok = (
            isinstance(data, dict)
            and data.get("format") == _FORMAT
            and isinstance(data.get("out"), str)
            and isinstance(files, list)
            and all(_plain_name(f) for f in files)
        )
        if not ok:
            raise CheckpointError(
                f"{file}: not a vecgraft run manifest (expected format {_FORMAT}, 'out' and "
                "'files' as a list of plain file names)"
            )
        return data

    def _write_manifest(self) -> None:
        atomic_write_json(
            self.path / MANIFEST,
            {"format": _FORMAT, "out": str(self.path.resolve()), "files": self.files},
        )

    def record(self, name: str) -> Path:
        """`path / name`, listed in the manifest before it is written (so a crash lists it)."""
        if name not in self.files:
            self.files.append(name)
            self._write_manifest()
        return self.path / name

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
            raise ConfigError(
                f"{out} already holds a run; use --resume to continue it, --overwrite to replace "
                "it, or another --out"
            )
        if manifest is None:
            raise ConfigError(
                f"{out} holds a config.json but no {MANIFEST} (an older vecgraft run, or not a "
                "run): --overwrite removes only files a manifest lists, so nothing was removed; "
                "delete the folder yourself or choose another --out"
            )

    def check_resume(self, *, adopt: bool) -> None:
        """Raise unless `path` holds a run that may be continued in place."""
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
            return
        here = str(self.path.resolve())
        if manifest["out"] != here and not adopt:
            raise CheckpointError(
                f"{self.path}: its {MANIFEST} says this run was created in {manifest['out']}; "
                "it was copied or moved here. Pass --adopt (adopt=True) to continue it in "
                f"{self.path}; nothing is written anywhere else"
            )

    # -- claim and roll back -------------------------------------------------------------
    def claim(self, *, overwrite: bool, resume: bool) -> None:
        """Make the folder this run's; call once its inputs are read and its model is built.

        A new run removes the old run's own files (overwrite) and starts a manifest; a
        resumed run keeps its manifest, now naming this folder.
        """
        if not resume:
            self.check_new(overwrite=overwrite)
        manifest = self.read_manifest() if self.path.is_dir() else None
        if resume:
            self.files = list(manifest["files"]) if manifest else []
            self._kept = [*self.files, MANIFEST] if manifest else []
            self._write_manifest()  # records the folder's own path (a copy, adopted)
            self.recover()
            return
        if manifest is not None and (overwrite or not (self.path / "config.json").exists()):
            # newest first: metrics.json goes before the checkpoints and config.json last,
            # so a kill halfway leaves an unfinished run (resumable, or refused by predict
            # as unfinished), never a "finished" one without its checkpoints
            for name in reversed(manifest["files"]):
                self._remove(name)
        try:
            self.created = not self.path.exists()
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--out {self.path}: cannot create the folder ({exc})") from exc
        self.files = []
        self._write_manifest()

    def recover(self) -> None:
        """Finish what a killed writer left half done among the names the manifest lists.

        A kill between `atomic_directory`'s two renames leaves `.name.old` beside no `name`
        (the old folder is put back) or beside the new, whole `name` (the twin goes); a
        kill mid-write leaves a temp file of a dead process (removed). A resumed run
        rewrites only what it has not finished, so without this `best/` could live on as
        `.best.old` in a finished run.
        """
        for name in [*self.files, MANIFEST]:
            if not _plain_name(name):
                continue
            target, twin = self.path / name, old_twin(self.path / name)
            if twin.is_dir() and not twin.is_symlink():
                if target.exists() or target.is_symlink():
                    shutil.rmtree(twin)
                else:
                    twin.rename(target)
            remove_stale_temps(target)

    def rollback(self) -> None:
        """Remove what this run wrote (and the folder if this run created it).

        A resumed run's earlier files stay; its manifest goes back to listing just those.
        """
        for name in [*reversed(self.files), MANIFEST]:  # newest first, as `claim` removes
            if name not in self._kept:
                self._remove(name)
        if self._kept:
            self.files = [f for f in self.files if f in self._kept]
            self._write_manifest()
            return
        self.files = []
        if self.created:
            with contextlib.suppress(OSError):
                self.path.rmdir()  # only when empty: never a user's file

    def _remove(self, name: str) -> None:
        """Remove `name`, its `.name.old` twin and temp files; symlinks are unlinked only."""
        if not _plain_name(name):
            return
        victims = [self.path / name, old_twin(self.path / name)]
        victims += list(self.path.glob(f".{glob.escape(name)}.*.tmp"))
        for victim in victims:
            if victim.is_symlink() or victim.is_file():
                victim.unlink()
            elif victim.is_dir():
                shutil.rmtree(victim)


def data_inputs(config: Any) -> dict[str, Any]:
    """The state of a run's data files (`splits.json`'s "inputs"): train, valid and test."""
    from vecgraft._util.fingerprint import input_fingerprints

    return input_fingerprints({"train": config.train, "valid": config.valid, "test": config.test})


def data_changed(folder: Path, config: Any) -> list[str]:
    """How the data files of `config` differ from those the run in `folder` read ([]: same).

    Empty too when the run recorded none (a run from before they were kept, or one that
    stopped before writing `splits.json`).
    """
    from vecgraft._util.fingerprint import changed_inputs

    try:
        saved = json.loads((folder / "splits.json").read_text(encoding="utf-8"))["inputs"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return changed_inputs(saved, data_inputs(config))
