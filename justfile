# Everyday recipes. `just --list` shows them.

# Run a scenario on the embedded mock cluster (no Docker).
quickstart:
    cargo run -- run scenarios/quickstart.toml

# Everything CI runs: Docker engine and local images, build, all tests.
test:
    bash docker/setup.sh
    cargo test --workspace

# Only the tests that need no Docker.
test-mock:
    cargo test --workspace -- --skip docker

# Run scenario files.
run +files:
    cargo run -- run {{files}}

# Validate every scenario file.
validate:
    cargo run -- validate scenarios/*.toml scenarios/*/*.toml

# The checker benchmark: 10M-event ledger, wall time and peak memory.
bench:
    cargo bench --bench checker

# Remove leftovers (containers, networks) of dead runs.
cleanup:
    cargo run -- cleanup
