"""PyExpLabSys: resilient data logging from laboratory instruments.

Modules this package does not have come from an upstream PyExpLabSys checkout beside
it, when there is one (see :mod:`PyExpLabSys.upstream`).
"""

from . import upstream as _upstream

_upstream.install()
