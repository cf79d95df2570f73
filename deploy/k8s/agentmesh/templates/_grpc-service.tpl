{{/*
Deployment, Service and headless Service of one gRPC component (agents, memory,
inference, scheduler). Called with (dict "root" $ "component" "<name>"). Probes
use the native gRPC health check (service ""), which every agentmesh service
answers SERVING once its dependencies are ready. Inference extras (GPU, /dev/shm,
model cache) apply when the component's values define them.
*/}}
{{- define "agentmesh.grpcComponent" -}}
{{- $root := .root -}}
{{- $component := .component -}}
{{- $values := index $root.Values $component -}}
{{- $gpu := $values.gpu | default dict -}}
{{- $gpuEnabled := not (not $gpu.enabled) -}}
{{- $hasModelCache := hasKey $values "modelCache" -}}
{{- $tolerations := concat ($values.tolerations | default $root.Values.tolerations | default list) (ternary ($gpu.tolerations | default list) list $gpuEnabled) -}}
{{- $resources := deepCopy ($values.resources | default dict) -}}
{{- if $gpuEnabled }}
{{- $limits := $resources.limits | default dict -}}
{{- $_ := set $limits $gpu.resourceName (int $gpu.count) -}}
{{- $_ := set $resources "limits" $limits -}}
{{- end }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "agentmesh.componentName" . }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "agentmesh.componentLabels" . | nindent 4 }}
spec:
  {{- if not (include "agentmesh.autoscaled" .) }}
  replicas: {{ $values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  {{- with $values.strategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "agentmesh.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "agentmesh.componentLabels" . | nindent 8 }}
        {{- with (mergeOverwrite (deepCopy ($root.Values.podLabels | default dict)) ($values.podLabels | default dict)) }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        {{- include "agentmesh.podAnnotations" . | nindent 8 }}
    spec:
      {{- include "agentmesh.podSpecCommon" . | nindent 6 }}
      {{- with $values.runtimeClassName }}
      runtimeClassName: {{ . }}
      {{- end }}
      {{- with $tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $component }}
          image: {{ include "agentmesh.image" . | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command: ["python", "-m", "agentmesh_{{ $component }}"]
          ports:
            - name: grpc
              containerPort: {{ $values.port }}
              protocol: TCP
            {{- if $values.metrics.enabled }}
            - name: metrics
              containerPort: {{ $values.metrics.port }}
              protocol: TCP
            {{- end }}
          envFrom:
            - configMapRef:
                name: {{ include "agentmesh.configMapName" $root }}
          env:
            - name: HOME
              value: /tmp
            {{- if $hasModelCache }}
            - name: AGENTMESH_RUN_DIR
              value: /var/cache/agentmesh/run
            - name: HF_HOME
              value: /var/cache/agentmesh/huggingface
            - name: XDG_CACHE_HOME
              value: /var/cache/agentmesh/cache
            - name: VLLM_NO_USAGE_STATS
              value: "1"
            - name: DO_NOT_TRACK
              value: "1"
            {{- end }}
            {{- with (include "agentmesh.secretEnv" . | trim) }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- with (include "agentmesh.componentEnv" . | trim) }}
            {{- . | nindent 12 }}
            {{- end }}
          startupProbe:
            grpc:
              port: {{ $values.port }}
            {{- include "agentmesh.probeTiming" $values.probes.startup | nindent 12 }}
          livenessProbe:
            grpc:
              port: {{ $values.port }}
            {{- include "agentmesh.probeTiming" $values.probes.liveness | nindent 12 }}
          readinessProbe:
            grpc:
              port: {{ $values.port }}
            {{- include "agentmesh.probeTiming" $values.probes.readiness | nindent 12 }}
          resources:
            {{- toYaml $resources | nindent 12 }}
          securityContext:
            {{- include "agentmesh.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if $values.shmSizeLimit }}
            - name: dshm
              mountPath: /dev/shm
            {{- end }}
            {{- if $hasModelCache }}
            - name: model-cache
              mountPath: /var/cache/agentmesh
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ $root.Values.tmpSizeLimit }}
        {{- with $values.shmSizeLimit }}
        - name: dshm
          emptyDir:
            medium: Memory
            sizeLimit: {{ . }}
        {{- end }}
        {{- if $hasModelCache }}
        - name: model-cache
          {{- if $values.modelCache.existingClaim }}
          persistentVolumeClaim:
            claimName: {{ $values.modelCache.existingClaim }}
          {{- else }}
          emptyDir:
            {{- with $values.modelCache.sizeLimit }}
            sizeLimit: {{ . }}
            {{- end }}
          {{- end }}
        {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "agentmesh.componentName" . }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "agentmesh.componentLabels" . | nindent 4 }}
  {{- with $values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ $values.service.type }}
  selector:
    {{- include "agentmesh.selectorLabels" . | nindent 4 }}
  ports:
    - name: grpc
      port: {{ $values.port }}
      targetPort: grpc
      protocol: TCP
      appProtocol: grpc
    {{- if $values.metrics.enabled }}
    - name: metrics
      port: {{ $values.metrics.port }}
      targetPort: metrics
      protocol: TCP
      appProtocol: http
    {{- end }}
{{- if $root.Values.grpcLoadBalancing.headless }}
---
# No cluster IP: the name resolves to every ready pod, and the callers' channels
# balance over them (round_robin). Only the gRPC port: metrics are scraped through
# the Service above.
apiVersion: v1
kind: Service
metadata:
  name: {{ include "agentmesh.headlessName" . }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "agentmesh.componentLabels" . | nindent 4 }}
spec:
  type: ClusterIP
  clusterIP: None
  selector:
    {{- include "agentmesh.selectorLabels" . | nindent 4 }}
  ports:
    - name: grpc
      port: {{ $values.port }}
      targetPort: grpc
      protocol: TCP
      appProtocol: grpc
{{- end }}
{{- end }}
