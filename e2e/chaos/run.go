package chaos

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeopencode/kubeopencode/e2e/load"
)

// Config is one chaos run.
type Config struct {
	Spec Spec `json:"spec"`
	// Tasks of phase 1 (one operator process SIGKILLed every KillMin–KillMax), created at Rate
	// per second; Phase2Tasks of phase 2 (two replicas, leader election, the leader killed
	// LeaderKills times mid-burst), created as a burst.
	Tasks       int     `json:"tasks"`
	Rate        float64 `json:"rate"`
	Phase2Tasks int     `json:"phase2Tasks"`
	// EscapesPerKind victims of each escape in phase 1, Phase2EscapesPerKind in phase 2.
	EscapesPerKind       int           `json:"escapesPerKind"`
	Phase2EscapesPerKind int           `json:"phase2EscapesPerKind"`
	KillMin              time.Duration `json:"killMinNanos"`
	KillMax              time.Duration `json:"killMaxNanos"`
	// APIServerRestarts during phase 1, spread over its progress.
	APIServerRestarts int `json:"apiServerRestarts"`
	LeaderKills       int `json:"leaderKills"`
	// PodMin–PodMax: how long an agent runs once its Pod is Running.
	PodMin time.Duration `json:"podMinNanos"`
	PodMax time.Duration `json:"podMaxNanos"`
	// FaultCap bounds phase 1's fault window (it ends earlier once every Task ended once);
	// SettleTimeout bounds the wait for convergence after a phase's last fault, SettleHold is
	// how long the settled state must hold.
	FaultCap      time.Duration `json:"faultCapNanos"`
	SettleTimeout time.Duration `json:"settleTimeoutNanos"`
	SettleHold    time.Duration `json:"settleHoldNanos"`
	Seed          uint64        `json:"seed"`
	// Workers: concurrent Task creates in phase 2's burst.
	Workers int `json:"workers"`

	// Operators runs the binary; ControlPlane restarts the test bed's API server and revives
	// the components that exit while it is down.
	Operators    *Operators    `json:"-"`
	ControlPlane *ControlPlane `json:"-"`
	// MetricsAddrs of the two replicas of phase 2 (loopback).
	MetricsAddrs [2]string                        `json:"-"`
	Log          func(format string, args ...any) `json:"-"`
}

// DefaultConfig is what `make chaos` runs.
func DefaultConfig() Config {
	return Config{Spec: DefaultSpec(), Tasks: 1000, Rate: 20, Phase2Tasks: 200,
		EscapesPerKind: 10, Phase2EscapesPerKind: 3, KillMin: 3 * time.Second, KillMax: 5 * time.Second,
		APIServerRestarts: 2, LeaderKills: 1, PodMin: 2 * time.Second, PodMax: 5 * time.Second,
		FaultCap: 10 * time.Minute, SettleTimeout: 3 * time.Minute, SettleHold: 5 * time.Second,
		Seed: 14, Workers: 16, MetricsAddrs: [2]string{"127.0.0.1:18091", "127.0.0.1:18092"}}
}

// PhaseResult is what one phase did and how the cluster came back.
type PhaseResult struct {
	Name  string `json:"name"`
	Tasks int    `json:"tasks"`
	// Replicas of the operator run at once; LeaderElection on or off.
	Replicas       int  `json:"replicas"`
	LeaderElection bool `json:"leaderElection"`
	// OperatorKills: SIGKILLs sent; OperatorExits: processes that ended on their own.
	OperatorKills int `json:"operatorKills"`
	OperatorExits int `json:"operatorExits"`
	// APIServerRestarts and how long the API was down each time.
	APIServerRestarts  int                        `json:"apiServerRestarts"`
	APIServerDownSecs  []float64                  `json:"apiServerDownSeconds,omitempty"`
	LeaderKills        int                        `json:"leaderKills,omitempty"`
	TakeoverSecs       []float64                  `json:"takeoverSeconds,omitempty"`
	Escapes            map[EscapeKind]EscapeStats `json:"escapes"`
	Start              time.Time                  `json:"start"`
	LastFault          time.Time                  `json:"lastFault"`
	End                time.Time                  `json:"end"`
	Converged          bool                       `json:"converged"`
	ConvergenceSeconds float64                    `json:"convergenceSeconds"`
	// TaskCreateErrors: Task creates that failed for good.
	TaskCreateErrors int `json:"taskCreateErrors,omitempty"`
}

