package graph

import (
	"context"

	"github.com/upgrade-manager/upgrade-manager/graph/store"
)

// The connection types are written by hand, not generated, so that each
// carries how to count its list: totalCount runs that query only when a
// client selects it.

// ProposalConnection is a page of proposals.
type ProposalConnection struct {
	Edges    []*ProposalEdge
	Nodes    []*store.Proposal
	PageInfo *PageInfo
	count    func(context.Context) (int, error)
}

// GovernanceConnection is a page of governances.
type GovernanceConnection struct {
	Edges    []*GovernanceEdge
	Nodes    []*store.Governance
	PageInfo *PageInfo
	count    func(context.Context) (int, error)
}

// ManagedProgramConnection is a page of managed programs.
type ManagedProgramConnection struct {
	Edges    []*ManagedProgramEdge
	Nodes    []*store.ManagedProgram
	PageInfo *PageInfo
	count    func(context.Context) (int, error)
}

// MigrationConnection is a page of migration jobs.
type MigrationConnection struct {
	Edges    []*MigrationEdge
	Nodes    []*store.Migration
	PageInfo *PageInfo
	count    func(context.Context) (int, error)
}

// EventConnection is a page of the audit log.
type EventConnection struct {
	Edges    []*EventEdge
	Nodes    []*store.Event
	PageInfo *PageInfo
	count    func(context.Context) (int, error)
}

// pageArgs are a list field's Relay arguments, checked.
type pageArgs struct {
	limit    int
	backward bool
	after    *string
	before   *string
}

// pageArgs checks first/last against the page-size limits.
func (r *Resolver) pageArgs(first *int, after *string, last *int, before *string) (pageArgs, error) {
	p := pageArgs{after: after, before: before, limit: r.DefaultPageSize}
	switch {
	case first != nil && last != nil:
		return p, badInput("pass first or last, not both")
	case first != nil:
		p.limit = *first
		if *first < 0 || *first > r.MaxPageSize {
			return p, badInput("first must be between 0 and %d", r.MaxPageSize)
		}
	case last != nil:
		p.limit, p.backward = *last, true
		if *last < 0 || *last > r.MaxPageSize {
			return p, badInput("last must be between 0 and %d", r.MaxPageSize)
		}
	}
	return p, nil
}

// pageInfo builds the page information of a page of rows whose cursors
// are cursors; more says whether rows lie beyond the page in the direction
// it was read.
func pageInfo(p pageArgs, cursors []string, more bool) *PageInfo {
	info := &PageInfo{}
	if p.backward {
		info.HasPreviousPage = more
		info.HasNextPage = p.before != nil
	} else {
		info.HasNextPage = more
		info.HasPreviousPage = p.after != nil
	}
	if len(cursors) > 0 {
		info.StartCursor = &cursors[0]
		info.EndCursor = &cursors[len(cursors)-1]
	}
	return info
}

// parseKeys decodes a page's after and before cursors with parse.
func parseKeys[K any](p pageArgs, parse func(arg, s string) (*K, error)) (store.Page[K], error) {
	sp := store.Page[K]{Limit: p.limit, Backward: p.backward}
	var err error
	if p.after != nil {
		if sp.After, err = parse("after", *p.after); err != nil {
			return sp, err
		}
	}
	if p.before != nil {
		if sp.Before, err = parse("before", *p.before); err != nil {
			return sp, err
		}
	}
	return sp, nil
}
