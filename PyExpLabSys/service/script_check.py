"""``pyexplabsys-logger check-script``: what a lab script needs before the switch.

For each ``PyExpLabSys`` import of a script (found by parsing it; nothing of the script
runs) it says where the module comes from: this package, the upstream checkout (see
:mod:`PyExpLabSys.upstream`), or missing, with why; for names imported from this
package's modules it checks that the module has them. It also finds calls and modules
that Python 3 no longer has (``Thread.isAlive()``, ``dict.has_key()``, ``import Queue``
…) and a script that does not parse as Python 3 at all (a Python 2 ``print`` statement).
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass, field
from pathlib import Path

from .. import upstream

__all__ = ["Finding", "ScriptReport", "check_script"]

PACKAGE = upstream.PACKAGE
#: Why a module is missing when there is no checkout (how to add one is said once).
NO_CHECKOUT = "not in this package, and no upstream checkout was found"

#: Methods that Python 3 no longer has, with what to write instead.
GONE_METHODS = {
    "isAlive": "Thread.isAlive() is gone since Python 3.9: use is_alive()",
    "has_key": "dict.has_key() is gone in Python 3: use `key in d`",
    "iteritems": "dict.iteritems() is gone in Python 3: use items()",
    "iterkeys": "dict.iterkeys() is gone in Python 3: use keys()",
    "itervalues": "dict.itervalues() is gone in Python 3: use values()",
    "getchildren": "Element.getchildren() is gone since Python 3.9: use list(element)",
    "getiterator": "Element.getiterator() is gone since Python 3.9: use iter()",
    "encodestring": "base64.encodestring() is gone since Python 3.9: use encodebytes()",
    "decodestring": "base64.decodestring() is gone since Python 3.9: use decodebytes()",
    "getcwdu": "os.getcwdu() is gone in Python 3: use os.getcwd()",
}
#: ``module.function`` calls that Python 3 no longer has.
GONE_FUNCTIONS = {
    (
        "time",
        "clock",
    ): "time.clock() is gone since Python 3.8: use time.perf_counter() or time.process_time()",
    ("string", "letters"): "string.letters is gone in Python 3: use string.ascii_letters",
}
#: Built-ins of Python 2 only.
GONE_BUILTINS = {
    "xrange": "xrange() is gone in Python 3: use range()",
    "raw_input": "raw_input() is gone in Python 3: use input()",
    "unicode": "unicode() is gone in Python 3: use str()",
    "unichr": "unichr() is gone in Python 3: use chr()",
    "long": "long() is gone in Python 3: use int()",
    "execfile": "execfile() is gone in Python 3: use exec(open(path).read())",
    "basestring": "basestring is gone in Python 3: use str",
    "reduce": "reduce() is no built-in in Python 3: from functools import reduce",
}
#: Modules of Python 2 that Python 3 renamed.
GONE_MODULES = {
    "Queue": "queue",
    "ConfigParser": "configparser",
    "SocketServer": "socketserver",
    "cPickle": "pickle",
    "urllib2": "urllib.request",
    "Tkinter": "tkinter",
    "thread": "_thread (or threading)",
    "commands": "subprocess",
    "StringIO": "io",
    "cStringIO": "io",
    "httplib": "http.client",
}


@dataclass(frozen=True)
class Finding:
    """One line of the report."""

    line: int
    kind: str  # "package", "checkout", "missing", "python3"
    what: str
    detail: str


@dataclass
class ScriptReport:
    """What one script imports from PyExpLabSys and what Python 3 will refuse."""

    path: Path
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None  # the script could not be read or parsed

    def count(self, kind: str) -> int:
        return sum(1 for finding in self.findings if finding.kind == kind)

    @property
    def needs_checkout(self) -> bool:
        """A module is missing because there is no upstream checkout."""
        return any(f.kind == "missing" and f.detail == NO_CHECKOUT for f in self.findings)

    @property
    def ready(self) -> bool:
        """Every import resolves and nothing Python 3 lacks is used."""
        return self.error is None and not self.count("missing") and not self.count("python3")

    def render(self) -> str:
        lines = [f"{self.path}:"]
        if self.error is not None:
            lines.append(f"  cannot check: {self.error}")
        labels = {"package": "this package", "checkout": "the upstream checkout", "missing": "MISSING"}
        for finding in sorted(self.findings, key=lambda f: (f.line, f.kind != "python3")):
            if finding.kind == "python3":
                lines.append(f"  line {finding.line}: warning: {finding.detail}")
            else:
                lines.append(
                    f"  line {finding.line}: {finding.what}: {labels[finding.kind]} ({finding.detail})"
                )
        imports = sum(self.count(kind) for kind in ("package", "checkout", "missing"))
        lines.append(
            f"  {imports} PyExpLabSys import(s): {self.count('package')} from this package, "
            f"{self.count('checkout')} from the checkout, {self.count('missing')} missing; "
            f"{self.count('python3')} Python 3 problem(s)" + ("" if self.error is None else "; not parsable")
        )
        return "\n".join(lines) + "\n"


def _names_of(file: Path) -> set[str] | None:
    """The top-level names a module file defines (None: it star-imports, so unknown)."""
    tree = ast.parse(file.read_text(encoding="utf-8", errors="replace"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any(alias.name == "*" for alias in node.names):
                return None
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.If, ast.Try)):  # definitions under a guard: trust them
            return None
    return names


def _module_finding(line: int, module: str, names: list[str]) -> Finding:
    """Where ``module`` comes from, and whether it has ``names``."""
    kind, where = upstream.origin(module)
    what = module + (f" ({', '.join(names)})" if names else "")
    if kind == "missing" and not upstream.checkout_roots():
        where = NO_CHECKOUT
    if kind == "missing" or not names:
        return Finding(line, kind, what, where)
    if kind == "package":
        try:
            loaded = importlib.import_module(module)
        except Exception as error:  # our module fails to import here (a missing extra)
            return Finding(line, "missing", what, f"this package's {module} fails to import: {error}")
        absent = [name for name in names if not hasattr(loaded, name)]
    else:
        try:
            defined = _names_of(Path(where))
        except (OSError, SyntaxError, ValueError):
            defined = None
        absent = [] if defined is None else [name for name in names if name not in defined]
    if absent:
        side = "this package's" if kind == "package" else "the checkout's"
        return Finding(line, "missing", what, f"{side} {module} ({where}) has no {', '.join(absent)}")
    return Finding(line, kind, what, where)


def _imports(tree: ast.AST) -> list[Finding]:
    findings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    findings.append(_module_finding(node.lineno, alias.name, []))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            if node.module != PACKAGE and not node.module.startswith(PACKAGE + "."):
                continue
            submodules = [
                a.name for a in node.names if upstream.origin(f"{node.module}.{a.name}")[0] != "missing"
            ]
            for name in submodules:  # from PyExpLabSys.drivers import xgs600
                findings.append(_module_finding(node.lineno, f"{node.module}.{name}", []))
            names = [a.name for a in node.names if a.name not in submodules and a.name != "*"]
            if names or not submodules:
                findings.append(_module_finding(node.lineno, node.module, names))
    return findings


def _python3_problems(tree: ast.AST) -> list[Finding]:
    findings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if node.attr in GONE_METHODS:
                findings.append(Finding(node.lineno, "python3", node.attr, GONE_METHODS[node.attr]))
            elif isinstance(node.value, ast.Name) and (node.value.id, node.attr) in GONE_FUNCTIONS:
                message = GONE_FUNCTIONS[(node.value.id, node.attr)]
                findings.append(Finding(node.lineno, "python3", node.attr, message))
        elif isinstance(node, ast.Call) and _called(node) == "python2_only":
            message = "the script marks itself Python 2 only (python2_only): check that it runs on Python 3"
            findings.append(Finding(node.lineno, "python3", "python2_only", message))
        elif isinstance(node, ast.Name) and node.id in GONE_BUILTINS and isinstance(node.ctx, ast.Load):
            findings.append(Finding(node.lineno, "python3", node.id, GONE_BUILTINS[node.id]))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                top = module.split(".")[0]
                if top in GONE_MODULES and not (isinstance(node, ast.ImportFrom) and node.level):
                    message = f"module {top} is gone in Python 3: it is {GONE_MODULES[top]} now"
                    findings.append(Finding(node.lineno, "python3", top, message))
    defined = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    defined |= {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    defined |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    return [f for f in findings if not (f.what in GONE_BUILTINS and f.what in defined)]


def _called(node: ast.Call) -> str | None:
    """The name of the function a call calls (``f(...)`` or ``module.f(...)``)."""
    function = node.func
    if isinstance(function, ast.Name):
        return function.id
    return function.attr if isinstance(function, ast.Attribute) else None


def check_script(path: str | Path) -> ScriptReport:
    """Parse ``path`` (never run it) and report its PyExpLabSys imports and the calls
    Python 3 does not have."""
    report = ScriptReport(Path(path))
    try:
        source = Path(path).read_bytes()
    except OSError as error:
        report.error = f"cannot read it: {error.strerror or error}"
        return report
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as error:
        report.error = (
            f"it does not parse as Python 3 (line {error.lineno}: {error.msg}); a Python 2 script "
            "needs porting first (print statements, except X, e: …)"
        )
        return report
    report.findings = _imports(tree) + _python3_problems(tree)
    return report
