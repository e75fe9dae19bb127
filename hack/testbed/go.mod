module github.com/kubeopencode/kubeopencode/hack/testbed

go 1.26.0
