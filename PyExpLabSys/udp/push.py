"""The push socket: clients send data sets (dicts) to it; it keeps them, queues them or
hands them to a callback, and replies.

Commands: ``json_wn#{"name": value, ...}`` and ``raw_wn#name:type:data;...`` (see
:mod:`.rawcodec`) carry a data set; ``name``, ``status`` and ``commands`` ask. Replies:
``ACK#<the data set as Python prints it>`` when stored, ``RET#<value>`` with a callback's
result (action ``callback_direct``), ``EXCEP#<message>`` when the callback raised,
``ERROR#<message>`` for a request that was not understood (``ERROR#UNKNOWN_COMMMAND``
for an unknown one).

Every data set becomes ``last`` and is merged into ``updated``; the actions add:
``enqueue`` puts it on a queue, ``callback_async`` calls the callback on a thread of its
own (in order), ``callback_direct`` calls it while the sender waits for the result.
"""

from __future__ import annotations

import json
import logging
import queue as queue_module
import threading
import time
from collections.abc import Callable
from typing import Any

from . import registry
from .limits import DatagramLimits
from .pull import dumps
from .rawcodec import format_raw, parse_raw_with_names
from .server import DatagramServer, Refused, ServingThread
from .system_status import status_text
from .wire import PUSH_ACK, PUSH_ERROR, PUSH_EXCEP, PUSH_RET, UNKNOWN_COMMAND

LOG = logging.getLogger(__name__)

__all__ = ["ACTIONS", "RETURN_FORMATS", "CallBackThread", "PushAnswerer", "PushSocket"]

ACTIONS = ("store_last", "enqueue", "callback_async", "callback_direct")
RETURN_FORMATS = ("json", "raw", "string")
_COMMANDS = ["json_wn#", "raw_wn#", "name", "status", "commands"]


class PushAnswerer:
    """Carries out push commands on a socket's :data:`~.registry.DATA` entry."""

    def __init__(self, entry: dict[str, Any], callback: Callable[[Any], Any] | None) -> None:
        self.entry = entry
        self.callback = callback
        self.callback_errors = 0

    def refusal(self, reason: str) -> str:
        return f"{PUSH_ERROR}#{reason}"

    def answer(self, request: str) -> str:
        if request == "name":
            return f"{PUSH_RET}#{self.entry['name']}"
        if request == "commands":
            return f"{PUSH_RET}#{json.dumps(_COMMANDS)}"
        if request == "status":
            return status_text()
        if request.count("#") != 1:
            raise Refused(f"{PUSH_ERROR}#{UNKNOWN_COMMAND}")
        command, data = request.split("#")
        try:
            if command == "json_wn":
                data_set = _json_with_names(data)
            elif command == "raw_wn":
                data_set = parse_raw_with_names(data)
            else:
                raise Refused(f"{PUSH_ERROR}#{UNKNOWN_COMMAND}")
        except ValueError as error:
            raise Refused(f"{PUSH_ERROR}#{error}") from None
        return self._take(data_set)

    def _take(self, data: dict[str, Any]) -> str:
        entry = self.entry
        if "queue" in entry:  # enqueue, callback_async: first, so a full queue stores nothing
            try:
                entry["queue"].put_nowait(data)
            except queue_module.Full:
                raise Refused(f"{PUSH_ERROR}#The queue is full; the data set was not stored") from None
        now = time.time()
        entry["last"], entry["last_time"] = data, now
        entry["updated"].update(data)
        entry["updated_time"] = now
        if entry["action"] != "callback_direct":
            return f"{PUSH_ACK}#{data}"
        assert self.callback is not None
        try:
            result = self.callback(data)
        except Exception as error:  # the script's callback: its error goes back to the sender
            self.callback_errors += 1
            LOG.debug("push socket callback raised", exc_info=True)
            return f"{PUSH_EXCEP}#{error}"
        return _format_return(result, entry["return_format"])


def _json_with_names(data: str) -> dict[str, Any]:
    try:
        decoded = json.loads(data)
    except (ValueError, RecursionError):
        raise ValueError(f"The string '{data}' could not be decoded as JSON") from None
    if not isinstance(decoded, dict):
        raise ValueError(f"The object '{decoded}' returned after decoding the JSON string is not a dict")
    return decoded


def _format_return(value: Any, return_format: str) -> str:
    if return_format == "json":
        try:
            return f"{PUSH_RET}#{dumps(value)}"
        except (TypeError, ValueError) as error:
            return f"{PUSH_EXCEP}#{error}"
    if return_format == "raw":
        try:
            return f"{PUSH_RET}#{format_raw(value)}"
        except Exception as error:  # any value a callback may return
            return f"{PUSH_EXCEP}#Raw conversion failed with message:{error}"
    try:
        return f"{PUSH_RET}#{value}"
    except Exception as error:  # a __str__ that raises
        return f"{PUSH_EXCEP}#{error}"


