"""Experiment tracking with MLflow: the trial tracker (the trial layer's
:class:`~automl_rnn.trial.outcome.Tracker` protocol), the search's parent run, store and UI."""
