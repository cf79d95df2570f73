{{/*
Names, labels and shared pieces of the agentmesh chart.
Component templates receive (dict "root" $ "component" "<name>").
*/}}

{{/* The chart name (nameOverride wins). */}}
{{- define "agentmesh.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object: fullnameOverride, else the release name. Truncated
to 53 characters so that "<prefix>-inference" stays a valid 63-character name.
*/}}
{{- define "agentmesh.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 53 | trimSuffix "-" }}
{{- end }}

{{- define "agentmesh.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "agentmesh.labels" -}}
helm.sh/chart: {{ include "agentmesh.chart" . }}
app.kubernetes.io/name: {{ include "agentmesh.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: agentmesh
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Name of one component's objects: <fullname>-<component>. */}}
{{- define "agentmesh.componentName" -}}
{{- printf "%s-%s" (include "agentmesh.fullname" .root) .component }}
{{- end }}

{{/* Labels of one component's objects. */}}
{{- define "agentmesh.componentLabels" -}}
{{ include "agentmesh.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Selector labels of one component (immutable: never add to these). */}}
{{- define "agentmesh.selectorLabels" -}}
app.kubernetes.io/name: {{ include "agentmesh.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
The image of one component: [registry/]repository:tag[@digest]. The tag defaults
to the chart's appVersion (values.schema.json refuses `latest`); a digest pins
the exact image.
*/}}
{{- define "agentmesh.image" -}}
{{- $values := index .root.Values .component -}}
{{- $tag := $values.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion | toString -}}
{{- $repository := $values.image.repository -}}
{{- with .root.Values.image.registry -}}
{{- $repository = printf "%s/%s" (trimSuffix "/" .) $repository -}}
{{- end -}}
{{- printf "%s:%s" $repository $tag }}
{{- with $values.image.digest }}@{{ . }}{{ end }}
{{- end }}

{{- define "agentmesh.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "agentmesh.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "agentmesh.configMapName" -}}
{{- printf "%s-config" (include "agentmesh.fullname" .) }}
{{- end }}

{{- define "agentmesh.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- printf "%s-secrets" (include "agentmesh.fullname" .) }}
{{- end }}
{{- end }}

{{/* host:port of one gRPC component's (ClusterIP) Service. */}}
{{- define "agentmesh.serviceAddr" -}}
{{- $values := index .root.Values .component -}}
{{- printf "%s:%d" (include "agentmesh.componentName" .) (int $values.port) }}
{{- end }}

{{/*
Name of one gRPC component's headless Service (every ready pod in its DNS answer):
<fullname>-<component>-headless, the prefix cut to 43 characters so that the
longest ("-scheduler-headless") stays a 63-character name distinct from the others.
*/}}
{{- define "agentmesh.headlessName" -}}
{{- printf "%s-%s-headless" (include "agentmesh.fullname" .root | trunc 43 | trimSuffix "-") .component }}
{{- end }}

{{/*
The callers' target of one gRPC component, AGENTMESH_<SVC>_SERVICE_ADDR: the
headless Service's fully qualified name under dns:/// when grpcLoadBalancing.headless
(the channels balance round_robin over its pods), else the ClusterIP Service.
*/}}
{{- define "agentmesh.grpcTarget" -}}
{{- $root := .root -}}
{{- if $root.Values.grpcLoadBalancing.headless }}
{{- $values := index $root.Values .component -}}
{{- printf "dns:///%s.%s.svc.%s:%d" (include "agentmesh.headlessName" .) $root.Release.Namespace (trimSuffix "." $root.Values.clusterDomain) (int $values.port) }}
{{- else }}
{{- include "agentmesh.serviceAddr" . }}
{{- end }}
{{- end }}

{{/* Whether a component's Deployment is scaled by a HorizontalPodAutoscaler ("true" or ""). */}}
{{- define "agentmesh.autoscaled" -}}
{{- $values := index .root.Values .component -}}
{{- if ($values.autoscaling | default dict).enabled }}true{{ end }}
{{- end }}

{{/* AGENTMESH_DATABASE_URL: database.url, or composed from its parts. */}}
{{- define "agentmesh.databaseUrl" -}}
{{- with .Values.database }}
{{- if .url }}
{{- .url }}
{{- else }}
{{- $auth := urlquery .user }}
{{- if .password }}
{{- $auth = printf "%s:%s" $auth (urlquery .password) }}
{{- end }}
{{- printf "postgresql://%s@%s:%d/%s" $auth .host (int .port) .name }}
{{- with .params }}?{{ . }}{{ end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The services that sign internal identities, each with its own key (agentmesh_core.service_keys). */}}
{{- define "agentmesh.identityServices" -}}
gateway agents memory scheduler inference
{{- end }}

{{/*
The secret environment of one component, by reference to the Secret: each
service gets only the keys it reads.
*/}}
{{- define "agentmesh.secretEnv" -}}
{{- $root := .root -}}
{{- $keys := $root.Values.secrets.keys -}}
{{- $wanted := dict
  "gateway" (list "DATABASE_URL:databaseUrl" "JWT_SECRET:jwtSecret" "ADMIN_PASSWORD:adminPassword")
  "agents" (list "DATABASE_URL:databaseUrl")
  "memory" (list "DATABASE_URL:databaseUrl")
  "scheduler" (list "DATABASE_URL:databaseUrl")
  "inference" (list)
-}}
{{- /* Its own identity key only: with another service's, it could sign as that service. */}}
- name: AGENTMESH_IDENTITY_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "agentmesh.secretName" $root }}
      key: {{ printf "%s%s" $keys.identityKeyPrefix .component }}
{{- range (index $wanted .component) }}
{{- $pair := splitList ":" . }}
- name: AGENTMESH_{{ first $pair }}
  valueFrom:
    secretKeyRef:
      name: {{ include "agentmesh.secretName" $root }}
      key: {{ index $keys (last $pair) }}
{{- end }}
{{- include "agentmesh.natsEnv" . }}
{{- end }}

{{/* A component's own non-secret env (map) and extra env (list of EnvVar). */}}
{{- define "agentmesh.componentEnv" -}}
{{- $values := index .root.Values .component -}}
{{- range $name, $value := $values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- with $values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Pod annotations: config checksums (restart on change) and user annotations. */}}
{{- define "agentmesh.podAnnotations" -}}
{{- $root := .root -}}
{{- $values := index $root.Values .component -}}
checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
{{- /* The secret's inputs, not the Secret itself: generated values would differ per render. */}}
checksum/secret: {{ list $root.Values.secrets $root.Values.database | toJson | sha256sum }}
{{- with (mergeOverwrite (deepCopy ($root.Values.podAnnotations | default dict)) ($values.podAnnotations | default dict)) }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Pod-level settings shared by every component: service account, security,
scheduling. A component's value wins over the global one.
*/}}
{{- define "agentmesh.podSpecCommon" -}}
{{- $root := .root -}}
{{- $values := index $root.Values .component -}}
serviceAccountName: {{ include "agentmesh.serviceAccountName" $root }}
automountServiceAccountToken: {{ $root.Values.serviceAccount.automountServiceAccountToken }}
# Kubernetes would otherwise inject AGENTMESH_GATEWAY_PORT=tcp://... and the like
# for the chart's own Services, clashing with the AGENTMESH_* settings.
enableServiceLinks: false
terminationGracePeriodSeconds: {{ $values.terminationGracePeriodSeconds }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- $nodeSelector := deepCopy ($values.nodeSelector | default $root.Values.nodeSelector | default dict) }}
{{- $gpu := $values.gpu | default dict }}
{{- if $gpu.enabled }}
{{- $nodeSelector = mergeOverwrite $nodeSelector (deepCopy ($gpu.nodeSelector | default dict)) }}
{{- end }}
{{- with $nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with ($values.affinity | default $root.Values.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with ($values.topologySpreadConstraints | default $root.Values.topologySpreadConstraints) }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Container security context: the global one, overridden key by key by the component's. */}}
{{- define "agentmesh.containerSecurityContext" -}}
{{- $values := index .root.Values .component -}}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.containerSecurityContext) (deepCopy ($values.containerSecurityContext | default dict))) }}
{{- end }}

{{/* Timing fields of a probe (everything but the handler's own keys). */}}
{{- define "agentmesh.probeTiming" -}}
{{- toYaml (omit . "path") }}
{{- end }}
