#!/bin/sh
# `make cluster`: 3 gunicorn instances, nginx in front, one worker, on the local PostgreSQL
# (database membership_cluster, created and migrated here) and Redis (own keys and queue).
# Runs deploy/Procfile under honcho in the foreground; Ctrl-C or `make cluster-stop` ends it.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export CLUSTER_ROOT="$ROOT"
export CLUSTER_RUN="$ROOT/run/cluster"
mkdir -p "$CLUSTER_RUN/tmp" "$CLUSTER_RUN/instance"

POSTGRES_ADMIN_URL=${CLUSTER_POSTGRES_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
export DATABASE_URL=${CLUSTER_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/membership_cluster}
export REDIS_URL=${CLUSTER_REDIS_URL:-redis://127.0.0.1:6379/0}
# Keys of its own in a shared Redis: cache, rate limits and the job queue.
KEY_PREFIX=${CLUSTER_KEY_PREFIX:-membership-cluster}
export CACHE_KEY_PREFIX="$KEY_PREFIX:"
export FLASK_RATELIMIT_KEY_PREFIX="$KEY_PREFIX"
export JOBS_QUEUE_NAME="$KEY_PREFIX"
export PROXY_FIX_X_FOR=1
export SITE_URL=http://127.0.0.1:8100
# Development mode keeps cookies usable over plain http; every process shares one instance
# folder, so one secret key (instance/secret_key) signs every instance's sessions.
export APP_ENV=development
export INSTANCE_PATH="$CLUSTER_RUN/instance"

.venv/bin/python - "$POSTGRES_ADMIN_URL" "$DATABASE_URL" <<'PY'
import sys
import psycopg
from sqlalchemy.engine import make_url

admin, target = sys.argv[1], make_url(sys.argv[2])
with psycopg.connect(admin, autocommit=True) as connection:
    exists = connection.execute(
        "SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)
    ).fetchone()
    if not exists:
        connection.execute(f'CREATE DATABASE "{target.database}"')
        print(f"Created database {target.database}")
PY
.venv/bin/flask --app app db upgrade
.venv/bin/flask --app app seed-demo
# With Stripe configured (the drills' stand-in, or test mode), the tiers get their prices.
if [ -n "${STRIPE_SECRET_KEY:-}" ]; then .venv/bin/flask --app app stripe sync; fi
# `make drills` runs the Procfile's lines itself (so that killing one instance stops only that
# one, where honcho would stop them all): it asks for the environment and starts them.
if [ -n "${CLUSTER_ENV_ONLY:-}" ]; then env -0 > "$CLUSTER_ENV_ONLY"; exit 0; fi
echo
echo "  Cluster: http://127.0.0.1:8100  (nginx -> 127.0.0.1:8101, :8102, :8103; one worker)"
echo "  Stop with Ctrl-C, or 'make cluster-stop' from another terminal."
echo
echo $$ > "$CLUSTER_RUN/honcho.pid"
exec .venv/bin/honcho -f deploy/Procfile -d "$ROOT" start
