package stage_test

import (
	"fmt"

	"github.com/kubeopencode/kubeopencode/credentials/stage"
)

// The manifest is what the controller writes and the staging container reads: paths and modes,
// never Secret data.
func ExampleParseManifest() {
	m, err := stage.ParseManifest([]byte(`{"uid":65532,"source":"/kubeopencode/credentials/secrets",
		"dest":"/kubeopencode/credentials/staged",
		"items":[{"volume":"secret-ssh","key":"id_ed25519","dir":"ssh","mode":256}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("stage %s/%s/%s to %s/%s/%s with mode %#o as UID %d\n", m.Source, m.Items[0].Volume, m.Items[0].Key,
		m.Dest, m.Items[0].Dir, m.Items[0].Key, m.Items[0].Mode, m.UID)

	_, err = stage.ParseManifest([]byte(`{"uid":65532,"source":"/s","dest":"/d","items":[{"volume":"v","dir":"../etc","mode":256}]}`))
	fmt.Println(err)
	// Output:
	// stage /kubeopencode/credentials/secrets/secret-ssh/id_ed25519 to /kubeopencode/credentials/staged/ssh/id_ed25519 with mode 0400 as UID 65532
	// invalid staging manifest: items[0].dir: "../etc" must not start with ".."
}
