#!/usr/bin/env bash
# docker-compose.yml scaled to N daemons (default 3), end to end with podman and podman-compose (no
# Docker daemon or registry needed): postgres healthy, migrate exits 0, N daemons answer /healthz
# and /metrics on :8080 inside the network and share the checks of a local news site, the web on
# 127.0.0.1:$STORYTRAIL_WEB_PORT of the host, `run --rm daemon storytrail ...` as README says, the
# leader SIGKILLed and the others carry on, SIGTERM -> exit 0. Prints PASS/FAIL per check, cleans
# up (down -v) and exits 1 on any failure. Not in .ci/run (it takes minutes).
#
# postgres:16 is a local stand-in (.ci/compose/postgres: Debian bookworm's PostgreSQL 15) unless a
# real postgres:16 image is present. .ci/compose/scale.yml adds the news site `newsite`.
# podman < 4.6 cannot wait for `service_healthy` and breaks on chained `depends_on`, so the script
# starts the services in depends_on order itself (postgres, migrate, then daemon and web with
# --no-deps) and checks each condition: the health check, migrate's exit code.
# usage: .ci/compose.sh     env: NODES (3), STORYTRAIL_WEB_PORT (8080), PODMAN_COMPOSE (a binary)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TOOLS=${STORYTRAIL_CONTAINER_TOOLS:-$ROOT/../shared/tools/container}
WORK=${CONTAINER_WORK:-/tmp/storytrail-containers}
P=${STORYTRAIL_COMPOSE_PROJECT:-storytrail-scale}
NODES=${NODES:-3}
WEB_PORT=${STORYTRAIL_WEB_PORT:-8080}
FEEDS=3 ARTICLES=60  # 3 feeds of 20: each poll is claimed by one node, which first-fetches its entries
export STORYTRAIL_WEB_PORT=$WEB_PORT

echo "== prepare: podman, base images, podman-compose"
bash "$TOOLS/prepare.sh" >/dev/null
. "$WORK/env.sh"
if [ -n "${PODMAN_COMPOSE:-}" ]; then
  PC_BIN=$PODMAN_COMPOSE
else
  PC_BIN=$WORK/podman-compose/bin/podman-compose
  if [ ! -x "$PC_BIN" ]; then
    python3 -m venv "$WORK/podman-compose"
    "$WORK/podman-compose/bin/pip" install -q podman-compose==1.6.0
  fi
fi
pc() { "$PC_BIN" -p "$P" -f docker-compose.yml -f .ci/compose/scale.yml "$@"; }
SITE=$WORK/tmp/site-$P  # the news site's files, mounted into `newsite`
export STORYTRAIL_COMPOSE_SITE=$SITE
LOG=$WORK/compose-$P.log
: > "$LOG"

cleanup() {
  set +e
  echo "== cleanup (podman-compose output in $LOG)"
  # podman-compose's down knows one container per service only: remove every one of the project
  podman ps -a -q --filter "label=io.podman.compose.project=$P" | xargs -r podman rm -f -v -t 5 >>"$LOG" 2>&1
  pc down -v >>"$LOG" 2>&1
  podman volume ls -q --filter "label=io.podman.compose.project=$P" | xargs -r podman volume rm -f >>"$LOG" 2>&1
  podman pod rm -f "pod_$P" >>"$LOG" 2>&1
  podman network rm "${P}_default" >>"$LOG" 2>&1
  rm -rf "$SITE"
}
trap cleanup EXIT
cleanup >/dev/null 2>&1  # what an interrupted earlier run left
mkdir -p "$SITE"

failed=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failed=1; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
wait_for() { local tries=$1; shift; for _ in $(seq 1 "$tries"); do "$@" && return 0; sleep 2; done; return 1; }
c() { echo "${P}_$1"; }  # container name of service_index, e.g. $(c daemon_2)
running() { podman ps -q --filter "label=io.podman.compose.project=$P" --filter "label=com.docker.compose.service=$1" --filter status=running; }
# GET inside the compose network, from the web container (the image has no curl: Python's urllib)
inside() { podman exec "$(c web_1)" python -c 'import sys, urllib.request as u; sys.stdout.write(u.urlopen(sys.argv[1], timeout=5).read().decode())' "$1" 2>/dev/null; }
healthy() { inside "http://$1:8080/healthz" | grep '"status": "ok"' >/dev/null; }
has_metrics() { inside "http://$1:8080/metrics" | grep '^storytrail_fetches_total' >/dev/null; }
logs_have() { podman logs "$1" 2>&1 | grep -e "$2" >/dev/null; }
fetches() { { inside "http://$1:8080/metrics" || true; } | awk '/^storytrail_fetches_total/ {s += $2} END {printf "%d", s}'; }
polls() { { inside "http://$1:8080/metrics" || true; } | awk '/^storytrail_polls_total/ {s += $2} END {printf "%d", s}'; }
psql_() { podman exec "$(c postgres_1)" psql -U storytrail -d storytrail -Atc "$1"; }
leader() { psql_ "select owner from node_lease where name = 'scheduler' and until > now()"; }
node_container() { podman ps --format '{{.ID}} {{.Names}}' | awk -v id="${1%%:*}" 'substr($1, 1, 12) == id {print $2}'; }

