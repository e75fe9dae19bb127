package load

import (
	"os"
	"testing"
)

func TestProcessStatsOfSelf(t *testing.T) {
	// Burn a little CPU and hold some memory so both readings are clearly non-zero.
	buf := make([]byte, 32<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	x := 0
	for i := 0; i < 50_000_000; i++ {
		x += i % 7
	}
	rss, cpu, err := ProcessStats(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss < 32<<20 {
		t.Errorf("peak RSS = %d bytes, want at least the 32 MiB this test touched", rss)
	}
	if cpu <= 0 {
		t.Errorf("CPU seconds = %v, want > 0 (x=%d, buf[1]=%d)", cpu, x, buf[1])
	}
	if _, _, err := ProcessStats(-1); err == nil {
		t.Error("ProcessStats(-1): want an error")
	}
}
