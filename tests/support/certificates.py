"""Throw-away certificates for TLS tests: a CA, a server and a client certificate.

Made with the ``openssl`` command (on every Debian machine) in a folder of the test's,
valid for two days. :func:`make_pki` returns the file paths.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Pki", "make_pki"]


@dataclass(frozen=True)
class Pki:
    """The files of one throw-away public-key infrastructure."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    binary = shutil.which("openssl")
    if binary is None:
        raise RuntimeError("the TLS tests need the openssl command (Debian: apt-get install openssl)")
    subprocess.run([binary, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _signed(folder: Path, ca: str, name: str, subject: str, alt_names: str) -> tuple[Path, Path]:
    """A key and a certificate for ``subject``, signed by the CA ``ca`` (file stem)."""
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.csr",
        "-subj",
        f"/CN={subject}",
        cwd=folder,
    )
    extensions = folder / f"{name}.ext"
    extensions.write_text(f"subjectAltName={alt_names}\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        f"{ca}.pem",
        "-CAkey",
        f"{ca}.key",
        "-CAcreateserial",
        "-out",
        f"{name}.pem",
        "-days",
        "2",
        "-extfile",
        extensions.name,
        cwd=folder,
    )
    return folder / f"{name}.pem", folder / f"{name}.key"


def make_pki(folder: Path, server_names: str = "DNS:localhost,IP:127.0.0.1", ca_name: str = "ca") -> Pki:
    """A CA and a server and a client certificate signed by it, in ``folder``.

    ``server_names`` is the server certificate's subjectAltName (what host names a
    client that verifies the identity accepts)."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        f"{ca_name}.key",
        "-out",
        f"{ca_name}.pem",
        "-days",
        "2",
        "-subj",
        f"/CN=PyExpLabSys test CA {ca_name}",
        cwd=folder,
    )
    server_cert, server_key = _signed(
        folder, ca_name, f"{ca_name}-server", "pyexplabsys-test-db", server_names
    )
    client_cert, client_key = _signed(folder, ca_name, f"{ca_name}-client", "labuser", "DNS:labuser")
    return Pki(folder / f"{ca_name}.pem", server_cert, server_key, client_cert, client_key)
