{{/* Names, labels and the pieces every StockTraderX container shares. */}}

{{- define "stx.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "stx.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "stx.labels" -}}
{{ include "stx.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Labels of one component: (dict "root" $ "component" "core"). */}}
{{- define "stx.componentLabels" -}}
{{ include "stx.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "stx.componentSelector" -}}
{{ include "stx.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "stx.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}:{{ $tag }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{- define "stx.webImage" -}}
{{- $tag := .Values.web.image.tag | default .Chart.AppVersion -}}
{{- if .Values.web.image.digest -}}
{{ .Values.web.image.repository }}:{{ $tag }}@{{ .Values.web.image.digest }}
{{- else -}}
{{ .Values.web.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{- define "stx.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "stx.fullname" .)) -}}
{{- end -}}

{{- define "stx.claimName" -}}
{{- .Values.persistence.existingClaim | default (printf "%s-data" (include "stx.fullname" .)) -}}
{{- end -}}

{{- define "stx.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "stx.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* The metrics port of a role: the base plus the role's offset
(server/metrics/exposition.py); the standby has the core's, whose place it
will take, on a node of its own. */}}
{{- define "stx.metricsPort" -}}
{{- $offsets := dict "core" 1 "gateway" 2 "projector" 3 "surveillance" 4 "feed" 5 "rest" 6 "fix" 7 "analytics" 8 "relay" 9 "standby" 1 -}}
{{- add (int .root.Values.ports.metricsBase) (get $offsets .role) -}}
{{- end -}}

{{/* Pods that use the data volume run on the core's node: core.sock is a
Unix socket, and a ReadWriteOnce volume attaches to one node. */}}
{{- define "stx.onCoreNode" -}}
podAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - labelSelector:
        matchLabels:
          {{- include "stx.componentSelector" (dict "root" . "component" "core") | nindent 10 }}
      topologyKey: kubernetes.io/hostname
{{- end -}}

{{/* The environment of a process that keeps a journal and nothing else:
the standby, which must write its journal as the core does. */}}
{{- define "stx.journalEnv" -}}
- name: STX_DATA_DIR
  value: /data
- name: STX_LISTEN_ADDRESS
  value: "0.0.0.0"
- name: STX_LOG_FORMAT
  value: json
- name: STX_LOG_LEVEL
  value: {{ .Values.settings.logLevel | quote }}
- name: STX_DURABILITY
  value: {{ .Values.settings.durability | quote }}
- name: STX_FSYNC_INTERVAL_MS
  value: {{ .Values.settings.fsyncIntervalMs | quote }}
- name: STX_SNAPSHOT_EVERY
  value: {{ .Values.settings.snapshotEvery | int64 | quote }}
- name: STX_METRICS_PORT
  value: {{ .Values.ports.metricsBase | quote }}
{{- end -}}

{{/* The environment of every stx container but the standby's. */}}
{{- define "stx.env" -}}
{{- $secret := include "stx.secretName" . -}}
{{ include "stx.journalEnv" . }}
- name: STX_AUTH_REQUIRED
  value: {{ .Values.settings.authRequired | quote }}
- name: STX_GRPC_PORT
  value: {{ .Values.ports.grpc | quote }}
- name: STX_REST_PORT
  value: {{ .Values.ports.rest | quote }}
- name: STX_FEED_PORT
  value: {{ .Values.ports.feed | quote }}
- name: STX_SNAPSHOT_PORT
  value: {{ .Values.ports.snapshot | quote }}
{{- with .Values.settings.corsOrigins }}
- name: STX_CORS_ORIGINS
  value: {{ join "," . | quote }}
{{- end }}
{{- if not (kindIs "invalid" .Values.settings.riskEnforceLimits) }}
- name: STX_RISK_ENFORCE_LIMITS
  value: {{ .Values.settings.riskEnforceLimits | quote }}
{{- end }}
{{- with .Values.settings.oidc }}
{{- if .issuer }}
- name: STX_OIDC_ISSUER
  value: {{ .issuer | quote }}
- name: STX_OIDC_JWKS_URL
  value: {{ required "settings.oidc.jwksUrl goes with settings.oidc.issuer" .jwksUrl | quote }}
- name: STX_OIDC_AUDIENCE
  value: {{ required "settings.oidc.audience goes with settings.oidc.issuer" .audience | quote }}
{{- end }}
{{- end }}
{{- if .Values.database.url }}
- name: STX_DATABASE_URL
  value: {{ .Values.database.url | quote }}
- name: STX_DATABASE_PASSWORD_FILE
  value: /etc/stx/secrets/database-password
{{- end }}
{{- if .Values.redis.url }}
- name: STX_REDIS_URL
  value: {{ .Values.redis.url | quote }}
{{- else if or .Values.secrets.existingSecret .Values.secrets.redisUrl }}
- name: STX_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: redis-url
      optional: true
{{- end }}
{{- if or .Values.secrets.existingSecret .Values.secrets.dataKey }}
- name: STX_DATA_KEY_FILE
  value: /etc/stx/secrets/data-key
{{- end }}
- name: STX_TLS_ENABLED
  value: {{ .Values.tls.enabled | quote }}
- name: STX_TLS_REQUIRE_CLIENT_CERT
  value: {{ .Values.tls.requireClientCert | quote }}
{{- if .Values.tls.existingSecret }}
- name: STX_TLS_CERT_FILE
  value: /etc/stx/tls/tls.crt
- name: STX_TLS_KEY_FILE
  value: /etc/stx/tls/tls.key
- name: STX_TLS_CA_FILE
  value: /etc/stx/tls/ca.crt
{{- end }}
{{- if .Values.tls.clientSecret }}
- name: STX_TLS_CLIENT_CERT_FILE
  value: /etc/stx/tls-client/tls.crt
- name: STX_TLS_CLIENT_KEY_FILE
  value: /etc/stx/tls-client/tls.key
{{- end }}
{{- with .Values.settings.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The command line of a role. */}}
{{- define "stx.args" -}}
- {{ .role }}
{{- if .root.Values.settings.config }}
- --config
- /etc/stx/stx.toml
{{- end }}
{{- end -}}

{{- define "stx.volumeMounts" -}}
- name: data
  mountPath: /data
- name: tmp
  mountPath: /tmp
- name: secrets
  mountPath: /etc/stx/secrets
  readOnly: true
{{- if .Values.settings.config }}
- name: config
  mountPath: /etc/stx/stx.toml
  subPath: stx.toml
  readOnly: true
{{- end }}
{{- if .Values.tls.existingSecret }}
- name: tls
  mountPath: /etc/stx/tls
  readOnly: true
{{- end }}
{{- if .Values.tls.clientSecret }}
- name: tls-client
  mountPath: /etc/stx/tls-client
  readOnly: true
{{- end }}
{{- end -}}

{{- define "stx.volumes" -}}
- name: data
  persistentVolumeClaim:
    claimName: {{ include "stx.claimName" . }}
{{ include "stx.volumesBesideData" . }}
{{- end -}}

{{/* Every volume but the data volume: a consumer fed from the committed
log (projector.source, analytics.source) has a data volume of its own. */}}
{{- define "stx.volumesBesideData" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
- name: secrets
  secret:
    secretName: {{ include "stx.secretName" . }}
    defaultMode: 0440
    optional: true
{{- if .Values.settings.config }}
- name: config
  configMap:
    name: {{ include "stx.fullname" . }}-config
{{- end }}
{{- if .Values.tls.existingSecret }}
- name: tls
  secret:
    secretName: {{ .Values.tls.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- if .Values.tls.clientSecret }}
- name: tls-client
  secret:
    secretName: {{ .Values.tls.clientSecret }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{/* Restart the pods when the configuration or the chart's Secret changes. */}}
{{- define "stx.checksums" -}}
checksum/config: {{ .Values.settings.config | sha256sum }}
checksum/secrets: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end -}}

{{/* Probes on a role's /metrics port: the process's loop serves. */}}
{{- define "stx.metricsProbes" -}}
livenessProbe:
  httpGet:
    path: /metrics
    port: metrics
  periodSeconds: 15
  timeoutSeconds: 5
  failureThreshold: 4
readinessProbe:
  httpGet:
    path: /metrics
    port: metrics
  periodSeconds: 10
  timeoutSeconds: 5
{{- end -}}

{{/* The committed log the relay writes, as the variable .name: relay.url,
or the Secret's relay-url when the URL holds a password. */}}
{{- define "stx.relayUrlEnv" -}}
- name: {{ .name }}
{{- if .root.Values.relay.url }}
  value: {{ .root.Values.relay.url | quote }}
{{- else if or .root.Values.secrets.existingSecret .root.Values.secrets.relayUrl }}
  valueFrom:
    secretKeyRef:
      name: {{ include "stx.secretName" .root }}
      key: relay-url
{{- else }}
{{- fail "relay.enabled: name the committed log in relay.url (redis://HOST:6379/0?stream=NAME), or in the Secret's relay-url when its URL holds a password" }}
{{- end }}
{{- end -}}

{{/* What a consumer fed from the committed log reads (projector.source,
analytics.source): a URL, or "relay" for the log this release's relay
writes. Checks what such a consumer needs, since it shares no volume with
the core: the projector's store must be one the gateways read, and personal
data in it sealed under the data key the others hold. */}}
{{- define "stx.sourceEnv" -}}
{{- $values := index .root.Values .role -}}
{{- if eq $values.source "relay" -}}
{{- if not .root.Values.relay.enabled -}}
{{- fail (printf "%s.source: \"relay\" reads the log of this release's relay: set relay.enabled (and relay.url), or give the log's URL" .role) -}}
{{- end -}}
{{ include "stx.relayUrlEnv" (dict "root" .root "name" "STX_RELAY_SOURCE") }}
{{- else -}}
- name: STX_RELAY_SOURCE
  value: {{ $values.source | quote }}
{{- end -}}
{{- if eq .role "projector" -}}
{{- if not .root.Values.database.url -}}
{{- fail "projector.source: a projector fed from the log writes the store at database.url, which the gateways read: set it (SQLite in a volume of its own would be a store nobody reads)" -}}
{{- end -}}
{{- if not (or .root.Values.secrets.existingSecret .root.Values.secrets.dataKey) -}}
{{- fail "projector.source: a projector fed from the log has no data volume to share the data key with: put it in the Secret (data-key; secrets.existingSecret or secrets.dataKey)" -}}
{{- end -}}
{{- end -}}
{{- end -}}
