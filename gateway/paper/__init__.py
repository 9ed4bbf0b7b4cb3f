"""Paper fallback: the voucher a holder presents where eATA cannot be used but paper is still accepted."""

from gateway.paper.qr import qr_payload
from gateway.paper.voucher import VoucherPdf, build_voucher, render_voucher, voucher_filename

__all__ = ["VoucherPdf", "build_voucher", "qr_payload", "render_voucher", "voucher_filename"]
