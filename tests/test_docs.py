"""docs/cli.md is generated from the CLI's --help; this test fails when they drift.

Regenerate with: UPDATE_DOCS=1 .venv/bin/python -m pytest tests/test_docs.py
"""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from deconflict.cli import app

DOC = Path(__file__).parents[1] / "docs" / "cli.md"
COMMANDS = [
    [],
    ["serve"],
    ["demo"],
    ["check"],
    ["party"],
    ["party", "add"],
    ["party", "list"],
    ["token"],
    ["token", "add"],
    ["token", "revoke"],
    ["agreement"],
    ["agreement", "add"],
    ["db"],
    ["db", "upgrade"],
    ["report"],
    ["audit"],
    ["audit", "verify"],
    ["audit", "export"],
    ["audit", "checkpoint"],
    ["feed"],
    ["feed", "sbs"],
    ["replay"],
]


def render() -> str:
    runner = CliRunner()
    env = {"COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1", "_TYPER_FORCE_DISABLE_TERMINAL": "1"}
    parts = [
        "# CLI reference",
        "",
        "Generated from `deconflict --help`; `tests/test_docs.py` checks it is current.",
        "",
    ]
    for cmd in COMMANDS:
        result = runner.invoke(app, [*cmd, "--help"], env=env, prog_name="deconflict")
        assert result.exit_code == 0, result.output
        output = "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())
        parts += [f"## deconflict {' '.join(cmd)}".rstrip(), "", "```", output, "```", ""]
    return "\n".join(parts)


def test_cli_reference_is_current() -> None:
    text = render()
    if os.environ.get("UPDATE_DOCS"):
        DOC.write_text(text)
    assert DOC.read_text() == text, "docs/cli.md is stale: regenerate it (see this module's docstring)"
