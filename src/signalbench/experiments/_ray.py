"""Trials on a Ray cluster: what travels with them, one process each, versions checked.

A cluster user's machines share nothing with the driver but the signalbench installation:

- **User files travel with the job, by content.** Every input file of a trial that is not part
  of the installation (a controller given by path and the modules it imports from its folder,
  a network, route or sumocfg file given by path, a checkpoint) is read on the driver, put in
  Ray's object store once per content (keyed by its SHA-256), and written on the worker under
  ``<cache>/ray-shipped/<manifest digest>/`` at its driver path (so a sumocfg's relative
  references and a controller's sibling imports still resolve). The trial runs on those
  copies; its inputs are checked against the digests in its id before it starts
  (:func:`check_inputs`), so the shipped bytes are the bytes the trial id names. The record
  keeps the driver's paths.
- **SUMO releases** named by ``--sumo-version`` are installed on a worker on first use (one
  install per node, under a lock).
- **One process per trial** (``max_calls=1``): a crash takes only its trial, and the record's
  ``peak_rss_mib`` is that trial's own.
- **Versions**: a worker whose signalbench code, SUMO or sumo-rl differ from the driver's
  refuses the trial, and the batch stops with one line naming the node and both versions.
- **Training** runs as a task of its own (:func:`worker_train`), one per checkpoint the batch
  needs, with the same shipping, isolation and version check as a trial; the checkpoint comes
  back as bytes with their SHA-256 and goes into the driver's cache under the key a local
  training would use (its key is content-based, so the trials' ids do not change).
- **Checkpoints** in the driver's cache travel like the other files and are put where the
  worker's cache looks for them, so no node trains again.
- **Outputs**: with ``--keep-sumo-output`` each trial's SUMO output folder comes back packed
  and is unpacked under the driver's ``sumo-output/``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from signalbench._util import atomic_write_bytes, cache_dir, file_lock
from signalbench.controllers import registry
from signalbench.errors import SignalbenchError
from signalbench.experiments._execute import raised_at, run_trial, training_request
from signalbench.experiments._fingerprint import Fingerprinter, check_inputs, harness_digest
from signalbench.experiments._trial import TrialResult, TrialSpec
from signalbench.networks import catalog, looks_like_path
from signalbench.sim import find_sumo, install_sumo, sumo_version

__all__ = [
    "SCRATCH_MARK",
    "Shipment",
    "local_versions",
    "localise",
    "ship",
    "unpack",
    "version_mismatch",
    "worker_run",
    "worker_train",
]

#: Stands for the worker's scratch folder in a returned record (the driver puts its own).
SCRATCH_MARK = "<signalbench-scratch>"

#: Folder (under the worker's cache) where shipped files are written.
SHIPPED = "ray-shipped"


def local_versions() -> dict[str, str]:
    """Return what a worker must share with the driver: signalbench's code, SUMO, sumo-rl."""
    from importlib import metadata

    try:
        sumo_rl = metadata.version("sumo-rl")
    except metadata.PackageNotFoundError:
        sumo_rl = "not installed"
    try:
        sumo = sumo_version()
    except SignalbenchError as exc:
        sumo = f"unavailable ({exc})"
    return {"signalbench": harness_digest(), "SUMO": sumo, "sumo-rl": sumo_rl}


def version_mismatch(driver: Mapping[str, str], worker: Mapping[str, str], node: str) -> str | None:
    """Return the one line refusing a worker whose versions differ from the driver's, or None."""
    diffs = [f"{k} {worker.get(k)} (driver: {v})" for k, v in driver.items() if worker.get(k) != v]
    if not diffs:
        return None
    return (
        f"Ray node {node} runs {'; '.join(diffs)}: install the driver's versions on every node "
        "(the same signalbench, SUMO and sumo-rl), then run again"
    )


def _installed_roots() -> list[Path]:
    """Folders every node has by installation: Python's prefixes, signalbench, the catalog."""
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(__file__).resolve().parents[1]}
    for entry in catalog().values():
        roots.add(entry.manifest.parent)
    return [r.resolve() for r in roots]


