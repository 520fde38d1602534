#!/usr/bin/env bash
# e2e/cluster/images.sh — build every image the local cluster runs, offline.
#
#   images.sh [--tools-only] [--import] [--previous=REF] [NAME...]
#
#   (default)     build the Go/C tools, then every image (or only NAMEs) into
#                 docker-archive tarballs under $BYRON_CACHE/images
#   --tools-only  only the tools: helm, coredns, local-path-provisioner, crictl,
#                 kube-router, traefik, the e2e probe, the static pause binary
#                 (scripts/bootstrap cluster)
#   --import      also import the tarballs into containerd's k8s.io namespace
#                 (needs the cluster's containerd running; up.sh does this)
#   --import-only import what was built, build nothing
#   --previous=REF  also the operator and sidecar images of the commit REF
#                 (operator-previous, sidecar-previous: $OPERATOR_PREVIOUS_IMAGE,
#                 $SIDECAR_PREVIOUS_IMAGE), from its tree under
#                 $BYRON_CACHE/trees/<sha> — what e2e.upgrade upgrades from
#
# Nothing is pulled from a container registry. The Debian base is made with
# debootstrap from the host's Debian mirror; scratch images hold binaries
# built here. Each image has a key (hash of its inputs); an image whose key is
# unchanged is not rebuilt, and not re-imported.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

tools_only=0 do_import=0 import_only=0 only=() previous=
for a in "$@"; do
  case $a in
    --tools-only) tools_only=1 ;;
    --import) do_import=1 ;;
    --import-only) do_import=1 import_only=1 ;;
    --previous=*) previous=${a#--previous=} ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) cdie "unknown option $a" ;;
    *) only+=("$a") ;;
  esac
done

stamps=$BYRON_CACHE/stamps
mkdir -p "$BIN" "$stamps" "$IMAGES"
export CGO_ENABLED=0
stamp_ok() { [ -f "$stamps/$1" ] && [ "$(cat "$stamps/$1")" = "$2" ]; }
stamp_set() { printf '%s' "$2" >"$stamps/$1"; }
hash_files() { cat "$@" | sha256sum | cut -c1-16; }

# --- tools ---------------------------------------------------------------------
go_install() {   # NAME PACKAGE VERSION [LDFLAGS]
  local name=$1 pkg=$2 version=$3 ldflags=${4:-}
  if stamp_ok "$name" "$version" && [ -x "$BIN/$name" ]; then return 0; fi
  clog "building $name $version from its Go module (slow the first time)"
  GOBIN=$BIN GOFLAGS=-p=2 go install -trimpath -ldflags="-s -w $ldflags" "$pkg@$version" ||
    cdie "building $name failed"
  stamp_set "$name" "$version"
}

