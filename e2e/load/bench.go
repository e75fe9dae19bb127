package load

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Scenario is one measured run.
type Scenario struct {
	// Kind: "burst" (N Tasks as fast as the workers create them) or "steady" (Rate Tasks/s).
	Kind string `json:"kind"`
	N    int    `json:"n"`
	Rep  int    `json:"rep"`
	// CrossNamespace spreads the Tasks over TeamNamespaces namespaces other than the Agent's.
	CrossNamespace bool `json:"crossNamespace,omitempty"`
	TeamNamespaces int  `json:"teamNamespaces,omitempty"`
	// Bare also measures N bare-client Pods first, in the same run, for the ratio.
	Bare bool    `json:"bare"`
	Rate float64 `json:"rate,omitempty"`
}

// Label names a scenario in tables, e.g. "burst same-ns".
func (s Scenario) Label() string {
	l := s.Kind
	if s.Kind == "steady" {
		l = fmt.Sprintf("steady %g/s", s.Rate)
	}
	if s.CrossNamespace {
		return l + " cross-ns"
	}
	return l + " same-ns"
}

// Bench holds what every scenario shares.
type Bench struct {
	Clients *Clients
	// OperatorBinary is the built `kubeopencode`; OperatorKubeconfig authenticates as its
	// ServiceAccount (OperatorKubeconfig writes one).
	OperatorBinary, OperatorKubeconfig string
	// Concurrency is passed as --concurrency when > 0 (otherwise the binary's default).
	Concurrency int
	// MetricsAddr is the operator's metrics bind address, e.g. 127.0.0.1:18080; MetricsToken
	// authenticates the harness there (MetricsToken creates one).
	MetricsAddr, MetricsToken string
	// PprofAddr, when set (a loopback host:port), runs the operator with --pprof-bind-address
	// and keeps a CPU profile of the first ProfileSeconds of each operator phase and a heap
	// profile at its end (cpu-<run>.pprof, heap-<run>.pprof in WorkDir), and a CPU profile of
	// the API server over the same window (apiserver-cpu-<run>.pprof).
	PprofAddr      string
	ProfileSeconds int
	// Workers is the number of concurrent create calls for the bare client and for Tasks.
	Workers int
	// Complete waits for every Task to be Completed (kwok finishes the Pods) and counts the whole
	// lifecycle's writes; otherwise Pods stay Running and writes are counted up to Running.
	Complete bool
	// WorkDir receives operator logs.
	WorkDir string
	// Log reports progress.
	Log func(format string, args ...any)
}

// Record is what one scenario measured.
type Record struct {
	Scenario Scenario `json:"scenario"`
	RunID    string   `json:"runID"`
	Start    time.Time
	// LoadAvg is /proc/loadavg before and after (the machine is shared).
	LoadAvgBefore, LoadAvgAfter string
	Bare                        *Result `json:"bare,omitempty"`
	// TaskCreates: the same N Tasks created while no operator runs, then deleted (with Bare):
	// the API server's ceiling for Tasks, which bounds the operator's throughput.
	TaskCreates *Result    `json:"taskCreates,omitempty"`
	Tasks       TaskResult `json:"tasks"`
	// APIWrites is the API server's apiserver_request_total delta over the operator phase, for
	// tasks, pods, configmaps, events and leases, by "VERB resource[/subresource]".
	APIWrites map[string]float64 `json:"apiWrites"`
	// OperatorWrites counts what only the operator writes in that phase (see CountOperatorWrites).
	OperatorWrites float64 `json:"operatorWrites"`
	// ClientWrites is the operator's own rest_client_requests_total delta by method.
	ClientWrites map[string]float64 `json:"clientWrites"`
	// EventWrites is derived: the operator's POST+PATCH minus its attributed POST/PATCH writes.
	EventWrites  float64 `json:"eventWrites"`
	PeakRSSBytes int64   `json:"peakRSSBytes"`
	// CPUSeconds the operator spent during the measured phase.
	CPUSeconds float64 `json:"cpuSeconds"`
	// Ratio of operator Task→Pod throughput to bare-client Pod throughput, same run.
	Ratio       float64 `json:"ratio,omitempty"`
	Concurrency int     `json:"concurrency"`
	Complete    bool    `json:"complete"`
}

