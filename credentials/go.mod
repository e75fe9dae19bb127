module github.com/kubeopencode/kubeopencode/credentials

go 1.26.0
