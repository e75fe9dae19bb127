package podspec

import "testing"

// BenchmarkBuild builds a typical Pod: four context files, a caller volume, an init container and
// a sidecar.
func BenchmarkBuild(b *testing.B) {
	s := fullSpec()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(s); err != nil {
			b.Fatal(err)
		}
	}
}
