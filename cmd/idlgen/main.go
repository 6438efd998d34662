package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	m := NewMain()
	if err := m.ParseFlags(os.Args[1:]); errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	} else if err != nil {
		fmt.Fprintf(os.Stderr, "idlgen: %v\n", err)
		os.Exit(2)
	}
	if err := m.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "idlgen: %v\n", err)
		os.Exit(1)
	}
}

// Config is the configuration of one idlgen run.
type Config struct {
	// IDL is the path of the Anchor IDL (-idl).
	IDL string
	// Out is the directory of the generated package (-out).
	Out string
	// Package is the package name (-package); the base name of Out by default.
	Package string
}

// Main is the idlgen program: main calls ParseFlags then Run.
type Main struct {
	Config Config
	Stderr io.Writer
}

// NewMain returns a Main writing diagnostics to stderr.
func NewMain() *Main { return &Main{Stderr: os.Stderr} }

// ParseFlags fills m.Config from args and validates it.
func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("idlgen", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.StringVar(&m.Config.IDL, "idl", "", "path of the Anchor IDL (0.30+ format)")
	fs.StringVar(&m.Config.Out, "out", "", "directory of the generated package")
	fs.StringVar(&m.Config.Package, "package", "", "package name (default: base name of -out)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if m.Config.IDL == "" {
		return errors.New("-idl is required")
	}
	if m.Config.Out == "" {
		return errors.New("-out is required")
	}
	if m.Config.Package == "" {
		abs, err := filepath.Abs(m.Config.Out)
		if err != nil {
			return fmt.Errorf("-out: %w", err)
		}
		m.Config.Package = strings.ReplaceAll(strings.ToLower(filepath.Base(abs)), "-", "")
	}
	return nil
}

// Run generates the package.
func (m *Main) Run() error {
	idl, err := LoadIDL(m.Config.IDL)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.Config.Out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", m.Config.Out, err)
	}
	// The header names the IDL relative to the output, as go:generate passes
	// it, so regenerating from another directory does not change the files.
	source := filepath.ToSlash(m.Config.IDL)
	if rel, err := relTo(m.Config.Out, m.Config.IDL); err == nil {
		source = rel
	}
	return Generate(idl, source, m.Config.Out, m.Config.Package)
}

func relTo(dir, path string) (string, error) {
	ad, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	ap, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(ad, ap)
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(rel), nil
}
