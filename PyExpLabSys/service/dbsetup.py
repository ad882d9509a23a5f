"""``init-db``: create a configuration's tables and register its codenames.

SQLite through :func:`PyExpLabSys.backends.sqlite.create_tables`; MySQL/MariaDB through
:func:`PyExpLabSys.backends.mysql.create_tables` with a microsecond ``TIMESTAMP(6)``
time column for new tables (``database.time_precision``), then one row per missing
codename in ``dateplots_descriptions``. Existing tables and codenames are left as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from .config import ServiceConfig

LOG = logging.getLogger(__name__)

__all__ = ["init_database"]

def _descriptions(config: ServiceConfig) -> dict[str, str]:
    return {ch.codename: ch.description or ch.codename for ch in config.channels}


def init_database(config: ServiceConfig, environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """Create the tables if missing and register the codenames; returns codename → id."""
    db = config.database
    if db.backend == "sqlite":
        from ..backends.sqlite import create_tables

        assert db.path is not None
        ids = create_tables(db.path, db.table, config.codenames)
        return {c: ids[c] for c in config.codenames}
    if db.backend != "mysql":
        raise RuntimeError(f"init-db supports sqlite and mysql, not {db.backend}; "
                           "create the tables with the database's own tools")
    from .runner import build_backend

    backend = build_backend(config, environ)
    ids = backend.create_tables(_descriptions(config), engine=db.engine,  # type: ignore[attr-defined]
                                time_precision=db.time_precision)
    return {c: ids[c] for c in config.codenames}
