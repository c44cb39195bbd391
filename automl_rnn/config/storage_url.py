"""``--storage``: a database URL shared by several machines, and how it is shown.

The URL may hold a password. It is shown (logs, errors, the stored experiment, MLflow) only as
:func:`mask_url` renders it: ``postgresql://user:***@host/db``.
"""

from __future__ import annotations

#: What a ``--storage`` URL looks like (named in every refusal).
EXAMPLE = "postgresql://user:password@host/db"


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (an unparsable one: a placeholder)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<not a database URL>"


def check_url(url: str) -> str:
    """``url`` when it parses as a database URL; a ``ValueError`` (no password in it) otherwise."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        raise ValueError(f"not a database URL; give e.g. {EXAMPLE}") from None
    if not parsed.drivername or not parsed.database:
        raise ValueError(f"names no database; give e.g. {EXAMPLE}")
    return url
