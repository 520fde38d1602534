# pki.sh — a throw-away certificate authority with openssl, for test servers.
# Sourced; no side effects until a function is called.

# pki_ca DIR: DIR/ca.crt + DIR/ca.key (10 years, self-signed).
pki_ca() {
  local d=$1
  [ -f "$d/ca.crt" ] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" \
    -days 3650 -subj "/CN=byron-test-ca" >/dev/null 2>&1
}

# pki_cert DIR NAME CN [O] [SANS] [server|client]: DIR/NAME.crt + .key signed by DIR/ca.
# SANS: "DNS:localhost,IP:127.0.0.1"
pki_cert() {
  local d=$1 name=$2 cn=$3 org=${4:-} sans=${5:-} usage=${6:-client} subj ext
  [ -f "$d/$name.crt" ] && return 0
  subj="/CN=$cn"; [ -n "$org" ] && subj="/O=$org$subj"
  ext=$d/$name.ext
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ "$usage" = server ]; then echo "extendedKeyUsage=serverAuth,clientAuth"; else echo "extendedKeyUsage=clientAuth"; fi
    [ -n "$sans" ] && echo "subjectAltName=$sans"
  } >"$ext"
  openssl req -newkey rsa:2048 -nodes -keyout "$d/$name.key" -out "$d/$name.csr" -subj "$subj" >/dev/null 2>&1
  openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -out "$d/$name.crt" -days 3650 -extfile "$ext" >/dev/null 2>&1
  rm -f "$d/$name.csr" "$ext"
}

# pki_sa DIR: service-account signing key pair DIR/sa.key, DIR/sa.pub.
pki_sa() {
  local d=$1
  [ -f "$d/sa.key" ] && return 0
  openssl genrsa -out "$d/sa.key" 2048 >/dev/null 2>&1
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" >/dev/null 2>&1
}

# pki_kubeconfig FILE SERVER CA CERT KEY [NAME]: a kubeconfig with embedded credentials.
pki_kubeconfig() {
  local f=$1 server=$2 ca=$3 cert=$4 key=$5 name=${6:-byron}
  cat >"$f" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: $name
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 <"$ca")
users:
- name: $name-admin
  user:
    client-certificate-data: $(base64 -w0 <"$cert")
    client-key-data: $(base64 -w0 <"$key")
contexts:
- name: $name
  context: {cluster: $name, user: $name-admin}
current-context: $name
KCFG
  chmod 600 "$f"
}
