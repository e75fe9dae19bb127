module github.com/kubeopencode/kubeopencode/policy

go 1.26.0
