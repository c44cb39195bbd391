"""The training layer: one recipe (seed, loaders, network, module, Trainer, fit) for trials and
refits, the epoch loader and the per-trial resource meter.

Imports only :mod:`automl_rnn.models`, :mod:`automl_rnn.config`, :mod:`automl_rnn.data` and leaf
modules; importing this package itself loads nothing heavy (torch loads with its modules).
"""
