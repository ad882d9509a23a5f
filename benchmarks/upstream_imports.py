"""How many PyExpLabSys imports of lab scripts resolve, and from where.

Each ``PyExpLabSys`` import statement of each script is run (in a fresh interpreter per
script, nothing else of the script) with ``PYTHONPATH`` = the package tree given, plus
the upstream checkout after it when one is given (as upstream's bootstrap puts it). An
import counts as resolved when it runs; one that fails on a third-party library of the
module (numpy, a vendor SDK) counts as resolved with a missing dependency. Prints per
script and the totals: imports resolved, from this package / from the checkout, and
scripts whose imports all resolve. Asserts nothing.

    python benchmarks/upstream_imports.py --package-root DIR [--checkout DIR] SCRIPT...
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import json, sys
out = []
for statement in json.loads(sys.argv[1]):
    try:
        exec(statement, {})
    except ModuleNotFoundError as error:
        name = error.name or ""
        out.append(["missing" if name.startswith("PyExpLabSys") else "dependency", statement, str(error)])
    except ImportError as error:
        out.append(["missing", statement, str(error)])
    except BaseException as error:  # the module ran and failed (hardware, settings)
        out.append(["dependency", statement, f"{type(error).__name__}: {error}"])
    else:
        module = statement.split()[1]
        file = getattr(sys.modules.get(module), "__file__", "") or ""
        out.append(["ok", statement, file])
print(json.dumps(out))
"""


def import_statements(path: Path) -> list[str] | None:
    """The script's PyExpLabSys import statements as source; None if it does not parse."""
    try:
        tree = ast.parse(path.read_bytes())
    except SyntaxError:
        return None
    statements = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Import) and any(a.name.startswith("PyExpLabSys") for a in node.names)) or (
            isinstance(node, ast.ImportFrom)
            and (node.module or "").startswith("PyExpLabSys")
            and not node.level
        ):
            statements.append(ast.unparse(node))
    return statements


def probe(statements: list[str], package_root: Path, checkout: Path | None) -> list[list[str]]:
    path = [str(package_root.resolve())] + ([str(checkout.resolve())] if checkout else [])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYEXPLABSYS_UPSTREAM")}
    env["PYTHONPATH"] = os.pathsep.join(path)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(statements)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return [["missing", s, done.stderr.strip()[-200:]] for s in statements]
    return list(json.loads(lines[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package-root", type=Path, required=True, help="the tree holding PyExpLabSys/")
    parser.add_argument("--checkout", type=Path, help="an upstream checkout's root")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("scripts", nargs="+", type=Path)
    args = parser.parse_args()
    package = str(args.package_root.resolve() / "PyExpLabSys")
    total = ok = dependency = from_package = from_checkout = complete = unparsable = 0
    for script in args.scripts:
        statements = import_statements(script)
        if statements is None:
            unparsable += 1
            print(f"{script}: does not parse as Python 3")
            continue
        results = probe(statements, args.package_root, args.checkout) if statements else []
        total += len(results)
        resolved = [r for r in results if r[0] != "missing"]
        ok += len(resolved)
        dependency += sum(r[0] == "dependency" for r in results)
        from_package += sum(r[0] == "ok" and r[2].startswith(package) for r in results)
        from_checkout += sum(r[0] == "ok" and not r[2].startswith(package) for r in results)
        complete += len(resolved) == len(results)
        print(f"{script}: {len(resolved)} of {len(results)} import(s) resolve")
        if args.verbose:
            for kind, statement, detail in results:
                print(f"    {kind:10} {statement}  [{detail[:120]}]")
    print(
        f"TOTAL: {ok} of {total} import statement(s) resolve ({from_package} from the package, "
        f"{from_checkout} from the checkout, {dependency} found but missing a third-party dependency); "
        f"{complete} of {len(args.scripts)} script(s) have all their imports resolve; "
        f"{unparsable} do not parse as Python 3"
    )


if __name__ == "__main__":
    main()
