package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/upgrade-manager/upgrade-manager/indexer"
	"github.com/upgrade-manager/upgrade-manager/indexer/chain"
)

// runIndexer follows the local node and keeps the
// database true to it. A local node starts a new cluster each time, so the
// indexer empties its tables when it finds one instead of refusing to run.
func (m *Main) runIndexer(ctx context.Context) error {
	cfg := indexer.DefaultConfig()
	cfg.RPCURL, cfg.WSURL = localnetURLs(m.Config.LocalnetArgs)
	cfg.DatabaseURL = m.databaseURL
	cfg.MetricsAddr = m.Config.IndexerMetricsAddr
	cfg.ResetOnNewCluster = true
	s := indexer.New(cfg, m.componentLogger("indexer"))
	go func() {
		select {
		case <-s.Ready():
			if a := s.Addr(); a != nil {
				fmt.Fprintf(m.Stdout, "INDEXER_METRICS_URL=http://%s/metrics\n", a)
			}
		case <-ctx.Done():
		}
	}()
	return s.Run(ctx)
}

// localnetURLs returns the node's RPC and websocket URLs from its flags:
// --rpc-port (default 8899) and --ws-port (default the RPC port + 1).
func localnetURLs(args []string) (rpcURL, wsURL string) {
	rpcPort, wsPort := "8899", ""
	for i := 0; i < len(args); i++ {
		name, value, inline := strings.Cut(args[i], "=")
		if !inline && i+1 < len(args) {
			value = args[i+1]
		}
		switch name {
		case "--rpc-port":
			rpcPort = value
		case "--ws-port":
			wsPort = value
		}
	}
	if wsPort == "" {
		n, err := strconv.Atoi(rpcPort)
		if err != nil {
			n = 8899
		}
		wsPort = strconv.Itoa(n + 1)
	}
	rpcURL = "http://" + net.JoinHostPort("127.0.0.1", rpcPort)
	wsURL, err := chain.WebsocketEndpoint(rpcURL, wsPort)
	if err != nil {
		// A port the node would refuse too: the indexer reports the URL.
		wsURL = "ws://" + net.JoinHostPort("127.0.0.1", wsPort)
	}
	return rpcURL, wsURL
}
