package graph_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
)

type proposalPage struct {
	Proposals struct {
		Edges []struct {
			Cursor string
			Node   struct{ Address string }
		}
		PageInfo struct {
			HasNextPage, HasPreviousPage bool
			StartCursor, EndCursor       *string
		}
	}
}

// Paging forward and backward through proposals while others are being
// inserted returns every proposal that existed before exactly once: the
// cursor is a stable key (creation time, address), not an offset.
func TestPaginationWhileInserting(t *testing.T) {
	t.Parallel()
	b := setup(t)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 300
	gov, err := graphtest.SeedProposals(t.Context(), b.pool, "page-", n, 3, start)
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]bool{}
	for i := range n {
		before[graphtest.Key(fmt.Sprintf("page-%d", i))] = true
	}

	// Insert proposals of other governances concurrently, created at the
	// same times as the first ones, so they land inside the pages being read.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := graphtest.SeedProposals(t.Context(), b.pool, fmt.Sprintf("noise%d-", i), 10, 1, start); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	for _, dir := range []string{"forward", "backward"} {
		t.Run(dir, func(t *testing.T) {
			seen := map[string]bool{}
			var cursor *string
			for pages := 0; ; pages++ {
				if pages > n {
					t.Fatal("paging does not end")
				}
				var data proposalPage
				vars := map[string]any{"g": gov, "c": cursor}
				q := `query($g: PublicKey!, $c: String) { proposals(first: 7, after: $c, filter: {governance: $g}) {
					edges { cursor node { address } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`
				if dir == "backward" {
					q = `query($g: PublicKey!, $c: String) { proposals(last: 7, before: $c, filter: {governance: $g}) {
						edges { cursor node { address } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`
				}
				b.query(t, q, vars, &data)
				for _, e := range data.Proposals.Edges {
					if seen[e.Node.Address] {
						t.Fatalf("proposal %s returned twice", e.Node.Address)
					}
					seen[e.Node.Address] = true
				}
				info := data.Proposals.PageInfo
				if dir == "forward" {
					if !info.HasNextPage {
						break
					}
					cursor = info.EndCursor
				} else {
					if !info.HasPreviousPage {
						break
					}
					cursor = info.StartCursor
				}
			}
			for a := range before {
				if !seen[a] {
					t.Errorf("proposal %s was never returned", a)
				}
			}
		})
	}
}

// Pages in either direction agree on the order: newest first by default.
func TestPaginationOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	gov, err := graphtest.SeedProposals(t.Context(), b.pool, "order-", 10, 2, start)
	if err != nil {
		t.Fatal(err)
	}
	addrs := func(q string) []string {
		var data proposalPage
		b.query(t, q, map[string]any{"g": gov}, &data)
		var out []string
		for _, e := range data.Proposals.Edges {
			out = append(out, e.Node.Address)
		}
		return out
	}
	desc := addrs(`query($g: PublicKey!) { proposals(first: 10, filter: {governance: $g}) { edges { node { address } } } }`)
	last := addrs(`query($g: PublicKey!) { proposals(last: 10, filter: {governance: $g}) { edges { node { address } } } }`)
	asc := addrs(`query($g: PublicKey!) { proposals(first: 10, filter: {governance: $g}, orderBy: {direction: ASC}) { edges { node { address } } } }`)
	if len(desc) != 10 || fmt.Sprint(desc) != fmt.Sprint(last) {
		t.Errorf("first 10 = %v, last 10 = %v; want the same 10 in the same order", desc, last)
	}
	for i := range asc {
		if asc[i] != desc[len(desc)-1-i] {
			t.Fatalf("ASC %v is not DESC %v reversed", asc, desc)
		}
	}
	if desc[len(desc)-1] != graphtest.Key("order-0") {
		t.Errorf("oldest last: got %s, want order-0", desc[len(desc)-1])
	}
}
