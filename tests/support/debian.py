"""Installing Debian packages that a test set-up needs (a database server, an ODBC
driver, a browser), with apt-get when they are missing and we run as root."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Sequence

LOG = logging.getLogger(__name__)

__all__ = ["DebianInstallError", "apt_install"]


class DebianInstallError(RuntimeError):
    """The packages cannot be installed here (not root, no apt-get, or apt-get failed)."""


def apt_install(packages: Sequence[str], why: str) -> None:
    """``apt-get update`` then ``apt-get install -y --no-install-recommends packages``.

    ``why`` says what needs them, for the error when this is not possible.
    """
    apt_get = shutil.which("apt-get")
    if os.geteuid() != 0 or apt_get is None:
        raise DebianInstallError(
            f"{why}: install the Debian package(s) {' '.join(packages)} (needs root and apt-get)"
        )
    LOG.info("installing %s with apt-get (%s)", " ".join(packages), why)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (
        [apt_get, "update", "-q"],
        [apt_get, "install", "-y", "-q", "--no-install-recommends", *packages],
    ):
        result = subprocess.run(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=1200,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
            raise DebianInstallError(f"{' '.join(command)} failed ({result.returncode}): {tail}")
