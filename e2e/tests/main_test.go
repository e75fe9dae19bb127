//go:build e2e

package tests

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/kubeopencode/kubeopencode/hack/testbed"
)

var testenv env.Environment

// Waits poll quickly: e2e-framework's default interval (5 s) would dominate the suite's run time.
const (
	pollInterval = 250 * time.Millisecond
	podTimeout   = 2 * time.Minute
)

func TestMain(m *testing.M) {
	kubeconfig, err := testbed.Kubeconfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testenv = env.NewWithConfig(envconf.NewWithKubeConfig(kubeconfig))
	os.Exit(testenv.Run(m))
}

// createNamespace makes a fresh namespace for one feature, with the given labels, and deletes it
// when the test ends.
func createNamespace(ctx context.Context, t *testing.T, cfg *envconf.Config, labels map[string]string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: envconf.RandomName("e2e", 12), Labels: labels}}
	if err := cfg.Client().Resources().Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	t.Cleanup(func() { _ = cfg.Client().Resources().Delete(context.Background(), ns) })
	return ns.Name
}

// waitPhase waits until pod reaches phase, failing the test with the pod's last status otherwise.
func waitPhase(ctx context.Context, t *testing.T, r *resources.Resources, pod *corev1.Pod, phase corev1.PodPhase) {
	t.Helper()
	err := wait.For(conditions.New(r).PodPhaseMatch(pod, phase),
		wait.WithContext(ctx), wait.WithTimeout(podTimeout), wait.WithInterval(pollInterval))
	if err != nil {
		last := &corev1.Pod{}
		_ = r.Get(ctx, pod.Name, pod.Namespace, last)
		t.Fatalf("pod %s/%s did not reach %s: %v; last status: %+v", pod.Namespace, pod.Name, phase, err, last.Status)
	}
}
