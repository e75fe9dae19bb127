package taskpod

import "testing"

// BenchmarkBuild is the whole translation the operator does per Task: the minimal Task, and the
// golden "contexts" Task (every kind of context, credentials, caBundle, across namespaces).
func BenchmarkBuild(b *testing.B) {
	for _, tc := range goldenCases() {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Build(tc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