// OperatorWriteKeys are the API writes only the operator makes while Tasks run: Task metadata
// and status updates, agent Pod creates and deletes (no subresource: bindings and Pod status
// belong to the scheduler and kwok), and ConfigMaps (contexts). Task creates (POST tasks) are the
// harness's. Events are reported separately.
var OperatorWriteKeys = []string{
	"PUT tasks", "PATCH tasks", "APPLY tasks", "PUT tasks/status", "PATCH tasks/status", "APPLY tasks/status",
	"POST pods", "DELETE pods",
	"POST configmaps", "PUT configmaps", "PATCH configmaps", "DELETE configmaps",
}

// writeResources are the resources whose apiserver_request_total writes a Record keeps.
var writeResources = []string{"tasks", "pods", "configmaps", "events", "leases", "tokenreviews", "subjectaccessreviews"}

// CountOperatorWrites sums OperatorWriteKeys in an apiserver_request_total delta.
func CountOperatorWrites(delta map[string]float64) float64 {
	var n float64
	for _, k := range OperatorWriteKeys {
		n += delta[k]
	}
	return n
}

// DeriveEventWrites is the operator's POST+PATCH (its own client metrics) minus the POST and PATCH
// writes the API server attributes to it: what is left are Events (Lease renewals are PUTs). The
// TokenReviews and SubjectAccessReviews its metrics endpoint makes when the harness scrapes it are
// POSTs too, and subtracted.
func DeriveEventWrites(client, api map[string]float64) float64 {
	attributed := api["POST pods"] + api["POST configmaps"] + api["PATCH tasks"] + api["PATCH tasks/status"] + api["PATCH configmaps"] +
		api["POST tokenreviews"] + api["POST subjectaccessreviews"]
	return client["POST"] + client["PATCH"] - attributed
}

