package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/whispeer-io/whispeer/server/admin"
)

// printReport prints r as tables, or as JSON, indented unless compact
// output is wanted for a stream of reports.
func printReport(w io.Writer, r *report, asJSON, indent bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		if indent {
			enc.SetIndent("", "  ")
		}
		return enc.Encode(r)
	}
	printSummary(w, &r.Status)
	if len(r.MissingNodes) > 0 {
		fmt.Fprintf(w, "nodes that did not answer: %s\n", strings.Join(r.MissingNodes, ", "))
	}
	if r.Nodes != nil {
		fmt.Fprintln(w)
		printNodes(w, r.Nodes)
	}
	fmt.Fprintln(w)
	printTopics(w, r.Topics, r.Truncated)
	if r.Connections != nil {
		fmt.Fprintln(w)
		printConnections(w, r.Connections)
	}
	return nil
}

func printSummary(w io.Writer, s *admin.Status) {
	up := time.Duration(s.UptimeSeconds * float64(time.Second)).Round(time.Second)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "version\t%s\n", s.Version)
	fmt.Fprintf(tw, "uptime\t%s\n", up)
	fmt.Fprintf(tw, "connections\t%d\n", s.Connections)
	fmt.Fprintf(tw, "topics\t%d\n", s.Topics)
	fmt.Fprintf(tw, "subscriptions\t%d\n", s.Subscriptions)
	fmt.Fprintf(tw, "messages in\t%d\t%s/s\n", s.MessagesIn, rate(s.Rates.MessagesIn))
	fmt.Fprintf(tw, "frames out\t%d\t%s/s\n", s.FramesOut, rate(s.Rates.FramesOut))
	fmt.Fprintf(tw, "dropped\t%d\n", s.Dropped)
	if c := s.Cluster; c != nil {
		fmt.Fprintf(tw, "cluster\t%d nodes\n", c.Nodes)
		fmt.Fprintf(tw, "  connections\t%d\n", c.Connections)
		fmt.Fprintf(tw, "  subscriptions\t%d\n", c.Subscriptions)
		fmt.Fprintf(tw, "  messages in\t%d\n", c.MessagesIn)
		fmt.Fprintf(tw, "  frames out\t%d\n", c.FramesOut)
		fmt.Fprintf(tw, "  dropped\t%d\n", c.Dropped)
	}
	tw.Flush()
}

func rate(r float64) string { return strconv.FormatFloat(r, 'f', 1, 64) }

func printTopics(w io.Writer, topics []admin.Topic, truncated bool) {
	if len(topics) == 0 {
		fmt.Fprintln(w, "no topics")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tSUBSCRIBERS\tMESSAGES\tLAST OFFSET\tRETAINED")
	for _, t := range topics {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", t.Name, t.Subscribers, t.Messages, t.LastOffset, t.Retained)
	}
	tw.Flush()
	if truncated {
		fmt.Fprintf(w, "… more topics: raise --limit or narrow --pattern\n")
	}
}

func printConnections(w io.Writer, conns []admin.Connection) {
	if len(conns) == 0 {
		fmt.Fprintln(w, "no connections")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	cluster := slices.ContainsFunc(conns, func(c admin.Connection) bool { return c.Node != "" })
	if cluster {
		fmt.Fprint(tw, "NODE\t")
	}
	fmt.Fprintln(tw, "CONNECTION\tREMOTE\tPROTOCOL\tUSER\tSUBSCRIPTIONS\tIN FLIGHT\tCONNECTED")
	for _, c := range conns {
		if cluster {
			fmt.Fprintf(tw, "%s\t", c.Node)
		}
		proto := c.Transport
		if c.Protocol != "" {
			proto += "/" + c.Protocol
		}
		user := c.User
		if user == "" {
			user = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", c.ID, c.RemoteAddr, proto, user,
			c.Subscriptions, c.InFlight, c.ConnectedAt.Local().Format(time.DateTime))
	}
	tw.Flush()
}

func printNodes(w io.Writer, nodes []admin.Node) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tADDRESS\tCONNECTIONS\tSUBSCRIPTIONS\tSEEN")
	for _, n := range nodes {
		name := n.Name
		if n.Self {
			name += " *"
		}
		seen := time.Since(n.SeenAt).Round(time.Second)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s ago\n", name, n.Address, n.Connections, n.Subscriptions, seen)
	}
	tw.Flush()
}
