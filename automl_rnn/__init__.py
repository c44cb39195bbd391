"""automl-rnn: hyperparameter search for recurrent neural networks."""

__version__ = "0.1.0"
