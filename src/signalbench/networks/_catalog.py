"""The network catalog: manifests under the top-level ``networks/`` folder, and user paths."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signalbench._util import data_dir, did_you_mean, file_sha256, load_toml
from signalbench.errors import NetworkError

__all__ = ["NetworkEntry", "Scenario", "canonical_network", "catalog", "looks_like_path", "resolve_network"]

_VERSIONED = re.compile(r"^(.+)-v(\d+)$")

_MANIFEST_KEYS = frozenset(
    {"id", "title", "source", "net_file", "route_files", "additional_files",
     "bundled_additional_files", "begin_s", "end_s", "licence", "licence_short", "notes"}
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """Files and time window of one runnable scenario (network plus demand).

    Attributes:
        id: catalog id, or the path it was given as.
        net_file: the ``.net.xml``.
        route_files: demand files.
        additional_files: additional files (programs, detectors, ...).
        begin_s: start of the scenario's time window [s].
        end_s: end of the scenario's time window [s].

    """

    id: str
    net_file: Path
    route_files: tuple[Path, ...]
    additional_files: tuple[Path, ...] = ()
    begin_s: float = 0.0
    end_s: float = 3600.0

    def shortened(self, duration_s: float | None) -> Scenario:
        """Return the scenario run only ``duration_s`` from its begin (itself for None)."""
        if duration_s is None:
            return self
        return dataclasses.replace(self, end_s=min(self.end_s, self.begin_s + duration_s))

    def files(self) -> tuple[Path, ...]:
        """Every input file, for hashing and provenance."""
        return (self.net_file, *self.route_files, *self.additional_files)

    def content_hash(self) -> str:
        """SHA-256 over the input files' names and bytes (first 16 hex digits)."""
        digest = hashlib.sha256()
        for path in self.files():
            digest.update(path.name.encode())
            digest.update(file_sha256(path).encode())
        return digest.hexdigest()[:16]


@dataclass(frozen=True, kw_only=True)
class NetworkEntry:
    """A catalogued public network, described by a manifest file.

    ``additional_files`` live in the source package's folder; ``bundled_additional_files``
    are small files shipped with signalbench beside the manifest (e.g. a signal program that
    restores a benchmark's original), loaded after them.
    """

    id: str
    title: str
    source_package: str
    source_path: str
    net_file: str
    route_files: tuple[str, ...]
    additional_files: tuple[str, ...]
    begin_s: float
    end_s: float
    licence: str
    notes: str
    manifest: Path
    licence_short: str = ""
    bundled_additional_files: tuple[str, ...] = ()

    def source_dir(self) -> Path:
        """Folder of the network's files inside the installed source package."""
        spec = importlib.util.find_spec(self.source_package)  # does not import the package
        if spec is None or not spec.submodule_search_locations:
            raise NetworkError(
                f"network {self.id!r} needs the Python package {self.source_package!r}: "
                f"pip install {self.source_package.replace('_', '-')}"
            )
        return Path(next(iter(spec.submodule_search_locations))) / self.source_path

    def scenario(self) -> Scenario:
        """Resolve the manifest to files on disk, checking that they exist."""
        base = self.source_dir()
        net = base / self.net_file
        routes = tuple(base / r for r in self.route_files)
        adds = tuple(base / a for a in self.additional_files)
        for path in (net, *routes, *adds):
            if not path.is_file():
                raise NetworkError(f"network {self.id!r}: file missing from {self.source_package}: {path}")
        bundled = tuple(self.manifest.parent / a for a in self.bundled_additional_files)
        for path in bundled:
            if not path.is_file():
                raise NetworkError(
                    f"network {self.id!r}: bundled file missing: {path} (named in {self.manifest.name})"
                )
        adds = (*adds, *bundled)
        return Scenario(
            id=self.id,
            net_file=net,
            route_files=routes,
            additional_files=adds,
            begin_s=self.begin_s,
            end_s=self.end_s,
        )


def _entry_from_manifest(path: Path) -> NetworkEntry:
    data = load_toml(path)
    unknown = sorted(set(data) - _MANIFEST_KEYS)
    if unknown:
        raise NetworkError(f"{path}: unknown field {unknown[0]!r}")
    try:
        source = data["source"]
        return NetworkEntry(
            id=str(data["id"]),
            title=str(data.get("title", "")),
            source_package=str(source["package"]),
            source_path=str(source.get("path", "")),
            net_file=str(data["net_file"]),
            route_files=tuple(str(r) for r in data.get("route_files", ())),
            additional_files=tuple(str(a) for a in data.get("additional_files", ())),
            begin_s=float(data.get("begin_s", 0.0)),
            end_s=float(data.get("end_s", 3600.0)),
            licence=str(data.get("licence", "")),
            notes=str(data.get("notes", "")),
            licence_short=str(data.get("licence_short", "")),
            bundled_additional_files=tuple(str(a) for a in data.get("bundled_additional_files", ())),
            manifest=path,
        )
    except KeyError as exc:
        raise NetworkError(f"{path}: missing field {exc.args[0]!r}") from exc


_CATALOG: dict[str, NetworkEntry] | None = None


