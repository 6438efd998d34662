package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gagliardetto/solana-go"
	"golang.org/x/sync/errgroup"

	"github.com/upgrade-manager/upgrade-manager/cmd/internal/keypair"
	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
)

// errStopped is the test hook --stop-after's simulated interrupt.
var errStopped = errors.New("stopped by --stop-after")

func writeBufferCmd(fs *flag.FlagSet) body {
	programFlag := fs.String("program", "", "managed program the buffer is for; the buffer is locked to its upgrade-authority PDA")
	resume := fs.String("resume", "", "buffer address of an interrupted upload: write only what differs, then lock")
	bufferKeypair := fs.String("buffer-keypair", "", "keypair of the new buffer account (default: a fresh one)")
	parallel := fs.Int("parallel", 8, "chunks in flight at once")
	stopAfter := fs.Int("stop-after", 0, "stop after writing this many chunks, as an interrupt would (for tests of --resume)")
	return func(c *cli, ctx context.Context, args []string) (any, error) {
		if len(args) != 1 {
			return nil, errors.New("want the program file: write-buffer FILE.so --program PROGRAM")
		}
		if c.signOnly {
			return nil, errors.New("write-buffer writes with a local key (the buffer's authority while uploading); --sign-only applies to the commands that follow it (propose, approve, …)")
		}
		elf, err := os.ReadFile(args[0])
		if err != nil {
			return nil, fmt.Errorf("read program file: %w", err)
		}
		if len(txbuild.StripELF(elf)) == 0 {
			return nil, fmt.Errorf("%s holds no program", args[0])
		}
		program, err := parseKey("--program", *programFlag)
		if err != nil {
			return nil, err
		}
		// Locking to a program nobody manages would leave the buffer locked for good.
		if _, err := c.reader.ManagedProgram(ctx, program); err != nil {
			return nil, err
		}
		authority, err := c.member()
		if err != nil {
			return nil, err
		}
		payer, err := c.payer()
		if err != nil {
			return nil, err
		}
		u := &upload{c: c, elf: elf, program: program, authority: authority, payer: payer, parallel: max(1, *parallel), stopAfter: *stopAfter, file: args[0]}
		if *resume != "" {
			if u.buffer, err = parseKey("--resume", *resume); err != nil {
				return nil, err
			}
			return u.resume(ctx)
		}
		var bk solana.PrivateKey
		if *bufferKeypair != "" {
			if bk, err = keypair.Load("buffer", *bufferKeypair); err != nil {
				return nil, err
			}
		} else if bk, err = solana.NewRandomPrivateKey(); err != nil {
			return nil, err
		}
		u.buffer = bk.PublicKey()
		return u.create(ctx, bk)
	}
}

// upload is one write-buffer run.
type upload struct {
	c         *cli
	elf       []byte
	file      string
	program   solana.PublicKey
	buffer    solana.PublicKey
	authority signer
	payer     signer
	parallel  int
	stopAfter int
	skipped   int
	written   atomic.Int64
}

func (u *upload) resumeHint() string {
	return fmt.Sprintf("resume with `umctl write-buffer %s --program %s --resume %s`", u.file, u.program, u.buffer)
}

func (u *upload) create(ctx context.Context, bk solana.PrivateKey) (any, error) {
	c := u.c
	rent, err := c.rpc.GetMinimumBalanceForRentExemption(ctx, txbuild.BufferSize(len(u.elf)), c.commitment)
	if err != nil {
		return nil, fmt.Errorf("get rent: %w", err)
	}
	chunks := txbuild.Chunks(u.elf, u.chunkSize())
	if c.dryRun {
		return result{"action": "write-buffer (dry run: nothing sent)", "buffer": u.buffer.String(), "chunks": len(chunks),
			"rentLamports": rent, "bufferHash": hashHex(u.elf)}, nil
	}
	// Writes cost a fee each; check the whole upload is affordable before creating anything.
	bal, err := c.reader.Balance(ctx, u.payer.pub)
	if err != nil {
		return nil, err
	}
	if err := txbuild.CheckFunded(u.payer.pub, bal, rent+baseFee*uint64(2+len(chunks)+1)*2); err != nil {
		return nil, err
	}
	if _, err := c.submit(ctx, action{
		summary: "create buffer", payer: u.payer,
		ixs:     txbuild.CreateBuffer(u.payer.pub, u.buffer, u.authority.pub, len(u.elf), rent),
		signers: append(others(u.payer, u.authority), signer{pub: bk.PublicKey(), priv: bk}), rent: rent,
	}); err != nil {
		return nil, fmt.Errorf("create buffer: %w", err)
	}
	if !c.jsonOut {
		fmt.Fprintf(c.stderr, "buffer %s created; if interrupted, %s\n", u.buffer, u.resumeHint())
	}
	return u.finish(ctx, chunks)
}

