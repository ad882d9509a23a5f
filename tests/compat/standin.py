"""An upstream stand-in checkout: its own ``PyExpLabSys/__init__.py``, ``common/loggers.py``,
``drivers/some_driver.py`` (which imports a module this package has), a module this
package also has (``drivers/xgs600.py``) and ``auxiliary/pid.py``; each says it is the
checkout's. And the script that imports both sides and prints where each module came
from."""

from __future__ import annotations

import json
from pathlib import Path

FILES = {
    "PyExpLabSys/__init__.py": "WHO = 'checkout'\n",
    "PyExpLabSys/common/__init__.py": "",
    "PyExpLabSys/common/loggers.py": "WHO = 'checkout'\nraise RuntimeError('the checkout\\'s loggers ran')\n",
    "PyExpLabSys/drivers/__init__.py": "",
    "PyExpLabSys/drivers/some_driver.py": (
        "from PyExpLabSys.common.supported_versions import python2_and_3\n"
        "python2_and_3(__file__)\nWHO = 'checkout'\n"
    ),
    "PyExpLabSys/drivers/xgs600.py": "raise RuntimeError('the checkout\\'s xgs600 ran')\n",
    "PyExpLabSys/auxiliary/__init__.py": "",
    "PyExpLabSys/auxiliary/pid.py": "WHO = 'checkout'\n",
}

MODULES = [
    "PyExpLabSys",
    "PyExpLabSys.common.loggers",
    "PyExpLabSys.common.database_saver",
    "PyExpLabSys.common.value_logger",
    "PyExpLabSys.common.utilities",
    "PyExpLabSys.common.supported_versions",
    "PyExpLabSys.settings",
    "PyExpLabSys.drivers.xgs600",
    "PyExpLabSys.drivers.some_driver",
    "PyExpLabSys.auxiliary.pid",
]
#: The modules the checkout must serve; the rest are this package's.
FROM_CHECKOUT = {"PyExpLabSys.drivers.some_driver", "PyExpLabSys.auxiliary.pid"}

SCRIPT = (
    "import importlib, json, sys\n"
    f"names = {MODULES!r}\n"
    "print(json.dumps({name: importlib.import_module(name).__file__ for name in names}))\n"
)


def make_checkout(home: Path) -> Path:
    """``home/PyExpLabSys`` (the checkout's root, as upstream's bootstrap clones it)."""
    root = home / "PyExpLabSys"
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def origins(stdout: str) -> dict[str, str]:
    return dict(json.loads(stdout.strip().splitlines()[-1]))