echo "== postgres:16 and the image"
if podman image exists docker.io/library/postgres:16 \
   && [ -z "$(podman image inspect --format '{{index .Labels "org.storytrail.stand-in"}}' docker.io/library/postgres:16)" ]; then
  echo "using the postgres:16 image present"
else
  podman build -q -t docker.io/library/postgres:16 .ci/compose/postgres >>"$LOG" 2>&1
  echo "built the postgres:16 stand-in (PostgreSQL $(podman run --rm --entrypoint postgres docker.io/library/postgres:16 --version | awk '{print $3}'))"
fi
build() { pc build daemon >>"$LOG" 2>&1; }
check "build (podman-compose build daemon)" build

# the news site: a feed of $ARTICLES articles that match the sample story's query
python3 - "$SITE" "$ARTICLES" "$FEEDS" <<'PY'
import sys
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
site, n, feeds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
now, items = datetime.now(timezone.utc), []
for i in range(1, n + 1):
    title = f"Putin residence at Valdai: drone claim, report {i}"
    with open(f"{site}/a{i}.html", "w") as f:
        f.write(f"<!doctype html><html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
                f"<p>The Kremlin said a drone attack targeted Putin's residence near Valdai, in the Novgorod "
                f"region. This is report number {i} of the local desk.</p><p>Kyiv denied the claim; no "
                f"evidence of a drone strike on the residence was shown.</p></article></body></html>")
    url = f"http://newsite:8000/a{i}.html"
    items.append(f"<item><title>{title}</title><link>{url}</link><guid>{url}</guid><pubDate>"
                 f"{format_datetime(now - timedelta(minutes=i))}</pubDate><description>Putin Valdai residence "
                 f"drone claim {i}</description></item>")
for k in range(feeds):
    with open(f"{site}/feed{k + 1}.xml", "w") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Local news</title>'
                f'<link>http://newsite:8000/</link><description>test</description>{"".join(items[k::feeds])}'
                '</channel></rss>')
PY
chmod -R a+rX "$SITE"

echo "== up, in depends_on order"
pc up -d --no-deps postgres newsite >>"$LOG" 2>&1
pg_healthy() { podman healthcheck run "$(c postgres_1)" >/dev/null 2>&1; }
check "postgres healthy (the compose health check: pg_isready)" wait_for 45 pg_healthy
pc up -d --no-deps migrate >>"$LOG" 2>&1
rc=$(podman wait "$(c migrate_1)")
check "migrate completed (exit $rc)" test "$rc" = 0
podman logs "$(c migrate_1)" 2>&1 | sed 's/^/  migrate: /'
check "migrate's log holds no database password" bash -c "! podman logs $(c migrate_1) 2>&1 | grep -e ':storytrail@' >/dev/null"
pc up -d --no-deps --scale "daemon=$NODES" daemon web >>"$LOG" 2>&1
sleep 3
n=$(running daemon | wc -l)
check "$NODES daemons running (got $n)" test "$n" = "$NODES"
check "web running" test -n "$(running web)"
mapfile -t DAEMONS < <(podman ps --filter "label=io.podman.compose.project=$P" --filter "label=com.docker.compose.service=daemon" --format '{{.Names}}' | sort)

echo "== each daemon inside the network, the web on the host"
for d in "${DAEMONS[@]}"; do
  check "$d /healthz ok (http://$d:8080)" wait_for 30 healthy "$d"
  check "$d /metrics" has_metrics "$d"
  check "$d logs NOTHING TO DO (no enabled source yet)" wait_for 15 logs_have "$d" 'NOTHING TO DO: no enabled sources'