// Results is a whole run.
type Results struct {
	Date    time.Time `json:"date"`
	Machine string    `json:"machine"`
	Source  string    `json:"source"`
	RunID   string    `json:"runID"`
	Config  Config    `json:"config"`
	// RemovedPolicies: admission policies guarding the finalizer, removed before the run.
	RemovedPolicies []string      `json:"removedPolicies,omitempty"`
	Phases          []PhaseResult `json:"phases"`
	// PodsFinished by the harness (as the kubelet) and PodsNotFinished (gone first).
	PodsFinished    int64 `json:"podsFinished"`
	PodsNotFinished int64 `json:"podsNotFinished"`
	// ComponentRestarts: control-plane components that exited on their own (leader Lease lost
	// while the API server was down) and were started again, as a kubelet would.
	ComponentRestarts map[string]int `json:"componentRestarts,omitempty"`
	Report            Report         `json:"report"`
}

// planned is one Task to create.
type planned struct {
	ns, name string
	agent    AgentKey
}

// Plan spreads n Tasks named prefix-NNNNN over the namespaces round-robin, each on an Agent
// drawn with probability proportional to its limit (every Agent stays busy), and picks perKind
// victims of each escape: finalizer strips among cross-namespace Tasks, orphan deletes among
// same-namespace ones, forged status among the rest; victims are spread over the sequence.
func Plan(s Spec, n int, prefix string, perKind int, rng *rand.Rand) ([]planned, map[int]EscapeKind) {
	total := 0
	for _, a := range s.Agents {
		total += a.Limit
	}
	out := make([]planned, n)
	for i := range n {
		pick := rng.IntN(max(total, 1))
		var agent AgentKey
		for _, a := range s.Agents {
			if pick < a.Limit {
				agent = a.Key
				break
			}
			pick -= a.Limit
		}
		out[i] = planned{ns: s.Namespaces[i%len(s.Namespaces)], name: fmt.Sprintf("%s%05d", prefix, i), agent: agent}
	}
	victims := map[int]EscapeKind{}
	for _, kind := range EscapeKinds {
		var candidates []int
		for i, p := range out {
			if _, taken := victims[i]; taken {
				continue
			}
			same := p.ns == p.agent.Namespace
			if (kind == StripFinalizer && !same) || (kind == OrphanDelete && same) || kind == ForgeStatus {
				candidates = append(candidates, i)
			}
		}
		for k := 0; k < perKind && k < len(candidates); k++ {
			// Evenly spaced over the candidates, with a random offset inside each stretch.
			stretch := len(candidates) / max(perKind, 1)
			j := k*stretch + rng.IntN(max(stretch, 1))
			victims[candidates[min(j, len(candidates)-1)]] = kind
		}
	}
	return out, victims
}

// progress follows, per Task name, whether it ended once (final or deleted) and had a Pod.
type progress struct {
	mu   sync.Mutex
	done map[string]bool
	pods map[string]bool
}

func (p *progress) OnEvent(ev Event) {
	o := ev.Object
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case o.Kind == KindTask && (o.taskFinal() || ev.Type == Deleted || ev.Type == Vanished):
		p.done[o.Ref()] = true
	case o.Kind == KindPod && o.Task != "":
		p.pods[o.Task] = true
	}
}

// count returns how many Tasks whose name starts with prefix ended once and had a Pod.
func (p *progress) count(prefix string) (done, pods int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	has := func(ref string) bool {
		_, name, _ := strings.Cut(ref, "/")
		return strings.HasPrefix(name, prefix)
	}
	for r := range p.done {
		if has(r) {
			done++
		}
	}
	for r := range p.pods {
		if has(r) {
			pods++
		}
	}
	return done, pods
}

// Runner runs the phases against a test bed.
type Runner struct {
	C      *load.Clients
	Author *load.Clients
	Cfg    Config

	rec   *Recorder
	fin   *Finisher
	esc   *Escaper
	prog  *progress
	rng   *rand.Rand
	runID string
}

func newRunID() string {
	b := make([]byte, 3)
	_, _ = crand.Read(b)
	return "c" + hex.EncodeToString(b)
}

