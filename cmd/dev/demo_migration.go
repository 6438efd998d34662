package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/gagliardetto/solana-go"

	"github.com/upgrade-manager/upgrade-manager/indexer/localnettest/standin"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// The example migration target, perp_market, and the v1 → v2 change of its Position accounts.
var (
	perpMarket = standin.PerpMarket
	// sha256("account:Position")[:8]
	positionDiscriminator = [8]byte{170, 188, 143, 228, 122, 64, 247, 208}
)

const (
	demoPositions       = 120
	positionV1Len       = 59
	positionVersionByte = 8
)

// migrate plays the migration part of the story: perp_market's positions move from layout v1
// to v2, batch by batch, driven by the migration driver. perp_market runs natively on the
// localnet, not as a loader-v3 program `register` could take, so the localnet's dev_setAccount
// stands in for its deployment (a ManagedProgram record and a programdata account, as a
// registered program would have) and for the v1 positions its previous binary left.
func (d *demo) migrate(ctx context.Context, gov string, member func(int) string, owner solana.PublicKey) error {
	d.say("perp_market (the example migration target) joins the governance, with %d positions in the v1 layout (the localnet's dev_setAccount stands in for its deployment)", demoPositions)
	if err := d.standInPerpMarket(ctx, solana.MustPublicKeyFromBase58(gov)); err != nil {
		return err
	}
	for id := range demoPositions {
		pos := standin.Position(owner, uint64(id))
		data := append([]byte{}, positionDiscriminator[:]...)
		data = append(data, 1) // layout version
		data = append(data, owner[:]...)
		data = binary.LittleEndian.AppendUint16(data, 1)
		data = binary.LittleEndian.AppendUint64(data, uint64(10+id))
		data = binary.LittleEndian.AppendUint64(data, uint64(1000*(id+1)))
		if err := d.setAccount(ctx, pos, perpMarket, data); err != nil {
			return err
		}
	}
	// dev_setAccount writes into the working bank: let a slot confirm the accounts.
	if err := d.sleep(ctx); err != nil {
		return err
	}
	sighash := sha256.Sum256([]byte("global:migrate_position"))
	out, err := d.run(ctx, "propose", "migration", "--program", perpMarket.String(),
		"--from-version", "1", "--to-version", "2", "--version-offset", fmt.Sprint(positionVersionByte),
		"--data-size", fmt.Sprint(positionV1Len), "--discriminator", hex.EncodeToString(positionDiscriminator[:]),
		"--migrate-ix-data", hex.EncodeToString(sighash[:8]), "--total-accounts", fmt.Sprint(demoPositions),
		"--keypair", member(1), "--metadata-uri", "https://example.com/migrations/positions-v2")
	if err != nil {
		return err
	}
	proposal := out.str("proposal")
	d.say("Member 1 proposed migrating the positions to v2: proposal %s", proposal)
	for _, m := range []int{1, 2, 3} {
		if err := d.sleep(ctx); err != nil {
			return err
		}
		if _, err := d.run(ctx, "approve", proposal, "--keypair", member(m)); err != nil {
			return err
		}
		d.say("Member %d approves the migration (%d of %d)", m, m, demoThreshold)
	}
	row, err := d.proposal(ctx, perpMarket.String(), proposal)
	if err != nil {
		return err
	}
	if row.SecondsToEta != nil && *row.SecondsToEta > 0 {
		d.say("Advancing the localnet's clock %s, past the timelock", time.Duration(*row.SecondsToEta+5)*time.Second)
		if err := d.rpc(ctx, "dev_advanceClock", []any{*row.SecondsToEta + 5}, nil); err != nil {
			return err
		}
	}
	d.say("The timelock executor starts the job; the migration driver migrates the positions batch by batch")
	deadline := time.Now().Add(3 * time.Minute)
	last := -1.0
	for {
		st, err := d.run(ctx, "migration", "status", proposal)
		if err == nil {
			migrated, _ := st["migrated"].(float64)
			total, _ := st["total"].(float64)
			if migrated != last && total > 0 {
				d.say("Migration: %.0f of %.0f positions (%.0f%%), %v batches", migrated, total, 100*migrated/total, st["batches"])
				last = migrated
			}
			if st.str("status") == "completed" {
				d.say("The migration completed: every position is in the v2 layout")
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the migration of proposal %s did not complete in 3 minutes (last: %v; see %s)", proposal, err, d.m.logPath("crank-migrate"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// standInPerpMarket writes perp_market's ManagedProgram record for gov and a programdata
// account holding its stand-in binary, as register_program and a loader-v3 deployment would
// (standin.Managed, shared with the crank's, umctl's and chaos's migrations).
func (d *demo) standInPerpMarket(ctx context.Context, gov solana.PublicKey) error {
	accs, err := standin.Managed(um.ProgramID, gov, perpMarket, standin.PerpBinary)
	if err != nil {
		return err
	}
	for _, a := range accs {
		if err := d.setAccount(ctx, a.Key, a.Owner, a.Data); err != nil {
			return err
		}
	}
	return nil
}

// setAccount writes an account through the localnet's dev_setAccount, rent-exempt.
func (d *demo) setAccount(ctx context.Context, key, owner solana.PublicKey, data []byte) error {
	var rent uint64
	if err := d.rpc(ctx, "getMinimumBalanceForRentExemption", []any{len(data)}, &rent); err != nil {
		return err
	}
	return d.rpc(ctx, "dev_setAccount", []any{key.String(), map[string]any{
		"lamports": rent, "owner": owner.String(), "executable": false,
		"data": []string{base64.StdEncoding.EncodeToString(data), "base64"},
	}}, nil)
}
