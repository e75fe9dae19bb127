package load

import (
	"os"
	"regexp"
	"testing"
)

// TestOperatorGOMEMLIMITMatchesTheDeployment: the harness runs the operator with the environment
// of its Deployment.
func TestOperatorGOMEMLIMITMatchesTheDeployment(t *testing.T) {
	b, err := os.ReadFile("../../operator/config/manager/manager.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`\{name: GOMEMLIMIT, value: ([^}\s]+)\}`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no GOMEMLIMIT in operator/config/manager/manager.yaml")
	}
	if got := string(m[1]); got != OperatorGOMEMLIMIT {
		t.Errorf("the Deployment sets GOMEMLIMIT %s, the harness %s", got, OperatorGOMEMLIMIT)
	}
}
