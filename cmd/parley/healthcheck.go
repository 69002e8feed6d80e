package main

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/pflag"
)

// runHealthcheck is the container HEALTHCHECK: GET the health URL, exit 0 on 200.
func runHealthcheck(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("healthcheck", pflag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:7880/healthz", "health endpoint to probe")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if code, ok := parseFlags(fs, "Usage:\n"+healthcheckUsage, args, stdout, stderr); !ok {
		return code
	}
	client := &http.Client{Timeout: *timeout}
	resp, err := client.Get(*url)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "healthcheck: %s answered %s\n", *url, resp.Status)
		return 1
	}
	return 0
}