// Run sets the bed up, runs both phases and checks the timeline. The error is about the harness
// (the bed could not be set up, an operator could not start); invariant violations are in the
// Report. The Timeline is returned in every case, for the record.
func Run(ctx context.Context, c *load.Clients, cfg Config) (Results, Timeline, error) {
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	res := Results{Date: time.Now().UTC(), RunID: newRunID(), Config: cfg}
	r := &Runner{C: c, Cfg: cfg, runID: res.RunID, rng: rand.New(rand.NewPCG(cfg.Seed, 0)),
		prog: &progress{done: map[string]bool{}, pods: map[string]bool{}}}
	var err error
	if res.RemovedPolicies, err = DisableFinalizerPolicies(ctx, c); err != nil {
		return res, Timeline{}, err
	}
	if len(res.RemovedPolicies) > 0 {
		cfg.Log("removed admission policies guarding the finalizer (the run measures the operator without them): %s", strings.Join(res.RemovedPolicies, ", "))
	}
	if err := Setup(ctx, c, cfg.Spec, res.RunID); err != nil {
		return res, Timeline{}, err
	}
	if r.Author, err = Impersonate(c.Config, AuthorUser); err != nil {
		return res, Timeline{}, err
	}
	writer, err := Impersonate(c.Config, StatusWriterUser)
	if err != nil {
		return res, Timeline{}, err
	}
	octx, stopObserving := context.WithCancel(ctx)
	defer stopObserving()
	r.esc = &Escaper{Author: r.Author.Dynamic, StatusWriter: writer.Dynamic, MinDelay: 500 * time.Millisecond,
		MaxDelay: 2 * time.Second, RunID: res.RunID, Log: cfg.Log}
	r.esc.Start(octx, cfg.Seed)
	r.fin = &Finisher{Kube: c.Kube, Min: cfg.PodMin, Max: cfg.PodMax, Skip: r.esc.Skip}
	r.fin.Start(octx, cfg.Seed)
	r.rec = NewRecorder(r.prog.OnEvent, r.fin.OnEvent, r.esc.OnEvent)
	if err := Observe(octx, c.Kube, c.Dynamic, r.rec); err != nil {
		return res, Timeline{}, err
	}
	supervised := make(chan struct{})
	go func() {
		defer close(supervised)
		cfg.ControlPlane.Supervise(octx, cfg.Log)
	}()

	p1, err := r.phase1(ctx)
	res.Phases = append(res.Phases, p1)
	if err == nil {
		var p2 PhaseResult
		p2, err = r.phase2(ctx)
		res.Phases = append(res.Phases, p2)
	}
	stopObserving()
	<-supervised
	res.ComponentRestarts = cfg.ControlPlane.Revived()
	r.esc.Wait()
	r.fin.Wait()
	res.PodsFinished, res.PodsNotFinished = r.fin.Counts()
	tl := r.rec.Timeline()
	res.Report = Check(tl, cfg.Spec.Limits())
	return res, tl, err
}

// create makes the planned Tasks as the task author, at rate per second (0: a burst of
// Workers), retrying while the API server is away; it returns how many failed for good.
func (r *Runner) create(ctx context.Context, tasks []planned, rate float64) int {
	var failed atomic.Int64
	one := func(p planned) {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		err := retryRefusals(cctx, refusalGrace, func(ctx context.Context) error {
			_, err := r.Author.Dynamic.Resource(load.TaskResource).Namespace(p.ns).Create(ctx, TaskObject(p.ns, p.name, p.agent, r.runID), metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return nil // an earlier attempt's answer was lost
			}
			return err
		})
		if err != nil {
			r.Cfg.Log("creating Task %s/%s: %v", p.ns, p.name, err)
			failed.Add(1)
		}
	}
	var wg sync.WaitGroup
	if rate > 0 {
		begin := time.Now()
		for i, p := range tasks {
			sleep(ctx, time.Until(begin.Add(time.Duration(float64(i)/rate*float64(time.Second)))))
			wg.Add(1)
			go func() { defer wg.Done(); one(p) }()
		}
	} else {
		ch := make(chan planned)
		for range max(r.Cfg.Workers, 1) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for p := range ch {
					one(p)
				}
			}()
		}
		for _, p := range tasks {
			ch <- p
		}
		close(ch)
	}
	wg.Wait()
	return int(failed.Load())
}

// plan plans a phase's Tasks and registers its victims.
func (r *Runner) plan(n int, prefix string, perKind int) []planned {
	tasks, victims := Plan(r.Cfg.Spec, n, prefix, perKind, r.rng)
	for i, k := range victims {
		r.esc.Add(k, tasks[i].ns, tasks[i].name, tasks[i].agent)
	}
	return tasks
}

// escapesSince returns the escape counts minus before.
func escapesSince(now, before map[EscapeKind]EscapeStats) map[EscapeKind]EscapeStats {
	out := map[EscapeKind]EscapeStats{}
	for k, s := range now {
		b := before[k]
		s.Tried -= b.Tried
		s.Refused -= b.Refused
		s.Errors -= b.Errors
		s.Recreated -= b.Recreated
		out[k] = s
	}
	return out
}

