// Package localnettest builds the localnet node (program/localnet, a JSON-RPC and
// WebSocket node on the agave runtime that runs upgrade_manager natively) and starts
// it on free ports for end-to-end tests.
//
//	n := localnettest.Start(t, localnettest.Options{Fund: []solana.PublicKey{payer}})
//	client := rpc.New(n.RPCURL)
//	wsClient, _ := ws.Connect(ctx, n.WSURL)
//
// The binary is built once per test process with `cargo build -p localnet` into
// $CARGO_TARGET_DIR (default /var/cache/upgrade-manager/target), or taken from
// $LOCALNET_BIN when that is set.
package localnettest