class CallBackThread(threading.Thread):
    """Calls ``callback`` with each item of ``queue``, in order, until stopped. An error
    in the callback is logged and counted; the next item is still handed over."""

    def __init__(self, queue: Any, callback: Callable[[Any], Any]) -> None:
        super().__init__(name="push-socket-callback", daemon=True)
        self.queue = queue
        self.callback = callback
        self.errors = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                item = self.queue.get(True, 0.2)
            except queue_module.Empty:
                continue
            try:
                self.callback(item)
            except Exception:  # the script's callback; it is called again for the next item
                self.errors += 1
                LOG.exception("push socket callback raised on %r", item)

    def stop(self) -> None:
        self._stop_event.set()


class PushSocket(ServingThread):
    """A push socket server on ``(host, port)``; see the module's description."""

    def __init__(
        self,
        name: str,
        port: int = 8500,
        action: str = "store_last",
        queue: Any = None,
        callback: Callable[[Any], Any] | None = None,
        return_format: str = "json",
        check_activity: bool = False,
        activity_timeout: float = 900,
        *,
        host: str = "",
        limits: DatagramLimits = DatagramLimits(),
    ) -> None:
        if queue is not None and action != "enqueue":
            raise ValueError("The 'queue' argument can only be used when the action is 'enqueue'")
        if callback is not None and action not in ("callback_async", "callback_direct"):
            raise ValueError(
                "The 'callback' argument can only be used when the action is 'callback_async' or "
                "'callback_direct'"
            )
        if action in ("callback_async", "callback_direct") and not callable(callback):
            raise ValueError(f"Value for callback: '{callback}' is not callable")
        if return_format not in RETURN_FORMATS:
            raise ValueError(
                "The 'return_format' argument may only be one of the 'json', 'raw' or 'string' values"
            )
        if action not in ACTIONS:
            raise ValueError(
                f"Unknown action '{action}'. Must be one of: ['store_last', 'enqueue', "
                "'callback_async', 'callback_direct']"
            )
        registry.check_free(port)
        entry: dict[str, Any] = {
            "action": action,
            "last": None,
            "type": "push",
            "updated": {},
            "last_time": None,
            "updated_time": None,
            "name": name,
            "activity": registry.activity_entry(check_activity, activity_timeout),
        }
        self._callback_thread: CallBackThread | None = None
        if action == "enqueue":
            entry["queue"] = queue_module.Queue() if queue is None else queue
        elif action == "callback_async":
            assert callback is not None
            entry["queue"] = queue_module.Queue()
            self._callback_thread = CallBackThread(entry["queue"], callback)
        elif action == "callback_direct":
            entry["callback"] = callback
            entry["return_format"] = return_format
        self.answerer = PushAnswerer(entry, callback)
        server = DatagramServer(host, port, self.answerer, limits)
        super().__init__(server, name=f"push-socket-{server.port}")
        self.port = server.port
        self.action = action
        self._entry = entry
        registry.register(self.port, entry)
        LOG.info("push socket %r on UDP port %d (%s)", name, self.port, action)

    def run(self) -> None:
        if self._callback_thread is not None:
            self._callback_thread.start()
        super().run()

    def stop(self) -> None:
        """Stop serving (and calling back), free the port and remove it from DATA."""
        if self._callback_thread is not None:
            self._callback_thread.stop()
        self.close_server()
        registry.release(self.port, self._entry)
        LOG.info("push socket on UDP port %d stopped", self.port)

    @property
    def stats(self) -> dict[str, int]:
        """Datagrams received, answered, refused ..., and callback_errors."""
        errors = self.answerer.callback_errors
        if self._callback_thread is not None:
            errors += self._callback_thread.errors
        return {**self.server.stats, "callback_errors": errors}

    @property
    def queue(self) -> Any:
        """The queue of received data sets (None unless the action queues them)."""
        return self._entry.get("queue")

    @property
    def last(self) -> tuple[float | None, dict[str, Any] | None]:
        """``(time, data set)`` of the last reception, ``(None, None)`` before any."""
        last = self._entry["last"]
        return self._entry["last_time"], None if last is None else dict(last)

    @property
    def updated(self) -> tuple[float | None, dict[str, Any]]:
        """``(time, newest value of every name ever received)``."""
        return self._entry["updated_time"], dict(self._entry["updated"])

    def set_last_to_none(self) -> None:
        self._entry["last"] = self._entry["last_time"] = None

    def clear_updated(self) -> None:
        self._entry["updated"].clear()
        self._entry["updated_time"] = None

    def poke(self) -> None:
        """Tell the socket there is activity (the ``status`` command reports it)."""
        registry.poke(self._entry)
