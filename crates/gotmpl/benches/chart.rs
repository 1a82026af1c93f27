//! A chart-sized template and its values for benchmarks: helper `define`s, `range` over lists
//! and maps, conditionals, `printf`, `index`, comparisons, about 350 lines of output. Only
//! text/template builtins (no Sprig), so Go's reference driver can run the same work.

/// The template text.
pub fn template() -> String {
    let mut t = String::new();
    t.push_str(concat!(
        "{{- define \"name\" -}}{{ printf \"%s-%s\" .Release.Name .Chart.Name }}{{- end -}}\n",
        "{{- define \"labels\" -}}\n",
        "app.kubernetes.io/name: {{ .Chart.Name }}\n",
        "app.kubernetes.io/instance: {{ .Release.Name }}\n",
        "helm.sh/chart: {{ printf \"%s-%s\" .Chart.Name .Chart.Version }}\n",
        "{{- end -}}\n",
    ));
    for i in 0..10 {
        t.push_str(&format!(
            concat!(
                "---\n",
                "apiVersion: apps/v1\n",
                "kind: Deployment\n",
                "metadata:\n",
                "  name: {{{{ template \"name\" . }}}}-{i}\n",
                "  labels:\n",
                "{{{{ include_labels }}}}\n",
                "spec:\n",
                "  replicas: {{{{ .Values.replicaCount }}}}\n",
                "  template:\n",
                "    spec:\n",
                "      containers:\n",
                "      {{{{- range $i, $c := .Values.containers }}}}\n",
                "      - name: {{{{ $c.name }}}}\n",
                "        image: \"{{{{ $c.image.repository }}}}:{{{{ $c.image.tag }}}}\"\n",
                "        {{{{- if $c.ports }}}}\n",
                "        ports:\n",
                "        {{{{- range $c.ports }}}}\n",
                "        - containerPort: {{{{ .port }}}}\n",
                "          name: {{{{ .name | printf \"%q\" }}}}\n",
                "        {{{{- end }}}}\n",
                "        {{{{- end }}}}\n",
                "        env:\n",
                "        {{{{- range $k, $v := $.Values.env }}}}\n",
                "        - name: {{{{ $k }}}}\n",
                "          value: {{{{ printf \"%v\" $v | printf \"%q\" }}}}\n",
                "        {{{{- end }}}}\n",
                "        {{{{- if and $.Values.resources (gt (len $.Values.resources) 0) }}}}\n",
                "        resources:\n",
                "          limits:\n",
                "            cpu: {{{{ index $.Values.resources \"cpu\" }}}}\n",
                "            memory: {{{{ index $.Values.resources \"memory\" }}}}\n",
                "        {{{{- end }}}}\n",
                "      {{{{- end }}}}\n",
                "      {{{{- with .Values.nodeSelector }}}}\n",
                "      nodeSelector:\n",
                "        {{{{- range $k, $v := . }}}}\n",
                "        {{{{ $k }}}}: {{{{ $v }}}}\n",
                "        {{{{- end }}}}\n",
                "      {{{{- end }}}}\n",
                "      {{{{- if eq .Values.service.type \"ClusterIP\" \"NodePort\" }}}}\n",
                "      # service {{{{ .Values.service.type }}}} on {{{{ .Values.service.port }}}}\n",
                "      {{{{- else }}}}\n",
                "      # no service\n",
                "      {{{{- end }}}}\n",
            ),
            i = i
        ));
    }
    t.replace("{{ include_labels }}", "{{ template \"labels\" . }}")
}

/// The values (as the root context, Helm-like).
pub fn data() -> serde_json::Value {
    let containers: Vec<serde_json::Value> = (0..3)
        .map(|i| {
            serde_json::json!({"name": format!("c{i}"), "image": {"repository": "ghcr.io/demo/app", "tag": format!("1.{i}.0")},
                "ports": [{"port": 8080 + i, "name": "http"}, {"port": 9090 + i, "name": "metrics"}]})
        })
        .collect();
    serde_json::json!({
        "Release": {"Name": "demo", "Namespace": "apps"},
        "Chart": {"Name": "app", "Version": "1.2.3"},
        "Values": {
            "replicaCount": 3,
            "containers": containers,
            "env": {"LOG_LEVEL": "info", "WORKERS": 4, "DEBUG": false, "RATIO": 0.25},
            "resources": {"cpu": "500m", "memory": "256Mi"},
            "nodeSelector": {"kubernetes.io/os": "linux", "tier": "web"},
            "service": {"type": "ClusterIP", "port": 80}
        }
    })
}
