"""Where the gateway may send a webhook: URLs checked when a party subscribes, and again at each delivery.

A webhook is a request the gateway makes on a party's behalf, so it must not reach what only the gateway
can reach (server-side request forgery): loopback, private networks, link-local addresses (cloud metadata
at 169.254.169.254), multicast, the unspecified address (0.0.0.0, ::) and every other non-public address
are refused, unless the operator allows them in ``EATA_WEBHOOK_ALLOW`` (comma-separated CIDRs, e.g.
``10.20.0.0/16,127.0.0.1/32``, or host names). At delivery the host is resolved again, every address it
resolves to is checked, and the request goes to a checked address (with the URL's Host header and TLS
server name), so a name that changes its answer after the check (DNS rebinding) reaches nothing new.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from gateway.errors import Code, Refusal, refuse

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]  # host, port → addresses (as text)
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"^{_LABEL}(\.{_LABEL})*\.?$")


@dataclass(frozen=True, slots=True)
class Target:
    """A webhook URL, parsed: what the gateway connects to and what it asks for there."""

    scheme: str
    host: str  # lower case, IPv6 without brackets
    port: int
    path: str  # path and query, at least "/"

    @property
    def ip(self) -> IP | None:
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    def url_at(self, address: str) -> str:
        """The same URL with the host replaced by ``address``, one the check let through."""
        host = f"[{address}]" if ":" in address else address
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


def _kind(ip: IP) -> str | None:
    """Why ``ip`` is no place for a webhook, or None when it is a public address."""
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        return _kind(mapped)
    if ip.is_unspecified:
        return "the unspecified address (it means this gateway's own machine)"
    if ip.is_loopback:
        return "a loopback address (this gateway's own machine)"
    if ip.is_link_local:
        return "a link-local address (where cloud metadata services answer, e.g. 169.254.169.254)"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private network address"
    if not ip.is_global or ip.is_reserved:
        return "not a public internet address"
    return None


class DestinationPolicy:
    """Which webhook URLs and addresses are allowed; ``allow`` as in ``EATA_WEBHOOK_ALLOW``."""

    def __init__(self, allow: str | None = None, *, resolver: Resolver | None = None) -> None:
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.names: set[str] = set()
        for entry in (e.strip() for e in (allow or "").split(",")):
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.names.add(entry.lower().rstrip("."))
        self.resolver = resolver or _system_resolver

    @classmethod
    def from_env(cls) -> DestinationPolicy:
        from gateway.settings import current

        return cls(current().webhook_allow)

    def parse(self, url: str, where: str = "/url") -> Target:
        """The URL's parts, or a refusal (103) saying what is wrong with it."""

        def bad(why: str) -> Refusal:
            return refuse(Code.BAD_VALUE, where, f"the webhook URL {url[:200]!r} {why}")

        if any(ch.isspace() or ord(ch) < 32 for ch in url):
            raise bad("contains spaces or control characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise bad(f"cannot be read ({exc}); the port must be a number from 1 to 65535") from None
        if parts.scheme not in ("http", "https"):
            raise bad("must start with https:// (or http://)")
        if parts.username is not None or parts.password is not None:
            raise bad("must not carry a user name or password; the signature authenticates the gateway")
        host = (parts.hostname or "").lower()
        if not host:
            raise bad("names no host")
        if port == 0:
            raise bad("has port 0; the port must be a number from 1 to 65535")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if not _HOSTNAME.match(host):
                raise bad(
                    f"has a host name {host!r} that is not valid (letters, digits, hyphens and dots)"
                ) from None
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return Target(parts.scheme, host.rstrip("."), port or (443 if parts.scheme == "https" else 80), path)

    def _allowed(self, ip: IP) -> bool:
        mapped = getattr(ip, "ipv4_mapped", None)
        candidates = [ip] if mapped is None else [ip, mapped]
        return any(c in net for c in candidates for net in self.networks if c.version == net.version)

    def check_address(self, address: str, target: Target, where: str = "/url") -> None:
        """Refuse (103) an address the gateway must not send webhooks to, unless the operator allows it."""
        ip = ipaddress.ip_address(address)
        if target.host in self.names or self._allowed(ip):
            return
        why = _kind(ip)
        if why is not None:
            shown = target.host if target.host == address else f"{target.host} ({address})"
            raise refuse(
                Code.BAD_VALUE,
                where,
                f"webhooks cannot go to {shown}: it is {why}; the gateway's operator can allow such "
                "destinations in EATA_WEBHOOK_ALLOW",
            )

    def addresses(self, target: Target, where: str = "/url") -> list[str]:
        """The addresses ``target`` resolves to now, each one checked; a refusal if any is not allowed."""
        if target.ip is not None:
            found = [str(target.ip)]
        else:
            try:
                found = self.resolver(target.host, target.port)
            except (OSError, UnicodeError):
                found = []
            if not found:
                raise refuse(Code.BAD_VALUE, where, f"the webhook host {target.host} cannot be found")
        for address in found:
            self.check_address(address, target, where)
        return found

    def check(self, url: str, where: str = "/url") -> Target:
        """Parse ``url`` and check every address its host has now (on subscribing)."""
        target = self.parse(url, where)
        self.addresses(target, where)
        return target
