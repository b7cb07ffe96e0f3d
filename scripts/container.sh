#!/usr/bin/env bash
# The container image and the compose file, built and run for real with podman (deploy/README.md,
# "Podman"). Rootful podman (run as root), a debootstrapped bookworm base instead of a registry's
# debian:bookworm-slim, and images for HAProxy and Prometheus made from the same Debian packages
# the tests use (deploy/podman/).
#
#   scripts/container.sh check                 can podman run a container here? (exit 0, or 1 + why)
#   scripts/container.sh base                  debootstrap the base image (once; cached)
#   scripts/container.sh image [--full] [BIN]  build deploy/Dockerfile as foothold:latest: the runtime
#                                              stage around BIN (default build/server/foothold), or
#                                              --full: the normal two-stage build (compiles inside)
#   scripts/container.sh smoke                 run foothold:latest: HEALTHCHECK, non-root, volume,
#                                              SIGTERM drain to exit 0, data kept across a restart
#   scripts/container.sh compose               bring up deploy/compose.yaml (HAProxy + 2 replicas +
#                                              Prometheus), probe it through HAProxy, tear it down
#   scripts/container.sh test [BIN]            the CTest test "container": check (exit 77 = skipped,
#                                              with the reason) + image BIN + smoke + compose; with
#                                              FOOTHOLD_CONTAINER_TEST=1 also image --full + smoke
#
# Environment: FOOTHOLD_CONTAINER_DIR (default /var/tmp/foothold-container: the base tarball,
# podman's settings for this machine, staging context, logs), FOOTHOLD_DEBIAN_MIRROR (default
# http://deb.debian.org/debian), FOOTHOLD_IMAGE (default localhost/foothold:latest).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=${FOOTHOLD_CONTAINER_DIR:-/var/tmp/foothold-container}
MIRROR=${FOOTHOLD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE=localhost/foothold-base:bookworm
IMAGE=${FOOTHOLD_IMAGE:-localhost/foothold:latest}
SKIP=77   # CTest's SKIP_RETURN_CODE for the "container" test

log() { printf '[container] %s\n' "$*" >&2; }
die() { printf '[container] FAIL: %s\n' "$*" >&2; exit 1; }

# podman's settings for this machine, in a file of our own (CONTAINERS_CONF) rather than in /etc:
# the default ulimits podman asks for (nofile 1048576) exceed what a process without
# CAP_SYS_RESOURCE may set, so they are clamped to this shell's hard limits (nproc also to
# kernel.pid_max, above which runc's setrlimit fails here); the OCI runtime is the first of crun,
# runc that runs a container (crun 1.8 refuses a cgroup v1/v2 hybrid whose v2 tree holds a
# controller; runc does not).
write_conf() {  # write_conf RUNTIME
  local nofile nproc pidmax
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu); pidmax=$(cat /proc/sys/kernel/pid_max)
  [[ $nofile == unlimited || $nofile -gt 1048576 ]] && nofile=1048576
  [[ $nproc == unlimited || $nproc -gt $pidmax ]] && nproc=$pidmax
  mkdir -p "$DIR"
  cat >"$DIR/containers.conf" <<EOF
# Written by scripts/container.sh for this machine.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "$1"
EOF
}
export CONTAINERS_CONF=$DIR/containers.conf
[[ -f $CONTAINERS_CONF ]] || write_conf crun

# --- base ---------------------------------------------------------------------------------------
# The equivalent of debian:bookworm-slim: debootstrap's minbase variant, the same apt sources as
# the official image (bookworm, -updates, -security), and its slimming (no docs, man pages or
# locales installed by later apt-get installs; no apt caches or lists in the layer).
cmd_base() {
  [[ $(id -u) == 0 ]] || die "debootstrap and rootful podman need root"
  if podman image exists "$BASE" 2>/dev/null; then log "base $BASE exists"; return; fi
  local tarball=$DIR/base-bookworm.tar
  if [[ ! -s $tarball ]]; then make_base_tarball "$tarball"; fi
  podman import --change 'CMD ["bash"]' "$tarball" "$BASE" >/dev/null
  log "base $BASE: $(podman image inspect --format '{{.Size}}' "$BASE") bytes"
}

