// Command bench times Go's text/template on the same chart-sized case as the Rust benchmark
// (crates/gotmpl/benches/chart.rs), read as one JSON line {"template": ..., "data": ...} on
// stdin: parse and execute, each averaged over N runs (first argument, default 2000).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/template"
	"time"
)

func main() {
	n := 2000
	if len(os.Args) > 1 {
		if v, err := strconv.Atoi(os.Args[1]); err == nil {
			n = v
		}
	}
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var c struct {
		Template string      `json:"template"`
		Data     interface{} `json:"data"`
	}
	if err := json.Unmarshal(in, &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := template.New("chart").Parse(c.Template); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	parse := time.Since(start) / time.Duration(n)
	t := template.Must(template.New("chart").Parse(c.Template))
	start = time.Now()
	for i := 0; i < n; i++ {
		var sb strings.Builder
		if err := t.Execute(&sb, c.Data); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	exec := time.Since(start) / time.Duration(n)
	fmt.Printf("go text/template: parse %v, execute %v, parse+execute %v\n", parse, exec, parse+exec)
}
