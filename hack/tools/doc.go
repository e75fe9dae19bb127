// Package tools is the project's tool module. tools.go pins controller-gen and staticcheck, which
// the Makefile runs from here; cmd/mkimage builds container images offline (empty base, no
// registry), cmd/installbin is the agent image's entrypoint and cmd/imagecheck checks the built
// tarballs (architecture of every ELF file, user, no set-user-ID file) without running them
// (hack/images, `make image`). The Kubernetes components of the test bed are pinned by the
// modules under testbin/, which stay out of go.work so that their dependency graph cannot leak
// into ours.
package tools