func (u *upload) resume(ctx context.Context) (any, error) {
	c := u.c
	a, err := c.reader.Account(ctx, u.buffer)
	if err != nil {
		return nil, err
	}
	data := a.Data.GetBinary()
	auth, err := txbuild.BufferAuthority(data)
	if err != nil {
		return nil, &txbuild.Error{Code: txbuild.CodeInvalidBuffer, Message: fmt.Sprintf("%s: %v", u.buffer, err)}
	}
	if uint64(len(data)) != txbuild.BufferSize(len(u.elf)) {
		return nil, &txbuild.Error{Code: txbuild.CodeInvalidBuffer, Message: fmt.Sprintf("buffer %s has room for %d bytes, %s has %d", u.buffer, len(data)-txbuild.BufferHeaderLen, u.file, len(u.elf)),
			Hint: "it was made for another file: start a new upload without --resume"}
	}
	onChain, _ := txbuild.BufferELF(data)
	pda := c.build.UpgradeAuthority(u.program)
	if auth != nil && auth.Equals(pda) {
		if !bytes.Equal(onChain, u.elf) {
			return nil, &txbuild.Error{Code: txbuild.CodeBufferNotLocked, Message: fmt.Sprintf("buffer %s is already locked to the manager with other contents", u.buffer),
				Hint: "nobody can write it any more: start a new upload without --resume"}
		}
		return result{"action": "write-buffer (already complete and locked)", "buffer": u.buffer.String(), "bufferHash": hashHex(u.elf), "program": u.program.String(), "chunksWritten": 0}, nil
	}
	if auth == nil || !auth.Equals(u.authority.pub) {
		return nil, fmt.Errorf("buffer %s's authority is not %s: resume with the keypair that started the upload (--keypair)", u.buffer, u.authority.pub)
	}
	var todo []txbuild.Chunk
	for _, ch := range txbuild.Chunks(u.elf, u.chunkSize()) {
		if !bytes.Equal(onChain[ch.Offset:ch.Offset+len(ch.Data)], ch.Data) {
			todo = append(todo, ch)
		} else {
			u.skipped++
		}
	}
	if c.dryRun {
		return result{"action": "write-buffer --resume (dry run: nothing sent)", "buffer": u.buffer.String(), "chunks": len(todo), "chunksAlreadyWritten": u.skipped}, nil
	}
	return u.finish(ctx, todo)
}

func (u *upload) chunkSize() int {
	return txbuild.WriteChunkSize(u.payer.pub, u.authority.pub, u.buffer, u.c.cuPrice > 0)
}

// finish writes chunks, checks the buffer holds the file, and locks it to the manager.
func (u *upload) finish(ctx context.Context, chunks []txbuild.Chunk) (any, error) {
	c := u.c
	for round := 0; len(chunks) > 0; round++ {
		if round == 3 {
			return nil, fmt.Errorf("%d chunks still differ after 3 rounds; %s", len(chunks), u.resumeHint())
		}
		if err := u.writeAll(ctx, chunks); err != nil {
			if errors.Is(err, errStopped) || ctx.Err() != nil {
				return nil, fmt.Errorf("upload interrupted after %d chunks; %s", u.written.Load(), u.resumeHint())
			}
			return nil, fmt.Errorf("%w; %s", err, u.resumeHint())
		}
		// Read back what landed: a write that expired unseen is written again.
		a, err := c.reader.Account(ctx, u.buffer)
		if err != nil {
			return nil, err
		}
		onChain, _ := txbuild.BufferELF(a.Data.GetBinary())
		var again []txbuild.Chunk
		for _, ch := range chunks {
			if !bytes.Equal(onChain[ch.Offset:ch.Offset+len(ch.Data)], ch.Data) {
				again = append(again, ch)
			}
		}
		chunks = again
	}
	lock, err := c.submit(ctx, action{
		summary: fmt.Sprintf("lock buffer %s to program %s's upgrade-authority PDA", u.buffer, u.program),
		ixs:     []solana.Instruction{c.build.LockBuffer(u.buffer, u.authority.pub, u.program)},
		payer:   u.payer, signers: others(u.payer, u.authority),
	})
	if err != nil {
		return nil, fmt.Errorf("lock buffer: %w; %s", err, u.resumeHint())
	}
	return result{
		"action": "write-buffer", "buffer": u.buffer.String(), "program": u.program.String(),
		"bufferHash": hashHex(u.elf), "bytes": len(u.elf), "chunksWritten": u.written.Load(), "chunksAlreadyWritten": u.skipped,
		"lockedTo": c.build.UpgradeAuthority(u.program).String(), "lockSignature": lock["signature"],
	}, nil
}

