package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/upgrade-manager/upgrade-manager/graph"
	readmodel "github.com/upgrade-manager/upgrade-manager/graph/store"
	"github.com/upgrade-manager/upgrade-manager/indexer/chain"
	"github.com/upgrade-manager/upgrade-manager/indexer/cluster"
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
// start order.
func (m *Main) components() []component {
	var cs []component
	if m.Config.Localnet {
		// The indexer retries until the node answers, so it can start with it.
		cs = append(cs, component{name: "localnet", run: m.runLocalnet},
			component{name: "indexer", run: m.runIndexer})
		if m.Config.Cranks {
			// The cranks wait for the node to answer before they start.
			cs = append(cs, m.crankComponents()...)
		}
	}
	cs = append(cs, component{name: "graphql", run: m.runGraphQL})
	if m.demoOn() {
		cs = append(cs, component{name: "demo", run: m.runDemo})
	}
	return cs
}

// runGraphQL serves the GraphQL read model on -graphql-addr, open to any
// origin as a local environment is.
func (m *Main) runGraphQL(ctx context.Context) error {
	cfg := graph.DefaultServerConfig()
	cfg.Addr = m.Config.GraphQLAddr
	cfg.DatabaseURL = m.databaseURL
	cfg.AllowedOrigins = []string{"*"}
	logger := m.componentLogger("graphql")
	g, gctx := errgroup.WithContext(ctx)
	if m.Config.Localnet {
		// A restarted localnet is a new cluster: serve nothing of the old
		// one while the indexer resets.
		rpcURL, _ := localnetURLs(m.Config.LocalnetArgs)
		pool, err := pgxpool.New(ctx, m.databaseURL)
		if err != nil {
			return fmt.Errorf("open database pool: %w", err)
		}
		defer pool.Close()
		client := chain.NewClient(chain.ClientConfig{URL: rpcURL, Timeout: 5 * time.Second, Logger: logger})
		defer client.Close()
		guard := &cluster.Guard{Genesis: client.GenesisHash, Recorded: readmodel.New(pool).RecordedGenesis, Logger: logger}
		cfg.Gate = guard.Check
		g.Go(func() error { return guard.Run(gctx) })
		// The build* mutations read the local node.
		cfg.RPCURL = rpcURL
	}
	s := graph.NewServer(cfg, logger)
	ready := m.graphqlReady
	go func() {
		select {
		case <-s.Ready():
			u := fmt.Sprintf("http://%s/graphql", s.Addr())
			fmt.Fprintf(m.Stdout, "GRAPHQL_URL=%s\n", u)
			if ready != nil {
				ready <- u
				close(ready)
			}
		case <-ctx.Done():
		}
	}()
	g.Go(func() error { return s.Run(gctx) })
	return g.Wait()
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
