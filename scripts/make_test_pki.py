"""Kept for habit: ``python scripts/make_test_pki.py OUTDIR NAMES…`` = ``python -m gateway.signing.testpki``."""

from gateway.signing.testpki import main

if __name__ == "__main__":
    main()