// phase1: one operator process without leader election, SIGKILLed every KillMin–KillMax and
// started again at once; the API server restarted APIServerRestarts times; escapes mixed in.
func (r *Runner) phase1(ctx context.Context) (PhaseResult, error) {
	cfg := r.Cfg
	pr := PhaseResult{Name: "1: operator SIGKILLed every 3–5 s, API server restarts", Tasks: cfg.Tasks, Replicas: 1, Start: time.Now()}
	if cfg.KillMin != 3*time.Second || cfg.KillMax != 5*time.Second {
		pr.Name = fmt.Sprintf("1: operator SIGKILLed every %s–%s, API server restarts", cfg.KillMin, cfg.KillMax)
	}
	escBefore, _ := r.esc.Stats()
	tasks := r.plan(cfg.Tasks, "p1-", cfg.EscapesPerKind)
	op, err := cfg.Operators.Start("p1", false, "0")
	if err != nil {
		return pr, err
	}
	var lastFault time.Time
	var mu sync.Mutex
	fault := func(at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if at.After(lastFault) {
			lastFault = at
		}
	}
	stopKills := make(chan struct{})
	killsDone := make(chan struct{})
	go func() {
		defer close(killsDone)
		for {
			d := cfg.KillMin + time.Duration(r.rng.Int64N(int64(cfg.KillMax-cfg.KillMin)+1))
			select {
			case <-stopKills:
				return
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
			select {
			case <-op.Exited():
				mu.Lock()
				pr.OperatorExits++
				mu.Unlock()
			default:
				op.Kill()
				mu.Lock()
				pr.OperatorKills++
				mu.Unlock()
			}
			for {
				if op, err = cfg.Operators.Start("p1", false, "0"); err == nil {
					break
				}
				cfg.Log("restarting the operator: %v", err)
				sleep(ctx, time.Second)
			}
			fault(time.Now())
		}
	}()
	createDone := make(chan int, 1)
	go func() { createDone <- r.create(ctx, tasks, cfg.Rate) }()

	restartsAt := make([]int, 0, cfg.APIServerRestarts)
	for i := 1; i <= cfg.APIServerRestarts; i++ {
		restartsAt = append(restartsAt, cfg.Tasks*i/(cfg.APIServerRestarts+1))
	}
	deadline := time.Now().Add(cfg.FaultCap)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	lastLog := time.Now()
	for created := false; ; {
		select {
		case <-ctx.Done():
			close(stopKills)
			<-killsDone
			return pr, ctx.Err()
		case n := <-createDone:
			pr.TaskCreateErrors, created = n, true
		case <-tick.C:
		}
		done, pods := r.prog.count("p1-")
		if len(restartsAt) > 0 && done >= restartsAt[0] {
			restartsAt = restartsAt[1:]
			cfg.Log("phase 1: restarting the kube-apiserver (%d/%d Tasks ended)", done, cfg.Tasks)
			down, err := cfg.ControlPlane.RestartAPIServer(ctx, r.C.Kube)
			if err != nil {
				close(stopKills)
				<-killsDone
				return pr, fmt.Errorf("restarting the kube-apiserver: %w", err)
			}
			pr.APIServerRestarts++
			pr.APIServerDownSecs = append(pr.APIServerDownSecs, down.Seconds())
			fault(time.Now())
		}
		if time.Since(lastLog) > 15*time.Second {
			lastLog = time.Now()
			mu.Lock()
			kills := pr.OperatorKills
			mu.Unlock()
			cfg.Log("phase 1: %d/%d Tasks ended once, %d had a Pod; %d kills, %d API server restarts", done, cfg.Tasks, pods, kills, pr.APIServerRestarts)
		}
		if (created && done >= cfg.Tasks && len(restartsAt) == 0) || time.Now().After(deadline) {
			break
		}
	}
	close(stopKills)
	<-killsDone
	select {
	case <-op.Exited():
		pr.OperatorExits++
		if op, err = cfg.Operators.Start("p1", false, "0"); err != nil {
			return pr, err
		}
		fault(time.Now())
	default:
	}
	_, escLast := r.esc.Stats()
	fault(escLast)
	pr.LastFault = lastFault
	cfg.Log("phase 1: faults over (%d kills, %d API server restarts); waiting for the cluster to settle", pr.OperatorKills, pr.APIServerRestarts)
	r.settle(ctx, &pr)
	op.Stop()
	escNow, _ := r.esc.Stats()
	pr.Escapes = escapesSince(escNow, escBefore)
	return pr, nil
}

// phase2: two replicas with leader election; a burst of Tasks; the leader SIGKILLed
// LeaderKills times mid-burst (and started again as a follower).
func (r *Runner) phase2(ctx context.Context) (PhaseResult, error) {
	cfg := r.Cfg
	pr := PhaseResult{Name: "2: two replicas, the leader SIGKILLed mid-burst", Tasks: cfg.Phase2Tasks, Replicas: 2, LeaderElection: true, Start: time.Now()}
	escBefore, _ := r.esc.Stats()
	tasks := r.plan(cfg.Phase2Tasks, "p2-", cfg.Phase2EscapesPerKind)
	var ops [2]*load.OperatorProcess
	defer func() {
		for _, op := range ops {
			if op != nil {
				op.Stop()
			}
		}
	}()
	for i := range ops {
		op, err := cfg.Operators.Start(fmt.Sprintf("p2-r%d", i), true, cfg.MetricsAddrs[i])
		if err != nil {
			return pr, err
		}
		ops[i] = op
	}
	leader := func() int {
		for i, op := range ops {
			lctx, cancel := context.WithTimeout(ctx, time.Second)
			is := op.IsLeader(lctx)
			cancel()
			if is {
				return i
			}
		}
		return -1
	}
	waitLeader := func() (int, error) {
		end := time.Now().Add(90 * time.Second)
		for time.Now().Before(end) && ctx.Err() == nil {
			if l := leader(); l >= 0 {
				return l, nil
			}
			sleep(ctx, 200*time.Millisecond)
		}
		return -1, errors.New("no replica became leader within 90 s")
	}
	if _, err := waitLeader(); err != nil {
		return pr, err
	}
	var lastFault time.Time
	createDone := make(chan int, 1)
	go func() { createDone <- r.create(ctx, tasks, 0) }()
	for k := 1; k <= cfg.LeaderKills; k++ {
		want := cfg.Phase2Tasks * k / (cfg.LeaderKills + 1)
		for ctx.Err() == nil {
			if _, pods := r.prog.count("p2-"); pods >= want {
				break
			}
			sleep(ctx, 100*time.Millisecond)
		}
		l, err := waitLeader()
		if err != nil {
			return pr, err
		}
		_, pods := r.prog.count("p2-")
		cfg.Log("phase 2: SIGKILL the leader (replica %d) after %d/%d Pods", l, pods, cfg.Phase2Tasks)
		killed := time.Now()
		ops[l].Kill()
		pr.LeaderKills++
		pr.OperatorKills++
		if ops[l], err = cfg.Operators.Start(fmt.Sprintf("p2-r%d", l), true, cfg.MetricsAddrs[l]); err != nil {
			return pr, err
		}
		lastFault = time.Now()
		if _, err := waitLeader(); err != nil {
			return pr, err
		}
		pr.TakeoverSecs = append(pr.TakeoverSecs, time.Since(killed).Seconds())
		cfg.Log("phase 2: a replica leads again after %.1f s", time.Since(killed).Seconds())
	}
	pr.TaskCreateErrors = <-createDone
	for ctx.Err() == nil {
		if done, _ := r.prog.count("p2-"); done >= cfg.Phase2Tasks {
			break
		}
		if time.Since(pr.Start) > cfg.FaultCap {
			break
		}
		sleep(ctx, 500*time.Millisecond)
	}
	_, escLast := r.esc.Stats()
	pr.LastFault = maxTime(lastFault, escLast)
	r.settle(ctx, &pr)
	escNow, _ := r.esc.Stats()
	pr.Escapes = escapesSince(escNow, escBefore)
	return pr, nil
}

// settle waits until the observed state has been settled for SettleHold, or SettleTimeout after
// the last fault, and records the convergence.
func (r *Runner) settle(ctx context.Context, pr *PhaseResult) {
	cfg := r.Cfg
	end := maxTime(pr.LastFault, time.Now()).Add(cfg.SettleTimeout)
	var since time.Time
	for ctx.Err() == nil && time.Now().Before(end) {
		rp := newReplay(nil)
		for _, ev := range r.rec.Timeline().Events {
			rp.apply(ev)
		}
		if rp.settled() {
			if since.IsZero() {
				since = time.Now()
			}
			if time.Since(since) >= cfg.SettleHold {
				break
			}
		} else {
			since = time.Time{}
		}
		sleep(ctx, time.Second)
	}
	pr.End = time.Now()
	d, ok := Converged(r.rec.Timeline(), pr.LastFault)
	pr.Converged, pr.ConvergenceSeconds = ok, d.Seconds()
	if ok {
		cfg.Log("%s: settled %.1f s after the last fault", pr.Name, d.Seconds())
	} else {
		cfg.Log("%s: NOT settled %s after the last fault", pr.Name, time.Since(pr.LastFault).Round(time.Second))
	}
}
