package load

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const exposition = `# HELP apiserver_request_total [STABLE] Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",component="apiserver",group="",resource="pods",scope="resource",subresource="",verb="POST",version="v1"} 120
apiserver_request_total{code="201",component="apiserver",group="",resource="pods",scope="resource",subresource="binding",verb="POST",version="v1"} 120
apiserver_request_total{code="200",component="apiserver",group="kubeopencode.io",resource="tasks",scope="resource",subresource="status",verb="PUT",version="v1alpha1"} 2.5e+02
apiserver_request_total{code="200",component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="LIST",version="v1"} 7
apiserver_request_total_other{verb="POST"} 9
apiserver_request_totally 3
`

func TestParseSamples(t *testing.T) {
	got, err := ParseSamples(exposition, "apiserver_request_total")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("got %d samples, want 4: %+v", len(got), got)
	}
	if got[2].Value != 250 || got[2].Labels["subresource"] != "status" || got[2].Labels["group"] != "kubeopencode.io" {
		t.Errorf("third sample = %+v", got[2])
	}
	if _, err := ParseSamples(`m{a="unterminated} 1`, "m"); err == nil {
		t.Error("unterminated label value: want an error")
	}
	esc, err := ParseSamples(`m{a="q\"b\\c"} 1`, "m")
	if err != nil || esc[0].Labels["a"] != `q"b\c` {
		t.Errorf("escapes: %+v, %v", esc, err)
	}
}

func TestWritesAndDelta(t *testing.T) {
	samples, err := ParseSamples(exposition, "apiserver_request_total")
	if err != nil {
		t.Fatal(err)
	}
	after := map[string]float64{}
	for _, s := range samples {
		if isWrite(s.Labels["verb"]) {
			after[WriteKey(s.Labels)] += s.Value
		}
	}
	want := map[string]float64{"POST pods": 120, "POST pods/binding": 120, "PUT tasks/status": 250}
	if d := cmp.Diff(want, after); d != "" {
		t.Errorf("writes (-want +got):\n%s", d)
	}
	before := map[string]float64{"POST pods": 20, "POST pods/binding": 120}
	if d := cmp.Diff(map[string]float64{"POST pods": 100, "PUT tasks/status": 250}, Delta(before, after)); d != "" {
		t.Errorf("Delta (-want +got):\n%s", d)
	}
}
