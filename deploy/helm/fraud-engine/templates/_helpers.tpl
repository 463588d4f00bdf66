{{/* Names and labels. */}}
{{- define "fraud-engine.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "fraud-engine.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "fraud-engine.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "fraud-engine.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; "component" (engine, audit, console) is added where it applies. */}}
{{- define "fraud-engine.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "fraud-engine.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector of one component: dict "root" $ "component" "engine". */}}
{{- define "fraud-engine.selector" -}}
app.kubernetes.io/name: {{ include "fraud-engine.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The secrets' environment variables, by the values key under `secrets` that names their Secret. */}}
{{- define "fraud-engine.secretEnvNames" -}}
kafkaSasl: FRAUD_KAFKA_SASL_PASSWORD
schemaRegistry: FRAUD_SCHEMA_REGISTRY_PASSWORD
redis: FRAUD_REDIS_PASSWORD
postgres: PGPASSWORD
{{- end -}}

{{/* The configuration's postgres section as FRAUD_POSTGRES_* variables (for the hook Job, which runs before the ConfigMap exists). */}}
{{- define "fraud-engine.postgresEnv" -}}
{{- range $k, $v := .Values.config.postgres }}
- name: FRAUD_POSTGRES_{{ upper $k }}
  value: {{ toString $v | quote }}
{{- end }}
{{- end -}}

{{/* The egress rules of a NetworkPolicy (networkPolicy.egress, and DNS), when any is given. */}}
{{- define "fraud-engine.egress" -}}
{{- if .egress -}}
egress:
  - ports:
      - { port: 53, protocol: UDP }
      - { port: 53, protocol: TCP }
  {{- toYaml .egress | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
The pod template shared by the three components:
dict "root" $ "component" NAME "args" LIST "port" N "ready" PATH "env" LIST "grace" SECONDS "resources" MAP ["omit" LIST of secret variables]
*/}}
{{- define "fraud-engine.pod" -}}
{{- $v := .root.Values -}}
metadata:
  labels:
    {{- include "fraud-engine.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
  annotations:
    # A new configuration rolls the pods (the file is read at start-up).
    checksum/config: {{ include (print .root.Template.BasePath "/configmap.yaml") .root | sha256sum }}
spec:
  serviceAccountName: {{ include "fraud-engine.serviceAccountName" .root }}
  automountServiceAccountToken: false
  {{- with $v.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $v.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ .grace }}
  containers:
    - name: {{ .component }}
      image: "{{ $v.image.repository }}:{{ $v.image.tag | default .root.Chart.AppVersion }}"
      imagePullPolicy: {{ $v.image.pullPolicy }}
      args:
        {{- toYaml .args | nindent 8 }}
      ports:
        - name: http
          containerPort: {{ .port }}
          protocol: TCP
      {{- $env := list (dict "name" "FRAUD_HEALTHCHECK_PORT" "value" (toString .port)) }}
      {{- $env = concat $env (.env | default list) }}
      {{- /* Secrets not to pass: "omit" (the owner's PGPASSWORD when the engine has its own role) and what .env sets. */}}
      {{- $given := .omit | default list }}
      {{- range (.env | default list) }}{{ $given = append $given .name }}{{ end }}
      {{- range $key, $name := include "fraud-engine.secretEnvNames" . | fromYaml }}
      {{- $ref := get $v.secrets $key }}
      {{- if and $ref.existingSecret (not (has $name $given)) }}
      {{- $env = append $env (dict "name" $name "valueFrom" (dict "secretKeyRef" (dict "name" $ref.existingSecret "key" $ref.key))) }}
      {{- end }}
      {{- end }}
      {{- $env = concat $env $v.extraEnv }}
      env:
        {{- toYaml $env | nindent 8 }}
      {{- with $v.extraEnvFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      # Liveness on /healthz only: /readyz is red while Redis is down although decisions go on
      # degraded (docs/operations.md section 2), and must not restart the pods.
      startupProbe:
        httpGet: { path: /healthz, port: http }
        periodSeconds: 2
        failureThreshold: 30
      livenessProbe:
        httpGet: { path: /healthz, port: http }
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      readinessProbe:
        httpGet: { path: {{ .ready }}, port: http }
        periodSeconds: 5
        timeoutSeconds: 3
        failureThreshold: 3
      resources:
        {{- toYaml .resources | nindent 8 }}
      securityContext:
        {{- toYaml $v.securityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /app/config/default.yaml
          subPath: default.yaml
          readOnly: true
        - name: tmp
          mountPath: /tmp
        {{- if $v.secrets.tls.existingSecret }}
        - name: tls
          mountPath: {{ $v.secrets.tls.mountPath }}
          readOnly: true
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "fraud-engine.fullname" .root }}
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- if $v.secrets.tls.existingSecret }}
    - name: tls
      secret:
        secretName: {{ $v.secrets.tls.existingSecret }}
        defaultMode: 0400
    {{- end }}
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
