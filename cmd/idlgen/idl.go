package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// IDL is the part of an Anchor 0.30+ IDL (spec 0.1.0) the generator reads.
type IDL struct {
	Address      string          `json:"address"`
	Metadata     Metadata        `json:"metadata"`
	Docs         []string        `json:"docs"`
	Instructions []Instruction   `json:"instructions"`
	Accounts     []Discriminated `json:"accounts"`
	Events       []Discriminated `json:"events"`
	Errors       []ErrorDef      `json:"errors"`
	Types        []TypeDef       `json:"types"`
	Constants    []Constant      `json:"constants"`
}

// Metadata names the program.
type Metadata struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Spec    string `json:"spec"`
}

// Instruction is one instruction of the program.
type Instruction struct {
	Name          string        `json:"name"`
	Docs          []string      `json:"docs"`
	Discriminator Bytes         `json:"discriminator"`
	Accounts      []AccountItem `json:"accounts"`
	Args          []Field       `json:"args"`
}

// AccountItem is an instruction account, or a group of them (Accounts set).
type AccountItem struct {
	Name     string        `json:"name"`
	Docs     []string      `json:"docs"`
	Writable bool          `json:"writable"`
	Signer   bool          `json:"signer"`
	Optional bool          `json:"optional"`
	Address  string        `json:"address"`
	PDA      *PDA          `json:"pda"`
	Accounts []AccountItem `json:"accounts"`
}

// PDA is the seeds an account's address derives from.
type PDA struct {
	Seeds   []Seed `json:"seeds"`
	Program *Seed  `json:"program"`
}

// Seed is one PDA seed: const bytes, an instruction argument or an account (or a field of one).
type Seed struct {
	Kind    string `json:"kind"`
	Value   Bytes  `json:"value"`
	Path    string `json:"path"`
	Account string `json:"account"`
}

// Discriminated names an account or event type and its discriminator.
type Discriminated struct {
	Name          string `json:"name"`
	Discriminator Bytes  `json:"discriminator"`
}

// ErrorDef is one custom error code.
type ErrorDef struct {
	Code uint32 `json:"code"`
	Name string `json:"name"`
	Msg  string `json:"msg"`
}

// TypeDef is one defined type.
type TypeDef struct {
	Name     string   `json:"name"`
	Docs     []string `json:"docs"`
	Generics []any    `json:"generics"`
	Type     struct {
		Kind     string    `json:"kind"`
		Fields   Fields    `json:"fields"`
		Variants []Variant `json:"variants"`
		Alias    *Type     `json:"alias"`
	} `json:"type"`
}

// Variant is one enum variant; Fields is empty for a unit variant.
type Variant struct {
	Name   string `json:"name"`
	Fields Fields `json:"fields"`
}

// Fields are named (struct-like) or, when Tuple, positional.
type Fields struct {
	Named []Field
	Tuple []Type
}

// Len is the number of fields.
func (f Fields) Len() int { return len(f.Named) + len(f.Tuple) }

// UnmarshalJSON reads either [{name, type}] or [type].
func (f *Fields) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	for _, r := range raw {
		var probe struct {
			Name *string `json:"name"`
		}
		if len(r) > 0 && r[0] == '{' {
			if err := json.Unmarshal(r, &probe); err != nil {
				return err
			}
		}
		if probe.Name != nil {
			var fd Field
			if err := json.Unmarshal(r, &fd); err != nil {
				return err
			}
			f.Named = append(f.Named, fd)
			continue
		}
		var t Type
		if err := json.Unmarshal(r, &t); err != nil {
			return err
		}
		f.Tuple = append(f.Tuple, t)
	}
	if len(f.Named) > 0 && len(f.Tuple) > 0 {
		return errors.New("fields mix named and positional")
	}
	return nil
}

// Field is a named field or argument.
type Field struct {
	Name string   `json:"name"`
	Docs []string `json:"docs"`
	Type Type     `json:"type"`
}

