package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/scaffold"
)

func newInitCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "init DIR",
		Short: "Create a new detections repository with an example rule, tests and a CI workflow",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			written, err := scaffold.Create(args[0])
			if err != nil {
				return err
			}
			for _, f := range written {
				fmt.Fprintln(cmd.OutOrStdout(), "created", f)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "next: cd %s && prowl test\n", args[0])
			return nil
		},
	}
}
