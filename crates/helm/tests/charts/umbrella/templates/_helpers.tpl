{{- define "umbrella.fullname" -}}
{{ include "common.fullname" . }}
{{- end -}}
