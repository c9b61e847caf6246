"""Generated kernel modules on disk, keyed by the description's content hash.

A module is written once (atomically) to ``$OPTOWAVE_KERNEL_CACHE`` (default
``$XDG_CACHE_HOME/optowave/kernels``, else ``~/.cache/optowave/kernels``) and imported from there,
so numba's ``cache=True`` keeps its machine code beside it: a second process that runs the same
model compiles nothing. The file is never rewritten while its text is unchanged (numba keys its
cache on the file's modification time too).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

__all__ = ["cache_dir", "load_generated"]

_LOADED: dict[str, ModuleType] = {}


def cache_dir() -> Path:
    """Where generated modules are kept (created on first use)."""
    env = os.environ.get("OPTOWAVE_KERNEL_CACHE")
    if env:
        root = Path(env)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = Path(base) / "optowave" / "kernels"
    root.mkdir(parents=True, exist_ok=True)
    return root


def load_generated(stem: str, source: str) -> ModuleType:
    """Import the module ``source`` as ``stem`` (written to the cache if not there with this text)."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    name = f"{stem}_{digest}"
    hit = _LOADED.get(name)
    if hit is not None:
        return hit
    path = cache_dir() / f"{name}.py"
    if not path.exists() or path.read_text() != source:
        # written beside, then renamed: a concurrent process never imports half a file
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(source)
        os.replace(tmp, path)
    modname = f"optowave_generated.{name}"
    spec = importlib.util.spec_from_file_location(modname, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    spec.loader.exec_module(module)
    _LOADED[name] = module
    return module
