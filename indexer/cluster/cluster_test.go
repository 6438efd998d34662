package cluster_test

import (
	"errors"
	"testing"

	"github.com/upgrade-manager/upgrade-manager/indexer/cluster"
)

func TestCompare(t *testing.T) {
	for _, c := range []struct {
		name, recorded, genesis string
		want                    error
	}{
		{"same cluster", "G1", "G1", nil},
		{"nothing recorded yet", "", "G1", cluster.ErrNotRecorded},
		{"another cluster", "G0", "G1", cluster.ErrOtherCluster},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := cluster.Compare(c.recorded, c.genesis)
			if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
				t.Fatalf("Compare(%q, %q) = %v, want %v", c.recorded, c.genesis, err, c.want)
			}
		})
	}
}
