package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/duration"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/operator/internal/logserver"
)

// LogServerEnv names the environment variable that gives the log server's URL.
const LogServerEnv = "KUBEOPENCODE_LOG_SERVER"

const usage = `Usage: %[1]s <command> [flags]

Run AI coding agents as Kubernetes Tasks, with your own kubeconfig.

Commands:
  run --agent [NAMESPACE/]NAME [--context FILE]... [--timeout D] [--wait] "prompt"
                     create a Task (the prompt is its description)
  list               list Tasks: phase, agent, exit code, result
  describe NAME      a Task's phase, exit code, result, conditions and Events
  logs NAME [-f]     the agent's log (through the log server: --log-server or $%[2]s)
  stop NAME          stop a Task (sets the kubeopencode.io/stop annotation)

Flags common to all commands: --kubeconfig, --kube-context, -n/--namespace.
Run "%[1]s <command> -h" for the flags of a command.
`

// Env is what a command needs from its process.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Config, when not nil, replaces the kubeconfig (tests).
	Config *rest.Config
	// Namespace, when Config is set, is the default namespace.
	Namespace string
}

// Main runs one command and returns the exit code: 0 success, 1 failure (the API server's or
// the log server's error is printed as it is), 2 usage. name is how the program is called.
func Main(ctx context.Context, name string, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := env.Stderr
		code := 2
		if len(args) > 0 {
			w, code = env.Stdout, 0
		}
		fmt.Fprintf(w, usage, name, LogServerEnv)
		return code
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "unknown command %q\n\n"+usage, args[0], name, LogServerEnv)
		return 2
	}
	fs := flag.NewFlagSet(name+" "+args[0], flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	c := &cmdCtx{env: env}
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&c.kubeContext, "kube-context", "", "kubeconfig context (default: the current context)")
	fs.StringVar(&c.namespace, "namespace", "", "namespace of the Tasks (default: the context's namespace)")
	fs.StringVar(&c.namespace, "n", "", "shorthand for --namespace")
	cmd.flags(fs, c)
	if err := fs.Parse(interleave(fs, args[1:])); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	c.args = fs.Args()
	if err := c.connect(); err != nil {
		fmt.Fprintln(env.Stderr, "error:", err)
		return 1
	}
	if err := cmd.run(ctx, c); err != nil {
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintln(env.Stderr, "error:", err)
			return 2
		}
		var st apierrors.APIStatus
		if errors.As(err, &st) {
			// As kubectl prints it: the API server's (or the log server's) words, unchanged.
			fmt.Fprintln(env.Stderr, "Error from server:", err)
		} else {
			fmt.Fprintln(env.Stderr, "error:", err)
		}
		return 1
	}
	return 0
}

type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// interleave moves flags after positional arguments to the front, so that
// `run "prompt" --wait` works as users expect from kubectl.
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	return append(flags, pos...)
}

type command struct {
	flags func(*flag.FlagSet, *cmdCtx)
	run   func(context.Context, *cmdCtx) error
}

var commands = map[string]command{
	"run":      {flags: runFlags, run: runCmd},
	"list":     {flags: func(*flag.FlagSet, *cmdCtx) {}, run: listCmd},
	"describe": {flags: func(*flag.FlagSet, *cmdCtx) {}, run: describeCmd},
	"logs":     {flags: logsFlags, run: logsCmd},
	"stop":     {flags: func(*flag.FlagSet, *cmdCtx) {}, run: stopCmd},
}

type cmdCtx struct {
	env                     Env
	kubeconfig, kubeContext string
	namespace               string
	args                    []string
	cfg                     *rest.Config
	c                       client.Client
	agent, name             string
	contexts                stringList
	timeout, waitFor        time.Duration
	wait, follow            bool
	logServer, logServerCA  string
	tailLines               int64
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func (c *cmdCtx) connect() error {
	if c.env.Config != nil {
		c.cfg = c.env.Config
		if c.namespace == "" {
			c.namespace = c.env.Namespace
		}
	} else {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = c.kubeconfig
		cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: c.kubeContext})
		cfg, err := cc.ClientConfig()
		if err != nil {
			return fmt.Errorf("loading the kubeconfig: %w", err)
		}
		c.cfg = cfg
		if c.namespace == "" {
			if c.namespace, _, err = cc.Namespace(); err != nil {
				return fmt.Errorf("reading the kubeconfig's namespace: %w", err)
			}
		}
	}
	if c.namespace == "" {
		c.namespace = "default"
	}
	scheme := runtime.NewScheme()
	if err := errors.Join(clientgoscheme.AddToScheme(scheme), v1alpha1.AddToScheme(scheme)); err != nil {
		return err
	}
	cl, err := client.New(c.cfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("creating the client: %w", err)
	}
	c.c = cl
	return nil
}

