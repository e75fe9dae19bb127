package load

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Names the test bed defines (hack/testbed/cfg): the fake node's label and taint.
const (
	kwokNodeLabel = "type"
	kwokNodeValue = "kwok"
	kwokTaintKey  = "kwok.x-k8s.io/node"
	runLabel      = "load.kubeopencode.io/run"
)

// KwokScheduling returns the node selector and toleration that put a Pod on the fake node.
func KwokScheduling() (map[string]string, []corev1.Toleration) {
	return map[string]string{kwokNodeLabel: kwokNodeValue},
		[]corev1.Toleration{{Key: kwokTaintKey, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
}

// RunBare creates n Pods on the fake node in namespace ns (which must exist) with workers
// concurrent create calls, and measures until the watch has seen them all: the ceiling any
// controller that creates one Pod per object can approach on this API server.
func RunBare(ctx context.Context, cs kubernetes.Interface, ns, runID string, n, workers int) (Result, error) {
	selector := runLabel + "=" + runID
	obs, err := observePods(ctx, cs, ns, selector, n, func(p *corev1.Pod) string { return p.Name })
	if err != nil {
		return Result{}, err
	}
	nodeSelector, tolerations := KwokScheduling()
	name := func(i int) string { return fmt.Sprintf("bare-%s-%05d", runID, i) }
	started, err := createAll(ctx, n, workers, name, func(ctx context.Context, i int) error {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name(i), Namespace: ns, Labels: map[string]string{runLabel: runID}},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever, NodeSelector: nodeSelector, Tolerations: tolerations,
				Containers: []corev1.Container{{Name: "agent", Image: "example.local/not-pulled:v1"}},
			},
		}
		_, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return Result{}, err
	}
	seen, _, err := obs.wait(ctx)
	if err != nil {
		return Result{}, err
	}
	return measure("bare-client pods", started, seen), nil
}
