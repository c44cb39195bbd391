#!/usr/bin/env bash
# Start the team's one MLflow tracking server (see README.md beside this file) from a config
# file: PostgreSQL (or any SQLAlchemy URI) as the backend store, proxied artifacts in a place
# every worker reaches, MLflow's basic authentication with a chosen admin password.
#
#   mlflow/server.sh [--allow-remote] [CONFIG]      CONFIG defaults to mlflow/server.env
#
# CONFIG holds KEY=VALUE lines (no shell code: it is parsed, never sourced); keys in
# server.env.example. It refuses, in one line on stderr with exit status 2, a missing or unsafe
# configuration: no admin password, MLflow's old default admin password, or a HOST other than
# loopback without --allow-remote. It never prints a password: the admin password reaches
# MLflow in MLFLOW_AUTH_ADMIN_PASSWORD, never on a command line or in a file it writes.
# MLflow itself: $MLFLOW_CMD if set (e.g. "/opt/venv/bin/mlflow"), else `mlflow` on PATH.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

refuse() {
    echo "server.sh: $*" >&2
    exit 2
}

allow_remote=0
config=""
while (($#)); do
    case "$1" in
    --allow-remote) allow_remote=1 ;;
    -h | --help)
        sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    -*) refuse "unknown option '$1' (usage: server.sh [--allow-remote] [CONFIG])" ;;
    *)
        [[ -z "$config" ]] || refuse "one CONFIG file only (usage: server.sh [--allow-remote] [CONFIG])"
        config="$1"
        ;;
    esac
    shift
done
config="${config:-$here/server.env}"
[[ -f "$config" && -r "$config" ]] || refuse "no readable config file at $config (copy server.env.example)"

BACKEND_STORE_URI=""
ARTIFACTS_DESTINATION=""
HOST="127.0.0.1"
PORT="5000"
WORKERS="2"
ADMIN_USERNAME="admin"
ADMIN_PASSWORD=""
AUTH_DATABASE_URI=""
DEFAULT_PERMISSION="READ"
ALLOWED_HOSTS=""
SECRET_KEY=""

lineno=0
while IFS= read -r line || [[ -n "$line" ]]; do
    lineno=$((lineno + 1))
    line="${line%$'\r'}"
    [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
    [[ "$line" =~ ^[[:space:]]*([A-Z_]+)[[:space:]]*=(.*)$ ]] \
        || refuse "$config line $lineno: expected KEY=VALUE"
    key="${BASH_REMATCH[1]}"
    value="${BASH_REMATCH[2]}"
    value="${value#"${value%%[![:space:]]*}"}"
    value="${value%"${value##*[![:space:]]}"}"
    if [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]]; then
        value="${BASH_REMATCH[1]}"
    fi
    case "$key" in
    BACKEND_STORE_URI | ARTIFACTS_DESTINATION | HOST | PORT | WORKERS | ADMIN_USERNAME | \
        ADMIN_PASSWORD | AUTH_DATABASE_URI | DEFAULT_PERMISSION | ALLOWED_HOSTS | SECRET_KEY)
        printf -v "$key" '%s' "$value"
        ;;
    *) refuse "$config line $lineno: unknown key $key (see server.env.example)" ;;
    esac
done <"$config"

[[ -n "$BACKEND_STORE_URI" ]] || refuse "BACKEND_STORE_URI is not set in $config"
[[ -n "$ARTIFACTS_DESTINATION" ]] || refuse "ARTIFACTS_DESTINATION is not set in $config"
[[ -n "$AUTH_DATABASE_URI" ]] || refuse "AUTH_DATABASE_URI is not set in $config"
[[ -n "$ADMIN_USERNAME" ]] || refuse "ADMIN_USERNAME is empty in $config"
[[ -n "$ADMIN_PASSWORD" ]] || refuse "ADMIN_PASSWORD is not set in $config (choose the admin's password)"
# MLflow's admin password before 3.x; scanners and tutorials try it first.
[[ "$ADMIN_PASSWORD" != "password1234" ]] \
    || refuse "ADMIN_PASSWORD in $config is MLflow's default admin password; choose another"
((${#ADMIN_PASSWORD} >= 12)) || refuse "ADMIN_PASSWORD in $config is shorter than 12 characters"
if ! [[ "$PORT" =~ ^[0-9]{1,5}$ ]] || ((10#$PORT < 1 || 10#$PORT > 65535)); then
    refuse "PORT '$PORT' is not a port number"
fi
[[ "$WORKERS" =~ ^[1-9][0-9]*$ ]] || refuse "WORKERS '$WORKERS' is not a positive number"
case "$DEFAULT_PERMISSION" in
READ | EDIT | MANAGE | NO_PERMISSIONS) ;;
*) refuse "DEFAULT_PERMISSION '$DEFAULT_PERMISSION' is not one of READ, EDIT, MANAGE, NO_PERMISSIONS" ;;
esac
case "$HOST" in
127.* | localhost | ::1 | "[::1]") ;;
*)
    ((allow_remote)) \
        || refuse "HOST $HOST is not a loopback address; bind a private address and pass --allow-remote"
    ;;
esac

# The basic-auth settings MLflow reads (its basic_auth.ini keys), in a private file that holds
# no password and lives as long as the server.
auth_dir="$(mktemp -d "${TMPDIR:-/tmp}/mlflow-auth.XXXXXX")"
trap 'rm -rf "$auth_dir"' EXIT
cat >"$auth_dir/basic_auth.ini" <<INI
[mlflow]
default_permission = $DEFAULT_PERMISSION
database_uri = $AUTH_DATABASE_URI
admin_username = $ADMIN_USERNAME
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
INI
export MLFLOW_AUTH_CONFIG_PATH="$auth_dir/basic_auth.ini"
export MLFLOW_AUTH_ADMIN_PASSWORD="$ADMIN_PASSWORD"
unset ADMIN_PASSWORD
# The basic-auth app's CSRF protection signs with this key; every worker must share it. Unset:
# a random one for this start (the UI's open forms then need a reload after a restart).
if [[ -z "$SECRET_KEY" ]]; then
    SECRET_KEY="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
fi
export MLFLOW_FLASK_SERVER_SECRET_KEY="$SECRET_KEY"
unset SECRET_KEY
# MLflow's background job runner (GenAI evaluation jobs: a dozen huey processes) serves nothing
# automl-rnn logs; on unless the environment says otherwise.
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION="${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false}"

read -r -a mlflow_cmd <<<"${MLFLOW_CMD:-mlflow}"
args=(
    server
    --app-name basic-auth
    --backend-store-uri "$BACKEND_STORE_URI"
    --serve-artifacts
    --artifacts-destination "$ARTIFACTS_DESTINATION"
    --host "$HOST"
    --port "$PORT"
    --workers "$WORKERS"
)
[[ -z "$ALLOWED_HOSTS" ]] || args+=(--allowed-hosts "$ALLOWED_HOSTS")
echo "server.sh: MLflow tracking at http://$HOST:$PORT (basic auth, admin user $ADMIN_USERNAME)" >&2

# Not exec: the trap removes the auth settings when the server stops; a TERM or INT to this
# script is passed on to MLflow.
"${mlflow_cmd[@]}" "${args[@]}" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true' TERM INT
status=0
wait "$server" || status=$?
if kill -0 "$server" 2>/dev/null; then # woken by a signal: wait for MLflow to stop
    wait "$server" || status=$?
fi
exit "$status"
