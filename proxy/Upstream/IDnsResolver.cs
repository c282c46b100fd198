using System.Net;

namespace Herald.Proxy.Upstream;

/// <summary>Resolves a host name for STRICT_DNS and LOGICAL_DNS clusters; replaced by a stub in tests.</summary>
internal interface IDnsResolver
{
    Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken);
}
