"""An import-linter contract type: a package's private modules are imported from inside that package only.

A private module is one whose name starts with one underscore (``behest_lab.analytics._sql``; ``__init__`` and
``__main__`` are not private). Its package is the module's parent (``behest_lab.analytics``); the package and
everything below it may import it, nothing else may. Unlike import-linter's ``protected`` contract, the private
modules are found in the import graph on every run, so a new private module is held by the rule without a config
change.

``pyproject.toml`` registers it under ``[tool.importlinter] contract_types`` and ``make lint`` runs it with
``lint-imports``; ``tests/test_layers.py`` shows it failing on a planted import.
"""

from __future__ import annotations

from typing import Any

import grimp
from importlinter.application import contract_utils, output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def is_private(module: str) -> bool:
    """Whether the last part of the dotted ``module`` name starts with one underscore (not a dunder)."""
    last = module.rsplit(".", 1)[-1]
    return last.startswith("_") and not last.startswith("__")


def owner(module: str) -> str:
    """The package a private module belongs to: its parent."""
    return module.rsplit(".", 1)[0]


def inside(importer: str, package: str) -> bool:
    """Whether ``importer`` is ``package`` or one of its descendants."""
    return importer == package or importer.startswith(package + ".")


class PrivateModulesContract(Contract):
    """Private modules (``pkg._name``) may be imported only by ``pkg`` and its descendants.

    Options:
        ignore_imports: import expressions (``importer -> imported``) let through; each names an import that is
            known and is to be removed (an unmatched one is an error, so a stale exception is noticed).
    """

    type_name = "private_modules"

    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        """Find every import of a private module from outside its package."""
        removal = contract_utils.remove_ignored_imports_and_report(
            graph=graph,
            ignore_imports=self.ignore_imports,  # type: ignore[attr-defined]
            unmatched_alerting=contract_utils.AlertLevel.ERROR,
        )
        illegal: list[dict[str, Any]] = []
        for imported in sorted(m for m in graph.modules if is_private(m)):
            package = owner(imported)
            for importer in sorted(graph.find_modules_that_directly_import(imported)):
                if inside(importer, package):
                    continue
                details = graph.get_import_details(importer=importer, imported=imported)
                lines = tuple(d["line_number"] for d in details)
                illegal.append({"importer": importer, "imported": imported, "lines": lines})
        return ContractCheck(
            kept=not illegal,
            warnings=list(removal.warnings),
            metadata={"illegal": illegal},
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        """Print one line per import of a private module from outside its package."""
        for link in check.metadata["illegal"]:
            lines = ", ".join(map(str, link["lines"]))
            output.print_error(f"- {link['importer']} -> {link['imported']} (l.{lines})", bold=False)
            output.new_line()
        output.print_error(
            "Import the package's public name instead (add it to the package's __init__ if it is missing).",
            bold=False,
        )
