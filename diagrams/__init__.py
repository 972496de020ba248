"""Architecture diagrams drawn from what `make synth-all` writes (`make diagrams`)."""
