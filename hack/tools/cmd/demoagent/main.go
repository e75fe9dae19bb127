// Command demoagent renders the `make run` real agent (hack/run/real-agent.yaml) for one model:
// the scripted model server hack/run.sh starts, or the provider DEMO_MODEL_BASE_URL,
// DEMO_MODEL_NAME and DEMO_MODEL_API_KEY name. It writes the manifests to standard output.
//
//	DEMO_MODEL_API_KEY=sk-... demoagent -base-url http://10.244.0.1:8080/v1 -model gpt-4o-mini hack/run/real-agent.yaml
//
// The template holds three placeholders, each inside a double-quoted string: @MODEL_API_KEY@
// (the Secret's value), @MODEL_BASE_URL@ and @MODEL_NAME@ (the OpenCode configuration in the
// Agent's spec.config, JSON inside YAML). Each value is escaped as a JSON string, which is also
// a valid YAML double-quoted string, so no value can end its string and add YAML or JSON of its
// own. The key comes from the environment, not the command line, which every local user can
// read (ps). The key's placeholder must occur once, in the Secret. Before writing, demoagent
// parses what it rendered and checks that the Secret holds exactly the key and the Agent's
// configuration names exactly the URL and model, and reads the key from the environment.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"unicode"

	"sigs.k8s.io/yaml"
)

func main() {
	fs := flag.NewFlagSet("demoagent", flag.ContinueOnError)
	baseURL := fs.String("base-url", "", "the model provider's OpenAI-compatible base URL, as the agent Pod reaches it (required)")
	model := fs.String("model", "", "the model's name at the provider (required)")
	keyEnv := fs.String("key-env", "DEMO_MODEL_API_KEY", "environment variable holding the provider's API key")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: DEMO_MODEL_API_KEY=KEY demoagent -base-url URL -model NAME TEMPLATE\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil || fs.NArg() != 1 {
		fs.Usage()
		os.Exit(2)
	}
	tmpl, err := os.ReadFile(fs.Arg(0))
	if err == nil {
		var out []byte
		out, err = render(tmpl, Model{BaseURL: *baseURL, Name: *model, APIKey: os.Getenv(*keyEnv)})
		if err == nil {
			_, err = os.Stdout.Write(out)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demoagent:", err)
		os.Exit(1)
	}
}

// Model is what the real agent talks to.
type Model struct {
	BaseURL string // e.g. http://10.244.0.1:8080/v1, as the agent Pod reaches it
	Name    string // the model's name at the provider
	APIKey  string // sent as the bearer token; a credential of the Agent
}

const (
	keyHolder  = "@MODEL_API_KEY@"
	urlHolder  = "@MODEL_BASE_URL@"
	nameHolder = "@MODEL_NAME@"
)

// validate refuses values the agent could not use or that would put a secret where it does not
// belong: the Agent's spec.config is readable by whoever reads the Agent, so the URL carries no
// user information (a key there would leak), and a loopback URL, which would reach the agent's
// own Pod, is refused too.
func (m Model) validate() error {
	u, err := url.Parse(m.BaseURL)
	switch {
	case m.BaseURL == "":
		return errors.New("base URL: empty (DEMO_MODEL_BASE_URL)")
	case err != nil:
		return fmt.Errorf("base URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return fmt.Errorf("base URL %q: want http(s)://host[:port]/path", m.BaseURL)
	case u.User != nil:
		return fmt.Errorf("base URL %q: no user information (the Agent's configuration is not secret; the key goes in DEMO_MODEL_API_KEY)", u.Redacted())
	case isLoopback(u.Hostname()):
		return fmt.Errorf("base URL %q: the agent Pod's loopback is the Pod itself; a server on the test bed's host is http://10.244.0.1:PORT/... (listening on that address or on all)", m.BaseURL)
	}
	for what, v := range map[string]string{"model name (DEMO_MODEL_NAME)": m.Name, "API key (DEMO_MODEL_API_KEY)": m.APIKey} {
		if v == "" {
			return fmt.Errorf("%s: empty", what)
		}
		if strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return fmt.Errorf("%s: has a control character", what)
		}
	}
	return nil
}

// isLoopback reports whether host names the loopback interface, which inside a Pod is the Pod's.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// quoted is s escaped for the inside of a JSON string, which is also a valid YAML double-quoted
// scalar (JSON's escapes are a subset of YAML's).
func quoted(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// render fills the placeholders of tmpl with m and checks the result.
func render(tmpl []byte, m Model) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	for _, h := range []string{keyHolder, urlHolder, nameHolder} {
		if !bytes.Contains(tmpl, []byte(`"`+h)) {
			return nil, fmt.Errorf("template: no placeholder %s at the start of a quoted string", h)
		}
	}
	// The key goes into the Secret and nowhere else. Checked on the template, not the output:
	// a short key (a server that ignores keys is given "x") can occur anywhere by chance.
	for i, doc := range docSeparator.Split(string(tmpl), -1) {
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			return nil, fmt.Errorf("template: document %d: %w", i, err)
		}
		if n := strings.Count(doc, keyHolder); n > 0 && (o.Kind != "Secret" || n != 1) {
			return nil, fmt.Errorf("template: document %d (%s) has %s %d times; want it once, in the Secret", i, o.Kind, keyHolder, n)
		}
	}
	out := strings.NewReplacer(keyHolder, quoted(m.APIKey), urlHolder, quoted(m.BaseURL), nameHolder, quoted(m.Name)).Replace(string(tmpl))
	if err := verify(out, m); err != nil {
		return nil, fmt.Errorf("rendered manifests: %w", err)
	}
	return []byte(out), nil
}

