package modelserver

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Path is where the server answers; clients configure baseURL as "<server URL>/v1".
const Path = "/v1/chat/completions"

// TitleAnswer is the text answered to requests that offer no tools (OpenCode's title request).
const TitleAnswer = "Scripted session"

// maxBody bounds what one request may send; OpenCode's largest requests (system prompt, tool
// schemas, history) are well under 1 MiB.
const maxBody = 8 << 20

// Step is one answer of a Script: a tool call or, when Tool is empty, a text answer.
type Step struct {
	// Tool is the function name to call, e.g. "write" or "bash".
	Tool string `json:"tool,omitempty"`
	// Arguments are the tool's arguments, sent JSON-encoded.
	Arguments map[string]any `json:"arguments,omitempty"`
	// Text is the final answer when Tool is empty.
	Text string `json:"text,omitempty"`
}

// Write is the Step that makes OpenCode write content to filePath.
func Write(filePath, content string) Step {
	return Step{Tool: "write", Arguments: map[string]any{"filePath": filePath, "content": content}}
}

// Bash is the Step that makes OpenCode run command with its shell tool.
func Bash(command, description string) Step {
	return Step{Tool: "bash", Arguments: map[string]any{"command": command, "description": description}}
}

// Answer is the Step that ends the run with text.
func Answer(text string) Step { return Step{Text: text} }

// Script is the sequence of answers to requests that offer tools.
type Script []Step

// Request is what the server recorded of one request.
type Request struct {
	Method, Path  string
	Authorization string
	// Refused is true when the server answered 401.
	Refused bool
	// Model, Stream and Tools (their function names) are parsed from the body, when it is JSON.
	Model  string
	Stream bool
	Tools  []string
	// Messages are the request's messages with their content flattened to text.
	Messages []Message
	// Step is the index of the Script step answered, -1 for none (title, refused, bad request).
	Step int
	Body []byte
}

// Message is one chat message as the server saw it.
type Message struct {
	Role, Content string
}

// Server replays a Script. Create it with New; it is an http.Handler.
type Server struct {
	key    string
	script Script
	model  string

	mu       sync.Mutex
	next     int
	requests []Request
}

// New returns a server that accepts only "Authorization: Bearer key" and answers with script.
// key must not be empty: a server that accepts anything proves nothing.
func New(key string, script Script) (*Server, error) {
	if key == "" {
		return nil, fmt.Errorf("modelserver: key is required")
	}
	if len(script) == 0 || script[len(script)-1].Tool != "" {
		return nil, fmt.Errorf("modelserver: script must end with a text answer")
	}
	for i, s := range script {
		if s.Tool == "" && s.Text == "" {
			return nil, fmt.Errorf("modelserver: script[%d]: neither Tool nor Text", i)
		}
	}
	return &Server{key: key, script: append(Script(nil), script...), model: "scripted"}, nil
}

// Requests returns a copy of every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Done reports whether every step of the script has been answered.
func (s *Server) Done() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next >= len(s.script)
}

type chatRequest struct {
	Model    string `json:"model"`
	Stream   bool   `json:"stream"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	rec := Request{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), Step: -1, Body: body}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Recorded last, with what was decided.
	defer func() { s.requests = append(s.requests, rec) }()

	if !s.authorized(rec.Authorization) {
		rec.Refused = true
		writeError(w, http.StatusUnauthorized, "invalid_api_key", "Incorrect API key provided.")
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != Path {
		writeError(w, http.StatusNotFound, "not_found", "only POST "+Path+" is served")
		return
	}
	var req chatRequest
	if err != nil || json.Unmarshal(body, &req) != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body is not a JSON chat request")
		return
	}
	rec.Model, rec.Stream = req.Model, req.Stream
	for _, t := range req.Tools {
		rec.Tools = append(rec.Tools, t.Function.Name)
	}
	for _, m := range req.Messages {
		rec.Messages = append(rec.Messages, Message{Role: m.Role, Content: flatten(m.Content)})
	}

	step := Answer(TitleAnswer)
	if len(req.Tools) > 0 {
		switch {
		case s.next < len(s.script):
			rec.Step = s.next
			step = s.script[s.next]
			s.next++
		default: // used up: the final answer again
			rec.Step = len(s.script) - 1
			step = s.script[rec.Step]
		}
	}
	model := req.Model
	if model == "" {
		model = s.model
	}
	id := fmt.Sprintf("chatcmpl-%d", len(s.requests))
	if req.Stream {
		writeStream(w, id, model, step, len(s.requests))
		return
	}
	writeCompletion(w, id, model, step, len(s.requests))
}

func (s *Server) authorized(h string) bool {
	want := "Bearer " + s.key
	return subtle.ConstantTimeCompare([]byte(h), []byte(want)) == 1
}

// flatten returns a message's content as text: a JSON string as is, an array of parts as the
// concatenation of their "text" fields.
func flatten(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
		}
		return b.String()
	}
	return string(raw)
}

func writeError(w http.ResponseWriter, code int, kind, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "code": kind}})
}

type toolCall struct {
	Index    int    `json:"index"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

func (st Step) toolCall(n int) (toolCall, error) {
	args, err := json.Marshal(st.Arguments)
	if err != nil {
		return toolCall{}, err
	}
	tc := toolCall{ID: fmt.Sprintf("call_%d", n), Type: "function"}
	tc.Function.Name, tc.Function.Arguments = st.Tool, string(args)
	return tc, nil
}

var usage = map[string]int{"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}

// writeStream answers as server-sent events: one chunk with the content or the tool call, one
// with the finish reason and usage, then [DONE].
func writeStream(w http.ResponseWriter, id, model string, st Step, n int) {
	delta := map[string]any{"role": "assistant"}
	finish := "stop"
	if st.Tool != "" {
		tc, err := st.toolCall(n)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "script", err.Error())
			return
		}
		delta["tool_calls"] = []toolCall{tc}
		finish = "tool_calls"
	} else {
		delta["content"] = st.Text
	}
	chunk := func(choice map[string]any, extra map[string]any) []byte {
		m := map[string]any{"id": id, "object": "chat.completion.chunk", "created": 0, "model": model,
			"choices": []any{choice}}
		for k, v := range extra {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	var buf bytes.Buffer
	for _, b := range [][]byte{
		chunk(map[string]any{"index": 0, "delta": delta, "finish_reason": nil}, nil),
		chunk(map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": finish}, map[string]any{"usage": usage}),
		[]byte("[DONE]"),
	} {
		buf.WriteString("data: ")
		buf.Write(b)
		buf.WriteString("\n\n")
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(buf.Bytes())
}

// writeCompletion answers a non-streaming request with one chat.completion object.
func writeCompletion(w http.ResponseWriter, id, model string, st Step, n int) {
	msg := map[string]any{"role": "assistant", "content": st.Text}
	finish := "stop"
	if st.Tool != "" {
		tc, err := st.toolCall(n)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "script", err.Error())
			return
		}
		msg = map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{
			"id": tc.ID, "type": tc.Type, "function": tc.Function}}}
		finish = "tool_calls"
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "object": "chat.completion", "created": 0, "model": model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}}, "usage": usage})
}
