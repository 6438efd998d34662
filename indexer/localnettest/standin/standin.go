// Package standin writes what the localnet cannot deploy: the accounts that make a native
// program (perp_market) look registered with a governance, for migrations in tests, cmd/dev's
// demo and cmd/chaos. It does not import testing, so binaries may use it.
package standin

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/gagliardetto/solana-go"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// PerpMarket is perp_market's program id on the localnet (a native builtin).
var PerpMarket = solana.MustPublicKeyFromBase58("PerpMarket111111111111111111111111111111111")

// PerpBinary is the binary the stand-in programdata of perp_market holds: a migration
// requires the hash of the binary its target runs, and perp_market runs natively on the
// localnet, with no programdata of its own.
var PerpBinary = []byte("perp_market v2: opens positions in the v2 layout only")

// Account is an account to write with the localnet's dev_setAccount.
type Account struct {
	Key, Owner solana.PublicKey
	Data       []byte
}

// managedProgramSpace is a ManagedProgram account's size, discriminator included: room for a
// full release history, as the program allocates it.
const managedProgramSpace = 8 + 632

// Managed returns the accounts that make program look registered with governance gov of
// the upgrade_manager deployed at manager, as register_program and a loader-v3 deployment
// would leave them: a programdata account holding bin whose upgrade authority is the manager's
// PDA, and the ManagedProgram record (current hash: bin's). The cranks', umctl's, cmd/dev's demo
// and cmd/chaos migrations use it for perp_market, which register_program cannot take since it
// runs natively (the program's own tests do the same in program-test).
func Managed(manager, gov, program solana.PublicKey, bin []byte) ([]Account, error) {
	client := um.New(manager)
	record, bump, err := client.FindManagedProgramAddress(program)
	if err != nil {
		return nil, fmt.Errorf("derive the record of %s: %w", program, err)
	}
	ua, uaBump, err := client.FindUpgradeAuthorityAddress(program)
	if err != nil {
		return nil, fmt.Errorf("derive the upgrade authority of %s: %w", program, err)
	}
	_, maBump, err := client.FindMigrationAuthorityAddress(program)
	if err != nil {
		return nil, fmt.Errorf("derive the migration authority of %s: %w", program, err)
	}
	programdata, _, err := solana.FindProgramAddress([][]byte{program[:]}, solana.BPFLoaderUpgradeableProgramID)
	if err != nil {
		return nil, fmt.Errorf("derive the programdata of %s: %w", program, err)
	}
	pd := binary.LittleEndian.AppendUint32(nil, 3) // ProgramData
	pd = binary.LittleEndian.AppendUint64(pd, 0)   // deploy slot
	pd = append(append(pd, 1), ua[:]...)           // upgrade authority: the manager's PDA
	pd = append(pd, bin...)
	mp := um.ManagedProgram{
		LayoutVersion: um.AccountLayoutVersion, Bump: bump, UpgradeAuthorityBump: uaBump, MigrationAuthorityBump: maBump,
		Governance: gov, Program: program, Programdata: programdata, UpgradeAuthority: ua,
		CurrentHash: sha256.Sum256(bin),
	}
	disc := mp.Discriminator()
	data := mp.AppendBorsh(disc[:])
	data = append(data, make([]byte, managedProgramSpace-len(data))...)
	return []Account{
		{Key: programdata, Owner: solana.BPFLoaderUpgradeableProgramID, Data: pd},
		{Key: record, Owner: manager, Data: data},
	}, nil
}

// PositionSeed is the seed of a perp_market position: ["position", owner, id (u64 LE)].
const PositionSeed = "position"

// Position is the address of owner's id-th perp_market position.
func Position(owner solana.PublicKey, id uint64) solana.PublicKey {
	k, _, err := solana.FindProgramAddress([][]byte{[]byte(PositionSeed), owner[:], binary.LittleEndian.AppendUint64(nil, id)}, PerpMarket)
	if err != nil {
		// Only seeds over 32 bytes fail; these are a key and a u64.
		panic(fmt.Sprintf("derive position: %v", err))
	}
	return k
}