def _is_installed(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


@dataclasses.dataclass(frozen=True)
class Shipment:
    """The user files of one trial: driver path -> SHA-256 of its bytes, and the manifest's key."""

    files: dict[str, str]
    key: str
    checkpoint: str | None = None  # driver path of the trained checkpoint the trial uses

    @property
    def empty(self) -> bool:
        return not self.files


def ship(
    trial: TrialSpec, roots: list[Path] | None = None, fingerprinter: Fingerprinter | None = None
) -> Shipment:
    """Return the files ``trial`` needs that are not part of the installation (read on the driver)."""
    roots = _installed_roots() if roots is None else roots
    inputs = (fingerprinter or Fingerprinter(software=False)).inputs(trial)
    files: dict[str, str] = {}
    for path in inputs.paths.values():
        full = Path(path).expanduser().resolve()
        if not full.is_file() or _is_installed(full, roots):
            continue
        files[str(full)] = hashlib.sha256(full.read_bytes()).hexdigest()
    checkpoint = None
    with contextlib.suppress(SignalbenchError, OSError):
        request = training_request(trial)  # in the driver's cache (trained here or on the cluster)
        if request is not None and request.checkpoint_path().is_file():
            checkpoint = str(request.checkpoint_path())
            files[checkpoint] = hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()
    manifest = "\n".join(f"{p}\0{d}" for p, d in sorted(files.items()))
    key = hashlib.sha256(manifest.encode()).hexdigest()[:16]
    return Shipment(files=files, key=key, checkpoint=checkpoint)


def localise(trial: TrialSpec, root: Path | None, shipped: Mapping[str, str] | None = None) -> TrialSpec:
    """Return ``trial`` with its file paths moved.

    On the driver (``root`` None) every path becomes absolute (relative to the driver's folder);
    on a worker, every shipped path is replaced by its copy under ``root``.
    """

    def moved(text: str) -> str:
        full = Path(text).expanduser()
        if root is None:
            return str(full.resolve())
        if not full.is_absolute() or shipped is None or str(full) not in shipped:
            return text
        return str(root / full.relative_to(full.anchor))

    changes: dict[str, Any] = {}
    if trial.generator is None and catalog().get(trial.network) is None and looks_like_path(trial.network):
        changes["network"] = moved(trial.network)
    if trial.route_files:
        changes["route_files"] = tuple(moved(r) for r in trial.route_files)
    ref, sep, cls = trial.controller.rpartition(":")
    if sep and ref.endswith(".py"):
        changes["controller"] = f"{moved(ref)}:{cls}"
    with contextlib.suppress(SignalbenchError):
        trainable = registry.trainable(trial.controller)
        name = None if trainable is None else trainable.checkpoint_param
        if name is not None and isinstance(trial.params.get(name), str) and trial.params[name]:
            changes["params"] = {**trial.params, name: moved(str(trial.params[name]))}
    return dataclasses.replace(trial, **changes) if changes else trial


def _materialise(ray: Any, key: str, files: Mapping[str, str], refs: Mapping[str, Any]) -> Path:
    """Write the shipped files on this node (once per content) and return their root folder."""
    root = cache_dir(SHIPPED) / key
    with file_lock(cache_dir(SHIPPED) / f".{key}.lock"):
        for path, digest in files.items():
            target = root / Path(path).relative_to(Path(path).anchor)
            if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == digest:
                continue
            data: bytes = ray.get(refs[digest])
            if hashlib.sha256(data).hexdigest() != digest:
                raise SignalbenchError(f"{path}: the bytes shipped to this node do not match their digest")
            atomic_write_bytes(target, data)
    return root


def _ensure_sumo(version: str | None) -> None:
    """Install the SUMO release a trial names on this node, once (the first trial that needs it)."""
    if version is None or find_sumo(version) is not None:
        return
    from signalbench.sim import sumo_cache_dir

    with file_lock(sumo_cache_dir() / ".install.lock"):
        if find_sumo(version) is None:
            install_sumo(version, quiet=True)


def _pack(folder: Path) -> bytes | None:
    if not folder.is_dir():
        return None
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return buffer.getvalue()


def unpack(data: bytes, into: Path) -> None:
    """Unpack a trial's SUMO output folder sent back by a worker into ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(into, filter="data")


def _place_checkpoint(trial: TrialSpec, copy: Path) -> None:
    """Put the driver's trained checkpoint where this node's cache looks for it (same key)."""
    request = training_request(trial)
    if request is None:
        return
    target = request.checkpoint_path()
    data = copy.read_bytes()
    if not target.is_file() or target.read_bytes() != data:
        atomic_write_bytes(target, data)


def _prepared(
    trial_data: dict[str, Any], driver: dict[str, str], key: str, files: dict[str, str], refs: dict[str, Any]
) -> tuple[str, TrialSpec, Path | None] | dict[str, Any]:
    """On a worker: check versions, write the shipped files, install SUMO; return the local trial.

    Returns ``(node, trial as the driver sent it, root of the shipped copies)``, or the answer
    to send back at once: ``{"refused": line}`` or ``{"error": line}``.
    """
    import ray

    node = ray.util.get_node_ip_address()
    refused = version_mismatch(driver, local_versions(), node)
    if refused is not None:
        return {"refused": refused}
    trial = TrialSpec.from_dict(trial_data)
    try:
        root = _materialise(ray, key, files, refs) if files else None
        _ensure_sumo(trial.sumo_version)
    except (SignalbenchError, OSError) as exc:
        return {"error": f"on Ray node {node}: {exc}"}
    return node, trial, root


def worker_train(
    trial_data: dict[str, Any], driver: dict[str, str], key: str, files: dict[str, str], refs: dict[str, Any]
) -> dict[str, Any]:
    """Train the checkpoint one trial needs on a Ray worker (a process of its own).

    Returns ``{"checkpoint": bytes, "digest": SHA-256, "key": training key, "episodes":
    [episode records], "node": ip}``; ``{"error": line}`` when training fails (invalid
    ``train`` table, a controller raising while it learns, SUMO failing); ``{"refused": line}``
    when this node's versions differ from the driver's. The node's own cache keeps the
    checkpoint too (the same file a trial there would look for).
    """
    from signalbench.learning import ensure_trained

    ready = _prepared(trial_data, driver, key, files, refs)
    if isinstance(ready, dict):
        return ready
    node, trial, root = ready
    local = trial if root is None else localise(trial, root, files)
    episodes: list[dict[str, float]] = []
    try:
        check_inputs(local)  # the copies are the bytes the checkpoint's key names, as for a trial
        request = training_request(local)
        if request is None:
            return {"error": f"on Ray node {node}: the trial has nothing to train"}
        # The checkpoint names the network as the driver does (not by this node's copy), so
        # its bytes are those a training on the driver writes.
        request = dataclasses.replace(request, network=trial.network)
        with tempfile.TemporaryDirectory(prefix="signalbench-train-") as workdir:
            path = ensure_trained(
                request, on_episode=lambda _, record: episodes.append(record), workdir=Path(workdir)
            )
        data = path.read_bytes()
    except SignalbenchError as exc:
        return {"error": f"on Ray node {node}: {exc}"}
    except Exception as exc:  # the controller's own learning code: its failure, named
        return {"error": f"on Ray node {node}: {type(exc).__name__}: {exc} (at {raised_at(exc)})"}
    return {
        "checkpoint": data,
        "digest": hashlib.sha256(data).hexdigest(),
        "key": request.key(),
        "episodes": episodes,
        "node": node,
    }


def worker_run(
    trial_data: dict[str, Any],
    keep: bool,
    driver: dict[str, str],
    key: str,
    files: dict[str, str],
    refs: dict[str, Any],
    checkpoint: str | None = None,
) -> dict[str, Any]:
    """Run one trial on a Ray worker (a process of its own); return its record and extras.

    Returns ``{"result": record}`` (plus ``"outputs"``: the packed SUMO output folder with
    ``keep``), or ``{"refused": line}`` when this node's versions differ from the driver's.
    """
    ready = _prepared(trial_data, driver, key, files, refs)
    if isinstance(ready, dict):
        if "refused" in ready:
            return ready
        spec = TrialSpec.from_dict(trial_data)
        failed = TrialResult(trial_id=spec.trial_id, spec=spec, state="failed", error=ready["error"])
        return {"result": failed.to_dict()}
    node, trial, root = ready
    local = trial if root is None else localise(trial, root, files)
    if root is not None and checkpoint is not None:
        try:  # the checkpoint in the driver's cache, so that this node does not train again
            _place_checkpoint(local, root / Path(checkpoint).relative_to(Path(checkpoint).anchor))
        except (SignalbenchError, OSError) as exc:
            error = f"on Ray node {node}: checkpoint: {exc}"
            return {
                "result": TrialResult(
                    trial_id=trial.trial_id, spec=trial, state="failed", error=error
                ).to_dict()
            }
    with tempfile.TemporaryDirectory(prefix="signalbench-") as scratch:
        result = run_trial(local, Path(scratch), keep_outputs=keep)
        out: dict[str, Any] = {}
        if keep:
            out["outputs"] = _pack(Path(scratch) / trial.trial_id)
        record = result.to_dict()  # the driver puts back the spec as it gave it
        prefixes = [(scratch, SCRATCH_MARK)] + ([(str(root), "")] if root is not None else [])
        record["sumo_command"] = [_unmap(arg, prefixes) for arg in record.get("sumo_command", [])]
        out["result"] = record
        out["node"] = node
    return out


def _unmap(arg: str, prefixes: list[tuple[str, str]]) -> str:
    for prefix, replacement in prefixes:
        arg = arg.replace(prefix, replacement)
    return arg