done
check "web /healthz on 127.0.0.1:$WEB_PORT" wait_for 30 bash -c "curl -fsS -m 5 http://127.0.0.1:$WEB_PORT/healthz | grep -q '\"status\":\"ok\"'"
check "web HTML page on 127.0.0.1:$WEB_PORT/" bash -c "curl -fsS -m 5 -o /dev/null -w '%{content_type}' http://127.0.0.1:$WEB_PORT/ | grep -q text/html"

echo "== commands under compose (README)"
out=$(pc run --rm -T daemon storytrail sources list 2>>"$LOG" || true)
grep -v "^$P" <<<"$out" | head -n 5 | sed 's/^/  /'
check "run --rm daemon storytrail sources list: the sample's 6 feeds" test "$(grep -c -E 'aljazeera|cnbc-world|sky-news-world|nyt-world|tass|kyiv-indep' <<<"$out")" -ge 6
out=$(pc run --rm -T daemon storytrail stories list --json 2>>"$LOG" || true)
check "run --rm daemon storytrail stories list: valdai-residence-claim" grep -e '"valdai-residence-claim"' <<<"$out"
add_local() { pc run --rm -T daemon storytrail sources add "local-news-$1" "http://newsite:8000/feed$1.xml" --every 1m >>"$LOG" 2>&1; }
for k in $(seq 1 "$FEEDS"); do check "run --rm daemon storytrail sources add local-news-$k (every 1m)" add_local "$k"; done

echo "== the daemons share the work ($FEEDS feeds, $ARTICLES articles)"
total() { local s=0 d; for d in "${DAEMONS[@]}"; do s=$((s + $(fetches "$d"))); done; [ "$s" -ge "$ARTICLES" ]; }
wait_for 60 total || true
declare -A WORKED=()  # nodes that polled or checked, over the whole run
for d in "${DAEMONS[@]}"; do
  f=$(fetches "$d"); p=$(polls "$d")
  echo "  $d: $f checks, $p polls (its /metrics)"
  if [ $((f + p)) -gt 0 ]; then WORKED[$d]=1; fi
done
echo "  database: $(psql_ 'select count(*) from document') documents, $(psql_ "select count(*) from \"check\" where channel = 'page'") page checks, $(psql_ 'select count(*) from version') versions"
pages=$(psql_ "select count(*) from \"check\" where channel = 'page'")
echo "  INFO: $((pages - ARTICLES)) of $pages page checks repeated a first fetch (another node took the document while its poll fetched it)"
check "every document checked once (no second first-fetch)" test "$pages" = "$ARTICLES"
L=$(leader); LC=$(node_container "$L")
check "one leader ($L = $LC)" test -n "$LC"
check "the leader's log shows the sources" logs_have "$LC" '"source": "local-news-1"'

echo "== SIGKILL the leader $LC"
podman kill --signal KILL "$LC" >/dev/null
before=0; for d in "${DAEMONS[@]}"; do [ "$d" = "$LC" ] || before=$((before + $(polls "$d"))); done
new_leader() { local l; l=$(leader); [ -n "$l" ] && [ "$l" != "$L" ]; }
check "another node took the lead within 90 s" wait_for 45 new_leader
L2=$(leader); LC2=$(node_container "$L2"); echo "  new leader: $L2 = $LC2"
more_polls() { local s=0 d; for d in "${DAEMONS[@]}"; do [ "$d" = "$LC" ] || s=$((s + $(polls "$d"))); done; [ "$s" -gt "$before" ]; }
check "the others carry on: the feed polled again" wait_for 60 more_polls
for d in "${DAEMONS[@]}"; do
  [ "$d" = "$LC" ] && continue
  check "$d still healthy" healthy "$d"
  f=$(fetches "$d"); p=$(polls "$d")
  echo "  $d: $f checks, $p polls"
  if [ $((f + p)) -gt 0 ]; then WORKED[$d]=1; fi
done
# A node claims as many due sources as it has free workers, and a poll makes the first fetches of
# what it finds; re-checks (5 min on at the soonest) are claimed by whichever node is free.
check "work taken by ${#WORKED[@]} of $NODES nodes (before and after the SIGKILL)" test "${#WORKED[@]}" -ge 2

echo "== SIGTERM a daemon: it drains and exits 0"
podman stop -t 30 "$LC2" >/dev/null
rc=$(podman inspect --format '{{.State.ExitCode}}' "$LC2")
check "$LC2 exited $rc on SIGTERM" test "$rc" = 0

[ "$failed" = 0 ] && echo "compose.sh: all checks passed" || echo "compose.sh: FAILED"
exit "$failed"
