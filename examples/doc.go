// Package examples holds what a platform engineer copies: YAML manifests, one directory per
// scenario, each checked by this module's tests so that no example rots.
package examples
