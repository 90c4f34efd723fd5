#!/usr/bin/env bash
# Builds the serving image with no image registry and checks it end to end, with podman:
#   1. a Debian base image made locally: debootstrap --variant=minbase bookworm (plus libssl3 and ca-certificates,
#      what .NET's runtime-deps image adds), imported with `podman import` (skipped when the image exists);
#   2. Serve published self-contained on the host into deploy/publish/serving;
#   3. `podman build` of deploy/Dockerfile.serving with APP_SOURCE=host BASE_IMAGE=<that base>;
#   4. a container of it on a model repository: waits for /v2/health/ready, runs the image's HEALTHCHECK,
#      checks the server runs as uid 1654, does an inference, stops it (SIGTERM) and requires exit code 0.
# Prints how long each step took. Needs root (debootstrap, podman as root), podman, debootstrap, curl, dotnet.
#
# Settings (environment):
#   ALLREDUCENET_BASE_IMAGE   base image name (localhost/allreducenet-base:bookworm)
#   ALLREDUCENET_REBUILD_BASE=1   make the base image again even if it exists
#   ALLREDUCENET_DEBIAN_MIRROR    mirror for debootstrap (http://deb.debian.org/debian)
#   ALLREDUCENET_IMAGE        the serving image's name (localhost/allreducenet-serving:local)
#   ALLREDUCENET_MODELS       model repository to serve (default: a small model exported by Train.dll --synthetic)
#   ALLREDUCENET_PODMAN_RUN_FLAGS  flags of `podman build` and `podman run` (default: runc and lowered ulimits when
#                             runc is installed: see docs/containers.md for why this sandbox needs them)
set -euo pipefail
cd "$(dirname "$0")/.."

base_image=${ALLREDUCENET_BASE_IMAGE:-localhost/allreducenet-base:bookworm}
image=${ALLREDUCENET_IMAGE:-localhost/allreducenet-serving:local}
mirror=${ALLREDUCENET_DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ -n "${ALLREDUCENET_PODMAN_RUN_FLAGS+set}" ]; then
  read -r -a podman_flags <<<"$ALLREDUCENET_PODMAN_RUN_FLAGS"
elif command -v runc >/dev/null 2>&1; then
  # crun refuses a hybrid cgroup v1/v2 host ("cgroups in hybrid mode not supported"), and without CAP_SYS_RESOURCE
  # podman's default ulimits (nofile 1048576) cannot be set; runc with limits below the host's works.
  podman_flags=(--runtime runc --ulimit nofile=10000:10000 --ulimit nproc=4096:4096)
else
  podman_flags=()
fi

fail() { echo "build-local-image: $*" >&2; exit 1; }
step_started=0
step() { step_started=$(date +%s%N); echo "build-local-image: $*"; }
took() { local ms=$((($(date +%s%N) - step_started) / 1000000)); printf 'build-local-image: time %s: %d.%01d s\n' "$1" $((ms / 1000)) $((ms % 1000 / 100)); }

[ "$(id -u)" -eq 0 ] || fail "run as root (debootstrap and podman's root storage need it)."
for tool in podman curl dotnet; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool not found; on Debian: apt-get install podman runc curl (and the .NET 10 SDK)."
done

