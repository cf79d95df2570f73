{{/*
Who calls whom inside the release: each gRPC component and the components that
call it. Both directions of the NetworkPolicies (a callee's ingress, a caller's
egress) come from this one table.
*/}}
{{- define "agentmesh.grpcCallers" -}}
agents: [gateway, memory, scheduler]
memory: [gateway, agents]
inference: [gateway, agents]
scheduler: [gateway]
{{- end }}

{{/* The pods of one component, as a NetworkPolicyPeer. */}}
{{- define "agentmesh.peer" -}}
- podSelector:
    matchLabels:
      {{- include "agentmesh.selectorLabels" . | nindent 6 }}
{{- end }}

{{/* The components the helm test pod calls: the gateway and tests.grpcServices. */}}
{{- define "agentmesh.testTargets" -}}
{{- if .Values.tests.enabled }}
{{- toJson (concat (list "gateway") .Values.tests.grpcServices | uniq) }}
{{- else }}
{{- toJson list }}
{{- end }}
{{- end }}

{{/* The serving port of one component (the gateway's HTTP, the others' gRPC). */}}
{{- define "agentmesh.servingPort" -}}
{{- (index .root.Values .component).port }}
{{- end }}

{{/* The port /metrics is scraped on, or nothing when the component's metrics are off. */}}
{{- define "agentmesh.metricsPort" -}}
{{- $values := index .root.Values .component -}}
{{- if $values.metrics.enabled }}
{{- if eq .component "gateway" }}{{ $values.port }}{{ else }}{{ $values.metrics.port }}{{ end }}
{{- end }}
{{- end }}

{{/* Egress rules of networkPolicy.egress that name this component ("test": the helm test pod). */}}
{{- define "agentmesh.externalEgress" -}}
{{- $component := .component -}}
{{- range $name, $rule := .root.Values.networkPolicy.egress }}
{{- if and (or (not (hasKey $rule "enabled")) $rule.enabled) (has $component ($rule.components | default list)) }}
# {{ $name }}
- to:
    {{- toYaml $rule.to | nindent 4 }}
  {{- with $rule.ports }}
  ports:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}
{{- end }}
