//go:build !unix

package vpcflow

import "time"

func cpuTime() time.Duration { return 0 }
