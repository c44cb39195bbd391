"""The ``automl-rnn`` command line: each command is a thin shell over :mod:`automl_rnn.api`.

Imports nothing heavy at module level (no torch, Ray or MLflow): ``automl-rnn --help`` stays fast.
Errors the user can fix (:class:`automl_rnn.errors.UserError`) print as one line and exit with 2.
The commands live in :mod:`.search` (data), :mod:`.study` and :mod:`.model`; this module builds
the app from them and holds the console entry point :func:`main`.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType, ModuleType

import typer

from automl_rnn.cli import model, search, study
from automl_rnn.errors import Terminated, UserError, one_line, storage_problem

app = typer.Typer(
    name="automl-rnn",
    help="Find the best recurrent model (RNN, LSTM, GRU x topology) for your sequence data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# In this order in `automl-rnn --help`.
for _command in (
    search.tasks,
    search.inspect,
    search.search,
    study.best,
    study.status,
    study.repair,
    study.report,
    study.ui,
    search.spaces,
    model.export,
    model.predict,
):
    app.command()(_command)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def _click_exceptions() -> ModuleType:
    """Click's exceptions module as typer raises them (typer >= 0.20 vendors click)."""
    import typer.core

    vendored = getattr(typer.core, "_click", None)
    if vendored is not None:
        exceptions: ModuleType = vendored.exceptions
        return exceptions
    import click

    return click.exceptions


def main() -> None:
    """Console-script entry point: user errors (ours, and click's for flags it cannot parse)
    become one line on stderr and exit code 2."""
    click = _click_exceptions()
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        code = app(standalone_mode=False)
    except UserError as err:  # one line even when a value it quotes holds a line break
        typer.echo(f"error: {one_line(err, limit=None)}", err=True)
        sys.exit(2)
    except getattr(click, "NoArgsIsHelpError", ()) as err:  # click < 8.2 shows help itself
        err.show()  # bare `automl-rnn`: the help, as before
        sys.exit(err.exit_code)
    except click.UsageError as err:
        where = err.ctx.command_path if err.ctx is not None else "automl-rnn"
        message = one_line(err.format_message(), limit=None)
        typer.echo(f"error: {message} (see '{where} --help')", err=True)
        sys.exit(err.exit_code)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except typer.Abort:
        typer.echo("Aborted!", err=True)
        sys.exit(1)
    except Exception as err:  # a full or read-only disk is the user's to fix, not a crash
        problem = storage_problem(err)
        if problem is None:
            raise
        typer.echo(f"error: {problem}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
