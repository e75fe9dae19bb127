module github.com/kubeopencode/kubeopencode/podspec

go 1.26.0