// oneName returns the single positional argument, the Task's name.
func (c *cmdCtx) oneName() (string, error) {
	if len(c.args) != 1 {
		return "", usagef("expected exactly one Task name, got %d arguments", len(c.args))
	}
	return c.args[0], nil
}

func runFlags(fs *flag.FlagSet, c *cmdCtx) {
	fs.StringVar(&c.agent, "agent", "", "the Agent: NAME (in the Task's namespace) or NAMESPACE/NAME; required")
	fs.StringVar(&c.name, "name", "", "the Task's name (default: generated, task-xxxxx)")
	fs.Var(&c.contexts, "context", "a local FILE given to the agent as a Text context (appended to .kubeopencode/context.md); repeatable")
	fs.DurationVar(&c.timeout, "timeout", 0, "spec.timeout: how long the agent may run (e.g. 30m; at most 24h); 0: none")
	fs.BoolVar(&c.wait, "wait", false, "wait until the Task ends, print its result, and exit 0 only if it Completed")
	fs.DurationVar(&c.waitFor, "wait-timeout", 0, "with --wait: give up waiting after this long (0: no limit)")
}

var contextName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// newTask builds the Task run creates, from the flags and the prompt.
func (c *cmdCtx) newTask() (*v1alpha1.Task, error) {
	if len(c.args) != 1 || strings.TrimSpace(c.args[0]) == "" {
		return nil, usagef(`expected one prompt argument, e.g. run --agent platform-agents/coder "fix the flaky test"`)
	}
	if c.agent == "" {
		return nil, usagef("--agent is required")
	}
	ref := v1alpha1.AgentReference{Name: c.agent}
	if ns, name, ok := strings.Cut(c.agent, "/"); ok {
		ref = v1alpha1.AgentReference{Namespace: ns, Name: name}
		if ns == c.namespace {
			ref.Namespace = ""
		}
	}
	t := &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Namespace: c.namespace, Name: c.name},
		Spec:       v1alpha1.TaskSpec{Description: c.args[0], AgentRef: ref},
	}
	if c.name == "" {
		t.GenerateName = "task-"
	}
	if c.timeout < 0 {
		return nil, usagef("--timeout must not be negative")
	}
	if c.timeout > 0 {
		t.Spec.Timeout = &metav1.Duration{Duration: c.timeout}
	}
	for _, path := range c.contexts {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, usagef("--context: %w", err)
		}
		name := strings.Trim(contextName.ReplaceAllString(filepath.Base(path), "-"), "-._")
		if len(name) > 63 {
			name = strings.Trim(name[:63], "-._")
		}
		t.Spec.Contexts = append(t.Spec.Contexts, v1alpha1.ContextItem{Name: name, Type: v1alpha1.ContextTypeText, Text: string(data)})
	}
	return t, nil
}

func runCmd(ctx context.Context, c *cmdCtx) error {
	t, err := c.newTask()
	if err != nil {
		return err
	}
	if err := c.c.Create(ctx, t); err != nil {
		return err
	}
	fmt.Fprintf(c.env.Stdout, "task.kubeopencode.io/%s created\n", t.Name)
	if !c.wait {
		return nil
	}
	if c.waitFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.waitFor)
		defer cancel()
	}
	final, err := waitFinal(ctx, c.c, client.ObjectKeyFromObject(t))
	if err != nil {
		return err
	}
	printSummary(c.env.Stdout, final)
	if final.Status.Phase != v1alpha1.TaskPhaseCompleted {
		return fmt.Errorf("task %s/%s ended %s", final.Namespace, final.Name, final.Status.Phase)
	}
	return nil
}

