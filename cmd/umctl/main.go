package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	cliflags "github.com/upgrade-manager/upgrade-manager/cmd/internal/cli"
	"github.com/upgrade-manager/upgrade-manager/cmd/internal/keypair"
	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1 // the command was refused or failed
	exitUsage   = 2
	exitRefused = 3 // a check refused the intent before anything was sent (a *txbuild.Error)
)

// cli is one invocation: global options, the chain, and where output goes.
type cli struct {
	stdout, stderr io.Writer

	url           string
	keypairPath   string
	feePayerSpec  string
	commitment    rpc.CommitmentType
	cuPrice       uint64
	jsonOut       bool
	dryRun        bool
	signOnly      bool
	output        string
	programID     solana.PublicKey
	graphqlURL    string
	confirmWithin time.Duration

	// postParse validates the global flags once they are parsed.
	postParse func() error

	rpc    *rpc.Client
	build  *txbuild.Builder
	reader *txbuild.Reader
}

// command is a subcommand: its flags are added to the global ones, and run gets the positional
// arguments.
type command struct {
	name    string
	args    string
	summary string
	flags   func(fs *flag.FlagSet) func(c *cli, ctx context.Context, args []string) (any, error)
}

func commands() []command {
	return []command{
		{"init", "", "create a governance (members, thresholds, timelocks, spill)", initCmd},
		{"register", "", "hand a program to a governance (signed by its upgrade authority)", registerCmd},
		{"write-buffer", "FILE.so", "upload a program to a buffer (parallel, resumable) and lock it to the manager", writeBufferCmd},
		{"propose upgrade", "", "propose upgrading a program to a locked buffer", proposeBinaryCmd(um.ProposalKindUpgrade)},
		{"propose rollback", "", "propose returning a program to an earlier release in a locked buffer", proposeBinaryCmd(um.ProposalKindRollback)},
		{"propose config", "", "propose a change of members, thresholds, timelocks, voting period, spill, releases, migrations or a program's upgrade authority", proposeConfigCmd},
		{"propose migration", "", "propose an account-state migration of a program", proposeMigrationCmd},
		{"approve", "PROPOSAL", "approve a proposal", voteCmd("approve")},
		{"revoke", "PROPOSAL", "withdraw your approval", voteCmd("revoke")},
		{"cancel", "PROPOSAL", "cancel (the proposer alone, while a member) or vote to cancel (members by threshold)", voteCmd("cancel")},
		{"reject", "PROPOSAL", "vote against a proposal (rejected once approval is impossible)", voteCmd("reject")},
		{"execute", "PROPOSAL", "execute an approved proposal after its timelock (extends the program first when needed)", executeCmd},
		{"extend", "PROPOSAL", "grow a program's programdata so an approved upgrade fits", extendCmd},
		{"close", "PROPOSAL", "close an ended proposal (--job: its migration job); the rent goes to the rent collector", closeCmd},
		{"status", "", "a governance's proposals: approvals, who is missing, time to eta or expiry", statusCmd},
		{"show", "PROPOSAL", "everything about a proposal, with its history", showCmd},
		{"migration status", "PROPOSAL", "progress of a migration proposal's job", migrationStatusCmd},
		{"verify", "PROPOSAL", "compare a local build (--so FILE) with the proposal's on-chain hash", verifyCmd},
		{"dump", "PROGRAM FILE", "write a deployed program's ELF to a file", dumpCmd},
		{"keygen", "", "write a new keypair file (-o FILE; default --keypair's path)", keygenCmd},
		{"address", "", "print --keypair's public key", addressCmd},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: umctl COMMAND [ARGS] [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-34s %s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	fmt.Fprintln(w, "\nglobal flags (every command): --url, --keypair, --fee-payer, --commitment, --compute-unit-price,\n  --json, --dry-run, --sign-only, --output, --program-id, --graphql; `umctl COMMAND -h` lists a command's flags")
}

// run is the whole program; tests call it with their own streams.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return exitOK
	}
	var cmd *command
	all := commands()
	for i := range all {
		words := strings.Fields(all[i].name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == all[i].name {
			cmd = &all[i]
			args = args[len(words):]
			break
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "umctl: unknown command %q\n", strings.Join(args[:min(2, len(args))], " "))
		usage(stderr)
		return exitUsage
	}
	c := &cli{stdout: stdout, stderr: stderr}
	fs := cliflags.NewFlagSet("umctl "+cmd.name, stderr)
	c.globalFlags(fs)
	body := cmd.flags(fs.FlagSet)
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		if code := cliflags.ExitCode(err); code != 0 {
			return code
		}
		return exitOK
	}
	if err := c.setup(); err != nil {
		return c.fail(err)
	}
	res, err := body(c, ctx, positional)
	if err != nil {
		return c.fail(err)
	}
	if res != nil {
		c.print(res)
	}
	return exitOK
}

