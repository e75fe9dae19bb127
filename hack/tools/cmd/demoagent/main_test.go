package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// template is the demo's own: the test checks what hack/run.sh applies.
var template = filepath.Join("..", "..", "..", "run", "real-agent.yaml")

func readTemplate(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(template)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// applied is what the API server would store of the rendered Secret and Agent.
type applied struct {
	SecretKey string
	Model     string
	BaseURL   string
	Models    []string
	APIKeyRef string
}

func parse(t *testing.T, out []byte) applied {
	t.Helper()
	var a applied
	for _, doc := range docSeparator.Split(string(out), -1) {
		var o struct {
			Kind       string            `json:"kind"`
			StringData map[string]string `json:"stringData"`
			Spec       struct {
				Config string `json:"config"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("rendered YAML does not parse: %v\n%s", err, doc)
		}
		switch o.Kind {
		case "Secret":
			a.SecretKey = o.StringData["api-key"]
		case "Agent":
			var c opencodeConfig
			if err := json.Unmarshal([]byte(o.Spec.Config), &c); err != nil {
				t.Fatalf("spec.config is not JSON: %v\n%s", err, o.Spec.Config)
			}
			a.Model = c.Model
			for name, p := range c.Provider {
				a.BaseURL, a.APIKeyRef = p.Options.BaseURL, p.Options.APIKey
				for m, v := range p.Models {
					a.Models = append(a.Models, name+":"+m+"="+v.Name)
				}
			}
		}
	}
	return a
}

// TestRender: every value lands, unchanged, in its one place, whatever characters it has: a value
// that could end its string (quotes, backslashes, YAML indicators, newlines' Unicode cousins)
// stays a string.
func TestRender(t *testing.T) {
	tmpl := readTemplate(t)
	tests := []struct {
		name string
		m    Model
	}{
		{"the scripted model", Model{"http://10.244.0.1:41234/v1", "scripted", "demo-0123456789abcdef"}},
		{"an OpenAI-style provider", Model{"https://api.openai.com/v1", "gpt-4o-mini", "sk-proj-AbC_dEf-123"}},
		{"a model name with a slash, a URL with a query", Model{"https://llm.example.com/openai/v1?api-version=2024-10-21&x=1", "meta-llama/Llama-3.1-8B-Instruct", "k"}},
		{"a key that tries to end its YAML string", Model{"http://10.244.0.1:8080/v1", "m", `x"` + "\nkind: ConfigMap #"}},
		{"YAML and JSON syntax in every value", Model{`http://h/v1"}},"x":{"y":"`, `m", "provider": {`, `*alias &anchor !tag {env:HOME} 'q' \ "`}},
		{"a key YAML would read as a number or a boolean", Model{"http://h/v1", "0123", "12345"}},
		{"a key YAML would read as a boolean", Model{"http://h/v1", "yes", "true"}},
		{"non-ASCII and line separators", Model{"http://h/v1", "modèle\u2028x", "ключ\u2029<>&"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(tc.name, "key that tries") {
				// A newline is a control character: refused, the rest must still be harmless.
				if _, err := render(tmpl, tc.m); err == nil {
					t.Fatal("a key with a newline: want an error")
				}
				tc.m.APIKey = strings.ReplaceAll(tc.m.APIKey, "\n", " ")
			}
			out, err := render(tmpl, tc.m)
			if err != nil {
				t.Fatal(err)
			}
			want := applied{
				SecretKey: tc.m.APIKey,
				Model:     "demo/" + tc.m.Name,
				BaseURL:   tc.m.BaseURL,
				Models:    []string{"demo:" + tc.m.Name + "=" + tc.m.Name},
				APIKeyRef: "{env:MODEL_API_KEY}",
			}
			if d := cmp.Diff(want, parse(t, out)); d != "" {
				t.Errorf("rendered manifests (-want +got):\n%s", d)
			}
		})
	}
}

// TestRenderGolden: the scripted model's manifests, as hack/run.sh applies them.
func TestRenderGolden(t *testing.T) {
	out, err := render(readTemplate(t), Model{"http://10.244.0.1:41234/v1", "scripted", "demo-0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "scripted.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), string(out)); d != "" {
		t.Errorf("rendered manifests (-%s +got), go test -update rewrites it:\n%s", golden, d)
	}
}

func TestRenderRefuses(t *testing.T) {
	ok := Model{"http://10.244.0.1:8080/v1", "m", "k"}
	tests := []struct {
		name string
		edit func(*Model)
		want string
	}{
		{"no URL", func(m *Model) { m.BaseURL = "" }, "base URL: empty"},
		{"a relative URL", func(m *Model) { m.BaseURL = "/v1" }, "want http(s)://host"},
		{"another scheme", func(m *Model) { m.BaseURL = "file:///etc/passwd" }, "want http(s)://host"},
		{"a key in the URL, where the Agent's readers see it", func(m *Model) { m.BaseURL = "https://me:sk-secret@api.example.com/v1" }, "no user information"},
		{"localhost, which is the Pod itself", func(m *Model) { m.BaseURL = "http://localhost:8080/v1" }, "the agent Pod's loopback"},
		{"127.0.0.1", func(m *Model) { m.BaseURL = "http://127.0.0.1:8080/v1" }, "the agent Pod's loopback"},
		{"::1", func(m *Model) { m.BaseURL = "http://[::1]:8080/v1" }, "the agent Pod's loopback"},
		{"no model", func(m *Model) { m.Name = "" }, "model name (DEMO_MODEL_NAME): empty"},
		{"no key", func(m *Model) { m.APIKey = "" }, "API key (DEMO_MODEL_API_KEY): empty"},
		{"a control character in the key", func(m *Model) { m.APIKey = "k\r\nX-Injected: 1" }, "has a control character"},
		{"a control character in the model", func(m *Model) { m.Name = "m\x00" }, "has a control character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := ok
			tc.edit(&m)
			_, err := render(readTemplate(t), m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "sk-secret") {
				t.Errorf("the error shows the key: %v", err)
			}
		})
	}
}

// TestRenderRefusesTemplates: a template that would put the key where it is not secret, or a
// placeholder outside quotes, is refused before anything is rendered.
func TestRenderRefusesTemplates(t *testing.T) {
	tmpl := string(readTemplate(t))
	m := Model{"http://10.244.0.1:8080/v1", "m", "k"}
	tests := []struct {
		name, old, new, want string
	}{
		{"the key in the Agent's config", `"apiKey": "{env:MODEL_API_KEY}"`, `"apiKey": "@MODEL_API_KEY@"`, "want it once, in the Secret"},
		{"the key twice in the Secret", `api-key: "@MODEL_API_KEY@"`, `api-key: "@MODEL_API_KEY@"` + "\n  again: \"@MODEL_API_KEY@\"", "want it once, in the Secret"},
		{"an unquoted key", `api-key: "@MODEL_API_KEY@"`, `api-key: @MODEL_API_KEY@`, "no placeholder @MODEL_API_KEY@"},
		{"no URL placeholder", `"baseURL": "@MODEL_BASE_URL@"`, `"baseURL": "http://x"`, "no placeholder @MODEL_BASE_URL@"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(tmpl, tc.old) {
				t.Fatalf("the template no longer has %q", tc.old)
			}
			_, err := render([]byte(strings.Replace(tmpl, tc.old, tc.new, 1)), m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
