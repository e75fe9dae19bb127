package v1alpha1

import (
	"bytes"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
)

// v003Agent and v003Task are the shapes of the api issue (KubeOpenCode v0.0.3 field names).
const v003Agent = `apiVersion: kubeopencode.io/v1alpha1
kind: Agent
metadata: {name: secure-agent, namespace: platform-agents}
spec:
  agentImage: quay.io/kubeopencode/kubeopencode-agent-opencode:latest
  executorImage: quay.io/kubeopencode/kubeopencode-agent-devbox:latest
  workspaceDir: /workspace
  serviceAccountName: kubeopencode-agent
  allowedNamespaces: ["prod-*", "staging"]
  credentials:
    - {name: api-key, secretRef: {name: my-secrets, key: api-key}, env: API_KEY}
    - {name: ssh-key, secretRef: {name: ssh-keys, key: id_rsa}, mountPath: /home/agent/.ssh/id_rsa, fileMode: 0400}
  podSpec:
    runtimeClassName: gvisor
    labels: {network-policy: agent-restricted}
`

const v003Task = `apiVersion: kubeopencode.io/v1alpha1
kind: Task
metadata: {name: fix-bug, namespace: prod-web}
spec:
  agentRef: {name: secure-agent, namespace: platform-agents}
  description: "Fix the failing test in ./pkg/foo"
`

func strictYAML(t *testing.T) runtime.Serializer {
	t.Helper()
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return json.NewSerializerWithOptions(json.DefaultMetaFactory, s, s, json.SerializerOptions{Yaml: true, Strict: true})
}

// Every field of the v0.0.3 shapes exists in the Go types (strict decoding refuses unknown
// fields) and lands where the operator will read it.
func TestV003ShapesDecodeStrictly(t *testing.T) {
	ser := strictYAML(t)
	obj, _, err := ser.Decode([]byte(v003Agent), nil, nil)
	if err != nil {
		t.Fatalf("Agent: %v", err)
	}
	a := obj.(*Agent)
	if a.Spec.WorkspaceDir != "/workspace" || a.Spec.ServiceAccountName != "kubeopencode-agent" ||
		len(a.Spec.AllowedNamespaces) != 2 || a.Spec.Credentials[0].Env != "API_KEY" ||
		a.Spec.Credentials[0].SecretRef.Key != "api-key" || a.Spec.Credentials[1].MountPath != "/home/agent/.ssh/id_rsa" ||
		a.Spec.Credentials[1].FileMode == nil || *a.Spec.Credentials[1].FileMode != 0o400 ||
		a.Spec.PodSpec.RuntimeClassName != "gvisor" || a.Spec.PodSpec.Labels["network-policy"] != "agent-restricted" {
		t.Errorf("decoded Agent spec %+v", a.Spec)
	}

	obj, _, err = ser.Decode([]byte(v003Task), nil, nil)
	if err != nil {
		t.Fatalf("Task: %v", err)
	}
	tk := obj.(*Task)
	if tk.Spec.AgentRef != (AgentReference{Name: "secure-agent", Namespace: "platform-agents"}) || tk.Spec.Description == "" {
		t.Errorf("decoded Task spec %+v", tk.Spec)
	}
}

func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	_, _, err := strictYAML(t).Decode([]byte(v003Task+"  priority: high\n"), nil, nil)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(`unknown field "spec.priority"`)) {
		t.Errorf("got %v; want an unknown field error for spec.priority", err)
	}
}
