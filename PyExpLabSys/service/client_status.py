"""What the status shows of the codenames scripts send through the points socket.

The points server counts each codename's points and keeps its newest point and the
connected clients (:meth:`PyExpLabSys.points.server.PointsServer.snapshot`); here they
become one entry per configured client codename, shaped as a channel's entry is, for
``status.json``, ``status`` and the page.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .config import ServiceConfig
from .health import client_state

LOG = logging.getLogger(__name__)

__all__ = ["client_cards"]


def client_cards(config: ServiceConfig, socket: Mapping[str, Any], now: float) -> list[dict[str, Any]]:
    """One entry per client codename, as a channel has one: its description, points,
    newest value and its age, who sends it, and its state (:func:`~.health.client_state`)."""
    senders: dict[str, list[str]] = {}
    for client in socket.get("connected_clients", []):
        for codename in client["codenames"]:
            senders.setdefault(codename, []).append(client["client"])
    cards = []
    for client in config.service.clients:
        seen = socket.get("codenames", {}).get(client.codename, {})
        when = seen.get("last_time")
        card = {
            "codename": client.codename,
            "description": client.description,
            "points": seen.get("points", 0),
            "last_value": seen.get("last_value"),
            "last_time": when,
            "age": None if when is None else max(0.0, now - when),
            "clients": senders.get(client.codename, []),
        }
        card["state"] = client_state(card)
        cards.append(card)
    return cards
