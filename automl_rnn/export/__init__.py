"""Export a trained trial to artefacts that predict without the training stack, and predict.

- :mod:`~automl_rnn.export.bundle`: ``automl-rnn export`` (folder, manifest, checksums, refit).
- :mod:`~automl_rnn.export.network`: the inference graph every format is made from.
- :mod:`~automl_rnn.export.onnx_format`, :mod:`~automl_rnn.export.torchscript`: the two graph
  formats, each verified against PyTorch when written.
- :mod:`~automl_rnn.export.pyfunc`: the MLflow pyfunc model, its run and the registry alias.
- :mod:`~automl_rnn.export.runtime`: loads an exported folder and predicts (no automl-rnn import).
- :mod:`~automl_rnn.export.predict`: ``automl-rnn predict`` (CSV in, CSV out, ``models:/`` URIs).

Importing this package is cheap: torch, onnx and MLflow load inside the functions that need them.
"""
