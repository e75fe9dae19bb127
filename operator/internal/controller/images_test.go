package controller

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDefaultImagesMatchTheBuild: the default images are the ones `make image` builds
// (hack/images/images.env, tagged with the VERSION file), so an operator without flags runs this project's images, at this
// project's version.
func TestDefaultImagesMatchTheBuild(t *testing.T) {
	f, err := os.Open("../../../hack/images/images.env")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			vars[k] = v
		}
	}
	version, err := os.ReadFile("../../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	ref := func(name string) string {
		return vars["IMAGE_PREFIX"] + "/" + name + ":" + strings.TrimSpace(string(version))
	}
	if d := cmp.Diff(
		[]string{ref("operator"), ref("agent-opencode"), ref("executor")},
		[]string{DefaultSystemImage, DefaultAgentImage, DefaultExecutorImage},
	); d != "" {
		t.Errorf("defaults vs hack/images/images.env and VERSION (-built +defaults):\n%s", d)
	}
	if strings.Contains(DefaultSystemImage+DefaultAgentImage+DefaultExecutorImage, ":latest") {
		t.Error("a default image is :latest")
	}
}