func newRunID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return "l" + hex.EncodeToString(b)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// Run measures one scenario: the bare client (if asked), then a fresh operator process turning
// N Tasks into Pods; it cleans up after itself.
func (b *Bench) Run(ctx context.Context, s Scenario) (rec Record, err error) {
	rec = Record{Scenario: s, RunID: newRunID(), Start: time.Now(), LoadAvgBefore: loadAvg(),
		Concurrency: b.Concurrency, Complete: b.Complete}
	timeout := 5*time.Minute + time.Duration(s.N)*100*time.Millisecond
	if s.Rate > 0 {
		timeout += time.Duration(float64(s.N)/s.Rate) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := b.Clients
	agentNS := rec.RunID + "-agents"
	namespaces := []string{agentNS}
	taskNS := []string{agentNS}
	if s.CrossNamespace {
		taskNS = nil
		for i := range max(s.TeamNamespaces, 1) {
			taskNS = append(taskNS, fmt.Sprintf("%s-team-%d", rec.RunID, i))
		}
		namespaces = append(namespaces, taskNS...)
	}
	if s.Bare {
		namespaces = append(namespaces, rec.RunID+"-bare")
	}
	for _, ns := range namespaces {
		if err := c.CreateNamespace(ctx, ns, rec.RunID); err != nil {
			return rec, err
		}
	}
	var op *OperatorProcess
	defer func() {
		// Clean up with the operator still running: cross-namespace Tasks carry its finalizer.
		if op == nil {
			var serr error
			if op, serr = b.startOperator(ctx, rec.RunID); serr != nil {
				err = fmt.Errorf("%w; cleanup: %w", err, serr)
				return
			}
		}
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer ccancel()
		if derr := c.DeleteNamespaces(cctx, 10*time.Minute, namespaces...); derr != nil && err == nil {
			err = derr
		}
		op.Stop()
	}()

	if s.Bare {
		b.Log("%s N=%d rep %d: bare client creates %d Pods", s.Label(), s.N, s.Rep, s.N)
		bare, err := RunBare(ctx, c.Kube, rec.RunID+"-bare", rec.RunID, s.N, b.Workers)
		if err != nil {
			return rec, fmt.Errorf("bare client: %w", err)
		}
		rec.Bare = &bare
		b.Log("%s N=%d rep %d: %d Tasks created and deleted without an operator", s.Label(), s.N, s.Rep, s.N)
		ceiling := TaskRun{RunID: rec.RunID, AgentNamespace: agentNS, Agent: "load", TaskNamespaces: taskNS,
			NamePrefix: "ceiling-", N: s.N, Workers: b.Workers}
		created, err := RunTaskCreates(ctx, c, ceiling)
		if err != nil {
			return rec, fmt.Errorf("creating Tasks without an operator: %w", err)
		}
		rec.TaskCreates = &created
	}
	agent := AgentOptions{Namespace: agentNS, Name: "load", Complete: b.Complete} // the name the ceiling Tasks used
	if s.CrossNamespace {
		agent.AllowedNamespaces = []string{rec.RunID + "-team-*"}
	}
	if err := c.CreateAgent(ctx, agent); err != nil {
		return rec, err
	}
	if op, err = b.startOperator(ctx, rec.RunID); err != nil {
		return rec, err
	}
	until := "Running"
	if b.Complete {
		until = "Completed"
	}
	// A warm-up Task proves the caches are synced and the Agent is seen; its writes fall before
	// the snapshot.
	warm := TaskRun{RunID: rec.RunID, AgentNamespace: agentNS, Agent: agent.Name, TaskNamespaces: taskNS[:1],
		NamePrefix: "warmup-", N: 1, Workers: 1, Until: until}
	if _, err := RunTasks(ctx, c, warm); err != nil {
		return rec, fmt.Errorf("warm-up Task: %w", err)
	}
	apiBefore, err := APIWrites(ctx, c.Kube, writeResources...)
	if err != nil {
		return rec, err
	}
	opBefore, err := b.settledClientWrites(ctx, op)
	if err != nil {
		return rec, err
	}
	_, cpuBefore, err := op.Stats()
	if err != nil {
		return rec, err
	}
	b.Log("%s N=%d rep %d: operator (pid %d) runs %d Tasks", s.Label(), s.N, s.Rep, op.Pid(), s.N)
	tr := TaskRun{RunID: rec.RunID, AgentNamespace: agentNS, Agent: agent.Name, TaskNamespaces: taskNS,
		NamePrefix: "t-", N: s.N, Workers: b.Workers, Rate: s.Rate, Until: until}
	profiled := b.profileCPU(ctx, rec.RunID)
	rec.Tasks, err = RunTasks(ctx, c, tr)
	if err != nil {
		return rec, err
	}
	if perr := <-profiled; perr != nil {
		b.Log("CPU profile: %v", perr)
	}
	if b.PprofAddr != "" {
		if perr := SaveProfile(ctx, b.PprofAddr, "/debug/pprof/heap", filepath.Join(b.WorkDir, "heap-"+rec.RunID+".pprof")); perr != nil {
			b.Log("heap profile: %v", perr)
		}
	}
	opAfter, err := b.settledClientWrites(ctx, op)
	if err != nil {
		return rec, err
	}
	apiAfter, err := APIWrites(ctx, c.Kube, writeResources...)
	if err != nil {
		return rec, err
	}
	rss, cpuAfter, err := op.Stats()
	if err != nil {
		return rec, err
	}
	b.dumpMetrics(ctx, op, rec.RunID)
	rec.LoadAvgAfter = loadAvg()
	rec.APIWrites = Delta(apiBefore, apiAfter)
	rec.OperatorWrites = CountOperatorWrites(rec.APIWrites)
	rec.ClientWrites = Delta(opBefore, opAfter)
	rec.EventWrites = DeriveEventWrites(rec.ClientWrites, rec.APIWrites)
	rec.PeakRSSBytes, rec.CPUSeconds = rss, cpuAfter-cpuBefore
	if rec.Bare != nil && rec.Bare.PerSecond > 0 {
		rec.Ratio = rec.Tasks.Pods.PerSecond / rec.Bare.PerSecond
	}
	return rec, nil
}

// profileCPU starts a CPU profile of the operator's next ProfileSeconds when PprofAddr is set;
// the channel yields its error (nil when not profiling) once it is written.
func (b *Bench) profileCPU(ctx context.Context, runID string) <-chan error {
	done := make(chan error, 1)
	if b.PprofAddr == "" {
		done <- nil
		return done
	}
	secs := max(b.ProfileSeconds, 1)
	operator, apiserver := make(chan error, 1), make(chan error, 1)
	go func() {
		operator <- SaveProfile(ctx, b.PprofAddr, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs),
			filepath.Join(b.WorkDir, "cpu-"+runID+".pprof"))
	}()
	go func() {
		// The API server's own profile over the same window (its --profiling is on by default;
		// the harness is admin): where the server's CPU goes is the other half of the story.
		raw, err := b.Clients.Kube.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").
			Param("seconds", fmt.Sprint(secs)).Timeout(time.Duration(secs+30) * time.Second).DoRaw(ctx)
		if err == nil {
			err = os.WriteFile(filepath.Join(b.WorkDir, "apiserver-cpu-"+runID+".pprof"), raw, 0o644)
		}
		apiserver <- err
	}()
	go func() { done <- errors.Join(<-operator, <-apiserver) }()
	return done
}

