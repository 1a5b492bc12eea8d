"""What the environment says about connections, read as httpx reads it: the proxies
(HTTP(S)_PROXY, ALL_PROXY, NO_PROXY) and the TLS trust store (SSL_CERT_FILE, SSL_CERT_DIR).

The transports that are not httpx (aiohttp, the standard library's) resolve a request's
proxy here, once per origin, and verify TLS with the same certificates, so every transport
goes through the same proxy and trusts the same servers.
"""

from __future__ import annotations

import functools
import os
import ssl
import urllib.parse
import urllib.request
from typing import Optional

import httpx

from babyapi._errors import InvalidArgumentError

__all__ = [
    "env_proxy_for",
    "http_proxy_for",
    "trust_store",
    "unsupported_env_proxy",
    "without_password",
]


def _environment_proxies() -> dict[str, str]:
    """HTTP(S)_PROXY and ALL_PROXY as the standard library reads them, each with a scheme."""
    return {
        scheme: proxy if "://" in proxy else f"http://{proxy}"
        for scheme, proxy in urllib.request.getproxies().items()
        if scheme in ("http", "https", "all") and proxy
    }


def env_proxy_for(url: httpx.URL) -> Optional[str]:
    """The proxy for ``url`` from HTTP(S)_PROXY or ALL_PROXY, unless NO_PROXY exempts its host."""
    proxies = _environment_proxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if proxy is None:
        return None
    host = url.host if url.port is None else f"{url.host}:{url.port}"
    return None if urllib.request.proxy_bypass(host) else proxy


def unsupported_env_proxy() -> Optional[str]:
    """The first proxy in the environment that is not an http:// one (socks, https)."""
    for proxy in _environment_proxies().values():
        if not proxy.lower().startswith("http://"):
            return proxy
    return None


def without_password(proxy: str) -> str:
    """A proxy URL fit to show: its password, if any, replaced by stars."""
    parts = urllib.parse.urlsplit(proxy)
    if parts.password is None:
        return proxy
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def http_proxy_for(url: httpx.URL, known: dict[str, Optional[str]], sender: str) -> Optional[str]:
    """The proxy for ``url``'s origin, worked out once and kept in ``known``.

    ``sender`` (aiohttp, the standard-library transport) speaks to http:// proxies only: a
    socks or https:// one in the environment is refused with what to do instead.
    """
    origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
    try:
        return known[origin]
    except KeyError:
        proxy = env_proxy_for(url)
    if proxy is not None and not proxy.lower().startswith("http://"):
        raise InvalidArgumentError(
            f"the environment sends {origin} through the proxy {without_password(proxy)}, "
            f"which {sender} cannot use (it speaks to http:// proxies only); use "
            "transport='httpx', or leave transport out to pick httpx automatically.",
            code="INVALID_OPTIONS",
        )
    known[origin] = proxy
    return proxy


def trust_store() -> ssl.SSLContext:
    """The same trust store as httpx: certifi, or SSL_CERT_FILE / SSL_CERT_DIR."""
    return _trust_store(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=8)
def _trust_store(cert_file: Optional[str], cert_dir: Optional[str]) -> ssl.SSLContext:
    """Loaded once per process for each value of those two (~20 ms of CPU a load: a sync client's
    batch job builds a session of its own for every job), and shared, as aiohttp shares its
    own default context.
    """
    return httpx.create_ssl_context()
