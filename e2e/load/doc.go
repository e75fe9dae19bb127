// Package load is the load harness behind `make bench`: on the local test bed (kwok fake node) it
// measures, in one run, how fast a bare client can create Pods (the ceiling) and how fast the
// operator turns Tasks into Pods, with latency percentiles observed through a watch, the
// operator's API writes per Task, its peak memory and CPU time.
//
// Throughput here is bounded by the API server's write budget, so results are reported as ratios
// against the bare-client ceiling measured in the same run, never as absolute promises, and
// nothing in this package asserts a timing.
package load