make_base_tarball() {  # make_base_tarball FILE
  command -v debootstrap >/dev/null || die "debootstrap missing: apt-get install -y debootstrap"
  local rootfs=$DIR/rootfs
  rm -rf "$rootfs"; mkdir -p "$DIR"
  log "debootstrap --variant=minbase bookworm from $MIRROR (about 2 minutes)"
  debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$DIR/debootstrap.log" 2>&1 \
    || { tail -20 "$DIR/debootstrap.log" >&2; die "debootstrap failed (log: $DIR/debootstrap.log)"; }
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  find "$rootfs/usr/share/doc" -mindepth 2 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{man,info,groff,lintian,linda}/* "$rootfs"/usr/share/locale/* \
         "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log \
         "$rootfs"/tmp/* "$rootfs"/root/.bash_history
  tar --numeric-owner -C "$rootfs" -cf "$1.tmp" . && mv "$1.tmp" "$1"
  rm -rf "$rootfs"
}

# --- check --------------------------------------------------------------------------------------
# Whether podman can run a container here, decided by running one: prints the reason on failure.
cmd_check() {
  command -v podman >/dev/null || { echo "podman is not installed (apt-get install -y podman)"; return 1; }
  [[ $(id -u) == 0 ]] || { echo "not root: this script drives rootful podman"; return 1; }
  # (a subshell: set -e stays in force inside it)
  (cmd_base) >&2 || { echo "no base image: debootstrap or podman import failed"; return 1; }
  local runtime out reasons=""
  for runtime in crun runc; do
    command -v "$runtime" >/dev/null || { reasons+="$runtime: not installed; "; continue; }
    write_conf "$runtime"
    if out=$(podman run --rm --network none "$BASE" true 2>&1); then
      log "podman runs containers with $runtime ($DIR/containers.conf)${reasons:+; not with }${reasons}"
      return 0
    fi
    reasons+="$runtime: $(tr '\n' ' ' <<<"$out"); "
  done
  echo "podman cannot run a container here: $reasons"
  return 1
}

# --- image --------------------------------------------------------------------------------------
# deploy/Dockerfile as shipped, with the local base (DEBIAN_IMAGE). Prebuilt: the context is a
# staging directory with just what the runtime stage COPYs (the stripped binary and
# config/foothold.toml), so the build stage is neither needed nor run. --full: the repository root,
# the normal path that compiles inside (both cores for minutes; ccache in a cache mount).
cmd_image() {
  local full=0 bin=""
  while (($#)); do case $1 in --full) full=1 ;; *) bin=$1 ;; esac; shift; done
  cmd_base
  # --format docker: the OCI image format has no HEALTHCHECK (podman would drop it).
  local args=(build --pull=never --layers --format docker --build-arg "DEBIAN_IMAGE=$BASE" -t "$IMAGE")
  if ((full)); then
    log "full image build from $ROOT (compiles foothold inside the build stage)"
    podman "${args[@]}" -f deploy/Dockerfile "$ROOT"
  else
    bin=${bin:-${FOOTHOLD_BUILD_DIR:-build}/server/foothold}
    [[ -x $bin ]] || die "no binary at $bin: scripts/build.sh -DCMAKE_BUILD_TYPE=Release first"
    local ctx=$DIR/context
    rm -rf "$ctx"; mkdir -p "$ctx/config"
    cp "$bin" "$ctx/foothold" && strip --strip-unneeded "$ctx/foothold"
    cp config/foothold.toml "$ctx/config/"
    log "image from the prebuilt $bin"
    podman "${args[@]}" --target prebuilt \
      --build-arg FOOTHOLD_PREBUILT=foothold -f "$ROOT/deploy/Dockerfile" "$ctx"
  fi
  log "image $IMAGE: $(podman image inspect --format '{{.Size}}' "$IMAGE") bytes"
}

# --- smoke --------------------------------------------------------------------------------------
# What deploy/README.md promises of the image, checked on a running container. Every wait polls
# with a deadline; ports are podman's free picks on 127.0.0.1.
UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36'
CLEANUP=()
cleanup() {
  local c
  for c in "${CLEANUP[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
trap 'exit 143' TERM INT   # (so that cleanup runs when CTest's timeout kills the test)

wait_until() {  # wait_until SECONDS WHAT COMMAND...: polls COMMAND every 0.2 s
  local limit=$1 deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${limit}s waiting for $what"
    sleep 0.2
  done
}
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" || true; }
status_is() { [[ $(http_code "$2") == "$1" ]]; }
host_port() { podman port "$1" "$2/tcp" | head -1 | sed 's/.*://'; }
ok() { printf '[container] ok: %s\n' "$*" >&2; }
expect() {  # expect WHAT ACTUAL WANTED
  [[ $2 == "$3" ]] || die "$1: got '$2', want '$3'"
  ok "$1 = $3"
}
log_has() { podman logs "$1" 2>&1 | grep -qF "$2"; }
health_status() {  # podman 4.3 names it .State.Healthcheck; docker and later podman .State.Health
  podman inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Healthcheck.Status}}{{end}}' "$1"
}

start_foothold() {  # start_foothold NAME VOLUME [podman run args...]: prints nothing; waits for /readyz
  local name=$1 vol=$2; shift 2
  CLEANUP+=("podman rm -f -t 0 $name")
  # (stderr kept aside: without systemd, podman complains it cannot schedule the HEALTHCHECK timer;
  # the checks below run it by hand with podman healthcheck run.)
  podman run -d --name "$name" -p 127.0.0.1::8080 -p 127.0.0.1::9090 -v "$vol:/var/lib/foothold" \
    --stop-timeout 30 "$@" "$IMAGE" >/dev/null 2>"$DIR/run.err" || { cat "$DIR/run.err" >&2; die "podman run $name"; }
  PUB=$(host_port "$name" 8080); ADM=$(host_port "$name" 9090)
  wait_until 60 "$name's /readyz on 127.0.0.1:$PUB" status_is 200 "http://127.0.0.1:$PUB/readyz"
}

cmd_smoke() {
  local tag=foothold-smoke-$$ vol=foothold-smoke-$$-data
  podman image exists "$IMAGE" || die "no image $IMAGE: scripts/container.sh image"
  podman volume create "$vol" >/dev/null
  CLEANUP+=("podman volume rm -f $vol")
  # drain_delay 10 s: room to observe the draining container from outside on a busy machine.
  start_foothold "$tag" "$vol" -e FOOTHOLD_SHUTDOWN__DRAIN_DELAY=10s
  ok "serving: collect on 127.0.0.1:$PUB, admin on 127.0.0.1:$ADM"

  # HEALTHCHECK: the image's own command, run by podman inside the container.
  podman healthcheck run "$tag" >/dev/null || die "HEALTHCHECK failed on a ready container"
  expect "health after a HEALTHCHECK run" "$(health_status "$tag")" healthy

  # Non-root: PID 1 (foothold itself, exec form) and the files it writes in the volume.
  expect "PID 1" "$(podman exec "$tag" cat /proc/1/comm)" foothold
  expect "PID 1 uid (real, effective, saved, fs)" \
    "$(podman exec "$tag" awk '/^Uid:/ {print $2,$3,$4,$5}' /proc/1/status)" "10001 10001 10001 10001"
  expect "owners of the files in the volume" \
    "$(podman exec "$tag" find /var/lib/foothold -printf '%U:%G\n' | sort -u | tr '\n' ' ')" "10001:10001 "

  # An event in, acknowledged, and read back on the admin port only.
  local body='{"event":"video_play","session_id":"s-container","event_id":"e-container-1"}'
  expect "POST /v1/collect" "$(curl -s --max-time 5 -A "$UA" -H 'Content-Type: application/json' \
    -d "$body" "http://127.0.0.1:$PUB/v1/collect?sid=s-container")" \
    '{"accepted":1,"duplicates":0,"rejected":[]}'
  expect "GET /v1/sessions on the public port" \
    "$(http_code "http://127.0.0.1:$PUB/v1/sessions/s-container")" 404
  curl -sf --max-time 5 "http://127.0.0.1:$ADM/v1/sessions/s-container" | grep -q '"event_id":"e-container-1"' \
    || die "the event is not in /v1/sessions/s-container on the admin port"
  ok "event read back on the admin port"

  # SIGTERM drain: readiness off at once (the HEALTHCHECK says unhealthy) while still serving,
  # then exit 0 with the store closed.
  # podman kill, not podman stop: a container being stopped is "stopping" to podman, which then
  # runs no HEALTHCHECK; podman stop's own path is checked on the second container below.
  podman kill --signal TERM "$tag" >/dev/null
  wait_until 10 "/readyz 503 after SIGTERM" status_is 503 "http://127.0.0.1:$PUB/readyz"
  ok "/readyz 503 while draining"
  expect "GET /healthz while draining" "$(http_code "http://127.0.0.1:$PUB/healthz")" 200
  local out
  out=$(podman healthcheck run "$tag" 2>&1) && die "HEALTHCHECK passed while draining"
  [[ $out == *unhealthy* ]] || die "HEALTHCHECK while draining: '$out', want unhealthy"
  ok "HEALTHCHECK unhealthy while draining"
  expect "exit code after SIGTERM" "$(timeout 60 podman wait "$tag")" 0
  # (polled: conmon may still be copying the last lines into the log when podman wait returns)
  wait_until 10 "'draining' in the log" log_has "$tag" 'received signal 15: draining'
  wait_until 10 "'store closed' in the log" log_has "$tag" 'store closed; bye'
  ok "drained and closed the store (log)"

  # The volume outlives the container: a new one on it has the event, and verify agrees.
  podman rm "$tag" >/dev/null 2>&1
  local verify
  verify=$(podman run --rm --no-healthcheck -v "$vol:/var/lib/foothold" \
    --entrypoint /usr/local/bin/foothold "$IMAGE" verify --config /etc/foothold/foothold.toml \
    --data-dir /var/lib/foothold 2>&1) \
    || die "foothold verify on the volume: $verify"
  ok "foothold verify on the volume: $(tail -1 <<<"$verify")"
  start_foothold "$tag-2" "$vol"
  curl -sf --max-time 5 "http://127.0.0.1:$ADM/v1/sessions/s-container" | grep -q '"event_id":"e-container-1"' \
    || die "the event did not survive the container (volume)"
  ok "event kept in the volume across containers"
  podman stop -t 30 "$tag-2" >/dev/null
  expect "exit code after podman stop -t 30 (no SIGKILL)" \
    "$(podman inspect --format '{{.State.ExitCode}}' "$tag-2")" 0
  cleanup; CLEANUP=()
  ok "smoke passed"
}

# --- compose ------------------------------------------------------------------------------------
# deploy/compose.yaml under podman-compose, as written but for what this machine lacks: images
# from no registry (foothold:latest from `image`, HAProxy and Prometheus from deploy/podman/),
# host ports picked by podman on 127.0.0.1 (fixed ones collide on a shared machine), ulimits
# within this machine's (write_conf), service networks as a list, and no ClickHouse service (the export is switched off: its own tests
# run a real clickhouse-server). The rewritten file is $DIR/compose/compose.yaml.
compose_file() {  # compose_file OUT
  /usr/bin/python3 - "$ROOT/deploy" "$1" "$IMAGE" "$DIR/containers.conf" <<'PY'
import re, sys, yaml
deploy, out, image, conf = sys.argv[1:5]
# This machine's limits, as write_conf found them: nofile=N:N and nproc=N:N.
limits = {k: int(v) for k, v in re.findall(r'"(nofile|nproc)=(\d+):\d+"', open(conf).read())}
c = yaml.safe_load(open(f"{deploy}/compose.yaml"))   # resolves the x-foothold anchor
c.pop("name", None)
c = {k: v for k, v in c.items() if not k.startswith("x-")}
c["services"].pop("clickhouse")
c["volumes"].pop("clickhouse-data")
images = {"haproxy": "localhost/foothold-haproxy:2.6", "prometheus": "localhost/foothold-prometheus:2.42"}
for name, svc in c["services"].items():
    if name.startswith("foothold-"):
        svc["image"] = image
        svc.pop("build", None)
        svc["environment"] = {k: v for k, v in svc["environment"].items() if "CLICKHOUSE" not in k}
    else:
        svc["image"] = images[name]
    svc["ports"] = [f"127.0.0.1::{p.split(':')[-1]}" for p in svc.get("ports", [])]
    svc["volumes"] = [f"{deploy}/{v[2:]}" if v.startswith("./") else v for v in svc.get("volumes", [])]
    if isinstance(svc.get("networks"), dict):   # podman-compose 1.0.3 takes a list only
        svc["networks"] = list(svc["networks"])
    if "ulimits" in svc:   # an explicit ulimit makes podman drop the defaults: restate nproc
        svc["ulimits"] = {"nofile": {k: min(v, limits["nofile"]) for k, v in svc["ulimits"]["nofile"].items()},
                          "nproc": limits["nproc"]}
yaml.safe_dump(c, open(out, "w"), sort_keys=False)
PY
}

stats_status() {  # stats_status PORT SERVER: HAProxy's status of backend foothold's SERVER
  curl -s --max-time 5 "http://127.0.0.1:$1/stats;csv" | awk -F, -v s="$2" '$1=="foothold" && $2==s {print $18}'
}
prom_query() {  # prom_query PORT PROMQL: the first value of an instant query, or nothing
  curl -s --max-time 5 "http://127.0.0.1:$1/api/v1/query" --data-urlencode "query=$2" \
    | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
prom_is() { [[ $(prom_query "$1" "$2") == "$3" ]]; }
admin_status() {  # admin_status CONTAINER PATH: the status code of foothold's admin port, asked inside
  podman exec "$1" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9090 && printf "GET %s HTTP/1.0\r\n\r\n" "$0" >&3 && read -r _ code _ <&3 && echo "$code"' "$2"
}
post() {  # post PORT SID: one event through HAProxy; prints the status code
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 -A "$UA" -H 'Content-Type: application/json' \
    -d "{\"event\":\"video_play\",\"session_id\":\"$2\"}" "http://127.0.0.1:$1/v1/collect?sid=$2"
}

cmd_compose() {
  command -v podman-compose >/dev/null || die "podman-compose missing: apt-get install -y podman-compose"
  podman image exists "$IMAGE" || die "no image $IMAGE: scripts/container.sh image"
  local svc
  for svc in haproxy:2.6 prometheus:2.42; do
    log "image localhost/foothold-$svc (deploy/podman/${svc%%:*}.Containerfile)"
    podman build --pull=never --layers --format docker --build-arg "DEBIAN_IMAGE=$BASE" \
      -t "localhost/foothold-$svc" -f "deploy/podman/${svc%%:*}.Containerfile" deploy/podman >/dev/null
  done
  mkdir -p "$DIR/compose"
  local file=$DIR/compose/compose.yaml proj=fhcompose$$
  compose_file "$file"
  local pc=(podman-compose -p "$proj" -f "$file")
  CLEANUP+=("${pc[*]} down -v -t 30")
  local lb=${proj}_haproxy_1 r1=${proj}_foothold-1_1 r2=${proj}_foothold-2_1 pr=${proj}_prometheus_1
  # podman-compose 1.0.3 (Debian bookworm's) ignores a network's ipam and a service's
  # ipv4_address: the network is made here with the file's subnet (podman-compose uses an existing
  # one), and HAProxy is moved onto its fixed address after up.
  local net=${proj}_foothold subnet haddr
  subnet=$(/usr/bin/python3 -c 'import sys,yaml; print(yaml.safe_load(open(sys.argv[1]))["networks"]["foothold"]["ipam"]["config"][0]["subnet"])' deploy/compose.yaml)
  haddr=$(/usr/bin/python3 -c 'import sys,yaml; print(yaml.safe_load(open(sys.argv[1]))["services"]["haproxy"]["networks"]["foothold"]["ipv4_address"])' deploy/compose.yaml)
  # Under the machine-wide lock, another project's network is a leftover of a run that was killed
  # before its cleanup (it would hold the subnet): remove it and its containers.
  local stale
  for stale in $(podman network ls --format '{{.Name}}' | grep -E '^fhcompose[0-9]+_foothold$' || true); do
    log "removing the leftover network $stale"
    podman ps -aq --filter "network=$stale" | xargs -r podman rm -f -t 0 >/dev/null 2>&1 || true
    podman network rm -f "$stale" >/dev/null 2>&1 || true
  done
  CLEANUP+=("podman network rm -f $net")
  podman network create --subnet "$subnet" "$net" >/dev/null
  log "podman-compose up (project $proj)"
  "${pc[@]}" up -d >"$DIR/compose/up.log" 2>&1 || { tail -30 "$DIR/compose/up.log" >&2; die "podman-compose up"; }
  podman network disconnect "$net" "$lb" && podman network connect --ip "$haddr" --alias haproxy "$net" "$lb"
  expect "HAProxy's address" "$(podman inspect --format "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$lb")" "$haddr"
  local LB STATS PROM
  LB=$(host_port "$lb" 8080); STATS=$(host_port "$lb" 8404); PROM=$(host_port "$pr" 9090)
  ok "up: HAProxy on 127.0.0.1:$LB (stats :$STATS), Prometheus on 127.0.0.1:$PROM"

  # Both replicas healthy behind HAProxy (its checks ask /readyz).
  wait_until 90 "HAProxy to see foothold-1 UP" eval '[[ $(stats_status '"$STATS"' foothold-1) == UP ]]'
  wait_until 90 "HAProxy to see foothold-2 UP" eval '[[ $(stats_status '"$STATS"' foothold-2) == UP ]]'
  expect "container health of foothold-1 (HEALTHCHECK)" "$(podman healthcheck run "$r1" >/dev/null 2>&1 && health_status "$r1")" healthy
  expect "replicas' uid" "$(podman top "$r1" huser | tail -1) $(podman top "$r2" huser | tail -1)" "10001 10001"

  # Sessions through HAProxy: each lands on exactly one replica, and both replicas get some.
  local i on1=0 on2=0 a b
  for i in $(seq 1 20); do
    expect "POST s-$i through HAProxy" "$(post "$LB" "s-$i")" 200 2>/dev/null
    a=$(admin_status "$r1" "/v1/sessions/s-$i"); b=$(admin_status "$r2" "/v1/sessions/s-$i")
    case "$a $b" in
      "200 404") on1=$((on1 + 1)) ;; "404 200") on2=$((on2 + 1)) ;;
      *) die "session s-$i: foothold-1 answers $a, foothold-2 $b (want it on exactly one)" ;;
    esac
  done
  ((on1 > 0 && on2 > 0)) || die "all 20 sessions on one replica ($on1 / $on2): no hashing"
  ok "20 sessions, each on one replica ($on1 on foothold-1, $on2 on foothold-2)"

  # Prometheus scrapes both replicas and HAProxy (the shipped prometheus.yml and rules.yml).
  wait_until 120 "Prometheus: both replicas up" prom_is "$PROM" 'count(up{job="foothold"} == 1)' 2
  wait_until 120 "Prometheus: HAProxy up" prom_is "$PROM" 'up{job="haproxy"}' 1
  wait_until 120 "Prometheus: 20 accepted events summed over the replicas" \
    prom_is "$PROM" 'sum(foothold_events_total{outcome="accepted"})' 20
  ok "Prometheus sees both replicas and HAProxy; sum of accepted events = 20"

  # Roll foothold-1 (podman stop = SIGTERM, the drain) while posting: no request fails.
  podman stop -t 30 "$r1" >/dev/null 2>&1 &
  local stopper=$! sent=0 code
  while kill -0 "$stopper" 2>/dev/null; do
    code=$(post "$LB" "roll-$sent"); sent=$((sent + 1))
    [[ $code == 200 ]] || die "POST roll-$((sent - 1)) during foothold-1's roll: $code"
  done
  wait "$stopper" || true
  expect "foothold-1's exit code after SIGTERM" "$(podman inspect --format '{{.State.ExitCode}}' "$r1")" 0
  ok "$sent POSTs during foothold-1's drain, none failed"
  podman start "$r1" >/dev/null 2>&1
  wait_until 90 "HAProxy to see foothold-1 UP again" eval '[[ $(stats_status '"$STATS"' foothold-1) == UP ]]'
  ok "foothold-1 back UP"
  "${pc[@]}" down -v -t 30 >"$DIR/compose/down.log" 2>&1 || { tail -20 "$DIR/compose/down.log" >&2; die "podman-compose down"; }
  cleanup; CLEANUP=()
  ok "compose passed"
}

# --- test ---------------------------------------------------------------------------------------
# The CTest test "container". Exit 77 (skipped) when this machine cannot run containers, with the
# reason; a missing tool fails instead when CI is set (tests/README.md, "A missing tool fails CI").
cmd_test() {
  local tool reason
  for tool in podman podman-compose debootstrap curl; do
    command -v "$tool" >/dev/null && continue
    case ${CI:-} in ""|0|false) echo "SKIPPED: $tool is not installed (scripts/setup.sh test)"; exit $SKIP ;; esac
    die "$tool is not installed and CI is set (scripts/setup.sh test installs it)"
  done
  if ! reason=$(cmd_check); then echo "SKIPPED: $reason"; exit $SKIP; fi
  cmd_image "$@"
  cmd_smoke
  cmd_compose
  if [[ ${FOOTHOLD_CONTAINER_TEST:-0} == 1 ]]; then
    IMAGE=localhost/foothold:full cmd_image --full
    IMAGE=localhost/foothold:full cmd_smoke
  fi
  log "container test passed"
}

# One function, read whole before it runs: editing this file during a run cannot derail it.
main() {
  # One run at a time on a machine: runs share $DIR, the image tags and the compose file's fixed
  # subnet (several worktrees' test suites may reach the CTest test "container" together).
  case ${1:-} in
    check|base|image|smoke|compose|test)
      mkdir -p "$DIR"; exec 9>"$DIR/lock"
      flock -w 1200 9 || die "another scripts/container.sh held $DIR/lock for 20 minutes" ;;
  esac
  case ${1:-} in
    check) shift; cmd_check "$@" ;;
    base) shift; cmd_check >/dev/null || true; cmd_base ;;
    image) shift; cmd_check >/dev/null || die "podman cannot run containers: scripts/container.sh check"; cmd_image "$@" ;;
    smoke) shift; cmd_check >/dev/null || die "podman cannot run containers: scripts/container.sh check"; cmd_smoke ;;
    compose) shift; cmd_check >/dev/null || die "podman cannot run containers: scripts/container.sh check"; cmd_compose ;;
    test) shift; cmd_test "$@" ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
  esac
}
main "$@"; exit $?
