/** The `HostResolver` receivers' names are resolved with (a DnsHostResolver unless replaced). */
export const HOST_RESOLVER = Symbol('HOST_RESOLVER');