// waitFinal polls the Task until it is Completed or Failed (a poll needs only get, which every
// task author has; a watch would need watch too).
func waitFinal(ctx context.Context, c client.Client, key types.NamespacedName) (*v1alpha1.Task, error) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		t := &v1alpha1.Task{}
		if err := c.Get(ctx, key, t); err != nil {
			return nil, err
		}
		if t.Status.Phase == v1alpha1.TaskPhaseCompleted || t.Status.Phase == v1alpha1.TaskPhaseFailed {
			return t, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for Task %s: %w (phase %q)", key, ctx.Err(), t.Status.Phase)
		case <-tick.C:
		}
	}
}

func printSummary(w io.Writer, t *v1alpha1.Task) {
	fmt.Fprintf(w, "Phase:      %s\n", t.Status.Phase)
	if c := meta.FindStatusCondition(t.Status.Conditions, v1alpha1.ConditionSucceeded); c != nil {
		fmt.Fprintf(w, "Reason:     %s: %s\n", c.Reason, c.Message)
	}
	if t.Status.ExitCode != nil {
		fmt.Fprintf(w, "Exit Code:  %d\n", *t.Status.ExitCode)
	}
	if t.Status.Result != "" {
		fmt.Fprintf(w, "Result (what the agent printed):\n%s\n", indent(t.Status.Result))
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}

func listCmd(ctx context.Context, c *cmdCtx) error {
	if len(c.args) != 0 {
		return usagef("list takes no arguments")
	}
	list := &v1alpha1.TaskList{}
	if err := c.c.List(ctx, list, client.InNamespace(c.namespace)); err != nil {
		return err
	}
	if len(list.Items) == 0 {
		fmt.Fprintf(c.env.Stderr, "No Tasks found in namespace %s.\n", c.namespace)
		return nil
	}
	tw := tabwriter.NewWriter(c.env.Stdout, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPHASE\tAGENT\tEXIT CODE\tAGE\tRESULT")
	now := time.Now()
	for _, t := range list.Items {
		agent := t.Spec.AgentRef.Name
		if t.Spec.AgentRef.Namespace != "" {
			agent = t.Spec.AgentRef.Namespace + "/" + agent
		}
		code := ""
		if t.Status.ExitCode != nil {
			code = fmt.Sprint(*t.Status.ExitCode)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Status.Phase, agent, code,
			duration.HumanDuration(now.Sub(t.CreationTimestamp.Time)), oneLine(t.Status.Result, 60))
	}
	return tw.Flush()
}

// oneLine is s's last non-empty line, cut to n runes: a result's gist for a table.
func oneLine(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if r := []rune(last); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return last
}

func describeCmd(ctx context.Context, c *cmdCtx) error {
	name, err := c.oneName()
	if err != nil {
		return err
	}
	t := &v1alpha1.Task{}
	if err := c.c.Get(ctx, types.NamespacedName{Namespace: c.namespace, Name: name}, t); err != nil {
		return err
	}
	w := c.env.Stdout
	agent := t.Spec.AgentRef.Name
	if t.Spec.AgentRef.Namespace != "" {
		agent = t.Spec.AgentRef.Namespace + "/" + agent
	}
	fmt.Fprintf(w, "Name:       %s\nNamespace:  %s\nAgent:      %s\n", t.Name, t.Namespace, agent)
	if t.Spec.Timeout != nil {
		fmt.Fprintf(w, "Timeout:    %s\n", t.Spec.Timeout.Duration)
	}
	if t.Status.PodName != "" {
		fmt.Fprintf(w, "Pod:        %s/%s (informational)\n", t.Status.PodNamespace, t.Status.PodName)
	}
	if t.Status.StartTime != nil {
		fmt.Fprintf(w, "Started:    %s\n", t.Status.StartTime.UTC().Format(time.RFC3339))
	}
	if t.Status.CompletionTime != nil {
		fmt.Fprintf(w, "Completed:  %s\n", t.Status.CompletionTime.UTC().Format(time.RFC3339))
	}
	printSummary(w, t)
	fmt.Fprintln(w, "Conditions:")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  TYPE\tSTATUS\tREASON\tMESSAGE")
	for _, cond := range t.Status.Conditions {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", cond.Type, cond.Status, cond.Reason, cond.Message)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Events regarding the Task, in its namespace. A caller who may not list Events still gets
	// the rest.
	all := &eventsv1.EventList{}
	if err := c.c.List(ctx, all, client.InNamespace(t.Namespace)); err != nil {
		fmt.Fprintf(w, "Events:     not readable: %v\n", err)
		return nil
	}
	var events []eventsv1.Event
	for _, e := range all.Items {
		if e.Regarding.UID == t.UID {
			events = append(events, e)
		}
	}
	sort.SliceStable(events, func(i, j int) bool { return eventTime(events[i]).Before(eventTime(events[j])) })
	if len(events) == 0 {
		fmt.Fprintln(w, "Events:     <none>")
		return nil
	}
	fmt.Fprintln(w, "Events:")
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  TYPE\tREASON\tACTION\tNOTE")
	for _, e := range events {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.Type, e.Reason, e.Action, e.Note)
	}
	return tw.Flush()
}

func eventTime(e eventsv1.Event) time.Time {
	if !e.EventTime.IsZero() {
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

func stopCmd(ctx context.Context, c *cmdCtx) error {
	name, err := c.oneName()
	if err != nil {
		return err
	}
	patch := []byte(`{"metadata":{"annotations":{"` + v1alpha1.StopAnnotation + `":"` + v1alpha1.StopAnnotationValue + `"}}}`)
	t := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: c.namespace, Name: name}}
	if err := c.c.Patch(ctx, t, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return err
	}
	fmt.Fprintf(c.env.Stdout, "task.kubeopencode.io/%s stop requested\n", name)
	return nil
}

func logsFlags(fs *flag.FlagSet, c *cmdCtx) {
	fs.BoolVar(&c.follow, "f", false, "follow the log")
	fs.BoolVar(&c.follow, "follow", false, "follow the log")
	fs.Int64Var(&c.tailLines, "tail", -1, "lines from the end to show (-1: all)")
	fs.StringVar(&c.logServer, "log-server", "", "URL of the log server (default $"+LogServerEnv+")")
	fs.StringVar(&c.logServerCA, "log-server-ca", "", "CA bundle (PEM) that signed the log server's certificate (default: the system roots)")
}

func logsCmd(ctx context.Context, c *cmdCtx) error {
	name, err := c.oneName()
	if err != nil {
		return err
	}
	base := c.logServer
	if base == "" {
		base = c.env.Getenv(LogServerEnv)
	}
	if base == "" {
		return usagef("no log server: set --log-server or $%s (ask your platform team for its URL)", LogServerEnv)
	}
	if !strings.HasPrefix(base, "https://") {
		return usagef("the log server URL must be https:// (it receives your token)")
	}
	// The caller's credentials (bearer token, token file, exec or auth provider) go to the log
	// server, which only asks the API server about them; the TLS settings are the log server's.
	cfg := rest.AnonymousClientConfig(c.cfg)
	cfg.BearerToken, cfg.BearerTokenFile = c.cfg.BearerToken, c.cfg.BearerTokenFile
	cfg.ExecProvider, cfg.AuthProvider, cfg.AuthConfigPersister = c.cfg.ExecProvider, c.cfg.AuthProvider, c.cfg.AuthConfigPersister
	cfg.Host = base
	cfg.TLSClientConfig = rest.TLSClientConfig{CAFile: c.logServerCA}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return fmt.Errorf("log server client: %w", err)
	}
	url := strings.TrimSuffix(base, "/") + logserver.LogPath(c.namespace, name)
	q := []string{}
	if c.follow {
		q = append(q, "follow=true")
	}
	if c.tailLines >= 0 {
		q = append(q, fmt.Sprintf("tailLines=%d", c.tailLines))
	}
	if len(q) > 0 {
		url += "?" + strings.Join(q, "&")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusError(resp)
	}
	_, err = io.Copy(c.env.Stdout, resp.Body)
	return err
}
