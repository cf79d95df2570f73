{{/*
NATS users (README "NATS users"): each component connects as its own user,
allowed only the subjects files/nats-permissions.json lists for it (the output of
`python -m agentmesh_events.access`). The passwords are in `<release>-nats`, or in
`secrets.existingSecret` when that is set, under `nats-password-<component>`.
*/}}
{{- define "agentmesh.natsSecretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-nats" (include "agentmesh.fullname" .)) }}
{{- end }}

{{/* The components, each a NATS user. */}}
{{- define "agentmesh.natsUsers" -}}
{{- keys (.Files.Get "files/nats-permissions.json" | fromJson) | sortAlpha | join " " }}
{{- end }}

{{/* A component's NATS user and password (EnvVars), when nats.auth is enabled. */}}
{{- define "agentmesh.natsEnv" -}}
{{- if .root.Values.nats.auth.enabled }}
- name: AGENTMESH_NATS_USER
  value: {{ .component | quote }}
- name: AGENTMESH_NATS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "agentmesh.natsSecretName" .root }}
      key: {{ printf "nats-password-%s" .component }}
{{- end }}
{{- end }}
