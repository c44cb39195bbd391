"""Search spaces: declared once as YAML, sampled by one define-by-run function for every backend.

File format (``search_spaces/*.yaml``; ``search_spaces/README.md`` has the long form)::

    description: Default space for forecast tasks.
    params:                                          # names are the fields of Hyperparams
      topology: {choices: [seq2vec, encoder_decoder]}   # intersected with the task's topologies
      cell: {choices: [lstm, gru]}                   # categorical
      num_layers: {low: 1, high: 2}                  # int (the field's type), bounds inclusive
      hidden_size: {low: 16, high: 128, log: true}   # log scale (low > 0, no step)
      batch_size: {low: 16, high: 64, step: 16}      # step: high - low must be a multiple
      lr: {low: 1.0e-3, high: 3.0e-2, log: true}     # float (write 1.0e-3: YAML reads 1e-3 as text)
      dropout: {low: 0.0, high: 0.3, when: {num_layers: 2}}   # sampled only when the condition holds
      seq_len: auto                                  # candidates from the data, else dropped
      tbptt_steps: {choices: [null, 32], when: {bidirectional: false}}
      optimizer: adam                                # fixed value
    first_trials:                                    # optional: run these points first
      - {topology: seq2vec, cell: lstm, hidden_size: 64, lr: 1.0e-2}   # the rest is sampled

Keys of a parameter: ``low, high, log, step, choices, when`` and an optional ``type`` (int, float or
categorical) that must agree with the ``Hyperparams`` field. ``when:`` maps parameters declared
*earlier* to a value or a list of values; all must hold. A parameter that is absent from the sampled
dict (not declared, or its own condition failed) counts as its ``Hyperparams`` default, which is what
the runner will use: ``when: {bidirectional: false}`` holds when bidirectional was not sampled.

Loading applies the task: ``topology`` choices are intersected with the task's topologies (in the
task's order; one left becomes fixed) and added as a categorical when the space does not declare it;
``seq_len: auto`` becomes a categorical over the data's candidates (dropped without candidates).

``first_trials`` are points a user already trusts (a configuration that worked before), which
every new study evaluates before its sampler takes over (Optuna's ``enqueue_trial``, Ray Tune's
``points_to_evaluate``, SMAC's default configuration). Each names declared, sampled parameters
with values inside their ranges; parameters it leaves out are sampled. Loading for a task drops
the values the task rules out (a topology it does not fit).

``tbptt_steps`` choices are static (Optuna refuses a categorical whose choices change between
trials): a chunk length >= the sampled ``seq_len`` means full BPTT, and the runner normalises it.
``bidirectional`` needs full BPTT and a seq2vec or encoder_decoder topology; the loader refuses a
space in which any sample could break that (express the exclusion with ``when:``).

Backends: Optuna calls ``space.suggest(trial)``; Ray Tune
``OptunaSearch(space=space.define_by_run)`` (see :mod:`.suggest`).

Modules, lowest first: :mod:`.fields` (``Hyperparams`` fields, errors), :mod:`.schema` (the
typed parameters ``IntParam``, ``FloatParam``, ``CategoricalParam``, ``FixedParam``,
``AutoParam``), :mod:`.conditions` and :mod:`.parsing` (file -> declaration), :mod:`.suggest`
(sampling, :class:`SearchSpace`), :mod:`.resolve` and :mod:`.checks` (one task applied),
:mod:`.catalog` (the built-in spaces, names resolved to files), :mod:`.loading` (``load_space``
for one task, ``describe_space`` for display).
"""

from __future__ import annotations

from .catalog import builtin_spaces, find_space, list_spaces
from .loading import describe_space, load_space
from .schema import Param
from .suggest import Choice, SearchSpace, TrialLike

__all__ = [
    "Choice",
    "Param",
    "SearchSpace",
    "TrialLike",
    "builtin_spaces",
    "describe_space",
    "find_space",
    "list_spaces",
    "load_space",
]
