"""``python -m automl_rnn.cli``: the same as the ``automl-rnn`` console script."""

from __future__ import annotations

from automl_rnn.cli import main

main()