func hashHex(elf []byte) string {
	h := txbuild.ELFHash(elf)
	return hex.EncodeToString(h[:])
}

// writeAll sends chunks with u.parallel in flight, each confirmed before its worker moves on.
func (u *upload) writeAll(ctx context.Context, chunks []txbuild.Chunk) error {
	c := u.c
	bar := newProgress(c.stderr, len(chunks), !c.jsonOut)
	defer bar.done()
	var bh struct {
		sync.Mutex
		hash      solana.Hash
		lastValid uint64
		at        time.Time
	}
	blockhash := func(ctx context.Context) (solana.Hash, uint64, error) {
		bh.Lock()
		defer bh.Unlock()
		if time.Since(bh.at) > 10*time.Second {
			r, err := c.rpc.GetLatestBlockhash(ctx, c.commitment)
			if err != nil {
				return solana.Hash{}, 0, fmt.Errorf("get latest blockhash: %w", err)
			}
			bh.hash, bh.lastValid, bh.at = r.Value.Blockhash, r.Value.LastValidBlockHeight, time.Now()
		}
		return bh.hash, bh.lastValid, nil
	}
	keys := []solana.PrivateKey{u.payer.priv, u.authority.priv}
	work := make(chan txbuild.Chunk)
	g, gctx := errgroup.WithContext(ctx)
	stopped := false
	g.Go(func() error {
		defer close(work)
		for i, ch := range chunks {
			if u.stopAfter > 0 && i >= u.stopAfter {
				// Like an interrupt that lets the writes in flight land.
				stopped = true
				return nil
			}
			select {
			case work <- ch:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range u.parallel {
		g.Go(func() error {
			for ch := range work {
				var err error
				for attempt := 0; attempt < 3; attempt++ {
					var hash solana.Hash
					var lastValid uint64
					if hash, lastValid, err = blockhash(gctx); err != nil {
						continue
					}
					ix := txbuild.WriteBuffer(u.buffer, u.authority.pub, uint32(ch.Offset), ch.Data)
					tx, e := txbuild.Assemble([]solana.Instruction{ix}, u.payer.pub, hash, txbuild.Budget{UnitPrice: c.cuPrice})
					if e != nil {
						return e
					}
					if e := txbuild.Sign(tx, keys...); e != nil {
						return e
					}
					if _, err = c.sendAndConfirm(gctx, tx, lastValid); err == nil {
						break
					}
					if gctx.Err() != nil {
						return gctx.Err()
					}
				}
				if err != nil {
					return fmt.Errorf("write chunk at offset %d: %w", ch.Offset, err)
				}
				u.written.Add(1)
				bar.add()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if stopped {
		return errStopped
	}
	return nil
}

// progress draws a one-line bar on a terminal-like stream.
type progress struct {
	w       io.Writer
	total   int
	n       atomic.Int64
	mu      sync.Mutex
	enabled bool
	start   time.Time
}

func newProgress(w io.Writer, total int, enabled bool) *progress {
	p := &progress{w: w, total: total, enabled: enabled, start: time.Now()}
	p.draw()
	return p
}

func (p *progress) add() {
	p.n.Add(1)
	p.draw()
}

func (p *progress) draw() {
	if !p.enabled || p.total == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := int(p.n.Load())
	const width = 30
	filled := width * n / p.total
	fmt.Fprintf(p.w, "\rwriting [%s%s] %d/%d chunks %s", strings.Repeat("#", filled), strings.Repeat(".", width-filled), n, p.total, time.Since(p.start).Round(time.Second))
}

func (p *progress) done() {
	if p.enabled && p.total > 0 {
		fmt.Fprintln(p.w)
	}
}
