package modelserver

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const key = "sk-test-key"

func post(t *testing.T, url, auth, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+Path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// answer is what a streamed response said, reassembled as a client does.
type answer struct {
	Content, Finish string
	Tool, Args      string
	Done            bool
}

func readStream(t *testing.T, r io.Reader) answer {
	t.Helper()
	var a answer
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			a.Done = true
			continue
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content   string
					ToolCalls []struct {
						Function struct{ Name, Arguments string }
					} `json:"tool_calls"`
				}
				FinishReason *string `json:"finish_reason"`
			}
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			t.Fatalf("chunk %q: %v", data, err)
		}
		for _, c := range chunk.Choices {
			a.Content += c.Delta.Content
			for _, tc := range c.Delta.ToolCalls {
				a.Tool += tc.Function.Name
				a.Args += tc.Function.Arguments
			}
			if c.FinishReason != nil {
				a.Finish = *c.FinishReason
			}
		}
	}
	return a
}

func withTools(prompt string) string {
	return `{"model":"m","stream":true,"messages":[{"role":"system","content":"sys"},{"role":"user","content":[{"type":"text","text":"` +
		prompt + `"}]}],"tools":[{"type":"function","function":{"name":"write"}},{"type":"function","function":{"name":"bash"}}]}`
}

// TestReplay drives the server as OpenCode does: a title request without tools, then one request
// per step, then one more after the script is used up.
func TestReplay(t *testing.T) {
	s, err := New(key, Script{Write("a.txt", "hi\n"), Bash("id -u", "uid"), Answer("done")})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	bearer := "Bearer " + key
	title := `{"model":"m","stream":true,"messages":[{"role":"user","content":"title please"}]}`
	var got []answer
	for _, body := range []string{title, withTools("fix it"), withTools("fix it"), withTools("fix it"), withTools("again")} {
		resp := post(t, ts.URL, bearer, body)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		got = append(got, readStream(t, resp.Body))
	}
	want := []answer{
		{Content: TitleAnswer, Finish: "stop", Done: true},
		{Tool: "write", Args: `{"content":"hi\n","filePath":"a.txt"}`, Finish: "tool_calls", Done: true},
		{Tool: "bash", Args: `{"command":"id -u","description":"uid"}`, Finish: "tool_calls", Done: true},
		{Content: "done", Finish: "stop", Done: true},
		{Content: "done", Finish: "stop", Done: true},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("answers (-want +got):\n%s", d)
	}
	if !s.Done() {
		t.Error("Done() = false after the whole script")
	}
	type seen struct {
		Step  int
		Tools []string
		Last  Message
	}
	var steps []seen
	for _, r := range s.Requests() {
		steps = append(steps, seen{Step: r.Step, Tools: r.Tools, Last: r.Messages[len(r.Messages)-1]})
	}
	tools := []string{"write", "bash"}
	if d := cmp.Diff([]seen{
		{Step: -1, Last: Message{"user", "title please"}},
		{0, tools, Message{"user", "fix it"}}, {1, tools, Message{"user", "fix it"}},
		{2, tools, Message{"user", "fix it"}}, {2, tools, Message{"user", "again"}},
	}, steps); d != "" {
		t.Errorf("recorded requests (-want +got):\n%s", d)
	}
}

// TestRefusesWrongKey: no header, another key, the key without "Bearer", and the key with a
// suffix are all refused with 401, recorded, and do not advance the script.
func TestRefusesWrongKey(t *testing.T) {
	s, err := New(key, Script{Answer("done")})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	for _, auth := range []string{"", "Bearer other", key, "Bearer " + key + "x", "Basic " + key} {
		resp := post(t, ts.URL, auth, withTools("x"))
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), "invalid_api_key") {
			t.Errorf("Authorization %q: status %d body %s, want 401 invalid_api_key", auth, resp.StatusCode, b)
		}
	}
	reqs := s.Requests()
	if len(reqs) != 5 {
		t.Fatalf("recorded %d requests, want 5", len(reqs))
	}
	for _, r := range reqs {
		if !r.Refused || r.Step != -1 || r.Messages != nil {
			t.Errorf("refused request recorded as %+v", r)
		}
	}
	if s.Done() {
		t.Error("refused requests advanced the script")
	}
}

func TestNonStreaming(t *testing.T) {
	s, err := New(key, Script{Write("f", "c"), Answer("done")})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	resp := post(t, ts.URL, "Bearer "+key, strings.Replace(withTools("x"), `"stream":true`, `"stream":false`, 1))
	var got struct {
		Choices []struct {
			Message struct {
				ToolCalls []struct {
					Function struct{ Name, Arguments string }
				} `json:"tool_calls"`
			}
			FinishReason string `json:"finish_reason"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got.Choices) != 1 || got.Choices[0].FinishReason != "tool_calls" || len(got.Choices[0].Message.ToolCalls) != 1 ||
		got.Choices[0].Message.ToolCalls[0].Function.Name != "write" {
		t.Errorf("answer %+v, want one write tool call", got)
	}
}

func TestNewRefusesUselessScripts(t *testing.T) {
	for name, tc := range map[string]struct {
		key    string
		script Script
	}{
		"no key":              {"", Script{Answer("x")}},
		"empty script":        {key, nil},
		"ends with tool call": {key, Script{Write("a", "b")}},
		"empty step":          {key, Script{{}, Answer("x")}},
	} {
		if _, err := New(tc.key, tc.script); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func TestBadRequests(t *testing.T) {
	s, err := New(key, Script{Answer("x")})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	if resp := post(t, ts.URL, "Bearer "+key, "not json"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("non-JSON body: status %d, want 400", resp.StatusCode)
	}
	resp, err := http.Get(ts.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET without a key: status %d, want 401", resp.StatusCode)
	}
}
