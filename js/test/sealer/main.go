// Command sealer is the Go side of the JavaScript client's envelope interop
// test: it seals and opens with the Go envelope package what the
// WebAssembly build opens and seals.
//
//	sealer keygen FILE             write a new key file, as whispeer keygen does
//	sealer seal FILE TOPIC ID      seal standard input, write the envelope
//	sealer open FILE TOPIC ID      open the envelope on standard input, write the plaintext
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/whispeer-io/whispeer/envelope"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sealer:", err)
		os.Exit(1)
	}
}

func run(args []string, in io.Reader, out io.Writer) error {
	if len(args) == 2 && args[0] == "keygen" {
		_, err := envelope.GenerateKeyFile(args[1])
		return err
	}
	if len(args) != 4 || (args[0] != "seal" && args[0] != "open") {
		return fmt.Errorf("usage: sealer keygen FILE | sealer seal|open FILE TOPIC ID")
	}
	kr, err := envelope.LoadKeyFile(args[1])
	if err != nil {
		return err
	}
	e, err := envelope.NewEngine(envelope.WithKeyring(kr))
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(in, envelope.DefaultMaxSize+1024))
	if err != nil {
		return err
	}
	fn := e.Seal
	if args[0] == "open" {
		fn = e.Open
	}
	b, err := fn(nil, args[2], args[3], data)
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}
