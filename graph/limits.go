package graph

import (
	"context"
	"fmt"
	"strings"

	gqlcomplexity "github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// costs prices what a field makes the database do, so the complexity
// limit bounds the work an operation can cause, not only the rows it
// returns.
type costs struct {
	maxPage, defaultPage int
	// query is one database round trip (a list's page query, whatever its
	// size: first: 0 still runs it).
	query int
	// scan is a query that reads every matching row: a totalCount, or a
	// page whose filter no index serves.
	scan int
}

// countMark is the complexity a totalCount reports to its connection's
// list field. gqlgen hands a field one number for its whole selection, but
// a connection's rows multiply by the page size while its count runs once:
// counts are passed up as multiples of countMark (no selection of rows
// comes near it), and the list field takes them apart and prices each
// count as a scan.
const countMark = 1 << 24

// complexity prices list fields by the rows they may return plus the query
// that reads them, and totalCount and unindexed filters as scans.
func complexity(l Limits) ComplexityRoot {
	k := costs{maxPage: l.MaxPageSize, defaultPage: l.DefaultPageSize, query: l.QueryCost, scan: l.ScanCost}
	var c ComplexityRoot
	const members = 16 // the program's maximum
	c.Query.Proposals = func(child int, first *int, _ *string, last *int, _ *string, f *ProposalFilter, o *ProposalOrder) int {
		base := k.query
		if !proposalFilterIndexed(f, o) {
			base = k.scan
		}
		return k.list(base, child, first, last)
	}
	// A governance's and a program's proposals carry a filter of their own,
	// which the eta order's index does not serve.
	nested := func(child int, first *int, after *string, last *int, before *string, f *ProposalFilter, o *ProposalOrder) int {
		if o != nil && o.Field == ProposalOrderFieldEta {
			return k.list(k.scan, child, first, last)
		}
		return c.Query.Proposals(child, first, after, last, before, f, o)
	}
	c.Governance.Proposals = nested
	c.ManagedProgram.Proposals = nested
	c.Query.Governances = func(child int, first *int, _ *string, last *int, _ *string) int {
		return k.list(k.query, child, first, last)
	}
	c.Query.Programs = func(child int, _ *string, first *int, _ *string, last *int, _ *string) int {
		return k.list(k.query, child, first, last)
	}
	c.Query.Migrations = func(child int, f *MigrationFilter, first *int, _ *string, last *int, _ *string) int {
		base := k.query
		if f != nil && f.Status == nil && (f.Governance != nil || f.Program != nil) {
			base = k.scan // migration_job has no index on governance or program
		}
		return k.list(base, child, first, last)
	}
	c.Query.Events = func(child int, _ *EventFilter, first *int, _ *string, last *int, _ *string) int {
		return k.list(k.query, child, first, last) // names, signature and slots are indexed
	}
	c.ManagedProgram.Releases = func(child int, first *int) int {
		n := releasesPerProgram
		if first != nil {
			n = min(max(*first, 1), releasesPerProgram)
		}
		return k.query + n*max(child, 1)
	}
	count := func(int) int { return countMark }
	c.ProposalConnection.TotalCount = count
	c.GovernanceConnection.TotalCount = count
	c.ManagedProgramConnection.TotalCount = count
	c.MigrationConnection.TotalCount = count
	c.EventConnection.TotalCount = count
	c.Proposal.Approvals = func(child int, _ *bool) int { return k.query + members*max(child, 1) }
	// The members and the approvals, one query each (batched over a page).
	c.Proposal.PendingApprovers = func(child int) int { return 2*k.query + members*max(child, 1) }
	c.ApprovalEvent.Governance = func(child int) int { return k.query + child }
	c.ConfigChangeSpec.Program = func(child int) int { return k.query + child }
	c.ConfigChangeSpec.Migration = func(child int) int { return k.query + child }
	c.Query.Node = func(child int, _ string) int { return k.query + child }
	c.Query.Cluster = func(child int) int { return k.query + child }
	c.Governance.Members = func(child int) int { return k.query + members*max(child, 1) }
	c.Governance.Programs = func(child int) int { return k.query + 10*max(child, 1) }
	return c
}

// list prices a connection: its page query (base), each row's selection
// times the rows it may hold, and a scan per totalCount in child.
func (k costs) list(base, child int, first, last *int) int {
	counts, perRow := child/countMark, child%countMark
	return base + k.rows(first, last)*perRow + counts*k.scan
}

// rows is how many rows a page may hold.
func (k costs) rows(first, last *int) int {
	n := k.defaultPage
	switch {
	case first != nil:
		n = *first
	case last != nil:
		n = *last
	}
	return min(max(n, 0), k.maxPage)
}

// proposalFilterIndexed reports whether an index narrows the proposals f
// selects in order o: program, proposer and status have one (with the
// creation order); governance, kind, awaitingApprovalBy and the creation
// bounds alone walk the whole creation-order index until a page is full.
// The eta order has an index of its own, which no filter shares: a
// filtered page by eta sorts every match.
func proposalFilterIndexed(f *ProposalFilter, o *ProposalOrder) bool {
	if o != nil && o.Field == ProposalOrderFieldEta {
		return f == nil || (f.Governance == nil && len(f.Status) == 0 && f.Program == nil && f.Proposer == nil &&
			len(f.Kind) == 0 && f.CreatedAfter == nil && f.CreatedBefore == nil && f.AwaitingApprovalBy == nil)
	}
	if f == nil {
		return true // the creation-order index, stopped after one page
	}
	if f.Program != nil || f.Proposer != nil || len(f.Status) > 0 {
		return true
	}
	return f.Governance == nil && len(f.Kind) == 0 && f.AwaitingApprovalBy == nil
}

// shapeLimit rejects operations that nest deeper than depth, that carry
// more than aliases aliased fields, or whose arguments hold a NUL
// character. It walks each fragment once (sizes are memoized), so a
// document of fragments spread many times costs no more to check than to
// read.
type shapeLimit struct {
	depth, aliases int
}

var (
	_ graphql.HandlerExtension        = shapeLimit{}
	_ graphql.OperationContextMutator = shapeLimit{}
)

func (shapeLimit) ExtensionName() string                   { return "ShapeLimit" }
func (shapeLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (d shapeLimit) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil {
		return nil
	}
	w := shapeWalker{frags: map[string]shape{}}
	s := w.set(opCtx.Operation.SelectionSet)
	if s.depth > d.depth {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("operation nests %d levels deep, deeper than the limit of %d", s.depth, d.depth),
			Extensions: map[string]any{"code": CodeQueryTooComplex},
		}
	}
	if s.aliases > d.aliases {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("operation has %d aliased fields, more than the limit of %d", s.aliases, d.aliases),
			Extensions: map[string]any{"code": CodeQueryTooComplex},
		}
	}
	if w.nul || hasNUL(opCtx.Variables) {
		return &gqlerror.Error{
			Message:    "an argument holds a NUL character (U+0000), which no name, key or filter contains",
			Extensions: map[string]any{"code": CodeBadUserInput},
		}
	}
	return nil
}