# Traefik (the local cluster's Gateway API / Ingress controller, e2e.expose):
# its go.mod replaces and excludes modules, which a dependent module must
# repeat, so a wrapper module (e2e/cluster/traefik) copies them and builds
# Traefik's own main package. No cgo. About 5.5 minutes on 2 cores when cold,
# then cached by version and wrapper (stamp "traefik").
build_traefik() {
  local key dir=$BYRON_CACHE/src/traefik gomod
  key="$TRAEFIK_VERSION-$(hash_files "$cluster_dir/traefik/tools.go")"
  if stamp_ok traefik "$key" && [ -x "$BIN/traefik" ]; then return 0; fi
  clog "building traefik $TRAEFIK_VERSION from its Go module (about 5.5 minutes the first time)"
  rm -rf "$dir"; mkdir -p "$dir"
  cp "$cluster_dir/traefik/tools.go" "$dir/"
  gomod=$(cd "$dir" && go mod download -json "github.com/traefik/traefik/v3@$TRAEFIK_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])') || cdie "downloading traefik failed"
  {
    echo "module byron.local/traefik"
    echo
    grep -E '^go [0-9]' "$gomod"
    echo
    echo "require github.com/traefik/traefik/v3 $TRAEFIK_VERSION"
    echo
    # single-line directives and the bodies of replace ( ... ) / exclude ( ... ) blocks
    awk '/^(replace|exclude) \($/ {blk=1; print; next} blk && /^\)$/ {blk=0; print; next}
         blk || /^(replace|exclude) [^(]/ {print}' "$gomod"
  } >"$dir/go.mod"
  (cd "$dir" && go mod tidy >"$dir/build.log" 2>&1 &&
    GOFLAGS=-p=2 go build -trimpath \
      -ldflags="-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
      -o "$BIN/.traefik.new" github.com/traefik/traefik/v3/cmd/traefik >>"$dir/build.log" 2>&1 &&
    mv -f "$BIN/.traefik.new" "$BIN/traefik") ||
    cdie "building traefik failed; see $dir/build.log"
  stamp_set traefik "$key"
}

build_tools() {
  go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" \
    "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  go_install coredns github.com/coredns/coredns "$COREDNS_VERSION"
  go_install local-path-provisioner github.com/rancher/local-path-provisioner "$LOCAL_PATH_PROVISIONER_VERSION" \
    "-X main.VERSION=$LOCAL_PATH_PROVISIONER_VERSION"
  go_install crictl sigs.k8s.io/cri-tools/cmd/crictl "$CRI_TOOLS_VERSION" \
    "-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRI_TOOLS_VERSION"
  go_install kube-router github.com/cloudnativelabs/kube-router/v2/cmd/kube-router "$KUBE_ROUTER_VERSION" \
    "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION"
  build_traefik

  local key
  key=$(hash_files "$repo_root/e2e/probe/main.go" "$repo_root/e2e/probe/go.mod")
  if ! stamp_ok e2e-probe "$key" || [ ! -x "$BIN/e2e-probe" ]; then
    clog "building e2e-probe"
    (cd "$repo_root/e2e/probe" && go build -trimpath -ldflags='-s -w' -o "$BIN/e2e-probe" .)
    stamp_set e2e-probe "$key"
  fi
  key=$(hash_files "$cluster_dir/ferretdb/mongod-shim.c")
  if ! stamp_ok mongod-shim "$key" || [ ! -x "$BIN/mongod-shim" ]; then
    clog "building mongod-shim (static C)"
    cc -static -O2 -s -Wall -Wextra -Werror -o "$BIN/mongod-shim" "$cluster_dir/ferretdb/mongod-shim.c"
    stamp_set mongod-shim "$key"
  fi
  key=$(hash_files "$cluster_dir/pause/pause.c")
  if ! stamp_ok pause "$key" || [ ! -x "$BIN/pause" ]; then
    clog "building pause (static C)"
    cc -static -O2 -s -Wall -Wextra -Werror -o "$BIN/pause" "$cluster_dir/pause/pause.c"
    stamp_set pause "$key"
  fi
}

# --- images --------------------------------------------------------------------
# The host's Debian mirror, read from its apt sources (never hard-coded).
debian_mirror() {
  local m
  m=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -1)
  [ -n "$m" ] || m=$(grep -hsE '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -1)
  [ -n "$m" ] || cdie "no Debian mirror in /etc/apt/sources*: debootstrap needs one"
  printf '%s' "$m"
}

# debootstrap tarball, cached: the expensive, network-bound part.
debian_rootfs_tar() {
  local tar=$BYRON_CACHE/debootstrap/$DEBIAN_SUITE-minbase.tar
  if [ -s "$tar" ]; then printf '%s' "$tar"; return 0; fi
  command -v debootstrap >/dev/null || cdie "debootstrap missing: run scripts/bootstrap cluster"
  mkdir -p "$(dirname "$tar")"
  local root; root=$(mktemp -d "$BYRON_CACHE/debootstrap/root.XXXXXX")
  clog "debootstrap $DEBIAN_SUITE (minbase) — once, then cached in $tar"
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$root" "$(debian_mirror)" \
    >"$BYRON_CACHE/debootstrap/debootstrap.log" 2>&1 ||
    { rm -rf "$root"; cdie "debootstrap failed, see $BYRON_CACHE/debootstrap/debootstrap.log"; }
  # what the official image trims: apt lists and caches, logs
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/var/log/*.log "$root"/tmp/* 2>/dev/null || true
  tar --numeric-owner -C "$root" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
  rm -rf "$root"
  printf '%s' "$tar"
}

bh() { buildah --storage-driver overlay "$@"; }

# finish CONTAINER NAME TAR REF...: commit, save as docker-archive with its refs.
finish() {
  local c=$1 name=$2 out=$3; shift 3
  local ref=$1
  bh commit --quiet --rm "$c" "$ref" >/dev/null
  local r; for r in "$@"; do bh tag "$ref" "$r"; done
  rm -f "$out.tmp"
  # docker-archive keeps the fully qualified name(s) for `ctr images import`
  bh push --quiet "$ref" "docker-archive:$out.tmp:$ref" >/dev/null
  mv "$out.tmp" "$out"
}

# scratch_image NAME REF KEYFILES... -- file:dest ... -- buildah config args...
scratch_image() {
  local name=$1 ref=$2 out=$IMAGES/$1.tar; shift 2
  local c; c=$(bh from --quiet scratch)
  local f
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    f=$1; shift
    bh copy --quiet "$c" "${f%%:*}" "${f#*:}" >/dev/null
  done
  shift
  bh config "$@" "$c"
  finish "$c" "$name" "$out" "$ref"
}

# build_image NAME KEY FUNCTION: run FUNCTION (which writes $IMAGES/NAME.tar)
# unless the stored key matches.
build_image() {
  local name=$1 key=$2 fn=$3
  if [ ${#only[@]} -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -qx "$name"; then return 0; fi
  if [ -s "$IMAGES/$name.tar" ] && [ "$(cat "$IMAGES/$name.key" 2>/dev/null)" = "$key" ]; then
    return 0
  fi
  clog "building image $name"
  local t0=$SECONDS rc
  # errexit inside the builder: a subshell outside any condition (in an `if`,
  # bash would ignore set -e and report the last command's status)
  set +e
  (set -e; "$fn")
  rc=$?
  set -e
  if [ $rc -eq 0 ]; then
    printf '%s' "$key" >"$IMAGES/$name.key"
    rm -f "$IMAGES/$name.failed"
    clog "image $name built in $((SECONDS - t0))s"
  else
    # no stale image stands in for a failed build: the tarball goes, and a
    # marker says why (the e2e tests look for it)
    rm -f "$IMAGES/$name.tar" "$IMAGES/$name.key"
    printf 'build of %s failed at %s; log: %s\n' "$name" "$(date -u +%FT%TZ)" "$IMAGES/$name.build.log" \
      >"$IMAGES/$name.failed"
    clog "image $name FAILED (skipped)"
    failed+=("$name")
  fi
}

img_debian() {
  local tar; tar=$(debian_rootfs_tar)
  local c; c=$(bh from --quiet scratch)
  local mnt; mnt=$(bh mount "$c")
  tar --numeric-owner -C "$mnt" -xf "$tar"
  bh umount "$c" >/dev/null
  bh config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd bash --os linux --arch amd64 "$c"
  # One rootfs stands in for both debian:bookworm and debian:bookworm-slim.
  finish "$c" debian "$IMAGES/debian.tar" "$DEBIAN_IMAGE" "$DEBIAN_SLIM_IMAGE" \
    "localhost/byron/debian:$DEBIAN_SUITE"
}

img_pause() {
  scratch_image pause "$PAUSE_IMAGE" "$BIN/pause:/pause" -- \
    --entrypoint '["/pause"]' --user 65535:65535 --os linux --arch amd64
}

ca_bundle=/etc/ssl/certs/ca-certificates.crt
img_coredns() {
  scratch_image coredns "$COREDNS_IMAGE" "$BIN/coredns:/coredns" "$ca_bundle:/etc/ssl/certs/ca-certificates.crt" -- \
    --entrypoint '["/coredns"]' --port 53/udp --port 53/tcp --port 9153/tcp --os linux --arch amd64
}

img_nats() {
  local conf; conf=$(mktemp)
  printf '# Client port\nport: 4222\n# HTTP monitoring port\nmonitor_port: 8222\n' >"$conf"
  scratch_image nats "$NATS_IMAGE" "$BIN/nats-server:/nats-server" "$conf:/nats-server.conf" -- \
    --entrypoint '["/nats-server"]' --cmd '["--config","/nats-server.conf"]' \
    --port 4222 --port 8222 --os linux --arch amd64
  rm -f "$conf"
}

img_ferretdb() {
  # MongoDB wire protocol on :27017, SQLite files in /data/db (where a mongo
  # StatefulSet mounts its volume). The entrypoint translates mongod's flags
  # (a cache StatefulSet passes --bind_ip_all): ferretdb/mongod-shim.c.
  scratch_image ferretdb "$FERRETDB_IMAGE" "$BIN/ferretdb:/ferretdb" "$BIN/mongod-shim:/mongod-shim" -- \
    --entrypoint '["/mongod-shim"]' --cmd '["--listen-addr=0.0.0.0:27017","--sqlite-dir=/data/db"]' \
    --port 27017 --os linux --arch amd64
}

# Traefik, the gateway of e2e.expose: a static binary under the official
# image's name; it reads the Gateway API and answers on its entry points.
img_traefik() {
  scratch_image traefik "$TRAEFIK_IMAGE" "$BIN/traefik:/traefik" -- \
    --entrypoint '["/traefik"]' --port 8000 --user 65532:65532 --os linux --arch amd64
}

img_local_path() {
  scratch_image local-path-provisioner "$LOCAL_PATH_IMAGE" \
    "$BIN/local-path-provisioner:/usr/bin/local-path-provisioner" -- \
    --entrypoint '["local-path-provisioner"]' --env PATH=/usr/bin --os linux --arch amd64
}

img_probe() {
  local c; c=$(bh from --quiet --pull=never "localhost/byron/debian:$DEBIAN_SUITE")
  bh copy --quiet "$c" "$BIN/e2e-probe" /usr/local/bin/probe >/dev/null
  bh config --entrypoint '["/usr/local/bin/probe"]' --cmd '["serve",":8080"]' --port 8080 \
    --user 65532:65532 "$c"
  finish "$c" probe "$IMAGES/probe.tar" "$PROBE_IMAGE"
}

# The project's own Dockerfiles, exactly as a user builds them, with the
# official base images substituted by the debootstrap one (build args).
# dockerfile_image DIR REF [TREE [NAME]]: TREE/DIR/Dockerfile with TREE as
# the context (default: this repository), saved as $IMAGES/NAME.tar.
dockerfile_image() {
  local dir=$1 ref=$2 tree=${3:-$repo_root} name=${4:-$1}
  [ -f "$tree/$dir/Dockerfile" ] || { clog "$tree/$dir/Dockerfile missing"; return 1; }
  bh bud --quiet --layers --pull=never --network host \
    --build-arg "BUILD_IMAGE=localhost/byron/debian:$DEBIAN_SUITE" \
    --build-arg "BUILD_TREE=$(printf '%s' "$tree" | sha256sum | cut -c1-12)" \
    --build-arg "RUNTIME_IMAGE=localhost/byron/debian:$DEBIAN_SUITE" \
    -f "$tree/$dir/Dockerfile" -t "$ref" "$tree" \
    >"$IMAGES/$name.build.log" 2>&1 || { clog "see $IMAGES/$name.build.log"; tail -20 "$IMAGES/$name.build.log" >&2; return 1; }
  rm -f "$IMAGES/$name.tar.tmp"
  bh push --quiet "$ref" "docker-archive:$IMAGES/$name.tar.tmp:$ref" >/dev/null
  mv "$IMAGES/$name.tar.tmp" "$IMAGES/$name.tar"
}
img_operator() { dockerfile_image operator "$OPERATOR_IMAGE"; }
# The example's app (examples/orders/Dockerfile, its own directory as context).
img_example_orders() {
  local dir=$repo_root/examples/orders
  bh bud --quiet --layers --pull=never --network host \
    --build-arg "RUNTIME_IMAGE=localhost/byron/debian:$DEBIAN_SUITE" \
    -f "$dir/Dockerfile" -t "$EXAMPLE_ORDERS_IMAGE" "$dir" \
    >"$IMAGES/example-orders.build.log" 2>&1 ||
    { clog "see $IMAGES/example-orders.build.log"; tail -20 "$IMAGES/example-orders.build.log" >&2; return 1; }
  rm -f "$IMAGES/example-orders.tar.tmp"
  bh push --quiet "$EXAMPLE_ORDERS_IMAGE" "docker-archive:$IMAGES/example-orders.tar.tmp:$EXAMPLE_ORDERS_IMAGE" >/dev/null
  mv "$IMAGES/example-orders.tar.tmp" "$IMAGES/example-orders.tar"
}
img_sidecar() { dockerfile_image sidecar "$SIDECAR_IMAGE"; }
# The same images from an earlier commit's tree (--previous).
img_operator_previous() { dockerfile_image operator "$OPERATOR_PREVIOUS_IMAGE" "$previous_tree" operator-previous; }
img_sidecar_previous() { dockerfile_image sidecar "$SIDECAR_PREVIOUS_IMAGE" "$previous_tree" sidecar-previous; }

# previous_images DEBIAN_KEY: the commit's tree (git archive, kept by its sha)
# and its operator and sidecar images.
previous_images() {
  local sha
  sha=$(git -C "$repo_root" rev-parse --verify --quiet "$previous^{commit}") ||
    cdie "--previous=$previous: not a commit of $repo_root (a shallow clone lacks history)"
  previous_tree=$BYRON_CACHE/trees/$sha
  if [ ! -f "$previous_tree/.complete" ]; then
    rm -rf "$previous_tree" && mkdir -p "$previous_tree"
    git -C "$repo_root" archive "$sha" | tar -x -C "$previous_tree" || cdie "git archive $sha failed"
    touch "$previous_tree/.complete"
  fi
  build_image operator-previous "$(fnkey img_operator_previous dockerfile_image)-$1-$sha" img_operator_previous
  build_image sidecar-previous "$(fnkey img_sidecar_previous dockerfile_image)-$1-$sha" img_sidecar_previous
}
# The example's identity provider: the Hydra scripts/bootstrap builds (cgo: on
# the Debian base, for glibc), under the name of Ory's own image.
img_hydra() {
  [ -x "$BIN/hydra" ] || { clog "$BIN/hydra missing: run scripts/bootstrap"; return 1; }
  local c; c=$(bh from --quiet --pull=never "localhost/byron/debian:$DEBIAN_SUITE")
  bh copy --quiet "$c" "$BIN/hydra" /usr/local/bin/hydra >/dev/null
  bh config --entrypoint '["/usr/local/bin/hydra"]' --env SQA_OPT_OUT=true --port 4444 --port 4445 \
    --user 65532:65532 "$c"
  finish "$c" hydra "$IMAGES/hydra.tar" "$HYDRA_IMAGE"
}

# Inputs of the project's images: the Dockerfile and the build context (the
# repo's files, tracked or not, minus git-ignored ones and .dockerignore's dirs).
source_key() {
  (cd "$repo_root" && {
    cat "$1/Dockerfile" .dockerignore 2>/dev/null
    git ls-files -co --exclude-standard -z 2>/dev/null |
      grep -zvE '^(e2e|docs|examples|helm|fuzz/artifacts|fuzz/corpus)/' | sort -z |
      xargs -0 sha256sum 2>/dev/null
  } | sha256sum | cut -c1-16)
}

# fnkey FUNCTION...: hash of the functions' text — an image's key changes when
# the code that builds it does, not with every edit of this script.
fnkey() { declare -f bh finish scratch_image "$@" | sha256sum | cut -c1-12; }

build_images() {
  command -v buildah >/dev/null || cdie "buildah missing: run scripts/bootstrap cluster"
  local deb; deb=$(printf '%s' "$(fnkey img_debian debian_rootfs_tar) $DEBIAN_SUITE" | sha256sum | cut -c1-16)
  # the base must also exist in buildah's storage for the images built on it
  if ! bh inspect --type image "localhost/byron/debian:$DEBIAN_SUITE" >/dev/null 2>&1; then
    rm -f "$IMAGES/debian.key"
  fi
  local only_saved=("${only[@]}"); only=()
  build_image debian "$deb" img_debian
  only=("${only_saved[@]}")
  build_image pause "$(fnkey img_pause)-$(hash_files "$BIN/pause")" img_pause
  build_image coredns "$(fnkey img_coredns)-$(hash_files "$BIN/coredns")" img_coredns
  build_image nats "$(fnkey img_nats)-$(hash_files "$BIN/nats-server")" img_nats
  build_image ferretdb "$(fnkey img_ferretdb)-$(hash_files "$BIN/ferretdb" "$BIN/mongod-shim")" img_ferretdb
  build_image local-path-provisioner "$(fnkey img_local_path)-$(hash_files "$BIN/local-path-provisioner")" img_local_path
  build_image probe "$(fnkey img_probe)-$deb-$(hash_files "$BIN/e2e-probe")" img_probe
  build_image operator "$(fnkey img_operator dockerfile_image)-$deb-$(source_key operator)" img_operator
  build_image sidecar "$(fnkey img_sidecar dockerfile_image)-$deb-$(source_key sidecar)" img_sidecar
  build_image hydra "$(fnkey img_hydra)-$deb-$(hash_files "$BIN/hydra")" img_hydra
  build_image traefik "$(fnkey img_traefik)-$(hash_files "$BIN/traefik")" img_traefik
  build_image example-orders "$(fnkey img_example_orders)-$deb-$(hash_files "$repo_root/examples/orders/Dockerfile" "$repo_root"/examples/orders/app/*.py)" img_example_orders
  [ -z "$previous" ] || previous_images "$deb"
}

# --- import into containerd ------------------------------------------------------
import_images() {
  [ -S "$CTR_SOCK" ] || cdie "containerd is not running ($CTR_SOCK): run e2e/cluster/up.sh"
  local marks=$CTR_ROOT/byron-imported
  mkdir -p "$marks"
  local tar name key
  local tars=()
  if [ ${#only[@]} -gt 0 ]; then       # in the order given: what pods need first
    for name in "${only[@]}"; do tars+=("$IMAGES/$name.tar"); done
  else
    tars=("$IMAGES"/*.tar)
  fi
  for tar in "${tars[@]}"; do
    [ -e "$tar" ] || continue
    name=$(basename "$tar" .tar)
    key=$(cat "$IMAGES/$name.key" 2>/dev/null || true)
    if [ -n "$key" ] && [ "$(cat "$marks/$name" 2>/dev/null)" = "$key" ]; then continue; fi
    clog "importing $name into containerd (k8s.io)"
    ctr_k8s images import "$tar" >/dev/null || cdie "import of $tar failed"
    # one rootfs stands in for both debian:SUITE and debian:SUITE-slim
    [ "$name" = debian ] && ctr_k8s images tag --force "$DEBIAN_IMAGE" "$DEBIAN_SLIM_IMAGE" >/dev/null
    printf '%s' "$key" >"$marks/$name"
    imported=1
  done
  [ "${imported:-0}" = 1 ] && prune_replaced
  true
}

# An image imported again under the same name leaves its old version behind as
# a bare sha256: reference (kept by the CRI plugin); drop those that no named
# image points to, so the persistent store does not grow with every rebuild.
prune_replaced() {
  local list; list=$(ctr_k8s images ls 2>/dev/null | awk 'NR > 1 {print $1, $3}')
  local named; named=$(printf '%s\n' "$list" | awk '$1 !~ /^sha256:/ {print $2}')
  local ref digest
  printf '%s\n' "$list" | awk '$1 ~ /^sha256:/' | while read -r ref digest; do
    printf '%s\n' "$named" | grep -qx "$digest" && continue
    ctr_k8s images rm "$ref" >/dev/null 2>&1 || true
  done
}

main() {
  failed=()
  if [ $import_only -eq 0 ]; then
    build_tools
    [ $tools_only -eq 1 ] || build_images
  fi
  [ $do_import -eq 0 ] || import_images
  if [ ${#failed[@]} -gt 0 ]; then
    clog "images not built: ${failed[*]}"
    return 3
  fi
  return 0
}

main "$@"
exit $?
