package controller

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

func TestRecentPods(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := newRecentPods()
	if r.fresh("a", t0) {
		t.Error("an unknown Task is fresh")
	}
	r.add("a", t0)
	for _, tc := range []struct {
		after time.Duration
		want  bool
	}{{0, true}, {cacheLagGrace - time.Millisecond, true}, {cacheLagGrace, false}, {time.Hour, false}} {
		if got := r.fresh("a", t0.Add(tc.after)); got != tc.want {
			t.Errorf("fresh %s after the create = %v, want %v", tc.after, got, tc.want)
		}
	}
	r.drop("a")
	if r.fresh("a", t0) {
		t.Error("a dropped Task is still fresh")
	}

	// Stale entries are pruned once the map grows: it stays bounded by the recent creates.
	for i := range 5000 {
		r.add(types.UID(fmt.Sprint(i)), t0.Add(time.Duration(i)*10*time.Millisecond))
	}
	recent := int(cacheLagGrace / (10 * time.Millisecond))
	if n := len(r.at); n > 2*recent+1024 {
		t.Errorf("%d entries kept, want at most about %d recent ones", n, recent)
	}
	if !r.fresh("4999", t0.Add(50*time.Second)) {
		t.Error("the newest entry was pruned")
	}
}
