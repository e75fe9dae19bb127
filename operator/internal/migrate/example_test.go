package migrate_test

import (
	"context"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubeopencode/kubeopencode/operator/internal/migrate"
)

// An Agent like upstream's local-dev Server-mode sample, with maxConcurrentTasks 0 (upstream:
// no cap): Server mode is dropped, the whole Secret needs envPrefix, 0 is refused, and three
// fields mean something else.
func ExampleChecker_CheckObjects() {
	agent := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kubeopencode.io/v1alpha1",
		"kind":       "Agent",
		"metadata":   map[string]any{"name": "server-agent", "namespace": "kubeopencode-system"},
		"spec": map[string]any{
			"workspaceDir":       "/workspace",
			"serviceAccountName": "kubeopencode-agent",
			"serverConfig":       map[string]any{"port": int64(4096)},
			"maxConcurrentTasks": int64(0),
			"credentials": []any{map[string]any{
				"name":      "opencode",
				"secretRef": map[string]any{"name": "opencode-credentials"},
			}},
		},
	}}
	checker, err := migrate.NewChecker()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range checker.CheckObjects(context.Background(), []*unstructured.Unstructured{agent}) {
		fmt.Println(f.Verdict, f.Path)
	}
	// Output:
	// Changed spec.allowedNamespaces
	// Changed spec.automountServiceAccountToken
	// Changed spec.config
	// Changed spec.credentials[0]
	// Refused spec.maxConcurrentTasks
	// Changed spec.serverConfig
}

func ExampleWriteTable() {
	_ = migrate.WriteTable(os.Stdout, []migrate.Finding{{
		Kind: "Agent", Namespace: "kubeopencode-system", Name: "server-agent", Path: "spec.serverConfig",
		Verdict: migrate.Changed, Reason: "not in our schema, dropped on read and on the next write",
	}})
	// Output:
	// KIND   OBJECT                            PATH               VERDICT  REASON
	// Agent  kubeopencode-system/server-agent  spec.serverConfig  Changed  not in our schema, dropped on read and on the next write
	//
	// 1 finding: 0 refused, 1 changed. See docs/migrating-from-upstream.md.
}
