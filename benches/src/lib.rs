//! Benchmarks of shmq against its peers (work in progress).
