package txbuild

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/gagliardetto/solana-go"
	computebudget "github.com/gagliardetto/solana-go/programs/compute-budget"
	"github.com/gagliardetto/solana-go/programs/system"
)

// Loader-v3 account layouts (bincode; fixed headers).
const (
	// BufferHeaderLen is a buffer account's header: tag (u32) + Option<Pubkey>.
	BufferHeaderLen = 37
	// ProgramdataHeaderLen is a programdata account's header: tag (u32) + slot (u64) + Option<Pubkey>.
	ProgramdataHeaderLen = 45
	// MaxTransactionSize is the largest serialized transaction a cluster accepts.
	MaxTransactionSize = 1232
)

// Loader-v3 instruction tags (UpgradeableLoaderInstruction, bincode u32).
const (
	loaderInitializeBuffer = 0
	loaderWrite            = 1
	loaderSetAuthority     = 4
)

// CreateBuffer creates the buffer account (rent-exempt lamports for an ELF of elfLen bytes,
// paid by payer) and initializes it with authority as its writer. The buffer key signs.
func CreateBuffer(payer, buffer, authority solana.PublicKey, elfLen int, rentLamports uint64) []solana.Instruction {
	return []solana.Instruction{
		system.NewCreateAccountInstruction(rentLamports, uint64(BufferHeaderLen+elfLen), solana.BPFLoaderUpgradeableProgramID, payer, buffer).Build(),
		solana.NewInstruction(solana.BPFLoaderUpgradeableProgramID, solana.AccountMetaSlice{
			solana.Meta(buffer).WRITE(), solana.Meta(authority),
		}, binary.LittleEndian.AppendUint32(nil, loaderInitializeBuffer)),
	}
}

// BufferSize is the data size of a buffer holding an ELF of elfLen bytes.
func BufferSize(elfLen int) uint64 { return uint64(BufferHeaderLen + elfLen) }

// WriteBuffer writes chunk at offset of the buffer's ELF; authority signs.
func WriteBuffer(buffer, authority solana.PublicKey, offset uint32, chunk []byte) solana.Instruction {
	data := binary.LittleEndian.AppendUint32(nil, loaderWrite)
	data = binary.LittleEndian.AppendUint32(data, offset)
	data = binary.LittleEndian.AppendUint64(data, uint64(len(chunk)))
	data = append(data, chunk...)
	return solana.NewInstruction(solana.BPFLoaderUpgradeableProgramID, solana.AccountMetaSlice{
		solana.Meta(buffer).WRITE(), solana.Meta(authority).SIGNER(),
	}, data)
}

// SetBufferAuthority makes newAuthority the buffer's authority; authority (the current one) signs.
// The new authority need not sign, so it may be a PDA.
func SetBufferAuthority(buffer, authority, newAuthority solana.PublicKey) solana.Instruction {
	return solana.NewInstruction(solana.BPFLoaderUpgradeableProgramID, solana.AccountMetaSlice{
		solana.Meta(buffer).WRITE(), solana.Meta(authority).SIGNER(), solana.Meta(newAuthority),
	}, binary.LittleEndian.AppendUint32(nil, loaderSetAuthority))
}

// LockBuffer hands the buffer to program's upgrade-authority PDA: from then on nobody else can
// write or close it, so the hash taken when it is proposed stays true until execution.
func (b *Builder) LockBuffer(buffer, authority, program solana.PublicKey) solana.Instruction {
	return SetBufferAuthority(buffer, authority, b.UpgradeAuthority(program))
}

// Chunk is one write of a buffer upload.
type Chunk struct {
	Offset int
	Data   []byte
}

// Chunks splits elf into writes of at most size bytes.
func Chunks(elf []byte, size int) []Chunk {
	if size <= 0 {
		panic("txbuild: chunk size must be positive")
	}
	out := make([]Chunk, 0, (len(elf)+size-1)/size)
	for off := 0; off < len(elf); off += size {
		out = append(out, Chunk{Offset: off, Data: elf[off:min(off+size, len(elf))]})
	}
	return out
}

// WriteChunkSize is the largest chunk a write transaction paid by payer and signed by authority
// can carry, with a compute-unit price instruction when withPrice is set.
func WriteChunkSize(payer, authority, buffer solana.PublicKey, withPrice bool) int {
	var ixs []solana.Instruction
	if withPrice {
		ixs = append(ixs, computebudget.NewSetComputeUnitPriceInstruction(1).Build())
	}
	ixs = append(ixs, WriteBuffer(buffer, authority, 0, nil))
	tx, err := solana.NewTransaction(ixs, solana.Hash{}, solana.TransactionPayer(payer))
	if err != nil {
		panic(fmt.Sprintf("txbuild: size a write transaction: %v", err))
	}
	msg, err := tx.Message.MarshalBinary()
	if err != nil {
		panic(fmt.Sprintf("txbuild: size a write transaction: %v", err))
	}
	signatures := int(tx.Message.Header.NumRequiredSignatures)
	empty := 1 + 64*signatures + len(msg)
	// The instruction's data length is a compact-u16 that grows from 1 to 2 bytes.
	return MaxTransactionSize - empty - 1
}

// StripELF is the ELF without its trailing zero padding: what the program hashes.
func StripELF(b []byte) []byte { return bytes.TrimRight(b, "\x00") }

// ELFHash is the hash the program records for a buffer (Proposal.buffer_hash) and for a
// deployed release: sha256 of the ELF without trailing zero padding. It is also what
// `solana-verify get-executable-hash` reports for a .so and `get-program-hash` for a program.
func ELFHash(elf []byte) [32]byte { return sha256.Sum256(StripELF(elf)) }

// BufferELF is the ELF in a buffer account's data (after its header, padding included).
func BufferELF(data []byte) ([]byte, error) {
	if len(data) < BufferHeaderLen || binary.LittleEndian.Uint32(data) != 1 {
		return nil, fmt.Errorf("not a loader-v3 buffer account (%d bytes)", len(data))
	}
	return data[BufferHeaderLen:], nil
}

// BufferAuthority is the authority recorded in a buffer account's data; nil when it has none
// (an immutable buffer).
func BufferAuthority(data []byte) (*solana.PublicKey, error) {
	if len(data) < BufferHeaderLen || binary.LittleEndian.Uint32(data) != 1 {
		return nil, fmt.Errorf("not a loader-v3 buffer account (%d bytes)", len(data))
	}
	switch data[4] {
	case 0:
		return nil, nil
	case 1:
		k := solana.PublicKeyFromBytes(data[5:37])
		return &k, nil
	}
	return nil, fmt.Errorf("buffer authority option tag %d", data[4])
}

// ProgramdataELF is the ELF in a programdata account's data (after its header).
func ProgramdataELF(data []byte) ([]byte, error) {
	if len(data) < ProgramdataHeaderLen || binary.LittleEndian.Uint32(data) != 3 {
		return nil, fmt.Errorf("not a loader-v3 programdata account (%d bytes)", len(data))
	}
	return data[ProgramdataHeaderLen:], nil
}

// ExtendNeeded is how many bytes a programdata account of programdataLen bytes must grow by to
// hold the ELF of a buffer of bufferLen bytes, as the program computes it.
func ExtendNeeded(programdataLen, bufferLen int) int {
	return max(0, (bufferLen-BufferHeaderLen)-(programdataLen-ProgramdataHeaderLen))
}
