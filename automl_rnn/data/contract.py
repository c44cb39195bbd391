"""The contract between the data layer and the models: what a batch holds, and its shapes.

Torch-free on purpose (the CLI and config code import it). Every DataLoader built by the data layer
yields ``dict[str, torch.Tensor]`` batches with these keys:

``x``
    float32. Sequence inputs ``[B, T, F]`` for seq2seq, seq2vec and encoder_decoder; a vector
    ``[B, F]`` for vec2seq. Token inputs arrive one-hot encoded (F = input vocabulary size).
``lengths`` (only when ``DataShape.variable_length``)
    int64 ``[B]``: valid steps of each row of ``x``; rows are right-padded with zeros.
``out_lengths`` (encoder_decoder regression whose rows answer different numbers of steps)
    int64 ``[B]``: valid steps of each row of ``y`` (``[B, L, D]``, L the longest); the steps
    past it are padding, masked out of the loss and the metric.
``y``
    The target, shaped like the network's output (see ``output_layout``):

    ==============  ===============  ===============================================
    topology        kind             y
    ==============  ===============  ===============================================
    seq2vec         forecast,        float32 ``[B, L, D]``: the next L steps of D targets
                    regression
    seq2vec         classification   int64 ``[B]`` class index
    seq2seq         forecast,        float32 ``[B, T, L * D]``: at every input step t, the
                    regression       L steps after t (flattened horizon-major); the
                                     forecast that counts is the last valid step's
    seq2seq         regression,      float32 ``[B, T, D]``: the value at each step, every
                    per step         valid step scored (``DataShape.per_step_target``)
    seq2seq         tokens           int64 ``[B, T]``; -100 where a step is not scored
    vec2seq,        forecast,        float32 ``[B, L, D]``
    encoder_decoder regression
    vec2seq,        tokens           int64 ``[B, L]``; shorter outputs padded with the
    encoder_decoder                  PAD class 0, which the model learns to emit (so a
                                     whole padded sequence can be compared for exact match)
    ==============  ===============  ===============================================

``loc``, ``scale`` (forecast; a regression trained standardized)
    float32 ``[B, 1, D]``: ``y`` (and the network's output) are in scaled units; original units are
    ``y * scale + loc``. Global scaling gives the same values on every row; window-local scaling the
    statistics of each row's own input window. The loss is computed in scaled units, the metrics in
    original units.
"""

from __future__ import annotations

from dataclasses import dataclass

from automl_rnn.kinds import TaskKind

IGNORE_INDEX = -100  # int targets with this value are not scored (torch's cross-entropy default)
PAD_TOKEN = 0  # class index of padding in token outputs
PAD_LABEL = "<pad>"  # its name in an output vocabulary (never answered)
#: How a long table of numeric pairs marks its rows (``--output-steps-col``), read case-blind:
#: an output step (whose target the model answers) or an input step (whose features it reads).
OUTPUT_MARKS = ("1", "true", "yes", "output")
INPUT_MARKS = ("0", "false", "no", "input")


@dataclass(frozen=True)
class DataShape:
    """What the network factory needs to know about a task's tensors."""

    kind: TaskKind
    input_size: int
    """F: features per input step (or the vector size for vec2seq)."""
    output_size: int
    """D, target values per output step (forecast, regression), or C, classes (classification, tokens)."""
    output_len: int
    """L: output steps (the horizon for forecast; 1 for one-shot regression; the longest token output)."""
    variable_length: bool = False
    """Whether input rows have different lengths (batches then carry ``lengths``)."""
    per_step_target: bool = False
    """seq2seq regression: ``y [B, T, D]`` is the answer at each input step, every valid step
    scored (not the horizon after each step, of which only the last counts, as in forecasts)."""
    season: int = 1
    """Forecasts: the seasonal period the data declares or detects (1: none), which the
    seasonal-naive forecast of ``skip`` copies from."""

    @property
    def is_float_target(self) -> bool:
        """True for forecast and regression (MSE-type loss), False for class targets."""
        return self.kind in ("forecast", "regression")
