"""What every CLI module shares: the --db option, the stderr console, failing with a message."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

err = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="database URL (default: $DECONFLICT_DATABASE_URL or sqlite:///./deconflict.db)"),
]


def settings_for(db: str | None) -> Any:
    from deconflict.settings import Settings

    return Settings(database_url=db) if db else Settings()


def core_for(db: str | None) -> Any:
    from deconflict.api.app import build_core

    return build_core(settings_for(db))


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)
