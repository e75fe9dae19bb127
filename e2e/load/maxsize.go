package load

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The CRD's maximum sizes of a Task's payload (api/v1alpha1): what a tenant controls.
const (
	MaxDescriptionLength = 65536
	MaxContexts          = 16
	MaxContextTextLength = 32768
)

// MaxSizeTaskObject is TaskObject at the CRD's maximum sizes: a 64 KiB description and 16 Text
// contexts of 32 KiB each (about 590 KB of JSON).
func MaxSizeTaskObject(ns, name, agentNS, agent, runID string) *unstructured.Unstructured {
	u := TaskObject(ns, name, agentNS, agent, runID)
	spec := u.Object["spec"].(map[string]any)
	spec["description"] = fill("describe the change ", MaxDescriptionLength)
	contexts := make([]any, 0, MaxContexts)
	for i := range MaxContexts {
		contexts = append(contexts, map[string]any{
			"name": fmt.Sprintf("notes-%02d", i), "type": "Text", "text": fill(fmt.Sprintf("context %d of %s ", i, name), MaxContextTextLength),
		})
	}
	spec["contexts"] = contexts
	return u
}

// fill repeats seed to exactly n bytes (seed is ASCII).
func fill(seed string, n int) string {
	return strings.Repeat(seed, n/len(seed)+1)[:n]
}

// MaxSizeRecord is what the maximum-size memory scenario measured (threat T24).
type MaxSizeRecord struct {
	RunID string `json:"runID"`
	N     int    `json:"n"`
	// TaskBytes is the JSON size of one Task as created.
	TaskBytes int `json:"taskBytes"`
	// BurstPeakRSSBytes: the operator's peak RSS while the N Tasks arrived and were admitted
	// (one runs, the others wait for the Agent's single slot).
	BurstPeakRSSBytes int64 `json:"burstPeakRSSBytes"`
	// RestartPeakRSSBytes: the peak RSS of a fresh operator that starts while the N Tasks exist
	// (its caches list them all at once), measured after it has reconciled every Task.
	RestartPeakRSSBytes int64         `json:"restartPeakRSSBytes"`
	CreateSeconds       float64       `json:"createSeconds"`
	GOMEMLIMIT          string        `json:"gomemlimit"`
	LoadAvg             string        `json:"loadAvg"`
	Took                time.Duration `json:"took"`
}

// RunMaxSize creates n maximum-size Tasks on an Agent with maxConcurrentTasks 1 (one Pod runs on
// the fake node, the rest are Queued: every Task stays in the operator's cache), records the
// operator's peak RSS, then restarts the operator with all of them present and records the new
// process's peak. It cleans up after itself.
func (b *Bench) RunMaxSize(ctx context.Context, n int) (rec MaxSizeRecord, err error) {
	start := time.Now()
	rec = MaxSizeRecord{RunID: newRunID(), N: n, GOMEMLIMIT: OperatorGOMEMLIMIT}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute+time.Duration(n)*200*time.Millisecond)
	defer cancel()
	c := b.Clients
	ns := rec.RunID + "-agents"
	if err := c.CreateNamespace(ctx, ns, rec.RunID); err != nil {
		return rec, err
	}
	var op *OperatorProcess
	defer func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer ccancel()
		if derr := c.DeleteNamespaces(cctx, 15*time.Minute, ns); derr != nil && err == nil {
			err = derr
		}
		if op != nil {
			op.Stop()
		}
	}()
	if err := c.CreateAgent(ctx, AgentOptions{Namespace: ns, Name: "load", MaxConcurrentTasks: 1}); err != nil {
		return rec, err
	}
	if op, err = b.startOperator(ctx, rec.RunID); err != nil {
		return rec, err
	}
	body, err := MaxSizeTaskObject(ns, "x", ns, "load", rec.RunID).MarshalJSON()
	if err != nil {
		return rec, err
	}
	rec.TaskBytes = len(body)
	tr := TaskRun{RunID: rec.RunID, AgentNamespace: ns, Agent: "load", TaskNamespaces: []string{ns}, NamePrefix: "max-", N: n, Workers: b.Workers}
	admitted, err := observeTasks(ctx, c, ns, runLabel+"="+tr.batch(), "Admitted", n)
	if err != nil {
		return rec, err
	}
	b.Log("max-size N=%d: creating %d Tasks of %d KB each (operator pid %d)", n, n, rec.TaskBytes/1000, op.Pid())
	created := time.Now()
	_, err = createAll(ctx, n, max(b.Workers, 1), tr.taskKey, func(ctx context.Context, i int) error {
		_, err := c.Dynamic.Resource(TaskResource).Namespace(ns).Create(ctx,
			MaxSizeTaskObject(ns, tr.taskName(i), ns, "load", tr.batch()), metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return rec, err
	}
	rec.CreateSeconds = time.Since(created).Seconds()
	if _, _, err := admitted.wait(ctx); err != nil {
		return rec, fmt.Errorf("waiting for the max-size Tasks to be Queued or Running: %w", err)
	}
	if rec.BurstPeakRSSBytes, _, err = op.Stats(); err != nil {
		return rec, err
	}
	b.Log("max-size N=%d: burst peak RSS %d MiB; restarting the operator", n, rec.BurstPeakRSSBytes>>20)
	op.Stop()
	op = nil
	if op, err = b.startOperator(ctx, rec.RunID); err != nil {
		return rec, err
	}
	// The restarted operator re-reads every Task and rechecks the queued ones: wait for a
	// recheck period to pass so every Task was reconciled at least once.
	select {
	case <-ctx.Done():
		return rec, ctx.Err()
	case <-time.After(75 * time.Second):
	}
	if rec.RestartPeakRSSBytes, _, err = op.Stats(); err != nil {
		return rec, err
	}
	rec.LoadAvg = loadAvg()
	rec.Took = time.Since(start)
	b.Log("max-size N=%d: restart peak RSS %d MiB", n, rec.RestartPeakRSSBytes>>20)
	return rec, nil
}
