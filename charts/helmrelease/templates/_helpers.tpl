{{/*
Names. Every object is named after the release (fullname) and its component, so that
`helm install helmrelease ...` gives the names the plain manifests in manifests/ use
(helmrelease-webhook, helmrelease-controller) and two releases never collide.
*/}}
{{- define "helmrelease.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "helmrelease.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The name of one component: helmrelease.component (dict "root" $ "component" "webhook"). */}}
{{- define "helmrelease.component" -}}
{{- printf "%s-%s" (include "helmrelease.fullname" .root | trunc 52 | trimSuffix "-") .component }}
{{- end }}

{{- define "helmrelease.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select one component's Pods; never change them (selectors are immutable). */}}
{{- define "helmrelease.selectorLabels" -}}
app.kubernetes.io/name: {{ include "helmrelease.component" . }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{/* Every object's labels. */}}
{{- define "helmrelease.labels" -}}
{{ include "helmrelease.selectorLabels" . }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: helmrelease
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "helmrelease.chart" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* A component's image: registry/repository:tag, or @digest when a digest is given. */}}
{{- define "helmrelease.image" -}}
{{- $image := index .root.Values .component "image" }}
{{- $registry := .root.Values.image.registry }}
{{- $repository := $image.repository }}
{{- if $registry }}{{ $repository = printf "%s/%s" $registry $repository }}{{ end }}
{{- if $image.digest }}
{{- printf "%s@%s" $repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default .root.Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret holding the webhook's serving certificate (tls.crt, tls.key, ca.crt). */}}
{{- define "helmrelease.webhookSecret" -}}
{{- default (printf "%s-tls" (include "helmrelease.component" (dict "root" . "component" "webhook"))) .Values.webhook.certificates.secretName }}
{{- end }}

{{/* The DNS names of the webhook Service the certificate must carry. */}}
{{- define "helmrelease.webhookDNSNames" -}}
{{- $service := include "helmrelease.component" (dict "root" . "component" "webhook") }}
- {{ $service }}.{{ .Release.Namespace }}.svc
- {{ $service }}.{{ .Release.Namespace }}.svc.{{ .Values.clusterDomain }}
{{- end }}

{{/* Refuse combinations that cannot work, with the fix in the message. */}}
{{- define "helmrelease.validate" -}}
{{- if and .Values.standalone (not .Values.controller.enabled) }}
{{- fail "standalone=true needs controller.enabled=true: in standalone mode the controller also does source-controller's job" }}
{{- end }}
{{- if not (or .Values.webhook.enabled .Values.controller.enabled) }}
{{- fail "nothing to install: enable webhook.enabled, controller.enabled or both" }}
{{- end }}
{{- end }}

{{/* Hook annotations of the certgen RBAC objects, created before the Job of each phase. */}}
{{- define "helmrelease.certgenHook" -}}
helm.sh/hook: pre-install,pre-upgrade,post-install,post-upgrade,post-delete
helm.sh/hook-weight: {{ . | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end }}

{{/*
One certgen hook Job: helmrelease.certgenJob (dict "root" $ "name" "create" "hook" "pre-install,pre-upgrade"
"script" "..." "certs" true). With certs, an init container writes a fresh CA and serving
certificate (`helmrelease-webhook certs`) into /certs for the script.
*/}}
{{- define "helmrelease.certgenJob" -}}
{{- $root := .root }}
{{- $ctx := dict "root" $root "component" "certgen" }}
{{- $name := include "helmrelease.component" $ctx }}
{{- $c := $root.Values.webhook.certificates }}
{{- $securityContext := dict "runAsNonRoot" true "readOnlyRootFilesystem" true "allowPrivilegeEscalation" false "capabilities" (dict "drop" (list "ALL")) }}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ $name }}-{{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "helmrelease.labels" $ctx | nindent 4 }}
  annotations:
    helm.sh/hook: {{ .hook }}
    helm.sh/hook-weight: "0"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: 3
  ttlSecondsAfterFinished: 600
  template:
    metadata:
      labels:
        {{- include "helmrelease.labels" $ctx | nindent 8 }}
    spec:
      serviceAccountName: {{ $name }}
      restartPolicy: Never
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        seccompProfile:
          type: RuntimeDefault
      {{- if .certs }}
      initContainers:
        - name: certs
          image: {{ include "helmrelease.image" (dict "root" $root "component" "webhook") }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            - certs
            {{- range (include "helmrelease.webhookDNSNames" $root | fromYamlArray) }}
            - --dns-name
            - {{ . }}
            {{- end }}
            - --days
            - {{ $c.selfSigned.days | quote }}
            - --out-dir
            - /certs
          securityContext:
            {{- toYaml $securityContext | nindent 12 }}
          volumeMounts:
            - name: certs
              mountPath: /certs
      {{- end }}
      containers:
        - name: {{ .name }}
          image: {{ $c.selfSigned.kubectlImage }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command:
            - bash
            - -c
            - |
              {{- .script | trimSuffix "\n" | nindent 14 }}
          env:
            - name: HOME
              value: /tmp
            - name: NAMESPACE
              value: {{ $root.Release.Namespace }}
            - name: SECRET
              value: {{ include "helmrelease.webhookSecret" $root }}
            - name: WEBHOOK
              value: {{ include "helmrelease.component" (dict "root" $root "component" "webhook") }}
            - name: CERT_DIR
              value: /certs
          securityContext:
            {{- toYaml $securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if .certs }}
            - name: certs
              mountPath: /certs
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: {}
        {{- if .certs }}
        - name: certs
          emptyDir:
            medium: Memory
        {{- end }}
{{- end }}
