{{- define "byron.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "byron.labels" -}}
app.kubernetes.io/part-of: byron
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "byron.brokerURL" -}}
{{- if .Values.nats.enabled -}}
{{ if .Values.nats.tls.enabled }}tls{{ else }}nats{{ end }}://{{ include "byron.fullname" . }}-nats.{{ .Release.Namespace }}.svc:4222
{{- else -}}
{{- required "nats.url is required when nats.enabled is false" .Values.nats.url -}}
{{- end -}}
{{- end -}}

{{- define "byron.restrictedContainer" -}}
securityContext:
  runAsNonRoot: true
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities: {drop: [ALL]}
  seccompProfile: {type: RuntimeDefault}
{{- end -}}

{{/* The NATS servers' configuration (templates/nats.yaml). */}}
{{- define "byron.natsConf" -}}
server_name: $POD_NAME
listen: 0.0.0.0:4222
http: 0.0.0.0:8222
# A sidecar's CONNECT carries its user JWT, whose permissions grow with the
# component's names and subscriptions: 4 KiB (the default) is too small for a
# sink with one subscription in a long namespace; the largest sink the CRD
# allows needs about 410 KiB (operator/src/natsperm.h, BYRON_NATS_MAX_CONTROL_LINE).
max_control_line: 1048576
jetstream {
  store_dir: /data
  max_file_store: {{ $.Values.nats.jetstream.maxFileStore }}
  max_memory_store: {{ $.Values.nats.jetstream.maxMemoryStore }}
}
{{- if $.Values.nats.tls.enabled }}
tls {
  cert_file: /etc/nats/tls/tls.crt
  key_file: /etc/nats/tls/tls.key
}
{{- end }}
{{- if gt (int $.Values.nats.replicas) 1 }}
cluster {
  name: {{ (include "byron.fullname" $) }}
  listen: 0.0.0.0:6222
  {{- if $.Values.nats.auth.enabled }}
  # routes between the servers need the release's route password
  authorization { user: route, password: $ROUTE_PASSWORD }
  {{- end }}
  # the route URLs come from the environment (ROUTE_<i>): with authentication
  # they carry the route password, which only the identity Secret knows
  routes: [
    {{- range $i := until (int $.Values.nats.replicas) }}
    $ROUTE_{{ $i }}
    {{- end }}
  ]
}
{{- end }}
{{- if $.Values.nats.auth.enabled }}
include ../auth/auth.conf
{{- end }}
{{- end -}}

{{/* The Secret with the release's NATS trust chain (docs/security.md). */}}
{{- define "byron.natsIdentitySecret" -}}
{{- .Values.nats.auth.identitySecret | default (printf "%s-nats-identity" (include "byron.fullname" .)) -}}
{{- end -}}
