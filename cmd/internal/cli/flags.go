package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// FlagSet is a flag.FlagSet whose flags may fall back to environment variables.
type FlagSet struct {
	*flag.FlagSet
	bindings []binding
	// Lookup reads the environment; os.LookupEnv unless a test sets another.
	Lookup func(string) (string, bool)
}

type binding struct {
	variable string
	names    []string
}

// NewFlagSet returns a flag set named name that reports errors and usage to out and returns
// errors rather than exiting.
func NewFlagSet(name string, out io.Writer) *FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return &FlagSet{FlagSet: fs, Lookup: os.LookupEnv}
}

// Env makes variable the fallback of the flag called names[0]; further names are its aliases
// (e.g. -keypair and -k), and the variable applies only when none of them is on the command
// line. Every name must be defined already.
func (f *FlagSet) Env(variable string, names ...string) {
	if len(names) == 0 {
		panic("cli: Env " + variable + " without a flag")
	}
	for _, n := range names {
		if f.Lookup == nil || f.FlagSet.Lookup(n) == nil {
			panic("cli: Env " + variable + ": flag -" + n + " is not defined")
		}
	}
	f.bindings = append(f.bindings, binding{variable: variable, names: names})
}

// Parse parses args, then gives every flag bound with Env that the command line did not set
// the value of its variable, when that is set and not empty. A value the flag rejects is an
// error naming the flag and the variable.
func (f *FlagSet) Parse(args []string) error {
	if err := f.FlagSet.Parse(args); err != nil {
		return err
	}
	return f.ApplyEnv()
}

// ApplyEnv is the second half of Parse, for a caller that parses the command line itself (in
// several calls, say, for flags among positional arguments): it gives every bound flag the
// command line did not set the value of its variable.
func (f *FlagSet) ApplyEnv() error {
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, b := range f.bindings {
		given := false
		for _, n := range b.names {
			given = given || set[n]
		}
		if given {
			continue
		}
		v, ok := f.Lookup(b.variable)
		if !ok || v == "" {
			continue
		}
		if err := f.Set(b.names[0], v); err != nil {
			return fmt.Errorf("%s: environment variable %s=%q: %v", b.names[0], b.variable, v, err)
		}
	}
	return nil
}

// LogLevel defines -log-level (debug, info, warn or error), with variable as its fallback, and
// returns the level it sets; def is the default.
func (f *FlagSet) LogLevel(variable string, def slog.Level) *slog.LevelVar {
	lv := new(slog.LevelVar)
	lv.Set(def)
	f.TextVar(lv, "log-level", lv, "least important log `level` printed: debug, info, warn or error (env "+variable+")")
	f.Env(variable, "log-level")
	return lv
}

// ExitCode is the exit status for an error of a binary's ParseFlags: 0 when the user asked for
// the usage (-h), 2 for a usage error.
func ExitCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// Choice returns a flag.Value accepting only one of choices.
func Choice(p *string, choices ...string) flag.Value { return &choice{p: p, choices: choices} }

type choice struct {
	p       *string
	choices []string
}

func (c *choice) String() string {
	if c.p == nil {
		return ""
	}
	return *c.p
}

func (c *choice) Set(s string) error {
	for _, v := range c.choices {
		if s == v {
			*c.p = s
			return nil
		}
	}
	return fmt.Errorf("%q is not %s", s, strings.Join(c.choices, ", "))
}
