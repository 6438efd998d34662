package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gagliardetto/solana-go"

	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
)

func keygenCmd(flags *flag.FlagSet) body {
	out := flags.String("o", "", "where to write the keypair (default: --keypair's path)")
	return func(c *cli, _ context.Context, _ []string) (any, error) {
		path := *out
		if path == "" {
			path = c.keypairPath
		}
		if _, err := os.Stat(path); err == nil {
			return nil, fmt.Errorf("%s exists; not overwriting a keypair (pass -o NEW_FILE)", path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		key, err := solana.NewRandomPrivateKey()
		if err != nil {
			return nil, err
		}
		nums := make([]int, len(key))
		for i, b := range key {
			nums[i] = int(b)
		}
		data, _ := json.Marshal(nums)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, fmt.Errorf("write keypair: %w", err)
		}
		return map[string]any{"keypair": path, "address": key.PublicKey().String()}, nil
	}
}

func addressCmd(fs *flag.FlagSet) body {
	return func(c *cli, _ context.Context, _ []string) (any, error) {
		m, err := c.member()
		if err != nil {
			return nil, err
		}
		if c.jsonOut {
			return map[string]any{"address": m.pub.String()}, nil
		}
		return m.pub.String(), nil
	}
}

func dumpCmd(fs *flag.FlagSet) body {
	return func(c *cli, ctx context.Context, args []string) (any, error) {
		if len(args) != 2 {
			return nil, errors.New("want PROGRAM FILE")
		}
		program, err := parseKey("PROGRAM", args[0])
		if err != nil {
			return nil, err
		}
		a, err := c.reader.Account(ctx, program)
		if err != nil {
			return nil, err
		}
		elf := a.Data.GetBinary()
		if a.Owner.Equals(solana.BPFLoaderUpgradeableProgramID) {
			pd, err := c.reader.Account(ctx, txbuild.Programdata(program))
			if err != nil {
				return nil, err
			}
			if elf, err = txbuild.ProgramdataELF(pd.Data.GetBinary()); err != nil {
				return nil, err
			}
		} else if !a.Executable {
			return nil, fmt.Errorf("%s is not a program", program)
		}
		if err := os.WriteFile(args[1], elf, 0o644); err != nil {
			return nil, err
		}
		h := txbuild.ELFHash(elf)
		return map[string]any{"program": program.String(), "file": args[1], "bytes": len(elf), "programHash": fmt.Sprintf("%x", h[:])}, nil
	}
}
