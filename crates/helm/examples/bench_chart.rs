//! Writes a chart the size of the issue's reference (about 125 documents and 670 KB rendered,
//! five subcharts) for `helm template` timings:
//! `cargo run --release -p helmrelease-helm --example bench_chart -- /tmp/bigchart [COMPONENTS]`.
//! Only std: the chart is text.

use std::fmt::Write as _;
use std::path::Path;

const HELPERS: &str = r#"{{- define "app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "app.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- define "app.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}
{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
"#;

fn deployment(i: usize) -> String {
    format!(
        r#"{{{{- range $i, $c := .Values.components }}}}
{{{{- if and $c.enabled (eq (mod $i 4) {m}) }}}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{{{ include "app.fullname" $ }}}}-{{{{ $c.name }}}}-{i}
  labels:
    {{{{- include "app.labels" $ | nindent 4 }}}}
    component: {{{{ $c.name | quote }}}}
spec:
  replicas: {{{{ $c.replicas | default 1 }}}}
  selector:
    matchLabels:
      {{{{- include "app.selectorLabels" $ | nindent 6 }}}}
  template:
    metadata:
      annotations:
        checksum/config: {{{{ toYaml $c | sha256sum }}}}
      labels:
        {{{{- include "app.selectorLabels" $ | nindent 8 }}}}
    spec:
      containers:
        - name: {{{{ $c.name }}}}
          image: "{{{{ $.Values.image.repository }}}}:{{{{ $.Values.image.tag | default $.Chart.AppVersion }}}}"
          args:
            {{{{- range $c.args }}}}
            - {{{{ . | quote }}}}
            {{{{- end }}}}
          env:
            {{{{- range $k, $v := $.Values.env }}}}
            - name: {{{{ $k | upper | replace "." "_" }}}}
              value: {{{{ $v | toString | quote }}}}
            {{{{- end }}}}
          resources:
            {{{{- toYaml $.Values.resources | nindent 12 }}}}
          {{{{- with $.Values.probes }}}}
          livenessProbe:
            {{{{- toYaml .liveness | nindent 12 }}}}
          readinessProbe:
            {{{{- toYaml .readiness | nindent 12 }}}}
          {{{{- end }}}}
      {{{{- with $.Values.tolerations }}}}
      tolerations:
        {{{{- toYaml . | nindent 8 }}}}
      {{{{- end }}}}
{{{{- end }}}}
{{{{- end }}}}
"#,
        m = i % 4
    )
}

const SERVICE: &str = r#"{{- range .Values.components }}
{{- if .enabled }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "app.fullname" $ }}-{{ .name }}
  labels:
    {{- include "app.labels" $ | nindent 4 }}
spec:
  type: {{ $.Values.service.type }}
  ports:
    {{- range .ports }}
    - port: {{ .port }}
      targetPort: {{ .name }}
      protocol: TCP
      name: {{ .name }}
    {{- end }}
  selector:
    {{- include "app.selectorLabels" $ | nindent 4 }}
{{- end }}
{{- end }}
"#;

const CONFIGMAP: &str = r#"---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "app.fullname" . }}-config
  labels:
    {{- include "app.labels" . | nindent 4 }}
data:
  settings.yaml: |
    {{- toYaml .Values.settings | nindent 4 }}
  settings.json: {{ toJson .Values.settings | quote }}
  {{- range $k, $v := .Values.env }}
  {{ $k }}: {{ $v | toString | quote }}
  {{- end }}
"#;

fn values(components: usize) -> String {
    let mut v = String::from(
        "image:\n  repository: ghcr.io/example/app\n  tag: \"\"\ncommonLabels:\n  team: platform\n  tier: backend\nservice:\n  type: ClusterIP\nresources:\n  limits:\n    cpu: 500m\n    memory: 512Mi\n  requests:\n    cpu: 100m\n    memory: 128Mi\nprobes:\n  liveness:\n    httpGet:\n      path: /healthz\n      port: http\n    initialDelaySeconds: 10\n    periodSeconds: 15\n  readiness:\n    httpGet:\n      path: /ready\n      port: http\n    periodSeconds: 5\ntolerations:\n  - key: dedicated\n    operator: Equal\n    value: backend\n    effect: NoSchedule\nenv:\n  log.level: info\n  workers: 8\n  feature.flags: \"a,b,c\"\n  ratio: 0.75\n",
    );
    // Enough environment and settings that the render is about 670 KB, like the reference.
    for i in 0..90 {
        let _ = writeln!(v, "  option.{i:03}: \"value for option number {i}\"");
    }
    v.push_str("settings:\n");
    for i in 0..60 {
        let _ = writeln!(
            v,
            "  key{i:02}: {{enabled: {}, limit: {}, name: \"setting number {i}\"}}",
            i % 2 == 0,
            i * 10
        );
    }
    v.push_str("components:\n");
    for c in 0..components {
        let _ = writeln!(
            v,
            "  - name: c{c}\n    enabled: true\n    replicas: {}\n    args: [\"--port=8080\", \"--verbose\", \"--id={c}\"]\n    ports:\n      - {{name: http, port: 8080}}\n      - {{name: metrics, port: 9090}}",
            c % 3 + 1
        );
    }
    v
}

fn write_chart(dir: &Path, name: &str, deps: &[String], components: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("templates"))?;
    let mut chart = format!(
        "apiVersion: v2\nname: {name}\nversion: 1.0.0\nappVersion: \"2.3.4\"\ntype: application\n"
    );
    if !deps.is_empty() {
        chart.push_str("dependencies:\n");
        for d in deps {
            let _ = writeln!(chart, "  - name: {d}\n    version: 1.0.0");
        }
    }
    std::fs::write(dir.join("Chart.yaml"), chart)?;
    std::fs::write(dir.join("values.yaml"), values(components))?;
    std::fs::write(dir.join("templates/_helpers.tpl"), HELPERS)?;
    for i in 0..4 {
        std::fs::write(
            dir.join(format!("templates/deployment-{i}.yaml")),
            deployment(i),
        )?;
    }
    std::fs::write(dir.join("templates/service.yaml"), SERVICE)?;
    std::fs::write(dir.join("templates/configmap.yaml"), CONFIGMAP)?;
    Ok(())
}

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/bigchart".into());
    // Components per chart: 10 by default (126 documents); larger charts for side-by-side
    // timings take 20 or 40.
    let components = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let root = Path::new(&dir);
    let subs: Vec<String> = (1..=5).map(|i| format!("sub{i}")).collect();
    // Each chart renders (deployments + services) per component plus one ConfigMap:
    // 6 charts x (2 x 10 + 1) = 126 documents.
    write_chart(root, "bigchart", &subs, components)?;
    for s in &subs {
        write_chart(&root.join("charts").join(s), s, &[], components)?;
    }
    Ok(())
}
