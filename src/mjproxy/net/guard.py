"""SSRF guard: server-side requests to client-supplied URLs reach only public addresses.

A client that can name a URL the server fetches (a notify hook, a link) could otherwise make the
server read its own admin routes, the cloud metadata service (169.254.169.254) or anything else on
the private network. Two checks, so that DNS tricks cannot slip between them:

* ``check_url`` before each request and each redirect hop: http(s) only, the host resolved, every
  address public. It gives the client a clear refusal at submit time.
* ``GuardedBackend`` at connect time: the socket goes to an address checked in the same step that
  resolved it, so a name that resolves publicly for the check and privately for the connection (DNS
  rebinding) is still refused.

Private, loopback, link-local, multicast, reserved, unspecified and other non-global addresses (IPv4 and
IPv6, IPv4-mapped and 6to4 included) are refused unless ``security.fetch_allow`` lists their network or
the host name. Redirects are followed by hand, each hop checked; bodies are read up to a byte limit and
the whole exchange, redirects included, has one time limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

if TYPE_CHECKING:
    from ..config import SecuritySettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class FetchRefused(ValueError):
    """The text is safe to show to the client: it names the URL's host, never our network's layout."""


class FetchTooLarge(FetchRefused):
    pass


class Unresolvable(FetchRefused):
    """The host name has no address here (or the resolver did not answer in time)."""


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    allow_networks: tuple[IPNetwork, ...] = ()
    allow_hosts: frozenset[str] = field(default_factory=frozenset)
    timeout_seconds: float = 10.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5

    @classmethod
    def from_entries(cls, entries: Iterable[str], **limits: Any) -> FetchPolicy:
        """``fetch_allow`` entries: CIDR networks, single addresses, or host names."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in entries:
            entry = entry.strip()
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(tuple(networks), frozenset(hosts), **limits)

    def with_hosts(self, *hosts: str) -> FetchPolicy:
        return FetchPolicy(self.allow_networks, self.allow_hosts | {h.lower().rstrip(".") for h in hosts if h},
                           self.timeout_seconds, self.max_bytes, self.max_redirects)

    def host_allowed(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.allow_hosts

    def address_allowed(self, address: IPAddress) -> bool:
        return any(address in network for network in self.allow_networks
                   if network.version == address.version)


def why_refused(address: IPAddress) -> str | None:
    """None for a public unicast address; otherwise what kind of address it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return why_refused(embedded)
    checks = (("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
              ("link-local", address.is_link_local), ("multicast", address.is_multicast),
              ("reserved", address.is_reserved), ("private", address.is_private))
    for kind, hit in checks:
        if hit:
            return kind
    if not address.is_global:
        return "non-public"
    return None


def _refuse_address(address: IPAddress, host: str, policy: FetchPolicy) -> None:
    if policy.address_allowed(address):
        return
    kind = why_refused(address)
    if kind is not None:
        raise FetchRefused(f"{host} resolves to a {kind} address ({address}), which server-side requests "
                           f"may not reach (allow it with security.fetch_allow)")


async def resolve(host: str, port: int, *, timeout: float = 10.0) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        # A resolver that never answers must not hold a client's submit open: bounded like the fetch.
        async with asyncio.timeout(timeout):
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"{host} cannot be resolved: {exc}") from None
    except TimeoutError:
        raise Unresolvable(f"{host} could not be resolved within {timeout:g} s") from None
    addresses: list[IPAddress] = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
        address = ipaddress.ip_address(text)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchRefused(f"{host} has no address")
    return addresses


async def checked_addresses(host: str, port: int, policy: FetchPolicy) -> list[IPAddress] | None:
    """The addresses to connect to, every one checked; None when the host is allowed by name."""
    if policy.host_allowed(host):
        return None
    addresses = await resolve(host, port, timeout=policy.timeout_seconds)
    for address in addresses:  # all, not any: the client cannot pick which one we connect to
        _refuse_address(address, host, policy)
    return addresses


def parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise FetchRefused(f"not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise FetchRefused("only http and https URLs are allowed")
    if not parsed.host:
        raise FetchRefused("the URL has no host")
    return parsed


async def check_url(url: str, policy: FetchPolicy) -> None:
    """Raise FetchRefused unless ``url`` is http(s) and its host resolves to allowed addresses only."""
    parsed = parse_url(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    await checked_addresses(parsed.host, port, policy)


async def check_forwarded_url(url: str, policy: FetchPolicy) -> None:
    """The check for a URL we hand to Discord for Midjourney to fetch: never an address of our network.

    The same rules as ``check_url``, with one difference: a name that does not resolve here is passed on.
    Midjourney resolves it on the public internet, and a name that could lead it into our network (an
    internal name, a private address) resolves here and is refused.
    """
    parsed = parse_url(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        await checked_addresses(parsed.host, port, policy)
    except Unresolvable:
        return


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks in one step, then connects to the checked address (no DNS rebinding)."""

    def __init__(self, policy: FetchPolicy, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await checked_addresses(host, port, self._policy)
        except FetchRefused as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        target = host if addresses is None else str(addresses[0])
        return await self._inner.connect_tcp(target, port, timeout=timeout, local_address=local_address,
                                             socket_options=socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not reachable through the fetch guard")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (its exception mapping included) on a pool that connects through the guard."""

    def __init__(self, policy: FetchPolicy, *, verify: ssl.SSLContext | bool = True) -> None:
        super().__init__(verify=verify, trust_env=False)
        # httpx exposes no network_backend option; its pool is rebuilt with the same TLS settings.
        context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        self._pool = httpcore.AsyncConnectionPool(ssl_context=context, network_backend=GuardedBackend(policy))


def _redirect_method(status: int, method: str) -> str:
    # What browsers (and httpx) do: 303 always, and 301/302 after a POST, become a GET without a body.
    if status == 303 and method != "HEAD":
        return "GET"
    if status in (301, 302) and method == "POST":
        return "GET"
    return method


class GuardedClient:
    """An httpx client for client-supplied URLs: every hop checked, bodies capped, one deadline."""

    def __init__(self, policy: FetchPolicy, *, headers: Mapping[str, str] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.policy = policy
        self._client = httpx.AsyncClient(transport=transport or GuardedTransport(policy), follow_redirects=False,
                                         timeout=policy.timeout_seconds, headers=dict(headers or {}),
                                         trust_env=False)

    async def request(self, method: str, url: str, *, json: Any = None, content: bytes | None = None,
                      headers: Mapping[str, str] | None = None, follow_redirects: bool = True) -> httpx.Response:
        """The final response with its body read (at most ``max_bytes``). Raises FetchRefused or httpx errors."""
        async with asyncio.timeout(self.policy.timeout_seconds):
            return await self._request(method, url, json=json, content=content, headers=headers,
                                       follow_redirects=follow_redirects)

    async def _request(self, method: str, url: str, *, json: Any, content: bytes | None,
                       headers: Mapping[str, str] | None, follow_redirects: bool) -> httpx.Response:
        hops = self.policy.max_redirects if follow_redirects else 0
        for hop in range(hops + 1):
            await check_url(url, self.policy)
            request = self._client.build_request(method, url, json=json, content=content,
                                                  headers=dict(headers or {}))
            response = await self._client.send(request, stream=True)
            try:
                if follow_redirects and response.is_redirect:
                    if hop == hops:
                        raise FetchRefused(f"more than {hops} redirects")
                    url = str(response.url.join(response.headers["location"]))
                    new_method = _redirect_method(response.status_code, method)
                    if new_method != method:
                        method, json, content = new_method, None, None
                    continue
                body = await self._read_capped(response)
            finally:
                await response.aclose()
            return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)
        raise FetchRefused(f"more than {hops} redirects")  # unreachable: the loop returns or raises

    async def _read_capped(self, response: httpx.Response) -> bytes:
        limit = self.policy.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchTooLarge(f"the response is larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise FetchTooLarge(f"the response is larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    async def aclose(self) -> None:
        await self._client.aclose()


def guarded_client(policy: FetchPolicy, **kwargs: Any) -> GuardedClient:
    return GuardedClient(policy, **kwargs)


def policy_from_settings(security: SecuritySettings) -> FetchPolicy:
    return FetchPolicy.from_entries(security.fetch_allow, timeout_seconds=security.fetch_timeout_seconds,
                                    max_bytes=security.fetch_max_bytes, max_redirects=security.fetch_max_redirects)