// object is the part of a rendered manifest verify reads.
type object struct {
	Kind       string            `json:"kind"`
	StringData map[string]string `json:"stringData"`
	Spec       struct {
		Config string `json:"config"`
	} `json:"spec"`
}

// opencodeConfig is the part of OpenCode's configuration verify reads.
type opencodeConfig struct {
	Model    string `json:"model"`
	Provider map[string]struct {
		Options struct {
			BaseURL string `json:"baseURL"`
			APIKey  string `json:"apiKey"`
		} `json:"options"`
		Models map[string]struct {
			Name string `json:"name"`
		} `json:"models"`
	} `json:"provider"`
}

// verify parses the rendered manifests and checks that each value landed where it belongs.
func verify(out string, m Model) error {
	var secrets, agents int
	for i, doc := range docSeparator.Split(out, -1) {
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			return fmt.Errorf("document %d: %w", i, err)
		}
		switch o.Kind {
		case "Secret":
			secrets++
			if len(o.StringData) != 1 {
				return fmt.Errorf("kind Secret: %d stringData keys, want 1", len(o.StringData))
			}
			for k, v := range o.StringData {
				if v != m.APIKey {
					return fmt.Errorf("kind Secret: stringData[%s] is not the API key", k)
				}
			}
		case "Agent":
			agents++
			var c opencodeConfig
			if err := json.Unmarshal([]byte(o.Spec.Config), &c); err != nil {
				return fmt.Errorf("kind Agent: spec.config: %w", err)
			}
			provider, name, _ := strings.Cut(c.Model, "/")
			p, ok := c.Provider[provider]
			switch {
			case !ok || name != m.Name:
				return fmt.Errorf("kind Agent: spec.config model %q, want <provider>/%s", c.Model, m.Name)
			case p.Options.BaseURL != m.BaseURL:
				return fmt.Errorf("kind Agent: spec.config provider %s baseURL %q, want %q", provider, p.Options.BaseURL, m.BaseURL)
			case p.Models[m.Name].Name != m.Name:
				return fmt.Errorf("kind Agent: spec.config provider %s has no model %q", provider, m.Name)
			case !strings.HasPrefix(p.Options.APIKey, "{env:"):
				return fmt.Errorf("kind Agent: spec.config provider %s apiKey is not read from the environment", provider)
			}
		}
	}
	if secrets != 1 || agents != 1 {
		return fmt.Errorf("%d Secrets and %d Agents, want one of each", secrets, agents)
	}
	return nil
}
