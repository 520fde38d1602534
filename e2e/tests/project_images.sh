#!/usr/bin/env bash
# The project's images, built from operator/Dockerfile and sidecar/Dockerfile,
# run in the cluster as the Dockerfiles promise: non-root user 65532, the
# binary in /usr/local/bin, every shared library it needs present.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
OPERATOR=${BYRON_E2E_OPERATOR_IMAGE:-$OPERATOR_IMAGE}
SIDECAR=${BYRON_E2E_SIDECAR_IMAGE:-$SIDECAR_IMAGE}
new_ns e2e-images

check() {   # NAME IMAGE BINARY
  local name=$1 image=$2 binary=$3
  # the local build of this image failed: say so rather than test an old one
  if [ "$E2E_LOCAL" = 1 ] && [ -f "$IMAGES/$name.failed" ]; then
    fail "$(cat "$IMAGES/$name.failed")"
  fi
  kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $name}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: $image
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'echo "uid=\$(id -u)"; test -x $binary && echo binary=ok; echo missing=\$(ldd $binary | grep -c "not found")']
YAML
  kubectl -n "$NS" wait --for=jsonpath='{.status.phase}'=Succeeded "pod/$name" --timeout=120s >/dev/null ||
    fail "$name pod did not succeed (image $image present? e2e/cluster/images.sh $name)"
  OUT=$(kubectl -n "$NS" logs "$name")
  [[ $OUT == *"uid=65532"* ]] || fail "$image does not run as 65532: $OUT"
  [[ $OUT == *"binary=ok"* ]] || fail "$image has no executable $binary: $OUT"
  [[ $OUT == *"missing=0"* ]] || fail "$image lacks shared libraries of $binary: $OUT"
  pass "$image: runs as 65532, $binary with all its libraries"
}

check operator "$OPERATOR" /usr/local/bin/byron-operator
check sidecar "$SIDECAR" /usr/local/bin/byron-sidecar
