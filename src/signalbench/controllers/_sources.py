"""Which source files a controller's code comes from, so that a change of them can be noticed.

A controller given as ``file.py:Class`` runs that file and the modules it imports from its own
folder (``import helpers``, ``from lib.util import f``, relative imports inside packages there);
one given as ``package.module:Class`` (or registered through an entry point) runs the modules
of its own top-level package. Imports are found statically (:mod:`ast`), the way Python would
resolve them against the file's folder; imports made at run time by name
(``importlib.import_module``) are not seen. The built-in controllers are part of signalbench,
whose own source the experiments hash as a whole.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

from signalbench.controllers._registry import is_file_reference, registry
from signalbench.errors import ControllerError

__all__ = ["controller_sources"]

_BUILTIN_PREFIX = "signalbench."


def controller_sources(name: str) -> dict[str, Path]:
    """Return the source files of a controller, by role.

    Roles: ``controller`` (the file or module that defines the class) and ``controller module
    NAME`` for every module it imports, directly or not, from its own folder (a file reference)
    or its own top-level package (a module reference). Empty for the built-in controllers.

    Raises:
        ControllerError: the controller cannot be found.

    """
    target, _, _ = name.rpartition(":")
    if is_file_reference(name):
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise ControllerError(f"controller file not found: {target}")
        return _walk(path, root=path.parent, module="", top=None)
    module = target or registry.resolve(name).cls.__module__
    if module == "signalbench" or module.startswith(_BUILTIN_PREFIX):
        return {}
    origin = _module_file(module)
    if origin is None:
        return {}
    top = module.split(".")[0]
    depth = module.count(".") + (1 if origin.name == "__init__.py" else 0)
    root = origin.parents[depth]
    return _walk(origin, root=root, module=module, top=top)


def _module_file(module: str) -> Path | None:
    loaded = sys.modules.get(module)
    file = getattr(loaded, "__file__", None) if loaded is not None else None
    if file is None:
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            return None
        file = spec.origin if spec is not None else None
    if not file or not str(file).endswith(".py"):
        return None
    return Path(file).resolve()


def _walk(main: Path, *, root: Path, module: str, top: str | None) -> dict[str, Path]:
    """Follow imports from ``main`` to files under ``root`` (of package ``top`` when given)."""
    found: dict[str, Path] = {"controller": main}
    seen = {main}
    queue = [(main, module)]
    while queue:
        path, name = queue.pop()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for imported in _imports(path, package):
            if top is not None and imported.split(".")[0] != top:
                continue
            for dotted, file in _files_of(imported, root):
                if file not in seen:
                    seen.add(file)
                    found[f"controller module {dotted}"] = file
                    queue.append((file, dotted))
    return found


def _imports(path: Path, package: str) -> list[str]:
    """Absolute names of the modules a file imports (``from a import b`` gives ``a`` and ``a.b``)."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return []  # the controller fails to load with the real error
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                if node.level - 1 > len(parts):
                    continue
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                stem = ".".join(p for p in (base, node.module or "") if p)
            else:
                stem = node.module or ""
            if stem:
                names.append(stem)
            names += [f"{stem}.{a.name}" if stem else a.name for a in node.names if a.name != "*"]
    return names


def _files_of(dotted: str, root: Path) -> list[tuple[str, Path]]:
    """Return the files that importing ``dotted`` runs under ``root`` (each ``__init__`` on the way)."""
    out: list[tuple[str, Path]] = []
    parts = dotted.split(".")
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        base = root.joinpath(*parts[:i])
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                out.append((name, candidate.resolve()))
                break
        else:
            break  # not a module under root (an attribute, or another package)
    return out
