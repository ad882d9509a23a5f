"""The classic table layout in MySQL/MariaDB: descriptions table and data table.

``dateplots_descriptions (id, codename, description)`` names the codenames;
``<table> (id, time, type, value)`` holds the points. Used by ``init-db`` (through the
backends' registry), the tests and the benchmarks, on any DB-API connection.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from .sqltext import quote_identifier

LOG = logging.getLogger(__name__)

__all__ = ["DEFAULT_DATABASE", "DESCRIPTIONS_TABLE", "ENGINES", "create_tables", "register_codenames"]

#: The database of the classic layout when nothing names one (PyExpLabSys's default).
DEFAULT_DATABASE = "cinfdata"
DESCRIPTIONS_TABLE = "dateplots_descriptions"
#: The storage engines a data table may use (InnoDB gets the exactly-once ledger).
ENGINES = ("InnoDB", "MyISAM", "Aria")


def create_tables(
    conn: Any,
    table: str,
    engine: str = "InnoDB",
    descriptions_table: str = DESCRIPTIONS_TABLE,
    time_precision: int = 0,
) -> None:
    """Create the classic layout (descriptions table and one data table) if missing."""
    if not 0 <= time_precision <= 6:
        raise ValueError("time_precision must be 0 to 6")
    if engine.upper() not in {e.upper() for e in ENGINES}:
        raise ValueError(f"unsupported engine {engine!r}")
    time_type = f"TIMESTAMP({time_precision})" if time_precision else "TIMESTAMP"
    default_time = f"CURRENT_TIMESTAMP({time_precision})" if time_precision else "CURRENT_TIMESTAMP"
    with contextlib.closing(conn.cursor()) as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {quote_identifier(descriptions_table)} ("
            " id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
            " codename VARCHAR(128) NOT NULL,"
            " description VARCHAR(255) NULL"
            f") ENGINE={engine}"
        )
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {quote_identifier(table)} ("
            " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
            f" time {time_type} NOT NULL DEFAULT {default_time},"
            " type SMALLINT NOT NULL,"
            " value DOUBLE NULL,"
            " KEY type_time (type, time)"
            f") ENGINE={engine}"
        )
    conn.commit()


def register_codenames(
    conn: Any,
    descriptions: Mapping[str, str],
    placeholder: str = "%s",
    descriptions_table: str = DESCRIPTIONS_TABLE,
) -> dict[str, int]:
    """Add a row for each codename in ``descriptions`` (codename → description) that has
    none; returns the ids of all of them."""
    table_sql = quote_identifier(descriptions_table)
    insert = f"INSERT INTO {table_sql} (codename, description) VALUES (%s, %s)".replace("%s", placeholder)
    with contextlib.closing(conn.cursor()) as cursor:
        cursor.execute(f"SELECT id, codename FROM {table_sql}")
        ids = {codename: int(type_id) for type_id, codename in cursor.fetchall()}
        for codename, description in descriptions.items():
            if codename not in ids:
                cursor.execute(insert, (codename, description))
                cursor.execute("SELECT LAST_INSERT_ID()")
                ids[codename] = int(cursor.fetchone()[0])
                LOG.info("registered codename %s as %d", codename, ids[codename])
    conn.commit()
    return {codename: ids[codename] for codename in descriptions}
