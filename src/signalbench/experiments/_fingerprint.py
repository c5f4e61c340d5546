"""The inputs of a trial, by content: what a trial id is made of besides the spec itself.

Every input that decides a trial's outcome gets a *role* and a digest (16 hex digits of its
SHA-256):

- ``controller``: the file (``file.py:Class``) or module (``package.module:Class``) that
  defines the controller: its code, comments and docstrings left out;
- ``controller module NAME``: every module it imports from its own folder (or package);
- ``param checkpoint``: a parameter naming a file (a learning controller's checkpoint);
- ``network``, ``routes``, ``routes 2``, ``additional``, ``sumocfg``: the scenario's files;
- ``network manifest``: a catalog network's manifest (its window, its files);
- ``network generator``: the SUMO release whose netgenerate builds a generated network;
- ``sumo``: the SUMO release that runs the trial (with the binary's bytes for ``sumo_binary``);
- ``signalbench``: signalbench's version and the bytes of every module that runs a trial.

The built-in controllers are part of ``signalbench``: its digest covers the code that runs a
trial (not ``analysis``, ``cli`` and ``testing``, which only read results or check
controllers, and of ``experiments`` only ``_execute.py``: planning, launching and storing
trials decide nothing about their outcome). Paths never enter the id; they are kept beside
the digests only to say which file changed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from signalbench._util import file_sha256, python_source_sha256
from signalbench._version import __version__
from signalbench.controllers import controller_sources, registry
from signalbench.errors import SignalbenchError
from signalbench.experiments._trial import FILE_PARAM_ROLE, TrialSpec
from signalbench.networks import Scenario, catalog, resolve_network
from signalbench.sim import normalize_version, sumo_version

__all__ = ["Fingerprinter", "TrialInputs", "check_inputs", "describe_changes", "harness_digest"]

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the signalbench package
#: Sub-packages that never run a trial: they read results, print, or check controllers.
_NOT_RUNNING_TRIALS = ("analysis", "cli", "testing")
#: Of ``experiments``, only the module that runs a trial; the others plan, launch and store
#: trials, and what they decide (the spec) is in the trial id already.
_RUNS_TRIALS_IN_EXPERIMENTS = ("_execute.py", "__init__.py")
#: Roles whose digest comes from the installed software rather than from a file of the trial.
SOFTWARE_ROLES = ("sumo", "signalbench", "network generator")


def _short(digest: str) -> str:
    return digest[:16]


def harness_digest() -> str:
    """Return ``<version>+<digest>`` of the signalbench modules that run trials.

    The bytes of every ``.py`` file of the package except :data:`_NOT_RUNNING_TRIALS` and the
    orchestration modules of ``experiments``, in path order. An installed release always
    gives the same digest; a source checkout gives a new one whenever such a file changes.
    """
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.rglob("*.py")):
        rel = path.relative_to(_PACKAGE_DIR)
        if rel.parts[0] in _NOT_RUNNING_TRIALS or "__pycache__" in rel.parts:
            continue
        if rel.parts[0] == "experiments" and rel.name not in _RUNS_TRIALS_IN_EXPERIMENTS:
            continue
        digest.update(rel.as_posix().encode() + b"\0" + file_sha256(path).encode() + b"\n")
    return f"{__version__}+{_short(digest.hexdigest())}"


@dataclass(frozen=True)
class TrialInputs:
    """The inputs of one trial: a digest per role, and the file each role was read from."""

    digests: dict[str, str] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)


class Fingerprinter:
    """Looks up the inputs of many trials, each network, controller and file once.

    Files are hashed through the per-process cache of :func:`signalbench._util.file_sha256`
    (keyed by path, size and modification time), so expanding thousands of trials hashes
    each file once, and an edited file is always hashed again.
    """

    def __init__(self, *, software: bool = True) -> None:
        self._software = software  # False: the files only (a trial checking its inputs)
        self._harness: str | None = None
        self._memo: dict[tuple[object, ...], TrialInputs] = {}
        self._checkpoints: dict[str, str | None] = {}

    def inputs(self, trial: TrialSpec) -> TrialInputs:
        """Return the inputs of ``trial`` (its own ``inputs`` field is ignored)."""
        if trial.controller not in self._checkpoints:
            self._checkpoints[trial.controller] = self._checkpoint_param(trial.controller)
        checkpoint = self._checkpoints[trial.controller]
        memo_key = (
            trial.network,
            trial.route_files,
            trial.generator is None,
            trial.controller,
            checkpoint,
            None if checkpoint is None else trial.params.get(checkpoint),
            trial.sumo_version,
            trial.sumo_binary,
        )
        found = self._memo.get(memo_key)
        if found is None:
            found = self._compute(trial, checkpoint)
            self._memo[memo_key] = found
        return found

    def fingerprinted(self, trial: TrialSpec) -> TrialSpec:
        """Return ``trial`` with its :attr:`TrialSpec.inputs` filled in."""
        import dataclasses

        return dataclasses.replace(trial, inputs=self.inputs(trial).digests)

    # -- the roles -------------------------------------------------------------------------
    def _compute(self, trial: TrialSpec, checkpoint: str | None) -> TrialInputs:
        digests: dict[str, str] = {}
        paths: dict[str, Path] = {}
        for role, path in self._files(trial, checkpoint):
            paths[role] = path
            try:
                if role.startswith("controller"):
                    digests[role] = _short(python_source_sha256(path))
                else:
                    digests[role] = _short(file_sha256(path))
            except OSError as exc:
                digests[role] = f"unreadable: {exc.strerror or exc}"
        if not self._software:
            return TrialInputs(digests=digests, paths=paths)
        if trial.generator is not None:
            digests["network generator"] = f"SUMO {sumo_version()}"
        digests["sumo"] = _sumo(trial)
        if self._harness is None:
            self._harness = harness_digest()
        digests["signalbench"] = self._harness
        return TrialInputs(digests=digests, paths=paths)

    @staticmethod
    def _checkpoint_param(controller: str) -> str | None:
        try:
            trainable = registry.trainable(controller)
        except SignalbenchError:
            return None  # the trial fails with the reason when it runs
        return None if trainable is None else trainable.checkpoint_param

    def _files(self, trial: TrialSpec, checkpoint: str | None) -> list[tuple[str, Path]]:
        files: list[tuple[str, Path]] = []
        with contextlib.suppress(SignalbenchError):  # an unknown controller fails the trial itself
            files += controller_sources(trial.controller).items()
        named = trial.params.get(checkpoint) if checkpoint is not None else None
        if isinstance(named, str) and named:
            files.append((f"{FILE_PARAM_ROLE}{checkpoint}", Path(named).expanduser()))
        if trial.generator is None:
            files += _scenario_files(trial)
        return files


def _scenario_files(trial: TrialSpec) -> list[tuple[str, Path]]:
    try:
        scenario = resolve_network(trial.network, route_files=trial.route_files)
    except SignalbenchError:
        return []  # the trial fails with the reason when it runs
    files: list[tuple[str, Path]] = []
    entry = catalog().get(trial.network)
    if entry is not None:
        files.append(("network manifest", entry.manifest))
    elif trial.network.endswith(".sumocfg"):
        files.append(("sumocfg", Path(trial.network).expanduser()))
    files += _roles(scenario)
    return files


def _roles(scenario: Scenario) -> list[tuple[str, Path]]:
    out = [("network", scenario.net_file)]
    for kind, paths in (("routes", scenario.route_files), ("additional", scenario.additional_files)):
        out += [(kind if i == 0 else f"{kind} {i + 1}", p) for i, p in enumerate(paths)]
    return out


def _sumo(trial: TrialSpec) -> str:
    if trial.sumo_version is not None:
        try:
            return normalize_version(trial.sumo_version)
        except SignalbenchError:
            return trial.sumo_version
    if trial.sumo_binary is None:
        return sumo_version()
    binary = Path(trial.sumo_binary).expanduser()
    try:
        return f"{sumo_version(binary)}+{_short(file_sha256(binary))}"
    except (OSError, SignalbenchError):
        return f"unreadable: {trial.sumo_binary}"


# -- telling what changed -------------------------------------------------------------------
def _where(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if rel.startswith(".." + os.sep + "..") else rel


def _what(role: str, path: Path | None) -> str:
    where = _where(path)
    if role == "controller" or role.startswith("controller module"):
        return where or role
    kinds = {
        "network": "network file",
        "routes": "route file",
        "additional": "additional file",
        "sumocfg": "sumocfg",
        "network manifest": "network manifest",
    }
    kind = kinds.get(role.rstrip("0123456789 "), role.removeprefix(FILE_PARAM_ROLE))
    return f"{kind} {where}" if where else kind


def describe_changes(old: Mapping[str, str], new: Mapping[str, str], paths: Mapping[str, Path]) -> list[str]:
    """Say, in a few words each, how the inputs ``new`` differ from ``old`` (nothing if equal).

    ``paths`` names the current file of each role (see :class:`TrialInputs`).
    """
    if not old:
        return ["recorded before inputs were fingerprinted"] if new else []
    out: list[str] = []
    for role in sorted(set(old) | set(new), key=_role_order):
        before, after = old.get(role), new.get(role)
        if before == after:
            continue
        if role in ("sumo", "network generator"):
            prefix = "SUMO release" if role == "sumo" else "SUMO release of the network generator"
            out.append(f"{prefix} changed ({before} → {after})")
        elif role == "signalbench":
            versions = [str(v).split("+")[0] for v in (before, after)]
            out.append(
                "signalbench source changed"
                + (f" ({versions[0]} → {versions[1]})" if versions[0] != versions[1] else "")
            )
        elif before is None:
            module = "module" in role
            out.append(f"{_what(role, paths.get(role))} now imported" if module else f"{role} added")
        elif after is None:
            module = "module" in role
            out.append(
                f"{role.removeprefix('controller module ')} no longer imported"
                if module
                else f"{role} no longer used"
            )
        else:
            out.append(f"{_what(role, paths.get(role))} changed")
    return out


def _role_order(role: str) -> tuple[int, str]:
    order = ("controller", "param", "network", "routes", "additional", "sumocfg", "sumo", "signalbench")
    return (next((i for i, p in enumerate(order) if role.startswith(p)), len(order)), role)


def check_inputs(trial: TrialSpec, fingerprinter: Fingerprinter | None = None) -> None:
    """Raise if a file input of ``trial`` changed since its inputs were recorded.

    A batch plans its trials (and their ids) at the start; a controller or network file edited
    while it runs would otherwise be measured under the old file's id. The installed software
    (SUMO, signalbench) is not checked again: it does not change under a running batch.

    Raises:
        SignalbenchError: names the changed file and says to run again.

    """
    files = [r for r in trial.inputs if r not in SOFTWARE_ROLES]
    if not files:
        return  # nothing read from files (or inputs never recorded: a trial built by hand)
    now = (fingerprinter or Fingerprinter(software=False)).inputs(trial)
    changed = describe_changes(
        {r: trial.inputs[r] for r in files}, {r: now.digests.get(r, "") for r in files}, now.paths
    )
    if changed:
        raise SignalbenchError(
            f"{'; '.join(changed)} since the batch started; run it again to measure the current version"
        )


def group_reasons(reasons: Iterable[str]) -> dict[str, int]:
    """Count identical reasons, most frequent first."""
    counts: dict[str, int] = {}
    for r in reasons:
        counts[r] = counts.get(r, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))
