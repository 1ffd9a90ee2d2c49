"""Finding the record types: every module of the models package is imported, so a new system
(or a new record type in its own module) is registered by being there — no list to extend."""

from __future__ import annotations

import importlib
import pkgutil


def import_modules(package: str, path, *, first: tuple[str, ...] = ()) -> list[str]:
    """Import ``first`` (modules others build on) and then every other module of the package,
    in name order; returns their names."""
    names = [m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_")]
    ordered = [n for n in first if n in names] + sorted(n for n in names if n not in first)
    for name in ordered:
        importlib.import_module(f"{package}.{name}")
    return ordered
