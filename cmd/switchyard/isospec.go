package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/switchyard-hub/switchyard/iso"
)

const isoUsage = `usage: switchyard iso spec [name or file]

  spec   print the ISO 8583 spec as moov-io JSON: ISO_SPEC's (default ascii), or the built-in
         spec or file named. The spec is checked first, as the hub checks it at start; edit the
         output and point ISO_SPEC at the file to speak another switch's dialect.`

// runISO serves `switchyard iso ...`.
func runISO(e env, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "spec" {
		fmt.Fprintln(os.Stderr, isoUsage)
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("iso spec", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), isoUsage) }
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	name := e.ISO.Spec
	if fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	spec, err := iso.LoadSpec(name)
	if err != nil {
		return err
	}
	exported, err := iso.ExportSpec(spec)
	if err != nil {
		return err
	}
	_, err = out.Write(exported)
	return err
}
