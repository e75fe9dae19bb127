// Package gitserver is a test double that is a real server: an HTTPS Git server speaking the
// smart HTTP protocol, with a certificate authority of its own.
//
// [New] generates a fresh CA and a server certificate for the names and addresses the clients
// will dial (a Pod reaches the test host through the node's bridge address, not 127.0.0.1), so
// clients verify TLS against [Server.CAPEM] and nothing turns verification off.
// [Server.AddRepository] builds a bare repository with one deterministic commit from a map of
// files; the server serves it read-only with `git http-backend` (the Git CLI must be installed
// where the test runs, not where the clone runs). With Options.Token set, every request must
// carry it as HTTP Basic password or bearer token, else 401.
//
// Every request is recorded ([Server.Requests]), so a test can tell whether the clone used the
// server and which credential it sent.
package gitserver
