// probe is the local node's self-test image: one static program that either serves
// HTTP or fetches a URL by name, so a test can show that a pod reaches a Service
// through cluster DNS and kube-proxy without pulling any image.
//
//	probe serve :8080                 answer every request with "hello from <hostname>"
//	probe get http://web:8080/ [N]    fetch the URL (retrying for up to N seconds), print the body
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: probe serve ADDR | probe get URL [SECONDS]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2])
	case "get":
		wait := 30
		if len(os.Args) > 3 {
			wait, _ = strconv.Atoi(os.Args[3])
		}
		os.Exit(get(os.Args[2], time.Duration(wait)*time.Second))
	default:
		fmt.Fprintln(os.Stderr, "probe: unknown command", os.Args[1])
		os.Exit(2)
	}
}

func serve(addr string) {
	host, _ := os.Hostname()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-stop; os.Exit(0) }()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s\n", host)
	})
	fmt.Println("serving on", addr)
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

func get(url string, wait time.Duration) int {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(wait)
	for {
		answer, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(answer.Body)
			answer.Body.Close()
			fmt.Printf("%s %d %s", url, answer.StatusCode, body)
			if answer.StatusCode == http.StatusOK {
				return 0
			}
			return 1
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "probe:", err)
			return 1
		}
		time.Sleep(time.Second)
	}
}