func (b *Bench) startOperator(ctx context.Context, runID string) (*OperatorProcess, error) {
	logPath := filepath.Join(b.WorkDir, "operator-"+runID+".log")
	op, err := StartOperator(b.OperatorBinary, OperatorArgs(b.OperatorKubeconfig, b.MetricsAddr, b.Concurrency, b.PprofAddr),
		b.MetricsAddr, b.MetricsToken, logPath)
	if err != nil {
		return nil, err
	}
	// A previous operator released the Lease on exit; a fresh one is leader within a second.
	if err := op.WaitLeader(ctx, 60*time.Second); err != nil {
		op.Stop()
		return nil, err
	}
	return op, nil
}

// settledClientWrites reads the operator's write counters until two reads 300 ms apart agree
// (Events are emitted just after the status write the harness observed).
func (b *Bench) settledClientWrites(ctx context.Context, op *OperatorProcess) (map[string]float64, error) {
	prev, err := op.ClientWrites(ctx)
	if err != nil {
		return nil, err
	}
	for range 20 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
		cur, err := op.ClientWrites(ctx)
		if err != nil {
			return nil, err
		}
		if len(Delta(prev, cur)) == 0 || onlyLeases(Delta(prev, cur)) {
			return cur, nil
		}
		prev = cur
	}
	return prev, nil
}

// onlyLeases reports whether a client-writes delta is a single Lease renewal (one PUT).
func onlyLeases(d map[string]float64) bool {
	return len(d) == 1 && d["PUT"] == 1
}

// dumpMetrics keeps the operator's and the API server's metrics after the run next to the
// operator log (reconcile, work queue and client latency histograms: where the time went).
func (b *Bench) dumpMetrics(ctx context.Context, op *OperatorProcess, runID string) {
	if text, err := op.Metrics(ctx); err == nil {
		_ = os.WriteFile(filepath.Join(b.WorkDir, "operator-"+runID+".metrics"), []byte(text), 0o644)
	}
	if raw, err := b.Clients.Kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx); err == nil {
		_ = os.WriteFile(filepath.Join(b.WorkDir, "apiserver-"+runID+".metrics"), raw, 0o644)
	}
}
