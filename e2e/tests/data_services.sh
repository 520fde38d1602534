#!/usr/bin/env bash
# The locally built data-service images work in the cluster the way Byron uses
# them: NATS (JetStream on) behind a Service, and the MongoDB-wire image
# (FerretDB) as a StatefulSet on a dynamically provisioned volume — the shape
# of a ByronComponent's cache — answering the MongoDB protocol by DNS name.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NATS=${BYRON_E2E_NATS_IMAGE:-$NATS_IMAGE}
MONGO=${BYRON_E2E_MONGO_IMAGE:-$FERRETDB_IMAGE}
new_ns e2e-data

kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: nats}
spec:
  selector: {matchLabels: {app: nats}}
  template:
    metadata: {labels: {app: nats}}
    spec:
      containers:
      - name: nats
        image: $NATS
        imagePullPolicy: IfNotPresent
        args: [--config, /nats-server.conf, --jetstream, --store_dir, /data]
        ports: [{containerPort: 4222}, {containerPort: 8222}]
        readinessProbe:
          httpGet: {path: /healthz, port: 8222}
          periodSeconds: 1
        volumeMounts: [{name: data, mountPath: /data}]
      volumes: [{name: data, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: nats}
spec:
  selector: {app: nats}
  ports: [{name: client, port: 4222}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: cache}
spec:
  serviceName: cache
  selector: {matchLabels: {app: cache}}
  template:
    metadata: {labels: {app: cache}}
    spec:
      containers:
      - name: mongo
        image: $MONGO
        imagePullPolicy: IfNotPresent
        ports: [{name: mongo, containerPort: 27017}]
        readinessProbe:
          tcpSocket: {port: 27017}
          periodSeconds: 1
        volumeMounts: [{name: data, mountPath: /data/db}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 128Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: cache}
spec:
  clusterIP: None
  selector: {app: cache}
  ports: [{name: mongo, port: 27017}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers:
  - name: client
    image: $PROBE
    imagePullPolicy: IfNotPresent
    args: [serve, ":8081"]
YAML

kubectl -n "$NS" wait --for=condition=Available deployment/nats --timeout=120s >/dev/null || fail "nats not Available"
pass "nats ($NATS) Available"
kubectl -n "$NS" rollout status statefulset/cache --timeout=120s >/dev/null || fail "cache StatefulSet not ready"
[ "$(kubectl -n "$NS" get pvc data-cache-0 -o jsonpath='{.status.phase}')" = Bound ] || fail "cache volume not Bound"
pass "cache StatefulSet ($MONGO) ready on a bound volume"
kubectl -n "$NS" wait --for=condition=Ready pod/client --timeout=120s >/dev/null || fail "client not Ready"

retry 60 "NATS greets through its Service" kubectl -n "$NS" exec client -- probe banner "nats.$NS.svc.cluster.local:4222"
[[ $OUT == INFO* && $OUT == *'"jetstream":true'* ]] || fail "unexpected NATS greeting: ${OUT:0:200}"
pass "NATS answers INFO with JetStream on"

retry 60 "MongoDB hello through the StatefulSet's DNS name" \
  kubectl -n "$NS" exec client -- probe mongo-ping "cache-0.cache.$NS.svc.cluster.local:27017"
pass "MongoDB wire protocol answered: $OUT"
