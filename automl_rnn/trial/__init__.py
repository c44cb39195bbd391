"""The trial layer: one configuration trained and scored (:func:`automl_rnn.trial.runner.run_trial`),
what it ends as, and the protocols a backend hands it (reporter, tracker, checkpoint sink).

Sits below the search layer and above training; never imports search, tracking or export.
Importing this package, or :mod:`automl_rnn.trial.outcome`, loads nothing heavy.
"""
