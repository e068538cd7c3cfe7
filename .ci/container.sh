#!/usr/bin/env bash
# Build the image and smoke-test it twice with podman (no Docker daemon or registry needed):
#   1. SQLite in the container's /data volume (the image's default)
#   2. the local PostgreSQL (host network), via `run --db URL`
# Each run: build, /healthz answers on $PORT, the image's HEALTHCHECK passes, SIGTERM -> exit 0.
# Uses ../shared/tools/container/{prepare,smoke}.sh (shared/ sits beside the repository).
# usage: .ci/container.sh            env: PORT (default 8080), STORYTRAIL_CONTAINER_PG_URL
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TOOLS=${STORYTRAIL_CONTAINER_TOOLS:-$ROOT/../shared/tools/container}
PORT=${PORT:-8080}
PG_URL=${STORYTRAIL_CONTAINER_PG_URL:-postgresql://postgres@127.0.0.1:5432/test}
[ -f "$TOOLS/smoke.sh" ] || { echo "container.sh: $TOOLS/smoke.sh not found (is shared/ beside the repository?)" >&2; exit 1; }

stamp() { date +%s; }
t0=$(stamp)
echo "== prepare: podman and base images"
bash "$TOOLS/prepare.sh"
t1=$(stamp); echo "prepare: $((t1 - t0)) s"

failed=0
echo "== smoke 1/2: SQLite in the /data volume"
if bash "$TOOLS/smoke.sh" "$ROOT" "$PORT" /healthz; then echo "smoke sqlite: OK"; else echo "smoke sqlite: FAILED"; failed=1; fi
t2=$(stamp); echo "smoke sqlite: $((t2 - t1)) s"

echo "== smoke 2/2: PostgreSQL at ${PG_URL%%@*}@..."
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "smoke postgresql: FAILED (no PostgreSQL on 127.0.0.1:5432)"; failed=1
elif bash "$TOOLS/smoke.sh" "$ROOT" "$PORT" /healthz -- run --db "$PG_URL"; then
  echo "smoke postgresql: OK"
else
  echo "smoke postgresql: FAILED"; failed=1
fi
t3=$(stamp); echo "smoke postgresql: $((t3 - t2)) s"
. "${CONTAINER_WORK:-/tmp/storytrail-containers}/env.sh"
podman image prune -f >/dev/null 2>&1 || true  # earlier builds' untagged layers
echo "container.sh: total $((t3 - t0)) s"
exit "$failed"
