"""`python3 -m sigma_backend_secdet convert`: what `secdet sigma convert` runs."""
