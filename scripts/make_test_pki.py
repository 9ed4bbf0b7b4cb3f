"""Kept for habit: ``python scripts/make_test_pki.py OUTDIR NAMES…`` = ``python -m conformance.testpki``."""

from conformance.testpki import main

if __name__ == "__main__":
    main()
