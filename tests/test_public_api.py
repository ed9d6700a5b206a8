"""The public surface: every public module declares ``__all__`` and the list is pinned.

The public API is the names each package exports (``airpicture.filters.predict``), plus the
top-level modules (``airpicture.tables``) and the plotting modules; the implementation lives in
private modules, whose names start with an underscore. ``tests/public_api.txt`` pins the
exported names once, so the surface changes only on purpose: after an intended change,
regenerate it with
``python -m tests.test_public_api > tests/public_api.txt``.
"""

import importlib
import pkgutil
from pathlib import Path

import airpicture

PINNED = Path(__file__).with_name("public_api.txt")


def public_modules() -> list[str]:
    names = ["airpicture"]
    for info in pkgutil.walk_packages(airpicture.__path__, "airpicture."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def exported() -> list[str]:
    lines = []
    for name in public_modules():
        module = importlib.import_module(name)
        lines += [f"{name}:{symbol}" for symbol in sorted(getattr(module, "__all__", ()))]
    return lines


def test_every_public_module_declares_all_and_defines_it():
    missing = []
    for name in public_modules():
        module = importlib.import_module(name)
        if not hasattr(module, "__all__"):
            missing.append(name)
            continue
        for symbol in module.__all__:
            assert hasattr(module, symbol), (
                f"{name}.__all__ names {symbol}, which it does not define"
            )
    assert not missing, f"public modules without __all__: {missing}"


def test_exported_names_are_pinned():
    assert exported() == PINNED.read_text().split(), (
        "the public API changed: if on purpose, regenerate tests/public_api.txt"
    )


if __name__ == "__main__":
    print("\n".join(exported()))
