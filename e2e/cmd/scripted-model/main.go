// Command scripted-model runs modelserver.Server on an address until interrupted: the scripted
// OpenAI-compatible model of `make run` and of manual experiments with the real OpenCode binary.
//
//	scripted-model -listen 127.0.0.1:8080 -key KEY -script script.json [-log requests.jsonl]
//
// The script is a JSON array of steps: {"tool":"write","arguments":{"filePath":"a","content":"b"}},
// {"tool":"bash","arguments":{"command":"ls","description":"list"}}, {"text":"done"}. Each
// request is logged as one JSON line (to -log, or stderr) once answered.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/kubeopencode/kubeopencode/e2e/modelserver"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	key := flag.String("key", "", "the API key clients must send as a bearer token (required)")
	scriptFile := flag.String("script", "", "JSON file holding the script (required)")
	logFile := flag.String("log", "", "append each request as a JSON line here (default stderr)")
	flag.Parse()
	if err := run(*listen, *key, *scriptFile, *logFile); err != nil {
		fmt.Fprintln(os.Stderr, "scripted-model:", err)
		os.Exit(1)
	}
}

func run(listen, key, scriptFile, logFile string) error {
	b, err := os.ReadFile(scriptFile)
	if err != nil {
		return err
	}
	var script modelserver.Script
	if err := json.Unmarshal(b, &script); err != nil {
		return fmt.Errorf("%s: %w", scriptFile, err)
	}
	srv, err := modelserver.New(key, script)
	if err != nil {
		return err
	}
	var out io.Writer = os.Stderr
	if logFile != "" {
		f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	var mu sync.Mutex // handlers run concurrently; lines go out once each, in order
	logged := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.ServeHTTP(w, r)
		mu.Lock()
		defer mu.Unlock()
		for _, req := range srv.Requests()[logged:] {
			req.Body = nil // the messages are enough; bodies are large
			_ = json.NewEncoder(out).Encode(req)
			logged++
		}
	})
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "scripted-model: listening on http://%s/v1\n", ln.Addr())
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); _ = hs.Close() }()
	if err := hs.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}
