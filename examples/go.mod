module github.com/kubeopencode/kubeopencode/examples

go 1.26.0
