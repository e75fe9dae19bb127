package migrate_test

import (
	"context"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubeopencode/kubeopencode/operator/internal/migrate"
)

// An Agent as upstream's README documents it: its credential's env name is reserved here, and
// three of its fields mean something else.
func ExampleChecker_CheckObjects() {
	agent := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kubeopencode.io/v1alpha1",
		"kind":       "Agent",
		"metadata":   map[string]any{"name": "default", "namespace": "kubeopencode-system"},
		"spec": map[string]any{
			"workspaceDir":       "/workspace",
			"serviceAccountName": "kubeopencode-agent",
			"credentials": []any{map[string]any{
				"name":      "api-key",
				"secretRef": map[string]any{"name": "ai-credentials", "key": "api-key"},
				"env":       "OPENCODE_API_KEY",
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
	// Refused spec.credentials[0].env
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