def catalog() -> dict[str, NetworkEntry]:
    """Every catalogued network by id, read from the bundled manifests."""
    global _CATALOG
    if _CATALOG is None:
        entries: dict[str, NetworkEntry] = {}
        for path in sorted(data_dir("networks").glob("*.toml")):
            entry = _entry_from_manifest(path)
            if entry.id in entries:
                raise NetworkError(f"{path}: duplicate network id {entry.id!r}")
            entries[entry.id] = entry
        _CATALOG = entries
    return _CATALOG


def _lookup(name: str) -> NetworkEntry:
    entries = catalog()
    if name in entries:
        return entries[name]
    versions = [
        (int(m.group(2)), eid) for eid in entries if (m := _VERSIONED.match(eid)) and m.group(1) == name
    ]
    if versions:
        return entries[max(versions)[1]]  # numeric: v10 is newer than v2
    names = set(entries) | {e.rsplit("-v", 1)[0] for e in entries}
    hint = did_you_mean(name, names, n=3, quote=False, otherwise="; see `signalbench networks`")
    raise NetworkError(f"unknown network {name!r}{hint}")


def canonical_network(ref: str) -> str:
    """Return the versioned catalog id a reference means (``cologne3`` -> ``cologne3-v0``).

    Paths are returned unchanged. Trial ids hash the canonical form, so ``cologne3`` and
    ``cologne3-v0`` are the same trial, and a future ``-v1`` never reuses ``-v0`` results.
    """
    return ref if looks_like_path(ref) else _lookup(ref).id


def looks_like_path(ref: str) -> bool:
    """Tell whether a network reference names a file rather than a catalog id."""
    return ref.endswith((".xml", ".sumocfg", ".gz")) or "/" in ref or Path(ref).exists()


def resolve_network(
    ref: str,
    *,
    route_files: tuple[str, ...] = (),
    begin_s: float | None = None,
    end_s: float | None = None,
) -> Scenario:
    """Resolve a catalog id, a ``.sumocfg`` path or a ``.net.xml`` path (+ routes) to files."""
    if not looks_like_path(ref):
        sc = _lookup(ref).scenario()
        if route_files:
            sc = Scenario(
                id=sc.id,
                net_file=sc.net_file,
                route_files=_paths(route_files),
                additional_files=sc.additional_files,
                begin_s=sc.begin_s,
                end_s=sc.end_s,
            )
    else:
        path = Path(ref).expanduser()
        if path.is_dir():
            raise NetworkError(f"{ref} is a folder, not a network file (give the .sumocfg or .net.xml in it)")
        if not path.is_file():
            raise NetworkError(f"network file not found: {ref}")
        if path.name.endswith(".sumocfg"):
            sc = _from_sumocfg(path, route_files)
        elif path.name.endswith(".net.xml") or path.name.endswith(".net.xml.gz"):
            if not route_files:
                raise NetworkError(f"{ref}: a .net.xml needs route files (route_files = [...])")
            sc = Scenario(id=str(path), net_file=path.resolve(), route_files=_paths(route_files))
        else:
            raise NetworkError(f"{ref}: expected a catalog id, a .sumocfg or a .net.xml file")
    if begin_s is not None or end_s is not None:
        sc = Scenario(
            id=sc.id,
            net_file=sc.net_file,
            route_files=sc.route_files,
            additional_files=sc.additional_files,
            begin_s=sc.begin_s if begin_s is None else float(begin_s),
            end_s=sc.end_s if end_s is None else float(end_s),
        )
    if not sc.end_s > sc.begin_s:
        raise NetworkError(f"network {ref!r}: end_s ({sc.end_s:g}) must be after begin_s ({sc.begin_s:g})")
    return sc


def _paths(files: tuple[str, ...]) -> tuple[Path, ...]:
    out = []
    for f in files:
        p = Path(f).expanduser()
        if p.is_dir():
            raise NetworkError(f"route file {f} is a folder, not a file")
        if not p.is_file():
            raise NetworkError(f"route file not found: {f}")
        out.append(p.resolve())
    return tuple(out)


def _from_sumocfg(path: Path, route_files: tuple[str, ...]) -> Scenario:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise NetworkError(f"{path}: not a readable .sumocfg ({exc})") from exc
    base = path.resolve().parent

    def values(option: str) -> tuple[Path, ...]:
        node = root.find(f".//{option}")
        if node is None:
            return ()
        raw: Any = node.get("value", "")
        return tuple(base / part.strip() for part in str(raw).replace(" ", ",").split(",") if part.strip())

    def number(option: str, default: float) -> float:
        node = root.find(f".//{option}")
        try:
            return float(node.get("value", default)) if node is not None else default
        except ValueError as exc:
            raise NetworkError(f"{path}: <{option}> is not a number") from exc

    nets = values("net-file")
    if not nets:
        raise NetworkError(f"{path}: no <net-file> in the configuration")
    routes = _paths(route_files) if route_files else values("route-files")
    adds = values("additional-files")
    for p in (*nets, *routes, *adds):
        if not p.is_file():
            raise NetworkError(f"{path}: referenced file not found: {p}")
    return Scenario(
        id=str(path),
        net_file=nets[0],
        route_files=routes,
        additional_files=adds,
        begin_s=number("begin", 0.0),
        end_s=number("end", 3600.0),
    )