work=$(mktemp -d /tmp/arn-local-image.XXXXXX)
container=arn-serving-check-$$
cleanup() {
  podman rm -f "$container" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# 1. The base image.
if [ "${ALLREDUCENET_REBUILD_BASE:-0}" = 1 ] || ! podman image exists "$base_image"; then
  command -v debootstrap >/dev/null 2>&1 || fail "debootstrap not found: apt-get install debootstrap."
  step "debootstrap minbase bookworm from $mirror"
  debootstrap --variant=minbase --include=libssl3,ca-certificates bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap failed (log above)."; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  took debootstrap
  step "podman import as $base_image"
  tar -C "$work/rootfs" -c . | podman import -q - "$base_image" >/dev/null
  rm -rf "$work/rootfs"
  took import
else
  echo "build-local-image: base image $base_image exists (ALLREDUCENET_REBUILD_BASE=1 makes it again)"
fi

# 2. The self-contained publish that the Dockerfile's APP_SOURCE=host copies.
step "dotnet publish src/Serving -r linux-x64 --self-contained -> deploy/publish/serving"
rm -rf deploy/publish/serving
dotnet publish src/Serving/AllReduceNet.Serving.csproj -c Release -r linux-x64 --self-contained -o deploy/publish/serving -v q -nologo >"$work/publish.log" 2>&1 \
  || { tail -n 20 "$work/publish.log" >&2; fail "dotnet publish failed (log above)."; }
[ -x deploy/publish/serving/Serve ] || fail "publish produced no deploy/publish/serving/Serve, the image's ENTRYPOINT."
took publish

# 3. The image (docker format: the OCI format has no HEALTHCHECK).
step "podman build $image"
podman build -q "${podman_flags[@]}" --format docker -f deploy/Dockerfile.serving \
  --build-arg APP_SOURCE=host --build-arg BASE_IMAGE="$base_image" -t "$image" . >"$work/build.log" 2>&1 \
  || { tail -n 20 "$work/build.log" >&2; fail "podman build failed (log above)."; }
took build

# 4. A model repository, then the container.
models=${ALLREDUCENET_MODELS:-}
if [ -z "$models" ]; then
  models="$work/models"
  dotnet build src/Training -c Release -v q -nologo >"$work/train-build.log" 2>&1 \
    || { tail -n 20 "$work/train-build.log" >&2; fail "dotnet build src/Training failed (log above)."; }
  dotnet src/Training/bin/Release/net10.0/Train.dll --synthetic 512 --layers 784,16,10 --epochs 1 --ranks 1 \
    --batch-size 64 --no-checkpoint --quiet --export-model "$models/fashion/1" >/dev/null
fi
[ -d "$models" ] || fail "ALLREDUCENET_MODELS '$models' is not a directory."
chmod -R a+rX "$models" # the server runs as uid 1654
chmod a+x "$work"

port=""
for candidate in $(shuf -i 20000-29999 -n 20); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
done
[ -n "$port" ] || fail "found no free port on 127.0.0.1."

step "podman run $image on 127.0.0.1:$port"
# The health-check timer wants systemd, absent here; `podman healthcheck run` below runs the same check by hand.
podman run -d --name "$container" "${podman_flags[@]}" -p "127.0.0.1:$port:8000" -v "$models:/models:ro" "$image" \
  >"$work/run.log" 2>&1 || { cat "$work/run.log" >&2; fail "podman run failed (log above)."; }
ready=""
for _ in $(seq 1 120); do
  if curl -fsS -m 2 "http://127.0.0.1:$port/v2/health/ready" >/dev/null 2>&1; then ready=1; break; fi
  [ "$(podman inspect "$container" --format '{{.State.Running}}')" = true ] || break
  sleep 0.5
done
[ -n "$ready" ] || { podman logs "$container" 2>&1 | tail -n 20 >&2; fail "the server was not ready within 60 s (log above)."; }
took "run until ready"

health=$(podman healthcheck run "$container" 2>/dev/null) && health=${health:-healthy} || health="unhealthy: $(podman inspect "$container" --format '{{json .State.Health}}' 2>/dev/null)"
[ "$health" = healthy ] || fail "the image's HEALTHCHECK said $health"
echo "build-local-image: HEALTHCHECK: $health"

user=$(podman top "$container" huser | tail -n 1 | tr -d ' ')
[ "$user" = 1654 ] || fail "the server runs as uid '$user', not 1654."
echo "build-local-image: the server runs as uid $user"

zeros=$(printf '0%.0s,' $(seq 1 783))0
answer=$(curl -fsS -m 30 "http://127.0.0.1:$port/v2/models/fashion/infer" -H 'Content-Type: application/json' \
  -d "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP32\",\"data\":[$zeros]}]}") \
  || fail "the inference request failed."
echo "$answer" | grep -q '"name":"class","datatype":"INT64","shape":\[1\]' || fail "unexpected inference answer: $answer"
echo "build-local-image: inference: $answer"

step "podman stop (SIGTERM)"
podman stop -t 30 "$container" >/dev/null 2>&1
code=$(podman inspect "$container" --format '{{.State.ExitCode}}')
[ "$code" = 0 ] || { podman logs "$container" 2>&1 | tail -n 20 >&2; fail "the server exited with $code after SIGTERM, not 0."; }
took stop
echo "build-local-image: ok: $image built on $base_image, healthy, answered an inference, stopped with exit code 0"