// Constant is one program constant; Value is its Rust literal.
type Constant struct {
	Name  string   `json:"name"`
	Docs  []string `json:"docs"`
	Type  Type     `json:"type"`
	Value string   `json:"value"`
}

// Type is an IDL type: exactly one of its fields is set.
type Type struct {
	Prim    string // bool, u8..u128, i8..i128, f32, f64, string, bytes, pubkey
	Defined string
	Option  *Type
	Vec     *Type
	Array   *Type
	Len     int
}

// UnmarshalJSON reads the IDL's type grammar.
func (t *Type) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &t.Prim)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return fmt.Errorf("type %s: %w", b, err)
	}
	if len(obj) != 1 {
		return fmt.Errorf("type %s: want one key", b)
	}
	for k, v := range obj {
		switch k {
		case "defined":
			var name string
			if json.Unmarshal(v, &name) == nil {
				t.Defined = name
				return nil
			}
			var d struct {
				Name     string `json:"name"`
				Generics []any  `json:"generics"`
			}
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("defined type %s: %w", v, err)
			}
			if len(d.Generics) > 0 {
				return fmt.Errorf("defined type %s: generics are not supported", d.Name)
			}
			t.Defined = d.Name
		case "option":
			t.Option = new(Type)
			return json.Unmarshal(v, t.Option)
		case "vec":
			t.Vec = new(Type)
			return json.Unmarshal(v, t.Vec)
		case "array":
			var pair []json.RawMessage
			if err := json.Unmarshal(v, &pair); err != nil || len(pair) != 2 {
				return fmt.Errorf("array type %s: want [type, length]", v)
			}
			t.Array = new(Type)
			if err := json.Unmarshal(pair[0], t.Array); err != nil {
				return err
			}
			if err := json.Unmarshal(pair[1], &t.Len); err != nil || t.Len < 0 {
				return fmt.Errorf("array type %s: length is not a number (generic lengths are not supported)", v)
			}
		default:
			return fmt.Errorf("type %s: %q types are not supported", b, k)
		}
	}
	return nil
}

// String renders t in the IDL's own words, for messages.
func (t Type) String() string {
	switch {
	case t.Prim != "":
		return t.Prim
	case t.Defined != "":
		return t.Defined
	case t.Option != nil:
		return "Option<" + t.Option.String() + ">"
	case t.Vec != nil:
		return "Vec<" + t.Vec.String() + ">"
	case t.Array != nil:
		return "[" + t.Array.String() + "; " + strconv.Itoa(t.Len) + "]"
	}
	return "?"
}

// Bytes reads a JSON array of numbers 0-255.
type Bytes []byte

// UnmarshalJSON reads [n, n, ...].
func (b *Bytes) UnmarshalJSON(data []byte) error {
	var ns []int
	if err := json.Unmarshal(data, &ns); err != nil {
		return err
	}
	out := make([]byte, len(ns))
	for i, n := range ns {
		if n < 0 || n > 255 {
			return fmt.Errorf("byte %d out of range", n)
		}
		out[i] = byte(n)
	}
	*b = out
	return nil
}

// LoadIDL reads and checks the IDL at path.
func LoadIDL(path string) (*IDL, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read idl: %w", err)
	}
	var idl IDL
	if err := json.Unmarshal(data, &idl); err != nil {
		return nil, fmt.Errorf("parse idl %s: %w", path, err)
	}
	if idl.Address == "" {
		return nil, fmt.Errorf("idl %s: no address (an Anchor 0.30+ IDL is needed)", path)
	}
	for _, d := range append(append([]Discriminated{}, idl.Accounts...), idl.Events...) {
		if len(d.Discriminator) != 8 {
			return nil, fmt.Errorf("idl %s: %s: discriminator has %d bytes, want 8", path, d.Name, len(d.Discriminator))
		}
	}
	for _, ix := range idl.Instructions {
		if len(ix.Discriminator) == 0 {
			return nil, fmt.Errorf("idl %s: instruction %s has no discriminator", path, ix.Name)
		}
	}
	return &idl, nil
}
