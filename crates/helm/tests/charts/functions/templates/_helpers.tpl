{{- define "fn.name" -}}{{ .Values.name | trunc 10 | trimSuffix "-" }}{{- end -}}
{{- define "fn.labels" -}}
app: {{ include "fn.name" . }}
chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}
