"""MLflow's entry point for an exported model ("models from code": nothing is pickled).

MLflow executes this file when it loads the model (``mlflow models serve``,
``mlflow.pyfunc.load_model``). The model's artefact ``bundle`` is the exported folder; the
runtime that reads it ships beside this file (the package ``code/automl_rnn_runtime/``), so
serving needs numpy, pandas and onnxruntime (or torch), not automl-rnn.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class ExportedModel(PythonModel):
    """Predicts with the exported folder: a forecast table, or one row per input row."""

    def load_context(self, context: Any) -> None:
        try:
            from automl_rnn_runtime import load_bundle  # the copy logged with the model
        except ImportError:  # loaded outside MLflow's code path
            from automl_rnn.export.runtime import load_bundle
        self.bundle = load_bundle(context.artifacts["bundle"])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

        try:
            return self.bundle.predict(model_input)
        except ValueError as err:  # bad input: a 400 with the one-line reason, not a 500
            raise MlflowException(str(err), error_code=INVALID_PARAMETER_VALUE) from None


mlflow.models.set_model(ExportedModel())
