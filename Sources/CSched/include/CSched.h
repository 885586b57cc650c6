#ifndef CSCHED_H
#define CSCHED_H

/// Asks the kernel to run the calling thread in time slices of `nanoseconds` (SCHED_OTHER, keeping its nice
/// value), through sched_setattr(2). Linux 6.12 and later honour the request (clamped to 0.1-100 ms) and let a
/// waking thread with a shorter slice preempt sooner; earlier kernels accept and ignore it for SCHED_OTHER.
/// Swift cannot call the variadic syscall(2), hence this shim.
/// Returns 0, or the errno value of the failure.
int csched_request_slice(unsigned long long nanoseconds);

/// The calling thread's time slice in nanoseconds as sched_getattr(2) reports it (0 where the kernel does not
/// report slices for SCHED_OTHER, or on failure).
unsigned long long csched_slice(void);

#endif
