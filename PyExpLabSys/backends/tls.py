"""TLS on the wire to MySQL/MariaDB: the settings, and what a TLS failure means.

:class:`TLSSettings` is given to the PyMySQL and ODBC backends (``ssl_ca``,
``ssl_cert``, ``ssl_key``, ``ssl_verify_identity``, as constructor keywords and TOML
keys). With a CA the server's certificate is verified; with ``ssl_verify_identity``
also that it names the host connected to. The files are checked when the settings are
made, so a missing one is an error at the call that named it. Nothing here is logged
but file names: no key material reaches a log, an exception or the status.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["TLS_OPTIONS", "TLSSettings", "tls_failure", "tls_of"]

#: The option names, as constructor keywords and TOML keys.
TLS_OPTIONS = ("ssl_ca", "ssl_cert", "ssl_key", "ssl_verify_identity")


@dataclass(frozen=True)
class TLSSettings:
    """Certificate files for TLS to the database (all optional but together).

    ``ca``: the CA that signed the server's certificate (then it is verified);
    ``cert``/``key``: a client certificate, where the server asks for one;
    ``verify_identity``: the server's certificate must name the host connected to.
    """

    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    verify_identity: bool = False

    def __post_init__(self) -> None:
        for name in ("ca", "cert", "key"):
            value = getattr(self, name)
            if value is None:
                continue
            path = Path(value).expanduser()
            if not path.is_file():
                raise ValueError(f"ssl_{name}: no such file: {path}")
            object.__setattr__(self, name, path)
        if (self.cert is None) != (self.key is None):
            raise ValueError("ssl_cert and ssl_key go together: give both or neither")
        if self.verify_identity and self.ca is None:
            raise ValueError("ssl_verify_identity needs ssl_ca (the CA that signed the server's certificate)")

    @classmethod
    def from_options(
        cls,
        ssl_ca: Any = None,
        ssl_cert: Any = None,
        ssl_key: Any = None,
        ssl_verify_identity: bool | None = None,
    ) -> TLSSettings | None:
        """The settings of these keyword arguments, or None when none is given."""
        if ssl_ca is None and ssl_cert is None and ssl_key is None and not ssl_verify_identity:
            return None
        return cls(ssl_ca, ssl_cert, ssl_key, bool(ssl_verify_identity))

    def pymysql_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``pymysql.connect``."""
        kwargs: dict[str, Any] = {"ssl_verify_identity": self.verify_identity}
        if self.ca is not None:
            kwargs.update(ssl_ca=str(self.ca), ssl_verify_cert=True)
        if self.cert is not None:
            kwargs.update(ssl_cert=str(self.cert), ssl_key=str(self.key))
        if self.ca is None:  # encrypted, not verified: PyMySQL needs an ``ssl`` dict for that
            kwargs["ssl"] = {"check_hostname": False}
        return kwargs

    def odbc_parts(self) -> dict[str, Any]:
        """Connection-string keys of MariaDB Connector/ODBC. Its SSLVERIFY checks the
        certificate and the host name together."""
        return {
            "FORCETLS": 1,
            "SSLCA": None if self.ca is None else str(self.ca),
            "SSLCERT": None if self.cert is None else str(self.cert),
            "SSLKEY": None if self.key is None else str(self.key),
            "SSLVERIFY": 1 if self.ca is not None else 0,
        }

    def describe(self) -> str:
        checks = (
            "certificate and host name"
            if self.verify_identity
            else ("certificate" if self.ca is not None else "not verified")
        )
        return f"TLS ({checks})"


def tls_of(options: Mapping[str, Any]) -> TLSSettings | None:
    """The TLS settings among a backend's options (None: no TLS option given)."""
    return TLSSettings.from_options(**{name: options.get(name) for name in TLS_OPTIONS})


def tls_failure(error: BaseException, tls: TLSSettings | None, host: str) -> str | None:
    """What went wrong with TLS in ``error`` (a client library's), naming the file or
    host to look at; None when it is not a TLS failure."""
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = getattr(cause, "original_exception", None) or cause.__cause__ or cause.__context__
    text = " ".join(str(error).split())
    if isinstance(cause, ssl.SSLCertVerificationError):
        reason = cause.verify_message or cause.reason or str(cause)
        if "hostname" in str(reason).lower() or "ip address mismatch" in str(reason).lower():
            return f"TLS: the server's certificate does not name host {host!r} ({reason})"
        ca = tls.ca if tls is not None else None
        return f"TLS: the server's certificate is not trusted with CA file {ca} ({reason})"
    if cause is not None:
        return f"TLS with {host!r} failed: {cause.reason or cause}"
    if "SSL" in text or "TLS" in text:  # ODBC: Connector/C's message in the diagnostic
        with_ca = f" (CA file {tls.ca})" if tls is not None and tls.ca is not None else ""
        return f"TLS with {host!r} failed{with_ca}: {text}"
    return None
