// Command kubectl-kubeopencode is the task author's command line, as a kubectl plugin:
//
//	kubectl kubeopencode run --agent platform-agents/coder --wait "fix the flaky test"
//	kubectl kubeopencode list | describe NAME | logs NAME -f | stop NAME
//
// It uses the caller's kubeconfig and nothing else. The same commands are available as
// "kubeopencode run|list|describe|logs|stop". See package cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kubeopencode/kubeopencode/operator/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, "kubectl kubeopencode", os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
