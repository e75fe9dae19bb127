package crds_test

import (
	"bytes"
	"fmt"

	"github.com/kubeopencode/kubeopencode/api/crds"
)

// Install exactly what the types say: hand these documents to a YAML decoder (for instance into
// apiextensions.k8s.io/v1 CustomResourceDefinitions) and create them.
func ExampleDocuments() {
	docs, err := crds.Documents()
	if err != nil {
		panic(err)
	}
	for _, d := range docs {
		start := bytes.Index(d, []byte("\n  name: "))
		end := bytes.IndexByte(d[start+1:], '\n')
		fmt.Println(string(d[start+9 : start+1+end]))
	}
	// Output:
	// agents.kubeopencode.io
	// kubeopencodeconfigs.kubeopencode.io
	// tasks.kubeopencode.io
}
