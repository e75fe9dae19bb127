// Command probe is the e2e workload image: it prints a probe.Report as one JSON line, so tests
// read security properties from inside a running container. It is also the real node's sandbox
// ("pause") image.
//
//	probe pause                                            block until SIGTERM/SIGINT, reaping children
//	probe report [-file P]... [-env N]... [-exit-code C] [-then-pause]   print a report, then exit with C
//	probe install DIR                                      copy itself to DIR/opencode (what an agent
//	                                                       image's init step does with the agent binary)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/kubeopencode/kubeopencode/e2e/probe"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe pause | probe install DIR | probe report [-file P]... [-env N]... [-exit-code C] [-then-pause]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "pause":
		pause()
	case "install":
		if len(os.Args) != 3 {
			fmt.Fprintln(os.Stderr, "usage: probe install DIR")
			os.Exit(2)
		}
		if err := probe.Install(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "probe:", err)
			os.Exit(1)
		}
	case "report":
		fs := flag.NewFlagSet("report", flag.ExitOnError)
		var files, envs multi
		fs.Var(&files, "file", "file to describe (repeatable)")
		fs.Var(&envs, "env", "environment variable whose presence to report (repeatable)")
		code := fs.Int("exit-code", 0, "exit code after reporting")
		wait := fs.Bool("then-pause", false, "after reporting, run until terminated (a long agent, for stop and timeout)")
		_ = fs.Parse(os.Args[2:])
		if err := json.NewEncoder(os.Stdout).Encode(probe.Collect(files, envs)); err != nil {
			fmt.Fprintln(os.Stderr, "probe:", err)
			os.Exit(1)
		}
		if *wait {
			pause()
		}
		os.Exit(*code)
	default:
		fmt.Fprintf(os.Stderr, "probe: unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
}

// pause blocks until told to stop and reaps orphaned children, as a sandbox process must.
func pause() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	chld := make(chan os.Signal, 16)
	signal.Notify(chld, syscall.SIGCHLD)
	for {
		select {
		case <-stop:
			os.Exit(0)
		case <-chld:
			for {
				var ws syscall.WaitStatus
				if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
					break
				}
			}
		}
	}
}
