//go:build tools

// Package tools records the helm command the test bed builds (the chart's render and install tests).
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
