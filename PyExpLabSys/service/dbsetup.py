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

DESCRIPTIONS_TABLE = "dateplots_descriptions"


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
    import pymysql

    from ..backends.mysql import create_tables

    conn = pymysql.connect(host=db.host, port=db.port, user=db.user,
                           password=db.password(environ), database=db.database,
                           connect_timeout=db.timeouts.connect, read_timeout=db.timeouts.read,
                           write_timeout=db.timeouts.write)
    try:
        create_tables(conn, db.table, engine=db.engine, time_precision=db.time_precision)
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT id, codename FROM {DESCRIPTIONS_TABLE}")
            ids = {codename: int(type_id) for type_id, codename in cursor.fetchall()}
            for codename, description in _descriptions(config).items():
                if codename not in ids:
                    cursor.execute(
                        f"INSERT INTO {DESCRIPTIONS_TABLE} (codename, description) VALUES (%s, %s)",
                        (codename, description),
                    )
                    ids[codename] = int(cursor.lastrowid)
                    LOG.info("registered codename %s as %d", codename, ids[codename])
        conn.commit()
    finally:
        conn.close()
    return {c: ids[c] for c in config.codenames}
