#!/usr/bin/env bash
# A Deployment of a locally built image becomes Available; its Service is
# reachable by DNS name from another pod; that pod reaches the API server
# through the `kubernetes` Service with its service-account token.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
new_ns e2e-dns
HOSTPORT=$(( 30000 - 1 - RANDOM % 1000 ))   # below the NodePort range

kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: $PROBE
        imagePullPolicy: IfNotPresent
        args: [serve, ":8080"]
        ports: [{containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-nodeport}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: client-view}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: client}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: client}
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  serviceAccountName: client
  containers:
  - name: client
    image: $PROBE
    imagePullPolicy: IfNotPresent
    args: [serve, ":8081"]
    ports: [{containerPort: 8081, hostPort: $HOSTPORT}]
YAML

kubectl -n "$NS" wait --for=condition=Available deployment/web --timeout=120s >/dev/null ||
  fail "deployment web not Available"
pass "deployment of $PROBE Available"
kubectl -n "$NS" wait --for=condition=Ready pod/client --timeout=120s >/dev/null || fail "client pod not Ready"

sa=/var/run/secrets/kubernetes.io/serviceaccount
cx() { kubectl -n "$NS" exec client -- "$@"; }

retry 60 "DNS name web.$NS.svc.$CLUSTER_DOMAIN resolves" cx probe lookup "web.$NS.svc.cluster.local"
svc_ip=$(kubectl -n "$NS" get service web -o jsonpath='{.spec.clusterIP}')
[[ " $OUT " == *" $svc_ip "* ]] || fail "web resolved to '$OUT', expected the Service IP $svc_ip"
pass "web.$NS.svc.cluster.local -> $svc_ip"

retry 60 "GET http://web/ (search path) from the client pod" cx probe get http://web/
[[ $OUT == "byron-probe web-"* ]] || fail "unexpected answer from web: $OUT"
retry 60 "GET http://web.$NS.svc.cluster.local/" cx probe get "http://web.$NS.svc.cluster.local/"
pass "Service web reachable by DNS name from another pod ($OUT)"

retry 60 "API server through the kubernetes Service with the pod's token" \
  cx probe get -ca "$sa/ca.crt" -token "$sa/token" \
  "https://kubernetes.default.svc.cluster.local/api/v1/namespaces/$NS/pods/client"
[[ $OUT == *'"name":"client"'* && $OUT == *"system:serviceaccount:$NS:client"* || $OUT == *'"serviceAccountName":"client"'* ]] ||
  fail "unexpected API answer: ${OUT:0:300}"
# and without the token the same request is refused: the token was what authorized it
if cx probe get -ca "$sa/ca.crt" "https://kubernetes.default.svc/api/v1/namespaces/$NS/pods/client" >/dev/null 2>&1; then
  fail "anonymous request was allowed"
fi
pass "pod reached the API server via the kubernetes Service with its service-account token"

# From the node (local cluster only): a NodePort (kube-proxy) and a hostPort
# (CNI portmap) reach the pods.
if [ "$E2E_LOCAL" = 1 ]; then
  np=$(kubectl -n "$NS" get service web-nodeport -o jsonpath='{.spec.ports[0].nodePort}')
  retry 30 "NodePort $NODE_IP:$np from the node" curl -fsS --max-time 5 "http://$NODE_IP:$np/"
  [[ $OUT == "byron-probe web-"* ]] || fail "unexpected NodePort answer: $OUT"
  pass "NodePort $np reaches the deployment"
  retry 30 "hostPort $NODE_IP:$HOSTPORT from the node" curl -fsS --max-time 5 "http://$NODE_IP:$HOSTPORT/"
  [[ $OUT == "byron-probe client"* ]] || fail "unexpected hostPort answer: $OUT"
  pass "hostPort $HOSTPORT (portmap) reaches the client pod"
fi