// parseInterspersed parses flags anywhere among the positional arguments, as the Solana CLI
// accepts them.
func parseInterspersed(fs *cliflags.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.FlagSet.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			if err := fs.ApplyEnv(); err != nil {
				fmt.Fprintln(fs.Output(), "umctl:", err)
				return nil, err
			}
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func (c *cli) globalFlags(fs *cliflags.FlagSet) {
	fs.StringVar(&c.url, "url", "localhost", "RPC URL or moniker: localhost, devnet, testnet, mainnet-beta (env UMCTL_URL)")
	fs.StringVar(&c.url, "u", "localhost", "shorthand for --url")
	fs.Env("UMCTL_URL", "url", "u")
	fs.StringVar(&c.keypairPath, "keypair", keypair.DefaultPath(), "signer keypair file (env UMCTL_KEYPAIR); with --sign-only also a public key")
	fs.StringVar(&c.keypairPath, "k", keypair.DefaultPath(), "shorthand for --keypair")
	fs.Env("UMCTL_KEYPAIR", "keypair", "k")
	fs.StringVar(&c.feePayerSpec, "fee-payer", "", "fee payer keypair file (default: --keypair); with --sign-only also a public key")
	commitment := fs.String("commitment", "confirmed", "processed, confirmed or finalized")
	fs.Uint64Var(&c.cuPrice, "compute-unit-price", 0, "priority fee in micro-lamports per compute unit")
	fs.BoolVar(&c.jsonOut, "json", false, "print the result as JSON")
	fs.BoolVar(&c.dryRun, "dry-run", false, "simulate, print the logs, send nothing")
	fs.BoolVar(&c.signOnly, "sign-only", false, "print the unsigned message for another signer (a wallet, a Squads vault); send nothing")
	fs.StringVar(&c.output, "output", "base64", "encoding of --sign-only's message: base58 or base64")
	program := fs.String("program-id", um.ProgramAddress, "upgrade_manager's address")
	fs.StringVar(&c.graphqlURL, "graphql", "", "GraphQL endpoint of the read model, e.g. http://127.0.0.1:8080/graphql (env UMCTL_GRAPHQL)")
	fs.Env("UMCTL_GRAPHQL", "graphql")
	fs.DurationVar(&c.confirmWithin, "timeout", 90*time.Second, "how long to wait for a transaction to reach the commitment")
	c.postParse = func() error {
		switch *commitment {
		case "processed", "confirmed", "finalized":
			c.commitment = rpc.CommitmentType(*commitment)
		default:
			return fmt.Errorf("--commitment %q: want processed, confirmed or finalized", *commitment)
		}
		k, err := solana.PublicKeyFromBase58(*program)
		if err != nil {
			return fmt.Errorf("--program-id %q: %w", *program, err)
		}
		c.programID = k
		if c.output != "base58" && c.output != "base64" {
			return fmt.Errorf("--output %q: want base58 or base64", c.output)
		}
		if c.signOnly && c.dryRun {
			return errors.New("--sign-only and --dry-run exclude each other")
		}
		return nil
	}
}

// clusterURL expands the Solana CLI's monikers.
func clusterURL(s string) string {
	switch s {
	case "localhost", "l":
		return "http://127.0.0.1:8899"
	case "devnet", "d":
		return rpc.DevNet_RPC
	case "testnet", "t":
		return rpc.TestNet_RPC
	case "mainnet-beta", "m":
		return rpc.MainNetBeta_RPC
	}
	return s
}

func (c *cli) setup() error {
	if err := c.postParse(); err != nil {
		return err
	}
	c.rpc = rpc.New(clusterURL(c.url))
	c.build = txbuild.New(c.programID)
	c.reader = &txbuild.Reader{RPC: c.rpc, Commitment: c.commitment, Builder: c.build}
	return nil
}

// member is the key acting as a member: the --keypair signer.
func (c *cli) member() (signer, error) {
	return resolveSigner("member", c.keypairPath, c.signOnly)
}

// payer is the fee payer: --fee-payer, or the --keypair signer.
func (c *cli) payer() (signer, error) {
	if c.feePayerSpec == "" {
		return resolveSigner("fee-payer", c.keypairPath, c.signOnly)
	}
	return resolveSigner("fee-payer", c.feePayerSpec, c.signOnly)
}

// fail reports err (as JSON with --json) and returns the exit code.
func (c *cli) fail(err error) int {
	var te *txbuild.Error
	var se *simulationError
	out := map[string]any{"message": err.Error()}
	code := exitFailed
	switch {
	case errors.As(err, &te):
		out["code"], out["message"], out["hint"] = string(te.Code), te.Message, te.Hint
		if te.Code == txbuild.CodeTimelockNotElapsed {
			out["eta"] = time.Unix(te.Eta, 0).UTC().Format(time.RFC3339)
			out["secondsLeft"] = int64(te.Remaining.Seconds())
		}
		code = exitRefused
	case errors.As(err, &se):
		out["code"] = "SIMULATION_FAILED"
		if se.name != "" {
			out["programError"] = se.name
		}
		out["logs"] = se.logs
	}
	if c.jsonOut {
		c.printJSON(map[string]any{"error": out})
	} else {
		fmt.Fprintln(c.stderr, "umctl:", err)
		if se != nil && len(se.logs) > 0 {
			fmt.Fprintln(c.stderr, "logs:\n  "+strings.Join(se.logs, "\n  "))
		}
	}
	return code
}

func (c *cli) printJSON(v any) {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// texter is a result with a human-readable form.
type texter interface{ text(w io.Writer) }

func (c *cli) print(v any) {
	if c.jsonOut {
		c.printJSON(v)
		return
	}
	if t, ok := v.(texter); ok {
		t.text(c.stdout)
		return
	}
	// Plain maps print as sorted "key: value" lines.
	if r, ok := v.(result); ok {
		v = map[string]any(r)
	}
	if m, ok := v.(map[string]any); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(c.stdout, "%s: %v\n", k, m[k])
		}
		return
	}
	fmt.Fprintln(c.stdout, v)
}

func parseKey(what, s string) (solana.PublicKey, error) {
	if s == "" {
		return solana.PublicKey{}, fmt.Errorf("%s is required", what)
	}
	k, err := solana.PublicKeyFromBase58(s)
	if err != nil {
		return solana.PublicKey{}, fmt.Errorf("%s %q is not a public key: %w", what, s, err)
	}
	return k, nil
}

func oneArg(what string, args []string) (solana.PublicKey, error) {
	if len(args) != 1 {
		return solana.PublicKey{}, fmt.Errorf("want exactly one %s argument, got %d", what, len(args))
	}
	return parseKey(what, args[0])
}
