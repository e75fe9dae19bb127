// Package logserver serves the logs of a Task's agent Pod to exactly the people who may read
// the Task's logs (threat T23), wherever the Pod runs.
//
// A Task in team-a may run on an Agent in platform-agents, where its author has no access at
// all. The server answers
//
//	GET /namespaces/{namespace}/tasks/{name}/log[?follow=true&tailLines=N&limitBytes=N]
//
// in four steps, each with the least it needs:
//
//  1. Authenticate: the caller's bearer token, checked by the API server (TokenReview). No
//     token, or one the API server rejects: 401.
//  2. Authorize: a SubjectAccessReview asks the API server whether that user may "get"
//     "tasks/log" (group kubeopencode.io) on that Task in that namespace. No: 403, before
//     anything is read, so a refusal says nothing about whether the Task exists.
//  3. Find the Pod: the Task is read from the API server (its UID and spec); the Pod is looked
//     for in the namespace computed from spec.agentRef (the Task's own when unset), by the
//     Task's UID label and the name the operator derives from the Task's name and UID. The
//     Task's status (podName, podNamespace, agentRef) is never read: a forged status leads
//     nowhere (T15).
//  4. Stream the agent container's log through the API server (pods/log), with the server's
//     own ServiceAccount, which holds get on pods/log and list on pods in the Agent namespaces
//     only (rbac/kubeopencode.LogReaderObjects).
//
// Errors are Kubernetes Status objects, so clients show them like API server errors.
package logserver
