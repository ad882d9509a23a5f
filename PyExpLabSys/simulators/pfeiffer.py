"""Simulator of a Pfeiffer TPG 262 (speaks the TPG 261 / 262 protocol).

Two-step exchange: mnemonic + CR LF → ACK CR LF (NAK CR LF if unknown), then ENQ →
data + CR LF. ETX clears the input buffer. Gauge 1 reads a drifting pressure, gauge 2
reports "no sensor" (status 5), as on a controller with one gauge plugged in; change
``gauges`` to model other states (a status code, an identification). Faults hit the
data reply (after ENQ), except ``nak`` which replaces the acknowledgement. ``RST`` is
the RS-232 test: from its ENQ on, every character is echoed (that ENQ too) until ETX.
``RES`` (reset) answers ``0``: no pending errors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from .pty_device import PtySimulator

LOG = logging.getLogger(__name__)

ACK = b"\x06\r\n"
NAK = b"\x15\r\n"
ENQ = b"\x05"
ETX = b"\x03"
CRLF = b"\r\n"
#: What the unit answers to an ENQ without a valid preceding request (syntax error).
ERROR_WORD = b"0001\r\n"


@dataclass
class Gauge:
    """State of one gauge: status code (0 ok ... 6), base pressure, identification."""

    status: int = 0
    pressure: float = 1.23e-3
    ident: str = "TPR"


class Tpg26xSimulator(PtySimulator):
    """A TPG 262 with a Pirani on gauge 1 and nothing on gauge 2."""

    name = "tpg26x"
    request_terminator = CRLF

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gauges = [Gauge(), Gauge(status=5, pressure=2.0e-2, ident="noSEn")]
        self.unit = 0  # 0 mbar, 1 Torr, 2 Pa
        self.firmware = "BG5540-C"
        self._pending: str | None = None
        self._testing = False  # splitting requests byte by byte (RS-232 test)

    def split_requests(self, buf: bytearray) -> list[bytes]:
        """ENQ and ETX are requests of their own; ETX also drops what came before. In
        the RS-232 test (from the ENQ after ``RST``) every byte is a request."""
        requests = []
        while buf:
            if self._testing or (buf[0] == ENQ[0] and self._pending == "RST"):
                self._testing = buf[0] != ETX[0]  # ETX ends the test
                requests.append(bytes(buf[:1]))
                del buf[:1]
                continue
            if buf[0] == ENQ[0]:
                requests.append(ENQ)
                del buf[:1]
                continue
            etx, crlf = buf.find(ETX), buf.find(CRLF)
            if etx >= 0 and (crlf < 0 or etx < crlf):
                requests.append(ETX)
                del buf[: etx + 1]
            elif crlf >= 0:
                requests.append(bytes(buf[: crlf + 2]))
                del buf[: crlf + 2]
            else:
                break
        return requests

    def fault_applies(self, kind: str, request: bytes) -> bool:
        if request == ETX:
            return False
        return (request != ENQ) if kind == "nak" else (request == ENQ)

    def nak(self, request: bytes, code: str | None) -> bytes:
        self._pending = None
        return NAK

    def _pressure(self, index: int) -> str:
        gauge = self.gauges[index]
        return f"{gauge.status},{self.drift(gauge.pressure):+.4E}"

    def _data(self, mnemonic: str) -> str | None:
        if mnemonic in ("PR1", "PR2"):
            return self._pressure(int(mnemonic[2]) - 1)
        answers = {
            "PRX": lambda: f"{self._pressure(0)},{self._pressure(1)}",
            "TID": lambda: ",".join(g.ident for g in self.gauges),
            "UNI": lambda: str(self.unit),
            "PNR": lambda: self.firmware,
            "RES": lambda: "0",
            "RST": lambda: "",
        }
        answer = answers.get(mnemonic)
        return answer() if answer else None

    def handle(self, request: bytes) -> bytes | None:
        if request == ENQ and self._pending == "RST":
            return ENQ  # the RS-232 test begins: every character is echoed, this one too
        if len(request) == 1 and request not in (ENQ, ETX):
            return request  # a character during the test (elsewhere requests end in CR LF)
        if request == ETX:
            self._pending = None
            return None
        if request == ENQ:
            mnemonic, self._pending = self._pending, None
            data = self._data(mnemonic) if mnemonic else None
            return ERROR_WORD if data is None else data.encode("ascii") + CRLF
        mnemonic = request[:-2].decode("ascii", "replace")
        if self._data(mnemonic) is None:
            self._pending = None
            return NAK
        self._pending = mnemonic
        return ACK
