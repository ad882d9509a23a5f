"""``init-db``: create a configuration's tables and register its codenames
(the channels' and the clients').

Through the backends' registry: the configured backend creates its own layout
(``Backend.create_tables``) with the table-layout options its registry entry declares
(for MySQL/MariaDB: ``engine`` and a microsecond ``TIMESTAMP(6)`` time column for new
tables, ``database.time_precision``), then registers each missing codename in
``dateplots_descriptions``. Existing tables and codenames are left as they are.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..assembly import create_tables
from .config import ServiceConfig

__all__ = ["init_database"]


def init_database(config: ServiceConfig, environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """Create the tables if missing and register the codenames; returns codename → id."""
    return create_tables(config.database, config.descriptions(), environ)
