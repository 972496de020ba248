"""What the Makefile runs around the stacks: incremental parallel synthesis and the benchmarks."""
