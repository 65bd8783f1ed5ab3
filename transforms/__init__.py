"""The transforms: one module each, named after the id; ALL_TRANSFORMS is the registry.

A module is registered by existing: every concrete Transform subclass defined in a module
of this package is instantiated once, in module-name order, so adding a transform touches
no shared file.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from codemod.transform import Transform


def _discover() -> tuple[Transform, ...]:
    found: list[Transform] = []
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, Transform)
                and not inspect.isabstract(cls)
                and cls.__module__ == module.__name__
            ):
                if module_info.name != cls.id.replace("-", "_"):
                    raise ImportError(
                        f"transform {cls.id} must live in {cls.id.replace('-', '_')}.py"
                    )
                found.append(cls())
    return tuple(found)


ALL_TRANSFORMS: tuple[Transform, ...] = _discover()

_BY_ID = {transform.id: transform for transform in ALL_TRANSFORMS}


def transform_by_id(transform_id: str) -> Transform | None:
    return _BY_ID.get(transform_id)
