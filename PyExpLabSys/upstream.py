"""An upstream PyExpLabSys checkout beside this package: its modules for what this one lacks.

Lab PCs run upstream's setup scripts with upstream's checkout on ``PYTHONPATH``
(``$HOME/PyExpLabSys``, where upstream's bootstrap puts it). Python would then import the
checkout's ``PyExpLabSys`` whole and never see this package. Instead:

* every module this package has (the loggers, ``database_saver``, ``value_logger``,
  ``sockets``, ``settings``, ``utilities``, ``supported_versions``, its drivers …: whatever
  files the installed package holds) is this package's;
* every other ``PyExpLabSys`` module (``PyExpLabSys.drivers.cpx400dp``,
  ``PyExpLabSys.auxiliary.pid`` …) is the checkout's.

How: :class:`UpstreamFinder`, first on ``sys.meta_path``, answers for ``PyExpLabSys`` and
each of its subpackages that this package has. It loads this package's ``__init__`` and
gives the package a search path of this package's directory first and the checkout's
same directory after it (a package's ``__path__`` may list several directories), so the
ordinary path finder then finds the rest in the checkout. The finder is installed at
start-up by ``pyexplabsys_logger.pth``, which the wheel puts into site-packages (Python
runs the ``import`` lines of ``.pth`` files after ``PYTHONPATH`` is on ``sys.path`` and
before the script), and by this package's ``__init__`` when it is imported without the
``.pth`` (a source tree). This module imports nothing from the package: the ``.pth``
loads it by its path.

The checkout is the directory named by ``$PYEXPLABSYS_UPSTREAM`` (the checkout's root,
which holds ``PyExpLabSys/``, or that ``PyExpLabSys`` directory itself), and any other
``PyExpLabSys`` package found on ``sys.path``. Without one, importing a module this
package lacks raises ModuleNotFoundError naming the module and saying how to add one.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "ENV",
    "MissingModuleFinder",
    "UpstreamFinder",
    "checkout_roots",
    "install",
    "origin",
    "own_modules",
]

#: The environment variable that names an upstream checkout.
ENV = "PYEXPLABSYS_UPSTREAM"
PACKAGE = "PyExpLabSys"
#: This package's directory (the installed one, or the source tree's).
OWN = Path(__file__).resolve().parent
#: How to add a checkout, for error messages.
HOW_TO_ADD = (
    "upstream's modules come from an upstream PyExpLabSys checkout beside this package: "
    "clone it (git clone https://github.com/CINF/PyExpLabSys $HOME/PyExpLabSys) and put it on "
    "PYTHONPATH (export PYTHONPATH=$PYTHONPATH:$HOME/PyExpLabSys, as upstream's bootstrap does) "
    f"or name it with {ENV}=$HOME/PyExpLabSys"
)


def _package_dir(candidate: Path) -> Path | None:
    """The ``PyExpLabSys`` package directory at or under ``candidate``, if it is one."""
    for folder in (candidate / PACKAGE, candidate):
        if folder.name == PACKAGE and (folder / "__init__.py").is_file():
            return folder
    return None


def checkout_roots() -> list[Path]:
    """The ``PyExpLabSys`` directories of the upstream checkouts, in search order:
    ``$PYEXPLABSYS_UPSTREAM`` first, then those on ``sys.path`` (never this package)."""
    found: list[Path] = []
    named = os.environ.get(ENV)
    candidates = [Path(named).expanduser()] if named else []
    candidates += [Path(entry or os.getcwd()) for entry in sys.path if isinstance(entry, str)]
    for candidate in candidates:
        try:
            folder = _package_dir(candidate)
            if folder is None:
                continue
            folder = folder.resolve()
        except OSError:  # an unreadable or vanished sys.path entry
            continue
        if folder != OWN and folder not in found:
            found.append(folder)
    return found


def _own_file(fullname: str) -> tuple[Path, bool] | None:
    """This package's file of the module ``fullname``, and whether it is a package."""
    parts = fullname.split(".")[1:]
    folder = OWN.joinpath(*parts)
    if (folder / "__init__.py").is_file():
        return folder / "__init__.py", True
    if parts and folder.with_name(parts[-1] + ".py").is_file():
        return folder.with_name(parts[-1] + ".py"), False
    return None


