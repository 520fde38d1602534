#!/usr/bin/env bash
# A PersistentVolumeClaim of the default StorageClass binds to a dynamically
# provisioned PV, a pod writes to it, the data outlives the pod, and deleting
# the claim deletes the volume.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
new_ns e2e-pvc

pod() {
  cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532}
  containers:
  - name: main
    image: $BASE
    imagePullPolicy: IfNotPresent
    command: [sh, -c, '$2']
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: data}
YAML
}

kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
YAML
pod writer 'echo "written by $HOSTNAME" > /data/hello && sync && touch /tmp/done && sleep 3600' |
  kubectl -n "$NS" apply -f - >/dev/null

kubectl -n "$NS" wait --for=jsonpath='{.status.phase}'=Bound pvc/data --timeout=120s >/dev/null ||
  fail "PVC not Bound"
pv=$(kubectl -n "$NS" get pvc data -o jsonpath='{.spec.volumeName}')
sc=$(kubectl get pv "$pv" -o jsonpath='{.spec.storageClassName}')
pass "PVC bound to dynamically provisioned $pv (StorageClass $sc)"

kubectl -n "$NS" wait --for=condition=Ready pod/writer --timeout=120s >/dev/null || fail "writer not Ready"
retry 30 "writer wrote /data/hello" kubectl -n "$NS" exec writer -- cat /data/hello
[ "$OUT" = "written by writer" ] || fail "read back '$OUT'"
pass "pod wrote to the volume"

if [ "$E2E_LOCAL" = 1 ]; then
  path=$(kubectl get pv "$pv" -o jsonpath='{.spec.hostPath.path}{.spec.local.path}')
  [ "$(cat "$path/hello" 2>/dev/null)" = "written by writer" ] || fail "no data in $path on the node"
  pass "data is on the node in $path"
fi

kubectl -n "$NS" delete pod writer --wait=true --timeout=60s >/dev/null || fail "delete writer"
pod reader 'cat /data/hello; sleep 3600' | kubectl -n "$NS" apply -f - >/dev/null
kubectl -n "$NS" wait --for=condition=Ready pod/reader --timeout=120s >/dev/null || fail "reader not Ready"
retry 30 "reader sees the data" kubectl -n "$NS" exec reader -- cat /data/hello
[ "$OUT" = "written by writer" ] || fail "reader read '$OUT'"
pass "data outlived the pod"

kubectl -n "$NS" delete pod reader --wait=true --timeout=60s >/dev/null || fail "delete reader"
kubectl -n "$NS" delete pvc data --wait=true --timeout=60s >/dev/null || fail "delete pvc"
kubectl wait --for=delete "pv/$pv" --timeout=120s >/dev/null 2>&1 || fail "PV $pv not deleted (reclaimPolicy Delete)"
if [ "$E2E_LOCAL" = 1 ] && [ -e "$path" ]; then fail "volume directory $path still on the node"; fi
pass "deleting the claim deleted the volume"
