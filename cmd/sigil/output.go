package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// outputFormat is the value of -o: how a command that reads something
// prints it. table is for people; json and yaml are for programs, and
// hold the same fields as the table, never secret material.
type outputFormat struct {
	value   string
	allowed []string
}

func (o *outputFormat) String() string { return o.value }
func (o *outputFormat) Type() string   { return "format" }
func (o *outputFormat) Set(v string) error {
	for _, a := range o.allowed {
		if v == a {
			o.value = v
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", v, strings.Join(o.allowed, ", "))
}

// addOutputFlag declares -o/--output on c, with def first among allowed,
// and completes its values.
func addOutputFlag(c *cobra.Command, def string, allowed ...string) *outputFormat {
	o := &outputFormat{value: def, allowed: append([]string{def}, allowed...)}
	c.Flags().VarP(o, "output", "o", "output format: "+strings.Join(o.allowed, ", "))
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(o.allowed, cobra.ShellCompDirectiveNoFileComp))
	return o
}

// tableFormats are the values of -o for a command that prints a table.
var tableFormats = []string{"json", "yaml"}

// encode prints v as JSON or YAML, as -o asks.
func encode(w io.Writer, format string, v any) error {
	if format == "yaml" {
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return err
		}
		return enc.Close()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
