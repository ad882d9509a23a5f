"""The build's one addition to pyproject.toml: ``pyexplabsys_logger.pth`` at the top of the
wheel (site-packages), whose import line puts :mod:`PyExpLabSys.upstream`'s finder first at
start-up, so this package's modules win over an upstream checkout on PYTHONPATH and the
checkout serves the rest. The metadata stays in pyproject.toml."""

from __future__ import annotations

import os

from setuptools import setup
from setuptools.command.build_py import build_py

PTH = "pyexplabsys_logger.pth"
# Python runs a .pth line that starts with "import" at start-up (site.py). This one finds
# the site-packages directory that holds this .pth and runs PyExpLabSys/upstream.py from
# it by its path (importing the package by name would import the checkout's).
PTH_TEXT = (
    "# pyexplabsys-logger: this package's PyExpLabSys modules first, an upstream checkout for the rest\n"
    "import os, sys, importlib.util as _u; "
    "_d = next((p for p in sys.path if os.path.isfile(os.path.join(p, 'pyexplabsys_logger.pth'))), None); "
    "_s = _d and _u.spec_from_file_location('_pyexplabsys_upstream', "
    "os.path.join(_d, 'PyExpLabSys', 'upstream.py')); "
    "_m = _s and _u.module_from_spec(_s); "
    "_s and (_s.loader.exec_module(_m), _m.install())\n"
)


class BuildPyWithPth(build_py):
    """build_py, plus the .pth file beside the package."""

    def run(self) -> None:
        super().run()
        if not getattr(self, "editable_mode", False):  # an editable install imports the source tree's package
            with open(os.path.join(self.build_lib, PTH), "w", encoding="utf-8") as out:
                out.write(PTH_TEXT)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        return (
            outputs
            if getattr(self, "editable_mode", False)
            else [*outputs, os.path.join(self.build_lib, PTH)]
        )


setup(cmdclass={"build_py": BuildPyWithPth})
