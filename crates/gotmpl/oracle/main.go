// Command gotmpl-oracle is the reference for the differential tests of crates/gotmpl: it runs
// Go's own text/template (the standard library only: no Sprig, no extra functions) over a batch
// of cases and reports what Go produced, byte for byte.
//
// Input (stdin): a stream of JSON objects, one per case (one per line by convention):
//
//	{"name": "t", "template": "{{.a}}", "data": {"a": 1}, "missingkey": "default"}
//
// "name" (the template's name) defaults to "t" when absent. "data" is decoded with
// encoding/json into interface{} (numbers become float64, as in Helm); "missingkey" is
// "default" (or empty), "invalid", "zero" or "error".
//
// Output (stdout): one JSON line per case, in input order:
//
//	{"output": "..."}                                    success
//	{"error": "...", "phase": "parse"}                   t.Parse failed
//	{"error": "...", "phase": "exec", "output": "..."}   t.Execute failed; output is what Go
//	                                                     had written before the error
//
// Lists in the data get a capacity equal to their length: encoding/json grows them by append,
// leaving a capacity that depends on its growth policy, and "slice" may index up to the
// capacity (slice .l 0 4 on a three-element list would succeed, showing a hidden <nil>).
//
// When the output is not valid UTF-8 (JSON would mangle it), "output_hex" carries its exact
// bytes in hexadecimal as well. A case that makes the driver itself fail reports phase
// "driver" (undecodable data) or "panic" (a panic inside text/template).
//
// Build with scripts/build-gotmpl-oracle.sh; it needs nothing beyond the Go toolchain.
package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/template"
	"unicode/utf8"
)

type request struct {
	Name       *string         `json:"name"`
	Template   string          `json:"template"`
	Data       json.RawMessage `json:"data"`
	MissingKey string          `json:"missingkey"`
}

type response struct {
	Output    *string `json:"output,omitempty"`
	OutputHex string  `json:"output_hex,omitempty"`
	Error     string  `json:"error,omitempty"`
	Phase     string  `json:"phase,omitempty"`
}

func withOutput(r response, out []byte) response {
	s := string(out)
	r.Output = &s
	if !utf8.Valid(out) {
		r.OutputHex = hex.EncodeToString(out)
	}
	return r
}

// clip gives every list in v a capacity equal to its length (see the package comment).
func clip(v interface{}) interface{} {
	switch x := v.(type) {
	case []interface{}:
		for i, e := range x {
			x[i] = clip(e)
		}
		return x[:len(x):len(x)]
	case map[string]interface{}:
		for k, e := range x {
			x[k] = clip(e)
		}
	}
	return v
}

func run(req request) (resp response) {
	var buf bytes.Buffer
	defer func() {
		if p := recover(); p != nil {
			resp = withOutput(response{Error: fmt.Sprint(p), Phase: "panic"}, buf.Bytes())
		}
	}()
	var data interface{}
	if len(req.Data) > 0 {
		if err := json.Unmarshal(req.Data, &data); err != nil {
			return response{Error: "undecodable data: " + err.Error(), Phase: "driver"}
		}
		data = clip(data)
	}
	name := "t"
	if req.Name != nil {
		name = *req.Name
	}
	mk := req.MissingKey
	if mk == "" {
		mk = "default"
	}
	tmpl, err := template.New(name).Option("missingkey=" + mk).Parse(req.Template)
	if err != nil {
		return response{Error: err.Error(), Phase: "parse"}
	}
	if err := tmpl.Execute(&buf, data); err != nil {
		return withOutput(response{Error: err.Error(), Phase: "exec"}, buf.Bytes())
	}
	return withOutput(response{}, buf.Bytes())
}

func main() {
	dec := json.NewDecoder(bufio.NewReaderSize(os.Stdin, 1<<20))
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for {
		var req request
		if err := dec.Decode(&req); err == io.EOF {
			break
		} else if err != nil {
			fmt.Fprintf(os.Stderr, "gotmpl-oracle: bad input: %v\n", err)
			os.Exit(2)
		}
		if err := enc.Encode(run(req)); err != nil {
			fmt.Fprintf(os.Stderr, "gotmpl-oracle: %v\n", err)
			os.Exit(2)
		}
		// Flush per case: a reader that interleaves its writes and reads never waits on us.
		if err := w.Flush(); err != nil {
			fmt.Fprintf(os.Stderr, "gotmpl-oracle: %v\n", err)
			os.Exit(2)
		}
	}
}