def _is_ours(fullname: str) -> bool:
    return fullname == PACKAGE or fullname.startswith(PACKAGE + ".")


class UpstreamFinder(importlib.abc.MetaPathFinder):
    """This package's modules first, the checkout's directories on each package's path."""

    def find_spec(self, fullname: str, path: Any = None, target: ModuleType | None = None) -> Any:
        if not _is_ours(fullname):
            return None
        own = _own_file(fullname)
        if own is None:
            return None  # the path finder looks in the parent's path: the checkout
        file, is_package = own
        if not is_package:
            return importlib.util.spec_from_file_location(fullname, file)
        parts = fullname.split(".")[1:]
        extra = [str(root.joinpath(*parts)) for root in checkout_roots() if root.joinpath(*parts).is_dir()]
        return importlib.util.spec_from_file_location(
            fullname, file, submodule_search_locations=[str(file.parent), *extra]
        )


class MissingModuleFinder(importlib.abc.MetaPathFinder):
    """Last on ``sys.meta_path``: a ``PyExpLabSys`` module found nowhere is an error
    that says where it was looked for and how to add an upstream checkout."""

    def find_spec(self, fullname: str, path: Any = None, target: ModuleType | None = None) -> Any:
        top = sys.modules.get(PACKAGE)
        if not fullname.startswith(PACKAGE + ".") or top is None or not _from_here(top):
            return None
        raise ModuleNotFoundError(missing_message(fullname), name=fullname)


def missing_message(fullname: str) -> str:
    """Why ``fullname`` cannot be imported, and what to do."""
    roots = checkout_roots()
    if roots:
        where = ", ".join(str(root.parent) for root in roots)
        return (
            f"No module named {fullname!r}: neither pyexplabsys-logger nor the upstream checkout "
            f"({where}) has it"
        )
    return (
        f"No module named {fullname!r}: pyexplabsys-logger does not provide it, and no upstream "
        f"checkout was found; {HOW_TO_ADD}"
    )


def _from_here(module: ModuleType) -> bool:
    file = getattr(module, "__file__", None)
    return file is not None and Path(file).resolve().parent == OWN


def install() -> None:
    """Put the finders on ``sys.meta_path`` (once per process; any copy of this module)."""
    if not any(getattr(f, "_pyexplabsys_upstream", False) for f in sys.meta_path):
        first = UpstreamFinder()
        first._pyexplabsys_upstream = True  # type: ignore[attr-defined]  # found again by the next install()
        sys.meta_path.insert(0, first)
        sys.meta_path.append(MissingModuleFinder())
    top = sys.modules.get(PACKAGE)
    if top is not None and _from_here(top):  # imported before the finder: widen its path
        search = top.__path__
        for root in checkout_roots():
            if str(root) not in search:
                search.append(str(root))


def own_modules() -> list[str]:
    """Every module this package has (from its files, whatever they are)."""
    names = []
    for file in sorted(OWN.rglob("*.py")):
        relative = file.relative_to(OWN).with_suffix("")
        parts = [part for part in relative.parts if part != "__init__"]
        if all(part.isidentifier() for part in parts) and "__pycache__" not in relative.parts:
            names.append(".".join([PACKAGE, *parts]))
    return names


def origin(fullname: str) -> tuple[str, str]:
    """Where ``fullname`` would come from, without importing it: ``("package", file)``,
    ``("checkout", file)`` or ``("missing", why)``."""
    own = _own_file(fullname) if _is_ours(fullname) else None
    if own is not None:
        return "package", str(own[0])
    parts = fullname.split(".")[1:]
    for root in checkout_roots():
        folder = root.joinpath(*parts)
        for file in (folder / "__init__.py", folder.with_name(parts[-1] + ".py") if parts else None):
            if file is not None and file.is_file():
                return "checkout", str(file)
    return "missing", missing_message(fullname)
