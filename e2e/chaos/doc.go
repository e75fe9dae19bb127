// Package chaos is the fault harness behind `make chaos`: on the kwok-only test bed it runs
// Tasks on several Agents while the operator is SIGKILLed and restarted, the kube-apiserver is
// restarted, a leader of two replicas is killed mid-burst, and a task author tries the escapes of
// issue 14 (finalizer strip, orphan delete, forged status). A watch-based observer records every
// agent Pod and every Task with the time each change was seen; Check replays that timeline and
// says whether the lifecycle invariants held:
//
//   - a Task has at most one Pod, ever (keyed by the Task-UID label);
//   - an Agent never has more counted Pods than its maxConcurrentTasks at any point of the
//     observed timeline, a Pod counting from its creation until it is terminal (Succeeded or
//     Failed) or has a deletionTimestamp;
//   - once the run settled: every Task is final (Completed or Failed) or deleted, no
//     non-terminated Pod lacks a live non-final Task with its UID, and no Pod at all lacks a live
//     Task (the garbage collector had its time);
//
// and how long the cluster took to converge after the last fault.
//
// The checker is pure (timelines in, a Report out) so that it is proven on synthetic timelines,
// including ones that break each invariant; the rest talks to the test bed and asserts nothing
// but what Check reports.
package chaos
