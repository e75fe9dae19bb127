// Package podspec assembles the Pod that runs an AI coding agent, hardened by default.
package podspec
