"""A tracking server that asks for a sign-in (401) or refuses the user (403) is refused in one
line that names what to set, not as an unusable URI (the server itself is tested in
tests/e2e/test_mlflow_folder.py)."""

from __future__ import annotations

from automl_rnn.orchestration.runs import unusable

URI = "http://10.0.0.5:5000"


class RestLike(Exception):
    def __init__(self, message: str, error_code: str) -> None:
        super().__init__(message)
        self.error_code = error_code


def test_a_401_names_the_credential_variables() -> None:
    err = Exception(
        "API request to endpoint /api/2.0/mlflow/experiments/get-by-name failed with error code "
        "401 != 200. Response body: 'You are not authenticated.'"
    )
    line = unusable(URI, err)
    assert "\n" not in line and URI in line and "401" in line
    assert "MLFLOW_TRACKING_USERNAME" in line and "MLFLOW_TRACKING_PASSWORD" in line
    assert "--tracking-uri" not in line  # the URI is right; the credentials are not
    assert "MLFLOW_TRACKING_USERNAME" in unusable(URI, RestLike("no", "UNAUTHENTICATED"))


def test_a_403_says_the_user_lacks_permission() -> None:
    line = unusable(URI, RestLike("Permission denied", "PERMISSION_DENIED"))
    assert "403" in line and "access" in line and "\n" not in line


def test_other_errors_still_point_at_the_uri() -> None:
    line = unusable(URI, ConnectionError("error code 500 != 200"))
    assert "fix --tracking-uri" in line and "MLFLOW_TRACKING_USERNAME" not in line
