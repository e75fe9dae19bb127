// Command stage-credentials is the program of the credential staging init container (see package
// github.com/kubeopencode/kubeopencode/credentials/stage). It reads its manifest from the
// KUBEOPENCODE_STAGE_MANIFEST environment variable and exits non-zero, with a message that names
// paths but never file contents, when staging fails.
//
// Build it into the trusted image given as credentials.Options.StagingImage, e.g.
//
//	CGO_ENABLED=0 go build -o /stage-credentials ./cmd/stage-credentials
//
// and set credentials.Options.StagingCommand to []string{"/stage-credentials"}.
package main

import (
	"fmt"
	"os"

	"github.com/kubeopencode/kubeopencode/credentials/stage"
)

func main() {
	if err := stage.RunFromEnv(os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
