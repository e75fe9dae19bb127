// Package modelserver is a test double that is a real server: an OpenAI-compatible chat
// completions endpoint that replays a script instead of thinking.
//
// OpenCode (and any client of "@ai-sdk/openai-compatible") POSTs streaming requests to
// /v1/chat/completions. The server answers every request that offers tools with the next [Step]
// of its [Script], as server-sent events: a tool call (for OpenCode, "write" with filePath and
// content makes it write a file, "bash" with command runs one) or a final text answer, which ends
// the agent's run. Requests without tools (OpenCode asks for a session title first) get a short
// text answer and do not advance the script. Once the script is used up, every further request
// gets its last text answer again.
//
// Every request is recorded, refused or not ([Server.Requests]). A request whose Authorization
// header is not "Bearer <Server.Key>" is refused with 401 and an OpenAI-style error body, so a
// test can prove which key the agent really sent.
package modelserver
