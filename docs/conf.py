"""Sphinx configuration of the reference under docs/ (built by ``make docs``, which
``make test`` runs with warnings as errors; the HTML goes to build/docs/html).

Every ``docs/<topic>.rst`` is a page: index.rst's toctree takes them all by a glob.
``docs/instruments.md`` is markdown, read through MyST. No autodoc: the pages are
written for users, and the code's docstrings are written for its readers.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

_PROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]

project = "PyExpLabSys data logger"
author = "the PyExpLabSys-logger developers"
copyright = "the PyExpLabSys-logger developers; GPL-3.0-or-later"
release = version = _PROJECT["version"]

extensions = ["myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns: list[str] = []
# `code` in a page is a literal, as in README.rst (not a cross-reference to look up).
default_role = "literal"
# MyST: the markdown page's headings get anchors, so rst pages can link to its sections.
myst_heading_anchors = 2

html_theme = "alabaster"
html_title = f"{project} {release}"
html_show_sourcelink = False
html_theme_options = {"page_width": "1100px", "sidebar_width": "240px"}
