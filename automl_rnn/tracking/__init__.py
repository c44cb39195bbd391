"""Experiment tracking behind one :class:`Tracker` protocol."""

from automl_rnn.tracking.base import NullTracker, Tracker

__all__ = ["NullTracker", "Tracker"]
