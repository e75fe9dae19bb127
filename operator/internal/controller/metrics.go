package controller

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// Metric names; docs/operations.md lists them with suggested alerts.
const (
	MetricTasks           = "kubeopencode_tasks"
	MetricTasksFinished   = "kubeopencode_tasks_finished_total"
	MetricTaskQueueWait   = "kubeopencode_task_queue_wait_seconds"
	MetricTaskRunDuration = "kubeopencode_task_run_duration_seconds"
	MetricTasksQueued     = "kubeopencode_tasks_queued"
)

// taskMetrics are the Task reconciler's own series. Gauges are computed when scraped (from the
// cache and the ledger), so they cannot drift from what the operator acts on; counters and
// histograms are updated where a Task starts and ends.
type taskMetrics struct {
	finished    *prometheus.CounterVec
	queueWait   prometheus.Histogram
	runDuration prometheus.Histogram

	tasks, queued *prometheus.Desc
	r             *TaskReconciler
}

// durationBuckets span a second to a day: agents run for minutes to hours.
var durationBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200, 86400}

func newTaskMetrics(r *TaskReconciler) *taskMetrics {
	return &taskMetrics{
		r: r,
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricTasksFinished,
			Help: "Tasks that ended, by the reason of their Succeeded condition (AgentSucceeded, AgentFailed, Stopped, TimedOut, ...)."},
			[]string{"reason"}),
		queueWait: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricTaskQueueWait,
			Help: "Seconds from a Task's creation to its agent Pod's creation (admission, queueing for capacity or quota).", Buckets: durationBuckets}),
		runDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricTaskRunDuration,
			Help: "Seconds from a Task's agent Pod creation to the Task's end.", Buckets: durationBuckets}),
		tasks: prometheus.NewDesc(MetricTasks, "Tasks the operator sees, by phase (Pending: not picked up yet).", []string{"phase"}, nil),
		queued: prometheus.NewDesc(MetricTasksQueued, "Tasks waiting for a slot or for quota, by Agent.",
			[]string{"agent_namespace", "agent"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *taskMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.finished.Describe(ch)
	m.queueWait.Describe(ch)
	m.runDuration.Describe(ch)
	ch <- m.tasks
	ch <- m.queued
}

// Collect implements prometheus.Collector: the gauges are counted from the cache and the ledger.
func (m *taskMetrics) Collect(ch chan<- prometheus.Metric) {
	m.finished.Collect(ch)
	m.queueWait.Collect(ch)
	m.runDuration.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	byPhase := map[v1alpha1.TaskPhase]int{v1alpha1.TaskPhasePending: 0, v1alpha1.TaskPhaseQueued: 0,
		v1alpha1.TaskPhaseRunning: 0, v1alpha1.TaskPhaseCompleted: 0, v1alpha1.TaskPhaseFailed: 0}
	tasks := &v1alpha1.TaskList{}
	if err := m.r.Client.List(ctx, tasks, client.UnsafeDisableDeepCopy); err == nil {
		for i := range tasks.Items {
			p := tasks.Items[i].Status.Phase
			if p == "" {
				p = v1alpha1.TaskPhasePending
			}
			byPhase[p]++
		}
		for p, n := range byPhase {
			ch <- prometheus.MustNewConstMetric(m.tasks, prometheus.GaugeValue, float64(n), string(p))
		}
	}
	for key, n := range m.r.ledger.waitingByAgent() {
		ns, name, _ := strings.Cut(key, "/")
		ch <- prometheus.MustNewConstMetric(m.queued, prometheus.GaugeValue, float64(n), ns, name)
	}
}

// started records a Task's wait from creation to its Pod.
func (m *taskMetrics) started(task *v1alpha1.Task, at time.Time) {
	m.queueWait.Observe(max(0, at.Sub(task.CreationTimestamp.Time).Seconds()))
}

// ended records a Task's end; startedAt is zero for a Task that never had a Pod.
func (m *taskMetrics) ended(reason string, startedAt, at time.Time) {
	m.finished.WithLabelValues(reason).Inc()
	if !startedAt.IsZero() {
		m.runDuration.Observe(max(0, at.Sub(startedAt).Seconds()))
	}
}

// RegisterMetrics registers the Task metrics with reg (the manager's registry), replacing those
// of an earlier TaskReconciler of this process (tests run several managers in one process).
func (r *TaskReconciler) RegisterMetrics(reg prometheus.Registerer) error {
	if err := reg.Register(r.metrics); err != nil {
		var already prometheus.AlreadyRegisteredError
		if !errors.As(err, &already) {
			return err
		}
		reg.Unregister(already.ExistingCollector)
		return reg.Register(r.metrics)
	}
	return nil
}
