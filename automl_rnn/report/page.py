"""The report page: ``report.html`` with every plot embedded, written into place atomically."""

from __future__ import annotations

import base64
import html
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from automl_rnn.errors import UserError
from automl_rnn.report.importance import plot_importances, plot_parallel
from automl_rnn.report.model import ReportView, read
from automl_rnn.report.plots import plot_convergence, plot_history, plot_pareto
from automl_rnn.report.sections import best_section, searched_rows, table, trials_section
from automl_rnn.report.words import describe_view

if TYPE_CHECKING:
    from automl_rnn.search.records import StudySnapshot

REPORT_HTML = "report.html"
HISTORY_PNG = "optimization_history.png"
CONVERGENCE_PNG = "convergence.png"
IMPORTANCES_PNG = "param_importances.png"
PARALLEL_PNG = "parallel_coordinates.png"
PARETO_PNG = "pareto_front.png"
#: Every file a report may hold (a re-run removes those it no longer writes).
REPORT_FILES = (
    REPORT_HTML,
    HISTORY_PNG,
    CONVERGENCE_PNG,
    IMPORTANCES_PNG,
    PARALLEL_PNG,
    PARETO_PNG,
)

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0}img{max-width:100%;height:auto;border:1px solid #eee}
figcaption,.note{color:#555;font-size:.9em}.note{background:#fff8e1;padding:.5em .8em}
.summary{font-size:1.05em;background:#f6f8fa;padding:.8em 1em;border-left:4px solid #4c78a8}
"""


@dataclass
class _Figure:
    """One plot on the page: its file (None when not drawn), caption, and notes."""

    title: str
    file: str
    caption: str
    written: bool
    notes: list[str]


def _figure_html(fig: _Figure, folder: Path) -> str:
    head = f"<h2>{html.escape(fig.title)}</h2>"
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in fig.notes)
    if not fig.written:
        return head + notes
    data = base64.b64encode((folder / fig.file).read_bytes()).decode("ascii")
    return (
        f'{head}<figure><img src="data:image/png;base64,{data}" alt="{html.escape(fig.title)}">'
        f"<figcaption>{html.escape(fig.caption)} (file: {html.escape(fig.file)})</figcaption>"
        f"</figure>{notes}"
    )


def _page(view: ReportView, figures: list[_Figure], folder: Path, top_k: int) -> str:
    name = html.escape(view.name)
    generated = datetime.now().strftime("%Y-%m-%d %H:%M")
    sections = [
        f'<p class="summary">{html.escape(describe_view(view))}</p>',
        "<h2>What was searched</h2>",
        table(("setting", "value"), searched_rows(view)),
        f"<p>Elapsed: {view.elapsed_seconds:.0f} s from the first trial's start to the "
        f"last one's end. Report generated {generated}.</p>",
        "<h2>What won</h2>",
        best_section(view),
        *(_figure_html(f, folder) for f in figures),
        "<h2>Trials</h2>",
        trials_section(view, top_k),
    ]
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>automl-rnn report: {name}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_CSS}</style></head>\n<body>\n<h1>automl-rnn report: study {name}</h1>\n"
        f"{body}\n</body></html>\n"
    )


def _draw(view: ReportView, folder: Path, top_k: int) -> list[_Figure]:
    """Draw every plot into ``folder``; each figure says whether it was written, and why not."""
    figures = []

    def add(title: str, file: str, caption: str, outcome: str | None, notes: list[str]) -> None:
        written = outcome is None
        figures.append(_Figure(title, file, caption, written, notes if written else [str(outcome)]))

    add(
        "Optimisation history",
        HISTORY_PNG,
        "Objective value of each completed trial by trial number, with the best so far; pruned "
        "trials at their last reported value, failed trials as red marks on the axis.",
        plot_history(view, folder / HISTORY_PNG),
        [],
    )
    add(
        "Convergence of the top trials",
        CONVERGENCE_PNG,
        f"Per-epoch train and validation loss, and the validation metric, of the "
        f"{min(top_k, len(view.complete))} best completed trial(s); other finished trials in grey.",
        plot_convergence(view, folder / CONVERGENCE_PNG, top_k),
        [],
    )
    outcome, notes = plot_importances(view, folder / IMPORTANCES_PNG)
    add(
        "Parameter importances",
        IMPORTANCES_PNG,
        f"How much of the variation of {view.names[0]} each searched parameter explains "
        "(fANOVA over the completed trials; rough with few trials).",
        outcome,
        notes,
    )
    add(
        "Parallel coordinates",
        PARALLEL_PNG,
        "One line per trial across the sampled parameters (each scaled to its range, log "
        "parameters on a log scale, categories evenly spaced) and the objective(s); a gap means "
        "the parameter was not set for that trial.",
        plot_parallel(view, folder / PARALLEL_PNG),
        [],
    )
    if view.multi:
        add(
            "Pareto front",
            PARETO_PNG,
            "Completed trials by the first two objectives; the non-dominated trials (Pareto "
            "front) in red, labelled by trial number.",
            plot_pareto(view, folder / PARETO_PNG),
            [],
        )
    return figures


def _make_parent(out_dir: Path) -> list[Path]:
    """Create the missing folders above ``out_dir``; return those created (deepest last)."""
    missing = [p for p in reversed(out_dir.parents) if not p.exists()]
    for folder in missing:
        folder.mkdir()
    return missing


def _publish(built: Path, out_dir: Path, names: list[str]) -> None:
    """Move the finished files into place: the folder in one rename when it is new; into an
    existing folder file by file (each replace atomic), dropping report files now left out."""
    if not out_dir.exists():
        try:
            os.rename(built, out_dir)
            return
        except OSError:
            if not out_dir.is_dir():
                raise
    for name in names:
        os.replace(built / name, out_dir / name)
    for name in REPORT_FILES:
        if name not in names and (out_dir / name).is_file():
            (out_dir / name).unlink()


def write_report(snapshot: StudySnapshot, out_dir: Path, top_k: int = 5) -> list[Path]:
    """Write ``report.html`` and its PNG plots into ``out_dir`` (created); return the files.

    Everything is built in a temporary folder beside ``out_dir`` and moved into place only when
    complete. Raises :class:`UserError` (one line) when ``out_dir`` is a file or not writable.
    """
    out_dir = Path(out_dir).expanduser().absolute()
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"report folder {out_dir} is an existing file; give a folder")
    if top_k < 1:
        raise UserError(f"top_k must be at least 1 (got {top_k})")
    created: list[Path] = []
    built: Path | None = None
    try:
        created = _make_parent(out_dir)
        built = Path(
            tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent)
        )
        built.chmod(0o755)  # mkdtemp makes it private; it becomes the report folder
        view = read(snapshot)
        figures = _draw(view, built, top_k)
        (built / REPORT_HTML).write_text(_page(view, figures, built, top_k), encoding="utf-8")
        names = [REPORT_HTML, *(f.file for f in figures if f.written)]
        _publish(built, out_dir, names)
    except BaseException as err:
        for folder in reversed(created):
            shutil.rmtree(folder, ignore_errors=True)
        if isinstance(err, OSError):
            reason = err.strerror or str(err)
            raise UserError(f"cannot write the report to {out_dir}: {reason}") from None
        raise
    finally:
        if built is not None and built.exists():
            shutil.rmtree(built, ignore_errors=True)
    return [out_dir / name for name in names]