// shape is what shapeWalker measures of a selection set.
type shape struct {
	depth   int // levels of fields, introspection not counted
	aliases int // fields with an alias, fragments counted per spread
}

type shapeWalker struct {
	frags map[string]shape
	nul   bool
}

func (w *shapeWalker) set(set ast.SelectionSet) shape {
	var out shape
	add := func(s shape, extraDepth int) {
		out.depth = max(out.depth, s.depth+extraDepth)
		out.aliases += s.aliases
	}
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			w.args(s.Arguments)
			if strings.HasPrefix(s.Name, "__") {
				// GraphiQL's schema query is deep by nature and costs no database work.
				continue
			}
			if s.Alias != "" && s.Alias != s.Name {
				out.aliases++
			}
			add(w.set(s.SelectionSet), 1)
		case *ast.InlineFragment:
			add(w.set(s.SelectionSet), 0)
		case *ast.FragmentSpread:
			if s.Definition == nil {
				continue
			}
			f, ok := w.frags[s.Name]
			if !ok {
				// Validation has rejected fragment cycles before this runs.
				f = w.set(s.Definition.SelectionSet)
				w.frags[s.Name] = f
			}
			add(f, 0)
		}
	}
	return out
}

func (w *shapeWalker) args(args ast.ArgumentList) {
	for _, a := range args {
		w.value(a.Value)
	}
}

func (w *shapeWalker) value(v *ast.Value) {
	if v == nil {
		return
	}
	if (v.Kind == ast.StringValue || v.Kind == ast.BlockValue) && strings.ContainsRune(v.Raw, 0) {
		w.nul = true
	}
	for _, c := range v.Children {
		w.value(c.Value)
	}
}

// hasNUL reports whether a decoded JSON value holds a string with NUL.
func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.ContainsRune(x, 0)
	case map[string]any:
		for k, c := range x {
			if strings.ContainsRune(k, 0) || hasNUL(c) {
				return true
			}
		}
	case []any:
		for _, c := range x {
			if hasNUL(c) {
				return true
			}
		}
	}
	return false
}

// costLimit is extension.FixedComplexityLimit with the counts that no list
// field took apart (one whose arguments failed to coerce, so gqlgen priced
// it by default) priced as scans.
//
// A subscription's selection runs again on every event, so it has a limit
// of its own, per event (subscriptionLimit).
type costLimit struct {
	limit, subscriptionLimit, scan int
	es                             graphql.ExecutableSchema
}

var (
	_ graphql.HandlerExtension        = (*costLimit)(nil)
	_ graphql.OperationContextMutator = (*costLimit)(nil)
)

func (*costLimit) ExtensionName() string { return "CostLimit" }

func (c *costLimit) Validate(es graphql.ExecutableSchema) error {
	c.es = es
	return nil
}

func (c *costLimit) MutateOperationContext(ctx context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	op := opCtx.Doc.Operations.ForName(opCtx.OperationName)
	if op == nil {
		return nil
	}
	n := gqlcomplexity.Calculate(ctx, c.es, op, opCtx.Variables)
	n = n%countMark + n/countMark*c.scan
	if op.Operation == ast.Subscription && n > c.subscriptionLimit {
		return &gqlerror.Error{
			Message: fmt.Sprintf("a subscription's selection runs on every event: complexity %d exceeds the per-event limit of %d; "+
				"select the event's own fields and query the rest", n, c.subscriptionLimit),
			Extensions: map[string]any{"code": CodeQueryTooComplex},
		}
	}
	if n > c.limit {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("operation has complexity %d, which exceeds the limit of %d", n, c.limit),
			Extensions: map[string]any{"code": CodeQueryTooComplex},
		}
	}
	return nil
}
