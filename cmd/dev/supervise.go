package main

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// component is one long-running part of the dev environment. Its run
// returns when ctx ends; returning earlier, with or without an error, brings
// the whole environment down, because a dev environment with a part missing
// only misleads.
type component struct {
	name string
	run  func(ctx context.Context) error
}

// components lists the parts of the environment beyond the database, in
// start order. Later work adds the local validator, the indexer, the GraphQL
// server and the cranks here.
func (m *Main) components() []component {
	return nil
}

// supervise runs every component until ctx ends or one of them stops, and
// returns the first failure. An orderly shutdown returns nil.
func supervise(ctx context.Context, components []component) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range components {
		g.Go(func() error {
			err := c.run(gctx)
			if gctx.Err() != nil {
				// Asked to stop: whatever it returned is part of stopping.
				return nil
			}
			if err == nil {
				return fmt.Errorf("%s exited", c.name)
			}
			return fmt.Errorf("%s: %w", c.name, err)
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		return nil
	})
	return g.Wait()
}
