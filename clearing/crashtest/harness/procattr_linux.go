package harness

import "syscall"

// childAttr makes the kernel kill a server whose test process died
// (killed, timed out), so that no orphan keeps serving.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
