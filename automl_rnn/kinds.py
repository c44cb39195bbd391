"""The closed vocabularies users write in YAML and flags: cells, topologies, task kinds.

Torch-free, so the CLI and config validation can import it cheaply.
"""

from __future__ import annotations

from typing import Literal, get_args

CellName = Literal["rnn_tanh", "rnn_relu", "lstm", "gru"]
TopologyName = Literal["seq2seq", "seq2vec", "vec2seq", "encoder_decoder"]
TaskKind = Literal["forecast", "regression", "classification", "tokens"]
Readout = Literal["last", "mean"]
OptimizerName = Literal["adam", "adamw"]
LrSchedule = Literal["none", "cosine", "plateau"]
Scaling = Literal["global", "window"]
Skip = Literal["none", "seasonal_naive"]
HeadInit = Literal["default", "zero"]

CELLS: tuple[str, ...] = get_args(CellName)
TOPOLOGIES: tuple[str, ...] = get_args(TopologyName)
TASK_KINDS: tuple[str, ...] = get_args(TaskKind)

#: Topologies whose encoder may run in both directions (the whole input is known before any output).
BIDIRECTIONAL_TOPOLOGIES: frozenset[str] = frozenset({"seq2vec", "encoder_decoder"})
#: Topologies with a step-by-step decoder, the only ones ``teacher_forcing`` acts on.
DECODER_TOPOLOGIES: frozenset[str] = frozenset({"encoder_decoder", "vec2seq"})
#: Topologies whose forecast may be a correction to seasonal naive (``skip``): one forecast per
#: window, read from the window itself.
SKIP_TOPOLOGIES: frozenset[str] = frozenset({"seq2vec", "encoder_decoder"})
