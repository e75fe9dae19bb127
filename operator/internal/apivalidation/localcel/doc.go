// Package localcel evaluates the CEL rules of the kubeopencode.io CRDs in-process, with the API
// server's own CEL library, so that tests can compare them with independent Go reference
// implementations of the shared contract over millions of inputs (fuzzing) without an API
// server. The envtest suite in the parent package proves the same rules in a real API server.
package localcel
