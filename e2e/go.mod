module github.com/kubeopencode/kubeopencode/e2e

go 1.26.0

require github.com/google/go-cmp v0.7.0

replace github.com/kubeopencode/kubeopencode/hack/testbed => ../hack/testbed
