"""First contact: what a new user sees from the real CLI (a package, so its conftest has
its own module name)."""
