package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// complexity prices list fields by the rows they may return, so the
// complexity limit bounds the rows an operation can make the server read.
func complexity(maxPage, defaultPage int) ComplexityRoot {
	var c ComplexityRoot
	page := func(child int, first, last *int) int {
		n := defaultPage
		switch {
		case first != nil:
			n = *first
		case last != nil:
			n = *last
		}
		n = min(max(n, 1), maxPage)
		return 1 + n*max(child, 1)
	}
	const members = 16 // the program's maximum
	c.Query.Proposals = func(child int, first *int, _ *string, last *int, _ *string, _ *ProposalFilter, _ *ProposalOrder) int {
		return page(child, first, last)
	}
	c.Governance.Proposals = c.Query.Proposals
	c.ManagedProgram.Proposals = c.Query.Proposals
	c.Query.Governances = func(child int, first *int, _ *string) int { return page(child, first, nil) }
	c.Query.Programs = func(child int, _ *string, first *int, _ *string) int { return page(child, first, nil) }
	c.Query.Migrations = func(child int, _ *MigrationFilter, first *int, _ *string) int { return page(child, first, nil) }
	c.Query.Events = func(child int, _ *EventFilter, first *int, _ *string, last *int, _ *string) int {
		return page(child, first, last)
	}
	c.ManagedProgram.Releases = func(child int, first *int) int {
		n := releasesPerProgram
		if first != nil {
			n = min(max(*first, 1), releasesPerProgram)
		}
		return 1 + n*max(child, 1)
	}
	c.Proposal.Approvals = func(child int, _ *bool) int { return 1 + members*max(child, 1) }
	c.Governance.Members = func(child int) int { return 1 + members*max(child, 1) }
	c.Governance.Programs = func(child int) int { return 1 + 10*max(child, 1) }
	return c
}

// depthLimit rejects operations whose selections nest deeper than limit.
// Introspection fields do not count: GraphiQL's schema query is deep by
// nature and costs no database work.
type depthLimit struct{ limit int }

var (
	_ graphql.HandlerExtension        = depthLimit{}
	_ graphql.OperationContextMutator = depthLimit{}
)

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (d depthLimit) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil {
		return nil
	}
	if depth := selectionDepth(opCtx.Operation.SelectionSet, 0, d.limit+1); depth > d.limit {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("operation nests %d levels deep, deeper than the limit of %d", depth, d.limit),
			Extensions: map[string]any{"code": CodeQueryTooComplex},
		}
	}
	return nil
}

// selectionDepth returns the depth of set below depth, stopping once it
// passes stop (fragments can otherwise make the walk long).
func selectionDepth(set ast.SelectionSet, depth, stop int) int {
	deepest := depth
	for _, sel := range set {
		if deepest > stop {
			return deepest
		}
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if strings.HasPrefix(s.Name, "__") {
				continue
			}
			d = selectionDepth(s.SelectionSet, depth+1, stop)
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, depth, stop)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				d = selectionDepth(s.Definition.SelectionSet, depth, stop)
			}
		}
		deepest = max(deepest, d)
	}
	return deepest
}
