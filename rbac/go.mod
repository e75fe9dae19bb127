module github.com/kubeopencode/kubeopencode/rbac

go 1.26.0
